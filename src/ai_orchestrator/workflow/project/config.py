"""Project configuration: ``.aio/config.toml`` (read with ``tomllib``; written once, commented).

Keys (all optional; the defaults below apply to anything missing)::

    test_command = "python -m pytest"   # a string, or a list (an argv, never a shell)
    test_timeout = 1800                 # seconds for one test run
    fix_rounds = 2                      # follow-ups with the failure output before giving up
    budget_usd = 0                      # default budget per feature in USD (0 = none)
    default_estimate_usd = 0            # session-todo cost estimate when history has none
    lock_timeout = 30                   # seconds a second command waits for the feature lock
    [tests]                             # verify's test selection (``workflow.project.testselect``)
    [budgets]                           # per-feature budgets, e.g. my-feature = 25.0
    [phases.<plan|implement|review|verify>]
    agent, model, fallback = ["claude:opus"], permission_mode, allowed_tools = [...],
    extra_args = [...], timeout, max_turns

Invariants: ``load_config`` never fails on a missing file (defaults) and raises
``InvalidInput`` (exit 2) for a file that does not parse or has a value of the wrong type,
naming the key; keys it does not know are listed in ``Config.unknown_keys`` (ignored; the
commands warn, ``configcheck`` reports every problem at once). Model precedence for a call
(``pick_model``): ``--model`` > ``$AI_MODEL`` (for claude always; for another agent only when
the value is not a Claude model name) > the configured model (the phase's ``model``, or the
model of a ``fallback`` entry) > the backend's own default. ``plan.agent = "auto"`` means
the backends declaring ``Capabilities.auto_planner`` in that order (gemini when its CLI is
installed, then claude), the last one with its ``strong_model`` (opus) as the configured
model. The defaults of the phases come from the registry's default agent and its declared
models (``default_phases``).
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_orchestrator.accounting.model_names import provider_for_model
from ai_orchestrator.agents import registry
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.workflow.testing.testselect import (
    TestsConfig,
    command_value,
    parse_tests_config,
)
from ai_orchestrator.workflow.testing.testselect import str_list as _str_list
from ai_orchestrator.workflow.testing.testselect import type_error as _type_error

PHASES = ("plan", "implement", "review", "verify")
TOP_KEYS = (
    "test_command", "test_timeout", "fix_rounds", "budget_usd", "default_estimate_usd",
    "lock_timeout", "budgets", "phases", "tests",
)
PHASE_KEYS = (
    "agent", "model", "fallback", "permission_mode", "allowed_tools", "extra_args", "timeout",
    "max_turns",
)


@dataclass
class PhaseConfig:
    """Agent settings for one workflow phase."""

    agent: str
    model: str | None = None
    fallback: list[str] = field(default_factory=list)  # "agent" or "agent:model"
    permission_mode: str | None = None
    allowed_tools: list[str] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)
    timeout: float | None = None
    max_turns: int | None = None


def default_phases() -> dict[str, PhaseConfig]:
    """The phases' defaults: the registry's default agent, with the models its backend
    declares (``work_model`` to implement, ``strong_model`` to review and as the planner of
    last resort); ``plan.agent = "auto"`` tries ``registry.auto_planners()``."""
    agent = registry.DEFAULT_AGENT
    caps = registry.capabilities(agent)
    strong = f"{agent}:{caps.strong_model}" if caps.strong_model else agent
    return {
        "plan": PhaseConfig(
            agent="auto", fallback=[strong], permission_mode="default", timeout=900
        ),
        "implement": PhaseConfig(
            agent=agent, model=caps.work_model, permission_mode="acceptEdits", timeout=3600
        ),
        "review": PhaseConfig(
            agent=agent, model=caps.strong_model, permission_mode="default", timeout=1200
        ),
        "verify": PhaseConfig(agent=agent, permission_mode="default", timeout=1200),
    }


@dataclass
class Config:
    test_command: str | list[str] | None = None
    test_timeout: float = 1800.0
    fix_rounds: int = 2
    budget_usd: float | None = None
    default_estimate_usd: float | None = None
    budgets: dict[str, float] = field(default_factory=dict)
    lock_timeout: float = 30.0
    tests: TestsConfig = field(default_factory=TestsConfig)
    phases: dict[str, PhaseConfig] = field(
        default_factory=default_phases
    )
    unknown_keys: list[str] = field(default_factory=list)  # ignored (a typo?), said on load

    def budget_for(self, feature_id: str) -> float | None:
        value = self.budgets.get(feature_id, self.budget_usd)
        return value if value else None

    def phase(self, name: str) -> PhaseConfig:
        return self.phases[name]


def _number(data: dict[str, Any], key: str, prefix: str = "") -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)  # TOML has nan and inf: neither is a budget or a timeout
        or value < 0
    ):
        raise _type_error(prefix + key, "a non-negative number", value)
    return float(value)


def _phase(name: str, raw: object, base: PhaseConfig) -> PhaseConfig:
    prefix = f"phases.{name}."
    if not isinstance(raw, dict):
        raise _type_error(f"phases.{name}", "a table", raw)
    phase = PhaseConfig(**vars(base))
    for key in ("agent", "model", "permission_mode"):
        if key in raw:
            value = raw[key]
            if not isinstance(value, str):
                raise _type_error(prefix + key, "a string", value)
            setattr(phase, key, value.strip() or None)
    if phase.agent != base.agent and "model" not in raw:
        phase.model = None  # the default model belongs to the default agent
    for key in ("fallback", "allowed_tools", "extra_args"):
        values = _str_list(raw, key, prefix)
        if values is not None:
            setattr(phase, key, values)
    timeout = _number(raw, "timeout", prefix)
    if timeout is not None:
        phase.timeout = timeout or None
    turns = _number(raw, "max_turns", prefix)
    if turns is not None:
        phase.max_turns = int(turns) or None
    if not phase.agent:
        raise _type_error(prefix + "agent", "an agent name", raw.get("agent"))
    return phase


def unknown_keys(data: dict[str, Any]) -> list[str]:
    """Dotted names of the keys this version does not know (they are ignored)."""
    found = [key for key in data if key not in TOP_KEYS]
    phases = data.get("phases")
    for name, raw in phases.items() if isinstance(phases, dict) else ():
        if name in PHASES and isinstance(raw, dict):
            found += [f"phases.{name}.{key}" for key in raw if key not in PHASE_KEYS]
    return found


def parse_config(data: dict[str, Any]) -> Config:
    config = Config(unknown_keys=unknown_keys(data))
    config.test_command = command_value(data.get("test_command"), "test_command")
    for key in ("test_timeout", "lock_timeout"):
        value = _number(data, key)
        if value is not None:
            setattr(config, key, value)
    rounds = _number(data, "fix_rounds")
    if rounds is not None:
        config.fix_rounds = int(rounds)
    config.budget_usd = _number(data, "budget_usd") or None
    config.default_estimate_usd = _number(data, "default_estimate_usd") or None
    budgets = data.get("budgets") or {}
    if not isinstance(budgets, dict):
        raise _type_error("budgets", "a table of feature = USD", budgets)
    for feature in budgets:
        amount = _number(budgets, feature, "budgets.")
        config.budgets[str(feature)] = amount or 0.0
    config.tests = parse_tests_config(data.get("tests"))
    phases = data.get("phases") or {}
    if not isinstance(phases, dict):
        raise _type_error("phases", "a table", phases)
    for name, raw in phases.items():
        if name not in PHASES:
            raise InvalidInput(f".aio/config.toml: unknown phase {name!r}; use {', '.join(PHASES)}")
        config.phases[name] = _phase(name, raw, config.phases[name])
    return config


def load_config(path: Path) -> Config:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} does not parse: {exc}") from exc
    return parse_config(data)


def pick_model(agent: str, explicit: str | None, configured: str | None) -> str | None:
    """The model for a call of ``agent`` (precedence in the module docstring)."""
    if explicit:
        return explicit
    env = os.environ.get("AI_MODEL", "").strip()
    # The shell version's variable, which knew only Claude: a Claude model name in it (an
    # alias or claude-*, Anthropic's) is for a backend pricing Anthropic's models only.
    if env and (
        provider_for_model(env) != "anthropic"
        or registry.declared(agent).provider == "anthropic"
    ):
        return env
    return configured


def resolve_model(agent: str, explicit: str | None, phase: PhaseConfig) -> str | None:
    """The model for a call of ``agent`` in ``phase`` (the phase's model is its agent's)."""
    return pick_model(agent, explicit, phase.model if phase.agent == agent else None)


def _has_test_script(package_json: Path) -> bool:
    import json

    try:
        data = json.loads(package_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # unreadable: `npm test` is still the best guess for a Node project
    scripts = data.get("scripts") if isinstance(data, dict) else None
    return isinstance(scripts, dict) and bool(scripts.get("test"))


def _pytest_configured(root: Path) -> bool:
    """An explicit pytest configuration (stronger evidence than any other marker)."""
    if (root / "pytest.ini").is_file() or (root / "conftest.py").is_file():
        return True
    for name, marker in (("pyproject.toml", "[tool.pytest"), ("setup.cfg", "[tool:pytest]")):
        try:
            if marker in (root / name).read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _ruby_command(root: Path) -> str:
    """``bundle exec rspec`` for an RSpec project (a ``spec/`` directory or rspec in the
    Gemfile), else ``bundle exec rake test`` (minitest's convention)."""
    if (root / "spec").is_dir() or re.search(r"\brspec\b", _read(root / "Gemfile")):
        return "bundle exec rspec"
    return "bundle exec rake test"


def _requirements_command(root: Path) -> str:
    """pytest when the requirements name it (or there is a ``tests/``), else unittest."""
    text = "".join(_read(p) for p in sorted(root.glob("requirements*.txt")))
    if re.search(r"^\s*pytest\b", text, re.M | re.I) or (root / "tests").is_dir():
        return "python -m pytest"
    return "python -m unittest discover"


def _has_make_test(root: Path) -> bool:
    for name in ("GNUmakefile", "makefile", "Makefile"):
        if re.search(r"^test\s*:", _read(root / name), re.M):
            return True
    return False


def detect_test_command(root: Path) -> str | None:
    """A sensible default test command for the project at ``root``.

    Order: an explicit pytest configuration; ``package.json`` with a ``test`` script;
    ``go.mod``; ``Cargo.toml``; ``Gemfile`` (``bundle exec rspec`` with ``spec/`` or rspec
    in the Gemfile, else ``bundle exec rake test``); other Python markers (``pyproject.toml``,
    ``setup.py``, ``setup.cfg``, ``tox.ini``); ``requirements*.txt`` (pytest when listed or
    with a ``tests/``, else ``python -m unittest discover``); a Makefile ``test`` target
    (``make test``); and only as the last fallback a ``tests/`` directory — which every
    ecosystem has, so it says nothing about the runner on its own.
    """
    python = "python -m pytest"
    if _pytest_configured(root):
        return python
    if (root / "package.json").is_file() and _has_test_script(root / "package.json"):
        return "npm test"
    if (root / "go.mod").is_file():
        return "go test ./..."
    if (root / "Cargo.toml").is_file():
        return "cargo test"
    if (root / "Gemfile").is_file():
        return _ruby_command(root)
    if any((root / n).is_file() for n in ("pyproject.toml", "setup.py", "setup.cfg", "tox.ini")):
        return python
    if any(root.glob("requirements*.txt")):
        return _requirements_command(root)
    if _has_make_test(root):
        return "make test"
    if (root / "tests").is_dir():
        return python
    return None


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_template(root: Path) -> str:
    """The commented ``config.toml`` written by the first ``aio init`` in a project."""
    detected = detect_test_command(root)
    test_line = (
        f"test_command = {_toml_str(detected)}" if detected else '# test_command = "make test"'
    )
    return f"""\
# ai-orchestrator (aio) project configuration. Every key is optional.
#
# test_command: how `aio implement` / `aio verify` run the tests. A string is split like a
# shell would split it and run WITHOUT a shell, unless it contains shell syntax
# (| & ; < > $ ` or a glob), in which case it runs with `/bin/sh -c`. A list is an argv.
# For pytest, aio adds --junitxml=<artifact> to read exact counts.
# Detected from this project: {detected or "nothing (set it yourself)"}
{test_line}
test_timeout = 1800      # seconds per test run
fix_rounds = 2           # follow-ups with the failing output before a task fails
budget_usd = 0           # default budget per feature in USD (0 = no budget)
default_estimate_usd = 0 # session-todo cost estimate when no earlier call of the phase exists
lock_timeout = 30        # seconds a second command on one feature waits for the lock

[budgets]                # per-feature budgets (USD)
# my-feature = 25.0

# `aio verify --unit/--integration/--acceptance/--filter/--parallel/--coverage`: the defaults
# suit pytest, go, cargo, npm and rspec; set these for another runner (docs/workflow.md).
# [tests.unit]
# paths = ["tests/unit"]  # or marker = "unit" (pytest -m), or args = [...]
# [tests]
# filter_args = ["--grep", "{{pattern}}"]
# coverage_command = "make coverage"   # its output must show the figure (coverage_regex)

# Agent per phase. agent: claude | gemini | codex | scripted ("auto" for plan: gemini when
# installed, else claude with opus). model: alias or full id ($AI_MODEL overrides it for
# claude). permission_mode: acceptEdits | default | plan | bypassPermissions (mapped to
# gemini's approval modes and codex's sandboxes). allowed_tools: e.g. ["Bash(npm test:*)"];
# for implement an empty list means "Bash(<test_command>:*)". extra_args: appended argv.
[phases.plan]
agent = "auto"
fallback = ["claude:opus"]
permission_mode = "default"
timeout = 900

[phases.implement]
agent = "claude"
model = "sonnet"
permission_mode = "acceptEdits"
allowed_tools = []
timeout = 3600
# max_turns = 40

[phases.review]
agent = "claude"
model = "opus"
permission_mode = "default"

[phases.verify]
agent = "claude"
permission_mode = "default"
"""

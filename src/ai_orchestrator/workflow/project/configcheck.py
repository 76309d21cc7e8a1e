"""``aio config check``: every problem of ``.aio/config.toml`` at once.

Contract: ``check_config(path)`` returns a list of ``ConfigProblem`` (empty when the file is
fine or absent) and never raises for the file's content. A problem is an *error* when the
workflow commands would refuse the file or the value (a wrong type, an unknown phase or
agent, a model or permission mode the agent refuses), a *warning* when the value is
ignored (an unknown key, probably a typo). Each top-level key and each phase is checked on
its own, so one bad value never hides another.

``check_project(root)``: the project's configured test command (else the detected one) put
through ``testing.testcheck``'s dry run, for ``aio init`` and ``aio doctor``; never raises.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_orchestrator.core.errors import AioError, InvalidInput
from ai_orchestrator.workflow.project.config import (
    PhaseConfig,
    detect_test_command,
    load_config,
    parse_config,
    unknown_keys,
)
from ai_orchestrator.workflow.testing.testcheck import (
    CHECK_TIMEOUT,
    CommandCheck,
    check_test_command,
)

CONFIG_PREFIX = ".aio/config.toml: "


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    message: str
    error: bool

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "message": self.message, "error": self.error}


def _message(exc: InvalidInput) -> str:
    text = str(exc)
    return text[len(CONFIG_PREFIX) :] if text.startswith(CONFIG_PREFIX) else text


def _phase_values(name: str, phase: PhaseConfig) -> list[ConfigProblem]:
    """The agent, its model, permission mode, tools and fallbacks, as the agent judges them."""
    from ai_orchestrator.agents import registry
    from ai_orchestrator.agents.base import Permission
    from ai_orchestrator.calls.options import CallOptions, check_options

    problems: list[ConfigProblem] = []
    key = f"phases.{name}"
    agents = [phase.agent] if not (name == "plan" and phase.agent == "auto") else []
    for agent in agents:
        try:
            permission = Permission(mode=phase.permission_mode, allowed_tools=phase.allowed_tools)
            check_options(
                CallOptions(
                    agent,
                    Path.cwd(),
                    model=phase.model,
                    permission=permission,
                    extra_args=tuple(phase.extra_args),
                )
            )
        except InvalidInput as exc:
            problems.append(ConfigProblem(key, str(exc), True))
    for entry in phase.fallback:
        agent = entry.partition(":")[0]
        if agent not in registry.KNOWN_KEYS:
            known = ", ".join(registry.KNOWN_KEYS)
            message = f"fallback {entry!r}: unknown agent {agent!r}; known agents: {known}"
            problems.append(ConfigProblem(f"{key}.fallback", message, True))
    return problems


def check_data(data: dict[str, Any]) -> list[ConfigProblem]:
    problems = [
        ConfigProblem(key, "unknown key (ignored)", False) for key in unknown_keys(data)
    ]
    phases = data.get("phases")
    for key, value in data.items():
        if key == "phases" and isinstance(phases, dict):
            continue
        try:
            parse_config({key: value})
        except InvalidInput as exc:
            problems.append(ConfigProblem(key, _message(exc), True))
    for name, raw in phases.items() if isinstance(phases, dict) else ():
        try:
            config = parse_config({"phases": {name: raw}})
        except InvalidInput as exc:
            problems.append(ConfigProblem(f"phases.{name}", _message(exc), True))
            continue
        problems += _phase_values(name, config.phases[name])
    return problems


def check_config(path: Path) -> list[ConfigProblem]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return [ConfigProblem("", f"does not parse: {exc}", True)]
    return check_data(data)


def check_project(root: Path, *, timeout: float = CHECK_TIMEOUT) -> CommandCheck:
    """Check the project's configured test command, else the detected one (never raises)."""
    try:
        configured = load_config(root / ".aio" / "config.toml").test_command
    except AioError as exc:
        return CommandCheck(None, "failed", str(exc), source="config")
    command, source = configured, "config"
    if command is None:
        command, source = detect_test_command(root), "detected"
    if command is None:
        return CommandCheck(None, "unchecked", "none configured or detected", source="none")
    try:
        check = check_test_command(command, root, timeout=timeout)
    except OSError as exc:  # e.g. no temporary directory: a diagnostic never fails
        check = CommandCheck(command, "unchecked", f"could not be checked: {exc}")
    return dataclasses.replace(check, source=source)

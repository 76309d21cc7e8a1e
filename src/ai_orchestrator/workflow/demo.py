"""The offline demo project: a tiny ``calc`` package driven by the ``scripted`` agent.

``create_project(directory)`` writes a small Python project (``pyproject.toml`` with pytest
configured, an empty ``calc`` package, a ``tests`` package, a README), makes it a git
repository with one commit when git is available, and returns the test command:
``[sys.executable, -m, pytest, -q]`` when pytest is importable in this interpreter, otherwise
``[sys.executable, -m, unittest, discover, -s, tests, -t, .]`` (the scenario's tests are
plain ``unittest`` cases and ``tests/__init__.py`` makes the directory importable, so both
work after a plain ``pip install`` without the test extras). ``write_demo_config`` points
every phase at the scripted agent with the packaged scenario (``demo_scenario.yaml``).

``DemoState.inside(project)`` is where the demo keeps its own state: the session store
(``.aio/demo/sessions``) and the scripted agent's home (``.aio/demo/scripted``), both under
the project's ``.aio/`` (which never counts as a change of the agent's and is git-ignored),
so a demo never reads or writes the user's store and two demos never share a conversation
or a scenario cursor. Nothing here calls a network or a real agent.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ai_orchestrator.core.errors import InvalidInput

FEATURE = "calc-basics"
DESCRIPTION = "A tiny calculator: add, subtract and safe division"
PLAN_PROMPT = "Build add, subtract and divide (ValueError on zero) with tests first"
TASKS = ("T1.1", "T1.2")

PYPROJECT = """\
[project]
name = "calc"
version = "0.1.0"
requires-python = ">=3.9"

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
"""
README = """\
# calc — the aio demo project

Built by `aio demo` with the offline **scripted** agent (no real AI was called).
See `.aio/` for the feature workspace: the plan, the history and the test-run artifacts.
"""


def scenario_path() -> Path:
    return Path(__file__).with_name("demo_scenario.yaml")


def demo_test_command() -> list[str]:
    if importlib.util.find_spec("pytest") is not None:
        return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."]


def _git(directory: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=aio demo",
            "-c",
            "user.email=demo@example.invalid",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=directory,
        check=True,
        capture_output=True,
        timeout=60,
    )


def create_project(directory: Path) -> tuple[list[str], bool]:
    """Write the demo project into ``directory``; returns (test command, is a git repo)."""
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise InvalidInput(f"{directory} is not empty; give --dir an empty or new directory")
    (directory / "calc").mkdir()
    (directory / "tests").mkdir()
    (directory / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (directory / "README.md").write_text(README, encoding="utf-8")
    (directory / "calc" / "__init__.py").write_text('"""A tiny calculator."""\n', "utf-8")
    # unittest discovery with ``-t .`` needs ``tests`` to be an importable package.
    (directory / "tests" / "__init__.py").write_text("", encoding="utf-8")
    (directory / ".gitignore").write_text(
        "__pycache__/\n.pytest_cache/\n.aio/demo/\n", encoding="utf-8"
    )
    is_git = False
    if shutil.which("git"):
        try:
            _git(directory, "init", "-q")
            _git(directory, "add", "-A")
            _git(directory, "commit", "-q", "-m", "calc: empty project")
            is_git = True
        except (OSError, subprocess.SubprocessError):
            is_git = False
    return demo_test_command(), is_git


@dataclass(frozen=True)
class DemoState:
    """Where one demo run keeps its session store and the scripted agent's state."""

    sessions: Path
    scripted: Path
    own_store: bool

    @classmethod
    def inside(cls, project: Path, session_dir: Path | None = None) -> DemoState:
        """The demo's own state under ``project/.aio/demo``; ``session_dir`` replaces its
        session store with another one (the scripted state stays the demo's own)."""
        base = project / ".aio" / "demo"
        sessions = session_dir.expanduser().resolve() if session_dir else base / "sessions"
        return cls(sessions, base / "scripted", own_store=session_dir is None)

    def create(self) -> None:
        for directory in (self.sessions, self.scripted):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def status_command(self, project: Path, aio: str) -> str:
        """A shell line that shows the demo feature's status from any directory."""
        q = shlex.quote
        return f"cd {q(str(project))} && SESSION_DIR={q(str(self.sessions))} {aio} status"


def aio_command() -> str:
    """How to run this installation's ``aio`` from a shell: ``aio`` when that is the one on
    PATH, else ``<this python> -m ai_orchestrator`` (e.g. ``make demo`` runs ``.venv/bin/aio``
    without it being on PATH)."""
    found = shutil.which("aio")
    if found and Path(found).parent.resolve() == Path(sys.executable).parent.resolve():
        return "aio"
    return f"{shlex.quote(sys.executable)} -m ai_orchestrator"


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def write_demo_config(config_file: Path, command: list[str]) -> None:
    scenario = _toml_list(["--scenario", str(scenario_path())])
    phases = "\n".join(
        f'[phases.{phase}]\nagent = "scripted"\nfallback = []\nextra_args = {scenario}\n'
        for phase in ("plan", "implement", "review", "verify")
    )
    config_file.write_text(
        "# Written by `aio demo`: every phase uses the OFFLINE SCRIPTED agent, which replays\n"
        f"# {scenario_path().name} (real file edits, no AI). aio runs the tests itself.\n"
        f"test_command = {_toml_list(command)}\n"
        "fix_rounds = 2\n\n" + phases,
        encoding="utf-8",
    )

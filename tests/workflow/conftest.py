"""Fixtures for workflow tests: a temporary git project driven by the scripted agent.

``project`` creates a small Python project (the demo's ``calc``), points
``AIO_PROJECT_DIR`` at it, and returns a ``Project`` whose ``scenario(steps)`` writes a
scripted-agent scenario and a config.toml routing every phase to it, with the test command
``sys.executable -m pytest`` so red and green are real pytest runs in this venv.

Agents run in-process: the autouse ``agent_in_process`` installs the in-process fake
(``tests/fakes/inprocess.py``, which plays the scripted agent's scenario in this process) and
``run`` then runs aio in this process too. A test marked ``agent_process`` (or a module with
``pytestmark = pytest.mark.agent_process``) keeps real processes: aio, the runner, the agent.
``start_aio`` is always a real process (Ctrl-C, lock races). A test that starts any process
(the project's git, its test command, ``start_aio``) is marked ``process`` (``agent_process``
implies it): the root conftest fails an unmarked one.

Shared helpers: ``run`` (aio to completion), ``start_aio`` (aio in the background, for
Ctrl-C and lock races), ``wait_for``, ``interactions`` (a session's recorded calls),
``EVENT_KEYS`` (the keys every history event has), and for kill tests ``cursor_at`` (the
scripted agent's progress), ``processes``, ``agent_processes`` and ``runner_processes`` (test runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ai_orchestrator.workflow.demo import create_project
from tests.fakes.inprocess import FakeLauncher
from tests.helpers import Result, aio, aio_inprocess, debug_env

FEATURE = "calc"
TEST_COMMAND = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
AIO = "from ai_orchestrator.cli.main import main; main()"
EVENT_KEYS = (
    "timestamp",
    "command",
    "arguments",
    "agent",
    "model",
    "status",
    "duration_ms",
    "task_id",
    "session",
    "error",
)


def plan_answer(tasks: list[dict[str, Any]] | None = None, prose: bool = True) -> str:
    tasks = tasks or [
        {
            "id": "T1.1",
            "title": "Add",
            "description": "calc.add",
            "acceptance_criteria": ["add(2, 3) == 5"],
            "test_requirements": ["tests/test_add.py"],
            "dependencies": [],
        },
        {
            "id": "T1.2",
            "title": "Divide",
            "description": "calc.divide",
            "acceptance_criteria": ["divide(6, 3) == 2"],
            "test_requirements": ["test_divide"],
            "dependencies": ["T1.1"],
        },
    ]
    body = json.dumps({"phases": [{"id": 1, "name": "Basics", "tasks": tasks}]}, indent=1)
    return f"Here is the plan:\n```json\n{body}\n```\nDone." if prose else body


ADD_TEST = {
    "write": "tests/test_add.py",
    "content": "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}
ADD_IMPL = {"write": "calc/ops.py", "content": "def add(a, b):\n    return a + b\n"}
ADD_BROKEN = {"write": "calc/ops.py", "content": "def add(a, b):\n    return a - b\n"}


@dataclass
class Project:
    root: Path
    scenario_file: Path

    def scenario(
        self, steps: list[dict[str, Any]], implement: dict[str, Any] | None = None, **config: Any
    ) -> None:
        self.scenario_file.write_text(yaml.safe_dump({"steps": steps}), encoding="utf-8")
        extra = json.dumps(["--scenario", str(self.scenario_file)])
        lines = [f"test_command = {json.dumps(TEST_COMMAND)}"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in config.items()]
        for phase in ("plan", "implement", "review", "verify"):
            lines += [
                f"[phases.{phase}]",
                'agent = "scripted"',
                "fallback = []",
                f"extra_args = {extra}",
            ]
            if phase == "implement":
                lines += [f"{k} = {json.dumps(v)}" for k, v in (implement or {}).items()]
        (self.root / ".aio").mkdir(exist_ok=True)
        (self.root / ".aio" / "config.toml").write_text("\n".join(lines) + "\n", "utf-8")

    @property
    def feature_dir(self) -> Path:
        return self.root / ".aio" / "features" / FEATURE

    def plan(self) -> dict[str, Any]:
        data: dict[str, Any] = yaml.safe_load((self.feature_dir / "plan.yaml").read_text())
        return data

    def task(self, task_id: str) -> dict[str, Any]:
        for phase in self.plan()["phases"]:
            for task in phase["tasks"]:
                if task["id"] == task_id:
                    return dict(task)
        raise KeyError(task_id)

    def history(self) -> list[dict[str, Any]]:
        lines = (self.feature_dir / "history.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(autouse=True)
def agent_in_process(request: pytest.FixtureRequest) -> FakeLauncher | None:
    """The in-process fake agent for every test not marked ``agent_process`` (module
    docstring)."""
    if request.node.get_closest_marker("agent_process"):
        return None
    fake: FakeLauncher = request.getfixturevalue("fake_launcher")
    return fake


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    root = tmp_path / "proj"
    create_project(root)
    monkeypatch.setenv("AIO_PROJECT_DIR", str(root))
    return Project(root, tmp_path / "scenario.yaml")


def run(*args: str, timeout: float = 120) -> Result:
    """``aio ARGS`` to completion: in this process when the agent is in-process, else as a
    real process."""
    from ai_orchestrator.calls import session_call

    if isinstance(session_call.launch, FakeLauncher):
        return aio_inprocess(*args)
    return aio(*args, timeout=timeout)


@contextmanager
def start_aio(*args: str) -> Iterator[subprocess.Popen[str]]:
    """``aio ARGS`` running in the background; killed on leaving the block if still running."""
    proc = subprocess.Popen(
        [sys.executable, "-c", AIO, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=debug_env(),
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def wait_for(predicate: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def interactions(name: str) -> list[dict[str, Any]]:
    """The calls recorded in session ``name`` (none when the session does not exist)."""
    path = Path(os.environ["SESSION_DIR"]) / name / "interactions.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def init_and_plan(
    project: Project,
    steps: list[dict[str, Any]],
    implement: dict[str, Any] | None = None,
    **config: Any,
) -> None:
    """Init the feature and plan it with the default two-task answer (first step)."""
    project.scenario([{"answer": plan_answer()}, *steps], implement, **config)
    assert run("init", FEATURE, "A calculator").code == 0
    result = run("plan", FEATURE, "plan it")
    assert result.code == 0, result.err


def cursor_at(step: int) -> bool:
    """Whether the scripted agent has claimed step ``step`` of a scenario."""
    cursors = Path(os.environ["AIO_SCRIPTED_HOME"]) / "cursors"
    return (
        any(json.loads(p.read_text()).get("next", 0) >= step for p in cursors.glob("*.json"))
        if cursors.is_dir()
        else False
    )


def processes(*markers: str, cwd: Path | None = None) -> list[int]:
    """Pids whose command line holds every marker (and whose cwd is ``cwd``, if given)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            here = os.readlink(entry / "cwd") if cwd else None
        except OSError:
            continue
        if all(m.encode() in cmdline for m in markers) and (cwd is None or here == str(cwd)):
            pids.append(int(entry.name))
    return pids


def agent_processes(project: Project) -> list[int]:
    """The scripted agent processes of ``project``'s scenario."""
    return processes("scripted_cli", str(project.scenario_file))


def runner_processes(root: Path) -> list[int]:
    """The test runs aio started in ``root`` (the runner, and its watchdog)."""
    return processes("pytest", "--junitxml", cwd=root)


"""End to end with the fake Claude CLI: a one-off ``aio run --no-session`` between two
normal runs does not replace the stored conversation; the next normal run resumes it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.harness import FakeAgents
from tests.helpers import aio


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeAgents:
    agents = FakeAgents(tmp_path / "fakes")
    for key, value in agents.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AIO_AGENT_CLAUDE_EXECUTABLE", agents.executable("claude"))
    return agents


def run(project: Path, *args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "ai_orchestrator", "run", "run-x", *args, "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def test_no_session_run_leaves_the_stored_conversation(fakes: FakeAgents, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    fakes.scenario([{"text": "a"}, {"text": "b"}, {"text": "c"}])
    first = run(project, "first")
    assert first["session_action"] == "started"
    one_off = run(project, "aside", "--no-session")
    assert one_off["session_action"] == "fresh"
    stored = aio("session", "show", "run-x", "--json").json()
    assert stored["agent_session_id"] == first["agent_session_id"]
    assert stored["agent_session_id"] != one_off["agent_session_id"]
    third = run(project, "continue")
    assert third["session_action"] == "resumed"
    assert third["agent_session_id"] == first["agent_session_id"]
    resume = [a for a in fakes.invocations("claude")[-1]["argv"] if a.startswith("--resume")]
    assert resume, fakes.invocations("claude")[-1]["argv"]

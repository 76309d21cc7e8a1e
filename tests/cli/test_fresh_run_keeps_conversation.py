"""End to end with the fake Claude CLI: a one-off ``aio run --no-session`` between two
normal runs does not replace the stored conversation; the next normal run resumes it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.harness import FakeAgents, aio_run
from tests.helpers import aio_inprocess as aio


def run(project: Path, *args: str) -> dict[str, object]:
    proc = aio_run(project, "run-x", *args, "--json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def test_no_session_run_leaves_the_stored_conversation(fakes: FakeAgents, project: Path) -> None:
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

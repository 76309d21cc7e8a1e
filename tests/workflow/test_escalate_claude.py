"""Escalation's fork path through the CLI with the FAKE Claude CLI (tests/fakes).

Same agent, stronger model: aio forks the stored conversation (``--resume OLD --fork-session
--session-id NEW --model opus``) instead of asking for a summary. The fake copies the history
into NEW like the real CLI, so the checks are on what reaches the CLI and what aio stores:
the old conversation is left as it was, the session now holds NEW, the record names OLD as its
origin, and later calls of the phase resume NEW. A different agent (gemini) goes by summary.
The real CLI is driven in tests/contract/test_escalate_real_claude.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.harness import FakeAgents
from tests.workflow.conftest import (
    FEATURE,
    TEST_COMMAND,
    Project,
    interactions,
    plan_answer,
    run,
)
from tests.workflow.test_fake_clis import ADD_IMPL, ADD_TEST, edit, flag

# The fake Claude CLI is a real process: aio, the runner and the agent run for real.
pytestmark = pytest.mark.agent_process

ADD_BROKEN = "def add(a, b):\n    return a - b\n"


@pytest.fixture
def fakes(project: Project, monkeypatch: pytest.MonkeyPatch) -> FakeAgents:
    agents = FakeAgents(project.root.parent / "fakes")
    for key, value in agents.env.items():
        monkeypatch.setenv(key, value)
    (project.root / ".aio").mkdir(exist_ok=True)
    (project.root / ".aio" / "config.toml").write_text(
        f"test_command = {json.dumps(TEST_COMMAND)}\n"
        '[phases.plan]\nagent = "claude"\nfallback = []\n'
        '[phases.implement]\nagent = "claude"\nmodel = "sonnet"\n'
    )
    return agents


def transcript(fakes: FakeAgents, session_id: str) -> Path:
    [path] = (fakes.home / ".claude" / "projects").glob(f"*/{session_id}.jsonl")
    return path


def start_failed_task(fakes: FakeAgents, *later: dict[str, Any]) -> None:
    fakes.scenario(
        [
            {"agent": "claude", "text": plan_answer()},
            {"agent": "claude", "text": "Tests.", "edits": [edit("tests/test_add.py", ADD_TEST)]},
            {"agent": "claude", "text": "Done?", "edits": [edit("calc/ops.py", ADD_BROKEN)]},
            *later,
        ]
    )
    assert run("init", FEATURE, "A calculator").code == 0
    assert run("plan", FEATURE, "plan it").code == 0


def test_escalate_to_opus_forks_the_claude_conversation(
    project: Project, fakes: FakeAgents
) -> None:
    start_failed_task(
        fakes,
        {"agent": "claude", "text": "Fixed.", "edits": [edit("calc/ops.py", ADD_IMPL)]},
        {"agent": "claude", "text": "T1.2 tests."},  # a later call of the phase
    )
    assert run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0").code == 1
    [first, _second] = fakes.invocations("claude")[1:3]
    old_id = flag(first["argv"], "--session-id")
    assert old_id
    old_lines = transcript(fakes, old_id).read_text().splitlines()

    result = run("escalate", FEATURE, "--to", "opus", "--task", "T1.1", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["task"]["status"] == "completed"
    assert data["escalated_from"]["method"] == "fork"
    assert data["escalated_from"]["agent_session_id"] == old_id
    [fork] = fakes.invocations("claude")[3:]
    argv = fork["argv"]
    assert flag(argv, "--resume") == old_id and "--fork-session" in argv
    new_id = flag(argv, "--session-id")
    assert new_id and new_id != old_id and flag(argv, "--model") == "opus"
    assert "escalated from claude" in fork["stdin"] and "Task T1.1" in fork["stdin"]
    assert (project.root / "calc" / "ops.py").read_text() == ADD_IMPL

    # The fork holds the old history and the new turn; the old conversation is untouched.
    assert transcript(fakes, old_id).read_text().splitlines() == old_lines
    assert len(transcript(fakes, new_id).read_text().splitlines()) > len(old_lines)
    record = interactions(f"implement-{FEATURE}")[-1]
    assert record["session_action"] == "forked" and record["agent_session_id"] == new_id
    assert record["escalated_from"]["reason"] == "escalated by hand (aio escalate)"

    # The phase's next call resumes the fork, not the old conversation.
    assert run("implement", FEATURE, "--task", "T1.2", "--no-tests").code == 0
    later = fakes.invocations("claude")[-1]
    assert flag(later["argv"], "--resume") == new_id and "--fork-session" not in later["argv"]


def test_implement_escalate_to_opus_forks_when_the_fix_rounds_run_out(
    project: Project, fakes: FakeAgents
) -> None:
    start_failed_task(
        fakes, {"agent": "claude", "text": "Fixed.", "edits": [edit("calc/ops.py", ADD_IMPL)]}
    )
    result = run(
        "implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0", "--escalate-to", "opus",
        "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert [s["step"] for s in result.json()["steps"]] == ["tests", "implement", "escalated-fix"]
    calls = fakes.invocations("claude")[1:]
    old_id = flag(calls[0]["argv"], "--session-id")
    assert flag(calls[2]["argv"], "--resume") == old_id and "--fork-session" in calls[2]["argv"]
    assert flag(calls[2]["argv"], "--model") == "opus"
    assert "not green" in calls[2]["stdin"]
    status = run("status", FEATURE, "--json").json()
    [escalation] = status["escalations"]
    assert escalation["method"] == "fork" and escalation["to_model"] == "opus"


def test_escalate_to_another_agent_goes_by_summary(project: Project, fakes: FakeAgents) -> None:
    start_failed_task(
        fakes,
        {"agent": "claude", "text": "HANDOVER: add subtracts; make it add."},
        {"agent": "gemini", "text": "Fixed.", "edits": [edit("calc/ops.py", ADD_IMPL)]},
        {"agent": "claude", "text": "T1.2 done."},
    )
    assert run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0").code == 1
    result = run("escalate", FEATURE, "--to", "gemini", "--task", "T1.1", "--json")
    assert result.code == 0, result.err
    assert result.json()["escalated_from"]["method"] == "summary"
    handoff = fakes.invocations("claude")[-1]
    assert "--fork-session" not in handoff["argv"] and flag(handoff["argv"], "--resume")
    assert "hand-over" in handoff["stdin"]
    [gemini] = fakes.invocations("gemini")
    assert "HANDOVER: add subtracts" in gemini["stdin"]
    record = interactions(f"implement-{FEATURE}")[-1]
    assert record["agent"] == "gemini" and record["escalated_from"]["agent"] == "claude"
    # The next task with the configured claude is told how to keep the gemini conversation.
    later = run("implement", FEATURE, "--task", "T1.2", "--no-tests")
    assert later.code == 0, later.err
    assert "holds a gemini" in later.err and "use --agent gemini to continue it" in later.err

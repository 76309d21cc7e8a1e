"""Escalation through the CLI with the scripted agent: ``aio escalate`` and
``aio implement --escalate-to``.

The scripted agent cannot fork, so a hand-over to another model goes by summary: aio resumes
the stored conversation and asks it for a hand-over, then starts a new conversation with it.
What is checked: the new conversation really is new (another agent session id, a different
model on its calls), it starts with the summary the old one wrote, the task goes on to green,
the lineage is on the record and in the history event, and ``aio status`` shows it. The fork
path is tested with the fake Claude CLI (test_escalate_claude.py) and the real one
(tests/contract).
"""

from __future__ import annotations

import pytest

from tests.workflow.conftest import (
    ADD_BROKEN,
    ADD_IMPL,
    ADD_TEST,
    FEATURE,
    Project,
    init_and_plan,
    interactions,
    run,
)

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes

SUMMARY = "HANDOVER: add() subtracts; fix calc/ops.py add to return a + b."


def test_implement_escalates_when_the_fix_rounds_run_out(project: Project) -> None:
    init_and_plan(
        project,
        [
            {"answer": "tests written", "edits": [ADD_TEST]},
            {"answer": "implemented", "edits": [ADD_BROKEN]},
            {"answer": "fixed?", "edits": [ADD_BROKEN]},  # the one fix round: still red
            {"answer": SUMMARY},  # the old conversation's hand-over
            {"answer": "fixed for real", "edits": [ADD_IMPL]},  # the new conversation
        ],
    )
    result = run(
        "implement", FEATURE, "--task", "T1.1", "--fix-rounds", "1",
        "--escalate-to", "bigger-model", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "escalating" in result.err
    data = result.json()
    assert data["task"]["status"] == "completed"
    assert [s["step"] for s in data["steps"]] == [
        "tests", "implement", "fix-1", "handoff", "escalated-fix",
    ]  # fmt: skip
    lineage = data["escalated_from"]
    assert lineage["method"] == "summary" and lineage["to_model"] == "bigger-model"
    assert lineage["reason"].startswith("not green after 1 fix round(s)")

    calls = interactions(f"implement-{FEATURE}")
    old_id = calls[0]["agent_session_id"]
    assert [c["agent_session_id"] for c in calls[:4]] == [old_id] * 4  # handoff: old conv.
    new = calls[4]
    assert new["agent_session_id"] != old_id and new["session_action"] == "replaced"
    assert new["model"] == "scripted-bigger-model" and calls[3]["model"] != new["model"]
    assert new["escalated_from"]["agent_session_id"] == old_id
    assert SUMMARY in new["prompt"] and "Task T1.1" in new["prompt"]
    assert "escalated_from" not in calls[3]

    [event] = [e for e in project.history() if e["command"] == "implement"][-1:]
    assert event["status"] == "success"
    assert event["details"]["escalation"]["agent_session_id"] == old_id
    status = run("status", FEATURE, "--json").json()
    [shown] = status["escalations"]
    assert shown["to_model"] == "bigger-model" and shown["task_id"] == "T1.1"
    text = run("status", FEATURE)
    assert "Escalated" in text.out and "bigger-model" in text.out


def test_without_escalate_to_the_task_fails_as_before(project: Project) -> None:
    init_and_plan(
        project,
        [
            {"answer": "tests written", "edits": [ADD_TEST]},
            {"answer": "implemented", "edits": [ADD_BROKEN]},
            {"answer": "fixed?", "edits": [ADD_BROKEN]},
        ],
    )
    result = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "1")
    assert result.code == 1 and "not green after 1 fix round" in result.err
    assert project.task("T1.1")["status"] == "failed"


def test_aio_escalate_continues_a_failed_task_in_a_new_conversation(project: Project) -> None:
    init_and_plan(
        project,
        [
            {"answer": "tests written", "edits": [ADD_TEST]},
            {"answer": "implemented", "edits": [ADD_BROKEN]},
            {"answer": SUMMARY},  # aio escalate: the hand-over
            {"answer": "done", "edits": [ADD_IMPL]},  # the new conversation implements
        ],
    )
    failed = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0")
    assert failed.code == 1 and project.task("T1.1")["status"] == "failed"

    result = run(
        "escalate", FEATURE, "--to", "bigger-model", "--task", "T1.1",
        "--reason", "sonnet keeps failing", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    data = result.json()
    assert data["task"]["status"] == "completed"
    assert data["escalated_from"]["reason"] == "sonnet keeps failing"
    assert [s["step"] for s in data["steps"]] == ["handoff", "implement"]
    assert [(r["label"], r["green"]) for r in data["test_runs"]] == [("green-2", True)]
    calls = interactions(f"implement-{FEATURE}")
    assert calls[-1]["escalated_from"]["method"] == "summary"
    assert SUMMARY in calls[-1]["prompt"]
    assert calls[-1]["agent_session_id"] != calls[0]["agent_session_id"]
    [event] = [e for e in project.history() if e["command"] == "escalate"]
    assert event["status"] == "success" and event["task_id"] == "T1.1"
    assert event["model"] == "bigger-model"
    assert event["details"]["escalation"]["reason"] == "sonnet keeps failing"


def test_escalate_a_phase_conversation_without_a_task(project: Project) -> None:
    init_and_plan(project, [{"answer": SUMMARY}, {"answer": "I see: the plan has two tasks."}])
    result = run(
        "escalate", FEATURE, "--phase", "plan", "--to", "bigger-model",
        "--prompt", "Review the plan.",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "I see: the plan has two tasks." in result.out
    calls = interactions(f"plan-{FEATURE}")
    assert [c.get("escalated_from", {}).get("method") for c in calls] == [None, None, "summary"]
    assert calls[-1]["prompt"].endswith("Review the plan.")
    assert SUMMARY in calls[-1]["prompt"]


def test_escalate_with_no_conversation_hands_over_aios_context(project: Project) -> None:
    init_and_plan(project, [{"answer": "Looked at it."}])
    result = run("escalate", FEATURE, "--to", "bigger-model", "--json")
    assert result.code == 0, result.err
    lineage = result.json()["escalated_from"]
    assert lineage["method"] == "context" and lineage["agent_session_id"] is None
    [call] = interactions(f"implement-{FEATURE}")
    assert "Recent aio commands of this feature" in call["prompt"]
    assert "- plan (success)" in call["prompt"]


def test_escalate_refuses_bad_input_before_anything_runs(project: Project) -> None:
    init_and_plan(project, [])
    before = len(project.history())
    for args, code, text in [
        (["--to", "bad model!"], 2, "invalid model"),
        (["--to", "claude", "--phase", "verify"], 2, "verify"),
        (["--to", "x", "--task", "T1.1", "--phase", "plan"], 2, "--phase implement"),
        (["--to", "x", "--task", "T9"], 2, "unknown task"),
        (["--to", "x", "--prompt", "p", "--task", "T1.1"], 2, "--prompt"),
    ]:
        result = run("escalate", FEATURE, *args)
        assert result.code == code, (args, result.err)
        assert text in result.err and "Traceback" not in result.err
    assert len(project.history()) == before
    assert interactions(f"implement-{FEATURE}") == []


def test_escalating_to_what_already_runs_is_refused(project: Project) -> None:
    init_and_plan(project, [])
    result = run("escalate", FEATURE, "--phase", "plan", "--to", "scripted")
    assert result.code == 2 and "already a scripted" in result.err


def test_a_failed_summary_falls_back_to_aios_context(project: Project) -> None:
    init_and_plan(
        project,
        [
            {"answer": "tests written", "edits": [ADD_TEST]},
            {"answer": "implemented", "edits": [ADD_BROKEN]},
            {"outcome": "api_error", "error": "overloaded"},  # the hand-over call fails
            {"answer": "done", "edits": [ADD_IMPL]},
        ],
    )
    assert run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0").code == 1
    result = run("escalate", FEATURE, "--to", "bigger-model", "--task", "T1.1", "--json")
    assert result.code == 0, result.err
    assert "hand-over summary failed" in result.err
    assert result.json()["escalated_from"]["method"] == "context"
    calls = interactions(f"implement-{FEATURE}")
    assert calls[-2]["outcome"].startswith("error")  # the failed hand-over is recorded
    assert "Recent aio commands of this feature" in calls[-1]["prompt"]
    assert "not green after 0 fix round" in calls[-1]["prompt"]  # the failure, from history


def test_a_failing_new_conversation_loses_nothing(project: Project) -> None:
    init_and_plan(
        project,
        [
            {"answer": "tests written", "edits": [ADD_TEST]},
            {"answer": "implemented", "edits": [ADD_BROKEN]},
            {"answer": SUMMARY},
            {"outcome": "api_error", "error": "overloaded"},  # the new conversation fails
        ],
    )
    assert run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0").code == 1
    old_id = interactions(f"implement-{FEATURE}")[0]["agent_session_id"]
    result = run("escalate", FEATURE, "--to", "bigger-model", "--task", "T1.1")
    assert result.code == 1 and "overloaded" in result.err
    assert project.task("T1.1")["status"] == "failed"
    calls = interactions(f"implement-{FEATURE}")
    assert calls[-1]["outcome"].startswith("error")
    assert calls[-1]["escalated_from"]["agent_session_id"] == old_id
    [event] = [e for e in project.history() if e["command"] == "escalate"]
    assert event["status"] == "failed"
    assert event["details"]["escalation"]["agent_session_id"] == old_id
    assert [s["step"] for s in event["details"]["steps"]] == ["handoff", "implement"]


def test_escalate_to_with_no_tests_is_refused(project: Project) -> None:
    init_and_plan(project, [])
    result = run("implement", FEATURE, "--task", "T1.1", "--no-tests", "--escalate-to", "x")
    assert result.code == 2 and "--no-tests" in result.err

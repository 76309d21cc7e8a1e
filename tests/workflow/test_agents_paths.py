"""Planner fallback, --full-context, the verify agent check and the lost-session message."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.workflow.conftest import (
    ADD_IMPL,
    ADD_TEST,
    FEATURE,
    TEST_COMMAND,
    Project,
    init_and_plan,
    interactions,
    plan_answer,
    run,
)

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes


def test_planner_falls_back_when_the_first_cannot_run(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.scenario_file.write_text(yaml.safe_dump({"steps": [{"answer": plan_answer()}]}))
    monkeypatch.setenv("AIO_SCRIPTED_SCENARIO", str(project.scenario_file))
    monkeypatch.setenv("AIO_AGENT_CODEX_EXECUTABLE", str(project.root / "no-such-codex"))
    (project.root / ".aio").mkdir()
    (project.root / ".aio" / "config.toml").write_text(
        f"test_command = {json.dumps(TEST_COMMAND)}\n"
        '[phases.plan]\nagent = "codex"\nfallback = ["scripted"]\n'
    )
    assert run("init", FEATURE).code == 0
    result = run("plan", "plan it", "--full-context")
    assert result.code == 0, result.err
    assert "codex unavailable" in result.err and "falling back to scripted" in result.err
    [call] = interactions("plan-calc")
    prompt = call["prompt"]
    assert "Repository context:" in prompt and "pyproject.toml" in prompt
    assert project.plan()["planner"] == {"agent": "scripted", "model": None}
    assert project.history()[-1]["agent"] == "scripted"


def test_all_planners_fail(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.scenario([{"outcome": "rate_limit", "error": "slow down"}])
    assert run("init", FEATURE).code == 0
    result = run("plan", "plan it", "--retry", "1")
    assert result.code == 1
    assert "Retrying scripted (attempt 2/2)" in result.err
    assert "all planners failed" in result.err
    assert project.history()[-1]["status"] == "failed"  # the last planner's ending


def test_verify_with_agent_check(project: Project) -> None:
    verdict = {
        "verdict": "fail",
        "criteria": [
            {"task": "T1.1", "criterion": "add(2, 3) == 5", "met": True, "evidence": "ops.py:2"},
            {"task": "T1.2", "criterion": "divide", "met": False, "evidence": "missing"},
        ],
    }
    init_and_plan(
        project,
        [
            {"edits": [ADD_TEST]},
            {"edits": [ADD_IMPL]},
            {"answer": "Verdict:\n" + json.dumps(verdict)},
        ],
    )
    assert run("implement", "--task", "T1.1").code == 0
    result = run("verify", "--agent", "--json")
    assert result.code == 1, result.err
    doc = result.json()
    assert doc["tests"]["passed"] == 1 and doc["agent_check"]["verdict"] == "fail"
    # sessions are on: the message says verify is one-off by design, not "sessions disabled"
    assert "fresh conversation (a one-off call: never resumed)" in result.err
    assert "sessions disabled" not in result.err
    record = interactions("verify-calc")[-1]
    assert record["session_action"] == "fresh"
    assert "calc/ops.py" in record["prompt"]  # the new file is part of the diff shown


def test_lost_session_tells_user_to_use_new_session(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_and_plan(project, [{"answer": plan_answer()}, {"answer": plan_answer()}])
    # The scripted agent forgets every conversation: its home is replaced.
    monkeypatch.setenv("AIO_SCRIPTED_HOME", str(project.root.parent / "other-home"))
    # A new home also resets the scenario cursor, so the next step would be step 0 again.
    lost = run("plan", "again")
    assert lost.code == 1
    assert "--new-session" in lost.err
    fresh = run("plan", "again", "--new-session")
    assert fresh.code == 0, fresh.err


def test_unusable_verifier_answer_is_a_failure_not_bad_input(project: Project) -> None:
    init_and_plan(
        project, [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL]}, {"answer": "?"}, {"answer": "??"}]
    )
    assert run("implement", "--task", "T1.1").code == 0
    result = run("verify", "--agent")
    assert result.code == 1, result.err  # the agent's fault, not the user's input (was 2)
    assert "verifier's answer is not usable" in result.err
    assert "the verdict is not usable" in result.err and "asking once more" in result.err
    steps = project.history()[-1]["details"]["steps"]
    assert [s["step"] for s in steps] == ["verify", "verify-fix"]  # exactly one correction

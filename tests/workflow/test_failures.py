"""Failure paths of plan / implement / review / verify, through the real CLI."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from ai_orchestrator.infra.locks import read_holder
from ai_orchestrator.store import SessionStore
from tests.workflow.conftest import (
    ADD_BROKEN,
    ADD_IMPL,
    ADD_TEST,
    FEATURE,
    Project,
    agent_processes,
    cursor_at,
    init_and_plan,
    interactions,
    plan_answer,
    run,
    runner_processes,
    start_aio,
    wait_for,
)

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes


def test_invalid_plan_gets_one_correction_then_fails(project: Project) -> None:
    bad = json.dumps(
        {
            "phases": [
                {
                    "tasks": [
                        {"id": "X1", "title": ""},
                        {"id": "T1.2", "title": "b", "dependencies": ["T9.9"]},
                    ]
                }
            ]
        }
    )
    project.scenario([{"answer": "I cannot produce JSON today."}, {"answer": bad}])
    assert run("init", FEATURE).code == 0
    result = run("plan", FEATURE, "plan it")
    assert result.code == 1
    assert "not a valid plan" in result.err and "T9.9" in result.err
    assert not (project.feature_dir / "plan.yaml").exists()
    # both raw answers are kept, and the error says where
    (kept,) = (project.feature_dir / "artifacts").glob("plan-rejected-*.txt")
    assert f"the planner's raw answer: {kept})" in result.err
    text = kept.read_text()
    assert "I cannot produce JSON today." in text and "T9.9" in text
    calls = interactions("plan-calc")
    assert len(calls) == 2
    assert calls[1]["prompt"].startswith("Your plan could not be used")
    assert calls[1]["session_action"] == "resumed"
    assert project.history()[-1]["status"] == "failed"


def test_invalid_plan_corrected_on_follow_up(project: Project) -> None:
    cyclic = [
        {"id": "T1.1", "title": "a", "dependencies": ["T1.2"]},
        {"id": "T1.2", "title": "b", "dependencies": ["T1.1"]},
    ]
    project.scenario([{"answer": plan_answer(cyclic)}, {"answer": plan_answer()}])
    assert run("init", FEATURE).code == 0
    result = run("plan", FEATURE, "plan it")
    assert result.code == 0, result.err
    assert "dependency cycle" in interactions("plan-calc")[1]["prompt"]
    assert project.task("T1.2")["dependencies"] == ["T1.1"]


def test_unknown_task_and_unmet_dependency(project: Project) -> None:
    init_and_plan(project, [])
    unknown = run("implement", FEATURE, "--task", "T9.9")
    assert unknown.code == 2 and "unknown task 'T9.9'" in unknown.err and "T1.1" in unknown.err
    unmet = run("implement", FEATURE, "--task", "T1.2")
    assert unmet.code == 1 and "depends on T1.1" in unmet.err
    assert project.task("T1.2")["status"] == "pending"


def test_agent_error_mid_task(project: Project) -> None:
    init_and_plan(
        project, [{"edits": [ADD_TEST]}, {"outcome": "api_error", "error": "overloaded (scripted)"}]
    )
    result = run("implement", FEATURE, "--task", "T1.1")
    assert result.code == 1
    assert "api_error" in result.err and "overloaded" in result.err
    task = project.task("T1.1")
    assert task["status"] == "failed" and "overloaded" in task["failure_reason"]
    assert SessionStore().holder("implement-calc") is None
    assert read_holder(project.feature_dir / ".lock") is None
    event = project.history()[-1]
    assert event["status"] == "failed" and event["task_id"] == "T1.1"
    assert [s["outcome"] for s in event["details"]["steps"]] == ["success", "api_error"]
    assert [c["outcome"] for c in interactions("implement-calc")] == ["success", "error:api_error"]


def test_tests_never_go_green(project: Project) -> None:
    init_and_plan(project, [{"edits": [ADD_TEST]}, {"edits": [ADD_BROKEN]}, {"answer": "hm"}])
    result = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "1")
    assert result.code == 1 and "not green after 1 fix round" in result.err
    task = project.task("T1.1")
    assert task["status"] == "failed" and "the tests fail" in task["failure_reason"]
    artifacts = project.feature_dir / "artifacts" / "T1.1"
    assert {p.name for p in artifacts.glob("*.log")} == {"red-1.log", "green-1.log", "green-2.log"}
    fix_prompt = interactions("implement-calc")[-1]["prompt"]
    assert "fix round 1 of 1" in fix_prompt and "assert" in fix_prompt


def test_tests_that_pass_before_implementation(project: Project) -> None:
    trivial = {"write": "tests/test_trivial.py", "content": "def test_ok():\n    assert True\n"}
    init_and_plan(project, [{"edits": [trivial]}, {"edits": [trivial]}])
    result = run("implement", FEATURE, "--task", "T1.1")
    assert result.code == 1 and "did not fail before the implementation" in result.err
    assert "before the implementation exists" in interactions("implement-calc")[1]["prompt"]
    assert project.task("T1.1")["status"] == "failed"


def test_tdd_and_no_tests_modes(project: Project) -> None:
    init_and_plan(
        project,
        [
            {"edits": [ADD_TEST]},
            {"edits": [ADD_IMPL]},
            {"answer": "tidy"},
            {"answer": "divide done"},
        ],
    )
    tdd = run("implement", FEATURE, "--task", "T1.1", "--tdd", "--json")
    assert tdd.code == 0, tdd.err
    assert [s["step"] for s in tdd.json()["steps"]] == ["tests", "implement", "refactor"]
    assert [r["label"] for r in tdd.json()["test_runs"]] == ["red-1", "green-1", "refactor-1"]
    no_tests = run("implement", FEATURE, "--task", "T1.2", "--no-tests")
    assert no_tests.code == 0 and "--no-tests" in no_tests.err
    assert project.task("T1.2")["status"] == "completed"


@pytest.mark.agent_process  # the timeout is the runner's
def test_budget_and_timeout_exit_codes(project: Project) -> None:
    priced_plan = {"answer": plan_answer(), "usage": {"sonnet": {"input": 1000, "output": 100}}}
    project.scenario([priced_plan, {"edits": [ADD_TEST], "delay": 5}], implement={"timeout": 1})
    assert run("init", FEATURE).code == 0 and run("plan", "p").code == 0
    events = len(project.history())
    over = run("implement", FEATURE, "--task", "T1.1", "--max-cost", "0.000001")
    assert over.code == 3 and "budget" in over.err
    assert len(project.history()) == events  # refused before starting: no history
    slow = run("implement", FEATURE, "--task", "T1.1")
    assert slow.code == 124, slow.err
    assert project.task("T1.1")["status"] == "failed"
    assert project.history()[-1]["status"] == "timeout"


def test_the_budget_warning_names_the_budget_exactly(project: Project) -> None:
    """A workflow call that takes the feature over budget names the budget unrounded
    ($0.0273, not $0.03), and its call line counts cache writes like every total."""
    usage = {"sonnet": {"input": 20_000, "output": 100, "cache_write": 2_000}}
    project.scenario([{"answer": plan_answer(), "usage": usage}])
    assert run("init", FEATURE).code == 0
    result = run("plan", "p", "--max-cost", "0.0273")
    assert "over its $0.0273 budget" in result.err, result.err
    (line,) = [line for line in result.err.splitlines() if "20,000 in / 100 out" in line]
    assert "/ 0 cache read / 2,000 cache write · " in line, line


def test_ctrl_c_during_implement(project: Project) -> None:
    init_and_plan(project, [{"edits": [ADD_TEST], "delay": 60}])
    with start_aio("implement", FEATURE, "--task", "T1.1") as proc:
        wait_for(lambda: cursor_at(2) and agent_processes(project))
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert agent_processes(project) == []
    task = project.task("T1.1")
    assert task["status"] == "failed" and task["failure_reason"] == "interrupted"
    assert project.history()[-1]["status"] == "interrupted"
    assert interactions("implement-calc")[-1]["outcome"] == "interrupted"
    assert SessionStore().holder("implement-calc") is None


def test_two_implements_on_one_feature(project: Project) -> None:
    init_and_plan(
        project, [{"edits": [ADD_TEST], "delay": 4}, {"edits": [ADD_IMPL]}], lock_timeout=1
    )
    with start_aio("implement", "--task", "T1.1") as first:
        wait_for(lambda: read_holder(project.feature_dir / ".lock") is not None)
        second = run("implement", "--task", "T1.1")
        _out, err = first.communicate(timeout=120)
    assert second.code == 1
    assert "feature calc is busy" in second.err and f"pid {first.pid}" in second.err
    assert first.returncode == 0, err
    assert project.task("T1.1")["status"] == "completed"


def test_review_critical_and_correction(project: Project) -> None:
    critical = {
        "summary": "one bad bug",
        "findings": [
            {"severity": "critical", "file": "calc/ops.py", "line": 2, "message": "wrong sign"},
            {"severity": "minor", "file": "calc/ops.py", "line": "1", "message": "naming"},
        ],
    }
    fine = {
        "summary": "ok",
        "findings": [{"severity": "info", "file": None, "line": None, "message": "looks fine"}],
    }
    init_and_plan(
        project,
        [
            {"answer": "```json\n" + json.dumps(critical) + "\n```"},
            {"answer": '{"findings": [{"severity": "urgent"}]}'},
            {"answer": json.dumps(fine)},
        ],
    )
    (project.root / "calc" / "ops.py").write_text("def add(a, b):\n    return a - b\n")
    bad = run("review", FEATURE, "calc/ops.py", "--json")
    assert bad.code == 1
    doc = bad.json()
    assert doc["counts"]["critical"] == 1 and doc["counts"]["low"] == 1
    assert json.loads(Path(doc["artifact"]).read_text())["findings"][1]["line"] == 1
    good = run("review", "--focus", "security")
    assert good.code == 0, good.err
    assert "asking once more" in good.err
    assert [c["session_action"] for c in interactions("review-calc")] == [
        "started",
        "resumed",
        "resumed",
    ]


def test_verify_reports_failures(project: Project) -> None:
    init_and_plan(project, [])
    tests = project.root / "tests"
    (tests / "test_x.py").write_text(
        "def test_a():\n    assert 1 == 2\n\ndef test_b():\n    pass\n"
    )
    result = run("verify", "--ci", "--json")
    assert result.code == 1
    assert result.json()["tests"]["failed"] == 1 and result.json()["tests"]["passed"] == 1
    assert (project.feature_dir / "artifacts" / "test-results.xml").is_file()
    text = run("verify")
    assert text.code == 1 and "Result:   FAIL" in text.out
    assert project.history()[-1]["command"] == "verify"
    assert project.history()[-1]["status"] == "failed"


def test_ctrl_c_during_a_test_run(project: Project) -> None:
    slow = {
        "write": "tests/test_slow.py",
        "content": "import time\n\n\ndef test_slow():\n    time.sleep(120)\n",
    }
    init_and_plan(project, [{"edits": [slow]}])
    with start_aio("implement", FEATURE, "--task", "T1.1") as proc:
        wait_for(lambda: runner_processes(project.root))
        time.sleep(1.0)  # let pytest reach the sleeping test
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert runner_processes(project.root) == []  # the test run was killed with its group
    task = project.task("T1.1")
    assert task["status"] == "failed" and task["failure_reason"] == "interrupted"
    event = project.history()[-1]
    assert event["status"] == "interrupted" and event["task_id"] == "T1.1"
    assert run("status", FEATURE, "--json").json()["active_task"] is None
    assert read_holder(project.feature_dir / ".lock") is None
    assert (project.feature_dir / "artifacts" / "T1.1" / "red-1.log").is_file()


@pytest.mark.agent_process  # the timeout is the runner's
def test_timeout_flag_on_every_agent_driving_command(project: Project) -> None:
    """``--timeout S`` bounds each agent call of that command, over the config's phase
    timeout (3600 s for implement here): exit 124, the cause in words in the history."""
    project.scenario(
        [{"answer": plan_answer(), "delay": 5}, {"answer": plan_answer()},
         {"edits": [ADD_TEST], "delay": 5}]
    )  # fmt: skip
    assert run("init", FEATURE).code == 0
    slow_plan = run("plan", "p", "--timeout", "1")  # every planner timed out: 124 as well
    assert slow_plan.code == 124 and "timed out after 1 s" in slow_plan.err, slow_plan.err
    assert "all planners failed" in slow_plan.err
    assert project.history()[-1]["status"] == "timeout"
    assert run("plan", "p", "--timeout", "0").code == 0  # 0: no limit
    slow = run("implement", FEATURE, "--task", "T1.1", "--timeout", "1")
    assert slow.code == 124, slow.err
    failed = run("history", FEATURE, "--failed")
    assert "timeout after 1 s" in failed.out, failed.out
    for command in ("plan", "implement", "review", "verify", "escalate"):
        assert "--timeout S" in run(command, "--help").out, command
    assert run("verify", FEATURE, "--timeout", "5").code == 2  # only with the agent check

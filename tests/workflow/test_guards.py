"""Guards: never another repo's conversation, validation before work, locks, history shape,
status accounting, atomic config. Each test is one the audit found failing."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from ai_orchestrator.infra import locks
from ai_orchestrator.workflow.demo import create_project
from ai_orchestrator.workflow.model.feature import write_new_file
from tests.workflow.conftest import (
    ADD_IMPL,
    ADD_TEST,
    EVENT_KEYS,
    FEATURE,
    Project,
    init_and_plan,
    interactions,
    plan_answer,
    run,
    start_aio,
    wait_for,
)


def todos() -> list[dict[str, Any]]:
    path = Path(os.environ["SESSION_DIR"]) / "todos.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- gap 1: a feature id used in two projects -------------------------------------------------


@pytest.mark.process  # the project's git and its test command run as real processes
def test_never_resumes_a_conversation_of_another_project(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_and_plan(project, [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL]}])
    assert run("implement", FEATURE, "--task", "T1.1").code == 0

    other = Project(tmp_path / "proj2", tmp_path / "scenario2.yaml")
    create_project(other.root)
    monkeypatch.setenv("AIO_PROJECT_DIR", str(other.root))
    other.scenario(
        [{"answer": plan_answer()}, {"edits": [ADD_TEST]}, {"edits": [ADD_IMPL]}],
    )
    assert run("init", FEATURE).code == 0
    plan_calls = len(interactions("plan-calc"))
    refused = run("plan", FEATURE, "plan it")
    assert refused.code == 1
    assert str(project.root) in refused.err and "--new-session" in refused.err
    assert "Creating plan" not in refused.err
    assert len(interactions("plan-calc")) == plan_calls  # no agent ran
    assert run("plan", FEATURE, "plan it", "--new-session").code == 0

    implement_calls = len(interactions("implement-calc"))
    events = len(other.history())
    refused = run("implement", FEATURE, "--task", "T1.1")
    assert refused.code == 1
    assert "refusing to resume it here" in refused.err and str(project.root) in refused.err
    assert len(interactions("implement-calc")) == implement_calls
    assert other.task("T1.1")["status"] == "pending"  # nothing was touched
    assert not (other.root / "tests" / "test_add.py").exists()
    assert len(other.history()) == events  # a refusal writes no history

    started = run("implement", FEATURE, "--task", "T1.1", "--new-session")
    assert started.code == 0, started.err
    assert "replaced the stored agent conversation" in started.err
    assert (other.root / "tests" / "test_add.py").is_file()
    assert [c["cwd"] for c in interactions("implement-calc")[-2:]] == [str(other.root)] * 2


# -- gap 5: history events carry what is known ------------------------------------------------


@pytest.mark.process  # the project's git and its test command run as real processes
def test_history_event_shape(project: Project) -> None:
    init_and_plan(project, [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL]}], lock_timeout=0.5)
    held = locks.acquire(project.feature_dir / ".lock", timeout=1, what="test")
    try:
        busy = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0")
        busy_verify = run("verify", FEATURE)
        busy_review = run("review", FEATURE)
    finally:
        held.release()
    assert busy.code == 1 and "busy" in busy.err
    assert busy_verify.code == 1 and "busy" in busy_verify.err  # verify takes the lock
    assert busy_review.code == 1 and "busy" in busy_review.err  # and so does review
    assert not (project.feature_dir / "artifacts" / "verify").exists()
    done = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0")
    assert done.code == 0, done.err

    events = project.history()
    for event in events:
        assert set(EVENT_KEYS) <= set(event), event
        assert isinstance(event["duration_ms"], int) and event["duration_ms"] > 0, event
    init, plan, implement_busy, verify_busy, review_busy, implement = events
    assert init["command"] == "init"
    assert plan["agent"] == "scripted" and plan["model"] == "scripted-sonnet"  # reported
    assert plan["session"] == "plan-calc"
    assert plan["arguments"] == {"prompt": "plan it", "retry": 0}  # unset options omitted
    assert verify_busy["arguments"] == {} and review_busy["arguments"] == {"files": []}
    assert implement_busy["status"] == "failed" and "busy" in implement_busy["error"]
    assert (implement_busy["task_id"], implement_busy["session"], implement_busy["agent"]) == (
        "T1.1",
        "implement-calc",
        "scripted",
    )
    assert implement_busy["arguments"]["fix_rounds"] == 0  # 0 is a value, not "unset"
    assert review_busy["session"] == "review-calc" and review_busy["agent"] == "scripted"
    assert verify_busy["command"] == "verify" and verify_busy["status"] == "failed"
    assert implement["status"] == "success" and implement["model"] == "scripted-sonnet"
    assert implement["arguments"] == {"mode": "atdd", "fix_rounds": 0}


@pytest.mark.process  # the project's git and its test command run as real processes
def test_verify_waits_for_a_running_implement(project: Project) -> None:
    init_and_plan(project, [{"edits": [ADD_TEST], "delay": 3}, {"edits": [ADD_IMPL]}])
    with start_aio("implement", FEATURE, "--task", "T1.1") as first:
        wait_for(lambda: locks.read_holder(project.feature_dir / ".lock") is not None)
        verified = run("verify", FEATURE, "--json")  # waits (lock_timeout 30) for implement
        _out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert verified.code == 0, verified.err
    assert verified.json()["tests"]["passed"] == 1  # it saw the finished task, not the middle


# -- gaps 6, 12, 13: input checked before any work -------------------------------------------


@pytest.mark.process  # the project's git and its test command run as real processes
def test_bad_input_is_refused_before_work(project: Project) -> None:
    init_and_plan(project, [])
    events = len(project.history())
    for args in (
        ("implement", FEATURE, "--task", "T1.1", "--tdd", "--no-tests"),
        ("implement", FEATURE, "--task", "T1.1", "--atdd", "--tdd"),
        ("implement", FEATURE, "--task", "T1.1", "--agent", "bogus"),
        ("plan", FEATURE, "again", "--agent", "bogus"),
        ("review", FEATURE, "--agent", "bogus"),
        ("verify", FEATURE, "--agent", "--agent-name", "bogus"),
        ("verify", FEATURE, "--agent", "bogus"),
        ("verify", "--agent", "bogus"),  # NAME is the agent, as everywhere: not a feature
        ("verify", FEATURE, "--agent", "claude", "--agent-name", "gemini"),
        ("verify", FEATURE, "--max-cost", "1"),
    ):
        result = run(*args)
        assert result.code == 2, (args, result.err)
        assert "Traceback" not in result.err
        assert "Creating plan" not in result.err and "Running the tests" not in result.err
        assert len(result.err.strip().splitlines()) == 1, result.err
    assert (
        "cannot be combined"
        in run(*("implement", FEATURE, "--task", "T1.1", "--tdd", "--no-tests")).err
    )
    assert "unknown agent 'bogus'" in run("plan", FEATURE, "x", "--agent", "bogus").err
    assert "--agent: unknown agent 'bogus'" in run("verify", "--agent", "bogus").err
    assert len(project.history()) == events  # nothing ran
    assert project.task("T1.1")["status"] == "pending"
    assert not (project.feature_dir / "artifacts" / "verify").exists()


def todo_count() -> int:
    path = Path(os.environ["SESSION_DIR"]) / "todos.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_bad_model_is_refused_before_any_session_or_history(project: Project) -> None:
    init_and_plan(project, [])
    events, plan_calls = len(project.history()), len(interactions("plan-calc"))
    todo_lines = todo_count()
    for args in (
        ("implement", FEATURE, "--task", "T1.1", "--model", "claude sonnet"),
        ("plan", FEATURE, "again", "--model", "gemini;2"),
        ("review", FEATURE, "--model", "opus'"),
        ("verify", FEATURE, "--agent", "--model", "$(x)"),
    ):
        result = run(*args)
        assert result.code == 2, (args, result.err)
        assert result.err.startswith("aio: error: invalid model ") and result.err.count("\n") == 1
    assert len(project.history()) == events
    assert len(interactions("plan-calc")) == plan_calls
    for session in ("implement-calc", "review-calc", "verify-calc"):
        assert not (Path(os.environ["SESSION_DIR"]) / session).exists()
    assert todo_count() == todo_lines
    assert project.task("T1.1")["status"] == "pending"


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_bad_configured_mode_or_ai_model_leaves_the_task_untouched(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_and_plan(project, [])
    todo_lines = todo_count()
    project.scenario([{"edits": [ADD_TEST]}], implement={"permission_mode": "yolo"})
    refused = run("implement", FEATURE, "--task", "T1.1")
    assert refused.code == 2, refused.err
    assert refused.err == (
        "aio: error: invalid permission mode 'yolo' for scripted; use one of default, "
        "acceptEdits, plan, dontAsk, bypassPermissions\n"
    )
    project.scenario([{"edits": [ADD_TEST]}])
    monkeypatch.setenv("AI_MODEL", "bad model")
    refused = run("implement", FEATURE, "--task", "T1.1")
    assert refused.code == 2 and "invalid model 'bad model'" in refused.err, refused.err
    assert project.task("T1.1")["status"] == "pending"
    assert not (Path(os.environ["SESSION_DIR"]) / "implement-calc").exists()
    assert todo_count() == todo_lines


@pytest.mark.process  # the project's git and its test command run as real processes
def test_switch_list_json(project: Project) -> None:
    init_and_plan(project, [])
    assert run("init", "other", "--no-switch").code == 0
    listing = run("switch", "--list", "--json")
    assert listing.code == 0
    assert listing.json() == {
        "schema_version": 1,
        "current": FEATURE,
        "features": [FEATURE, "other"],
    }
    switched = run("switch", "other", "--json")
    assert switched.json()["current"] == "other"
    assert run("switch", "other", "--list").code == 2


# -- gap 11: a failed task is not the active task ----------------------------------------------


@pytest.mark.process  # the project's git and its test command run as real processes
def test_failed_task_clears_active_task(project: Project) -> None:
    init_and_plan(project, [{"outcome": "api_error", "error": "boom"}])
    assert run("implement", FEATURE, "--task", "T1.1").code == 1
    status = run("status", FEATURE, "--json").json()
    assert status["active_task"] is None
    assert "Active task: none" in run("status", FEATURE).out


# -- gaps 17, 18, 19: status accounting and the todo estimate ----------------------------------


@pytest.mark.process  # the project's git and its test command run as real processes
def test_status_shows_unpriced_cache_and_agent_todos(project: Project) -> None:
    unknown = {"scripted-nonesuch-9": {"input": 100, "output": 10}}
    priced = {"sonnet": {"input": 1000, "output": 100, "cache_read": 3000, "cache_write": 1000}}
    init_and_plan(
        project,
        [
            {"edits": [ADD_TEST], "usage": unknown, "todos": [{"content": "t", "status": "done"}]},
            {
                "edits": [ADD_IMPL],
                "usage": priced,
                "todos": [
                    {"content": "write the test", "status": "completed"},
                    {"content": "implement add", "status": "in_progress"},
                ],
            },
        ],
    )
    assert run("implement", FEATURE, "--task", "T1.1").code == 0
    status = run("status", FEATURE, "--json").json()
    implement = status["sessions"]["implement"]
    assert implement["unpriced"] == 1 and status["totals"]["unpriced"] == 1
    assert implement["tokens"]["cache_write"] == 1000
    assert implement["cache_read_share"] == round(3000 / (1100 + 3000 + 1000), 4)
    assert status["agent_todos"]["task"] == "T1.1"
    assert [i["content"] for i in status["agent_todos"]["items"]] == [
        "write the test",
        "implement add",
    ]
    text = run("status", FEATURE).out
    assert "1,000 cache write" in text
    assert "+ 1 unpriced" in text and "Unpriced: 1 call without a price" in text
    assert "% of input from cache" in text
    assert "implement add [in_progress]" in text
    every = run("status", "--json").json()["features"][0]
    assert every["agent_todos"]["task"] == "T1.1"


@pytest.mark.process  # the project's git and its test command run as real processes
def test_config_default_estimate_feeds_session_todos(project: Project) -> None:
    project.scenario([{"answer": plan_answer()}], default_estimate_usd=0.42)
    assert run("init", FEATURE).code == 0
    assert run("plan", FEATURE, "plan it").code == 0
    [start] = [t for t in todos() if t["type"] == "start"]
    assert start["estimated_cost"] == 0.42 and start["estimate_basis"] == "config"


# -- gap 15: the first config.toml is written atomically ---------------------------------------


def test_write_new_file_is_atomic_and_never_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = tmp_path / "aio"
    tmp_path.mkdir()
    target = tmp_path / "config.toml"
    assert write_new_file(target, b"first\n")
    assert not write_new_file(target, b"second\n")
    assert target.read_bytes() == b"first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temp file left

    broken = tmp_path / "broken.toml"
    real_write = os.write

    def failing_write(fd: int, data: Any) -> int:
        real_write(fd, bytes(data)[:3])  # a partial write, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(OSError):
        write_new_file(broken, b"complete content\n")
    monkeypatch.undo()
    assert not broken.exists()  # never a partial config
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


@pytest.mark.process  # the project's git and its test command run as real processes
def test_init_keeps_an_existing_config(project: Project) -> None:
    (project.root / ".aio").mkdir()
    (project.root / ".aio" / "config.toml").write_text("fix_rounds = 5\n")
    result = run("init", FEATURE)
    assert result.code == 0 and "Wrote" not in result.err
    assert (project.root / ".aio" / "config.toml").read_text() == "fix_rounds = 5\n"
    assert project.history()[0]["duration_ms"] > 0


# -- docs/workflow.md's exit-code table and `verify --ci` without JUnit ------------------------


@pytest.mark.process  # the project's git and its test command run as real processes
def test_documented_refusals(project: Project, tmp_path: Path) -> None:
    init_and_plan(project, [])
    unknown = run("switch", "nosuch")
    assert unknown.code == 1 and "does not exist" in unknown.err
    assert (project.root / ".aio" / "current").read_text().strip() == FEATURE

    events = len(project.history())
    missing = run("review", "no/such/file.py")
    assert missing.code == 1 and "file not found: no/such/file.py" in missing.err
    assert interactions("review-calc") == []  # refused before any agent call
    assert len(project.history()) == events  # and a refusal writes no history

    busy_dir = tmp_path / "not-empty"
    busy_dir.mkdir()
    (busy_dir / "keep.txt").write_text("mine\n")
    demo = run("demo", "--dir", str(busy_dir))
    assert demo.code == 2 and "not empty" in demo.err
    assert [p.name for p in busy_dir.iterdir()] == ["keep.txt"]


@pytest.mark.process  # the project's git and its test command run as real processes
def test_verify_ci_without_junit_synthesises_the_xml(project: Project) -> None:
    init_and_plan(project, [])
    (project.root / "tests" / "__init__.py").write_text("")
    (project.root / "tests" / "test_u.py").write_text(
        "import unittest\n\n\nclass U(unittest.TestCase):\n"
        "    def test_ok(self):\n        pass\n\n    def test_bad(self):\n        self.fail()\n"
    )
    command = [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."]
    config = project.root / ".aio" / "config.toml"
    lines = config.read_text().splitlines()
    lines[0] = f"test_command = {json.dumps(command)}"
    config.write_text("\n".join(lines) + "\n")
    result = run("verify", "--ci", "--json")
    assert result.code == 1
    assert result.json()["tests"]["source"] == "summary"
    root = ElementTree.parse(project.feature_dir / "artifacts" / "test-results.xml").getroot()
    [suite] = root.findall("testsuite")
    assert root.tag == "testsuites" and suite.get("name") == FEATURE
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")

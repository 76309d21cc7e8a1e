"""End-to-end CLI runs of the whole workflow with the scripted agent and real pytest runs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from ai_orchestrator.workflow.demo import demo_test_command, scenario_path, write_demo_config
from tests.workflow.conftest import (
    ADD_IMPL,
    ADD_TEST,
    EVENT_KEYS,
    FEATURE,
    Project,
    init_and_plan,
    plan_answer,
    run,
)

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes


def test_demo_scenario_full_workflow(project: Project) -> None:
    """init → plan → tasks/next → implement ×2 (one fix round) → verify --ci → status."""
    assert run("init", FEATURE, "A tiny calculator").code == 0
    write_demo_config(project.root / ".aio" / "config.toml", demo_test_command())

    planned = run("plan", FEATURE, "Build it", "--json")
    assert planned.code == 0, planned.err
    assert [t["id"] for t in planned.json()["phases"][0]["tasks"]] == ["T1.1", "T1.2"]
    assert "plan-calc: started a new agent conversation" in planned.err.replace(" [plan]", "")

    nxt = run("next", "--json")  # current feature set by init
    assert nxt.json()["task"]["id"] == "T1.1"

    blocked = run("implement", FEATURE, "--task", "T1.2")
    assert blocked.code == 1 and "T1.1" in blocked.err and "--force" in blocked.err

    first = run("implement", FEATURE, "--task", "T1.1", "--json")
    assert first.code == 0, first.err
    runs = first.json()["test_runs"]
    assert [(r["label"], r["red"], r["green"]) for r in runs] == [
        ("red-1", True, False),
        ("green-1", False, True),
    ]
    assert runs[1]["source"] == "junit" and runs[1]["passed"] == 2
    assert "started a new agent conversation" in first.err

    second = run("implement", FEATURE, "--task", "T1.2", "--json")
    assert second.code == 0, second.err
    assert "resumed the agent conversation" in second.err
    assert [r["label"] for r in second.json()["test_runs"]] == ["red-1", "green-1", "green-2"]
    assert [s["step"] for s in second.json()["steps"]] == ["tests", "implement", "fix-1"]
    assert {s["session_action"] for s in second.json()["steps"]} == {"resumed"}

    artifacts = project.feature_dir / "artifacts"
    for name in ("T1.1/red-1.log", "T1.1/red-1.xml", "T1.2/green-1.log", "T1.2/green-2.xml"):
        assert (artifacts / name).is_file(), name

    tasks = run("tasks", "--json").json()
    assert tasks["counts"]["completed"] == 2 and tasks["next_task"] is None

    verified = run("verify", FEATURE, "--ci", "--json")
    assert verified.code == 0, verified.err
    assert verified.json()["tests"]["passed"] == 4
    suite = ElementTree.parse(artifacts / "test-results.xml").getroot()
    assert suite.tag == "testsuites"

    status = run("status", FEATURE, "--json").json()
    assert status["tasks"]["progress_percent"] == 100
    assert status["sessions"]["implement"]["interactions"] == 5
    assert status["sessions"]["plan"]["interactions"] == 1
    assert status["totals"]["tokens"]["cache_read"] > 0

    features = run("features", "--json").json()["features"]
    assert features[0]["feature_id"] == FEATURE and features[0]["current"]

    history = project.history()
    # The blocked T1.2 (dependency not completed) was refused: no event.
    assert [e["command"] for e in history] == ["init", "plan", "implement", "implement", "verify"]
    assert {e["status"] for e in history} == {"success"}
    for event in history:
        assert set(event) >= set(EVENT_KEYS)
        assert isinstance(event["duration_ms"], int)
    assert history[2]["task_id"] == "T1.1" and history[2]["session"] == "implement-calc"
    limited = run("history", "--limit", "1", "--command", "implement", "--json").json()
    assert [e["task_id"] for e in limited["events"]] == ["T1.2"]


def test_demo_command_runs_offline(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = run("demo", "--dir", str(target), timeout=300)
    assert result.code == 0, result.err
    assert "SCRIPTED" in result.out and "SCRIPTED" in result.err
    assert "Not using your SESSION_DIR" in result.err  # the test fixture sets one
    assert not any(Path(os.environ["SESSION_DIR"]).glob("*-calc-basics"))  # its own store
    assert (target / ".aio" / "demo" / "sessions" / "implement-calc-basics").is_dir()
    assert (target / "calc" / "basic.py").is_file()
    assert "implement-calc-basics" in result.out
    assert scenario_path().is_file()


def test_replan_keeps_statuses_and_resumes(project: Project) -> None:
    new_tasks = [
        {"id": "T1.1", "title": "Add (renamed)", "dependencies": []},
        {"id": "T1.3", "title": "Multiply", "dependencies": ["T1.1"]},
    ]
    init_and_plan(
        project,
        [
            {"edits": [ADD_TEST]},
            {"edits": [ADD_IMPL]},
            {"answer": plan_answer(new_tasks, prose=False)},
        ],
    )
    assert run("implement", "--task", "T1.1").code == 0
    replanned = run("plan", "add multiply", "--json")
    assert replanned.code == 0, replanned.err
    assert "resumed the agent conversation" in replanned.err
    assert project.task("T1.1")["status"] == "completed"
    assert project.task("T1.1")["title"] == "Add (renamed)"
    assert project.task("T1.3")["status"] == "pending"
    assert "T1.2" not in json.dumps(project.plan()["phases"])


def test_sessions_off_and_new_session(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    init_and_plan(
        project, [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL]}, {"answer": plan_answer()}]
    )
    monkeypatch.setenv("USE_SESSIONS", "false")
    result = run("implement", "--task", "T1.1")
    assert result.code == 0, result.err
    assert result.err.count("fresh conversation (sessions disabled by USE_SESSIONS)") == 2
    # the end-of-task summary: calls, their tokens (all four kinds) and cost, test runs
    summary = next(line for line in result.err.splitlines() if "Session summary:" in line)
    assert "2 agent calls · " in summary and " in / " in summary and "cache write" in summary
    assert "$" in summary or "unpriced" in summary
    assert "test run" in summary and "call(s)" not in summary
    # feature.yaml keeps the model the agent reported, and the agent apart: never its name
    feature = yaml.safe_load((project.feature_dir / "feature.yaml").read_text())
    assert feature["agent_in_use"] == "scripted"
    assert feature["model_in_use"] not in (None, "scripted"), feature
    status = run("status", FEATURE).out
    assert f"model: {feature['model_in_use']} (scripted)" in status
    monkeypatch.delenv("USE_SESSIONS")
    replaced = run("plan", "again", "--new-session")
    assert replaced.code == 0 and "replaced the stored agent conversation" in replaced.err

"""A broken feature never hides the others; a refused command leaves no trace in history;
``verify --agent`` refuses before running the suite when the agent is not installed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.workflow.conftest import (
    ADD_IMPL,
    ADD_TEST,
    FEATURE,
    Project,
    init_and_plan,
    interactions,
    plan_answer,
    run,
)

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes

PRICED = {"sonnet": {"input": 1000, "output": 100}}


def _one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    "corrupt",
    [b"description: [unclosed\nstatus: new\n", b"\xff\xfe not utf-8", b"- just\n- a list\n"],
    ids=["yaml", "encoding", "not-a-mapping"],
)
def test_a_corrupt_feature_yaml_is_named_and_skipped(project: Project, corrupt: bytes) -> None:
    init_and_plan(project, [])
    assert run("init", "broken", "Will break", "--no-switch").code == 0
    assert run("init", "other", "Still fine", "--no-switch").code == 0
    (project.root / ".aio" / "features" / "broken" / "feature.yaml").write_bytes(corrupt)

    for args in (("features",), ("status",), ("status", "--all")):
        shown = run(*args)
        assert shown.code == 0, (args, shown.err)
        assert "Traceback" not in shown.err
        assert FEATURE in shown.out and "other" in shown.out and "broken" not in shown.out
        [warning] = [x for x in shown.err.splitlines() if "broken" in x]
        assert warning.startswith("warning: feature broken skipped: ")
        assert "feature.yaml" in warning

        data = run(*args, "--json").json()
        assert [f["feature_id"] for f in data["features"]] == [FEATURE, "other"]
        [skipped] = data["unreadable"]
        assert skipped["feature_id"] == "broken" and "feature.yaml" in skipped["error"]

    alone = run("status", "broken")
    assert alone.code == 1
    assert "broken/feature.yaml" in _one_line_error(alone.err)
    assert run("status", "other", "--json").json()["description"] == "Still fine"


def test_refused_commands_write_no_history(project: Project, tmp_path: Path) -> None:
    steps = [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL]}]
    project.scenario([{"answer": plan_answer(), "usage": PRICED}, *steps])
    assert run("init", FEATURE).code == 0 and run("plan", FEATURE, "plan it").code == 0
    assert run("init", "unplanned", "--no-switch").code == 0
    history = project.feature_dir / "history.jsonl"
    unplanned = project.root / ".aio" / "features" / "unplanned" / "history.jsonl"
    before, before_unplanned = history.read_bytes(), unplanned.read_bytes()
    spent = run("status", FEATURE, "--json").json()["totals"]["cost"]
    assert spent > 0
    tiny = f"{spent / 2:.10f}"
    (project.root / "calc" / "present.py").write_text("x = 1\n")

    refusals = {
        ("implement", FEATURE, "--task", "T9.9"): 2,  # unknown task
        ("implement", FEATURE, "--task", "T1.2"): 1,  # T1.1 not completed
        ("implement", "unplanned", "--task", "T1.1"): 1,  # no plan yet
        ("implement", "nosuch", "--task", "T1.1"): 1,  # no such feature
        ("implement", FEATURE, "--task", "T1.1", "--max-cost", tiny): 3,
        ("plan", FEATURE, "again", "--max-cost", tiny): 3,
        ("review", FEATURE, "calc/present.py", "--max-cost", tiny): 3,
        ("review", FEATURE, "no/such/file.py"): 1,
        ("verify", FEATURE, "--agent", "--max-cost", tiny): 3,
        ("implement", FEATURE, "--task", "T1.1", "--agent", "bogus"): 2,
    }
    for args, code in refusals.items():
        result = run(*args)
        assert result.code == code, (args, result.err)
        _one_line_error(result.err)
    assert history.read_bytes() == before
    assert unplanned.read_bytes() == before_unplanned
    assert not (project.root / ".aio" / "features" / "nosuch").exists()
    assert project.task("T1.1")["status"] == "pending"
    assert interactions("implement-calc") == [] and interactions("review-calc") == []
    assert not (project.feature_dir / "artifacts" / "verify").exists()

    # Not refusals: a command that started records its event as before.
    done = run("implement", FEATURE, "--task", "T1.1")
    assert done.code == 0, done.err
    events = [json.loads(x) for x in history.read_text().splitlines()]
    assert [e["command"] for e in events] == ["init", "plan", "implement"]


def test_verify_agent_not_installed_refuses_before_the_tests(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_and_plan(project, [])
    marker = tmp_path / "suite-ran"
    config = project.root / ".aio" / "config.toml"
    lines = config.read_text().splitlines()
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]
    lines[0] = f"test_command = {json.dumps(command)}"
    config.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("AIO_AGENT_CLAUDE_EXECUTABLE", str(tmp_path / "no-such-claude"))
    events = len(project.history())

    for refused in (
        run("verify", FEATURE, "--agent", "--agent-name", "claude"),
        run("verify", "--agent", "claude"),  # --agent NAME, the current feature
    ):
        assert refused.code == 1, refused.err
        line = _one_line_error(refused.err)
        assert "claude" in line and "no-such-claude" in line and "no tests were run" in line
    assert not marker.exists()  # the test command never ran
    assert not (project.feature_dir / "artifacts" / "verify").exists()
    assert len(project.history()) == events

    plain = run("verify", FEATURE)  # without the agent check the test command runs
    assert marker.exists()
    # It runs no test, so the evidence rules make it COULD NOT RUN, never a pass.
    assert plain.code == 1 and "COULD NOT RUN" in plain.out, plain.out + plain.err


def test_a_bad_configured_model_is_a_refusal_for_every_phase(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model from the config or ``AI_MODEL`` that the backend would refuse stops plan,
    implement, review and ``verify --agent`` before they start: exit 2, no history event."""
    project.scenario([{"answer": plan_answer(), "usage": PRICED}])
    assert run("init", FEATURE).code == 0 and run("plan", FEATURE, "plan it").code == 0
    history = project.feature_dir / "history.jsonl"
    before = history.read_bytes()
    monkeypatch.setenv("AI_MODEL", "bad model; rm -rf /")
    for args in (
        ("plan", FEATURE, "again"),
        ("implement", FEATURE, "--task", "T1.1"),
        ("review", FEATURE),
        ("verify", FEATURE, "--agent"),
    ):
        result = run(*args)
        assert result.code == 2, (args, result.err)
        assert "model" in _one_line_error(result.err), result.err
    assert history.read_bytes() == before
    assert project.task("T1.1")["status"] == "pending"


def test_an_empty_feature_is_invalid_never_the_current_one(project: Project) -> None:
    """``''`` is not "FEATURE omitted": every command refuses it (exit 2) and writes nothing."""
    project.scenario([{"answer": plan_answer(), "usage": PRICED}])
    assert run("init", FEATURE).code == 0 and run("plan", FEATURE, "plan it").code == 0
    history = project.feature_dir / "history.jsonl"
    before = history.read_bytes()
    for args in (
        ("plan", "", "again"),
        ("tasks", ""),
        ("next", ""),
        ("implement", "", "--task", "T1.1"),
        ("review", ""),
        ("verify", ""),
        ("status", ""),
        ("history", ""),
    ):
        result = run(*args)
        assert result.code == 2, (args, result.err)
        assert "''" in _one_line_error(result.err), (args, result.err)
    assert history.read_bytes() == before
    assert interactions("plan-calc") and len(interactions("plan-calc")) == 1

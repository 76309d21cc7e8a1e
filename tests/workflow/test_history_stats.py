"""``aio history --model M --stats`` through the CLI with the scripted agent: events filtered
by the models they involved, and every recorded agent call of the feature counted by phase
and model with tokens, cost and outcomes."""

from __future__ import annotations

import pytest

from tests.workflow.conftest import ADD_IMPL, ADD_TEST, FEATURE, Project, init_and_plan, run

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes

USAGE = {"input": 100, "output": 10, "cache_read": 1000, "cache_write": 0}


def test_history_by_model_with_call_statistics(project: Project) -> None:
    init_and_plan(
        project,
        [
            {"answer": "tests", "edits": [ADD_TEST], "usage": {"scripted-big": USAGE}},
            {"answer": "done", "edits": [ADD_IMPL], "usage": {"scripted-big": USAGE}},
            {"outcome": "api_error", "error": "overloaded"},  # T1.2 with the default model
        ],
    )
    assert run("implement", FEATURE, "--task", "T1.1", "--model", "big").code == 0
    assert run("implement", FEATURE, "--task", "T1.2").code == 1

    everything = run("history", FEATURE, "--stats", "--json").json()
    commands = [e["command"] for e in everything["events"]]
    assert commands == ["init", "plan", "implement", "implement"]
    rows = {(r["phase"], r["model"]): r for r in everything["stats"]["rows"]}
    assert set(rows) == {
        ("plan", "scripted-sonnet"),
        ("implement", "scripted-big"),
        ("implement", "scripted-sonnet"),
    }
    big = rows[("implement", "scripted-big")]
    assert big["calls"] == 2 and big["outcomes"] == {"success": 2}
    assert big["tokens"] == {"input": 200, "output": 20, "cache_read": 2000, "cache_write": 0}
    assert rows[("implement", "scripted-sonnet")]["outcomes"] == {"error:api_error": 1}
    assert everything["stats"]["totals"]["calls"] == 4

    only_big = run("history", FEATURE, "--model", "BIG", "--stats", "--json").json()
    [event] = only_big["events"]
    assert event["command"] == "implement" and event["task_id"] == "T1.1"
    assert [(r["phase"], r["model"]) for r in only_big["stats"]["rows"]] == [
        ("implement", "scripted-big")
    ]
    assert only_big["stats"]["totals"]["calls"] == 2

    text = run("history", FEATURE, "--model", "big", "--stats")
    assert text.code == 0 and "Agent calls of calc by phase and model" in text.out
    assert "success 2" in text.out
    assert "stats" not in run("history", FEATURE, "--json").json()


def test_history_model_filter_refuses_an_empty_model(project: Project) -> None:
    init_and_plan(project, [])
    result = run("history", FEATURE, "--model", " ")
    assert result.code == 2 and "--model" in result.err

"""The agent's own todo list: folding TodoWrite-style replacements and TaskCreate/Update merges."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import aio_inprocess as aio
from tests.helpers import as_record, interaction

from ai_orchestrator.accounting.agent_todos import (
    NO_TASK,
    agent_todos_by_task,
    current_agent_todos,
    fold_events,
)
from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.core.names import SessionName
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.records import normalize_interaction


def write(*items: dict[str, Any], tool: str = "TodoWrite") -> dict[str, Any]:
    return {"tool": tool, "items": list(items), "replaces": True}


def create(content: str, ident: str | None = None, status: str = "pending") -> dict[str, Any]:
    item = {"content": content, "status": status}
    if ident is not None:
        item["id"] = ident
    return {"tool": "TaskCreate", "items": [item], "replaces": False}


def update(ident: str, status: str | None = None, content: str | None = None) -> dict[str, Any]:
    return {
        "tool": "TaskUpdate",
        "items": [{"id": ident, "content": content, "status": status}],
        "replaces": False,
    }


def item(content: str, status: str) -> dict[str, Any]:
    return {"content": content, "status": status}


def test_todowrite_replaces_the_whole_list() -> None:
    events = [
        write(item("A", "in_progress"), item("B", "pending")),
        write(item("B", "in_progress"), item("C", "pending")),
    ]
    assert fold_events(events) == [item("B", "in_progress"), item("C", "pending")]
    # an empty TodoWrite clears the list
    assert fold_events([*events, write()]) == []


def test_task_create_and_update_merge_by_id() -> None:
    events = [
        create("Write tests", "1"),
        create("Implement", "2"),
        update("1", status="completed"),  # content not given: kept
        update("2", content="Implement the parser"),  # status not given: kept
        create("Document", "3"),
        update("3", status="deleted"),
        update("9", status="deleted"),  # deleting an unknown task changes nothing
    ]
    assert fold_events(events) == [
        {"id": "1", "content": "Write tests", "status": "completed"},
        {"id": "2", "content": "Implement the parser", "status": "pending"},
    ]


def test_ids_compare_as_text_and_unknown_updates_are_kept() -> None:
    events = [create("A", "1"), {"tool": "TaskUpdate", "items": [{"id": 1, "status": "done"}]}]
    assert fold_events(events) == [{"id": "1", "content": "A", "status": "done"}]
    # an update for a task we never saw created is not dropped
    assert fold_events([update("7", status="in_progress")]) == [
        {"id": "7", "status": "in_progress"}
    ]
    # creates without an id (not yet known) are appended, never merged into each other
    assert len(fold_events([create("A"), create("A")])) == 2


def test_replace_after_merges_and_merges_after_replace() -> None:
    events = [
        create("old", "1"),
        write(item("fresh", "pending")),
        create("added", "5"),
        update("5", status="in_progress"),
    ]
    assert fold_events(events) == [
        item("fresh", "pending"),
        {"content": "added", "status": "in_progress", "id": "5"},
    ]


def test_replaces_flag_missing_is_inferred_from_the_tool() -> None:
    events = [
        {"tool": "write_todos", "items": [item("A", "pending")]},
        {"tool": "TaskCreate", "items": [item("B", "pending")]},
    ]
    assert fold_events(events) == [item("A", "pending"), item("B", "pending")]


def _typed(records: list[dict[str, Any]]) -> list[Interaction]:
    return [normalize_interaction(r, SessionName("run", "x")) for r in records]


def test_malformed_events_are_skipped_and_inputs_not_modified() -> None:
    records = [
        {"todos": [write(item("A", "pending")), "junk", {"tool": "TodoWrite", "items": "x"}]},
        {"todos": None},
        {},
        {"todos": [update("1", status="completed"), {"tool": "TaskUpdate", "items": [3]}]},
    ]
    before = copy.deepcopy(records)
    # the string items of the third event make it an empty replacement
    assert current_agent_todos(_typed(records)) == [{"id": "1", "status": "completed"}]
    assert records == before


def test_folding_record_by_record_equals_folding_all() -> None:
    records = [
        {"todos": [create("A", "1"), create("B", "2")]},
        {"todos": [update("1", status="completed")]},
        {"todos": [write(item("X", "pending")), create("C", "3")]},
        {"todos": [update("3", status="in_progress")]},
    ]
    step: list[dict[str, Any]] = []
    for record in records:
        step = fold_events(record["todos"], step)
    assert step == current_agent_todos(_typed(records))


def test_by_task_merges_the_features_sessions_in_time_order(session_dir: Path) -> None:
    store = SessionStore()
    store.record(
        as_record(
            "plan-auth",
            interaction(
                timestamp="2025-01-01T10:00:00Z",
                task_id="T1",
                todos=[create("Design", "1"), create("Build", "2")],
            ),
        )
    )
    store.record(
        as_record(
            "implement-auth",
            interaction(
                timestamp="2025-01-01T11:00:00Z", task_id="T1", todos=[update("1", "completed")]
            ),
        )
    )
    store.record(
        as_record(
            "plan-auth",
            interaction(
                timestamp="2025-01-01T12:00:00Z", task_id="T1", todos=[update("2", "in_progress")]
            ),
        )
    )
    store.record(
        as_record(
            "implement-auth", interaction(task_id="T2", todos=[write(item("T2 a", "pending"))])
        )
    )
    store.record(as_record("implement-auth", interaction(todos=[write(item("loose", "pending"))])))
    store.record(
        as_record("implement-auth", interaction(task_id="T3"))
    )  # no todo events: not listed
    store.record(
        as_record(
            "implement-authz", interaction(task_id="T1", todos=[write(item("other feature", "x"))])
        )
    )
    assert agent_todos_by_task(store, "auth") == {
        NO_TASK: [item("loose", "pending")],
        "T1": [
            {"id": "1", "content": "Design", "status": "completed"},
            {"id": "2", "content": "Build", "status": "in_progress"},
        ],
        "T2": [item("T2 a", "pending")],
    }
    assert agent_todos_by_task(store, "nothing") == {}
    with pytest.raises(InvalidInput):
        agent_todos_by_task(store, "Bad Feature")


SCENARIO = """\
model: scripted-sonnet
steps:
  - answer: "planned"
    usage: {scripted-sonnet: {input: 100, output: 20}}
    todos:
      - {content: "Write the test", status: in_progress}
      - {content: "Make it pass", status: pending}
  - answer: "done"
    usage: {scripted-sonnet: {input: 100, output: 20}}
    todos:
      - {content: "Write the test", status: completed}
      - {content: "Make it pass", status: completed}
      - {content: "Refactor", status: pending}
"""


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_scripted_run_then_todo_list_shows_the_agents_list(
    session_dir: Path, tmp_path: Path
) -> None:
    """End to end: todo events travel scripted agent → parser → store → `aio todo list`."""
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    work = tmp_path / "work"
    work.mkdir()
    store = SessionStore()
    options = CallOptions(
        agent="scripted", cwd=work, task_id="T1", extra_args=["--scenario", str(scenario)]
    )
    for prompt in ("plan it", "do it"):
        assert run_in_session(store, "implement-demo", prompt, options).result.ok
    data = aio("todo", "list", "--feature", "demo", "--json").json()
    assert data["agent_todos"] == {
        "T1": [
            {"content": "Write the test", "status": "completed"},
            {"content": "Make it pass", "status": "completed"},
            {"content": "Refactor", "status": "pending"},
        ]
    }
    human = aio("todo", "list", "--feature", "demo")
    assert human.code == 0
    assert "Agent todo list — task T1:" in human.out
    assert "✓ Write the test [completed]" in human.out and "○ Refactor [pending]" in human.out

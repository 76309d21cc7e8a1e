"""The agent's own todo list, rebuilt from the todo events stored with each interaction.

Every stored interaction may carry ``todos: [{tool, items, replaces}]`` — the todo tool
calls the agent made during that call, in order (``agents.base.TodoEvent``). The current
list is the fold of all those events, oldest first:

- ``replaces: true`` (Claude ``TodoWrite``, Gemini ``write_todos``, Codex ``todo_list``, the
  scripted ``todo``): the event's items *are* the whole list; everything before is dropped.
- ``replaces: false`` (Claude ``TaskCreate`` / ``TaskUpdate``): each item is merged by
  ``id``. An item whose id is already in the list updates it — only the fields the event
  gives (``None`` means "not given", so a status-only update keeps the content); status
  ``deleted`` removes it. An item without an id, or with an id not in the list, is
  appended (nothing the agent said is dropped; a ``deleted`` unknown item is ignored).
- An event without ``replaces`` is treated by its tool: ``TaskCreate``/``TaskUpdate``
  merge, every other tool replaces. Malformed events and items (not objects) are skipped.

Invariants: the fold is pure (inputs are never modified; returned items are fresh dicts),
and folding records one at a time gives the same list as folding them all at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ai_orchestrator.core.errors import NotFound, StoreError
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.core.names import parse_session_name, validate_feature_id
from ai_orchestrator.store import SessionStore

MERGING_TOOLS = ("TaskCreate", "TaskUpdate")
NO_TASK = "(no task)"  # the same label ``aio session stats --by task`` uses
DELETED = "deleted"


def _replaces(event: Mapping[str, Any]) -> bool:
    flag = event.get("replaces")
    if isinstance(flag, bool):
        return flag
    return event.get("tool") not in MERGING_TOOLS


def _items(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = event.get("items")
    if not isinstance(raw, list):
        return []
    return [dict(item) for item in raw if isinstance(item, Mapping)]


def _merge(items: list[dict[str, Any]], update: dict[str, Any]) -> None:
    ident = update.get("id")
    key = None if ident is None else str(ident)
    index = next(
        (i for i, item in enumerate(items) if key is not None and str(item.get("id")) == key),
        None,
    )
    if update.get("status") == DELETED:
        if index is not None:
            del items[index]
        return
    given = {k: v for k, v in update.items() if v is not None}
    if key is not None:
        given["id"] = key
    if index is None:
        items.append(given)
    else:
        items[index].update(given)


def apply_event(items: list[dict[str, Any]], event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The list after one todo event (a new list; ``items`` is not modified)."""
    if _replaces(event):
        return _items(event)
    result = [dict(item) for item in items]
    for update in _items(event):
        _merge(result, update)
    return result


def fold_events(
    events: Iterable[Mapping[str, Any]], start: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Fold todo events (``{tool, items, replaces}``) in order, from ``start`` (or empty)."""
    items = [dict(item) for item in start or []]
    for event in events:
        if isinstance(event, Mapping):
            items = apply_event(items, event)
    return items


def events_of(records: Iterable[Interaction]) -> list[Mapping[str, Any]]:
    """All todo events of ``records`` (interactions), in record order."""
    events: list[Mapping[str, Any]] = []
    for record in records:
        if record.todos is not None:
            events.extend(e for e in record.todos if isinstance(e, Mapping))
    return events


def current_agent_todos(records: Iterable[Interaction]) -> list[dict[str, Any]]:
    """The agent's todo list after the interactions ``records`` (given oldest first)."""
    return fold_events(events_of(records))


def agent_todos_by_task(
    store: SessionStore, feature_id: str, *, problems: list[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """``{task_id: current items}`` over every session of ``feature_id``.

    Interactions of all the feature's sessions (plan, implement, review …) are merged by
    timestamp — a task's list may be written in one phase and updated in the next — and
    grouped by ``task_id`` (``NO_TASK`` for interactions without one). Only tasks with at
    least one todo event appear. A session that cannot be read is skipped and described in
    ``problems`` (when given) so one bad directory does not hide the others.
    """
    validate_feature_id(feature_id)
    records: list[Interaction] = []
    for name in store.names():
        if parse_session_name(name).feature_id != feature_id:
            continue
        try:
            log = store.read_log(name)
        except (StoreError, NotFound, OSError) as exc:
            if problems is not None:
                problems.append(f"{name}: skipped: {exc}")
            continue
        records.extend(r for r in log.records if r.todos)
    # Stored timestamps are normalised ISO strings (they sort as text); sorted() is stable,
    # so records with equal timestamps keep their log order.
    records.sort(key=lambda r: r.timestamp)
    by_task: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        task = record.task_id or NO_TASK
        by_task[task] = fold_events(events_of([record]), by_task.get(task))
    return dict(sorted(by_task.items()))

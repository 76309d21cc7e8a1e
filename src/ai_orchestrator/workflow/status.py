"""``aio status`` / ``aio features``: a feature's progress, spend and activity as plain data.

Sources: ``feature.yaml`` (description, status, active task), ``plan.yaml`` (task counts),
``history.jsonl`` (command counts, failures, durations, recent events) and the session
store (per phase — ``plan``, ``implement``, ``review``, ``verify`` sessions of the feature —
interactions, tokens incl. cache writes, cost, savings, the number of **unpriced** calls
(a model the price table does not know: their cost is not a silent $0, it is unknown) and
the share of input served from cache, ``accounting.savings.cache_read_share``), and the
agent's own todo lists (``accounting.agent_todos``: the TodoWrite / write_todos / todo_list
calls, folded per task). ``agent_todos.task`` is the list shown by default: the active
task's, else the one of the newest history event with a task that has a list, else the
newest task that has one. ``last_activity`` is the newest of the feature's ``updated_at``,
its last history event and its sessions' last use; ``escalations`` lists the hand-overs of
a conversation to another model or agent (``details.escalation`` of history events, oldest
first, with the event's task and status); ``health`` is ``active`` (< 1 h),
``idle`` (< 24 h) or ``stale``. ``all_features`` skips (and names) a feature whose files
cannot be read. Pure reads: nothing is locked or written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ai_orchestrator.accounting.savings import cache_read_share
from ai_orchestrator.accounting.spend import FeatureSpend
from ai_orchestrator.core.errors import AioError
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra.timeutil import format_iso, parse_iso
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.index import SummaryIndex
from ai_orchestrator.store.stats import BILLED_TOKEN_KEYS
from ai_orchestrator.workflow.model.feature import load_feature, load_plan
from ai_orchestrator.workflow.project.history import read_events
from ai_orchestrator.workflow.project.workspace import Workspace


def session_rows(store: SessionStore) -> dict[str, list[Any]]:
    """Session rows of the store grouped by feature id (empty when there is no store)."""
    try:
        rows, _errors = SummaryIndex(store).rows()
    except Exception:  # a missing or unusable store must not break a status read
        return {}
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.feature_id, []).append(row)
    return grouped


def agent_todo_lists(
    store: SessionStore, feature_id: str, active_task: str | None, events: list[dict[str, Any]]
) -> dict[str, Any]:
    """``{task, items, by_task, problems}``: the agent's todo lists (see the docstring)."""
    from ai_orchestrator.accounting.agent_todos import agent_todos_by_task

    problems: list[str] = []
    try:
        by_task = agent_todos_by_task(store, feature_id, problems=problems)
    except Exception as exc:  # an unusable store must not break a status read
        return {"task": None, "items": [], "by_task": {}, "problems": [str(exc)]}
    shown = active_task if active_task in by_task else None
    if shown is None:
        recent = [e.get("task_id") for e in reversed(events) if e.get("task_id") in by_task]
        shown = str(recent[0]) if recent else (next(reversed(by_task)) if by_task else None)
    return {
        "task": shown,
        "items": by_task.get(shown, []) if shown else [],
        "by_task": by_task,
        "problems": problems,
    }


def _health(last: datetime | None, now: datetime) -> str:
    if last is None:
        return "unknown"
    idle = (now - last).total_seconds()
    return "active" if idle < 3600 else "idle" if idle < 86400 else "stale"


def _count_files(root: Path) -> int:
    """Files under ``root`` (the feature's ``artifacts/``), 0 when it is missing."""
    try:
        return sum(1 for p in root.rglob("*") if p.is_file())
    except OSError:
        return 0


def feature_status(
    ws: Workspace,
    feature_id: str,
    rows: dict[str, list[Any]] | None = None,
    *,
    recent: int = 5,
) -> dict[str, Any]:
    paths = ws.existing_feature(feature_id)
    feature = load_feature(paths)
    plan = load_plan(paths, required=False)
    counts = (
        plan.counts()
        if plan
        else {"total": 0, "pending": 0, "in_progress": 0, "completed": 0, "failed": 0}
    )
    events, bad_lines = read_events(paths.history_file)
    store = SessionStore()
    rows = session_rows(store) if rows is None else rows
    phases: dict[str, dict[str, Any]] = {}
    spend = FeatureSpend.of(rows.get(feature_id, []))
    moments = [parse_iso(feature.get("updated_at"))]
    for row in rows.get(feature_id, []):
        phases[row.command] = {
            "session": row.name,
            "interactions": row.interactions,
            "failed": row.failed,
            "tokens": {k: row.tokens.get(k, 0) for k in BILLED_TOKEN_KEYS},
            "cache_read_share": cache_read_share(row.tokens),
            "cost": round(row.cost, 6),
            "savings": round(row.savings, 6),
            "unpriced": row.unpriced,
            "last_activity": row.last_activity,
        }
        moments.append(parse_iso(row.last_activity))
    if events:
        moments.append(parse_iso(events[-1].get("timestamp")))
    known = [m for m in moments if m is not None]
    last = max(known) if known else None
    by_command: dict[str, int] = {}
    for event in events:
        name = str(event.get("command"))
        by_command[name] = by_command.get(name, 0) + 1
    durations = [int(e.get("duration_ms") or 0) for e in events]
    total = counts["total"]
    status = versioned({
        "feature_id": feature_id,
        "description": feature.get("description") or "",
        "status": feature.get("status"),
        "active_task": feature.get("active_task"),
        "model": feature.get("model_in_use"),
        "agent": feature.get("agent_in_use"),
        "created_at": feature.get("created_at"),
        "artifacts": _count_files(paths.artifacts),
        "last_activity": format_iso(last) if last else None,
        "health": _health(last, datetime.now(UTC)),
        "tasks": {
            **counts,
            "progress_percent": round(100 * counts["completed"] / total) if total else 0,
        },
        "next_task": (nt.id if plan and (nt := plan.next_task()) else None),
        "sessions": phases,
        "totals": {
            "interactions": spend.interactions,
            "tokens": dict(spend.tokens),
            "cache_read_share": cache_read_share(spend.tokens),
            "cost": round(spend.cost, 6),
            "savings": round(spend.savings, 6),
            "unpriced": spend.unpriced,
        },
        "agent_todos": agent_todo_lists(store, feature_id, feature.get("active_task"), events),
        "commands": {
            "total": len(events),
            "by_command": by_command,
            "failures": sum(1 for e in events if e.get("status") != "success"),
            "unreadable_lines": bad_lines,
        },
        "performance": {
            "total_duration_ms": sum(durations),
            "avg_duration_ms": round(sum(durations) / len(durations)) if durations else 0,
        },
        "escalations": escalations(events),
        "recent": [
            {k: e.get(k) for k in ("timestamp", "command", "task_id", "status", "duration_ms")}
            for e in events[-recent:]
        ],
    })
    origin = feature.get("origin")
    if isinstance(origin, dict):  # a templated or linked feature (``workflow.model.origin``)
        template = origin.get("template")
        status["origin"] = {
            "template": template.get("name") if isinstance(template, dict) else None,
            "linked_from": origin.get("linked_from"),
        }
    return status


def escalations(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lineage of every escalation in ``events`` (see the module docstring)."""
    found = []
    for event in events:
        details = event.get("details")
        lineage = details.get("escalation") if isinstance(details, dict) else None
        if isinstance(lineage, dict):
            found.append(
                {**lineage, "task_id": event.get("task_id"), "status": event.get("status")}
            )
    return found


def all_features(ws: Workspace) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Every readable feature's status, and ``{feature_id, error}`` for each feature whose
    files cannot be read (a corrupt ``feature.yaml`` or ``plan.yaml``): one broken feature is
    named and skipped, never fatal for the others."""
    rows = session_rows(SessionStore())
    current = ws.current()
    result = []
    unreadable = []
    for feature_id in ws.feature_ids():
        try:
            status = feature_status(ws, feature_id, rows, recent=1)
        except AioError as exc:
            unreadable.append({"feature_id": feature_id, "error": str(exc)})
            continue
        status["current"] = feature_id == current
        result.append(status)
    return result, unreadable

"""Session todos: one todo per agent call, with its estimated and actual cost.

This is the seed's ``track-session-todo`` done properly. ``start`` is called before an
agent call, ``todo_log.end`` (or ``error``) after it; ``report`` reads them back.

The log itself — file, record format, locking, reading, the fold into current state —
is ``store.todo_log``; this module decides what a todo says (its estimate) and reports
on them. ``report`` counts todos whose model has no price in ``unpriced`` and leaves them
out of the totals and the estimate accuracy: an unknown cost is never reported as $0.

Estimates (``estimate_cost``) are the median cost of earlier successful, priced calls of
the same phase (the session's command), the last ``SAMPLES`` (50) of each session — this
feature's first, else every feature's (its 20 sessions used last) —
then the caller's configured default (``default_estimate_usd``, 0 = none); with none of
these there is no estimate (``null``, basis ``none``), never a made-up figure. ``basis``
says which one was used. Estimates recorded by earlier versions from their built-in
guesses (basis ``constant``) are read as no estimate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ai_orchestrator.core.errors import InvalidInput, NotFound, StoreError
from ai_orchestrator.core.names import SessionName, as_session_name, validate_feature_id
from ai_orchestrator.core.names import session_name as make_session_name
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra.timeutil import format_iso, parse_iso
from ai_orchestrator.store import SessionStore, todo_log

ESTIMATE_BASES = ("feature", "all_features", "config", "none")
TOP_FEATURES = 5
SAMPLES = 50  # an estimate's samples per session: its most recent calls
TAIL_BYTES = 128 * 1024  # the first read of a log's tail (~70 calls of 1.8 kB)


def start(
    session_name: str | SessionName,
    feature_id: str | None,
    task_id: str | None,
    estimated_cost: float | None,
    agent: str | None,
    model: str | None,
    *,
    estimate_basis: str | None = None,
    default_estimate: float | None = None,
    store: SessionStore | None = None,
    path: Path | None = None,
) -> str:
    """Record the start of an agent call in ``session_name``; returns the new todo id.

    ``feature_id`` may be ``None`` (taken from the session name); if given it must match
    it. ``estimated_cost=None`` estimates it with ``estimate_cost`` (for the session's
    command and feature, ``default_estimate`` as the configured default) and records the
    basis; an explicit estimate is recorded with ``estimate_basis`` (default "caller").
    """
    session = as_session_name(session_name)  # parsed once, by the caller if it can
    if feature_id is not None and feature_id != session.feature_id:
        raise InvalidInput(
            f"feature {feature_id!r} does not match session {session.name} "
            f"(feature {session.feature_id!r})"
        )
    estimate = todo_log.check_money(estimated_cost, "estimated_cost")
    if estimate is None:
        estimate, estimate_basis = estimate_cost(
            store or SessionStore(), session.command, session.feature_id, default_estimate
        )
    return todo_log.append_start(
        session, task_id, agent, model, estimate, estimate_basis or "caller", path=path
    )


def parse_period(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``--since``/``--until`` as a half-open UTC range. A bare date ``YYYY-MM-DD`` means
    the whole day: ``until 2025-01-31`` includes everything on the 31st."""

    def one(value: str | None, what: str, *, end_of_day: bool) -> datetime | None:
        if value is None or not value.strip():
            return None
        moment = parse_iso(value)
        if moment is None:
            raise InvalidInput(f"{what} must be a date (YYYY-MM-DD) or ISO date-time: {value!r}")
        if end_of_day and len(value.strip()) == 10:
            moment += timedelta(days=1)
        return moment

    start_at = one(since, "--since", end_of_day=False)
    end_at = one(until, "--until", end_of_day=True)
    if start_at and end_at and end_at <= start_at:
        raise InvalidInput("--until must be later than --since")
    return start_at, end_at


def _in_period(todo: Mapping[str, Any], since: datetime | None, until: datetime | None) -> bool:
    if since is None and until is None:
        return True
    moment = parse_iso(todo["start_time"] or todo["first_seen"])
    if moment is None:
        return False
    return (since is None or moment >= since) and (until is None or moment < until)


def _accuracy(todos: list[dict[str, Any]]) -> dict[str, Any]:
    """How good the estimates were, over completed todos that have both figures.

    ``mape``: mean of |actual - estimate| / actual (calls that cost $0 are left out: the
    percentage is undefined). ``actual_to_estimate``: total actual / total estimate
    (above 1 means the estimates were too low).
    """
    from statistics import fmean  # lazily: ~5 ms to import, and only reports need it

    pairs = [
        (t["actual_cost"], t["estimated_cost"])
        for t in todos
        if t["status"] == "completed"
        and t["actual_cost"] is not None
        and t["estimated_cost"] is not None
    ]
    errors = [abs(actual - est) / actual for actual, est in pairs if actual > 0]
    total_est = sum(est for _, est in pairs)
    return {
        "todos": len(pairs),
        "mape": round(fmean(errors), 6) if errors else None,
        "mape_todos": len(errors),
        "actual_to_estimate": (
            round(sum(actual for actual, _ in pairs) / total_est, 6) if total_est > 0 else None
        ),
    }


def report(
    since: datetime | None = None, until: datetime | None = None, *, path: Path | None = None
) -> dict[str, Any]:
    """Totals over todos started in ``[since, until)`` (all when both are ``None``)."""
    target = path or todo_log.todo_file()
    log = todo_log.read_records(target)
    todos = [t for t in todo_log.fold(log.records) if _in_period(t, since, until)]
    by_status: dict[str, int] = {}
    features: dict[str, dict[str, Any]] = {}
    for todo in todos:
        by_status[todo["status"]] = by_status.get(todo["status"], 0) + 1
        key = todo["feature_id"] or "(unknown)"
        entry = features.setdefault(
            key,
            {
                "feature_id": key,
                "todos": 0,
                "actual_cost": 0.0,
                "estimated_cost": 0.0,
                "unpriced": 0,
            },
        )
        entry["todos"] += 1
        entry["unpriced"] += bool(todo["unpriced"])
        entry["actual_cost"] = round(entry["actual_cost"] + (todo["actual_cost"] or 0.0), 10)
        entry["estimated_cost"] = round(
            entry["estimated_cost"] + (todo["estimated_cost"] or 0.0), 10
        )
    top = sorted(features.values(), key=lambda f: (-f["actual_cost"], -f["todos"], f["feature_id"]))
    return versioned({
        "todo_file": str(target),
        "since": format_iso(since) if since else None,
        "until": format_iso(until) if until else None,
        "total": len(todos),
        "completed": by_status.get("completed", 0),
        "failed": by_status.get("failed", 0),
        "in_progress": by_status.get("in_progress", 0),
        "by_status": dict(sorted(by_status.items())),
        "total_actual_cost": round(sum(t["actual_cost"] or 0.0 for t in todos), 10),
        "unpriced": sum(1 for t in todos if t["unpriced"]),
        "total_estimated_cost": round(sum(t["estimated_cost"] or 0.0 for t in todos), 10),
        "estimated_todos": sum(1 for t in todos if t["estimated_cost"] is not None),
        "estimate_accuracy": _accuracy(todos),
        "top_features": top[:TOP_FEATURES],
        "unreadable_lines": log.unreadable_lines,
    })


# --------------------------------------------------------------------------- estimates


def _phase_costs(store: SessionStore, names: Iterable[str | SessionName]) -> list[float]:
    """Costs of the last ``SAMPLES`` successful, priced calls recorded in each session of
    ``names``. Only the log's tail is read (``TAIL_BYTES``, four times more while it holds
    too few): ``start`` runs before every agent call, and reading a session's whole log
    made each call's cost grow with the session's length."""
    costs: list[float] = []
    for name in names:
        limit = TAIL_BYTES
        while True:
            try:
                log = store.read_log(name, limit)
            except (StoreError, NotFound, InvalidInput, OSError):
                # an unreadable session contributes no sample; estimating must not fail on it
                found: list[float] = []
                break
            found = [
                float(r.cost)
                for r in log.records
                if r.outcome == "success" and r.cost_source != "unpriced"
            ][-SAMPLES:]
            if len(found) == SAMPLES or log.whole:
                break
            limit *= 4
        costs.extend(found)
    return costs


def _median(values: list[float]) -> float:
    """``statistics.median`` (the same value), without importing ``statistics`` (~5 ms) on
    every call that estimates a todo's cost."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def estimate_cost(
    store: SessionStore, command: str, feature_id: str, default: float | None = None
) -> tuple[float | None, str]:
    """``(estimate, basis)`` for the next ``command`` call of ``feature_id``.

    basis ``feature``: median of this feature's earlier successful priced calls of that
    phase; ``all_features``: the same over every feature; ``config``: ``default`` (the
    caller's configured value); ``none``: nothing to go by, no estimate (``None``).
    """
    own = make_session_name(command, validate_feature_id(feature_id))
    costs = _phase_costs(store, [own] if store.exists(own) else [])
    if costs:
        return round(_median(costs), 10), "feature"
    from ai_orchestrator.store.index import SummaryIndex

    rows, _errors = SummaryIndex(store).rows()
    # The 20 most recently used sessions of this phase are history enough, and keep the
    # estimate cheap on a store of thousands of sessions.
    candidates = [
        r
        for r in rows
        if r.command == command and r.name != own.name and r.interactions > r.unpriced
    ]
    candidates.sort(key=lambda r: r.last_activity or "", reverse=True)
    others = [r.name for r in candidates[:20]]
    costs = _phase_costs(store, others)
    if costs:
        return round(_median(costs), 10), "all_features"
    configured = todo_log.check_money(default, "default estimate")
    if configured is not None:
        return configured, "config"
    return None, "none"

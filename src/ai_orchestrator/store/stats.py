"""Aggregations over session rows: listing order, totals and breakdowns.

Totals, the active count and the top sessions come from the rows' numeric columns
(served by the summary index without parsing any file). Breakdowns by model read the
per-model buckets of each summary; by day or task they read the logs through
``records_of``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.interaction import TOKEN_KEYS, Interaction
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra.timeutil import format_iso
from ai_orchestrator.store.summary import add_reported, group_buckets

if TYPE_CHECKING:  # the index loads with the rows: the CLI imports this module for its keys
    from ai_orchestrator.store.index import SessionRow

SORT_KEYS = ("name", "date", "tokens", "cost")
GROUP_KEYS = ("model", "command", "feature", "day", "task", "lineage")
NO_LINEAGE = "(no lineage)"
DOCS = ("model", "lineage")  # groupings that read each session's summary document


def lineage_label(summary: Mapping[str, Any]) -> str:
    """A session's group under ``--by lineage``: ``fork:<parent session>``,
    ``summary:<parent session>``, ``template:<name>`` or ``(no lineage)``."""
    lineage = summary.get("lineage")
    if not isinstance(lineage, Mapping):
        return NO_LINEAGE
    method = str(lineage.get("method") or "unknown")
    parent = lineage.get("session") if method != "template" else lineage.get("template")
    return f"{method}:{parent}" if parent else method
TOP_N = 5
BILLED_TOKEN_KEYS = ("input", "output", "cache_read", "cache_write")
MAX_DAYS = 36500.0  # a century: any longer window is a typo, and dates overflow


def days_rule(allow_zero: bool = False) -> str:
    return f"a number of days {'from 0' if allow_zero else 'above 0'} up to {MAX_DAYS:g}"


def check_days(days: float, what: str = "days", *, allow_zero: bool = False) -> float:
    """``days`` if it is a usable window (finite, above 0 — or 0 if allowed — and at most
    a century), else ``InvalidInput`` saying what is allowed."""
    low_ok = days >= 0 if allow_zero else days > 0
    if not (math.isfinite(days) and low_ok and days <= MAX_DAYS):
        raise InvalidInput(f"{what} must be {days_rule(allow_zero)}, got {days:g}")
    return days


def total_tokens(tokens: Mapping[str, int]) -> int:
    """Input + output + cache read + cache write (reasoning is already inside output)."""
    return sum(int(tokens.get(k, 0)) for k in BILLED_TOKEN_KEYS)


def active_cutoff(days: float, now: datetime) -> str:
    """Stored timestamps are normalised ISO strings, so they compare as text."""
    return format_iso(now - timedelta(days=check_days(days)))


def sort_rows(rows: list[SessionRow], key: str) -> list[SessionRow]:
    """``name`` A→Z; ``date`` newest first; ``tokens`` and ``cost`` largest first."""
    if key not in SORT_KEYS:
        raise InvalidInput(f"unknown sort key {key!r}: use one of {', '.join(SORT_KEYS)}")
    if key == "name":
        return sorted(rows, key=lambda r: r.name)
    if key == "date":
        return sorted(rows, key=lambda r: (r.last_activity or "", r.name), reverse=True)
    if key == "tokens":
        return sorted(rows, key=lambda r: (-total_tokens(r.tokens), r.name))
    return sorted(rows, key=lambda r: (-r.cost, r.name))


def _empty_group() -> dict[str, Any]:
    return {
        "sessions": 0,
        "interactions": 0,
        "tokens": dict.fromkeys(TOKEN_KEYS, 0),
        "cost": 0.0,
        "savings": 0.0,
        "unpriced_interactions": 0,
        "cost_reported": 0.0,
        "cost_reported_by": [],
    }


def _add(group: dict[str, Any], interactions: int, bucket: Mapping[str, Any]) -> None:
    """Add a session's share: ``bucket`` has tokens, cost, savings, unpriced and the
    reported-only cost (``cost_reported``, ``cost_reported_by``)."""
    group["sessions"] += 1
    group["interactions"] += interactions
    for key in TOKEN_KEYS:
        group["tokens"][key] += int(bucket["tokens"].get(key, 0))
    group["cost"] = round(group["cost"] + float(bucket["cost"]), 10)
    group["savings"] = round(group["savings"] + float(bucket.get("savings") or 0.0), 10)
    group["unpriced_interactions"] += int(bucket.get("unpriced") or 0)
    add_reported(
        group, float(bucket.get("cost_reported") or 0.0), bucket.get("cost_reported_by") or [None]
    )


def breakdown(
    rows: Iterable[SessionRow],
    by: str,
    records_of: Callable[[str], list[Interaction]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Totals grouped by model, command, feature or lineage (from summaries), or by day or
    task (from the logs, read through ``records_of``)."""
    if by not in GROUP_KEYS:
        raise InvalidInput(f"unknown grouping {by!r}: use one of {', '.join(GROUP_KEYS)}")
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        if by in ("command", "feature", "lineage"):
            key = {"command": row.command, "feature": row.feature_id}.get(by) or lineage_label(
                row.summary
            )
            whole = {
                "tokens": row.tokens,
                "cost": row.cost,
                "savings": row.savings,
                "unpriced": row.unpriced,
                "cost_reported": row.reported,
                "cost_reported_by": row.reported_by,
            }
            _add(groups.setdefault(key, _empty_group()), row.interactions, whole)
            continue
        if by == "model":
            buckets = row.summary.get("by_model", {})
        else:
            if records_of is None:
                raise ValueError(f"grouping by {by} needs the interaction logs")
            buckets = group_buckets(records_of(row.name), by)
        for key, bucket in buckets.items():
            label = f"{row.feature_id}/{key}" if by == "task" else key
            _add(groups.setdefault(label, _empty_group()), int(bucket["interactions"]), bucket)
    return dict(sorted(groups.items()))


def compute_stats(
    rows: list[SessionRow],
    *,
    active_days: float = 30,
    by: str | None = None,
    records_of: Callable[[str], list[Interaction]] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store-wide totals, the active count and the top sessions by interactions."""
    from ai_orchestrator.store.index import SessionRow

    cutoff = active_cutoff(active_days, now or datetime.now(UTC))  # validates active_days
    col = SessionRow.columns(rows)  # sums in row order, as a loop over the rows would
    tokens = {k: sum(col[f"tok_{k}"]) for k in TOKEN_KEYS}
    total_input = tokens["input"] + tokens["cache_read"] + tokens["cache_write"]
    top = heapq.nsmallest(TOP_N, rows, key=lambda r: (-r.interactions, r.name))
    result: dict[str, Any] = versioned({
        "total_sessions": len(rows),
        "active_sessions": sum(1 for last in col["last_activity"] if (last or "") > cutoff),
        "active_days": active_days,
        "interactions": sum(col["interactions"]),
        "failed_interactions": sum(col["failed"]),
        "unpriced_interactions": sum(col["unpriced"]),
        "cost_reported": round(sum(col["reported"]), 10),
        "cost_reported_by": sorted({a for r in rows for a in r.reported_by}),
        "tokens": {**tokens, "total": total_tokens(tokens)},
        "cost": round(sum(col["cost"]), 10),
        "cache_savings": round(sum(col["savings"]), 10),
        "cache_read_share": round(tokens["cache_read"] / total_input, 4) if total_input else 0.0,
        "sessions_with_problems": sum(1 for r in rows if r.problems),
        "most_active": [
            {"session_name": r.name, "interactions": r.interactions}
            for r in top
            if r.interactions > 0
        ],
    })
    if by:
        result["by"] = by
        result["groups"] = breakdown(rows, by, records_of)
    return result

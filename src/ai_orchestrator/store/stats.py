"""Aggregations over session rows: listing order, totals and breakdowns.

Totals, the active count and the top sessions come from the rows' numeric columns
(served by the summary index without parsing any file). Breakdowns by model read the
per-model buckets of each summary (its typed view, ``store.summary_view``); by day or
task they read the logs through ``records_of``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.interaction import TOKEN_KEYS, Interaction
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra.timeutil import format_iso
from ai_orchestrator.store.summary import add_reported, group_buckets

if TYPE_CHECKING:  # the index loads with the rows: the CLI imports this module for its keys
    from ai_orchestrator.store.index import SessionRow
    from ai_orchestrator.store.summary_view import BucketView

SORT_KEYS = ("name", "date", "tokens", "cost")
GROUP_KEYS = ("model", "command", "feature", "day", "task", "lineage")
DOCS = ("model", "lineage")  # groupings that read each session's summary document
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


def _add(group: dict[str, Any], bucket: BucketView) -> None:
    """Add a session's share: its interactions, tokens, cost, savings, unpriced calls and
    reported-only cost (``cost_reported``, ``cost_reported_by``)."""
    group["sessions"] += 1
    group["interactions"] += bucket.interactions
    tokens = group["tokens"]
    for key, n in zip(TOKEN_KEYS, bucket.tokens.counts(), strict=True):
        tokens[key] += n
    group["cost"] = round(group["cost"] + bucket.cost, 10)
    group["savings"] = round(group["savings"] + bucket.savings, 10)
    group["unpriced_interactions"] += bucket.unpriced
    reported = bucket.cost_reported
    if not reported <= 0:  # as ``add_reported`` tests it (the call costs on 50,000 buckets)
        add_reported(group, reported, bucket.cost_reported_by or [None])


def _group(groups: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
    """``groups[key]``, an empty group made only the first time (not one per row)."""
    group = groups.get(key)
    if group is None:
        group = groups[key] = _empty_group()
    return group


def breakdown(
    rows: Iterable[SessionRow],
    by: str,
    records_of: Callable[[str], list[Interaction]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Totals grouped by model, command, feature or lineage (from summaries), or by day or
    task (from the logs, read through ``records_of``)."""
    if by not in GROUP_KEYS:
        raise InvalidInput(f"unknown grouping {by!r}: use one of {', '.join(GROUP_KEYS)}")
    # imported here, as the index: msgspec costs a plain listing or totals 40 ms
    from ai_orchestrator.store.summary_view import BucketView, TokenCounts

    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        if by in ("command", "feature", "lineage"):
            key = {"command": row.command, "feature": row.feature_id}.get(by) or (
                row.view.lineage_label()
            )
            whole = BucketView(
                row.interactions,
                TokenCounts(*row.token_counts),
                row.cost,
                row.savings,
                row.unpriced,
                row.reported,
                tuple(row.reported_by),
            )
            _add(_group(groups, key), whole)
            continue
        if by == "model":
            buckets = row.view.by_model
        else:
            if records_of is None:
                raise ValueError(f"grouping by {by} needs the interaction logs")
            buckets = {
                k: BucketView.of(b) for k, b in group_buckets(records_of(row.name), by).items()
            }
        for key, bucket in buckets.items():
            _add(_group(groups, f"{row.feature_id}/{key}" if by == "task" else key), bucket)
    return dict(sorted(groups.items()))


@dataclass
class Totals:
    """Store-wide sums over some rows (``totals_of``, or SQL over the index's rows:
    ``store.index_query.totals``); two parts of one store add up with ``+``."""

    sessions: int = 0
    active: int = 0
    interactions: int = 0
    failed: int = 0
    unpriced: int = 0
    tokens: tuple[int, ...] = (0,) * len(TOKEN_KEYS)
    cost: float = 0.0
    savings: float = 0.0
    reported: float = 0.0
    reported_by: frozenset[str] = frozenset()
    with_problems: int = 0
    top: tuple[tuple[str, int], ...] = ()  # (name, interactions), most first, TOP_N at most

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.sessions + other.sessions,
            self.active + other.active,
            self.interactions + other.interactions,
            self.failed + other.failed,
            self.unpriced + other.unpriced,
            tuple(a + b for a, b in zip(self.tokens, other.tokens, strict=True)),
            self.cost + other.cost,
            self.savings + other.savings,
            self.reported + other.reported,
            self.reported_by | other.reported_by,
            self.with_problems + other.with_problems,
            _top(self.top + other.top),
        )


def _top(pairs: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    return tuple(heapq.nsmallest(TOP_N, pairs, key=lambda p: (-p[1], p[0])))


def totals_of(rows: Sequence[SessionRow], cutoff: str) -> Totals:
    """The sums over ``rows`` (``cutoff``: ``active_cutoff``)."""
    from ai_orchestrator.store.index import SessionRow

    col = SessionRow.columns(rows)  # sums in row order, as a loop over the rows would
    return Totals(
        sessions=len(rows),
        active=sum(1 for last in col["last_activity"] if (last or "") > cutoff),
        interactions=sum(col["interactions"]),
        failed=sum(col["failed"]),
        unpriced=sum(col["unpriced"]),
        tokens=tuple(sum(col[f"tok_{k}"]) for k in TOKEN_KEYS),
        cost=sum(col["cost"]),
        savings=sum(col["savings"]),
        reported=sum(col["reported"]),
        reported_by=frozenset(a for r in rows for a in r.reported_by),
        with_problems=sum(1 for r in rows if r.problems),
        top=_top((r.name, r.interactions) for r in rows),
    )


def stats_document(totals: Totals, active_days: float) -> dict[str, Any]:
    """``stats --json`` without a grouping: the document of ``totals``."""
    tokens = dict(zip(TOKEN_KEYS, totals.tokens, strict=True))
    total_input = tokens["input"] + tokens["cache_read"] + tokens["cache_write"]
    return versioned({
        "total_sessions": totals.sessions,
        "active_sessions": totals.active,
        "active_days": active_days,
        "interactions": totals.interactions,
        "failed_interactions": totals.failed,
        "unpriced_interactions": totals.unpriced,
        "cost_reported": round(totals.reported, 10),
        "cost_reported_by": sorted(totals.reported_by),
        "tokens": {**tokens, "total": total_tokens(tokens)},
        "cost": round(totals.cost, 10),
        "cache_savings": round(totals.savings, 10),
        "cache_read_share": round(tokens["cache_read"] / total_input, 4) if total_input else 0.0,
        "sessions_with_problems": totals.with_problems,
        "most_active": [
            {"session_name": name, "interactions": n} for name, n in totals.top if n > 0
        ],
    })


def compute_stats(
    rows: list[SessionRow],
    *,
    active_days: float = 30,
    by: str | None = None,
    records_of: Callable[[str], list[Interaction]] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store-wide totals, the active count and the top sessions by interactions."""
    cutoff = active_cutoff(active_days, now or datetime.now(UTC))  # validates active_days
    result = stats_document(totals_of(rows, cutoff), active_days)
    if by:
        result["by"] = by
        result["groups"] = breakdown(rows, by, records_of)
    return result

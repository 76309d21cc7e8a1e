"""Reports over the usage index as plain data: daily, weekly, monthly, session, blocks.

``report(conn, kind, Filters, by)`` → one JSON-able document::

    {"schema_version": 1, "report": kind, "by": by | null, "rows": [...], "totals": {...}}

Every row and ``totals`` carry ``input``, ``output``, ``cache_read``, ``cache_write``,
``reasoning``, ``cost``, ``requests``, plus ``unpriced_requests`` (requests no price was
known for: their cost is not in ``cost``) and ``reported_cost`` (the part of ``cost`` that
is only the agent's own figure), and ``cost_complete`` (both zero): a cost is never shown
as a plain figure when it is not one. Counted are the index's rows that are not covered by
an aio call already counted (``covered``) and not sidechain replays (``replay``): aio's own
calls count once, as aio recorded them.

Periods are local dates (the process's time zone): ``daily`` ``YYYY-MM-DD``, ``weekly``
the Monday that starts the ISO week, ``monthly`` ``YYYY-MM``. ``session``: one row per
(agent, agent session id), subagents inside their parent. ``blocks``: 5-hour windows as
ccusage counts them (a block starts at its first request's UTC hour; a request more than
5 hours after the block's start or after the previous request starts a new one).
``--by`` splits each row by agent, model, project, branch, feature or task.
A period report adds up its rows in two steps: the counted requests grouped by period and
grain (agent, feature, model, what ``--by`` reads, ``cost_source``), then those groups per
row; ``period_reports`` builds several reports of one grain from one pass (``aio report``'s
four per-day documents), the same documents to the last bit.

Filters: ``since``/``until`` local dates (inclusive), ``agent``, ``project`` (the full
path, or its last component(s)), ``feature`` (the feature id a request is attributed to).
``docs/usage.md`` maps the fields to ccusage's JSON.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ai_orchestrator.core.schema import versioned
from ai_orchestrator.usage.rollup import (
    COUNTED,
    GRAIN,
    GROUP_SUMS,
    LOCAL,
    ROWS,
    SPLITS,
    SUMS,
    groups_source,
)

SCHEMA_VERSION = 1
KINDS = ("daily", "weekly", "monthly", "session", "blocks")
BY = ("agent", "model", "project", "branch", "feature", "task")
BLOCK_HOURS = 5

_PERIOD = {
    "daily": f"date({LOCAL})",
    "weekly": f"date({LOCAL}, 'weekday 0', '-6 days')",
    "monthly": f"strftime('%Y-%m', {LOCAL})",
}
_BY_EXPR = {
    **SPLITS,
    "project": "coalesce(project, '')",
    "branch": "coalesce(branch, '')",
    "task": "coalesce(feature, '') || ':' || coalesce(task, '')",
}
_SUMS = SUMS
_GROUP_SUMS = GROUP_SUMS  # the columns ``_SUMS`` reads, summed per group by ``period_reports``


@dataclass(frozen=True)
class Filters:
    """What a report counts (all optional)."""

    since: date | None = None
    until: date | None = None
    agent: str | None = None
    project: str | None = None
    feature: str | None = None


def parse_day(text: str) -> date:
    """``YYYYMMDD`` or ``YYYY-MM-DD``; ``ValueError`` otherwise."""
    cleaned = text.strip()
    if len(cleaned) == 8 and cleaned.isdigit():
        cleaned = f"{cleaned[:4]}-{cleaned[4:6]}-{cleaned[6:]}"
    return date.fromisoformat(cleaned)


def local_ms(day: date) -> int:
    """Milliseconds since the epoch at the start of ``day`` in the local time zone."""
    return int(time.mktime(datetime(day.year, day.month, day.day).timetuple()) * 1000)


def where(filters: Filters) -> tuple[str, dict[str, Any]]:
    """The SQL condition and parameters of ``filters`` (counted rows only)."""
    clauses = [COUNTED]
    params: dict[str, Any] = {}
    if filters.since is not None:
        clauses.append("ts >= :since")
        params["since"] = local_ms(filters.since)
    if filters.until is not None:
        clauses.append("ts < :until")
        params["until"] = local_ms(filters.until + timedelta(days=1))
    if filters.agent:
        clauses.append("agent = :agent")
        params["agent"] = filters.agent
    if filters.project:
        clauses.append("(project = :project OR project LIKE '%/' || :project)")
        params["project"] = filters.project.rstrip("/")
    if filters.feature:
        clauses.append("feature = :feature")
        params["feature"] = filters.feature
    return " AND ".join(clauses), params


def _figures(values: Sequence[Any]) -> dict[str, Any]:
    """The figures of one row or total from ``_SUMS``' nine sums (``None``: nothing summed).
    Spelt out: a daily report by feature makes 10,000 of these."""
    i, o, cr, cw, rs, cost, req, unpriced, reported = values
    unpriced, reported = int(unpriced or 0), round(float(reported or 0), 10)
    return {
        "input": int(i or 0), "output": int(o or 0), "cache_read": int(cr or 0),
        "cache_write": int(cw or 0), "reasoning": int(rs or 0),
        "cost": round(float(cost or 0), 10), "requests": int(req or 0),
        "unpriced_requests": unpriced, "reported_cost": reported,
        "cost_complete": unpriced == 0 and reported == 0,
    }  # fmt: skip


def totals(conn: sqlite3.Connection, filters: Filters) -> dict[str, Any]:
    condition, params = where(filters)
    row = conn.execute(f"SELECT {_SUMS} FROM req WHERE {condition}", params).fetchone()
    return _figures(tuple(row))


def _period_rows(
    conn: sqlite3.Connection, kind: str, by: str | None, grouped: str | None,
    params: dict[str, Any],
) -> list[dict[str, Any]]:  # fmt: skip
    """The rows of a period report, added up from ``grouped`` (``period_reports``: the
    filtered rows already grouped by period ``p`` and grain; ``params`` its parameters),
    or (``grouped`` None) as the rollup holds them already added up (``rollup.ROWS``)."""
    split = f", {_BY_EXPR[by]}" if by else ", NULL"
    sql = (
        f"SELECT p{split} AS b, {_SUMS}, group_concat(DISTINCT model)"
        f" FROM {grouped} GROUP BY p, b ORDER BY p, b"
    ) if grouped else ROWS  # fmt: skip
    if grouped is None:
        params = {"split": by or ""}
    label = {"daily": "date", "weekly": "week", "monthly": "month"}[kind]
    rows = []
    for record in conn.execute(sql, params):
        row: dict[str, Any] = {label: record[0]}
        if by:
            row[by] = record[1] or None
        row.update(_figures(record[2:11]))
        row["models"] = sorted(set(record[11].split(",")) - {""}) if record[11] else []
        rows.append(row)
    return rows


def _session_rows(
    conn: sqlite3.Connection, filters: Filters, by: str | None
) -> list[dict[str, Any]]:
    condition, params = where(filters)
    split = f", {_BY_EXPR[by]}" if by else ", NULL"
    sql = (
        "SELECT agent, coalesce(session, aio_session, key) AS s"
        f"{split} AS b, {_SUMS}, group_concat(DISTINCT model), min(ts), max(ts),"
        " max(project), max(branch), max(feature), max(task)"
        f" FROM req WHERE {condition} GROUP BY agent, s, b ORDER BY min(ts), agent, s, b"
    )
    rows = []
    for record in conn.execute(sql, params):
        row: dict[str, Any] = {"agent": record[0], "session": record[1]}
        if by:
            row[by] = record[2] or None
        row.update(_figures(tuple(record[3:12])))
        row["models"] = sorted(set((record[12] or "").split(",")) - {""})
        row["first"] = _iso(record[13])
        row["last"] = _iso(record[14])
        row.update(project=record[15], branch=record[16], feature=record[17], task=record[18])
        rows.append(row)
    return rows


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000).astimezone().isoformat(timespec="seconds")


def _block_rows(conn: sqlite3.Connection, filters: Filters, now_ms: int) -> list[dict[str, Any]]:
    condition, params = where(filters)
    sql = (
        "SELECT ts, input, output, cache_read, cache_write_5m + cache_write_1h, reasoning,"
        " CASE WHEN cost_source = 'unpriced' THEN 0 ELSE cost END, requests,"
        " CASE WHEN cost_source = 'unpriced' THEN requests ELSE 0 END,"
        " CASE WHEN cost_source = 'reported' THEN cost ELSE 0 END, model"
        f" FROM req WHERE {condition} ORDER BY ts"
    )
    span = BLOCK_HOURS * 3_600_000
    blocks: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    last_ts = 0
    for record in conn.execute(sql, params):
        ts = record[0]
        if current is None or ts - current["_start"] > span or ts - last_ts > span:
            start = ts - ts % 3_600_000
            current = {"_start": start, "_sums": [0] * 9, "_models": set()}
            blocks.append(current)
        sums = current["_sums"]
        for i, value in enumerate(record[1:10]):
            sums[i] += value or 0
        current["_models"].add(record[10])
        current["_last"] = last_ts = ts
    rows = []
    for block in blocks:
        start, end = block["_start"], block["_start"] + span
        row: dict[str, Any] = {
            "start": _iso(start),
            "end": _iso(end),
            "last_request": _iso(block["_last"]),
            "active": start <= now_ms < end,
        }
        row.update(_figures(tuple(block["_sums"])))
        row["models"] = sorted(block["_models"])
        minutes = max(1.0, (block["_last"] - start) / 60_000)
        if row["active"]:
            row["burn_rate_cost_per_hour"] = round(row["cost"] / minutes * 60, 6)
            row["projected_cost"] = round(row["cost"] / minutes * BLOCK_HOURS * 60, 6)
        rows.append(row)
    return rows


def report(
    conn: sqlite3.Connection,
    kind: str,
    filters: Filters,
    by: str | None = None,
    *,
    now_ms: int | None = None,
) -> dict[str, Any]:
    """The report document (see the module docstring)."""
    if kind in _PERIOD:
        return period_reports(conn, kind, filters, [by])[by]
    if kind == "session":
        rows = _session_rows(conn, filters, by)
    else:
        rows = _block_rows(conn, filters, now_ms if now_ms is not None else int(time.time() * 1000))
    return _document(kind, by, filters, rows, totals(conn, filters))


def _document(
    kind: str, by: str | None, filters: Filters, rows: list[dict[str, Any]],
    total: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    return versioned({
        "report": kind,
        "by": by,
        "filters": {
            "since": filters.since.isoformat() if filters.since else None,
            "until": filters.until.isoformat() if filters.until else None,
            "agent": filters.agent,
            "project": filters.project,
            **({"feature": filters.feature} if filters.feature else {}),
        },
        "rows": rows,
        "totals": total,
    })


_GROUPED = "temp.period_groups"
_KEPT_BYS = {None, *SPLITS}
_BY_COLUMNS = {
    "agent": ("agent",), "model": ("model",), "project": ("project",), "branch": ("branch",),
    "feature": ("feature",), "task": ("feature", "task"),
}  # fmt: skip
_GRAIN = GRAIN[:-1]
"""What a period report's first grouping always splits by (with ``cost_source``)."""


def _grain(by: str | None) -> tuple[str, ...]:
    """The columns the first grouping of a ``by`` report splits by: ``_GRAIN``, those
    ``by`` reads, and ``cost_source``. Reports with the same grain add up the same groups
    in the same order, so their figures are equal to the last bit."""
    return (*sorted(set(_GRAIN).union(_BY_COLUMNS[by] if by else ())), "cost_source")


def period_reports(
    conn: sqlite3.Connection, kind: str, filters: Filters, bys: Sequence[str | None]
) -> dict[str | None, dict[str, Any]]:
    """``report(conn, kind, filters, by)`` for each ``by`` of ``bys`` (a period ``kind``)
    with one pass over the index per grain (``_grain``: the by-agent, by-model and
    by-feature reports share one). A pass groups the counted rows by period and grain
    into a temporary table; each report adds up those groups (``report`` itself is this
    with one ``by``, so the documents are the same to the last bit: a sum of group sums
    rounds no worse than one long sum). The daily groups of that shared grain are the
    rollup's (``usage.rollup``) when it holds exactly them: no pass at all. Everything is
    read in one read transaction: one state of the index, even while a sync writes."""
    condition, params = where(filters)
    sums = ", ".join(f"sum({c}) AS {c}" for c in _GROUP_SUMS)
    docs: dict[str | None, dict[str, Any]] = {}
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        total = totals(conn, filters)
        for grain in dict.fromkeys(_grain(by) for by in bys):
            kept = (
                groups_source(conn, agent=filters.agent, feature=filters.feature)
                if grain == GRAIN and kind == "daily"
                and not (filters.since or filters.until or filters.project)
                else None
            )
            if kept is None:
                keys = ", ".join(grain)
                conn.execute(f"DROP TABLE IF EXISTS {_GROUPED}")
                conn.execute(
                    f"CREATE TABLE {_GROUPED} AS SELECT {_PERIOD[kind]} AS p, {keys}, {sums}"
                    f" FROM req WHERE {condition} GROUP BY p, {keys}",
                    params,
                )
            grouped, grouped_params = kept or (_GROUPED, {})
            try:
                for by in bys:
                    if _grain(by) == grain:
                        # no agent or feature filter: the rollup's rows of every request
                        whole = kept is not None and not grouped_params and by in _KEPT_BYS
                        source = None if whole else grouped
                        rows = _period_rows(conn, kind, by, source, grouped_params)
                        docs[by] = _document(kind, by, filters, rows, dict(total))
            finally:
                conn.execute(f"DROP TABLE IF EXISTS {_GROUPED}")
    finally:
        if own and conn.in_transaction:
            conn.execute("COMMIT")
    return docs


def cost_by(
    conn: sqlite3.Connection, column: str, features: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Counted figures of the agents' own sessions (origin ``t``: outside aio's calls) per
    ``feature`` or ``branch`` — what ``aio status``/``session stats`` add. With ``features``,
    each named feature also gets the unattributed rows whose branch is named after it
    (``<id>`` or ``…/<id>``), so a feature aio has no session of yet still finds them."""
    if features is not None:
        out = {}
        for feature in features:
            row = conn.execute(
                f"SELECT {_SUMS} FROM req WHERE {COUNTED} AND origin = 't' AND (feature = :f"
                " OR (feature IS NULL AND (branch = :f OR branch LIKE '%/' || :f)))",
                {"f": feature},
            ).fetchone()
            if row[6]:
                out[feature] = _figures(tuple(row))
        return out
    expr = {"feature": "feature", "branch": "branch"}[column]
    sql = (
        f"SELECT {expr}, {_SUMS} FROM req WHERE {COUNTED} AND origin = ? AND {expr} IS NOT NULL"
        f" GROUP BY {expr}"
    )
    return {str(r[0]): _figures(tuple(r[1:])) for r in conn.execute(sql, ("t",))}

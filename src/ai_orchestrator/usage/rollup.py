"""The per-day rollup of the usage index: its counted requests summed per local date and
(agent, feature, model, cost source), kept by ``usage sync``, so that the daily reports
(``aio usage daily [--by agent|model|feature]`` and ``aio report``'s four per-day
documents) add up the groups instead of grouping every request again.

Tables (in the usage index, made by the first ``refresh``; an index without them simply
has no rollup — that is the migration path: nothing is misread, the next sync builds it)
    ``day_groups``: ``p`` (local date, ``DAY``), ``agent``, ``feature``, ``model``,
    ``cost_source`` and the sums of ``GROUP_SUMS`` — exactly the groups ``reports`` makes of
    the counted requests (``COUNTED``) for a daily report with no date or project filter.
    ``day_rows``: the rows of the daily reports by nothing, agent, model and feature
    (``SPLITS``) of every counted request, added up from ``day_groups`` as ``reports`` does
    (read by ``ROWS``: a report without a filter adds up nothing at all).
    ``rollup``: one row, ``gen`` (the index generation, ``meta.gen``, the groups are of) and
    ``zone``: the time zone their dates are in (``zone()``), after the layout's ``VERSION``
    (a rollup of another version or zone is rebuilt, and not read until then).
    ``req_moved``: the time a request had before an update moved it (or before it was
    deleted), written by triggers on ``req`` — so every writer, an older aio's too, leaves
    the trace — and emptied by ``refresh``: the old day of a moved request is summed again.

Kept: ``refresh(conn)`` at the end of every sync, under its lock, in one transaction. No
rollup, or one of another time zone or version (or a request SQLite cannot date): built
from every counted request. Else the days of the
requests of newer generations (a sync stamps ``gen`` on every row it writes or settles) and
of ``req_moved`` are summed again from their requests — read in rowid order, as a full build
reads them, so a group's floating-point sum is the same whichever way it was made. A
failure (locked, full or read-only disk) leaves the rollup stale, never wrong: readers then
group the requests themselves.

Read: ``groups_source(conn, agent=, feature=)``, inside the read transaction that reads
the groups: the rollup's groups (of the agent, the feature) when it holds what the requests
say right now in this process's time zone — its generation is the index's, no request is of
a later one (a sync under way, or killed before it settled), nothing moved since, same zone
and version — else ``None``. ``reports`` asks only for a daily report without
``since``/``until``/``project`` (those filter requests by time or path, not by a group's
columns); without an agent or feature either, it reads ``day_rows`` (``ROWS``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from datetime import date
from typing import Any

from ai_orchestrator.core import env

# What a request counts for, and how the reports date it (``reports`` uses these).
COUNTED = "covered IS NULL AND replay = 0"
LOCAL = "datetime(ts / 1000, 'unixepoch', 'localtime')"
DAY = f"date({LOCAL})"
# The columns a period report sums per group, and the grain the rollup keeps (with
# ``cost_source``): ``reports._grain`` of a daily report by nothing, agent, model or feature.
GROUP_SUMS = (
    "input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning", "cost",
    "requests",
)  # fmt: skip
GRAIN = ("agent", "feature", "model", "cost_source")
# What a report row adds up from the groups (cost: what is priced; ``reports._figures``).
SUMS = (
    "sum(input), sum(output), sum(cache_read), sum(cache_write_5m + cache_write_1h),"
    " sum(reasoning), sum(CASE WHEN cost_source = 'unpriced' THEN 0 ELSE cost END),"
    " sum(requests), sum(CASE WHEN cost_source = 'unpriced' THEN requests ELSE 0 END),"
    " sum(CASE WHEN cost_source = 'reported' THEN cost ELSE 0 END)"
)
SPLITS = {"agent": "agent", "model": "model", "feature": "coalesce(feature, '')"}
"""The ``--by`` of the daily reports the rollup holds the rows of (``day_rows``), and the
value each splits by (``reports._BY_EXPR``)."""
ROW_SUMS = ("input", "output", "cache_read", "cache_write", "reasoning", "cost", "requests",
            "unpriced_requests", "reported_cost")  # fmt: skip
ROWS = (
    f"SELECT p, b, {', '.join(ROW_SUMS)}, models FROM day_rows WHERE split = :split"
    " ORDER BY p, b"
)
"""The rows of the daily report by ``split`` ('' for none) of every request (the rollup
must be fresh: ``groups_source``), as ``reports._period_rows`` reads them."""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS day_groups(
  p TEXT, {", ".join(f"{c}" for c in GRAIN)},
  {", ".join(f"{c} {'REAL' if c == 'cost' else 'INTEGER'}" for c in GROUP_SUMS)});
CREATE TABLE IF NOT EXISTS day_rows(split TEXT NOT NULL, p TEXT, b TEXT,
  {", ".join(f"{c} {'REAL' if 'cost' in c else 'INTEGER'}" for c in ROW_SUMS)}, models TEXT);
CREATE TABLE IF NOT EXISTS rollup(one INTEGER PRIMARY KEY CHECK (one = 1), gen INTEGER NOT NULL,
  zone TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS req_moved(ts INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS req_moved_ts AFTER UPDATE OF ts ON req WHEN old.ts IS NOT new.ts
  BEGIN INSERT INTO req_moved VALUES (old.ts); END;
CREATE TRIGGER IF NOT EXISTS req_moved_gone AFTER DELETE ON req
  BEGIN INSERT INTO req_moved VALUES (old.ts); END;
"""
_SUMS = ", ".join(f"sum({c})" for c in GROUP_SUMS)
_GROUPED = f"SELECT {DAY} AS p, {', '.join(GRAIN)}, {_SUMS} FROM req"
_GROUP_BY = f"GROUP BY p, {', '.join(GRAIN)}"
_DIRTY = "temp.rollup_dirty"
VERSION = 2  # 2: the report rows (``day_rows``); a rollup of another version is rebuilt
_DAY_MS = 86_400_000
_SLACK_MS = 2 * _DAY_MS  # beyond any UTC offset: a day's requests all lie in its range


def _made_in() -> str:
    """What a rollup is kept for: this module's layout (``VERSION``) and the time zone."""
    return f"{VERSION} {zone()}"


def zone() -> str:
    """This process's time zone as the C library's ``localtime`` (SQLite's) sees it: ``TZ``,
    ``TZDIR``, what the ``time`` module read, and the bytes of the zone file it names."""
    tz = env.get("TZ") if env.is_set("TZ") else None
    zone_dir = env.get("TZDIR") or "/usr/share/zoneinfo"
    files = ["/etc/localtime"] if tz is None else []
    if tz:
        name = tz[1:] if tz.startswith(":") else tz
        files = [name if name.startswith("/") else os.path.join(zone_dir, name),
                 os.path.join(zone_dir, "posixrules")]  # fmt: skip
    digest = hashlib.sha256()
    digest.update(repr((tz, env.get("TZDIR"), time.tzname, time.timezone,
                        time.altzone, time.daylight)).encode())  # fmt: skip
    for path in files:
        try:
            with open(path, "rb") as f:
                digest.update(path.encode() + b"\0" + f.read(1 << 20))
        except OSError as exc:
            digest.update(f"{path}: {exc.errno}".encode())
    return digest.hexdigest()


def _state(conn: sqlite3.Connection) -> tuple[int, str] | None:
    try:
        row = conn.execute("SELECT gen, zone FROM rollup").fetchone()
    except sqlite3.OperationalError:  # no rollup table: an index no sync of this aio kept
        return None
    return (int(row[0]), str(row[1])) if row else None


def _index_gen(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'gen'").fetchone()
    return int(row[0]) if row else 0


def refresh(conn: sqlite3.Connection) -> bool:
    """Bring the rollup up to what the requests say (see the module docstring); False when
    it could not be written (it is then stale, and not used)."""
    try:
        conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error:
        _rollback(conn)
        return False
    try:
        _update(conn, _state(conn), _made_in())
        conn.execute("COMMIT")
        return True
    except sqlite3.Error:
        _rollback(conn)
        return False


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _update(conn: sqlite3.Connection, state: tuple[int, str] | None, here: str) -> None:
    gen = _index_gen(conn)
    if state is not None and state == (gen, here) and not _moved(conn):
        return
    if state is None or state[1] != here:
        _rebuild(conn)
    else:
        _resum(conn, state[0])
    conn.execute("DELETE FROM req_moved")
    conn.execute("INSERT OR REPLACE INTO rollup VALUES (1, ?, ?)", (gen, here))


def _moved(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM req_moved LIMIT 1").fetchone() is not None


def _rebuild(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM day_groups")
    conn.execute(f"INSERT INTO day_groups {_GROUPED} WHERE {COUNTED} {_GROUP_BY}")
    _add_rows(conn, "")


def _add_rows(conn: sqlite3.Connection, where: str) -> None:
    """The report rows (``day_rows``) of the days ``where`` selects, added up from their
    groups as ``reports._period_rows`` adds them up (the same sums to the last bit: the
    groups of one day are always stored together, in key order)."""
    conn.execute(f"DELETE FROM day_rows {where}")
    for split, expr in (("", "NULL"), *SPLITS.items()):
        conn.execute(
            f"INSERT INTO day_rows SELECT ?, p, {expr} AS b, {SUMS},"
            f" group_concat(DISTINCT model) FROM day_groups {where} GROUP BY p, b",
            (split,),
        )


def _resum(conn: sqlite3.Connection, since_gen: int) -> None:
    """Sum again the days of the requests of generations after ``since_gen`` and of the
    moved ones (their old day)."""
    days = {p for (p,) in conn.execute(f"SELECT DISTINCT {DAY} FROM req WHERE gen > ?",
                                       (since_gen,))}  # fmt: skip
    days |= {p for (p,) in conn.execute(f"SELECT DISTINCT {DAY} FROM req_moved")}
    if None in days:  # a time SQLite cannot date (beyond year 9999): no range finds it
        _rebuild(conn)
        return
    if not days:
        return
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS rollup_dirty"
                 " (p TEXT PRIMARY KEY, lo INTEGER, hi INTEGER)")  # fmt: skip
    conn.execute(f"DELETE FROM {_DIRTY}")
    conn.executemany(f"INSERT INTO {_DIRTY} VALUES (?, ?, ?)", [_span(p) for p in days])
    conn.execute(f"DELETE FROM day_groups WHERE p IN (SELECT p FROM {_DIRTY})")
    # ``rowid IN (…)``: the day's requests found through ``req(ts)``, read in rowid order
    # (the order a full build reads them in: the same sums to the last bit).
    conn.execute(
        f"INSERT INTO day_groups {_GROUPED} WHERE rowid IN (SELECT req.rowid FROM {_DIRTY} d"
        " JOIN req ON req.ts >= d.lo AND req.ts < d.hi)"
        f" AND {COUNTED} AND {DAY} IN (SELECT p FROM {_DIRTY}) {_GROUP_BY}"
    )
    _add_rows(conn, f"WHERE p IN (SELECT p FROM {_DIRTY})")
    conn.execute(f"DELETE FROM {_DIRTY}")


def _span(p: str) -> tuple[str, int, int]:
    """A local date and a range of request times surely holding all of its requests."""
    try:
        day = date.fromisoformat(p)
    except ValueError:  # not a date SQLite could make: every time
        return p, -(2**63), 2**63 - 1
    noon = int(time.mktime((day.year, day.month, day.day, 12, 0, 0, 0, 0, -1))) * 1000
    return p, noon - _DAY_MS // 2 - _SLACK_MS, noon + _DAY_MS // 2 + _SLACK_MS


def groups_source(
    conn: sqlite3.Connection, *, agent: str | None = None, feature: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """The rollup's groups (of ``agent``, of ``feature`` when given) as SQL — a
    parenthesised query and its parameters — or ``None`` when the rollup does not hold
    what the requests say now (see the module docstring). For a daily report without a
    date or project filter only (the caller's check); call it inside the read transaction
    that reads the groups."""
    state = _state(conn)
    if state is None:
        return None
    gen, made_in = state
    if gen != _index_gen(conn) or _moved(conn):
        return None
    newest = conn.execute("SELECT max(gen) FROM req").fetchone()[0]
    if newest is not None and int(newest) > gen:
        return None
    if made_in != _made_in():
        return None
    clauses, params = [], {}
    for column, value in (("agent", agent), ("feature", feature)):
        if value:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return f"(SELECT * FROM day_groups{where})", params


__all__ = ["COUNTED", "DAY", "GRAIN", "GROUP_SUMS", "LOCAL", "groups_source", "refresh", "zone"]

"""The per-day rollup (``usage.rollup``) holds exactly the groups a scan of the counted
requests makes — to the last bit of every floating-point sum — after every kind of change
the index sees: new requests, a request re-read with another time (its old day too),
requests covered by aio's calls or marked replays, deleted ones, a feature attributed
later. A rollup that may not hold them (the index moved on, a sync killed before it
settled, a request moved or deleted since, another time zone, an index without a rollup)
is never read: the reports group the requests themselves, with the same figures."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.usage import db as usage_db
from ai_orchestrator.usage import rollup
from ai_orchestrator.usage.reports import Filters, period_reports, report

START_MS = 1_790_000_000_000  # 2026-09-21: a few weeks of requests from here
HOUR_MS = 3_600_000
AGENTS = {"claude": ["claude-sonnet-4-5", "claude-opus-4-1"], "codex": ["gpt-5-codex"],
          "gemini": ["gemini-2.5-pro"]}  # fmt: skip
SOURCES = ["computed", "computed", "reported", "unpriced"]
BYS: list[str | None] = [None, "agent", "model", "feature"]


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    db = usage_db.connect(tmp_path / "usage.sqlite")
    try:
        yield db
    finally:
        db.close()


def _row(rng: random.Random, key: str, gen: int) -> tuple[Any, ...]:
    agent = rng.choice(sorted(AGENTS))
    # times within minutes of local midnights too: a request moved by a little changes day
    ts = START_MS + rng.randrange(20) * 24 * HOUR_MS + rng.choice(
        [rng.randrange(24 * HOUR_MS), rng.randrange(-120_000, 120_000)]
    )
    values = {
        "key": key, "origin": rng.choice("ta"), "agent": agent,
        "model": rng.choice(AGENTS[agent]), "ts": ts, "session": f"s{rng.randrange(9)}",
        "project": "/work/p", "branch": rng.choice([None, "main", "feature/x"]),
        "input": rng.randrange(5000), "output": rng.randrange(900),
        "cache_read": rng.randrange(90_000), "cache_write_5m": rng.randrange(3000),
        "cache_write_1h": rng.randrange(50), "reasoning": rng.randrange(100),
        "requests": 1, "cost": rng.random() / 37, "cost_source": rng.choice(SOURCES),
        "reported_cost": None, "note": None, "msg_id": None, "sidechain": 0,
        "feature": rng.choice([None, "search", "login", "billing"]),
        "task": rng.choice([None, "T1.1", "T2.3"]), "aio_session": None, "gen": gen,
    }  # fmt: skip
    return tuple(values[c] for c in usage_db.REQ_COLUMNS)


def _filled(conn: sqlite3.Connection, seed: int, n: int) -> random.Random:
    """``n`` requests of generation 1, settled; the generator to make more with."""
    rng = random.Random(seed)
    conn.executemany(usage_db.UPSERT_LAST, [_row(rng, f"k{i}", 1) for i in range(n)])
    _settle(conn, 1)
    return rng


def _settle(conn: sqlite3.Connection, gen: int) -> None:
    """What a sync's last step commits: the index's generation."""
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('gen', ?)", (str(gen),))


def _scan(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """The groups by definition: one ``GROUP BY`` over every counted request."""
    return conn.execute(
        f"SELECT {rollup.DAY} AS p, {', '.join(rollup.GRAIN)},"
        f" {', '.join(f'sum({c})' for c in rollup.GROUP_SUMS)} FROM req"
        f" WHERE {rollup.COUNTED} GROUP BY p, {', '.join(rollup.GRAIN)}"
        f" ORDER BY p, {', '.join(rollup.GRAIN)}"
    ).fetchall()


def _kept(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        f"SELECT * FROM day_groups ORDER BY p, {', '.join(rollup.GRAIN)}"
    ).fetchall()


def _docs(conn: sqlite3.Connection, filters: Filters) -> dict[str | None, dict[str, Any]]:
    return period_reports(conn, "daily", filters, BYS)


def _served(conn: sqlite3.Connection) -> bool:
    conn.execute("BEGIN")
    try:
        return rollup.groups_source(conn) is not None
    finally:
        conn.execute("COMMIT")


def _check(conn: sqlite3.Connection) -> None:
    """The rollup equals the scan (bit for bit) and the reports read it, equal to the
    reports without it."""
    assert rollup.refresh(conn)
    assert _kept(conn) == _scan(conn)
    assert _served(conn)
    for filters in (Filters(), Filters(feature="search"), Filters(agent="claude")):
        with_rollup = _docs(conn, filters)
        state = conn.execute("SELECT * FROM rollup").fetchall()
        conn.execute("DELETE FROM rollup")  # no rollup: the requests are grouped again
        assert not _served(conn)
        assert _docs(conn, filters) == with_rollup, filters
        conn.executemany("INSERT INTO rollup VALUES (?, ?, ?)", state)


def test_the_rollup_holds_the_scans_groups_after_every_kind_of_change(
    conn: sqlite3.Connection,
) -> None:
    rng = random.Random(23)
    rows = [_row(rng, f"k{i}", 1) for i in range(1500)]
    conn.executemany(usage_db.UPSERT_LAST, rows)
    _settle(conn, 1)
    _check(conn)
    assert len(_kept(conn)) > 200
    # New requests on some days.
    conn.executemany(usage_db.UPSERT_LAST, [_row(rng, f"n{i}", 2) for i in range(200)])
    _settle(conn, 2)
    assert not _served(conn)  # the index moved on: not read until refreshed
    _check(conn)
    # Requests read again with another time (a day or minutes away: across midnight) and
    # other figures: their old days lose them.
    moved = []
    for row in rng.sample(rows, 150):
        values = dict(zip(usage_db.REQ_COLUMNS, row, strict=True))
        values.update(ts=values["ts"] + rng.choice([24 * HOUR_MS, -3 * 24 * HOUR_MS, 90_000,
                      -90_000]), cost=rng.random(), gen=3)  # fmt: skip
        moved.append(tuple(values[c] for c in usage_db.REQ_COLUMNS))
    conn.executemany(usage_db.UPSERT_LAST, moved)
    _settle(conn, 3)
    _check(conn)
    # Covered by aio's calls, replays, a feature attributed later (settle's updates).
    conn.execute("UPDATE req SET covered = 'call-1', gen = 4 WHERE rowid % 7 = 0")
    conn.execute("UPDATE req SET replay = 1, gen = 4 WHERE rowid % 11 = 0")
    conn.execute(
        "UPDATE req SET feature = 'login', gen = 4 WHERE feature IS NULL AND rowid % 3 = 0"
    )
    _settle(conn, 4)
    _check(conn)
    # Deleted requests: the generation does not move, the trace of their days does.
    conn.execute("DELETE FROM req WHERE rowid % 13 = 0")
    assert not _served(conn)
    _check(conn)
    # A request SQLite cannot date (past year 9999): its day is no range; built again.
    conn.executemany(usage_db.UPSERT_LAST, [_row(rng, "far", 6)])
    conn.execute("UPDATE req SET ts = ? WHERE key = 'far'", (2**62,))
    _settle(conn, 6)
    _check(conn)
    assert conn.execute("SELECT count(*) FROM day_groups WHERE p IS NULL").fetchone()[0] == 1
    # Nothing changed: a refresh keeps it as it is.
    before = _kept(conn)
    _check(conn)
    assert _kept(conn) == before


def test_a_sync_killed_before_it_settled_leaves_the_rollup_unread(
    conn: sqlite3.Connection,
) -> None:
    rng = _filled(conn, 5, 300)
    _check(conn)
    # A sync's rows committed, its settle (meta.gen) never reached.
    conn.executemany(usage_db.UPSERT_LAST, [_row(rng, f"x{i}", 2) for i in range(40)])
    assert not _served(conn)
    scanned = _docs(conn, Filters())
    assert scanned[None]["totals"]["requests"] == 340
    assert sum(r["requests"] for r in scanned[None]["rows"]) == 340
    # The next sync reuses the generation number; it settles, and the rollup catches up.
    _settle(conn, 2)
    _check(conn)


def _zone(monkeypatch: pytest.MonkeyPatch, tz: str) -> None:
    monkeypatch.setenv("TZ", tz)
    time.tzset()


def test_a_rollup_of_another_time_zone_is_not_read_and_is_rebuilt(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    _filled(conn, 11, 600)
    try:
        _zone(monkeypatch, "UTC0")
        _check(conn)
        utc_rows = _docs(conn, Filters())[None]["rows"]
        for tz in ("IST-5:30", "<-03>3", "NZST-12NZDT,M9.5.0,M4.1.0/3"):
            _zone(monkeypatch, tz)
            assert not _served(conn), tz  # dated in UTC: not this zone's days
            scanned = _docs(conn, Filters())
            assert scanned[None]["rows"] != utc_rows, tz  # requests near midnight moved
            _check(conn)  # rebuilt for this zone
            assert _docs(conn, Filters()) == scanned, tz
    finally:
        monkeypatch.delenv("TZ", raising=False)
        monkeypatch.undo()
        time.tzset()


def test_an_index_without_a_rollup_is_read_as_before(conn: sqlite3.Connection) -> None:
    """An index an older aio made (no rollup tables): grouped from the requests; the next
    refresh adds the tables and builds the rollup."""
    _filled(conn, 3, 200)
    assert not _served(conn)
    plain = _docs(conn, Filters())
    assert plain[None] == report(conn, "daily", Filters())
    _check(conn)
    assert _docs(conn, Filters()) == plain


def test_a_refresh_that_cannot_write_leaves_the_rollup_unread(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    rng = _filled(conn, 8, 100)
    _check(conn)
    conn.executemany(usage_db.UPSERT_LAST, [_row(rng, f"n{i}", 2) for i in range(10)])
    _settle(conn, 2)
    other = usage_db.connect(tmp_path / "usage.sqlite", timeout=0.01)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the index
        quick = usage_db.connect(tmp_path / "usage.sqlite", timeout=0.01)
        try:
            assert rollup.refresh(quick) is False
            assert not quick.in_transaction
        finally:
            quick.close()
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert not _served(conn)
    assert _docs(conn, Filters())[None]["totals"]["requests"] == 110
    _check(conn)


def test_periods_other_than_days_and_time_filters_never_read_the_rollup(
    conn: sqlite3.Connection,
) -> None:
    from datetime import date

    _filled(conn, 2, 300)
    assert rollup.refresh(conn)
    # Poison the rollup: a report that read it would show the poisoned figures.
    conn.execute("UPDATE day_groups SET requests = requests + 1000")
    conn.execute("UPDATE day_rows SET requests = requests + 1000000")
    assert _docs(conn, Filters())[None]["totals"]["requests"] == 300  # totals: the requests
    days = conn.execute("SELECT count(*) FROM day_rows WHERE split = ''").fetchone()[0]
    for by in BYS:  # the rows as kept
        rows = _docs(conn, Filters())[by]["rows"]
        assert sum(r["requests"] for r in rows) == 300 + 1_000_000 * len(rows), by
    assert len(_docs(conn, Filters())[None]["rows"]) == days
    # of one feature: added up from the groups
    search = conn.execute("SELECT count(*), sum(requests) - 1000 * count(*) FROM day_groups"
                          " WHERE feature = 'search'").fetchone()  # fmt: skip
    rows = _docs(conn, Filters(feature="search"))["model"]["rows"]
    assert sum(r["requests"] for r in rows) == search[1] + 1000 * search[0]
    day = date.fromtimestamp(START_MS / 1000 + 5 * 86_400)
    for kind, filters, by in (
        ("weekly", Filters(), None), ("monthly", Filters(), "model"),
        ("daily", Filters(since=day), None), ("daily", Filters(until=day), "agent"),
        ("daily", Filters(project="p"), None), ("daily", Filters(), "project"),
        ("daily", Filters(), "task"), ("daily", Filters(), "branch"),
    ):  # fmt: skip
        rows = report(conn, kind, filters, by)["rows"]
        assert sum(r["requests"] for r in rows) < 1000, (kind, filters, by)


def test_the_rows_a_killed_sync_left_unsettled_are_settled_by_the_next_sync(
    isolated_home: Path,
) -> None:
    """A sync killed after committing rows but before settling them (``meta.gen`` never
    moved): the next sync, even with nothing new to read, settles them and the rollup is
    read again."""
    from ai_orchestrator.store.session_store import SessionStore
    from ai_orchestrator.usage.sync import open_index, sync
    from tests.helpers import as_record, interaction

    SessionStore().record(as_record("implement-search", interaction(cost=0.25)))
    sync()
    conn = open_index()
    try:
        assert _served(conn)
        gen = int(conn.execute("SELECT value FROM meta WHERE key = 'gen'").fetchone()[0])
        # what the killed sync committed: a row of the next generation, not settled
        conn.executemany(usage_db.UPSERT_LAST, [_row(random.Random(1), "killed", gen + 1)])
        assert not _served(conn)
        sync()  # nothing new to read
        assert conn.execute("SELECT value FROM meta WHERE key = 'gen'").fetchone()[0] == str(
            gen + 1
        )
        assert _served(conn)
        assert _kept(conn) == _scan(conn)
    finally:
        conn.close()

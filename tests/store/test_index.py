"""The summary index is only a cache: it must never serve stale or unsafe rows."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.index import INDEX_FILE, SessionRow, SummaryIndex
from ai_orchestrator.store.lifecycle import delete_session
from ai_orchestrator.store.session_store import LOG, METADATA
from tests.helpers import as_record, interaction


def rows_by_name(store: SessionStore) -> dict[str, SessionRow]:
    rows, errors = SummaryIndex(store).rows()
    assert errors == []
    return {r.name: r for r in rows}


def cached_names(root: Path) -> set[str]:
    with sqlite3.connect(root / INDEX_FILE) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sessions")}


def test_rows_match_loads_and_are_cached(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction(cost=0.5)))
    store.record(as_record("implement-a", interaction(cost=0.25, tokens={"input": 7})))
    first = rows_by_name(store)
    assert cached_names(session_dir) == {"plan-a", "implement-a"}
    second = rows_by_name(store)
    for name in ("plan-a", "implement-a"):
        assert second[name].document == first[name].document
        assert second[name].summary.interaction_count == store.load(name).summary.interaction_count
    assert second["implement-a"].tokens["input"] == 7
    assert second["plan-a"].cost == pytest.approx(0.5)
    assert os.stat(session_dir / INDEX_FILE).st_mode & 0o077 == 0


def test_a_write_after_caching_is_seen(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction(cost=0.5)))
    rows_by_name(store)
    store.record(as_record("plan-a", interaction(cost=0.25)))
    assert rows_by_name(store)["plan-a"].interactions == 2
    assert rows_by_name(store)["plan-a"].cost == pytest.approx(0.75)


def test_log_growth_without_summary_update_is_seen(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction(cost=0.5)))
    meta = (session_dir / "plan-a" / METADATA).read_bytes()
    rows_by_name(store)
    store.record(as_record("plan-a", interaction(cost=0.25)))
    (session_dir / "plan-a" / METADATA).write_bytes(meta)  # crash before the summary write
    row = rows_by_name(store)["plan-a"]
    assert row.interactions == 2 and row.problems


def test_in_place_corruption_after_caching_is_flagged(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    rows_by_name(store)
    with open(session_dir / "plan-a" / METADATA, "r+b") as handle:
        handle.write(b"{{{{")  # same inode, edited in place
    row = rows_by_name(store)["plan-a"]
    assert row.problems and row.interactions == 1


def test_deleted_sessions_leave_the_index(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    store.record(as_record("plan-b", interaction()))
    rows_by_name(store)
    delete_session(store, "plan-a")
    assert set(rows_by_name(store)) == {"plan-b"}
    assert cached_names(session_dir) == {"plan-b"}


def test_loose_modes_bypass_the_cache_and_get_fixed(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    rows_by_name(store)
    os.chmod(session_dir / "plan-a" / LOG, 0o644)
    rows_by_name(store)
    assert os.stat(session_dir / "plan-a" / LOG).st_mode & 0o777 == 0o600


def test_corrupt_or_deleted_index_loses_nothing(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction(cost=1.0)))
    rows_by_name(store)
    (session_dir / INDEX_FILE).write_bytes(b"this is not a database" * 100)
    assert rows_by_name(store)["plan-a"].cost == pytest.approx(1.0)
    assert rows_by_name(store)["plan-a"].cost == pytest.approx(1.0)
    (session_dir / INDEX_FILE).unlink()
    assert rows_by_name(store)["plan-a"].cost == pytest.approx(1.0)


def test_locked_index_still_gives_fresh_rows(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction(cost=1.0)))
    rows_by_name(store)
    blocker = sqlite3.connect(session_dir / INDEX_FILE, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        store.record(as_record("plan-a", interaction(cost=2.0)))
        assert rows_by_name(store)["plan-a"].cost == pytest.approx(3.0)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

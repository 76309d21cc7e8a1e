"""``list --json`` and ``stats`` answered by SQLite over the index (``store.index_query``)
must be exactly what the rows computed in Python say, in every state of the index: just
rebuilt, warm and unchanged (a read transaction), warm after writes (the answer comes out
of the committing transaction), with rows that are never cached (a write in flight, a
session with problems), and after hand edits the journal never hears of."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.index import Listing, SessionRow, SummaryIndex
from ai_orchestrator.store.index_query import documents, documents_of_rows, totals
from ai_orchestrator.store.journal import INTENT, note
from ai_orchestrator.store.session_store import LOG, METADATA
from ai_orchestrator.store.stats import SORT_KEYS, active_cutoff, stats_document, totals_of
from tests.helpers import aio_inprocess as aio
from tests.helpers import as_record, interaction
from tests.store.test_journal import settle

RECENT = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _populate(store: SessionStore) -> None:
    """Sessions whose sort keys tie in every way a sort can tie: equal costs, equal
    token totals, equal dates, no activity at all (a session never written)."""
    for i, name in enumerate(("plan-a", "plan-b", "review-c", "implement-d", "plan-e")):
        old = i % 2 == 0
        store.record(
            as_record(
                name,
                interaction(
                    cost=0.5 if i < 3 else 0.25 * i,
                    timestamp="2020-01-02T03:04:05Z" if old else RECENT,
                    tokens={"input": 100 if i < 4 else 7, "output": 10 * (i % 2)},
                ),
            )
        )


def _comparable(answer: tuple[int, int, bytes]) -> tuple[int, int, list[dict[str, Any]]]:
    """A ``documents`` answer with each document parsed, ``problems`` left out: the read
    that repairs a session reports the repair once (``summary was out of date``), and the
    SQL path is asked first."""
    total, active, body = answer
    docs = json.loads(b"[" + body + b"]")
    return total, active, [{k: v for k, v in d.items() if k != "problems"} for d in docs]


def _answers(store: SessionStore, sql: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every query's answer through ``listing`` (asked first, so it meets each change
    first) and the same computed from the rows. ``sql``: the index has rows, so the
    answers must be SQL's (not the rows' a rescan falls back to)."""
    cutoff = active_cutoff(30, datetime.now(UTC))
    via_sql: dict[str, Any] = {}
    via_rows: dict[str, Any] = {}
    done_totals: Listing[Any] = SummaryIndex(store).listing(None, totals(cutoff), docs=False)
    for key in SORT_KEYS:
        for active in (False, True):
            done: Listing[Any] = SummaryIndex(store).listing(
                None, documents(key, cutoff, active)
            )
            answer = done.answer
            assert answer is not None or not sql
            if answer is None:  # a rescan: every row in Python
                answer = documents_of_rows(done.rows, key, cutoff, active)
            via_sql[f"{key}/{active}"] = _comparable(answer)
    rows, errors = SummaryIndex(store).rows()
    assert errors == []
    for key in SORT_KEYS:
        for active in (False, True):
            via_rows[f"{key}/{active}"] = _comparable(
                documents_of_rows(rows, key, cutoff, active)
            )
    assert done_totals.answer is not None or not sql
    if done_totals.answer is None:  # the first listing: a rescan
        done_totals.answer = totals_of(done_totals.rows, cutoff)
    via_sql["totals"] = stats_document(done_totals.answer, 30)
    via_rows["totals"] = stats_document(totals_of(rows, cutoff), 30)
    return via_sql, via_rows


def test_the_sql_answers_are_the_python_answers_in_every_state(session_dir: Path) -> None:
    store = SessionStore()
    _populate(store)
    for state in ("rebuilt", "warm", "written", "in flight", "problem", "settled"):
        if state == "written":
            store.record(as_record("plan-b", interaction(cost=0.5)))
        elif state == "in flight":  # a writer's "+" without its "-": read every time
            note(store.root, "plan-a", INTENT)
        elif state == "problem":  # a torn line: a row with problems is never cached
            with open(session_dir / "review-c" / LOG, "ab") as handle:
                handle.write(b'{"torn')
        elif state == "settled":
            settle(session_dir)
        via_sql, via_rows = _answers(store, sql=state != "rebuilt")
        for key in via_sql:  # (one at a time: a difference is then readable)
            assert via_sql[key] == via_rows[key], (state, key)
    # the orders themselves, as the command documents them
    by_cost = [d["session_name"] for d in via_sql["cost/False"][2]]
    assert by_cost == ["plan-b", "plan-e", "implement-d", "plan-a", "review-c"]
    assert via_sql["name/True"][1] == 2  # plan-b and implement-d are recent
    assert via_sql["totals"]["sessions_with_problems"] == 1


def test_a_query_the_index_cannot_answer_gives_every_row(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another listing committing between the check and the answer: the answer would not
    be of the rows checked, so the rows are read as before."""
    store = SessionStore()
    _populate(store)
    settle(session_dir)
    SummaryIndex(store).rows()  # cached: the next listing has nothing to store
    real = SummaryIndex._read

    def raced(conn: Any, generation: int, query: Any) -> Any:
        conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
        return real(conn, generation, query)

    monkeypatch.setattr(SummaryIndex, "_read", staticmethod(raced))
    cutoff = active_cutoff(30, datetime.now(UTC))
    done: Listing[Any] = SummaryIndex(store).listing(None, totals(cutoff))
    assert done.answer is None
    assert sorted(r.name for r in done.rows) == sorted(store.names())


def _cli_state() -> tuple[dict[str, int], dict[str, Any]]:
    listed = aio("session", "list", "--json").expect().json()
    stats = aio("session", "stats", "--json").expect().json()
    return {s["session_name"]: s["interaction_count"] for s in listed["sessions"]}, stats


def test_hand_edits_that_keep_the_directory_mtime_are_seen_by_the_sql_path(
    session_dir: Path,
) -> None:
    """In-place edits change no directory entry (the session directory's mtime stays):
    an append with ``>>``, the summary rewritten in place, a file's mode loosened. Each
    is seen by the next ``list --json`` and ``stats --json``, which answer in SQL."""
    store = SessionStore()
    for name in ("plan-a", "plan-b", "plan-c"):
        store.record(as_record(name, interaction()))
    settle(session_dir)
    assert _cli_state()[0] == {"plan-a": 1, "plan-b": 1, "plan-c": 1}
    _cli_state()  # warm: now served from the index

    def keeping_dir_mtime(name: str, edit: Any) -> None:
        directory = session_dir / name
        before = directory.stat()
        edit(directory)
        os.utime(directory, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert directory.stat().st_mtime_ns == before.st_mtime_ns

    line = (session_dir / "plan-a" / LOG).read_bytes().splitlines(True)[0]

    def append(directory: Path) -> None:
        with open(directory / LOG, "ab") as handle:
            handle.write(line.replace(b'"id":"', b'"id":"hand'))

    keeping_dir_mtime("plan-a", append)
    counts, stats = _cli_state()
    assert counts["plan-a"] == 2 and stats["interactions"] == 4

    def rewrite_summary(directory: Path) -> None:  # same inode; interaction_count 1 -> 9
        data = (directory / METADATA).read_bytes()
        old = b'"interaction_count":1,'
        assert old in data
        with open(directory / METADATA, "r+b") as handle:
            handle.write(data.replace(old, b'"interaction_count":9,'))
            handle.truncate()

    keeping_dir_mtime("plan-b", rewrite_summary)
    counts, stats = _cli_state()
    truth = SessionStore(session_dir).load("plan-b").summary.interaction_count
    assert counts["plan-b"] == truth
    assert stats["interactions"] == 2 + truth + 1

    keeping_dir_mtime("plan-c", lambda d: os.chmod(d / LOG, 0o644))
    counts, stats = _cli_state()  # read from its files again (and the mode tightened)
    assert (session_dir / "plan-c" / LOG).stat().st_mode & 0o777 == 0o600
    settle(session_dir)
    assert _cli_state() == _cli_state()
    rows = {r.name: r.interactions for r in SummaryIndex(store).rows(rescan=True)[0]}
    assert _cli_state()[0] == rows


def test_list_json_of_an_empty_and_a_one_session_store(session_dir: Path) -> None:
    empty = aio("session", "list", "--json").expect().json()
    assert empty["sessions"] == [] and empty["total_sessions"] == 0
    SessionStore().record(as_record("plan-a", interaction()))
    for _ in range(3):  # rebuilt, then warm
        one = aio("session", "list", "--json").expect().json()
        assert [s["session_name"] for s in one["sessions"]] == ["plan-a"]
        row = SessionRow.from_view(SessionStore().load("plan-a"))
        assert one["sessions"][0] == json.loads(row.doc)

"""The warm listing (index + change journal) must be exactly what the files say.

Each test tries to make the warm path serve a stale row: a write it did not see, a
writer killed between its session write and its journal note, concurrent writers while
listing, a journal that cannot be trusted, sessions changed by hand.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.store import SessionStore
from ai_orchestrator.store import index as index_module
from ai_orchestrator.store import journal as journal_module
from ai_orchestrator.store.index import INDEX_FILE, SessionRow, SummaryIndex
from ai_orchestrator.store.index_lean import lean_read as real_lean
from ai_orchestrator.store.index_query import documents, documents_of_rows, totals
from ai_orchestrator.store.journal import JOURNAL
from ai_orchestrator.store.session_store import LOG, METADATA
from ai_orchestrator.store.stats import compute_stats, totals_of
from tests.helpers import as_record, interaction


def _state(row: SessionRow) -> dict[str, Any]:
    """A row's session state; ``problems`` left out: a read that repairs a session reports
    the repair once (``summary was out of date``), the next read finds nothing wrong."""
    return {k: v for k, v in row.document.items() if k != "problems"}


def listing(store: SessionStore, *, rescan: bool = False) -> dict[str, dict[str, Any]]:
    rows, errors = SummaryIndex(store).rows(rescan=rescan)
    assert errors == []
    return {r.name: _state(r) for r in rows}


def truth(store: SessionStore) -> dict[str, dict[str, Any]]:
    """What every session's files say, read one by one without the index."""
    return {n: _state(SessionRow.from_view(store.load(n))) for n in store.names()}


def settle(root: Path) -> None:
    """Date every session's files a minute back: rows of files changed within the last
    second are never cached (``index._settled``)."""
    old = time.time_ns() - 60 * 10**9
    for session in root.iterdir():
        if session.is_dir():
            for entry in (*session.iterdir(), session):
                os.utime(entry, ns=(old, old), follow_symlinks=False)


def counts(store: SessionStore) -> dict[str, int]:
    rows, _ = SummaryIndex(store).rows()
    return {r.name: r.interactions for r in rows}


def loads_during(store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names the next listings read from their files (the rest came from the index)."""
    seen: list[str] = []
    real = SessionStore.load

    def lean(prefix: str, name: str, log_st: Any) -> Any:
        seen.append(name)  # the lean read (``store.index_lean``) of the common case
        return real_lean(prefix, name, log_st)

    def load(self: SessionStore, name: Any, **kwargs: Any) -> Any:
        if not seen or seen[-1] != str(name):  # not the same read, gone the slow way
            seen.append(str(name))
        return real(self, name, **kwargs)

    monkeypatch.setattr(SessionStore, "load", load)
    monkeypatch.setattr(index_module, "lean_read", lean)
    return seen


def test_the_warm_path_reads_only_what_changed(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore()
    for name in ("plan-a", "plan-b", "plan-c"):
        store.record(as_record(name, interaction()))
    settle(session_dir)
    listing(store)  # first listing: everything read, the journal started
    seen = loads_during(store, monkeypatch)
    assert counts(store) == {"plan-a": 1, "plan-b": 1, "plan-c": 1}
    assert seen == []
    SessionStore(session_dir).record(as_record("plan-b", interaction()))  # "another process"
    assert counts(store)["plan-b"] == 2
    assert seen == ["plan-b"]


def test_a_new_or_removed_session_is_seen_at_once(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    assert set(listing(store)) == {"plan-a"}
    store.record(as_record("plan-b", interaction()))
    assert set(listing(store)) == {"plan-a", "plan-b"}
    from ai_orchestrator.store.lifecycle import delete_session

    delete_session(store, "plan-a")
    assert set(listing(store)) == {"plan-b"}


@pytest.mark.parametrize(
    "spoil",
    ["missing", "garbage line", "fused line", "other version", "truncated", "other boot"],
)
def test_a_journal_that_cannot_be_trusted_means_a_rescan(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch, spoil: str
) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    store.record(as_record("plan-b", interaction()))
    listing(store)
    store.record(as_record("plan-a", interaction()))
    listing(store)  # the watermark is past the header now
    # An edit inside a session, in place: seen by a rescan as by a warm listing.
    with open(session_dir / "plan-b" / METADATA, "r+b") as handle:
        handle.write(b"{{{{")
    path = session_dir / JOURNAL
    data = path.read_bytes()
    if spoil == "missing":
        path.unlink()
    elif spoil == "garbage line":
        path.write_bytes(data + b"?not a note\n")
    elif spoil == "fused line":
        path.write_bytes(data + b"+plan-a+plan-b\n")  # a torn note a later one fused with
    elif spoil == "other version":
        path.write_bytes(data.replace(b"aio-changes 1 ", b"aio-changes 2 ", 1))
    elif spoil == "truncated":
        path.write_bytes(data.split(b"\n")[0] + b"\n")
    else:
        monkeypatch.setattr("ai_orchestrator.store.index.boot_id", lambda: "another boot")
    told: list[tuple[int, int]] = []
    rows, errors = SummaryIndex(store).rows(progress=lambda d, t: told.append((d, t)))
    assert told and told[-1] == (2, 2)  # a rescan: only a rescan reports progress
    by_name = {r.name: r for r in rows}
    assert errors == [] and by_name["plan-a"].interactions == 2
    assert any("not valid JSON" in p for p in by_name["plan-b"].problems)
    assert listing(store) == truth(store)


def test_an_unterminated_note_is_read_once_it_is_complete(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    listing(store)
    with open(session_dir / JOURNAL, "ab") as handle:
        handle.write(b"-plan-")  # a writer mid-note
    assert listing(store) == truth(store)
    SessionStore(session_dir).record(as_record("plan-b", interaction()))
    with open(session_dir / JOURNAL, "ab") as handle:
        handle.write(b"a\n")
    assert listing(store) == truth(store)


def _writer_killed_at_random(root: str, seed: int, precise: bool) -> None:
    """In a forked child: record into a few sessions until killed. ``precise``: kill
    ourselves right after a session write, before its journal note."""
    rng = random.Random(seed)
    store = SessionStore(root)
    if precise:
        real = journal_module.note
        after = rng.randrange(1, 6)

        def note(root: Path, name: str, mark: bytes) -> None:
            nonlocal after
            if mark == journal_module.DONE:
                after -= 1
                if after == 0:
                    os.kill(os.getpid(), signal.SIGKILL)
            real(root, name, mark)

        journal_module.note = note  # type: ignore[assignment]
    while True:
        store.record(as_record(f"plan-s{rng.randrange(4)}", interaction(cost=rng.random())))


@pytest.mark.slow
@pytest.mark.process  # a killed writer process
def test_a_writer_killed_between_its_write_and_its_note_never_leaves_a_stale_row(
    session_dir: Path,
) -> None:
    store = SessionStore()
    store.record(as_record("plan-s0", interaction()))
    listing(store)
    rng = random.Random(24)
    for round_ in range(200):
        precise = round_ % 2 == 0
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            try:
                _writer_killed_at_random(str(session_dir), round_, precise)
            finally:
                os._exit(0)
        if not precise:
            time.sleep(rng.uniform(0, 0.02))
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), f"round {round_}: the writer was not killed"
        summed = SummaryIndex(store).listing(None, totals(""), docs=False)  # as `stats`
        got = summed.answer or totals_of(summed.rows, "")
        want = totals_of([SessionRow.from_view(store.load(n)) for n in store.names()], "")
        assert (got.sessions, got.interactions, got.tokens) == (
            want.sessions, want.interactions, want.tokens
        ), f"round {round_}"
        # (summed in another order: equal up to the float's last bits)
        assert math.isclose(got.cost, want.cost, rel_tol=1e-12), f"round {round_}"
        assert listing(store) == truth(store), f"round {round_}"
    assert listing(store, rescan=True) == truth(store)


WRITERS = 16
PER_WRITER = 25


def _writer(root: str, index: int, started: Any, acked: Any, halfway: Any) -> None:
    store = SessionStore(root)
    for n in range(PER_WRITER):
        if n == PER_WRITER // 2:  # the listings must meet writes, however slow they are
            assert halfway.wait(240), "the test never released the writers"
        started[index] += 1
        store.record(
            as_record(f"implement-w{index:02d}", interaction(tokens={"input": 1, "output": 1}))
        )
        acked[index] += 1


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_listings_during_sixteen_writers_are_each_consistent(session_dir: Path) -> None:
    store = SessionStore()
    store.ensure_root()
    ctx = multiprocessing.get_context("fork")
    started, acked = ctx.Array("i", WRITERS), ctx.Array("i", WRITERS)
    halfway = ctx.Event()  # set once two listings ran: writers wait there until then
    procs = [
        ctx.Process(target=_writer, args=(str(session_dir), w, started, acked, halfway))
        for w in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    listings = 0
    deadline = time.monotonic() + 240
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
        low = list(acked)  # acknowledged before the listing started: must be in it
        rows, errors = SummaryIndex(store).rows()
        high = list(started)  # begun before it ended: the most it may show
        assert errors == []
        by_name = {r.name: r for r in rows}
        for w in range(WRITERS):
            row = by_name.get(f"implement-w{w:02d}")
            shown = row.interactions if row else 0
            assert low[w] <= shown <= high[w], (w, low[w], shown, high[w])
            if row is not None:  # each row is one session's state, not a mix
                assert row.tokens["input"] == row.interactions == row.summary.interaction_count
        stats = compute_stats(rows)
        assert sum(low) <= stats["interactions"] <= sum(high)
        # The same through SQL over the index (``list --json`` and ``stats``)
        low = list(acked)
        done = SummaryIndex(store).listing(None, documents("name", "", False))
        high = list(started)
        body = (done.answer or documents_of_rows(done.rows, "name", "", False))[2]
        docs = json.loads(b"[" + body + b"]")
        shown_by = {d["session_name"]: d["interaction_count"] for d in docs}
        for w in range(WRITERS):
            assert low[w] <= shown_by.get(f"implement-w{w:02d}", 0) <= high[w], (w, shown_by)
        low = list(acked)
        summed = SummaryIndex(store).listing(None, totals(""), docs=False)
        high = list(started)
        total = summed.answer or totals_of(summed.rows, "")
        assert sum(low) <= total.interactions <= sum(high)
        listings += 1
        if listings >= 2:
            halfway.set()
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    assert listings >= 2
    final = listing(store)
    assert final == listing(store, rescan=True) == truth(store)
    assert sum(counts(store).values()) == WRITERS * PER_WRITER


def test_sessions_changed_by_hand(session_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What each hand edit changes, and so how it is caught (``index.py``'s table)."""
    store = SessionStore()
    for name in ("plan-a", "plan-b", "plan-c", "plan-d"):
        store.record(as_record(name, interaction()))
    listing(store)
    # In the store directory (its mtime changes): seen by the next listing.
    shutil.rmtree(session_dir / "plan-a")
    os.rename(session_dir / "plan-b", session_dir / "plan-bb")
    shutil.copytree(session_dir / "plan-c", session_dir / "plan-copy")
    assert listing(store) == truth(store)
    assert set(listing(store)) == {"plan-bb", "plan-c", "plan-copy", "plan-d"}
    # Inside a session directory only that directory (or file) changes: an editor
    # appends a record, a file is deleted, the summary is rewritten in place. Each
    # listing checks every cached row's signature (the log's lstat from the discovery
    # scan, the directory's mtime, the summary's lstat), so the next listing sees it.
    line = (session_dir / "plan-c" / LOG).read_bytes().splitlines(True)[0]
    with open(session_dir / "plan-c" / LOG, "ab") as handle:
        handle.write(line.replace(b'"id":"', b'"id":"x'))
    os.unlink(session_dir / "plan-d" / LOG)
    assert counts(store)["plan-c"] == 2 and counts(store)["plan-d"] == 0
    assert listing(store) == truth(store)
    store.record(as_record("plan-e", interaction()))
    listing(store)
    os.unlink(session_dir / "plan-e" / METADATA)  # a file deleted: the summary is rebuilt
    assert counts(store)["plan-e"] == 1
    with open(session_dir / "plan-e" / METADATA, "r+b") as handle:  # same inode
        handle.write(b"{{{{")
    rows, _ = SummaryIndex(store).rows()
    assert any("not valid JSON" in p for p in {r.name: r for r in rows}["plan-e"].problems)
    with open(session_dir / "plan-c" / LOG, "ab") as handle:
        handle.write(line.replace(b'"id":"', b'"id":"y'))
    assert counts(store)["plan-c"] == 3
    assert listing(store) == truth(store)
    with open(session_dir / "plan-c" / LOG, "ab") as handle:
        handle.write(line.replace(b'"id":"', b'"id":"z'))
    store.load("plan-c")  # e.g. aio session show plan-c: rebuilt, written back, noted
    assert counts(store)["plan-c"] == 4
    assert listing(store) == truth(store)


def test_an_edit_in_the_same_clock_tick_with_the_same_size_is_not_missed(
    session_dir: Path,
) -> None:
    """A file's mtime has a coarse clock: an in-place edit of the same size right after
    the listing looked can leave inode, size and mtime all equal. A row whose files
    changed less than a second ago is therefore not cached but read again next time."""
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    listing(store)
    path = session_dir / "plan-a" / METADATA  # (the log's would not change the summary)
    before = path.stat()
    data = path.read_bytes()
    assert data.count(b'"output":50,') >= 1
    with open(path, "r+b") as handle:  # same inode, same size
        handle.write(data.replace(b'"output":50,', b'"output":57,', 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same clock tick
    assert listing(store) == truth(store)
    assert listing(store) == truth(store)


def test_a_hand_edit_is_listed_by_the_next_aio_session_list(session_dir: Path) -> None:
    """End to end: ``echo >>`` into a log, a summary deleted, another session removed."""
    from tests.helpers import aio_inprocess as aio

    store = SessionStore()
    for name in ("plan-a", "plan-b", "plan-c"):
        store.record(as_record(name, interaction()))
    first = aio("session", "list", "--json")
    assert first.code == 0 and len(first.json()["sessions"]) == 3
    line = (session_dir / "plan-a" / LOG).read_bytes().splitlines(True)[0]
    with open(session_dir / "plan-a" / LOG, "ab") as handle:  # echo ... >> interactions.jsonl
        handle.write(line.replace(b'"id":"', b'"id":"hand'))
    os.unlink(session_dir / "plan-b" / METADATA)
    shutil.rmtree(session_dir / "plan-c")
    listed = aio("session", "list", "--json").json()["sessions"]
    by_name = {s["session_name"]: s for s in listed}
    assert set(by_name) == {"plan-a", "plan-b"}
    assert by_name["plan-a"]["interaction_count"] == 2
    assert by_name["plan-b"]["interaction_count"] == 1
    stats = aio("session", "stats", "--json").json()
    assert stats["total_sessions"] == 2 and stats["interactions"] == 3


def test_the_index_keeps_no_row_of_a_session_written_while_it_was_read(
    session_dir: Path,
) -> None:
    """Two listings committing out of order must not put back an older row."""
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    listing(store)
    slow = SummaryIndex(store)
    conn = slow._connect()
    assert conn is not None
    snap = slow._snapshot(conn)  # a listing that read the index, then stalled
    store.record(as_record("plan-a", interaction()))
    assert counts(store)["plan-a"] == 2  # a quicker listing commits
    store.record(as_record("plan-a", interaction()))
    slow._commit(conn, snap.generation, [], {}, {"plan-a"}, {"watermark": 0})
    conn.close()
    with sqlite3.connect(session_dir / INDEX_FILE) as db:
        watermark = db.execute("SELECT value FROM meta WHERE key = 'watermark'").fetchone()[0]
    assert watermark != 0  # the stale commit was refused
    assert counts(store)["plan-a"] == 3


def test_a_large_journal_is_replaced_by_a_rescan(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    listing(store)
    first = (session_dir / JOURNAL).read_bytes().split(b"\n")[0]
    monkeypatch.setattr(journal_module, "_REPLACE_AT", 100)
    for _ in range(5):
        store.record(as_record("plan-a", interaction()))
    assert (session_dir / JOURNAL).stat().st_size >= 100
    assert listing(store) == truth(store)
    assert (session_dir / JOURNAL).stat().st_size < 100  # a new journal, new identity
    assert (session_dir / JOURNAL).read_bytes().split(b"\n")[0] != first
    store.record(as_record("plan-a", interaction()))
    assert counts(store)["plan-a"] == 7


def test_an_index_being_set_up_by_another_listing_is_not_thrown_away(
    session_dir: Path,
) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    other = sqlite3.connect(session_dir / INDEX_FILE, isolation_level=None)
    other.execute("CREATE TABLE older (x)")  # an index of another version, not empty
    other.execute("BEGIN EXCLUSIVE")  # e.g. another listing replacing its tables
    try:
        assert listing(store) == truth(store)  # served from the files meanwhile
        assert (session_dir / INDEX_FILE).exists()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert listing(store) == truth(store)

"""The kept default listing (``index_query.KeptList``, ``SESSION_DIR/index.list``) is
used only for the exact index state it was computed for: after every kind of change (a
record, a hand edit, a removed session, a deleted index, a truncated or odd kept file)
``list --json`` is exactly what the session files say; and it really is used when
nothing changed."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.index import INDEX_FILE, SummaryIndex
from ai_orchestrator.store.index_query import LIST_CACHE, documents_of_rows
from ai_orchestrator.store.session_store import LOG
from ai_orchestrator.store.stats import active_cutoff
from tests.helpers import aio_inprocess as aio
from tests.helpers import as_record, interaction
from tests.store.test_journal import settle


def _listed(store: SessionStore) -> list[dict[str, Any]]:
    sessions: list[dict[str, Any]] = aio("session", "list", "--json").expect().json()["sessions"]
    return sessions


def _truth(store: SessionStore) -> list[dict[str, Any]]:
    """The default listing computed from rows read from the files (no index)."""
    (store.root / INDEX_FILE).unlink()
    rows, errors = SummaryIndex(store).rows()
    assert errors == []
    (store.root / INDEX_FILE).unlink()
    cutoff = active_cutoff(30, datetime.now(UTC))
    body = documents_of_rows(rows, "date", cutoff, False)[2]
    return [{k: v for k, v in d.items() if k != "problems"} for d in json.loads(b"[" + body + b"]")]


def _exact(store: SessionStore) -> None:
    """Two listings in a row (the second may use the kept body) both equal the truth."""
    first, second = _listed(store), _listed(store)
    third = _listed(store)
    truth = _truth(store)
    for got in (first, second, third):
        assert [{k: v for k, v in d.items() if k != "problems"} for d in got] == truth


def _populate(store: SessionStore) -> None:
    for i, name in enumerate(("plan-a", "review-b", "implement-c")):
        for j in range(i + 1):
            store.record(as_record(name, interaction(cost=0.1 * (i + j + 1))))
    settle(store.root)


def _generation(root: Path) -> int:
    with sqlite3.connect(root / INDEX_FILE) as conn:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])


def test_the_kept_body_is_used_only_for_its_own_index_state(session_dir: Path) -> None:
    store = SessionStore(session_dir)
    _populate(store)
    _listed(store)
    _listed(store)  # the index unchanged: the body is kept
    kept = session_dir / LIST_CACHE
    head, _, body = kept.read_bytes().partition(b"\n")
    assert head.split()[-2] == str(_generation(session_dir)).encode()
    # Proof that it is used: a planted body of the same length under the right tag shows.
    marker = json.dumps({"session_name": "planted"}).encode()
    kept.write_bytes(head + b"\n" + marker.ljust(len(body)))
    assert _listed(store) == [{"session_name": "planted"}]
    # Any change moves the index's state away from the tag: the truth again.
    store.record(as_record("plan-a", interaction(cost=0.7)))
    settle(session_dir)
    _exact(store)


def test_changes_the_journal_never_hears_of_are_seen(session_dir: Path) -> None:
    store = SessionStore(session_dir)
    _populate(store)
    _exact(store)
    log = session_dir / "review-b" / LOG
    with open(log, "ab") as f:  # an append by hand, in place
        f.write(log.read_bytes().splitlines(True)[0].replace(b'"id": "', b'"id": "x'))
    settle(session_dir)
    _exact(store)
    for entry in (session_dir / "implement-c").iterdir():
        entry.unlink()
    (session_dir / "implement-c").rmdir()
    _exact(store)


def test_a_new_index_never_takes_an_old_kept_body(session_dir: Path) -> None:
    store = SessionStore(session_dir)
    _populate(store)
    _listed(store)
    _listed(store)
    kept = (session_dir / LIST_CACHE).read_bytes()
    store.record(as_record("plan-z", interaction()))
    settle(session_dir)
    for name in (INDEX_FILE, f"{INDEX_FILE}-journal"):
        (session_dir / name).unlink(missing_ok=True)
    # The new index counts its generations from the start again: the old body's tag
    # names the old index's identity, so it is never taken for the new one's.
    (session_dir / LIST_CACHE).write_bytes(kept)
    for _ in range(3):
        assert "plan-z" in {d["session_name"] for d in _listed(store)}


def test_a_damaged_or_odd_kept_file_is_never_used(session_dir: Path) -> None:
    store = SessionStore(session_dir)
    _populate(store)
    _listed(store)
    _listed(store)
    kept = session_dir / LIST_CACHE
    data = kept.read_bytes()
    kept.write_bytes(data[:-10])  # torn
    _exact(store)
    kept.unlink(missing_ok=True)
    os.mkfifo(kept)  # never blocks a listing
    _exact(store)
    kept.unlink()
    target = session_dir / "plan-a" / LOG
    before = target.read_bytes()
    kept.symlink_to(target)
    _exact(store)
    assert target.read_bytes() == before  # replaced by rename, never written through
    assert store.discover().foreign == []  # the kept file is aio's own, never "not aio's"

"""The index's lean first read (``store.index_lean``) gives exactly what ``load`` gives.

A first listing (no index) reads plain sessions the lean way and everything else through
``SessionStore.load``. The same varied store, with odd sessions of every kind the lean
read must refuse, is listed twice from scratch: once with the lean read switched off (the
old path: every session through ``load``) and once with it; rows, errors, what the index
stored and what the listing did to the files must be the same.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.store import SessionStore
from ai_orchestrator.store import index as index_module
from ai_orchestrator.store.index import INDEX_FILE, SummaryIndex
from ai_orchestrator.store.index_lean import lean_read as real_lean
from ai_orchestrator.store.journal import JOURNAL
from ai_orchestrator.store.session_store import LOG, METADATA
from tests.helpers import as_record, interaction

PLAIN = [f"plan-plain{i}" for i in range(6)]


def _build_template(template: Path) -> None:
    """Sessions written by aio itself, one per odd case below plus plain ones."""
    store = SessionStore(template)
    names = [
        *PLAIN,
        "plan-loosemeta",
        "plan-looselog",
        "plan-loosedir",
        "plan-fifolock",
        "plan-linkrunlock",
        "plan-dirpending",
        "plan-looselock",
        "plan-appended",
        "plan-notjson",
        "plan-nometa",
        "plan-pretty",
        "plan-nan",
        "plan-othername",
        "plan-corruptline",
        "plan-linkmeta",
        "plan-execmeta",
        "plan-bom",
    ]
    for n, name in enumerate(names):
        for i in range(1 + n % 3):
            raw = interaction(
                timestamp=f"2026-10-0{1 + i}T10:0{n % 10}:00Z",
                prompt=f"prompt {i} of {name} — ünïcode",
                cost=0.01 * (i + 1),
                model=["claude-sonnet-4-5", "gpt-5-codex"][i % 2],
            )
            store.record(as_record(name, raw))
    # A listing never changes a plain session; the odd ones are made in ``_materialise``.
    for entry in (INDEX_FILE, f"{INDEX_FILE}-journal", JOURNAL, "index.list"):
        (template / entry).unlink(missing_ok=True)


def _summary(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((path / METADATA).read_bytes())
    return data


def _materialise(template: Path, root: Path) -> None:
    """``root``: a copy of ``template`` (modes and times kept), then every odd case."""
    shutil.copytree(template, root, symlinks=True)
    (root / "plan-loosemeta" / METADATA).chmod(0o644)
    (root / "plan-looselog" / LOG).chmod(0o640)
    (root / "plan-loosedir").chmod(0o755)
    (root / "plan-fifolock" / ".lock").unlink(missing_ok=True)  # the write lock aio left
    os.mkfifo(root / "plan-fifolock" / ".lock")
    (root / "plan-linkrunlock" / ".run.lock").unlink(missing_ok=True)
    (root / "plan-linkrunlock" / ".run.lock").symlink_to("/dev/null")
    (root / "plan-dirpending" / "pending-call.json").mkdir()
    (root / "plan-looselock" / ".lock").write_text("")
    (root / "plan-looselock" / ".lock").chmod(0o666)
    with open(root / "plan-appended" / LOG, "ab") as log:  # a hand edit: summary stale
        line = json.loads((root / "plan-appended" / LOG).read_bytes().splitlines()[0])
        line["id"] = "hand-added"
        log.write(json.dumps(line).encode() + b"\n")
    (root / "plan-notjson" / METADATA).write_bytes(b"{not json")
    (root / "plan-nometa" / METADATA).unlink()
    pretty = root / "plan-pretty"
    (pretty / METADATA).write_text(json.dumps(_summary(pretty), indent=2))  # valid, not ours
    nan = root / "plan-nan"
    text = json.dumps(_summary(nan)).replace('"savings": 0.0', '"savings": NaN', 1)
    (nan / METADATA).write_text(text)
    other = root / "plan-othername"
    (other / METADATA).write_text(json.dumps({**_summary(other), "session_name": "plan-x"}))
    with open(root / "plan-corruptline" / LOG, "ab") as log:
        log.write(b"{torn")
    linked = root / "plan-linkmeta"
    (linked / METADATA).rename(linked / "elsewhere.json")
    (linked / METADATA).symlink_to("elsewhere.json")
    (root / "plan-execmeta" / METADATA).chmod(0o700)
    bom = root / "plan-bom"
    (bom / METADATA).write_bytes(b"\xef\xbb\xbf" + (bom / METADATA).read_bytes())
    for entry in root.rglob("*"):  # settled files: the rows are cached, not UNSETTLED
        if not entry.is_symlink() and not stat.S_ISFIFO(entry.lstat().st_mode):
            os.utime(entry, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    os.utime(root, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))


def _state(root: Path) -> dict[str, Any]:
    """Every entry under ``root`` (mode, content of regular files) but the index's own."""
    out: dict[str, Any] = {}
    for entry in sorted(root.rglob("*")):
        rel = str(entry.relative_to(root))
        if rel.startswith((INDEX_FILE, JOURNAL, "index.list")):
            continue
        st = entry.lstat()
        content = entry.read_bytes() if stat.S_ISREG(st.st_mode) else None
        out[rel] = (stat.filemode(st.st_mode), content)
    return out


def _same(value: object) -> str:
    """``value`` as text, the kept copy of a damaged summary named without its moment,
    process and random part (``metadata.corrupt-<stamp>-<unique>.json``)."""
    return re.sub(r"metadata\.corrupt-[0-9TZ]+-[0-9a-f-]+\.json", "metadata.corrupt-*.json",
                  repr(value))  # fmt: skip


def _first_listing(root: Path) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]], Any]:
    rows, errors = SummaryIndex(SessionStore(root)).rows(rescan=True)
    with sqlite3.connect(root / INDEX_FILE) as conn:
        stored = conn.execute("SELECT * FROM sessions ORDER BY name").fetchall()
        docs = conn.execute("SELECT * FROM docs ORDER BY name").fetchall()
        recheck = conn.execute("SELECT * FROM recheck ORDER BY name").fetchall()
    # the signature holds inodes (a fresh copy each time): compare whether one was stored
    stored = [(r[0], bool(r[1]), *r[2:]) for r in stored]
    return [tuple(r) for r in rows], errors, (stored, docs, recheck)


def test_a_first_listing_through_the_lean_read_equals_one_through_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template, root = tmp_path / "template", tmp_path / "store"
    _build_template(template)
    lean_rows: list[str] = []

    def counted(prefix: str, name: str, log_st: Any) -> Any:
        got = real_lean(prefix, name, log_st)
        if got is not None:
            lean_rows.append(name)
        return got

    _materialise(template, root)
    monkeypatch.setattr(index_module, "lean_read", lambda *_: None)  # the old path
    old = _first_listing(root)
    old_state = _state(root)
    shutil.rmtree(root)

    _materialise(template, root)
    monkeypatch.setattr(index_module, "lean_read", counted)
    new = _first_listing(root)
    assert _same(new[0]) == _same(old[0])  # rows, documents included, byte for byte
    assert _same(new[1]) == _same(old[1])  # unreadable sessions and their messages
    assert _same(new[2]) == _same(old[2])  # what the index stored, and what it rechecks
    assert _same(_state(root)) == _same(old_state)  # the same repairs and modes, no more
    # The lean read served the plain sessions and refused every odd one.
    assert sorted(lean_rows) == sorted([*PLAIN, "plan-pretty"])
    assert len(old[0]) + len(old[1]) == len(PLAIN) + 17
    # Odd ones really were odd: some rows carry problems, some sessions are unreadable.
    assert any(json.loads(r[17]) for r in new[0]) and new[1]


def test_a_listing_after_the_lean_first_read_is_served_from_the_index(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore()
    for name in PLAIN:
        store.record(as_record(name, interaction(timestamp="2026-10-01T10:00:00Z")))
    for entry in session_dir.rglob("*"):
        os.utime(entry, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    first, _ = SummaryIndex(store).rows(rescan=True)
    reads: list[str] = []
    monkeypatch.setattr(index_module, "lean_read", lambda _p, n, _s: reads.append(n))
    again, _ = SummaryIndex(store).rows()
    assert reads == []  # every row came from the index: the signatures matched

    def seen(rows: list[Any]) -> list[tuple[Any, ...]]:
        return [(r.name, bytes(r.doc_bytes), r.interactions, r.cost) for r in rows]

    assert seen(again) == seen(first) and len(first) == len(PLAIN)

"""A derived SQLite index of session summaries, so ``list`` and ``stats`` stay fast.

``SESSION_DIR/index.sqlite`` caches, per session, the summary document that ``load``
produced plus the numbers ``list``/``stats`` sort and add up. It is a cache and nothing
else: the session files stay the truth, writers never touch the index, and deleting it
loses nothing (the next listing rebuilds it).

Freshness: each row stores a *signature* of the session's files — ``lstat`` of
``metadata.json`` and ``interactions.jsonl`` (inode, size, mtime). Every write to a
session changes it (the summary is replaced by rename, the log grows), so a row whose
signature matches describes exactly what ``load`` would return; any other session is
loaded from its files (validating, repairing, tightening modes) and its row replaced.
A file with a loose mode, a foreign owner or of an odd type never matches, so it always
takes the slow, enforcing path. Only rows without problems are cached.

If the index cannot be opened or written (locked by another process, corrupt, read-only
file system) the caller still gets correct rows, computed from the files.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from stat import S_ISREG
from typing import Any

from ai_orchestrator.core.interaction import TOKEN_KEYS
from ai_orchestrator.infra.fsutil import tighten_path
from ai_orchestrator.store.discovery import Discovery
from ai_orchestrator.store.session_store import LOG, METADATA, SessionStore, SessionView
from ai_orchestrator.store.summary import last_activity

INDEX_FILE = "index.sqlite"
_UID = os.geteuid()
_INDEX_VERSION = 3  # 2: per-model savings and unpriced counts; 3: reported-only cost
_INT64 = 2**63
_COLUMNS = (
    "name",
    "sig",
    "last_activity",
    "command",
    "feature_id",
    "interactions",
    "failed",
    "unpriced",
    "tok_input",
    "tok_output",
    "tok_cache_read",
    "tok_cache_write",
    "tok_reasoning",
    "cost",
    "savings",
    "reported",
    "reported_by",
    "problems",
    "doc",
)


@dataclass
class SessionRow:
    """What ``list`` and ``stats`` need of one session; ``doc`` is its JSON document."""

    name: str
    doc: str
    last_activity: str | None
    command: str
    feature_id: str
    interactions: int
    failed: int
    unpriced: int
    tokens: dict[str, int]
    cost: float
    savings: float
    problems: list[str] = field(default_factory=list)
    reported: float = 0.0  # the part of ``cost`` that is only the agents' own figure
    reported_by: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # SessionView.refused (never cached)

    @cached_property
    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.doc)
        return data

    @classmethod
    def from_view(cls, view: SessionView) -> SessionRow:
        s = view.summary
        return cls(
            name=view.name,
            doc=json.dumps(view.to_dict(), ensure_ascii=False),
            last_activity=last_activity(s),
            command=s["command"],
            feature_id=s["feature_id"],
            interactions=int(s["interaction_count"]),
            failed=int(s.get("failed_interactions", 0)),
            unpriced=int(s.get("unpriced_interactions", 0)),
            tokens={k: int(s["tokens"].get(k, 0)) for k in TOKEN_KEYS},
            cost=float(s["cost"]),
            savings=float(s.get("savings", 0.0)),
            problems=list(view.problems),
            reported=float(s.get("cost_reported") or 0.0),
            reported_by=[str(a) for a in s.get("cost_reported_by") or []],
            refused=list(view.refused),
        )

    def values(self, sig: str) -> tuple[object, ...]:
        return (
            self.name,
            sig,
            self.last_activity,
            self.command,
            self.feature_id,
            self.interactions,
            self.failed,
            self.unpriced,
            *(self.tokens[k] for k in TOKEN_KEYS),
            self.cost,
            self.savings,
            self.reported,
            json.dumps(self.reported_by),
            json.dumps(self.problems),
            self.doc,
        )

    def fits_sqlite(self) -> bool:
        """SQLite integers are 64-bit; a row beyond that is served uncached."""
        numbers = (self.interactions, self.failed, self.unpriced, *self.tokens.values())
        return all(-_INT64 <= n < _INT64 for n in numbers)

    @classmethod
    def from_db(cls, row: tuple[Any, ...]) -> SessionRow:
        (name, _sig, last, command, feature, inter, failed, unpriced, *rest) = row
        tokens = dict(zip(TOKEN_KEYS, rest[:5], strict=True))
        cost, savings, reported, reported_by, problems, doc = rest[5:]
        return cls(
            name=name,
            doc=doc,
            last_activity=last,
            command=command,
            feature_id=feature,
            interactions=inter,
            failed=failed,
            unpriced=unpriced,
            tokens=tokens,
            cost=cost,
            savings=savings,
            problems=json.loads(problems) if problems != "[]" else [],
            reported=reported,
            reported_by=json.loads(reported_by) if reported_by != "[]" else [],
        )


def _signature(session_path: str, log_st: os.stat_result | None = None) -> str | None:
    """Stat signature of a session's files, or ``None`` if it must be loaded the slow way.

    Three ``lstat`` calls per session (they dominate a warm listing of 10,000 sessions):
    the summary is always replaced by rename (new inode) and the log only grows, so
    (inode, size, mtime) of both catch every write, including hand edits in place; the
    directory's mtime catches an entry replaced (e.g. a lock by a FIFO, see ``load``).
    """
    try:
        parts = [str(os.lstat(session_path).st_mtime_ns)]
    except OSError:
        return None
    for name in (METADATA, LOG):
        try:
            # the log's lstat from the discovery scan, if it made one (same instant)
            st = log_st if name == LOG and log_st else os.lstat(f"{session_path}/{name}")
        except FileNotFoundError:
            parts.append("-")
            continue
        except OSError:
            return None
        # Anything unusual (symlink, loose mode, no read/write for us, foreign owner) goes
        # through ``load``, which enforces the rules or reports the problem.
        if st.st_mode & 0o677 != 0o600 or st.st_uid != _UID or not S_ISREG(st.st_mode):
            return None
        parts.append(f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _plain_files(index_path: str) -> bool:
    """True if the index and its SQLite side files are regular files or absent: SQLite
    opens them blocking and follows links, so anything else means rows come from the
    session files instead."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            st = os.lstat(index_path + suffix)
        except FileNotFoundError:
            continue
        except OSError:
            return False
        if not S_ISREG(st.st_mode):
            return False
    return True


class SummaryIndex:
    """Rows for every session in ``store``, served from the cache where it is fresh."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.path = store.root / INDEX_FILE

    def _connect(self) -> sqlite3.Connection | None:
        try:
            if not _plain_files(str(self.path)):
                return None  # never follow a planted link or block on a FIFO
            conn = sqlite3.connect(self.path, timeout=0.5, isolation_level=None)
            # SQLite creates the file with the umask's mode; the index holds prompts'
            # previews, so it is private like everything else (also if it was loose).
            with contextlib.suppress(OSError):
                tighten_path(self.path)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != _INDEX_VERSION:
                conn.execute("DROP TABLE IF EXISTS sessions")
                columns = ", ".join(f"{c} TEXT PRIMARY KEY" if c == "name" else c for c in _COLUMNS)
                conn.execute(f"CREATE TABLE sessions ({columns})")
                conn.execute(f"PRAGMA user_version = {_INDEX_VERSION}")
            return conn
        except sqlite3.Error:
            # A corrupt cache is worth nothing: drop it so the next run starts clean.
            with contextlib.suppress(OSError):
                if self.path.exists() and self.path.stat().st_size:
                    self.path.unlink()
            return None

    def rows(
        self, found: Discovery | None = None
    ) -> tuple[list[SessionRow], list[tuple[str, str]]]:
        """All sessions (name order; ``found``: the caller's ``store.discover()``) and
        ``(name, error)`` for unreadable directories."""
        found = self.store.discover() if found is None else found
        names, log_stats = found.sessions, found.log_stats
        if not names:
            return [], []
        root = str(self.store.root)
        conn = self._connect()
        cached: dict[str, tuple[Any, ...]] = {}
        if conn is not None:
            try:
                cached = {
                    r[0]: r for r in conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM sessions")
                }
            except sqlite3.Error:
                cached = {}
        rows: list[SessionRow] = []
        errors: list[tuple[str, str]] = []
        stale: list[tuple[object, ...]] = []
        for name in names:
            sig = _signature(f"{root}/{name}", log_stats.get(name))
            hit = cached.get(name)
            if sig is not None and hit is not None and hit[1] == sig:
                rows.append(SessionRow.from_db(hit))
                continue
            try:
                view = self.store.load(name, _root_checked=True)
            except Exception as exc:  # one bad directory must not hide the others
                errors.append((name, str(exc)))
                continue
            row = SessionRow.from_view(view)
            rows.append(row)
            fresh_sig = _signature(f"{root}/{name}")  # load may have repaired files
            if fresh_sig is not None and not view.problems and row.fits_sqlite():
                stale.append(row.values(fresh_sig))
        if conn is not None:
            self._save(conn, stale, set(cached) - set(names))
            conn.close()
        return rows, errors

    @staticmethod
    def _save(
        conn: sqlite3.Connection, stale: Iterable[tuple[object, ...]], gone: set[str]
    ) -> None:
        placeholders = ", ".join("?" for _ in _COLUMNS)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(f"INSERT OR REPLACE INTO sessions VALUES ({placeholders})", stale)
            conn.executemany("DELETE FROM sessions WHERE name = ?", [(n,) for n in gone])
            conn.execute("COMMIT")
        except (sqlite3.Error, OverflowError):
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")  # busy or read-only: the cache just stays stale


def unreadable_entries(
    rows: Iterable[SessionRow], errors: Iterable[tuple[str, str]]
) -> list[dict[str, str]]:
    """``{session_name, error}`` for each session ``SummaryIndex.rows`` could not read, then
    for each odd file that makes record, clean and repair refuse a listed one (``refused``)."""
    unreadable = [{"session_name": name, "error": problem} for name, problem in errors]
    unreadable += [{"session_name": r.name, "error": odd} for r in rows for odd in r.refused]
    return unreadable

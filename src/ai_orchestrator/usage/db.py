"""The usage index file: ``SESSION_DIR/usage/usage.sqlite`` (schema, open, write helpers).

Tables
    ``req``: one row per API request (``origin`` ``t``: read from an agent's file; ``a``: an
    interaction aio recorded, one row per model of the call). Token columns follow
    ``core.usage.ModelUsage`` (``input`` excludes cache reads and writes, ``output``
    includes reasoning). ``cost``/``cost_source`` (``computed``, ``reported``: only the
    agent's own figure, ``unpriced``: no price known, cost 0 and never shown as a figure).
    ``covered``: the aio interaction this request was already recorded in (never counted
    again); ``replay``: a sidechain copy of a main-chain message (never counted).
    ``files``: per source file its identity (dev, inode), size, mtime, the offset read up to
    and the parser state (a SQLite store: the rowid read up to, its ``-wal``'s size and mtime
    and the part id at the rowid: ``usage.opencode_db``). ``aio_calls``/``aio_msgs``: the
    windows and message ids of aio's own calls (what ``covered`` is matched against).
    ``reported``: the agents' own session figures (statusline). ``hook_sessions``: sessions
    announced by hooks. ``meta``.

Crash safety: WAL journal; a file's rows and its new offset are written in one transaction,
so a sync killed at any instant leaves the index as it was after the last commit and the
next sync continues from there. The index is derived: deleting it loses only the history of
transcripts the agents have deleted since (``docs/usage.md``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from ai_orchestrator.core import env

VERSION = 1
DIR = env.USAGE_DIR  # core.env is stdlib only: the statusline starts lean
FILE = "usage.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files(
  path TEXT PRIMARY KEY, kind TEXT NOT NULL, dev INTEGER, ino INTEGER, size INTEGER,
  mtime_ns INTEGER, offset INTEGER NOT NULL DEFAULT 0, state TEXT);
CREATE TABLE IF NOT EXISTS req(
  key TEXT PRIMARY KEY, origin TEXT NOT NULL, agent TEXT NOT NULL, model TEXT NOT NULL,
  ts INTEGER NOT NULL, session TEXT, project TEXT, branch TEXT,
  input INTEGER NOT NULL, output INTEGER NOT NULL, cache_read INTEGER NOT NULL,
  cache_write_5m INTEGER NOT NULL, cache_write_1h INTEGER NOT NULL, reasoning INTEGER NOT NULL,
  requests INTEGER NOT NULL, cost REAL NOT NULL, cost_source TEXT NOT NULL, reported_cost REAL,
  note TEXT, msg_id TEXT, sidechain INTEGER NOT NULL DEFAULT 0, replay INTEGER NOT NULL DEFAULT 0,
  covered TEXT, feature TEXT, task TEXT, aio_session TEXT, gen INTEGER NOT NULL DEFAULT 0);
{req_indexes}
CREATE TABLE IF NOT EXISTS aio_calls(
  id TEXT PRIMARY KEY, agent TEXT, session TEXT, start INTEGER, end INTEGER,
  feature TEXT, task TEXT, aio_session TEXT, gen INTEGER NOT NULL DEFAULT 0, budget REAL);
CREATE INDEX IF NOT EXISTS aio_calls_session ON aio_calls(session);
CREATE TABLE IF NOT EXISTS aio_msgs(msg_id TEXT PRIMARY KEY, call TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reported(
  agent TEXT NOT NULL, session TEXT NOT NULL, ts INTEGER NOT NULL, cost REAL,
  data TEXT, PRIMARY KEY(agent, session));
CREATE TABLE IF NOT EXISTS hook_sessions(
  agent TEXT NOT NULL, session TEXT NOT NULL, transcript TEXT, cwd TEXT, first_ts INTEGER,
  last_ts INTEGER, last_event TEXT, events INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(agent, session));
"""
# ``req``'s secondary indexes: a first sync builds them after its rows are in (``sync``),
# every sync makes sure they exist (so one interrupted mid-build gets them back).
REQ_INDEXES = {
    "req_ts": "req(ts)",
    "req_msg": "req(msg_id) WHERE msg_id IS NOT NULL",
    "req_session": "req(session)",
    "req_gen": "req(gen)",
    "req_side": "req(msg_id) WHERE sidechain = 1",  # the few sidechain rows (replays)
}
_CREATE_INDEXES = "".join(
    f"CREATE INDEX IF NOT EXISTS {name} ON {on};" for name, on in REQ_INDEXES.items()
)
_SCHEMA = _SCHEMA.replace("{req_indexes}", _CREATE_INDEXES)

REQ_COLUMNS = (
    "key", "origin", "agent", "model", "ts", "session", "project", "branch",
    "input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning",
    "requests", "cost", "cost_source", "reported_cost", "note", "msg_id", "sidechain",
    "feature", "task", "aio_session", "gen",
)  # fmt: skip
_UPDATED = [c for c in REQ_COLUMNS if c not in ("key", "origin", "sidechain")]
_SET = ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
_INSERT = f"INSERT INTO req({', '.join(REQ_COLUMNS)}) VALUES ({', '.join('?' * len(REQ_COLUMNS))})"
_TOKENS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")


def _total(table: str) -> str:
    return " + ".join(f"{table}.{c}" for c in _TOKENS)


# The most complete snapshot wins (a tie: the later one); feature/task found earlier stay.
UPSERT_MAX = (
    f"{_INSERT} ON CONFLICT(key) DO UPDATE SET {_SET}, "
    "feature = coalesce(req.feature, excluded.feature), task = coalesce(req.task, excluded.task) "
    f"WHERE {_total('excluded')} >= {_total('req')}"
)
UPSERT_LAST = f"{_INSERT} ON CONFLICT(key) DO UPDATE SET {_SET}"


def drop_req_indexes(conn: sqlite3.Connection) -> None:
    """Before a first sync fills an empty ``req``: inserting without the secondary indexes
    and building them once at the end (``create_req_indexes``) is the cheaper order."""
    conn.executescript(
        "BEGIN IMMEDIATE;" + "".join(f"DROP INDEX IF EXISTS {n};" for n in REQ_INDEXES) + "COMMIT;"
    )


def create_req_indexes(conn: sqlite3.Connection) -> None:
    conn.executescript(f"BEGIN IMMEDIATE;{_CREATE_INDEXES}COMMIT;")


def memory_index() -> sqlite3.Connection:
    """An empty index in memory, same schema: reports over rows from elsewhere (the team's)."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.executescript(_SCHEMA)
    return db


def index_dir(store_root: Path) -> Path:
    return store_root / DIR


def index_path(store_root: Path) -> Path:
    return index_dir(store_root) / FILE


def connect(path: Path, *, timeout: float = 30.0, create: bool = True) -> sqlite3.Connection:
    """Open (and if needed create) the index; raises ``sqlite3.Error``/``OSError``."""
    if not create and not path.exists():
        raise FileNotFoundError(path)
    if create and not path.parent.is_dir():
        from ai_orchestrator.infra.fsutil import ensure_private_dir

        ensure_private_dir(path.parent, what="usage index directory")
    db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, VERSION):
            db.close()
            raise sqlite3.DatabaseError(f"usage index version {version} (expected {VERSION})")
        if version == 0 and create:
            db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={VERSION};COMMIT;")
    except BaseException:
        db.close()
        raise
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.chmod(f"{path}{suffix}", 0o600)
    return db

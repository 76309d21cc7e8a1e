"""``sync``: bring the usage index up to date, reading only what changed since the last sync.

Order: the hook spool (sessions announced by hooks, statusline figures), aio's own
interactions (``aio_source``), then every agent file (``sources.discover``). Per file the
index keeps its identity (dev, inode), size, mtime, the offset read up to (always the end of
a complete line) and the parser state. A file whose identity changed or that shrank is read
again from the start (rows are keyed, so reading twice adds nothing); an unchanged one is
not opened; a grown one is read from its offset — unless its first bytes changed (``fileid``:
a file deleted and written again can get the freed inode back, at any size), which is read
again from the start too. Lines longer than ``MAX_LINE`` are skipped.
A SQLite store (OpenCode's) is read from its rowid watermark when it or its ``-wal`` changed
(``usage.opencode_db``).

A sync that reads more than ``PARALLEL_BYTES`` parses the files in ``WORKERS`` forked
processes (biggest first), which also price them (``rows.Rows``); the parent alone writes the
index, per file, as they finish. A worker lets go of the sync lock and dies with the parent
(so a killed sync leaves no worker holding the lock). A first sync (``req`` empty) inserts
without ``req``'s secondary indexes and builds them at its end; every sync makes sure they
exist, so one that was interrupted mid-build gets them back.

Crash safety: a file's rows and its new offset are committed in one transaction (a long file
commits every ``COMMIT_BYTES``), so Ctrl-C or SIGKILL at any instant loses nothing already
committed and the next sync continues from the last commit. One sync runs at a time
(``usage/sync.lock``); a second one waits for it.

After reading, the generation's new rows are settled in SQL: sidechain replays, rows covered
by aio's own calls (``aio_source``), and the feature/task of interactive rows (an aio-driven
agent session, else a git branch named after a feature: ``<id>`` or ``…/<id>``). Last, the
per-day rollup the daily reports read is brought up to date (``rollup.refresh``).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_orchestrator.core import env
from ai_orchestrator.usage import db as usage_db
from ai_orchestrator.usage import fileid, rollup
from ai_orchestrator.usage.rows import Row as _Row
from ai_orchestrator.usage.rows import Rows as _Rows
from ai_orchestrator.usage.settle import settle
from ai_orchestrator.usage.sources import DATABASES, WHOLE_FILE, Source, discover
from ai_orchestrator.usage.spool import KEEP_DAYS

if TYPE_CHECKING:
    from ai_orchestrator.store.session_store import SessionStore
    from ai_orchestrator.usage.parsers import Request

# What a warm sync (nothing changed) needs is imported above; the parsers, the pricer and
# the session store (with its redaction rules) only when there is something to read.
LOG = "interactions.jsonl"  # store.logfile.LOG: the name of a session's interaction log

CHUNK = 16 * 1024 * 1024
MAX_LINE = 64 * 1024 * 1024
COMMIT_BYTES = 64 * 1024 * 1024
COMMIT_SECONDS = 1.0
PARALLEL_BYTES = 256 * 1024 * 1024  # a sync reading more parses in WORKERS processes
WORKERS = 2
CACHE_KIB = 32 * 1024  # the sync connection's SQLite page cache
CHECKPOINT_PAGES = 16 * 1024  # WAL pages between checkpoints (64 MiB at 4 KiB pages)
Progress = Callable[[int, int, int, int], None]  # files done, files, bytes done, bytes


@dataclass
class SyncReport:
    """What one sync did."""

    files: int = 0
    files_read: int = 0
    bytes_read: int = 0
    requests: int = 0
    aio_calls: int = 0
    hook_events: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)  # files that could not be read, why

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files, "files_read": self.files_read, "bytes_read": self.bytes_read,
            "requests": self.requests, "aio_calls": self.aio_calls,
            "hook_events": self.hook_events, "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
        }  # fmt: skip


@dataclass
class _File:
    kind: str
    dev: int | None
    ino: int | None
    size: int
    mtime_ns: int
    offset: int
    state: dict[str, Any]


def store_root(given: Path | None = None) -> Path:
    """``SESSION_DIR`` as the store resolves it (cheap when it exists and is no symlink)."""
    raw = (
        given
        if given is not None
        else Path(env.session_dir())
    )
    path = Path(raw).expanduser().absolute()
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            return path
    except OSError:
        pass
    from ai_orchestrator.store.session_store import SessionStore

    store = SessionStore(path)
    store.ensure_root()
    return store.root


def open_index(root: Path | None = None, *, timeout: float = 30.0) -> sqlite3.Connection:
    return usage_db.connect(usage_db.index_path(store_root(root)), timeout=timeout)


class _Writer:
    """Rows and offsets of one sync, committed together (see the module docstring)."""

    def __init__(self, conn: sqlite3.Connection, rows: _Rows) -> None:
        self.conn, self.to_rows = conn, rows
        self.pending_bytes = 0
        self.last_commit = time.monotonic()
        self.rows = 0
        conn.execute("BEGIN IMMEDIATE")

    def requests(self, found: list[Request]) -> None:
        self.write(*self.to_rows(found))

    def write(self, most: list[_Row], last: list[_Row]) -> None:
        if most:
            self.conn.executemany(usage_db.UPSERT_MAX, most)
        if last:
            self.conn.executemany(usage_db.UPSERT_LAST, last)
        self.rows += len(most) + len(last)

    def file_done(self, path: str, f: _File, read: int) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO files(path, kind, dev, ino, size, mtime_ns, offset, state)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (path, f.kind, f.dev, f.ino, f.size, f.mtime_ns, f.offset, json.dumps(f.state)),
        )
        self.pending_bytes += read
        if (
            self.pending_bytes >= COMMIT_BYTES
            or time.monotonic() - self.last_commit >= COMMIT_SECONDS
        ):
            self.commit()

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN IMMEDIATE")
        self.pending_bytes, self.last_commit = 0, time.monotonic()


def _load_files(conn: sqlite3.Connection) -> dict[str, _File]:
    out = {}
    for path, kind, dev, ino, size, mtime_ns, offset, state in conn.execute(
        "SELECT path, kind, dev, ino, size, mtime_ns, offset, state FROM files"
    ):
        try:
            parsed = json.loads(state) if state else {}
        except ValueError:
            parsed = {}
        out[path] = _File(kind, dev, ino, size or 0, mtime_ns or 0, offset or 0, parsed)
    return out


def _plan(source: Source, st: os.stat_result, known: _File | None) -> _File | None:
    """The file's state to read from, or ``None`` when nothing changed."""
    fresh = _File(source.kind, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, 0, {})
    if (
        known is None
        or known.kind != source.kind
        or (known.dev, known.ino)
        != (
            st.st_dev,
            st.st_ino,
        )
    ):
        return fresh
    if st.st_size == known.size and st.st_mtime_ns == known.mtime_ns:
        return None
    if source.kind in WHOLE_FILE or st.st_size < known.offset:
        return fresh  # rewritten or truncated: read again from the start
    return _File(source.kind, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                 known.offset, known.state)  # fmt: skip


class _Steps:
    """A worker's stand-in for ``_Writer``: the priced rows and offsets to write, in order,
    replayed by the parent (the parent alone writes the index, so a file's rows and offsets
    commit together)."""

    def __init__(self, rows: _Rows) -> None:
        self.to_rows = rows
        self.steps: list[tuple[list[_Row], list[_Row], int, dict[str, Any], int]] = []
        self.most: list[_Row] = []
        self.last: list[_Row] = []

    def requests(self, found: list[Request]) -> None:
        most, last = self.to_rows(found)
        self.most += most
        self.last += last

    def file_done(self, path: str, f: _File, read: int) -> None:
        self.steps.append((self.most, self.last, f.offset, json.loads(json.dumps(f.state)), read))
        self.most, self.last = [], []


_Step = tuple[list[_Row], list[_Row], int, dict[str, Any], int]
_worker_rows: _Rows | None = None  # in a worker: the parent's ``_Rows`` (``_worker_init``)


def _worker_init(rows: _Rows, lock: int, parent: int) -> None:
    """A worker: the parent's ``_Rows``; it lets go of the sync lock (a worker outliving a
    killed parent must not hold it) and dies with the parent."""
    from ai_orchestrator.agents.process.subreaper import die_with_parent

    global _worker_rows
    _worker_rows = rows
    os.close(lock)
    die_with_parent(parent)


def _parse_file(source: Source, plan: _File) -> tuple[list[_Step], int, int, int, str | None]:
    """In a worker process: read one file (``_read_file`` into ``_Steps``); (steps, bytes,
    size, mtime, error)."""
    assert _worker_rows is not None
    steps = _Steps(_worker_rows)
    opened = fileid.open_regular(source.path)
    if opened is None:
        return [], 0, plan.size, plan.mtime_ns, "not a regular file"
    fd, st = opened
    try:
        if (st.st_dev, st.st_ino) != (plan.dev, plan.ino) or st.st_size < plan.offset:
            return [], 0, plan.size, plan.mtime_ns, "replaced"
        plan.size, plan.mtime_ns = st.st_size, st.st_mtime_ns
        read = _read_file(steps, source, fd, plan, lambda n: None)
        return steps.steps, read, plan.size, plan.mtime_ns, None
    except OSError as exc:
        return [], 0, plan.size, plan.mtime_ns, exc.strerror or str(exc)
    finally:
        os.close(fd)


def _read_parallel(
    writer: _Writer, work: list[tuple[Source, _File]], report: SyncReport,
    tick: Callable[[int, int], None], lock: int,
) -> None:  # fmt: skip
    """``work`` parsed and priced by ``WORKERS`` forked processes, biggest files first; the
    rows and offsets are written here, per file, in the order the files finish."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ordered = sorted(work, key=lambda item: item[1].offset - item[1].size)
    context = multiprocessing.get_context("fork")  # forked: the initializer's args unpickled
    with ProcessPoolExecutor(
        max_workers=WORKERS,
        mp_context=context,
        initializer=_worker_init,
        initargs=(writer.to_rows, lock, os.getpid()),
    ) as pool:
        futures = {pool.submit(_parse_file, s, f): (s, f) for s, f in ordered}
        try:
            for done, future in enumerate(as_completed(futures), 1):
                source, plan = futures.pop(future)  # a finished file's rows: not kept
                steps, read, plan.size, plan.mtime_ns, error = future.result()
                del future
                if error == "replaced":
                    continue
                if error is not None:
                    report.skipped.append(f"{source.path}: {error}")
                    continue
                for most, last, offset, state, n in steps:
                    writer.write(most, last)
                    plan.offset, plan.state = offset, state
                    writer.file_done(source.path, plan, n)
                report.bytes_read += read
                report.files_read += 1
                tick(done, read)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _read_file(
    writer: _Writer | _Steps, source: Source, fd: int, f: _File, tick: Callable[[int], None]
) -> int:
    """Read ``source`` from ``f.offset`` to its end (complete lines only); bytes read."""
    from ai_orchestrator.usage.parsers import PARSERS

    parse = PARSERS[source.kind]
    if source.kind in WHOLE_FILE:
        data = os.pread(fd, min(f.size, MAX_LINE), 0) if f.size <= MAX_LINE else b""
        writer.requests(parse(data, f.state, source.path))
        f.offset = f.size
        writer.file_done(source.path, f, len(data))
        tick(len(data))
        return len(data)
    if f.offset and not fileid.same_head(fd, f.state):
        f.offset, f.state = 0, {}  # another file on the same inode: read it whole
    fileid.note_head(fd, f.size, f.state)
    total = 0
    carry = b""
    skipping = False
    position = f.offset
    while position < f.size:
        data = os.pread(fd, min(CHUNK, f.size - position), position)
        if not data:
            break
        position += len(data)
        total += len(data)
        tick(len(data))
        if skipping:
            cut = data.find(b"\n")
            if cut < 0:
                f.offset = position
                continue
            data, skipping = data[cut + 1 :], False
            f.offset = position - len(data)
        buffer = carry + data if carry else data
        end = buffer.rfind(b"\n")
        if end < 0:
            carry = buffer
            if len(carry) > MAX_LINE:
                carry, skipping = b"", True
                f.offset = position
            continue
        complete, carry = buffer[: end + 1], buffer[end + 1 :]
        writer.requests(parse(complete, f.state, source.path))
        f.offset = position - len(carry)
        writer.file_done(source.path, f, len(complete))
    writer.file_done(source.path, f, 0)
    return total


def _session_names(root: Path) -> list[str]:
    """Session directories (``<command>-<feature>`` holding an interaction log)."""
    try:
        with os.scandir(root) as entries:
            return sorted(
                e.name for e in entries
                if "-" in e.name and not e.name.startswith(".")
                and e.is_dir(follow_symlinks=False) and os.path.lexists(os.path.join(e.path, LOG))
            )  # fmt: skip
    except OSError:
        return []


def _features(names: list[str]) -> set[str]:
    return {name.split("-", 1)[1] for name in names}


def _sync_aio(conn: sqlite3.Connection, root: Path, names: list[str], known: dict[str, _File],
              gen: int, report: SyncReport) -> bool:  # fmt: skip
    """Index aio's recorded interactions of every session whose log changed; True if any."""
    store: SessionStore | None = None
    changed = False
    for name in names:
        path = str(root / name / LOG)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        held = known.get(path)
        if held is not None and (held.ino, held.size, held.mtime_ns) == (
            st.st_ino, st.st_size, st.st_mtime_ns,
        ):  # fmt: skip
            continue
        from ai_orchestrator.core.errors import AioError
        from ai_orchestrator.store.session_store import SessionStore
        from ai_orchestrator.usage.aio_source import aio_rows

        store = store or SessionStore(root)
        try:
            records = store.read_log(name).records
        except (AioError, OSError) as exc:
            report.skipped.append(f"{path}: {exc}")
            continue
        changed = True
        conn.execute("BEGIN IMMEDIATE")
        try:
            for interaction in records:
                rows, call, messages = aio_rows(interaction, gen)
                conn.executemany(usage_db.UPSERT_LAST, rows)
                if call is not None:
                    conn.execute(
                        "INSERT OR REPLACE INTO aio_calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        call,
                    )
                    report.aio_calls += 1
                conn.executemany(
                    "INSERT OR IGNORE INTO aio_msgs(msg_id, call) VALUES (?, ?)",
                    [(m, interaction.id) for m in messages],
                )
            conn.execute(
                "INSERT OR REPLACE INTO files(path, kind, dev, ino, size, mtime_ns, offset, state)"
                " VALUES (?, 'aio', ?, ?, ?, ?, ?, NULL)",
                (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_size),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return changed


def sync(
    root_dir: Path | None = None,
    *,
    progress: Progress | None = None,
    rescan: bool = False,
    extra: Iterable[tuple[str, str]] = (),
) -> SyncReport:
    """Update the index (see the module docstring); ``rescan`` reads every file again."""
    started = time.monotonic()
    root = store_root(root_dir)
    report = SyncReport()
    conn = open_index(root)
    # Fewer, larger WAL checkpoints and a page cache that holds the hot B-tree pages: a
    # commit's durability against a killed process is the WAL's either way.
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    conn.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}")
    try:
        # One sync at a time; a second waits for the first (which did its work).
        fd = os.open(usage_db.index_dir(root) / "sync.lock",
                     os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)  # fmt: skip
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _sync_locked(conn, root, report, progress, rescan, list(extra), fd)
        finally:
            os.close(fd)
    finally:
        conn.close()
    report.seconds = time.monotonic() - started
    return report


def _sync_locked(
    conn: sqlite3.Connection,
    root: Path,
    report: SyncReport,
    progress: Progress | None,
    rescan: bool,
    extra: list[tuple[str, str]],
    lock: int,
) -> None:
    from ai_orchestrator.usage.spool_ingest import ingest_spool

    row = conn.execute("SELECT value FROM meta WHERE key = 'gen'").fetchone()
    gen = int(row[0]) + 1 if row else 1
    known = {} if rescan else _load_files(conn)
    if conn.execute("SELECT 1 FROM req LIMIT 1").fetchone() is None:
        usage_db.drop_req_indexes(conn)  # a first sync: built once its rows are in
    report.hook_events = ingest_spool(conn, known, KEEP_DAYS)
    hooked = conn.execute(
        "SELECT agent, transcript FROM hook_sessions WHERE transcript IS NOT NULL"
    )
    extra += [(path, _kind_of(agent, path)) for agent, path in hooked]
    names = _session_names(root)
    features = _features(names)
    aio_changed = _sync_aio(conn, root, names, known, gen, report)
    sources = discover(extra)
    report.files = len(sources)
    work: list[tuple[Source, _File]] = []
    stores = [s for s in sources if s.kind in DATABASES]
    for source in sources:
        if source.kind in DATABASES:
            continue
        try:
            st = os.lstat(source.path)
        except OSError:
            continue
        plan = _plan(source, st, known.get(source.path)) if stat.S_ISREG(st.st_mode) else None
        if plan is not None:
            work.append((source, plan))
    total_bytes = sum(f.size - f.offset for _, f in work)
    done_bytes = 0
    writer = _Writer(conn, _Rows(gen, features))
    parallel = total_bytes >= PARALLEL_BYTES and (os.cpu_count() or 1) >= 2 and len(work) > 1

    def files_tick(done: int, n: int) -> None:
        nonlocal done_bytes
        done_bytes += n
        if progress is not None:
            progress(done, len(work), done_bytes, total_bytes)

    try:
        _read_stores(writer, stores, known, report)
        if parallel:
            _read_parallel(writer, work, report, files_tick, lock)
            work_left: list[tuple[Source, _File]] = []
        else:
            work_left = work
        for index, (source, plan) in enumerate(work_left):

            def tick(n: int, index: int = index) -> None:
                nonlocal done_bytes
                done_bytes += n
                if progress is not None:
                    progress(index, len(work), done_bytes, total_bytes)

            opened = fileid.open_regular(source.path)
            if opened is None:
                continue
            fd, st = opened
            try:
                if (st.st_dev, st.st_ino) != (plan.dev, plan.ino) or st.st_size < plan.offset:
                    continue  # replaced since it was listed: the next sync reads it
                plan.size, plan.mtime_ns = st.st_size, st.st_mtime_ns
                report.bytes_read += _read_file(writer, source, fd, plan, tick)
                report.files_read += 1
            except OSError as exc:
                report.skipped.append(f"{source.path}: {exc.strerror or exc}")
            finally:
                os.close(fd)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    report.requests = writer.rows
    usage_db.create_req_indexes(conn)
    if progress is not None:
        progress(len(work), len(work), done_bytes, total_bytes)
    seen = conn.execute("SELECT value FROM meta WHERE key = 'features'").fetchone()
    # Rows of this generation a killed sync committed but never settled (it reused the
    # number: ``meta.gen`` never moved) are settled now, even with nothing new to read.
    unsettled = conn.execute("SELECT 1 FROM req WHERE gen >= ? LIMIT 1", (gen,)).fetchone()
    if (writer.rows or aio_changed or unsettled or seen is None
            or set(json.loads(seen[0])) != features):  # fmt: skip
        settle(conn, gen, features)
    rollup.refresh(conn)


def _read_stores(
    writer: _Writer, stores: list[Source], known: dict[str, _File], report: SyncReport
) -> None:
    """SQLite stores (``usage.opencode_db``): read from their watermark when they changed."""
    from ai_orchestrator.usage import opencode_db

    for source in stores:
        now = opencode_db.stamp(source.path)
        if now is None:
            continue
        dev, ino, size, mtime_ns, wal_size, wal_mtime = now
        held = known.get(source.path)
        same = held is not None and (held.kind, held.dev, held.ino) == (source.kind, dev, ino)
        wal = [wal_size, wal_mtime]
        if held and same and (held.size, held.mtime_ns, held.state.get("wal")) == (
            size, mtime_ns, wal,
        ):  # fmt: skip
            continue
        start = held.offset if held and same else 0
        anchor = held.state.get("anchor") if held and same else None
        f = _File(source.kind, dev, ino, size, mtime_ns, start, {"wal": None, "anchor": anchor})
        try:
            for found, rowid, part_id in opencode_db.read(source.path, start, anchor):
                f.offset, f.state["anchor"] = rowid, part_id
                writer.requests(found)  # with its watermark; the stamp (wal) only at the end
                writer.file_done(source.path, f, 0)
        except sqlite3.Error as exc:
            report.skipped.append(f"{source.path}: {exc}")
            continue
        f.state["wal"] = wal  # the stamp from before the read: never ahead of what was read
        writer.file_done(source.path, f, 0)
        report.files_read += 1


def _kind_of(agent: str, path: str) -> str:
    if agent == "gemini":
        return "gemini-json" if path.endswith(".json") else "gemini"
    return agent


__all__ = ["SyncReport", "open_index", "store_root", "sync"]

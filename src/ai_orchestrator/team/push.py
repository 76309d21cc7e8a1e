"""``push``: this store's recorded interactions into the team database — incremental, batched,
idempotent, resumable.

Contract
    - **Incremental.** The watermark is per machine and session: the byte offset pushed up
      to (always the end of a complete line), the log file's identity (device:inode) and a
      hash of the 4 KiB before the offset. A session is read from its watermark; a log that
      was replaced (``repair``, a restored backup: new inode, shorter, or other bytes before
      the mark — an inode number can be reused) is read again from its start.
    - **Batched.** Rows go by ``COPY`` into a temporary table, then one
      ``INSERT … SELECT … ON CONFLICT (id) DO NOTHING`` moves them, and the same statement adds
      exactly the rows it inserted to the rollup. A batch that is all new (a first push) is
      tried first with plain inserts (``_INSERT_NEW``: no speculative insertion per row), in a
      savepoint: any duplicate key sends it to the general statement.
    - **Durability.** A batch commits with ``synchronous_commit = off``: the server may lose
      the last commits of a crash (not a failed push: the client saw them commit), and loses
      each one whole — its rows, rollup and watermarks together — so the next push reads
      those sessions from the older watermark and sends the rows again: nothing is lost or
      doubled; only ``state.json``, which the push never reads from, was ahead.
    - **Idempotent.** Rows are keyed by the interaction id: pushing twice, from a restored
      backup, or a call imported into a second store adds nothing.
    - **Resumable.** Each batch — rows, rollup, session metadata, the watermarks of the
      sessions it covers — is one transaction: a failure at any instant (server gone,
      connection killed, Ctrl-C) leaves the server at the last committed batch and the next
      push continues from its watermark (the server's, which is authoritative; the local copy
      in ``SESSION_DIR/team/state.json`` is written after each commit, for ``status``).
    - One push per store at a time (``SESSION_DIR/team/push.lock``) and per machine id on the
      server (an advisory lock), so two pushes never race on one watermark.
    - **Branch.** A row's branch is the record's (``infra.git_head``, stored since the
      record has one); a call recorded without one takes the branch its agent's transcript
      recorded, when the usage index matched the two (``requests.covered_branches``).
    - **Ctrl-C ends a push promptly**, even while the server holds the batch in flight
      (``Pusher``: timed waits on the writer thread, its statement cancelled on the way out).
    - Nothing is read that is not a complete, valid record (``rows.parse_lines``, the
      store's own validation: torn tails wait, corrupt lines are skipped and counted). The
      prompt is sent only with ``with_prompts``, redacted again (``infra.redact``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_orchestrator import __version__
from ai_orchestrator.core.errors import AioError
from ai_orchestrator.core.names import as_session_name
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import file_error, open_nofollow
from ai_orchestrator.store.logfile import LOG
from ai_orchestrator.store.session_store import SessionStore
from ai_orchestrator.team import schema
from ai_orchestrator.team.config import (
    LOCK_FILE,
    Machine,
    TeamSettings,
    machine,
    read_state,
    team_dir,
    write_state,
)
from ai_orchestrator.team.requests import RequestsReport, covered_branches, push_requests
from ai_orchestrator.team.rows import BRANCH, COLUMNS, COMMAND, FEATURE, TS, parse_lines
from ai_orchestrator.usage.db import index_path

BATCH_ROWS = 10_000
CHUNK_BYTES = 16 * 1024 * 1024
TAIL_BYTES = 4096

_TEMP = """CREATE TEMP TABLE IF NOT EXISTS aio_push(
  id text, machine_id text, user_name text, session_name text, command text, feature_id text,
  task_id text, branch text, agent text, model text, ts timestamptz, input bigint,
  output bigint, cache_read bigint, cache_write bigint, reasoning bigint, cost numeric,
  cost_source text, cost_reported numeric, savings numeric, outcome text, duration_ms bigint,
  agent_session_id text, prompt text) ON COMMIT DELETE ROWS"""

# The driver's dumper per column, chosen once per batch instead of per value (half the
# formatting time): counts are ints, every other value a str (or None) — the server parses
# the text by the column's own type (timestamptz, numeric).
_COPY_TYPES = [
    "int8" if c in ("input", "output", "cache_read", "cache_write", "reasoning", "duration_ms")
    else "text" for c in COLUMNS
]  # fmt: skip

_DIMS = schema.rollup_dimensions()
# What the rollup needs of each inserted row, computed once in RETURNING: its key (the day,
# the empty string for none) and the inputs of its sums.
_RETURNING = ", ".join(
    "day" if d == "day" else d if d in ("machine_id", "user_name", "session_name")
    else f"coalesce({d}, '') AS {d}" for d in _DIMS
) + ", input, output, cache_read, cache_write, reasoning, cost, cost_source, cost_reported, " \
    "savings, outcome"  # fmt: skip
_SUMS = (
    "count(*), count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success'), "
    "count(*) FILTER (WHERE cost_source = 'unpriced'), sum(input), sum(output), "
    "sum(cache_read), sum(cache_write), sum(reasoning), sum(cost), sum(savings), "
    "sum(cost_reported)"
)
_MOVE = f"""INSERT INTO aio.interactions({", ".join(COLUMNS)}, day)
  SELECT {", ".join(COLUMNS)}, (ts AT TIME ZONE 'UTC')::date FROM aio_push"""
_ROLL = f"""INSERT INTO aio.rollup({", ".join(_DIMS)}, {", ".join(schema.ROLLUP_SUMS)})
  SELECT {", ".join(_DIMS)}, {_SUMS} FROM ins"""
_ADD_UP = f"""ON CONFLICT ({", ".join(_DIMS)}) DO UPDATE SET
  {", ".join(f"{s} = aio.rollup.{s} + excluded.{s}" for s in schema.ROLLUP_SUMS)}"""
_GROUP = f"GROUP BY {', '.join(_DIMS)}"

_INSERT = f"""
WITH ins AS ({_MOVE} ON CONFLICT (id) DO NOTHING RETURNING {_RETURNING}),
roll AS ({_ROLL} {_GROUP} {_ADD_UP} RETURNING 1)
SELECT count(*) FROM ins"""
"""The general statement: whatever the server has already, exactly the rows it inserts are
added to the rollup."""

_INSERT_NEW = f"""
WITH ins AS ({_MOVE} RETURNING {_RETURNING}),
fresh AS ({_ROLL} WHERE session_name = ANY(%(fresh)s::text[]) {_GROUP} RETURNING 1),
known AS ({_ROLL} WHERE NOT session_name = ANY(%(fresh)s::text[]) {_GROUP} {_ADD_UP} RETURNING 1)
SELECT count(*) FROM ins"""
"""The statement of a batch that is all new (a first push: nearly every batch), about a
quarter cheaper for the server: plain inserts, where ``ON CONFLICT`` costs a speculative
insertion per row — the interactions', and the rollup rows' of the sessions this machine never
pushed before (``fresh``: no watermark on the server, in no earlier batch; a session's rollup
rows and its watermark are committed together, and only this machine, under its lock, writes
rows with its machine id). Any unique violation (a row the server has, a rollup row the
reasoning missed) rolls it back to its savepoint and ``_INSERT`` runs instead, so the rows and
totals never depend on the guess: only the speed does."""

_SESSION_UPSERT = """
INSERT INTO aio.sessions(machine_id, session_name, user_name, command, feature_id, first_ts,
  last_ts) VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (machine_id, session_name) DO UPDATE SET user_name = excluded.user_name,
  first_ts = least(aio.sessions.first_ts, excluded.first_ts),
  last_ts = greatest(aio.sessions.last_ts, excluded.last_ts)"""

_WATERMARK_UPSERT = """
INSERT INTO aio.watermarks(machine_id, session_name, file_id, byte_offset, records, updated_at)
VALUES (%s, %s, %s, %s, %s, now())
ON CONFLICT (machine_id, session_name) DO UPDATE SET file_id = excluded.file_id,
  byte_offset = excluded.byte_offset, records = excluded.records, updated_at = now()"""

Progress = Callable[[int, int, int], None]
"""(bytes done, bytes to push, rows added so far)."""


@dataclass
class PushReport:
    target: str
    machine_id: str
    user: str
    sessions: int = 0
    read: int = 0
    added: int = 0
    batches: int = 0
    corrupt_lines: int = 0
    seconds: float = 0.0
    usage: RequestsReport | None = None  # the usage index's requests (None: not pushed)

    @property
    def already(self) -> int:
        """Rows read that the server already had (an earlier or a restored push)."""
        return self.read - self.added

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "machine_id": self.machine_id,
            "user": self.user,
            "sessions": self.sessions,
            "read": self.read,
            "added": self.added,
            "already_there": self.already,
            "batches": self.batches,
            "corrupt_lines": self.corrupt_lines,
            "seconds": round(self.seconds, 3),
            "usage": self.usage.to_dict() if self.usage is not None else None,
        }


@dataclass
class _Mark:
    file_id: str
    offset: int
    records: int


@dataclass
class _Batch:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    marks: dict[str, _Mark] = field(default_factory=dict)
    spans: dict[str, tuple[str, str | None, str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Work:
    session: str
    path: Path
    stat: os.stat_result
    start: int
    size: int
    records: int


def file_id(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}"


def server_marks(conn: Any, who: Machine) -> dict[str, _Mark]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT session_name, file_id, byte_offset, records FROM aio.watermarks "
            "WHERE machine_id = %s",
            (who.machine_id,),
        )
        found = {name: _Mark(fid, int(off), int(n)) for name, fid, off, n in cur.fetchall()}
    conn.commit()
    return found


def _tail(fd: int, offset: int) -> str:
    """A fingerprint of the bytes just before ``offset`` (up to ``TAIL_BYTES``)."""
    start = max(0, offset - TAIL_BYTES)
    return hashlib.sha256(os.pread(fd, offset - start, start)).hexdigest()[:32]


def mark_id(st: os.stat_result, fd: int, offset: int) -> str:
    """What a watermark remembers of the log: its identity and the bytes before the mark."""
    return f"{file_id(st)}/{_tail(fd, offset)}"


def _resume_at(path: Path, st: os.stat_result, mark: _Mark | None) -> _Mark:
    """Where to start reading: the mark when the log still is the file it was taken on
    (same identity, long enough, the same bytes before it), else its start: a restored or
    rewritten log is read again whole and the server drops what it already has."""
    if mark is None or mark.offset > st.st_size or not mark.file_id.startswith(file_id(st) + "/"):
        return _Mark("", 0, 0)
    fd = open_nofollow(path, os.O_RDONLY)
    try:
        same = mark.file_id == mark_id(st, fd, mark.offset)
    finally:
        os.close(fd)
    return mark if same else _Mark("", 0, 0)


def pending_work(store: SessionStore, marks: dict[str, _Mark]) -> list[_Work]:
    """Per session with unpushed bytes: where to start reading (module doc)."""
    work = []
    for name in store.names():
        path = store.root / name / LOG
        try:
            st = os.stat(path, follow_symlinks=False)
            start = _resume_at(path, st, marks.get(name))
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise file_error(path, exc, action="read") from None
        if st.st_size > start.offset:
            work.append(_Work(name, path, st, start.offset, st.st_size, start.records))
    return work


def _chunks(work: _Work) -> Iterator[tuple[bytes, str, int]]:
    """Complete lines from ``work.start`` to the size seen, in chunks: (bytes, the mark's
    file id at their end, end offset)."""
    fd = open_nofollow(work.path, os.O_RDONLY)
    try:
        offset = work.start
        carry = b""
        while offset < work.size:
            data = os.pread(fd, min(CHUNK_BYTES, work.size - offset), offset)
            if not data:
                break
            offset += len(data)
            data = carry + data
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut:
                end = offset - len(carry)
                yield data[:cut], mark_id(work.stat, fd, end), end
    except OSError as exc:
        raise file_error(work.path, exc, action="read") from None
    finally:
        os.close(fd)


class Pusher:
    """One push over an open connection (``push`` below is the whole command).

    A writer thread commits one batch while this thread reads the next. Ctrl-C must stop a
    push promptly whatever the writer is doing, so this thread never blocks untimed on it:
    it waits in short timed slices (a SIGINT the kernel delivered to the writer thread is
    then still acted on by this one within a slice), and on the way out (``close``) it
    cancels the writer's statement on the server, so a writer held up there (a lock, a slow
    server) ends with its transaction rolled back instead of being waited for forever. The
    connection is never closed under a running writer."""

    SLICE = 0.2  # seconds per timed wait on the writer
    CANCEL_GRACE = 30.0  # after a cancel: how long the writer gets before its socket is shut

    def __init__(
        self, conn: Any, who: Machine, settings: TeamSettings, with_prompts: bool,
        batch_rows: int,
    ) -> None:  # fmt: skip
        self.conn, self.who, self.settings = conn, who, settings
        self.with_prompts, self.batch_rows = with_prompts, batch_rows
        self.committed: dict[str, _Mark] = {}
        self.known: set[str] = set()  # sessions the server may have rollup rows of
        self.branches: dict[str, str] = {}  # interaction id → branch (covered_branches)
        self.writer: threading.Thread | None = None
        self.failure: BaseException | None = None
        with conn.cursor() as cur:
            cur.execute(_TEMP)
        conn.commit()

    def flush(self, batch: _Batch, report: PushReport) -> None:
        """Hand the batch to the writer thread (after the one before it is committed), so
        the server inserts one batch while this thread reads the next."""
        if not batch.marks:
            return
        self.wait()
        rows, marks, spans = batch.rows, batch.marks, batch.spans
        batch.rows, batch.marks, batch.spans = [], {}, {}
        fresh = [name for name in marks if name not in self.known]
        self.known.update(marks)
        # daemon: a writer that could not be stopped never keeps the process from exiting
        writer = threading.Thread(
            target=self._write, args=(rows, marks, spans, fresh, report),
            name="aio-team-push", daemon=True,
        )  # fmt: skip
        self.writer = writer  # before start: an interrupt inside start() still finds it
        writer.start()

    def _write(
        self, rows: list[tuple[Any, ...]], marks: dict[str, _Mark],
        spans: dict[str, tuple[str, str | None, str, str]], fresh: list[str],
        report: PushReport,
    ) -> None:  # fmt: skip
        try:
            self._commit(rows, marks, spans, fresh, report)
        except BaseException as exc:  # handed to the main thread by wait()
            self.failure = exc

    def _join(self, seconds: float | None) -> bool:
        """Wait up to ``seconds`` (None: as long as it takes) for the writer, in timed
        slices; True once no writer runs."""
        writer = self.writer
        deadline = None if seconds is None else time.monotonic() + seconds
        while writer is not None and writer.is_alive():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            writer.join(self.SLICE)
        return True

    def wait(self) -> None:
        """Wait for the batch in flight; its error (if any) is raised here."""
        self._join(None)
        failure, self.failure = self.failure, None
        if failure is not None:
            raise failure

    def close(self, *, cancel: bool = False) -> None:
        """Stop the writer whatever happened (called while an error is on its way out).
        Without ``cancel`` it finishes its batch; with it (Ctrl-C, or a Ctrl-C while
        waiting here) its statement is cancelled on the server and it gets ``CANCEL_GRACE``
        to roll back, then its socket is shut (its wait on the server ends). The connection
        is not closed while it runs: the caller closes it after this."""
        try:
            if not cancel and self._join(None):
                return
        except KeyboardInterrupt:
            self.close(cancel=True)
            raise
        if self._join(0):
            return
        try:
            with contextlib.suppress(Exception):
                self.conn.cancel_safe(timeout=5.0)
            if self._join(self.CANCEL_GRACE):
                return
        except KeyboardInterrupt:  # a second Ctrl-C: no more grace
            self._shut_socket()
            self._join(5.0)
            raise
        self._shut_socket()
        self._join(5.0)

    def _shut_socket(self) -> None:
        """End the writer's wait on the server by shutting the connection's socket (a
        duplicate of it: the driver's own descriptor and memory are left alone)."""
        with contextlib.suppress(Exception):
            fd = os.dup(self.conn.pgconn.socket)
            with socket.socket(fileno=fd) as sock:
                sock.shutdown(socket.SHUT_RDWR)

    def _commit(
        self, rows: list[tuple[Any, ...]], marks: dict[str, _Mark],
        spans: dict[str, tuple[str, str | None, str, str]], fresh: list[str],
        report: PushReport,
    ) -> None:  # fmt: skip
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.who.machine_id,))
            # A commit the server loses in a crash loses its watermark with it (one
            # transaction): the next push sends those rows again. So the push need not wait
            # for each commit's flush to disk (module doc).
            cur.execute("SET LOCAL synchronous_commit = off")
            if rows:
                with cur.copy(f"COPY aio_push({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    copy.set_types(_COPY_TYPES)
                    for row in rows:
                        copy.write_row(row)
                try:
                    with self.conn.transaction():  # a savepoint: _INSERT_NEW may fail
                        cur.execute(_INSERT_NEW, {"fresh": fresh})
                except schema.unique_violation():
                    cur.execute(_INSERT)
                added = cur.fetchone()
                report.added += int(added[0]) if added else 0
            cur.executemany(
                _SESSION_UPSERT,
                [
                    (self.who.machine_id, name, self.settings.user, cmd, feat, first, last)
                    for name, (cmd, feat, first, last) in spans.items()
                ],
            )
            cur.executemany(
                _WATERMARK_UPSERT,
                [
                    (self.who.machine_id, name, m.file_id, m.offset, m.records)
                    for name, m in marks.items()
                ],
            )
            cur.execute(
                "UPDATE aio.machines SET last_push = now(), user_name = %s, aio_version = %s "
                "WHERE machine_id = %s",
                (self.settings.user, __version__, self.who.machine_id),
            )
        report.batches += 1
        self.committed.update(marks)

    def add(self, work: _Work, batch: _Batch, report: PushReport) -> Iterator[int]:
        """Read one session into ``batch`` (flushing as it fills); yields bytes read."""
        session = as_session_name(work.session)
        records = work.records
        for chunk, mark, end in _chunks(work):
            found, corrupt = parse_lines(
                chunk, session, self.who.machine_id, self.settings.user, self.with_prompts
            )
            report.corrupt_lines += corrupt
            if self.branches:
                found = [self._with_branch(row) for row in found]
            batch.rows.extend(found)
            if found:
                stamps = [row[TS] for row in found]
                first, last = min(stamps), max(stamps)
                span = batch.spans.get(work.session)
                if span is not None:
                    first, last = min(span[2], first), max(span[3], last)
                batch.spans[work.session] = (found[0][COMMAND], found[0][FEATURE], first, last)
            records += len(found)
            report.read += len(found)
            batch.marks[work.session] = _Mark(mark, end, records)
            if len(batch.rows) >= self.batch_rows:
                self.flush(batch, report)
            yield len(chunk)


    def _with_branch(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """A row without a branch gets the one its agent's transcript recorded, if known."""
        if row[BRANCH] is not None:
            return row
        branch = self.branches.get(row[0])
        return row if branch is None else (*row[:BRANCH], branch, *row[BRANCH + 1 :])


def _register(conn: Any, who: Machine, settings: TeamSettings) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "INSERT INTO aio.machines(machine_id, hostname, user_name, aio_version) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (machine_id) DO NOTHING",
            (who.machine_id, who.hostname, settings.user, __version__),
        )


def push(
    store: SessionStore,
    settings: TeamSettings,
    *,
    with_prompts: bool = False,
    batch_rows: int = BATCH_ROWS,
    progress: Progress | None = None,
    with_usage: bool = True,
) -> PushReport:
    """Push every interaction not yet on the server (module doc), then with ``with_usage``
    the usage index's requests (``team.requests``: the caller syncs the index first);
    ``TeamError`` on failure, with everything committed before it kept."""
    began = time.monotonic()
    who = machine(store.root)
    report = PushReport(settings.target, who.machine_id, settings.user)
    lock_path = team_dir(store.root) / LOCK_FILE
    with locks.locked(lock_path, timeout=600, what="team push"), schema.connect(settings) as conn:
        schema.check(conn, settings)
        _register(conn, who, settings)
        marks = server_marks(conn, who)
        work = pending_work(store, marks)
        report.sessions = len(work)
        total = sum(w.size - w.start for w in work)
        pusher = Pusher(conn, who, settings, with_prompts, batch_rows)
        pusher.known = set(marks)
        if with_usage and work:
            pusher.branches = covered_branches(index_path(store.root))
        batch, done = _Batch(), 0
        try:
            for item in work:
                for size in pusher.add(item, batch, report):
                    done += size
                    if progress is not None:
                        progress(done, total, report.added)
            pusher.flush(batch, report)
            pusher.wait()
        except KeyboardInterrupt:
            pusher.close(cancel=True)
            raise
        finally:
            pusher.close()
            if pusher.committed:
                _save_local(store.root, settings, marks, pusher.committed)
        if with_usage:
            report.usage = push_requests(conn, index_path(store.root), who, settings)
    report.seconds = time.monotonic() - began
    return report


def _save_local(
    root: Path, settings: TeamSettings, marks: dict[str, _Mark], committed: dict[str, _Mark]
) -> None:
    """The local copy of the server's watermarks (what ``status`` shows offline)."""
    merged = {**marks, **committed}
    state = read_state(root)
    state.update(
        {
            "target": settings.target,
            "pushed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "watermarks": {
                name: {"file_id": m.file_id, "offset": m.offset, "records": m.records}
                for name, m in sorted(merged.items())
            },
        }
    )
    # The server holds the authoritative copy: a local disk problem must not hide the
    # outcome of the push itself.
    with contextlib.suppress(OSError, AioError):
        write_state(root, state)

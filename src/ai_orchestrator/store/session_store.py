"""The session store: one directory per session under ``SESSION_DIR``; files are the truth.

Layout (modes enforced, also on stores created looser)::

    SESSION_DIR/                 0700
      <command>-<feature-id>/    0700
        metadata.json            0600  summary, rewritten atomically
        interactions.jsonl       0600  append-only, one JSON line per agent call
        .lock                    0600  write lock (held for one append)
        .run.lock                0600  run lock (held for a whole agent run)

Invariants and how they are kept:

- **O(1) recording.** ``record`` appends one line and rewrites only the small summary;
  the log is read only when the summary disagrees with it (crash recovery).
- **Nothing lost.** The write lock blocks until free (never times out); the line is
  written and fsynced before the summary. ``metadata.json.log_size`` is the log size the
  summary accounts for: if it differs from the real size (a crash between the two
  writes, an external edit), the summary is rebuilt from the log by the same fold.
- **Torn lines.** A crash mid-append can leave a last line without newline. Readers
  ignore it and report it; the next append first terminates it, so it can never fuse
  with a new record. Unparseable lines are never deleted, only skipped and reported.
- **Deletion races.** Deleting renames the directory away under both locks; a writer
  that was waiting for the lock notices its lock file is gone and starts over.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ai_orchestrator.errors import InvalidInput, NotFound, SessionBusy, StoreError, UnsafeStore
from ai_orchestrator.store import locks
from ai_orchestrator.store.fsutil import (
    atomic_write,
    ensure_private_dir,
    fsync_fd,
    open_nofollow,
    read_bytes,
    resolve_store_root,
    unique_suffix,
    write_all,
)
from ai_orchestrator.store.names import SessionName, is_session_name, parse_session_name
from ai_orchestrator.store.records import (
    apply_interaction,
    build_summary,
    normalize_interaction,
    serialize,
    summary_problem,
)
from ai_orchestrator.store.timeutil import format_iso, now_iso

METADATA = "metadata.json"
LOG = "interactions.jsonl"
DEFAULT_RUN_LOCK_TIMEOUT = 30.0


def default_store_root(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    raw = env.get("SESSION_DIR") or os.path.join(os.path.expanduser("~"), ".ai-sessions")
    return Path(raw)


@dataclass
class LogRead:
    """The parsed content of an interactions log."""

    records: list[dict[str, Any]]
    size: int
    corrupt_lines: list[int] = field(default_factory=list)  # 1-based line numbers
    torn_tail: int = 0  # bytes of an unterminated last line

    def problems(self) -> list[str]:
        out = []
        if self.corrupt_lines:
            shown = ", ".join(str(n) for n in self.corrupt_lines[:5])
            more = "…" if len(self.corrupt_lines) > 5 else ""
            out.append(
                f"{len(self.corrupt_lines)} unreadable line(s) in {LOG} skipped "
                f"(line {shown}{more})"
            )
        if self.torn_tail:
            out.append(f"torn last line in {LOG} ({self.torn_tail} bytes) ignored")
        return out


@dataclass
class SessionView:
    """A session as read from disk: its summary plus anything wrong with its files."""

    name: str
    path: Path
    summary: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    legacy: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.summary)
        data["path"] = str(self.path)
        data["problems"] = list(self.problems)
        return data


def write_summary(session_path: Path, summary: Mapping[str, Any]) -> None:
    """Atomically replace ``metadata.json`` of the session at ``session_path``."""
    # Compact on purpose: list/stats parse 10,000 of these per call.
    data = json.dumps(summary, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    atomic_write(session_path / METADATA, (data + "\n").encode("utf-8"))


def parse_log(data: bytes, session: SessionName) -> LogRead:
    """Parse ``interactions.jsonl`` content, skipping (and reporting) bad lines."""
    result = LogRead(records=[], size=len(data))
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    if tail.strip():
        result.torn_tail = len(tail)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = normalize_interaction(json.loads(raw), session)
        except (ValueError, InvalidInput):
            result.corrupt_lines.append(number)
            continue
        result.records.append(record)
    return result


class SessionStore:
    """Access to the session store rooted at ``root`` (default: ``$SESSION_DIR``)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = resolve_store_root(root if root is not None else default_store_root())

    # ------------------------------------------------------------------ paths

    def ensure_root(self) -> None:
        ensure_private_dir(self.root, what="session store")

    def check_root(self) -> bool:
        """Validate the root if it exists (tightening its mode); False when absent."""
        try:
            ensure_private_dir(self.root, create=False, what="session store")
        except FileNotFoundError:
            return False
        return True

    def path_of(self, name: str | SessionName) -> Path:
        session = name if isinstance(name, SessionName) else parse_session_name(name)
        return self.root / session.name

    def _existing_dir(self, session: SessionName, *, root_checked: bool = False) -> Path:
        if not root_checked and not self.check_root():
            raise NotFound(f"session not found: {session.name} (no session store at {self.root})")
        path = self.root / session.name
        try:
            ensure_private_dir(path, create=False, what="session directory")
        except FileNotFoundError:
            raise NotFound(f"session not found: {session.name}") from None
        return path

    def exists(self, name: str) -> bool:
        session = parse_session_name(name)
        if not self.check_root():
            return False
        return os.path.lexists(self.root / session.name)

    def names(self) -> list[str]:
        """Names of all session directories (sorted); other entries are ignored."""
        if not self.check_root():
            return []
        with os.scandir(self.root) as entries:
            return sorted(e.name for e in entries if is_session_name(e.name))

    # ------------------------------------------------------------------ writing

    def _ensure_session_dir(self, session: SessionName) -> Path:
        self.ensure_root()
        path = self.root / session.name
        ensure_private_dir(path, what="session directory")
        return path

    @staticmethod
    def _read_summary(path: Path, session: SessionName) -> tuple[dict[str, Any] | None, str | None]:
        data = read_bytes(path / METADATA)
        if data is None:
            return None, f"{METADATA} is missing"
        try:
            summary = json.loads(data)
        except ValueError:
            return None, f"{METADATA} is not valid JSON"
        problem = summary_problem(summary, session)
        if problem:
            return None, problem
        return summary, None

    def _lock_session(self, session: SessionName) -> tuple[Path, locks.HeldLock]:
        """Create the session if needed and take its write lock (retrying across deletes)."""
        while True:
            path = self._ensure_session_dir(session)
            lock = locks.acquire(path / locks.WRITE_LOCK, timeout=None)
            if lock.still_linked():
                return path, lock
            lock.release()  # the session was deleted while we waited: start over

    def _recover(self, path: Path, session: SessionName, log_fd: int) -> tuple[dict[str, Any], int]:
        """Summary and corrupt-line count consistent with the log (under the write lock)."""
        size = os.fstat(log_fd).st_size
        summary, _ = self._read_summary(path, session)
        if summary is not None and summary["log_size"] == size:
            return summary, size
        data = os.pread(log_fd, size, 0) if size else b""
        parsed = parse_log(data, session)
        created = summary["created_at"] if summary else self._fallback_created(path)
        rebuilt = build_summary(session, parsed.records, created)
        rebuilt["corrupt_lines"] = len(parsed.corrupt_lines)
        return rebuilt, size

    @staticmethod
    def _fallback_created(path: Path) -> str:
        try:
            moment = datetime.fromtimestamp(os.lstat(path).st_mtime, UTC)
        except OSError:
            return now_iso()
        return format_iso(moment)

    def _append(
        self, session: SessionName, records: list[dict[str, Any]], *, dedupe: bool
    ) -> list[dict[str, Any]]:
        path, lock = self._lock_session(session)
        try:
            fd = open_nofollow(path / LOG, os.O_RDWR | os.O_APPEND | os.O_CREAT)
            try:
                summary, size = self._recover(path, session, fd)
                if dedupe:
                    known = self._ids_in_log(path, session)
                    fresh = []
                    for record in records:
                        if record["id"] not in known:
                            known.add(record["id"])
                            fresh.append(record)
                    records = fresh
                if not records:
                    if summary.get("log_size") != size or not (path / METADATA).exists():
                        summary["log_size"] = size
                        self._write_summary(path, summary)
                    return []
                payload = b"".join(serialize(r) for r in records)
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    payload = b"\n" + payload  # isolate a torn tail; never fuse with it
                    summary["corrupt_lines"] += 1
                write_all(fd, payload)
                fsync_fd(fd)
                for record in records:
                    apply_interaction(summary, record)
                summary["log_size"] = size + len(payload)
                self._write_summary(path, summary)
            finally:
                os.close(fd)
        finally:
            lock.release()
        return records

    @staticmethod
    def _write_summary(path: Path, summary: Mapping[str, Any]) -> None:
        write_summary(path, summary)

    def _ids_in_log(self, path: Path, session: SessionName) -> set[str]:
        data = read_bytes(path / LOG) or b""
        return {r["id"] for r in parse_log(data, session).records}

    def create(self, name: str) -> SessionView:
        """Create an empty session (idempotent) and return it."""
        session = parse_session_name(name)
        self._append(session, [], dedupe=False)
        return self.load(session.name)

    def record(self, name: str, interaction: Mapping[str, Any]) -> dict[str, Any]:
        """Append one interaction (validated, redacted) and return the stored record."""
        session = parse_session_name(name)
        record = normalize_interaction(interaction, session)
        stored = self._append(session, [record], dedupe=False)
        return stored[0]

    def record_unique(self, name: str, interactions: Iterable[Mapping[str, Any]]) -> int:
        """Append the interactions whose ids the session does not have yet; return how many.

        Reads the whole log to check ids, so it is for imports, not for the hot path.
        """
        session = parse_session_name(name)
        records = [normalize_interaction(i, session) for i in interactions]
        return len(self._append(session, records, dedupe=True))

    # ------------------------------------------------------------------ reading

    def load(
        self, name: str | SessionName, *, repair: bool = True, _root_checked: bool = False
    ) -> SessionView:
        """Read a session. A stale/corrupt summary is rebuilt from the log (and, with
        ``repair``, written back if the write lock is free); problems are reported."""
        session = name if isinstance(name, SessionName) else parse_session_name(name)
        path = self._existing_dir(session, root_checked=_root_checked)
        summary, problem = self._read_summary(path, session)
        try:
            log_stat = os.lstat(path / LOG)
        except FileNotFoundError:
            size = 0
        else:
            size = log_stat.st_size
            if log_stat.st_mode & 0o077:
                os.chmod(path / LOG, 0o600)
        if summary is not None and summary["log_size"] == size:
            problems = []
            if summary["corrupt_lines"]:
                problems.append(f"{summary['corrupt_lines']} unreadable line(s) in {LOG} skipped")
            return SessionView(session.name, path, summary, problems)
        return self._rebuild_view(session, path, summary, problem, repair=repair)

    def _rebuild_view(
        self,
        session: SessionName,
        path: Path,
        summary: dict[str, Any] | None,
        problem: str | None,
        *,
        repair: bool,
    ) -> SessionView:
        legacy = self._legacy_view(session, path)
        if legacy is not None:
            return legacy
        parsed = parse_log(read_bytes(path / LOG) or b"", session)
        created = summary["created_at"] if summary else self._fallback_created(path)
        rebuilt = build_summary(session, parsed.records, created)
        rebuilt["log_size"] = parsed.size
        rebuilt["corrupt_lines"] = len(parsed.corrupt_lines)
        problems = []
        never_written = problem == f"{METADATA} is missing" and parsed.size == 0
        if problem and not never_written:
            problems.append(f"{problem}; summary rebuilt from {LOG}")
        elif summary is not None:
            problems.append(f"summary was out of date; rebuilt from {LOG}")
        problems.extend(parsed.problems())
        legacy_unbacked = (
            bool(problem and "earlier shell version" in problem)
            and not (path / "metadata.legacy.json").exists()
        )
        if repair and not legacy_unbacked:
            self._try_write_repaired(session, path, rebuilt)
        return SessionView(session.name, path, rebuilt, problems)

    def _try_write_repaired(
        self, session: SessionName, path: Path, summary: dict[str, Any]
    ) -> None:
        try:
            lock = locks.acquire(path / locks.WRITE_LOCK, timeout=0)
        except (SessionBusy, OSError):
            return  # someone is writing; they will reconcile it themselves
        try:
            if not lock.still_linked():
                return
            try:
                size = os.lstat(path / LOG).st_size
            except FileNotFoundError:
                size = 0
            if size == summary["log_size"]:
                self._write_summary(path, summary)
        except OSError:
            pass  # a read-only store still reads fine
        finally:
            lock.release()

    def _legacy_view(self, session: SessionName, path: Path) -> SessionView | None:
        """A session written by the earlier shell version (interactions inside metadata)."""
        data = read_bytes(path / METADATA)
        try:
            log_has_data = os.lstat(path / LOG).st_size > 0
        except FileNotFoundError:
            log_has_data = False
        if data is None or log_has_data:
            return None
        try:
            legacy = json.loads(data)
        except ValueError:
            return None
        if not isinstance(legacy, dict) or not isinstance(legacy.get("interactions"), list):
            return None
        from ai_orchestrator.store.legacy import legacy_records

        records, bad = legacy_records(legacy, session)
        created = legacy.get("created_at") if isinstance(legacy.get("created_at"), str) else None
        summary = build_summary(session, records, created or self._fallback_created(path))
        if isinstance(legacy.get("session_id"), str) and legacy["session_id"]:
            summary["agent_session_id"] = legacy["session_id"]
        problems = ["written by the earlier shell version (run: aio session migrate)"]
        if bad:
            problems.append(f"{bad} unreadable legacy interaction(s) skipped")
        return SessionView(session.name, path, summary, problems, legacy=True)

    def read_log(self, name: str) -> LogRead:
        session = parse_session_name(name)
        path = self._existing_dir(session)
        legacy = self._legacy_view(session, path)
        if legacy is not None:
            from ai_orchestrator.store.legacy import legacy_records

            data = json.loads(read_bytes(path / METADATA) or b"{}")
            records, _ = legacy_records(data, session)
            return LogRead(records=records, size=0)
        return parse_log(read_bytes(path / LOG) or b"", session)

    def iter_views(self) -> Iterator[SessionView | tuple[str, str]]:
        """Every session, or ``(name, error)`` for a directory that cannot be read safely."""
        for name in self.names():
            try:
                yield self.load(name, _root_checked=True)
            except (StoreError, NotFound, OSError) as exc:
                yield name, str(exc)

    # ------------------------------------------------------------------ locks

    def run_lock(
        self, name: str, *, timeout: float = DEFAULT_RUN_LOCK_TIMEOUT, command: str | None = None
    ) -> locks.HeldLock:
        """Hold ``name`` for a whole agent run (creating the session if needed)."""
        session = parse_session_name(name)
        while True:
            path = self._ensure_session_dir(session)
            lock = locks.acquire(
                path / locks.RUN_LOCK,
                timeout=timeout,
                command=command,
                what=f"session {session.name}",
            )
            if lock.still_linked():
                return lock
            lock.release()

    def holder(self, name: str) -> locks.Holder | None:
        """Who is running in the session right now (run lock first, then write lock)."""
        path = self.path_of(name)
        return locks.read_holder(path / locks.RUN_LOCK) or locks.read_holder(
            path / locks.WRITE_LOCK
        )

    # ------------------------------------------------------------------ deleting

    def delete(self, name: str) -> None:
        """Delete a session; refuses (``SessionBusy``) while any of its locks is held."""
        session = parse_session_name(name)
        path = self._existing_dir(session)
        run = locks.acquire(path / locks.RUN_LOCK, timeout=0, what=f"session {session.name}")
        try:
            write = locks.acquire(
                path / locks.WRITE_LOCK, timeout=0, what=f"session {session.name}"
            )
            try:
                trash = self.root / f".trash-{session.name}-{unique_suffix()}"
                os.rename(path, trash)
            finally:
                write.release()
        finally:
            run.release()
        shutil.rmtree(trash, ignore_errors=True)

    def purge_trash(self) -> int:
        """Remove leftovers of deletions interrupted by a crash."""
        if not self.check_root():
            return 0
        removed = 0
        with os.scandir(self.root) as entries:
            for entry in entries:
                if entry.name.startswith(".trash-") and entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                    removed += 1
        return removed

    # ------------------------------------------------------------------ repair

    def repair(self, name: str) -> dict[str, Any]:
        """Rebuild the summary from the log under the write lock; move unreadable lines
        to ``interactions.corrupt.jsonl`` (kept, never deleted) and fix modes."""
        session = parse_session_name(name)
        path = self._existing_dir(session)
        lock = locks.acquire(path / locks.WRITE_LOCK, timeout=None)
        try:
            data = read_bytes(path / LOG) or b""
            parsed = parse_log(data, session)
            moved = 0
            if parsed.corrupt_lines or parsed.torn_tail:
                lines = data.split(b"\n")
                bad = [lines[n - 1] for n in parsed.corrupt_lines]
                if parsed.torn_tail:
                    bad.append(lines[-1])
                quarantine = path / "interactions.corrupt.jsonl"
                fd = open_nofollow(quarantine, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                try:
                    write_all(fd, b"".join(line + b"\n" for line in bad))
                    fsync_fd(fd)
                finally:
                    os.close(fd)
                moved = len(bad)
                atomic_write(path / LOG, b"".join(serialize(r) for r in parsed.records))
            old, problem = self._read_summary(path, session)
            created = old["created_at"] if old else self._fallback_created(path)
            summary = build_summary(session, parsed.records, created)
            summary["log_size"] = os.lstat(path / LOG).st_size if (path / LOG).exists() else 0
            self._write_summary(path, summary)
            fixed_modes = self._fix_modes(path)
        finally:
            lock.release()
        return {
            "session_name": session.name,
            "interactions": len(parsed.records),
            "quarantined_lines": moved,
            "summary_was": problem or "consistent",
            "modes_fixed": fixed_modes,
        }

    @staticmethod
    def _fix_modes(path: Path) -> int:
        fixed = 0
        with os.scandir(path) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    raise UnsafeStore(f"refusing {entry.path}: it is a symbolic link")
                wanted = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
                if stat.S_IMODE(st.st_mode) & ~wanted:
                    os.chmod(entry.path, stat.S_IMODE(st.st_mode) & wanted)
                    fixed += 1
        return fixed

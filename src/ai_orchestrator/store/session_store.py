"""The session store: one directory per session under ``SESSION_DIR``; files are the truth.

Layout (modes enforced, also on stores created looser)::

    SESSION_DIR/                 0700
      <command>-<feature-id>/    0700
        metadata.json            0600  summary, rewritten atomically
        interactions.jsonl       0600  append-only, one JSON line per agent call
        .lock                    0600  write lock (held for one append)
        .run.lock                0600  run lock (held for a whole agent run)

Only directories holding aio's marker are sessions (``store.discovery``; ``names`` and
``discover`` are the one scan): anything else of a session's name is refused before a
file is opened, locked or tightened in it. A new session is created whole, with its
marker, by ``store.creation``.

Invariants and how they are kept:

- **O(1) recording.** ``record`` appends one line and rewrites only the small summary;
  the log is read only when the summary disagrees with it (crash recovery).
- **Nothing lost.** The write lock blocks until free (never times out); the line is
  written and fsynced before the summary. ``metadata.json.log_size`` is the log size the
  summary accounts for: if it differs from the real size (a crash between the two
  writes, an external edit), the summary is rebuilt from the log by the same fold.
- **Nothing written that cannot be read back.** A record is validated, redacted,
  serialised and folded into the (freshly read) summary, and the new summary encoded,
  before a byte is appended; any failure refuses the record with ``InvalidInput``.
- **Nothing overwritten without a copy.** A ``metadata.json`` written by the earlier
  shell version is migrated in place (backup ``metadata.legacy.json``) before anything
  is recorded into it, and reads leave it alone; any other ``metadata.json`` that is not
  a well-formed summary is copied to ``metadata.corrupt-<time>.json`` before it is
  replaced by one rebuilt from the log.
- **Honest acknowledgement.** ``record`` returns only once the line and the summary
  are both durable. If either write fails, the log is truncated back to its size
  before the append, so a refused record is not stored (and the error says so); the
  rare case where even that fails is stated in the error, and a retry with the same
  id is stored at most once (``record_unique``). A session directory that the failed
  write had just created is removed again (``creation.discard_if_empty``): no empty session
  is left to be listed as new.
- **Odd files never hang or crash a listing.** A FIFO, socket, device or directory
  where a file is expected is refused when opened (``fsutil.open_nofollow``); that
  session is reported unreadable with the reason and the others are served. One as a
  lock or ``pending-call.json`` (never opened by a read) leaves the session readable but
  is named in its ``refused`` and ``problems``: writing to it is refused.
- **Torn lines.** A crash mid-append can leave a last line without newline. Readers
  ignore it and report it (until ``repair``); the next append first terminates it, so it
  can never fuse with a new record. Unparseable lines are never deleted, only skipped
  and reported (``repair`` moves them to ``interactions.corrupt.jsonl``).
- **Listings see every write.** Each write is noted in the change journal (``noting``).
- **Deletion races.** Deleting renames the directory away under both locks; a writer
  that was waiting for the lock notices its lock file is gone and starts over. ``delete``
  with ``idle_days`` re-checks the last use under the locks, so ``clean`` never removes
  a session that was used after it was listed.

Removing, repairing, migrating and cleaning whole sessions are functions of ``lifecycle``
that take a ``SessionStore``; this module only reads, records and locks.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_orchestrator.core import env as aio_env
from ai_orchestrator.core.errors import (
    InvalidInput,
    NotFound,
    SessionBusy,
    SessionNotFound,
    StoreError,
    StoreFileError,
    UnsafeStore,
)
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.core.names import SessionName, as_session_name
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import (
    append_durably,
    atomic_write,
    check_readable,
    ensure_private_dir,
    file_error,
    odd_file,
    open_nofollow,
    read_bytes,
    resolve_store_root,
    tighten_path,
    truncate_back,
)
from ai_orchestrator.infra.timeutil import format_iso, parse_iso
from ai_orchestrator.store.creation import build_session_dir, discard_if_empty, not_aio
from ai_orchestrator.store.discovery import Discovery, discover, session_marker
from ai_orchestrator.store.journal import noting
from ai_orchestrator.store.logfile import (
    LOG,
    METADATA,
    LogRead,
    SummaryRead,
    fallback_created,
    keep_foreign_copy,
    log_problems,
    parse_log,
    read_log_file,
    read_summary,
    summary_bytes,
    summary_of_log,
    summary_under_lock,
    write_summary,
)
from ai_orchestrator.store.pending import PENDING
from ai_orchestrator.store.records import check_interaction, of_session, stored_form
from ai_orchestrator.store.summary import SessionSummary, apply_interaction, build_summary, carried

__all__ = [
    "LOG",
    "METADATA",
    "LogRead",
    "SessionStore",
    "SessionView",
    "default_store_root",
    "parse_log",
    "write_summary",
]

DEFAULT_RUN_LOCK_TIMEOUT = 30.0
Name = str | SessionName  # a name is parsed once (``as_session_name``), then passed on


def default_store_root(env: Mapping[str, str] | None = None) -> Path:
    return Path(aio_env.session_dir(env))


@dataclass
class SessionView:
    """A session as read from disk: its summary plus anything wrong with its files."""

    name: str
    path: Path
    summary: SessionSummary
    problems: list[str] = field(default_factory=list)
    legacy: bool = False
    # Odd (non-regular) lock or pending-call files: the session reads fine, but record,
    # clean and repair refuse it; also in ``problems``.
    refused: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = self.summary.to_json()
        data["path"] = str(self.path)
        data["problems"] = list(self.problems)
        return data


def _fate(saved: str | None) -> str:
    """What happened to a damaged ``metadata.json`` (see ``_try_write_repaired``)."""
    if saved is None:
        return f" (not saved: {METADATA} left as it is)"
    return f" (original kept as {saved})" if saved else ""


class SessionStore:
    """Access to the session store rooted at ``root`` (default: ``$SESSION_DIR``)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = resolve_store_root(root if root is not None else default_store_root())

    # ------------------------------------------------------------------ paths

    def ensure_root(self) -> None:
        """Create the store (and missing parents, like ``mkdir -p``) or validate it."""
        try:
            if not os.path.lexists(self.root):
                os.makedirs(self.root.parent, mode=0o700, exist_ok=True)
            ensure_private_dir(self.root, what="session store")
        except FileExistsError:
            # makedirs met a parent that exists but is not a directory
            raise StoreError(
                f"cannot use session store {self.root}: a parent is not a directory"
            ) from None
        except OSError as exc:
            raise file_error(self.root, exc, action="use session store") from None

    def check_root(self) -> bool:
        """Validate the root if it exists (tightening its mode); False when absent."""
        try:
            ensure_private_dir(self.root, create=False, what="session store")
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise file_error(self.root, exc, action="use session store") from None
        return True

    def path_of(self, name: Name) -> Path:
        session = as_session_name(name)
        return self.root / session.name

    def _existing_dir(self, session: SessionName, *, root_checked: bool = False) -> Path:
        """The directory of an existing session. ``NotFound`` when there is none, also when
        the entry of that name is not aio's (``discovery.session_marker``): it is checked
        before anything is opened, locked or tightened in it."""
        if not root_checked and not self.check_root():
            raise SessionNotFound(session.name, f"no session store at {self.root}")
        path = self.root / session.name
        if not self._is_session(session, path):
            raise SessionNotFound(session.name, not_aio(path))
        try:
            ensure_private_dir(path, create=False, what="session directory")
        except FileNotFoundError:
            raise SessionNotFound(session.name) from None
        except OSError as exc:
            raise file_error(path, exc, action="use session directory") from None
        return path

    def _is_session(self, session: SessionName, path: Path) -> bool:
        """``path`` holds aio's marker; ``NotFound`` if absent, ``UnsafeStore`` for a link."""
        try:
            marker = session_marker(path, session.name)
        except FileNotFoundError:
            raise SessionNotFound(session.name) from None
        except OSError as exc:
            raise file_error(path, exc, action="use session directory") from None
        if marker is None and os.path.islink(path):
            raise UnsafeStore(str(path), "it is a symbolic link", "session directory")
        return marker is not None

    def exists(self, name: Name) -> bool:
        """A session of that name exists (an entry that is not aio's does not count)."""
        session = as_session_name(name)
        if not self.check_root():
            return False
        try:
            return self._is_session(session, self.root / session.name)
        except NotFound:
            return False
        except StoreError:
            return True  # there, but unusable: using it says why

    def discover(self) -> Discovery:
        """The one scan of the store every command uses (``store.discovery.discover``):
        sessions, shell-version sessions under other names, entries that could not be
        examined and entries that are not aio's. Read-only."""
        if not self.check_root():
            return Discovery()
        try:
            return discover(self.root)
        except OSError as exc:
            raise file_error(self.root, exc, action="list session store") from None

    def names(self) -> list[str]:
        """Names of all sessions (sorted): directories holding aio's marker."""
        return self.discover().sessions

    # ------------------------------------------------------------------ writing

    def _create_session(self, session: SessionName) -> tuple[Path, locks.HeldLock | None]:
        """The session's directory, created if missing; with its write lock held when this
        call created it.

        A new session is built aside as ``.aio+new-<name>-<suffix>`` (a name no session can
        have) holding its empty log and its locked ``.lock``, then renamed into place: a
        session directory never exists without aio's marker, and a creation that fails
        (``.lock`` cannot be opened or locked, a full disk, EMFILE) leaves nothing. An
        existing entry that is not aio's is refused (``StoreError``): nothing is written
        into it."""
        self.ensure_root()
        path = self.root / session.name
        while True:
            if os.path.lexists(path):
                if not self._is_session(session, path):
                    raise StoreError(
                        f"cannot use session {session.name}: {not_aio(path)}; nothing was "
                        "written (move it away or choose another name)"
                    )
                ensure_private_dir(path, what="session directory")
                return path, None
            lock = build_session_dir(self.root, session, path)
            if lock is not None:
                return path, lock
            # someone else created it first: use theirs

    def _ensure_session_dir(self, session: SessionName) -> Path:
        path, lock = self._create_session(session)
        if lock is not None:
            lock.release()
        return path

    def _lock_session(self, session: SessionName) -> tuple[Path, locks.HeldLock]:
        """Create the session if needed and take its write lock (retrying across deletes)."""
        while True:
            path, lock = self._create_session(session)
            if lock is None:
                lock = locks.acquire(path / locks.WRITE_LOCK, timeout=None)
            if lock.still_linked():
                return path, lock
            lock.release()  # the session was deleted while we waited: start over

    def _append(
        self,
        session: SessionName,
        records: list[Interaction],
        *,
        dedupe: bool,
        created_at: str | None = None,
        base: Mapping[str, Any] | None = None,
    ) -> list[Interaction]:
        created = not os.path.lexists(self.root / session.name)
        try:
            path, lock = self._lock_session(session)
        except StoreFileError as exc:
            raise exc.with_outcome(f"nothing was recorded in {session.name}") from None
        try:
            with noting(self.root, session.name):
                current = read_summary(path, session)
                if current.legacy is not None:
                    # Recording into a shell-version session converts it first (with its
                    # backup); rebuilding from our empty log would drop its history.
                    from ai_orchestrator.store.legacy import migrate_locked

                    migrate_locked(path, session)
                    current = read_summary(path, session)
                fd = open_nofollow(path / LOG, os.O_RDWR | os.O_APPEND | os.O_CREAT)
                try:
                    stored = self._append_locked(
                        path, session, fd, current, records, dedupe, created_at, base
                    )
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.close(fd)
                    raise
        except BaseException as exc:
            if created:
                discard_if_empty(self.root, session, path, lock)
            if isinstance(exc, StoreFileError):
                raise exc.with_outcome(f"nothing was recorded in {session.name}") from None
            raise
        finally:
            lock.release()  # never raises: closing the descriptor frees the lock anyway
        # Committed: the line and the summary are written and fsynced, so an error closing
        # the log now (EIO, EDQUOT from a lazy file system) cannot un-store them; reporting
        # it would make a stored record look refused, and a retry would store it twice.
        with contextlib.suppress(OSError):
            os.close(fd)
        return stored

    def _append_locked(
        self,
        path: Path,
        session: SessionName,
        fd: int,
        current: SummaryRead,
        records: list[Interaction],
        dedupe: bool,
        created_at: str | None,
        base: Mapping[str, Any] | None = None,
    ) -> list[Interaction]:
        summary, size = summary_under_lock(path, session, fd, current)
        changed = summary is not current.summary or current.missing
        if created_at is not None and created_at < summary["created_at"]:
            summary["created_at"] = created_at  # an import restores the original creation
            changed = True
        for key, value in carried(base or {}).items():
            if not summary.get(key):  # an import's carried fields, where the session has none
                summary[key] = value
                changed = True
        if dedupe:
            known = self._ids_in_log(path, session)
            fresh = []
            for record in records:
                if record.id not in known:
                    known.add(record.id)
                    fresh.append(record)
            records = fresh
        if not records:
            if changed:
                write_summary(path, summary)
            return []
        stored = [stored_form(r) for r in records]
        payload = b"".join(line for _, line in stored)
        if size and os.pread(fd, 1, size - 1) != b"\n":
            payload = b"\n" + payload  # isolate a torn tail; never fuse with it
            summary["corrupt_lines"] += 1
        summary["torn_tail"] = 0
        # Fold and encode before writing: a record that cannot be summarised must not
        # reach the log. ``summary`` was just read from disk, so a failure discards it.
        try:
            for record, _ in stored:
                apply_interaction(summary, record)
            summary["log_size"] = size + len(payload)
            encoded = summary_bytes(summary)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            raise InvalidInput(f"interaction cannot be recorded: {exc}") from None
        # Acknowledge only what is durable: if the summary cannot be written, the line
        # appended just before is cut off again, so the failed record is not stored.
        append_durably(fd, payload, path / LOG)
        try:
            atomic_write(path / METADATA, encoded)
        except BaseException as exc:
            undone = truncate_back(fd, size)
            if isinstance(exc, OSError):
                ids = ", ".join(record.id for record, _ in stored)
                outcome = (
                    f"nothing was recorded ({LOG} and {METADATA} are as before)"
                    if undone
                    else f"the record may still be in {LOG} and counted on the next read "
                    f"(id {ids}: retrying with this id stores it at most once)"
                )
                raise file_error(path / METADATA, exc, action="write").with_outcome(
                    outcome, replace=True
                ) from None
            raise
        return [record for record, _ in stored]

    def _ids_in_log(self, path: Path, session: SessionName) -> set[str]:
        data = read_bytes(path / LOG) or b""
        return {r.id for r in parse_log(data, session).records}

    def create(self, name: str) -> SessionView:
        """Create an empty session (idempotent) and return it."""
        session = as_session_name(name)
        self._append(session, [], dedupe=False)
        return self.load(session.name)

    def record(self, interaction: Interaction) -> Interaction:
        """Append one interaction to its session (checked, redacted); the stored record."""
        stored = self._append(interaction.session, [check_interaction(interaction)], dedupe=False)
        return stored[0]

    def record_unique(
        self,
        name: Name,
        interactions: Iterable[Interaction],
        *,
        created_at: str | None = None,
        base: Mapping[str, Any] | None = None,
    ) -> int:
        """Append the interactions whose ids the session does not have yet; return how many.

        Reads the whole log to check ids, so it is for imports, not for the hot path.
        ``created_at`` (an import's original creation time) is kept if it is earlier;
        ``base`` gives carried fields (``summary.carried``) the session does not have yet.
        """
        session = as_session_name(name)
        records = [check_interaction(of_session(i, session)) for i in interactions]
        moment = parse_iso(created_at)
        created = format_iso(moment) if moment else None
        return len(self._append(session, records, dedupe=True, created_at=created, base=base))

    # ------------------------------------------------------------------ reading

    def load(self, name: Name, *, repair: bool = True, _root_checked: bool = False) -> SessionView:
        """Read a session. A stale/corrupt summary is rebuilt from the log (and, with
        ``repair``, written back if the write lock is free); problems are reported."""
        session = as_session_name(name)
        path = self._existing_dir(session, root_checked=_root_checked)
        current = read_summary(path, session)
        try:
            size = os.lstat(path / LOG).st_size
        except FileNotFoundError:
            size = 0
        else:
            # A log that cannot be read makes the session unreadable here too, as in
            # ``show``: never a listing from the summary alone.
            check_readable(path / LOG)
        # A store written by the shell version (or by hand) may have loose modes.
        for entry in (LOG, locks.WRITE_LOCK, locks.RUN_LOCK):
            tighten_path(path / entry)
        summary = current.summary
        if summary is not None and not current.outdated and summary["log_size"] == size:
            problems = log_problems(summary["corrupt_lines"], summary.get("torn_tail", 0))
            typed = SessionSummary.from_json(summary, session)
            view = SessionView(session.name, path, typed, problems)
        else:
            view = self._rebuild_view(session, path, current, repair=repair)
        for entry in (locks.WRITE_LOCK, locks.RUN_LOCK, PENDING):
            odd = odd_file(path / entry)
            if odd is not None:
                view.refused.append(odd)
                view.problems.append(odd)
        return view

    def _rebuild_view(
        self, session: SessionName, path: Path, current: SummaryRead, *, repair: bool
    ) -> SessionView:
        if current.legacy is not None:
            return self._legacy_view(session, path, current.legacy)
        parsed = parse_log(read_bytes(path / LOG) or b"", session)
        rebuilt = summary_of_log(path, session, parsed, current.created_at, current.base)
        problems = []
        never_written = current.missing and parsed.size == 0
        # Write back first, so the problem line says what really happened to the file.
        saved = self._try_write_repaired(path, rebuilt, current) if repair else None
        if current.summary is None and not never_written:
            problems.append(f"{current.problem}; summary rebuilt from {LOG}{_fate(saved)}")
        elif current.summary is not None and not current.outdated:
            problems.append(f"summary was out of date; rebuilt from {LOG}")
        problems.extend(parsed.problems())
        return SessionView(session.name, path, SessionSummary.from_json(rebuilt, session), problems)

    def _try_write_repaired(
        self, path: Path, summary: dict[str, Any], seen: SummaryRead
    ) -> str | None:
        """Write the rebuilt summary back if nobody else is writing; ``""`` if written,
        the name of the kept copy of a foreign file, or ``None`` if nothing was changed."""
        try:
            lock = locks.acquire(path / locks.WRITE_LOCK, timeout=0)
        except (SessionBusy, OSError, StoreError):
            return None  # someone is writing; they will reconcile it themselves
        try:
            if not lock.still_linked():
                return None
            try:
                size = os.lstat(path / LOG).st_size
            except FileNotFoundError:
                size = 0
            # Only replace exactly what was read: a file that changed meanwhile is
            # someone else's newer write (or edit) and is left to them.
            if size == summary["log_size"] and read_bytes(path / METADATA) == seen.data:
                with noting(self.root, path.name):
                    kept = keep_foreign_copy(path, seen)
                    write_summary(path, summary)
                return kept or ("metadata.corrupt-*.json" if seen.foreign else "")
        except (OSError, StoreError):
            pass  # a read-only store still reads fine
        finally:
            lock.release()
        return None

    def _legacy_records(
        self, path: Path, session: SessionName, legacy: Mapping[str, Any]
    ) -> tuple[list[Interaction], int]:
        """What migrating would keep: converted legacy calls, then the log's records."""
        from ai_orchestrator.store.legacy import legacy_records

        records, bad = legacy_records(legacy, session)
        known = {r.id for r in records}
        logged = parse_log(read_bytes(path / LOG) or b"", session).records
        return records + [r for r in logged if r.id not in known], len(bad)

    def _legacy_view(
        self, session: SessionName, path: Path, legacy: Mapping[str, Any]
    ) -> SessionView:
        """A session written by the earlier shell version (interactions inside metadata)."""
        from ai_orchestrator.store.legacy import legacy_base, legacy_created

        records, bad = self._legacy_records(path, session, legacy)
        created = legacy_created(legacy) or fallback_created(path)
        summary = build_summary(session, records, created, legacy_base(legacy))
        problems = ["written by the earlier shell version (run: aio session migrate)"]
        if bad:
            problems.append(f"{bad} unreadable legacy interaction(s) skipped")
        return SessionView(session.name, path, SessionSummary.from_json(summary, session),
                           problems, legacy=True)  # fmt: skip

    def read_log(self, name: Name, limit: int | None = None) -> LogRead:
        """The session's records; with ``limit``, those in the log's last ``limit`` bytes
        (``logfile.read_log_file``: whole lines, ``LogRead.whole`` says if that was all)."""
        session = as_session_name(name)
        path = self._existing_dir(session)
        current = read_summary(path, session)
        if current.legacy is not None:
            records, _ = self._legacy_records(path, session, current.legacy)
            return LogRead(records=records, size=0)
        return read_log_file(path / LOG, session, limit)

    def iter_views(self) -> Iterator[SessionView | tuple[str, str]]:
        """Every session, or ``(name, error)`` for a directory that cannot be read safely."""
        for name in self.names():
            try:
                yield self.load(name, _root_checked=True)
            except (StoreError, NotFound, OSError) as exc:
                yield name, str(exc)

    # ------------------------------------------------------------------ locks

    def run_lock(
        self, name: Name, *, timeout: float = DEFAULT_RUN_LOCK_TIMEOUT, command: str | None = None,
        on_wait: locks.WaitReport | None = None,
    ) -> locks.HeldLock:
        """Hold ``name`` for a whole agent run (creating the session if needed)."""
        session = as_session_name(name)
        while True:
            path = self._ensure_session_dir(session)
            what = f"session {session.name}"
            lock = locks.acquire(
                path / locks.RUN_LOCK, timeout=timeout, command=command, what=what, on_wait=on_wait
            )
            if lock.still_linked():
                return lock
            lock.release()

    def holder(self, name: Name) -> locks.Holder | None:
        """Who is running in the session right now (run lock first, then write lock)."""
        path = self.path_of(name)
        return locks.read_holder(path / locks.RUN_LOCK) or locks.read_holder(
            path / locks.WRITE_LOCK
        )

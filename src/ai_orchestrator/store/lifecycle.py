"""Removing, repairing and cleaning whole sessions: delete, purge, tidy, repair, migrate, clean.

Each function takes a ``SessionStore`` and the locks it needs (``maintenance`` holds the
steps that run under a write lock the caller already holds). Every removal goes through
``trash`` (rename aside, then delete the copy outside the locks).

``clean`` is the use case behind ``aio session clean``: ``plan_clean`` lists the sessions
last used at least N days ago (from the summary index); ``clean`` deletes each of them
with the last use re-checked under its locks (a session used after it was listed is kept,
with the reason; one the system refused to remove is kept and named in ``failed``, which
makes ``aio session clean`` exit 1), then removes leftovers of crashed writes and
deletions (never anything recorded). Both return typed records; rendering and asking
for confirmation are the caller's.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ai_orchestrator.core.errors import (
    AioError,
    NotFound,
    SessionBusy,
    SessionNotFound,
    SessionPinned,
    StoreError,
    StoreFileError,
)
from ai_orchestrator.core.names import SessionName, parse_session_name
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import file_error
from ai_orchestrator.infra.timeutil import within_days
from ai_orchestrator.store.discovery import is_store_entry
from ai_orchestrator.store.index import SessionRow, SummaryIndex, unreadable_entries
from ai_orchestrator.store.journal import noting
from ai_orchestrator.store.legacy import migrate_locked
from ai_orchestrator.store.logfile import LOG, METADATA, read_summary
from ai_orchestrator.store.maintenance import (
    fix_modes,
    odd_entries,
    purge_temp_files,
    repair_locked,
    temp_files,
    tighten_index,
)
from ai_orchestrator.store.pending import PENDING
from ai_orchestrator.store.session_store import SessionStore
from ai_orchestrator.store.stats import check_days
from ai_orchestrator.store.trash import empty_trash, purge_trash, to_trash


def delete_session(
    store: SessionStore,
    name: str,
    *,
    idle_days: float | None = None,
    now: datetime | None = None,
    unchanged_since: str | None = None,
    guard: Guard | None = None,
) -> bool:
    """Delete a session; refuses (``SessionBusy``) while any of its locks is held.

    Only what aio made is removed: an entry that is not an aio session is refused
    (``NotFound``) before a lock file is created in it, and under both locks the directory
    must hold nothing but store files (``StoreError`` naming the others, nothing removed).
    Whatever a user writes into it after that check is kept (``trash.empty_trash``).

    With ``idle_days`` (``clean``), the session is deleted only if it was last used at
    least that long ago and holds no pending call, checked under both locks; returns
    False (nothing deleted) if it was used since, ``StoreError`` for a pending call.
    ``unchanged_since`` (a retention policy) does the same for "last used exactly then":
    a session used after the policy was planned is kept (False).

    ``guard`` runs under both locks right before the removal: ``guard.keep`` may refuse it
    (``SessionPinned``: pins are written under the write lock, so a pin is never missed),
    then ``guard.before_remove`` may copy the session out (the retention archive); if that
    raises, nothing is removed.
    """
    session = parse_session_name(name)
    path = store._existing_dir(session)
    checked = os.lstat(path).st_ino
    run = locks.acquire(path / locks.RUN_LOCK, timeout=0, what=f"session {session.name}")
    try:
        write = locks.acquire(path / locks.WRITE_LOCK, timeout=0, what=f"session {session.name}")
        try:
            # Still the directory whose marker was checked (not one put in its place).
            if not (run.still_linked() and write.still_linked()) or (
                os.lstat(path).st_ino != checked
            ):
                raise SessionNotFound(session.name, "removed meanwhile")
            if idle_days is not None or unchanged_since is not None:
                if os.path.lexists(path / PENDING):
                    raise StoreError(unrecovered(session.name))
                summary = store.load(session, repair=False).summary
                if idle_days is not None and within_days(summary.last_activity, idle_days, now):
                    return False
                if unchanged_since is not None and summary.last_activity != unchanged_since:
                    return False
            if guard is not None:
                guard.keep(session.name)
            others = foreign_entries(path)
            if others:
                raise StoreError(
                    f"cannot remove {session.name}: {path} holds entries aio did not make "
                    f"({', '.join(others[:5])}{', …' if len(others) > 5 else ''}); "
                    "nothing was removed"
                )
            if guard is not None:
                guard.before_remove(session, path)
            trash = to_trash(store.root, path, session.name)
        finally:
            write.release()
    finally:
        run.release()
    empty_trash(trash, restore_to=path)
    return True


class Guard(Protocol):
    """What a retention policy adds to a removal, under the session's locks."""

    def keep(self, name: str) -> None:
        """Raise (``SessionPinned``) if ``name`` must not be removed."""

    def before_remove(self, session: SessionName, path: Path) -> None:
        """Copy what must survive the removal (the archive); raise to keep the session."""


def unrecovered(name: str) -> str:
    return (
        f"holds an unrecovered call ({PENDING}); kept (run: aio session repair {name})"
    )


def foreign_entries(path: Path) -> list[str]:
    """Entries of a session directory that are not store files (``is_store_entry``), or
    are directories: what removal must never delete."""
    with os.scandir(path) as entries:
        return sorted(
            e.name
            for e in entries
            if not is_store_entry(e.name) or e.is_dir(follow_symlinks=False)
        )


def purge_store_trash(store: SessionStore) -> int:
    """Remove leftovers of deletions interrupted by a crash; how many there were."""
    return purge_trash(store.root) if store.check_root() else 0


def tidy_session(store: SessionStore, name: str) -> int:
    """Remove stale temp files of an interrupted write in one session (under its write
    lock, so no write is in flight); 0 if the session is busy."""
    path = store._existing_dir(parse_session_name(name))
    if not temp_files(path):
        return 0  # the common case: no lock taken
    try:
        lock = locks.acquire(path / locks.WRITE_LOCK, timeout=0)
    except SessionBusy:
        return 0
    with lock:
        return purge_temp_files(path)


def repair_session(store: SessionStore, name: str) -> dict[str, Any]:
    """Rebuild the summary from the log under the write lock (migrating a shell-version
    session first); move unreadable lines to ``interactions.corrupt.jsonl`` (kept, never
    deleted); fix modes; remove stale temp files and deletion leftovers.

    Refuses (nothing changed) when the summary, the log or the write lock is an odd file;
    names any other odd entry under ``cannot_fix``."""
    session = parse_session_name(name)
    path = store._existing_dir(session)
    odd = odd_entries(path)
    blocking = [odd[n] for n in (METADATA, LOG, locks.WRITE_LOCK) if n in odd]
    if blocking:
        raise StoreError(
            f"cannot repair {session.name}: {'; '.join(blocking)}; repair cannot fix "
            "this, nothing was changed"
        )
    try:
        lock = locks.acquire(path / locks.WRITE_LOCK, timeout=None)
    except StoreFileError as exc:
        raise exc.with_outcome(f"nothing was changed in {session.name}") from None
    with lock, noting(store.root, session.name):
        try:
            report = repair_locked(path, session)
        except StoreFileError as exc:
            raise exc.with_outcome(
                "repair stopped part-way; each step it finished is complete on its own "
                "(lines are copied aside before the log is rewritten): run it again "
                "once this is fixed"
            ) from None
    report["cannot_fix"] = sorted(odd.values())
    report["trash_removed"] = purge_store_trash(store)
    report["modes_fixed"] += tighten_index(store.root)
    return report


def migrate_session(store: SessionStore, name: str) -> dict[str, Any] | None:
    """Convert a shell-version session in place under its write lock; ``None`` if it was
    already current."""
    session = parse_session_name(name)
    path = store._existing_dir(session)
    if read_summary(path, session).legacy is None:
        return None  # nothing to convert: no lock taken (a read-only store is current too)
    with locks.locked(path / locks.WRITE_LOCK, timeout=None), noting(store.root, session.name):
        migrated = migrate_locked(path, session)
        if migrated is None:
            return None
        # The shell version left .lock at 0644. Best effort: the session is converted
        # already, and a failure now must not report it as skipped (repair fixes modes).
        with contextlib.suppress(AioError, OSError):
            fix_modes(path)
    return {
        "session_name": session.name,
        "interactions": migrated.converted,
        "unusable": migrated.unusable,
    }


# ----------------------------------------------------------------------------- clean


@dataclass(frozen=True)
class CleanPlan:
    """What ``clean`` would remove: the sessions last used ``older_than`` or more days
    before ``now`` (``candidates``, name order), out of every readable one (``rows``).

    A retention policy's plan (``store.retention.plan_policy``) has ``policy`` set, says
    why each candidate goes (``reasons``) and which sessions it exempted (``exempt``:
    pinned, in use); its candidates are removed only if unused since they were planned."""

    older_than: float | None
    now: datetime
    rows: list[SessionRow]
    candidates: list[SessionRow]
    errors: list[tuple[str, str]]  # (name, problem) of sessions the index could not read
    unreadable: list[dict[str, str]]  # ``index.unreadable_entries``
    not_aio: list[dict[str, str]] = field(default_factory=list)  # ``Foreign.to_dict``: kept
    reasons: dict[str, str] = field(default_factory=dict)
    exempt: list[dict[str, str]] = field(default_factory=list)  # {session_name, reason}
    policy: dict[str, Any] | None = None

    def report(self, *, dry_run: bool) -> CleanReport:
        """The report of this plan before anything is removed (a dry run, a refusal)."""
        return CleanReport(
            older_than_days=self.older_than,
            dry_run=dry_run,
            candidates=[r.name for r in self.candidates],
            unreadable=self.unreadable,
            not_aio=self.not_aio,
            policy=self.policy,
            reasons=dict(self.reasons),
            exempt=list(self.exempt),
        )


@dataclass
class CleanReport:
    """What ``clean`` did. ``trash_removed``/``temp_files_removed`` are ``None`` until the
    cleaning ran (a dry run or a refusal removes nothing, not even leftovers)."""

    older_than_days: float | None
    dry_run: bool
    candidates: list[str]
    unreadable: list[dict[str, str]]
    not_aio: list[dict[str, str]] = field(default_factory=list)  # left alone, never removed
    removed: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {session_name, reason}
    recovered: list[dict[str, str]] = field(default_factory=list)  # {session_name, note}
    failed: list[str] = field(default_factory=list)  # skipped because the removal failed
    trash_removed: int | None = None
    temp_files_removed: int | None = None
    policy: dict[str, Any] | None = None  # the rest only for a retention policy
    reasons: dict[str, str] = field(default_factory=dict)
    exempt: list[dict[str, str]] = field(default_factory=list)
    archived: list[dict[str, str]] = field(default_factory=list)  # {session_name, path}

    def to_dict(self) -> dict[str, Any]:
        """The ``aio session clean --json`` document."""
        data: dict[str, Any] = versioned({
            "older_than_days": self.older_than_days,
            "dry_run": self.dry_run,
            "candidates": self.candidates,
            "removed": self.removed,
            "skipped": self.skipped,
            "recovered": self.recovered,
            "unreadable": self.unreadable,
            "not_aio": self.not_aio,
        })
        if self.trash_removed is not None:
            data["trash_removed"] = self.trash_removed
            data["temp_files_removed"] = self.temp_files_removed
        data["failed"] = self.failed
        if self.policy is not None:
            data["policy"] = self.policy
            data["reasons"] = self.reasons
            data["exempt"] = self.exempt
            data["archived"] = self.archived
        return data


def plan_clean(store: SessionStore, older_than: float, now: datetime | None = None) -> CleanPlan:
    """List what ``clean`` would remove (``InvalidInput`` for a bad ``older_than``)."""
    older_than = check_days(older_than, "older_than", allow_zero=True)
    now = now or datetime.now(UTC)
    found = store.discover()
    rows, errors = SummaryIndex(store).rows(found)
    errors = found.errors + errors
    candidates = sorted(
        (r for r in rows if not within_days(r.last_activity, older_than, now)),
        key=lambda r: r.name,
    )
    unreadable = unreadable_entries(rows, errors)
    foreign = [f.to_dict() for f in found.foreign]
    return CleanPlan(older_than, now, rows, candidates, errors, unreadable, foreign)


CleanProgress = Callable[[str, str], None]
"""Told ``(session_name, reason)`` after each candidate: reason ``""`` means removed."""

Settle = Callable[[str], str]
"""Records the call a session's ``pending-call.json`` stands for (``calls.repair``); returns
what it did, raises ``AioError``/``OSError`` if it could not. The store cannot do this
itself: recovery reads the agents' files and prices calls, rooms above the store."""


def clean(
    store: SessionStore,
    plan: CleanPlan,
    progress: CleanProgress | None = None,
    settle: Settle | None = None,
    guard: Guard | None = None,
) -> CleanReport:
    """Remove the plan's candidates, each only if still unused for ``older_than`` days
    under its locks; a busy, vanished or unreadable one is kept with the reason. A
    candidate with a pending call (``pending-call.json``, whatever its age or type) is
    first recovered with ``settle`` — its recorded call then counts as its last use — or
    kept. Then remove leftovers of crashed writes and deletions in the store and every
    listed session. A policy's plan passes its ``guard`` (pins, the archive).
    """
    report = plan.report(dry_run=False)
    for row in plan.candidates:
        reason, note = "", ""
        if os.path.lexists(store.root / row.name / PENDING):
            if settle is None:
                reason = unrecovered(row.name)
            else:
                try:
                    note = settle(row.name)
                except (AioError, OSError) as exc:
                    reason = f"{unrecovered(row.name)}: it could not be recovered: {exc}"
                else:
                    report.recovered.append({"session_name": row.name, "note": note})
        if not reason:
            try:
                deleted = delete_session(
                    store,
                    row.name,
                    idle_days=plan.older_than if plan.policy is None else None,
                    unchanged_since=row.last_activity if plan.policy is not None else None,
                    now=plan.now,
                    guard=guard,
                )
            except (SessionBusy, NotFound, SessionPinned) as exc:
                reason = str(exc)
            except (StoreError, OSError) as exc:
                reason = str(exc if isinstance(exc, StoreError) else file_error(exc.filename, exc))
                if _system_refused(exc) and not row.refused:
                    report.failed.append(row.name)  # not a deliberate refusal: a failure
            else:
                reason = "" if deleted else _used_since(plan)
            if reason and note:
                reason = f"{note}; {reason}"
        if reason:
            report.skipped.append({"session_name": row.name, "reason": reason})
        else:
            report.removed.append(row.name)
        if progress is not None:
            progress(row.name, reason)
    # a tidy-up after the work: what it could not reach is purged by the next clean
    with contextlib.suppress(StoreError, OSError):
        report.trash_removed = purge_store_trash(store)
    report.temp_files_removed = sum(_tidy(store, row.name) for row in plan.rows)
    return report


def _used_since(plan: CleanPlan) -> str:
    if plan.policy is not None or plan.older_than is None:
        return "used since the policy was planned"
    return f"used within the last {plan.older_than:g} days"


def _system_refused(exc: Exception) -> bool:
    """The system refused an operation (read-only, full, permission, I/O…), as opposed to
    the store refusing on purpose (an odd file, a symlink: ``errno`` None or EISDIR)."""
    return isinstance(exc, OSError) and exc.errno not in (None, errno.EISDIR)


def _tidy(store: SessionStore, name: str) -> int:
    try:
        return tidy_session(store, name)
    except (NotFound, StoreError, OSError):
        return 0  # deleted just now, or unreadable (already reported)

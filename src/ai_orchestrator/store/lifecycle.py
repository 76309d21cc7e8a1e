"""Removing, repairing and cleaning whole sessions: delete, purge, tidy, repair, migrate, clean.

Each function takes a ``SessionStore`` and the locks it needs (``maintenance`` holds the
steps that run under a write lock the caller already holds). Every removal goes through
``trash`` (rename aside, then delete the copy outside the locks).

``clean`` is the use case behind ``aio session clean``: ``plan_clean`` lists the sessions
last used at least N days ago (from the summary index); ``clean`` deletes each of them
with the last use re-checked under its locks (a session used after it was listed is kept,
with the reason), then removes leftovers of crashed writes and deletions (never anything
recorded). Both return typed records; rendering and asking for confirmation are the
caller's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ai_orchestrator import SCHEMA_VERSION
from ai_orchestrator.core.errors import NotFound, SessionBusy, StoreError, StoreFileError
from ai_orchestrator.core.names import parse_session_name
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.timeutil import within_days
from ai_orchestrator.store.index import SessionRow, SummaryIndex, unreadable_entries
from ai_orchestrator.store.journal import noting
from ai_orchestrator.store.legacy import migrate_locked
from ai_orchestrator.store.logfile import LOG, METADATA
from ai_orchestrator.store.maintenance import (
    fix_modes,
    odd_entries,
    purge_temp_files,
    repair_locked,
    temp_files,
    tighten_index,
)
from ai_orchestrator.store.session_store import SessionStore
from ai_orchestrator.store.stats import check_days
from ai_orchestrator.store.summary import last_activity
from ai_orchestrator.store.trash import empty_trash, purge_trash, to_trash


def delete_session(
    store: SessionStore,
    name: str,
    *,
    idle_days: float | None = None,
    now: datetime | None = None,
) -> bool:
    """Delete a session; refuses (``SessionBusy``) while any of its locks is held.

    With ``idle_days``, the session is deleted only if it was last used at least that
    long ago, checked under both locks; returns False (nothing deleted) otherwise.
    """
    session = parse_session_name(name)
    path = store._existing_dir(session)
    run = locks.acquire(path / locks.RUN_LOCK, timeout=0, what=f"session {session.name}")
    try:
        write = locks.acquire(path / locks.WRITE_LOCK, timeout=0, what=f"session {session.name}")
        try:
            if idle_days is not None:
                summary = store.load(session, repair=False).summary
                if within_days(last_activity(summary), idle_days, now):
                    return False
            trash = to_trash(store.root, path, session.name)
        finally:
            write.release()
    finally:
        run.release()
    empty_trash(trash)
    return True


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
    with locks.locked(path / locks.WRITE_LOCK, timeout=None), noting(store.root, session.name):
        migrated = migrate_locked(path, session)
        if migrated is None:
            return None
        fix_modes(path)  # the shell version left .lock at 0644
    return {
        "session_name": session.name,
        "interactions": migrated.converted,
        "unusable": migrated.unusable,
    }


# ----------------------------------------------------------------------------- clean


@dataclass(frozen=True)
class CleanPlan:
    """What ``clean`` would remove: the sessions last used ``older_than`` or more days
    before ``now`` (``candidates``, name order), out of every readable one (``rows``)."""

    older_than: float
    now: datetime
    rows: list[SessionRow]
    candidates: list[SessionRow]
    errors: list[tuple[str, str]]  # (name, problem) of sessions the index could not read
    unreadable: list[dict[str, str]]  # ``index.unreadable_entries``

    def report(self, *, dry_run: bool) -> CleanReport:
        """The report of this plan before anything is removed (a dry run, a refusal)."""
        return CleanReport(
            older_than_days=self.older_than,
            dry_run=dry_run,
            candidates=[r.name for r in self.candidates],
            unreadable=self.unreadable,
        )


@dataclass
class CleanReport:
    """What ``clean`` did. ``trash_removed``/``temp_files_removed`` are ``None`` until the
    cleaning ran (a dry run or a refusal removes nothing, not even leftovers)."""

    older_than_days: float
    dry_run: bool
    candidates: list[str]
    unreadable: list[dict[str, str]]
    removed: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {session_name, reason}
    trash_removed: int | None = None
    temp_files_removed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``aio session clean --json`` document."""
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "older_than_days": self.older_than_days,
            "dry_run": self.dry_run,
            "candidates": self.candidates,
            "removed": self.removed,
            "skipped": self.skipped,
            "unreadable": self.unreadable,
        }
        if self.trash_removed is not None:
            data["trash_removed"] = self.trash_removed
            data["temp_files_removed"] = self.temp_files_removed
        return data


def plan_clean(store: SessionStore, older_than: float, now: datetime | None = None) -> CleanPlan:
    """List what ``clean`` would remove (``InvalidInput`` for a bad ``older_than``)."""
    older_than = check_days(older_than, "older_than", allow_zero=True)
    now = now or datetime.now(UTC)
    rows, errors = SummaryIndex(store).rows()
    candidates = sorted(
        (r for r in rows if not within_days(r.last_activity, older_than, now)),
        key=lambda r: r.name,
    )
    return CleanPlan(older_than, now, rows, candidates, errors, unreadable_entries(rows, errors))


CleanProgress = Callable[[str, str], None]
"""Told ``(session_name, reason)`` after each candidate: reason ``""`` means removed."""


def clean(
    store: SessionStore, plan: CleanPlan, progress: CleanProgress | None = None
) -> CleanReport:
    """Remove the plan's candidates, each only if still unused for ``older_than`` days
    under its locks; a busy, vanished or unreadable one is kept with the reason. Then
    remove leftovers of crashed writes and deletions in the store and every listed session.
    """
    report = plan.report(dry_run=False)
    for row in plan.candidates:
        try:
            deleted = delete_session(store, row.name, idle_days=plan.older_than, now=plan.now)
        except (SessionBusy, NotFound, StoreError) as exc:
            reason = str(exc)
        else:
            reason = "" if deleted else f"used within the last {plan.older_than:g} days"
        if reason:
            report.skipped.append({"session_name": row.name, "reason": reason})
        else:
            report.removed.append(row.name)
        if progress is not None:
            progress(row.name, reason)
    report.trash_removed = purge_store_trash(store)
    report.temp_files_removed = sum(_tidy(store, row.name) for row in plan.rows)
    return report


def _tidy(store: SessionStore, name: str) -> int:
    try:
        return tidy_session(store, name)
    except (NotFound, StoreError, OSError):
        return 0  # deleted just now, or unreadable (already reported)

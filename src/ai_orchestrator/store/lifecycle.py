"""Removing and repairing whole sessions: delete, trash, tidy, repair, migrate.

``SessionStore`` keeps the methods (``delete``, ``purge_trash``, ``tidy``, ``repair``,
``migrate``); their work is here, each taking the locks it needs (``maintenance`` holds
the steps that run under a write lock the caller already holds).

Every removal of a directory goes the same way: ``to_trash`` renames it to
``.trash-<label>-<suffix>`` in the store root (atomic: a reader sees the session or
nothing; a writer waiting for its lock notices the lock file is gone), then
``empty_trash`` deletes the renamed copy outside the locks. A crash in between leaves a
``.trash-*`` directory, which ``purge_trash`` removes later.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_orchestrator.core.errors import SessionBusy, StoreError, StoreFileError
from ai_orchestrator.core.names import parse_session_name
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import unique_suffix
from ai_orchestrator.infra.timeutil import within_days
from ai_orchestrator.store.logfile import LOG, METADATA
from ai_orchestrator.store.summary import last_activity

if TYPE_CHECKING:
    from ai_orchestrator.store.session_store import SessionStore

TRASH_PREFIX = ".trash-"


def to_trash(root: Path, path: Path, label: str) -> Path:
    """Rename ``path`` to a fresh ``.trash-<label>-…`` directory in ``root``; returns it."""
    trash = root / f"{TRASH_PREFIX}{label}-{unique_suffix()}"
    os.rename(path, trash)
    return trash


def empty_trash(trash: Path) -> None:
    import shutil  # lazily: only removals need it

    shutil.rmtree(trash, ignore_errors=True)


def purge_trash(root: Path) -> int:
    """Remove leftovers of removals interrupted by a crash; how many there were."""
    removed = 0
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith(TRASH_PREFIX) and entry.is_dir(follow_symlinks=False):
                empty_trash(Path(entry.path))
                removed += 1
    return removed


def delete_session(
    store: SessionStore, name: str, *, idle_days: float | None, now: datetime | None
) -> bool:
    """``SessionStore.delete``: under both locks (``SessionBusy`` if either is held)."""
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


def tidy_session(path: Path) -> int:
    """``SessionStore.tidy``: stale temp files removed under the write lock; 0 if busy."""
    from ai_orchestrator.store.maintenance import purge_temp_files, temp_files

    if not temp_files(path):
        return 0  # the common case: no lock taken
    try:
        lock = locks.acquire(path / locks.WRITE_LOCK, timeout=0)
    except SessionBusy:
        return 0
    with lock:
        return purge_temp_files(path)


def repair_session(store: SessionStore, name: str) -> dict[str, Any]:
    """``SessionStore.repair``: refuses (nothing changed) when the summary, the log or the
    write lock is an odd file; names any other odd entry under ``cannot_fix``."""
    from ai_orchestrator.store.maintenance import odd_entries, repair_locked, tighten_index

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
    with lock:
        try:
            report = repair_locked(path, session)
        except StoreFileError as exc:
            raise exc.with_outcome(
                "repair stopped part-way; each step it finished is complete on its own "
                "(lines are copied aside before the log is rewritten): run it again "
                "once this is fixed"
            ) from None
    report["cannot_fix"] = sorted(odd.values())
    report["trash_removed"] = store.purge_trash()
    report["modes_fixed"] += tighten_index(store.root)
    return report


def migrate_session(store: SessionStore, name: str) -> dict[str, Any] | None:
    """``SessionStore.migrate``: a shell-version session converted in place under its
    write lock; ``None`` if it was already current."""
    from ai_orchestrator.store.legacy import migrate_locked
    from ai_orchestrator.store.maintenance import fix_modes

    session = parse_session_name(name)
    path = store._existing_dir(session)
    with locks.locked(path / locks.WRITE_LOCK, timeout=None):
        migrated = migrate_locked(path, session)
        if migrated is None:
            return None
        fix_modes(path)  # the shell version left .lock at 0644
    return {
        "session_name": session.name,
        "interactions": migrated.converted,
        "unusable": migrated.unusable,
    }

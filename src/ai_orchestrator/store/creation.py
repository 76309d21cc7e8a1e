"""A session's birth and its undoing: a session directory never exists without aio's marker.

``build_session_dir`` creates a new session aside, as ``.aio+new-<name>-<pid>-<hex>`` (a
name no session can have, ``store.discovery``), holding its empty ``interactions.jsonl`` (the
marker) and its ``.lock``, locked; then renames it into place. So another process sees no
session or a session with its marker, and a creation that fails at any step (``.lock``
cannot be opened or locked, a full disk, out of file descriptors) removes what it made:
nothing is left to be listed as an empty session. A crash mid-way leaves only the
``.aio+new-*`` directory, which ``trash.purge_trash`` empties once its process is gone.

``discard_if_empty`` undoes a creation whose first write then failed (the write lock is
still held): the directory goes only while it holds no log bytes and no summary and no run
holds it. It needs no file descriptor unless a run lock exists, so it works under EMFILE.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ai_orchestrator.core.errors import AioError, StoreError
from ai_orchestrator.core.names import SessionName
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import file_error, open_nofollow, unique_suffix
from ai_orchestrator.store.discovery import NEW_PREFIX
from ai_orchestrator.store.logfile import LOG, METADATA
from ai_orchestrator.store.pending import PENDING
from ai_orchestrator.store.trash import empty_trash, to_trash


def not_aio(path: Path) -> str:
    """How an entry named like a session that aio did not make is described."""
    return f"{path} is not an aio session (no store file of aio's in it), left alone"


def build_session_dir(root: Path, session: SessionName, path: Path) -> locks.HeldLock | None:
    """Create session ``session`` at ``path`` (see the module docstring); its write lock,
    held, or ``None`` if another process created it first (use theirs)."""
    new = root / f"{NEW_PREFIX}{session.name}-{unique_suffix()}"
    lock: locks.HeldLock | None = None
    try:
        os.mkdir(new, 0o700)
        fd = open_nofollow(new / LOG, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        with contextlib.suppress(OSError):  # nothing was written through it: nothing to lose
            os.close(fd)
        lock = locks.acquire(new / locks.WRITE_LOCK, timeout=0)
        if os.path.lexists(path):
            raise FileExistsError(path)  # rename would replace an empty directory
        os.rename(new, path)
    except BaseException as exc:
        if lock is not None:
            lock.release()
        empty_trash(new)
        if isinstance(exc, OSError) and os.path.lexists(path):
            return None
        if isinstance(exc, OSError) and not isinstance(exc, StoreError):
            raise file_error(path, exc, action="create session directory") from None
        raise
    lock.path = path / locks.WRITE_LOCK
    return lock


def discard_if_empty(
    root: Path,
    session: SessionName,
    path: Path,
    lock: locks.HeldLock,
    *,
    run_held: bool = False,
) -> None:
    """Remove the session a failed first write has just created (see the module
    docstring). ``run_held``: the caller's run created the session and holds its run lock,
    so a summary there only describes its empty log; a pending-call marker still keeps it.
    Best effort: the original error is what counts."""
    try:
        if os.path.lexists(path / PENDING):
            return
        if not run_held and os.path.lexists(path / METADATA):
            return
        if os.path.getsize(path / LOG) > 0:
            return
    except FileNotFoundError:
        pass
    except OSError:
        return
    run: locks.HeldLock | None = None
    # without a run lock file nobody holds it (taking it would create it)
    if not run_held and os.path.lexists(path / locks.RUN_LOCK):
        try:
            run = locks.acquire(path / locks.RUN_LOCK, timeout=0, what=f"session {session.name}")
        except (AioError, OSError):
            return
    try:
        if not lock.still_linked():
            return
        trash = to_trash(root, path, session.name)
    except OSError:
        return
    finally:
        if run is not None:
            run.release()
    with contextlib.suppress(OSError):
        empty_trash(trash, restore_to=path)


def discard_new_run_session(
    root: Path, session: SessionName, path: Path, run_lock: locks.HeldLock
) -> None:
    """Remove the session directory a run created (the caller holds its ``run_lock``) when
    the run failed before anything was written to it (no log bytes, no pending-call
    marker): a call that could not start leaves no empty session behind."""
    try:
        lock = locks.acquire(path / locks.WRITE_LOCK, timeout=None)
    except (AioError, OSError):
        return
    try:
        if run_lock.still_linked():
            discard_if_empty(root, session, path, lock, run_held=True)
    finally:
        lock.release()

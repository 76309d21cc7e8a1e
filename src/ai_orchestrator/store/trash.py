"""How the store removes a directory: rename it aside, then delete aio's files in it.

``to_trash`` renames a directory to ``.aio+trash-<label>-<suffix>`` in the store root
(atomic: a reader sees the session or nothing; a writer waiting for its lock notices the
lock file is gone). The ``+`` keeps the name outside every session name and every name the
shell version could write (``store.discovery``), so the trash never collides with a session.

``empty_trash`` deletes only the store's own files in it (``discovery.is_store_entry``,
never a directory: ``unlink`` never follows a link, so nothing outside is touched), then
the directory. Anything else found there — a file a user put in the session directory or
wrote while it was being removed — is kept: the directory goes back to its old name if
that is free (else it stays where it is, named in the report). A store file that could
not be deleted (EIO, EDQUOT) does not bring the session back: the directory stays in the
trash, outside the store's view, and ``purge_trash`` deletes it later — so a removal that
said it removed a session is true. Only ``unlink``/``rmdir``
are needed for the known names, so even out of file descriptors (EMFILE) a removal leaves
nothing behind but what it must keep.

A crash in between leaves a trash directory, which ``purge_trash`` empties the same way
later, as it does with sessions being created (``.aio+new-*``) and the ``.trash-<session
name>-<pid>-<hex>`` directories of earlier versions (recognised by that exact shape only;
a shell-version session called ``.trash-old`` is a session, not trash).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ai_orchestrator.infra.fsutil import unique_suffix
from ai_orchestrator.store.discovery import (
    NEW_PREFIX,
    OLD_TRASH,
    STORE_FILES,
    TRASH_PREFIX,
    is_store_entry,
)

__all__ = ["TRASH_PREFIX", "empty_trash", "purge_trash", "to_trash"]


def to_trash(root: Path, path: Path, label: str) -> Path:
    """Rename ``path`` to a fresh ``.aio+trash-<label>-…`` directory in ``root``."""
    trash = root / f"{TRASH_PREFIX}{label}-{unique_suffix()}"
    os.rename(path, trash)
    return trash


def _unlink_store_files(directory: Path) -> None:
    names: list[str] = sorted(STORE_FILES)
    with contextlib.suppress(OSError):  # EMFILE: the fixed names are enough for most
        names = [n for n in os.listdir(directory) if is_store_entry(n)]
    for name in names:
        with contextlib.suppress(OSError):
            if not os.path.isdir(directory / name) or os.path.islink(directory / name):
                os.unlink(directory / name)


def empty_trash(trash: Path, restore_to: Path | None = None) -> bool:
    """Delete the store's files in ``trash``, then ``trash`` itself; True if it is gone.
    If anything else is left, ``trash`` is renamed back to ``restore_to`` when that name
    is free, so what a user put there stays where they left it."""
    _unlink_store_files(trash)
    try:
        os.rmdir(trash)
    except FileNotFoundError:
        return True
    except OSError:
        if restore_to is not None and _holds_foreign(trash) and not os.path.lexists(restore_to):
            with contextlib.suppress(OSError):
                os.rename(trash, restore_to)
        return False  # only aio's files left (one could not be deleted): purged later
    return True


def _holds_foreign(trash: Path) -> bool:
    """Whether ``trash`` holds anything aio did not make (unknown when it cannot be listed:
    then it is kept where it is, which loses nothing)."""
    try:
        return any(not is_store_entry(name) for name in os.listdir(trash))
    except OSError:
        return False


def is_trash(name: str) -> bool:
    return name.startswith((TRASH_PREFIX, NEW_PREFIX)) or OLD_TRASH.match(name) is not None


def _in_flight(name: str) -> bool:
    """A session being created right now by a live process of this host (its pid is in
    the name: ``.aio+new-<session>-<pid>-<hex>``)."""
    if not name.startswith(NEW_PREFIX):
        return False
    try:
        pid = int(name.rsplit("-", 2)[-2])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except OSError:
        return True  # EPERM: alive, someone else's
    return True


def purge_trash(root: Path) -> int:
    """Empty leftovers of removals and creations interrupted by a crash; how many went."""
    with os.scandir(root) as entries:
        found = [
            Path(e.path)
            for e in entries
            if is_trash(e.name) and not _in_flight(e.name) and e.is_dir(follow_symlinks=False)
        ]
    return sum(empty_trash(trash) for trash in found)

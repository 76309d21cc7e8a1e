"""How the store removes a directory: rename it aside, then delete the renamed copy.

``to_trash`` renames a directory to ``.trash-<label>-<suffix>`` in the store root (atomic: a
reader sees the session or nothing; a writer waiting for its lock notices the lock file is
gone); ``empty_trash`` deletes the renamed copy, outside any lock. A crash in between leaves
a ``.trash-*`` directory, which ``purge_trash`` removes later. Every removal (a deletion, a
failed first write, a carried-over shell session) goes this way.
"""

from __future__ import annotations

import os
from pathlib import Path

from ai_orchestrator.infra.fsutil import unique_suffix

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

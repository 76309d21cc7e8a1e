"""The git branch a directory is on, read from the repository's files (no ``git`` process).

``branch_at(path)`` walks up from ``path`` to the first ``.git``: a directory (a plain
clone), or a file ``gitdir: <dir>`` (a linked worktree, a submodule). Its ``HEAD`` holding
``ref: refs/heads/<name>`` gives ``<name>``; a detached ``HEAD`` (a commit id), no
repository, or anything unreadable or odd gives ``None``. A recorded call is never held up
or failed by this: every error is ``None``, and at most two small files are read.
"""

from __future__ import annotations

import os
from pathlib import Path

_HEADS = "ref: refs/heads/"
_MAX_BYTES = 4096  # a HEAD or a .git file is one short line; anything longer is not git's
_MAX_NAME = 255


def _read_small(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO named HEAD must not block
    except OSError:
        return None
    try:
        data = os.read(fd, _MAX_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) > _MAX_BYTES:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _git_dir(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        dot_git = directory / ".git"
        try:
            if dot_git.is_dir():
                return dot_git
            if not dot_git.is_file():
                continue
        except OSError:
            return None
        text = _read_small(dot_git)
        if text is None or not text.startswith("gitdir:"):
            return None
        target = Path(text[len("gitdir:") :].strip())
        return target if target.is_absolute() else directory / target
    return None


def branch_at(path: str | Path) -> str | None:
    """The branch checked out where ``path`` is (module doc), else ``None``."""
    try:
        start = Path(path).resolve()
        git_dir = _git_dir(start)
    except (OSError, RuntimeError, ValueError):
        return None
    if git_dir is None:
        return None
    head = _read_small(git_dir / "HEAD")
    if head is None:
        return None
    line = head.strip()
    if not line.startswith(_HEADS):
        return None  # detached: a commit, not a branch
    name = line[len(_HEADS) :]
    if not name or len(name) > _MAX_NAME or any(c.isspace() or ord(c) < 32 for c in name):
        return None
    return name

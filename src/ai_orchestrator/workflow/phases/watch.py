"""``aio verify --watch``: wait until a project file changes, by polling (no extra library).

``snapshot(root)`` maps every file's project-relative path to ``(mtime_ns, size)``, skipping
``discover.SKIP_DIRS`` (dependency, build, cache and VCS directories, ``.aio/`` — where the
verify runs write their own logs), coverage data files and the files this process writes
its own stdout and stderr to (``aio verify --watch > results.jsonl`` in the project must not
wake itself up). ``wait_for_change`` polls every
``interval`` seconds and returns the changed paths (added, removed or modified) once there
are any (a tree that takes long to scan is polled less often: at most a fifth of the time
is spent scanning). It only sleeps and reads directory entries, so Ctrl-C (``KeyboardInterrupt``)
stops it at once; it never waits on a child process, so it cannot hang on one.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from ai_orchestrator.workflow.testing.discover import SKIP_DIRS

Snapshot = dict[str, tuple[int, int]]


def _own_outputs() -> set[tuple[int, int]]:
    """(device, inode) of the regular files our stdout and stderr go to."""
    own = set()
    for fd in (1, 2):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            own.add((st.st_dev, st.st_ino))
    return own


def snapshot(root: Path) -> Snapshot:
    own = _own_outputs()
    files: Snapshot = {}
    for directory, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
        for name in names:
            if name.startswith(".coverage"):
                continue
            path = os.path.join(directory, name)
            try:
                st = os.stat(path)
            except OSError:
                continue  # removed while walking: the next snapshot sees it gone
            if (st.st_dev, st.st_ino) in own:
                continue
            files[os.path.relpath(path, root)] = (st.st_mtime_ns, st.st_size)
    return files


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def wait_for_change(
    root: Path,
    before: Snapshot,
    *,
    interval: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[str], Snapshot]:
    """Poll until a file differs from ``before``; the changed paths and the new snapshot."""
    pause = interval
    while True:
        sleep(pause)
        started = time.monotonic()
        now = snapshot(root)
        # a large tree: poll less often, so watching never takes more than ~1/5 of a core
        pause = max(interval, 4 * (time.monotonic() - started))
        diff = changed(before, now)
        if diff:
            return diff, now

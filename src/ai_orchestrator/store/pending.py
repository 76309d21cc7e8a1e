"""The pending-call marker: what an agent call in flight will need to be recovered.

``pending-call.json`` (0600) in a session directory says "a call started here and its record
is not stored yet". The caller writes it under the session's run lock before the agent is
launched and removes it once the call's interaction is stored (see
``calls.recover`` for what it holds and how a marker left by a killed aio is turned into an
``interrupted`` interaction). This module only keeps the file:

- ``write_pending`` replaces the marker atomically (temp file + rename) under the session's
  write lock, so ``repair``/``tidy`` never remove its temp file mid-write; a killed process
  leaves the old marker or the new one, never half of one; a write that fails (a full disk)
  leaves no temp file and raises ``StoreFileError`` naming ``pending-call.json``. No fsync:
  the marker guards against aio being killed (the page cache survives that), and two fsyncs
  per call would cost ~15 ms on every run; after a power loss an empty or missing marker
  only means that call is not recovered (an empty one is set aside like any unusable
  marker).
- ``finish_pending`` notes in the marker how the call ended when its record could not be
  stored (a full disk): the marker is written with ``RESERVE`` bytes of trailing JSON
  whitespace, and the note is written over them in place, needing no new disk space.
- ``read_pending`` returns the marker, ``None`` when there is none. A marker that is not a
  JSON object (a hand edit, a bad disk) is set aside (``set_aside_pending``: moved to
  ``pending-call.corrupt-<suffix>.json``, kept, never deleted) and reported as ``None``.
- ``remove_pending`` is idempotent.

The store never interprets the content (it does not know the agents).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import (
    file_error,
    open_nofollow,
    read_bytes,
    unique_suffix,
    write_all,
)

PENDING = "pending-call.json"


RESERVE = 4096  # spare bytes (JSON whitespace) a marker keeps for ``finish_pending``


def _encode(marker: dict[str, Any]) -> bytes:
    return json.dumps(marker, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_pending(session_dir: Path, marker: dict[str, Any]) -> None:
    data = _encode(marker)
    data += b" " * RESERVE  # trailing whitespace is valid JSON: room to say how the call ended
    path = session_dir / PENDING
    tmp = path.with_name(f".{PENDING}.tmp-{unique_suffix()}")
    with locks.locked(session_dir / locks.WRITE_LOCK, timeout=None):
        try:
            fd = open_nofollow(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            try:
                write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                state = "left as it was" if os.path.lexists(path) else "not written"
                raise file_error(path, exc, action="write", outcome=f"{PENDING} {state}") from None
            raise


def finish_pending(session_dir: Path, finished: dict[str, Any]) -> bool:
    """Add ``finished`` (how the call ended, when its record could not be stored) to the
    marker *in place*: the bytes are written over the marker's own reserved space, so this
    works on a full disk, where a new file cannot be written. ``False`` (the marker left as it
    was) when there is no marker, the note does not fit, or the write fails."""
    path = session_dir / PENDING
    marker = read_pending(session_dir)
    if marker is None:
        return False
    data = _encode({**marker, "finished": finished})
    try:
        with locks.locked(session_dir / locks.WRITE_LOCK, timeout=None):
            fd = open_nofollow(path, os.O_WRONLY)
            try:
                size = os.fstat(fd).st_size
                if len(data) > size:
                    return False
                # One write over allocated blocks: no new space needed. (A kill in the middle
                # of it could tear a marker longer than a page: it would be set aside.)
                written = os.pwrite(fd, data + b" " * (size - len(data)), 0)
                return written == size
            finally:
                os.close(fd)
    except OSError:
        return False


def read_pending(session_dir: Path) -> dict[str, Any] | None:
    path = session_dir / PENDING
    data = read_bytes(path)
    if data is None:
        return None
    try:
        marker = json.loads(data)
    except ValueError:
        marker = None
    if isinstance(marker, dict):
        return marker
    set_aside_pending(session_dir)
    return None


def set_aside_pending(session_dir: Path) -> None:
    """Keep an unusable marker as ``pending-call.corrupt-<suffix>.json``."""
    with contextlib.suppress(OSError):
        aside = session_dir / f"pending-call.corrupt-{unique_suffix()}.json"
        os.replace(session_dir / PENDING, aside)


def remove_pending(session_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(session_dir / PENDING)

"""Cross-process locks on session directories, based on ``flock(2)``.

Two locks per session, in two files, because they protect different things:

- ``.lock`` — the **write lock**: held only while one interaction is appended and the
  summary rewritten (milliseconds). Waiting for it blocks without a timeout: holders
  are short-lived, and giving up would lose an interaction.
- ``.run.lock`` — the **run lock**: held for a whole agent run so that two runs can never
  resume the same agent conversation at once. Waiting for it polls up to a timeout,
  then raises ``SessionBusy`` naming the holder.

flock locks belong to an open file description, so they die with the process that holds
them: a crash never leaves a lock a user must delete. While held, the lock file contains
one JSON line naming the holder ``{pid, host, command, since}``; the content is only
diagnostics — whether the lock is *held* is decided by flock alone, so stale content
left by a killed holder is never mistaken for a live holder.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ai_orchestrator.core.errors import SessionBusy
from ai_orchestrator.infra.fsutil import file_error, open_nofollow
from ai_orchestrator.infra.redact import redact
from ai_orchestrator.infra.timeutil import local_text, parse_iso

WRITE_LOCK = ".lock"
RUN_LOCK = ".run.lock"
WAIT_REPORT_INTERVAL = 0.5  # seconds between ``on_wait`` reports while waiting

# ``on_wait(holder, waited_seconds)``: the holder while waiting, ``None`` once acquired.
WaitReport = Callable[["Holder | None", float], None]


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as written by the holder (diagnostics only)."""

    pid: int | None
    host: str | None
    command: str | None
    since: str | None

    def describe(self) -> str:
        who = f"pid {self.pid}" if self.pid is not None else "an unknown process"
        if self.host:
            who += f" on {self.host}"
        if self.command:
            who += f" ({self.command})"
        if self.since:
            # local and short for people; ``to_dict`` keeps the stored ISO time
            moment = parse_iso(self.since)
            who += f" since {local_text(moment) if moment else self.since}"
        return who

    def to_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "host": self.host, "command": self.command, "since": self.since}


def current_command() -> str:
    """A short, redacted description of this process for lock holder records."""
    argv = [os.path.basename(sys.argv[0]), *sys.argv[1:]] if sys.argv else ["python"]
    text = " ".join(argv)
    text = redact(text)
    return text if len(text) <= 160 else text[:157] + "..."


def _holder_line(command: str | None) -> bytes:
    record = {
        "pid": os.getpid(),
        "host": os.uname().nodename,
        "command": command if command is not None else current_command(),
        "since": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    return (json.dumps(record) + "\n").encode()


def _try_flock(fd: int, operation: int) -> bool:
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _parse_holder(data: bytes) -> Holder:
    try:
        record = json.loads(data.decode("utf-8", "replace").strip() or "{}")
    except ValueError:
        record = {}
    if not isinstance(record, dict):
        record = {}
    pid = record.get("pid")
    return Holder(
        pid=pid if isinstance(pid, int) else None,
        host=str(record["host"]) if record.get("host") else None,
        command=str(record["command"]) if record.get("command") else None,
        since=str(record["since"]) if record.get("since") else None,
    )


def read_holder(lock_path: Path) -> Holder | None:
    """The holder of the lock at ``lock_path`` if a live process holds it, else ``None``."""
    try:
        fd = open_nofollow(lock_path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if _try_flock(fd, fcntl.LOCK_SH):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        return _parse_holder(os.pread(fd, 4096, 0))
    finally:
        os.close(fd)


class HeldLock:
    """An acquired flock; ``release()`` (or leaving the ``with`` block) frees it."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    def release(self) -> None:
        """Free the lock; never raises. Closing the descriptor frees a flock whatever
        ``flock(LOCK_UN)`` or ``close`` report, so an error there (EIO, EINTR) changes
        nothing, and raising it after a committed write would report a stored record as
        not stored."""
        if self.fd < 0:
            return
        fd, self.fd = self.fd, -1
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        with contextlib.suppress(OSError):
            os.close(fd)

    def still_linked(self) -> bool:
        """True if the locked file is still the one at ``path`` (not deleted/replaced)."""
        try:
            st_fd = os.fstat(self.fd)
            st_path = os.lstat(self.path)
        except OSError:
            return False
        return st_fd.st_ino == st_path.st_ino and st_fd.st_dev == st_path.st_dev

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(
    lock_path: Path,
    *,
    timeout: float | None,
    command: str | None = None,
    what: str = "session",
    on_wait: WaitReport | None = None,
) -> HeldLock:
    """Take the exclusive lock at ``lock_path``.

    ``timeout=None`` blocks until the lock is free; otherwise poll with backoff for at
    most ``timeout`` seconds and raise ``SessionBusy`` naming the holder (``timeout=0``:
    "is busy", without a wait that never happened). When the lock is not free at once,
    ``on_wait`` hears the holder and the time waited when the wait starts and every
    ``WAIT_REPORT_INTERVAL``, then ``(None, waited)`` once the lock is taken.
    """
    fd = open_nofollow(lock_path, os.O_RDWR | os.O_CREAT)
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        elif not _try_flock(fd, fcntl.LOCK_EX):
            began = time.monotonic()
            deadline = began + timeout
            delay = 0.005
            reported = float("-inf")
            while True:
                now = time.monotonic()
                remaining = deadline - now
                if remaining <= 0:
                    holder = _parse_holder(os.pread(fd, 4096, 0))
                    raise SessionBusy(what, holder.describe(), max(timeout, 0.0))
                if on_wait is not None and now - reported >= WAIT_REPORT_INTERVAL:
                    reported = now
                    on_wait(_parse_holder(os.pread(fd, 4096, 0)), now - began)
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 0.25)
                if _try_flock(fd, fcntl.LOCK_EX):
                    if on_wait is not None:
                        on_wait(None, time.monotonic() - began)
                    break
        # Diagnostics only: a full or read-only disk must not fail the locked work.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, _holder_line(command), 0)
    except OSError as exc:
        os.close(fd)
        raise file_error(lock_path, exc, action="lock") from None
    except BaseException:
        os.close(fd)
        raise
    return HeldLock(fd, lock_path)


@contextlib.contextmanager
def locked(lock_path: Path, *, timeout: float | None, what: str = "session") -> Iterator[HeldLock]:
    lock = acquire(lock_path, timeout=timeout, what=what)
    try:
        yield lock
    finally:
        lock.release()

"""The change journal: which sessions aio wrote since the summary index last looked.

``SESSION_DIR/changes.journal`` is append-only. Its first line names the format and a
random identity (``aio-changes 1 <nonce>``); every other line is ``+<session>`` or
``-<session>``. A writer notes ``+`` *before* it changes a session (under the session's
write lock) and ``-`` after it is done (also when it failed): ``noting``. So a write
that was killed anywhere between its two notes leaves a ``+`` as the last note of that
session, and the index keeps re-reading that session from its files until a later ``-``
settles it (or a rescan does).

Each note is one ``write`` of a short line to a file opened with ``O_APPEND`` (atomic on
a local file system, so concurrent writers never interleave bytes) and opened by path
every time (so a journal replaced by a rescan is never written to after the rescan
started). Notes are not fsynced: a power loss that drops some of them is caught by the
boot id the index stores next to its watermark (a different boot means a rescan).

Nothing is ever lost by a missing note: a journal that is missing, of another version,
with an unparseable line (torn or fused), shorter than the index's watermark or with a
different identity is *untrusted*, and the index then rescans the whole store
(so does one that has grown past 16 MB, ~270,000 writes: the rescan replaces it, which
bounds its size)
(``index.py`` says what it checks besides). A writer that cannot append its note removes
the journal (best effort) so the next listing rescans rather than trusting it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ai_orchestrator.core.names import is_session_name

JOURNAL = "changes.journal"
_MAGIC = b"aio-changes 1 "
INTENT, DONE = b"+", b"-"
_REPLACE_AT = 16 << 20  # a rescan starts a fresh journal once this one is this large
_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def boot_id() -> str:
    """This boot of the machine (notes are not fsynced: a reboot makes them doubtful)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def note(root: Path, name: str, mark: bytes) -> None:
    """Append ``mark`` + ``name`` to the journal of the store at ``root``.

    No journal: nothing to do (the next listing rescans anyway). A journal that cannot
    be written is removed, so it is never trusted while missing a note."""
    path = root / JOURNAL
    line = mark + name.encode("utf-8") + b"\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | _FLAGS)
    except FileNotFoundError:
        return
    except OSError:
        _discard(path)
        return
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or os.write(fd, line) != len(line):
            _discard(path)
    except OSError:
        _discard(path)
    finally:
        os.close(fd)


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


@contextlib.contextmanager
def noting(root: Path, name: str) -> Iterator[None]:
    """Note ``name`` before and after the writes in the ``with`` block."""
    note(root, name, INTENT)
    try:
        yield
    finally:
        note(root, name, DONE)


@dataclass
class Changes:
    """What the journal says since a watermark."""

    end: int  # the new watermark: just past the last complete line read
    changed: set[str] = field(default_factory=set)  # sessions noted since the watermark
    # sessions whose last note read is ``+`` (a write in flight or killed), and those
    # whose last note read is ``-`` (settled now)
    opened: set[str] = field(default_factory=set)
    settled: set[str] = field(default_factory=set)


def _open(path: Path) -> int | None:
    try:
        fd = os.open(path, os.O_RDONLY | _FLAGS)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def _header(fd: int) -> bytes | None:
    head = os.pread(fd, 256, 0)
    end = head.find(b"\n")
    if end < 0 or not head.startswith(_MAGIC):
        return None
    return head[: end + 1]


def read_since(root: Path, identity: str, offset: int) -> Changes | None:
    """The notes after ``offset`` of the journal whose header is ``identity``; ``None``
    if the journal cannot be trusted (then the caller rescans)."""
    fd = _open(root / JOURNAL)
    if fd is None:
        return None
    try:
        header = _header(fd)
        if header is None or header.decode("ascii", "replace") != identity:
            return None
        size = os.fstat(fd).st_size
        if offset < len(header) or offset > size or size >= _REPLACE_AT:
            return None  # (a large journal: the rescan this causes starts a new one)
        data = os.pread(fd, size - offset, offset) if size > offset else b""
    except OSError:
        return None
    finally:
        os.close(fd)
    complete = data.rfind(b"\n") + 1  # an unterminated last line is read next time
    changes = Changes(end=offset + complete)
    for line in data[:complete].split(b"\n")[:-1]:
        mark, name = line[:1], line[1:].decode("utf-8", "replace")
        if mark not in (INTENT, DONE) or not is_session_name(name):
            return None  # torn, fused or foreign: trust nothing in it
        changes.changed.add(name)
        if mark == INTENT:
            changes.opened.add(name)
            changes.settled.discard(name)
        else:
            changes.settled.add(name)
            changes.opened.discard(name)
    return changes


def start_journal(root: Path) -> tuple[str, int] | None:
    """The journal a rescan of ``root`` starts from: its identity and the offset from
    which later listings read. Called *before* the rescan reads any session, so every
    write it does not see is noted after that offset. A missing, foreign or large
    journal is replaced by a new one; ``None`` if none can be written (the index then
    is not trusted by the next listing either)."""
    path = root / JOURNAL
    fd = _open(path)
    if fd is not None:
        try:
            header = _header(fd)
            size = os.fstat(fd).st_size
            if header is not None and size < _REPLACE_AT:
                tail = os.pread(fd, min(size, 4096), max(0, size - 4096))
                end = size - len(tail.rpartition(b"\n")[2])
                return header.decode("ascii", "replace"), end
        except OSError:
            pass
        finally:
            os.close(fd)
    header = _MAGIC + os.urandom(16).hex().encode("ascii") + b"\n"
    temp = root / f"{JOURNAL}.tmp-{os.urandom(6).hex()}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FLAGS, 0o600)
        try:
            os.write(fd, header)
        finally:
            os.close(fd)
        os.replace(temp, path)  # a writer opens the journal by path for every note
    except OSError:
        _discard(temp)
        return None
    return header.decode("ascii"), len(header)

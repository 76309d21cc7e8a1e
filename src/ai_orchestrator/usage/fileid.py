"""Which file an index row of ``files`` describes: opened safely, and told apart from another
file that got the same inode.

An appended file (a transcript) is read from the offset the index reached, as long as it is
the same file. ``(dev, inode)`` alone does not say so: a file deleted and written again at
the same path can get the freed inode back, at any size, and would then be read from the
middle (the rows before the offset missed, a line cut in two). So the index also keeps, in
the file's parser state, the digest of its first ``HEAD`` bytes as first read; a file whose
first bytes differ is read again from the start (rows are keyed: nothing counts twice).
Appending never changes the first bytes; each agent's first line carries ids and times.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import Any

HEAD = 256
KEY = "_head"  # in the parser state: [length, blake2b digest of the first length bytes]


def open_regular(path: str) -> tuple[int, os.stat_result] | None:
    """A read-only descriptor and its ``fstat`` for a regular file (no symlink followed, a
    FIFO never blocks), else ``None``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    return fd, st


def _digest(fd: int, length: int) -> str:
    return hashlib.blake2b(os.pread(fd, length, 0), digest_size=16).hexdigest()


def same_head(fd: int, state: dict[str, Any]) -> bool:
    """Whether the file's first bytes are those noted in ``state``. ``False`` when none are
    noted or the note is malformed: a file the index cannot vouch for is read whole."""
    known = state.get(KEY)
    if not (isinstance(known, list) and len(known) == 2):
        return False
    length, digest = known
    if type(length) is not int or not 0 <= length <= HEAD or not isinstance(digest, str):
        return False
    data_len = os.fstat(fd).st_size
    return data_len >= length and _digest(fd, length) == digest


def note_head(fd: int, size: int, state: dict[str, Any]) -> None:
    """Note the first ``min(size, HEAD)`` bytes in ``state`` (a longer head once the file has
    grown past a short one)."""
    length = min(size, HEAD)
    state[KEY] = [length, _digest(fd, length)]

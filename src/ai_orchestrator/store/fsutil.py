"""Low-level file operations with the store's safety rules.

Invariants:

- Directories we own are 0700 and files 0600; looser modes found on disk are tightened
  (``ensure_private_dir``, ``tighten_fd``), never loosened.
- Nothing inside the store is opened through a symlink (``O_NOFOLLOW``); a store root
  that is a symlink to, or owned by, another user is refused (``UnsafeStore``).
- ``atomic_write`` replaces a file all at once: write a temp file in the same directory,
  fsync, rename over the target, fsync the directory. A crash at any instant leaves
  either the old or the new content, never a mix; a stray temp file is harmless.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from ai_orchestrator.errors import StoreError, UnsafeStore

DIR_MODE = 0o700
FILE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _fsync_enabled() -> bool:
    # Durability against power loss costs one fsync per write; crash safety against a
    # killed process does not need it. AIO_FSYNC=0 trades the former for speed.
    return os.environ.get("AIO_FSYNC", "1") not in ("0", "false", "no")


def ensure_private_dir(path: Path, *, create: bool = True, what: str = "directory") -> None:
    """Make sure ``path`` is a real directory owned by us with mode 0700.

    Raises ``UnsafeStore`` for a symlink or a directory owned by another user and
    ``StoreError`` for a non-directory.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            raise
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, DIR_MODE)
        st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeStore(f"refusing {what} {path}: it is a symbolic link")
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(f"{what} {path} exists but is not a directory")
    if st.st_uid != os.geteuid():
        raise UnsafeStore(
            f"refusing {what} {path}: owned by uid {st.st_uid}, not by you (uid {os.geteuid()})"
        )
    if stat.S_IMODE(st.st_mode) != DIR_MODE:
        os.chmod(path, DIR_MODE)


def resolve_store_root(raw: str | os.PathLike[str]) -> Path:
    """Resolve ``SESSION_DIR``: a symlink is accepted only if it and its target are ours."""
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return path  # created (or refused, with a clear message) when first used
    if stat.S_ISLNK(st.st_mode):
        target = path.resolve()
        try:
            target_st = os.stat(target)
        except FileNotFoundError:
            raise UnsafeStore(f"refusing session store {path}: dangling symbolic link") from None
        uid = os.geteuid()
        if st.st_uid != uid or target_st.st_uid != uid:
            owner = target_st.st_uid if target_st.st_uid != uid else st.st_uid
            raise UnsafeStore(
                f"refusing session store {path}: symbolic link to {target} owned by "
                f"uid {owner}, not by you (uid {uid})"
            )
        return target
    return path


def tighten_fd(fd: int, mode: int = FILE_MODE) -> None:
    """Reduce an open file's permissions to ``mode`` if they are looser."""
    st = os.fstat(fd)
    if stat.S_IMODE(st.st_mode) & ~mode:
        os.fchmod(fd, mode)


def tighten_path(path: Path, mode: int = FILE_MODE) -> bool:
    """Tighten a regular file's permissions to ``mode``; False if absent or already so.

    Symlinks and other odd entries are left alone: opening them is refused elsewhere.
    """
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    if not stat.S_ISREG(st.st_mode) or not stat.S_IMODE(st.st_mode) & ~mode:
        return False
    try:
        os.chmod(path, stat.S_IMODE(st.st_mode) & mode)
    except PermissionError:
        return False  # not ours to change; reading it is judged elsewhere
    return True


def open_nofollow(path: Path, flags: int, mode: int = FILE_MODE) -> int:
    """``os.open`` that refuses symlinks and tightens the mode of what it opens."""
    try:
        fd = os.open(path, flags | _NOFOLLOW | _CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeStore(f"refusing {path}: it is a symbolic link") from None
        raise
    try:
        tighten_fd(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: Path) -> bytes | None:
    """The whole file, or ``None`` if it does not exist."""
    try:
        fd = open_nofollow(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    if not _fsync_enabled():
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | _CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``data`` atomically (temp file + fsync + rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{unique_suffix()}")
    fd = open_nofollow(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        write_all(fd, data)
        fsync_fd(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_fd(fd: int) -> None:
    if _fsync_enabled():
        os.fsync(fd)


def unique_suffix() -> str:
    return f"{os.getpid()}-{os.urandom(4).hex()}"

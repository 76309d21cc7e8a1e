"""Low-level file operations with the store's safety rules.

Invariants:

- Directories we own are 0700 and files 0600; looser modes found on disk are tightened
  (``ensure_private_dir``, ``tighten_fd``), never loosened.
- Nothing inside the store is opened through a symlink (``O_NOFOLLOW``); a store root
  that is a symlink to, or owned by, another user is refused (``UnsafeStore``).
- ``atomic_write`` replaces a file all at once: write a temp file in the same directory,
  fsync, rename over the target, fsync the directory. A crash at any instant leaves
  either the old or the new content, never a mix; a stray temp file is harmless.
- Nothing is opened in a way that can block: ``open_nofollow`` opens non-blocking and
  refuses anything that is not a regular file (FIFO, socket, device, directory) before
  a byte is read or written.
- An ``OSError`` in ``open_nofollow``, ``read_bytes``, ``atomic_write``,
  ``append_durably`` or ``ensure_private_dir`` leaves as a ``StoreFileError``
  (``file_error``): one line naming the file, the cause and what to do.
  ``FileNotFoundError`` alone stays as it is: callers treat a missing file as normal.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from pathlib import Path

from ai_orchestrator.core import env
from ai_orchestrator.core.errors import StoreError, StoreFileError, UnsafeStore

DIR_MODE = 0o700
FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644  # a project's .aio/ files: meant to be reviewed and committed
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

_ACCESS = "check its owner and mode with ls -l; run aio as the owner of the store"
_FULL = "free some space and retry"
# errno -> (cause, what to do): the causes a user can act on, each in their words.
_CAUSES: dict[int, tuple[str, str]] = {
    errno.EISDIR: ("it is a directory", "move it out of the way"),
    errno.EACCES: ("permission denied", _ACCESS),
    errno.EPERM: ("operation not permitted", _ACCESS),
    errno.EROFS: (
        "the file system is read-only",
        "remount it read-write or set SESSION_DIR to a writable place",
    ),
    errno.ENOSPC: ("no space left on the device", _FULL),
    errno.EDQUOT: ("disk quota exceeded", _FULL),
    errno.EMFILE: (
        "too many open files in this process",
        "raise the limit with ulimit -n and retry",
    ),
    errno.ENFILE: ("too many open files on the system", "close some programs and retry"),
    errno.ENAMETOOLONG: ("the path is too long", "use a shorter SESSION_DIR"),
    errno.EIO: (
        "input/output error",
        "the disk may be failing: check it with dmesg and copy the store elsewhere",
    ),
    errno.ENOTDIR: ("a part of the path is not a directory", "move that file out of the way"),
}
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def file_error(
    path: str | os.PathLike[str] | None, exc: OSError, *, action: str = "use", outcome: str = ""
) -> StoreFileError:
    """The one-line error for ``exc`` met while trying to ``action`` the file ``path``."""
    if isinstance(exc, StoreFileError):
        return exc.with_outcome(outcome) if outcome else exc
    cause, advice = _CAUSES.get(exc.errno or 0, (exc.strerror or str(exc), ""))
    where = f"{action} {os.fspath(path)}" if path is not None else "complete the operation"
    message = f"cannot {where}: {cause}"
    if advice:
        message += f" ({advice})"
    return StoreFileError(message, exc.errno, os.fspath(path) if path else "", outcome)


def not_regular_error(path: Path, mode: int, *, action: str = "open") -> StoreFileError:
    """Refusal of a non-regular file where the store expects a regular one."""
    kind = next((name for test, name in _KINDS if test(mode)), "of an unknown kind")
    return StoreFileError(
        f"cannot {action} {path}: it is {kind}, not a regular file (aio will not open it; "
        "move it out of the way)",
        errno.EISDIR if stat.S_ISDIR(mode) else None,
        str(path),
    )


def odd_file(path: Path) -> str | None:
    """Why ``path`` cannot be used if it exists and is neither a regular file nor a
    symlink (refused elsewhere), from one ``lstat``; ``None`` otherwise. Never opens it."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        return None
    return str(not_regular_error(path, mode, action="use"))


def _action(flags: int) -> str:
    return "read" if flags & (os.O_WRONLY | os.O_RDWR) == 0 else "write"


def _fsync_enabled() -> bool:
    # Durability against power loss costs one fsync per write; crash safety against a
    # killed process does not need it. AIO_FSYNC=0 trades the former for speed.
    return env.get("AIO_FSYNC", "1") not in ("0", "false", "no")


def ensure_private_dir(path: Path, *, create: bool = True, what: str = "directory") -> None:
    """Make sure ``path`` is a real directory owned by us, private (at most 0700).

    Raises ``UnsafeStore`` for a symlink or a directory owned by another user and
    ``StoreError`` for a non-directory.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            raise
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, DIR_MODE)
            st = os.lstat(path)
        except OSError as exc:
            raise file_error(path, exc, action=f"create {what}") from None
    except OSError as exc:
        if isinstance(exc, NotADirectoryError) and not create:
            raise
        raise file_error(path, exc, action=f"use {what}") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeStore(str(path), "it is a symbolic link", what)
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(f"{what} {path} exists but is not a directory")
    if st.st_uid != os.geteuid():
        raise UnsafeStore(
            str(path), f"owned by uid {st.st_uid}, not by you (uid {os.geteuid()})", what
        )
    mode = stat.S_IMODE(st.st_mode)
    # Tighten only: drop group/other bits, never add one (a 0500 directory stays 0500).
    # A sticky directory (e.g. 1777) is shared on purpose, like /tmp: left as it is.
    if mode & ~DIR_MODE and not mode & stat.S_ISVTX:
        with contextlib.suppress(OSError):
            os.chmod(path, mode & DIR_MODE)  # best effort: a read-only store still reads


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
        try:
            target = path.resolve()
            target_st = os.stat(target)
        except FileNotFoundError:
            raise UnsafeStore(str(path), "dangling symbolic link", "session store") from None
        except (RuntimeError, OSError):  # Python's "Symlink loop", or ELOOP from the system
            raise UnsafeStore(
                str(path),
                "a loop of symbolic links (set SESSION_DIR to a real directory)",
                "session store",
            ) from None
        uid = os.geteuid()
        if st.st_uid != uid or target_st.st_uid != uid:
            owner = target_st.st_uid if target_st.st_uid != uid else st.st_uid
            raise UnsafeStore(
                str(path),
                f"symbolic link to {target} owned by uid {owner}, not by you (uid {uid})",
                "session store",
            )
        return target
    return path


def tighten_fd(fd: int, mode: int = FILE_MODE) -> None:
    """Reduce an open file's permissions to ``mode`` if they are looser."""
    st = os.fstat(fd)
    if stat.S_IMODE(st.st_mode) & ~mode:
        os.fchmod(fd, stat.S_IMODE(st.st_mode) & mode)  # drop bits, never add one


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
    """``os.open`` of a regular file that never blocks, refuses symlinks and anything
    but a regular file, and tightens the mode of what it opens.

    Opened with ``O_NONBLOCK`` (a FIFO would otherwise block until a writer or reader
    appears), checked with ``fstat``, then switched back to blocking I/O. Raises
    ``FileNotFoundError`` for a missing file, ``UnsafeStore`` for a symlink and
    ``StoreFileError`` for everything else.
    """
    try:
        fd = os.open(path, flags | _NOFOLLOW | _CLOEXEC | _NONBLOCK, mode)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeStore(os.fsdecode(path), "it is a symbolic link") from None
        if exc.errno == errno.ENXIO:  # a FIFO without reader, a socket, a device
            try:
                mode_found = os.lstat(path).st_mode
            except OSError:
                mode_found = stat.S_IFIFO
            raise not_regular_error(path, mode_found, action=_action(flags)) from None
        raise file_error(path, exc, action=_action(flags)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular_error(path, st.st_mode, action=_action(flags))
        if _NONBLOCK:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
        # Best effort: a file we may read but not chmod (read-only store) stays usable.
        with contextlib.suppress(OSError):
            tighten_fd(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def peek_bytes(path: str | os.PathLike[str]) -> bytes | None:
    """The content of a regular file, read without changing anything (no mode tightened,
    no link followed, never blocking on a FIFO); ``None`` for anything else or any error.
    For files that may be anyone's (``store.discovery``) or a best-effort cache."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def check_readable(path: Path) -> None:
    """Open ``path`` for reading (no-follow, non-blocking) and close it: the ``OSError`` or
    ``StoreFileError`` of a file that cannot be read; a failing close loses nothing."""
    fd = open_nofollow(path, os.O_RDONLY)
    with contextlib.suppress(OSError):
        os.close(fd)


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
    except OSError as exc:
        raise file_error(path, exc, action="read") from None
    finally:
        with contextlib.suppress(OSError):  # read-only: a failing close loses nothing
            os.close(fd)


def read_tail(path: Path, limit: int) -> tuple[bytes, bool] | None:
    """The last ``limit`` bytes of the file and whether they are all of it (``None`` if it
    does not exist): a reader of the newest lines of a growing log pays for those only."""
    try:
        fd = open_nofollow(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        start = max(0, size - limit)
        chunks = []
        while True:
            chunk = os.pread(fd, 1 << 20, start)
            if not chunk:
                break
            chunks.append(chunk)
            start += len(chunk)
        data = b"".join(chunks)
        return data, len(data) >= size  # a file that grew meanwhile: read to its new end
    except OSError as exc:
        raise file_error(path, exc, action="read") from None
    finally:
        with contextlib.suppress(OSError):  # read-only: a failing close loses nothing
            os.close(fd)


def fsync_dir(path: Path) -> None:
    if not _fsync_enabled():
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | _CLOEXEC | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``data`` atomically (temp file + fsync + rename).

    On failure ``path`` is unchanged and the temp file removed; the ``StoreFileError``
    names ``path`` (not the temp file) and says it was left unchanged.
    """
    tmp = path.with_name(f".{path.name}.tmp-{unique_suffix()}")
    with contextlib.suppress(OSError):
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            mode &= stat.S_IMODE(st.st_mode)  # the replacement is never looser (0400 stays)
    try:
        fd = open_nofollow(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        write_all(fd, data)
        fsync_fd(fd)
    except BaseException as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise
    try:
        os.close(fd)  # NFS and quota file systems report a failed write here
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _write_error(path, exc) from None
    try:
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise
    fsync_dir(path.parent)


def _write_error(path: Path, exc: OSError) -> StoreFileError:
    """Name the target, not our temp file, and say that it was not touched."""
    if isinstance(exc, StoreFileError) and exc.errno is not None:
        exc = OSError(exc.errno, os.strerror(exc.errno))
    state = "left unchanged" if os.path.lexists(path) else "not created"
    return file_error(path, exc, action="write", outcome=f"{path.name} was {state}")


def append_durably(fd: int, data: bytes, path: Path) -> int:
    """Append ``data`` to the end of ``fd`` and make it durable, or leave the file as it
    was: on a failed write or fsync the file is truncated back to its previous size.

    Returns the previous size (``truncate_back`` undoes the append if a later step
    fails). Raises ``StoreFileError`` saying whether the rollback succeeded.
    """
    size = os.fstat(fd).st_size
    try:
        write_all(fd, data)
        fsync_fd(fd)
    except BaseException as exc:
        undone = truncate_back(fd, size)
        if isinstance(exc, OSError):
            outcome = (
                f"nothing was recorded ({path.name} is as before)"
                if undone
                else f"part of the record may be left at the end of {path.name} "
                "(readers skip it; aio session repair moves it aside)"
            )
            raise file_error(path, exc, action="append to", outcome=outcome) from None
        raise
    return size


def truncate_back(fd: int, size: int) -> bool:
    """Cut ``fd`` back to ``size`` bytes (undo an append); False if that failed too.

    Once ``ftruncate`` succeeded every reader sees the old content; the fsync after it
    is best effort (after a failed fsync, e.g. EIO, it may fail again)."""
    try:
        os.ftruncate(fd, size)
    except OSError:
        return False
    with contextlib.suppress(OSError):
        fsync_fd(fd)
    return True


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


def write_artifact(path: Path, data: bytes) -> None:
    """Write an artifact (review, test results) atomically, secrets redacted, readable by
    all (``PUBLIC_FILE_MODE``): the workflow's files under ``.aio/``."""
    from ai_orchestrator.infra.redact import redact_bytes  # only when an artifact is written

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, redact_bytes(data), mode=PUBLIC_FILE_MODE)

"""The process's standard streams, guarded: a full, closed or broken stdout or stderr never
aborts a command half-way and never turns into a traceback.

Why: a writing command (``record``, ``import``, ``aio run``…) stores its data first and
reports afterwards. If writing the report could raise, the command would exit non-zero
after the data was stored, and a script that retries would store it twice. So:

- ``install()`` (the entry points call it once) gives every closed descriptor 0-2 a
  ``/dev/null`` stand-in (so no file the store opens can become "stdout"), and replaces
  ``sys.stdout``/``sys.stderr`` with text streams over ``_Guarded`` raw files. A write
  that the system refuses (ENOSPC, EIO, EPIPE, EBADF…) is remembered (``failure``) and
  the data discarded; later writes are discarded too.
- A command whose stdout *is* its result (``list``, ``show``, ``export``…: ``strict``)
  stops at the first failed write: ``OutputLost`` is raised there, and ``cli.main`` turns
  it into one line and exit 1 (a reader that went away, EPIPE, is exit 0 as before).
- Any other command (a writing command: its stdout is only a report) runs to its end;
  ``cli.main`` then says on stderr that its work is done but the report was lost, and
  keeps the command's own exit code: 0 means stored.
- ``stdin_bytes(limit)`` reads stdin for plumbing commands: a closed stdin or more than
  ``limit`` bytes is ``InvalidInput`` (exit 2), never an unbounded read.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import re

from ai_orchestrator.core.errors import InvalidInput, OutputLost
from ai_orchestrator.core.limits import size_text


class Failure:
    """The first write the system refused on one stream (a plain class: this module is
    imported by ``aio --version``, which must stay fast)."""

    def __init__(self, stream: str, errno_: int | None, cause: str) -> None:
        self.stream, self.errno, self.cause = stream, errno_, cause


class _Guarded(io.RawIOBase):
    """A raw file over descriptor ``fd`` whose writes never raise (unless ``strict``)."""

    def __init__(self, fd: int, stream: str, closed: bool) -> None:
        super().__init__()
        self._fd = fd
        self.stream = stream
        self.strict = False
        self.was_closed = closed  # a failure only once something is written to it
        self.failure: Failure | None = None

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return not self.was_closed and self.failure is None and os.isatty(self._fd)

    def write(self, data: Any) -> int:
        size = len(memoryview(data))
        if self.was_closed and self.failure is None and size:
            self.failure = Failure(self.stream, errno.EBADF, f"{self.stream} is closed")
            if self.strict:
                raise OutputLost(self.stream, errno.EBADF, self.failure.cause)
        while self.failure is None:
            try:
                return os.write(self._fd, data)
            except BlockingIOError:  # a non-blocking pipe someone else set: wait for room
                import select

                select.select([], [self._fd], [], 1.0)
            except OSError as exc:
                self.failure = Failure(self.stream, exc.errno, _cause(exc))
                if self.strict:
                    raise OutputLost(self.stream, exc.errno, self.failure.cause) from None
        return size  # discarded: the failure is reported once, at the end


def _cause(exc: OSError) -> str:
    from ai_orchestrator.infra.fsutil import file_error

    text = str(file_error("x", exc))
    # "cannot write x: <cause> (<advice>)": keep the cause in the same words as file errors
    return text.split(": ", 1)[1].split(" (", 1)[0] if ": " in text else str(exc)


_guards: dict[str, _Guarded] = {}


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _stand_in(fd: int, flags: int) -> None:
    """Put ``/dev/null`` on descriptor ``fd`` (closed at start)."""
    spare = os.open(os.devnull, flags)
    if spare != fd:
        os.dup2(spare, fd)
        os.close(spare)


def install() -> None:
    """Guard stdout and stderr of this process (see the module docstring); idempotent."""
    if _guards:
        return
    closed = {fd: not _fd_open(fd) for fd in (0, 1, 2)}
    for fd, flags in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        if closed[fd]:
            _stand_in(fd, flags)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        original = getattr(sys, name)
        raw = _Guarded(fd, name, closed[fd] or original is None)
        text = io.TextIOWrapper(
            io.BufferedWriter(raw),
            encoding=getattr(original, "encoding", None) or "utf-8",
            errors=getattr(original, "errors", None) or "strict",
            line_buffering=bool(getattr(original, "line_buffering", False)),
        )
        _guards[name] = raw
        setattr(sys, name, text)
    if closed[0]:
        sys.stdin = None  # as Python itself says "closed"


def set_strict(strict: bool) -> None:
    """Whether a failed write to stdout stops the command (``OutputLost``)."""
    guard = _guards.get("stdout")
    if guard is not None:
        guard.strict = strict


def failure(stream: str = "stdout") -> Failure | None:
    """The first failed write to ``stream`` (after flushing what is buffered)."""
    guard = _guards.get(stream)
    if guard is None:
        return None
    strict, guard.strict = guard.strict, False
    try:
        getattr(sys, stream).flush()
    except (OSError, ValueError, AttributeError):
        pass
    finally:
        guard.strict = strict
    return guard.failure


def stdin_bytes(limit: int, what: str = "stdin") -> bytes:
    """All of stdin, at most ``limit`` bytes; ``InvalidInput`` when closed or larger
    (``what``: how the message names the input when it is too large)."""
    stream = sys.stdin
    if stream is None:
        raise InvalidInput("stdin is closed: give the input on stdin")
    source = getattr(stream, "buffer", None)
    try:
        if source is None:  # a text stream without bytes (a test harness)
            data = stream.read(limit + 1).encode("utf-8", "surrogateescape")
        else:
            data = source.read(limit + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read stdin: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InvalidInput(f"{what} is larger than the limit of {size_text(limit)}")
    return data


def decode_text(data: bytes, what: str) -> str:
    """``data`` as UTF-8 text; ``InvalidInput`` naming the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{what} is not valid UTF-8 (byte {exc.start})") from None


# ``click.echo`` for text, without importing click (``aio run``'s fast path, ``cli.run_argv``,
# starts without it): the same bytes on the same stream. A stream that is not a terminal gets
# the message without ANSI escape sequences (click's ``strip_ansi``; this is its pattern, and
# ``tests/cli/test_run_fast_path.py`` compares the two); stdout whose encoding is ASCII (a
# misconfigured locale) is written as UTF-8 with ``replace``, as click rewraps it.
def echo(message: str, file: Any = None) -> None:
    """Write ``message`` and a newline to ``file`` (default stdout) exactly as ``click.echo``
    does (see above), and flush."""
    out = message + "\n"
    default_stdout = file is None
    if default_stdout:
        file = sys.stdout
        if file is None:
            return
    try:
        terminal = bool(file.isatty())
    except Exception:
        terminal = False
    if not terminal:
        out = _ansi().sub("", out)
    if default_stdout and _ascii(file):
        binary = getattr(file, "buffer", None)
        if binary is not None:
            import io

            wrapper = io.TextIOWrapper(binary, "utf-8", "replace", line_buffering=True)
            wrapper.write(out)
            wrapper.flush()
            wrapper.detach()  # the stream stays ours
            return
    file.write(out)
    file.flush()


@cache
def _ansi() -> re.Pattern[str]:
    import re

    return re.compile(r"\033\[[0-?]*[ -/]*[@-~]")


def _ascii(stream: Any) -> bool:
    import codecs

    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "ascii").name == "ascii"
    except LookupError:
        return False

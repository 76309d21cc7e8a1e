"""The process runner: start one agent CLI, stream its stdout into a parser, never orphan.

Contract
    ``run(invocation, parser, timeout=…, on_progress=…, kill_grace=…, hold_fds=…)`` starts
    ``invocation.argv`` (never through a shell) in ``invocation.cwd``, in a new session and
    therefore a new process group, with the environment ``os.environ`` + ``invocation.env``
    minus ``invocation.unset_env``. On POSIX the agent runs under its watchdog
    (``agents.watchdog``), the process we start and supervise: it execs the agent in the
    same group, mirrors its exit status exactly, keeps ``hold_fds`` open (the session's run
    lock) until the agent's whole tree is gone and kills that tree if we die (SIGKILL
    included): no agent outlives aio, and no lock is freed while an agent still writes.
    ``invocation.stdin`` is written to the child's stdin,
    which is then closed; ``None`` means stdin is ``/dev/null``. Every stdout line is passed to
    ``parser.feed`` as soon as it arrives, and every progress snapshot the parser returns is
    passed to ``on_progress`` (so is a snapshot from the parser's optional ``tick()``, called
    every ``PROGRESS_INTERVAL`` while ``on_progress`` is set). The run always ends with
    ``parser.finish(ProcessExit(…))`` and returns its result: a timeout or an interrupt is
    reported in ``ProcessExit`` (``timed_out`` / ``interrupted``), not raised. Only a failed
    launch raises (``AgentNotFound`` when the executable is missing or not executable,
    ``AgentLaunchError`` otherwise); then no parser method has been called.

Invariants
    - No process the child started survives ``run``, whether it returns or raises, nor our
      own death (the watchdog's lifeline, see above) — neither in
      the child's group nor one that left it (``setsid``: Gemini runs its shell tools that way)
      nor one re-parented after its parent died. We become a child subreaper (Linux) and track
      the child's whole process tree (``agents.proctree``), scanning it once per
      ``TRACK_INTERVAL`` while the child runs and again at every shutdown step. (The
      watchdog is a subreaper too, so while it lives orphans go to it, below the child.) After the
      direct child exits (normally, on timeout or on interrupt) the group and every tracked
      process (and its group) get SIGTERM, then SIGKILL once none of them is alive or
      ``kill_grace`` seconds have passed. The child is reaped only after that, so its pid
      (= the group id) cannot be reused by an unrelated process while we still signal the
      group; re-parented descendants are reaped too. Without ``/proc`` only the group is
      covered.
    - ``run`` never blocks forever on a pipe: a process beyond our reach (it escaped before we
      saw it, on a system without ``/proc``) that keeps stdout or stderr open is given
      ``DRAIN_TIMEOUT`` seconds after the group is dead, then the pipes are closed on our side.
    - Lines are split on ``\\n`` at the byte level (so a multi-byte character is never cut),
      one trailing ``\\r`` is removed, and each line is decoded as UTF-8 with
      ``errors="replace"``. A final line without a newline is fed too. Lines of any length work
      (they are accumulated, not read with a fixed limit).
    - stderr is kept separately; only its last ``STDERR_TAIL`` bytes are kept.
    - ``ProcessExit.exit_code`` is the child's exit status, or ``128 + N`` when signal ``N``
      ended it (the shell convention: SIGTERM → 143, SIGKILL → 137; ``ProcessExit.signal`` is
      then ``N``). ``None`` only if the child could not be reaped even after SIGKILL.
    - A timeout is only reported if the child was still running at the deadline.

Signals (Ctrl-C, SIGTERM, SIGHUP to *our* process)
    When ``run`` is called from the main thread it temporarily installs handlers for SIGINT,
    SIGTERM and SIGHUP (restored before it returns; a signal the caller set to ``SIG_IGN``
    stays ignored). A handler only records the signal and wakes the loop, so it can never
    interrupt the cleanup half-way. Any of them is treated like Ctrl-C: TERM to the group,
    ``kill_grace``, KILL, then ``parser.finish`` with ``interrupted=True``; a second signal
    skips the rest of the grace period. ``run`` does not re-raise: the caller records the
    interaction and should then exit promptly (130), since the user asked it to stop.
    ``ProcessExit`` has no field for *which* signal it was. A ``KeyboardInterrupt`` that still
    reaches the loop (e.g. raised by ``on_progress``) is handled the same way. Any other
    exception escaping the loop (a parser bug, a test timeout) SIGKILLs the group at once,
    reaps the child and propagates. From other threads no handler can be installed; the
    caller's main thread then owns Ctrl-C.

Design
    One thread, one ``selectors`` loop over non-blocking pipes (stdin write end, stdout,
    stderr, a signal wake-up pipe) with a short tick to poll for the child's exit. Compared
    with reader/writer threads this means no thread can hang on a pipe held open by a
    grandchild, a child that never reads its stdin cannot block us, the parser is only ever
    called from the caller's thread, and Ctrl-C lands in exactly one place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

from ai_orchestrator.agents.base import (
    AgentResult,
    Invocation,
    ProcessExit,
    Progress,
    StreamParser,
)
from ai_orchestrator.agents.process import forked, proctree, watchdog
from ai_orchestrator.core import env as aio_env
from ai_orchestrator.core.errors import AgentLaunchError, AgentNotFound

__all__ = ["DRAIN_TIMEOUT", "STDERR_TAIL", "child_env", "run", "spawn"]

STDERR_TAIL = 64 * 1024  # bytes of stderr kept (the tail: errors come last)
DRAIN_TIMEOUT = 2.0  # seconds to wait for pipes after the group is dead (escaped holders)
REAP_TIMEOUT = 10.0  # seconds to wait for the child after SIGKILL before giving up on it
TRACK_INTERVAL = 1.0  # seconds between scans of the child's process tree while it runs
PROGRESS_INTERVAL = 0.5  # seconds between calls of a parser's optional ``tick()``
_TICK = 0.05  # poll interval for the child's exit status
_CHUNK = 64 * 1024
_MAX_CHUNKS_PER_WAKE = 16  # bound one read burst so a flood cannot starve the deadline checks
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[3])  # where ``ai_orchestrator`` lives
USE_WATCHDOG = os.name == "posix"  # tests that need the runner alone switch it off

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers


def child_env(invocation: Invocation) -> dict[str, str]:
    """The child's environment: ours, plus ``invocation.env``, minus ``invocation.unset_env``."""
    env = aio_env.environ()
    env.update(invocation.env)
    for name in invocation.unset_env:
        env.pop(name, None)
    return env


def run(
    invocation: Invocation,
    parser: StreamParser,
    *,
    timeout: float | None,
    on_progress: Callable[[Progress], None] | None = None,
    kill_grace: float = 3.0,
    hold_fds: Sequence[int] = (),
) -> AgentResult:
    """Run ``invocation`` to completion and return ``parser.finish(...)`` (see module docstring)."""
    env = child_env(invocation)
    lifeline: int | None = None
    stop = _StopSignals()
    proctree.enable_subreaper()  # orphans of the agent's tree come to us, not to init
    tracker = proctree.Tracker(proctree.own_children())
    try:
        stop.install()
        started = time.monotonic()
        proc, lifeline = _launch(invocation, env, hold_fds, max(0.0, kill_grace))
        tracker.attach(proc.pid)
        supervisor: _Supervisor | None = None
        try:
            supervisor = _Supervisor(proc, invocation.stdin, parser, on_progress, stop, tracker)
            outcome = supervisor.run(started, timeout, max(0.0, kill_grace))
        except BaseException:
            if proc.returncode is None:  # once reaped, the pid (= group id) may be reused
                _signal_group(proc.pid, signal.SIGKILL)
                tracker.signal(signal.SIGKILL)
                _reap(proc)
                tracker.reap()
            if supervisor is not None:
                supervisor.close()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    _close_quietly(stream)
            raise
    finally:
        stop.restore()
        if lifeline is not None:  # the watchdog is reaped by now: nothing left to guard
            os.close(lifeline)
    return parser.finish(outcome)


def _launch(
    invocation: Invocation, env: dict[str, str], hold_fds: Sequence[int], grace: float
) -> tuple[subprocess.Popen[bytes], int | None]:
    """Start the agent (under its watchdog where there is one); returns the process we
    supervise and the write end of the watchdog's lifeline (``None`` without a watchdog)."""
    if not invocation.argv:
        raise AgentLaunchError(None, "empty command line")
    exe = invocation.argv[0]
    cwd = Path(invocation.cwd)
    if not cwd.is_dir():
        raise AgentLaunchError(exe, f"working directory {cwd} not found")
    pipe = subprocess.PIPE
    stdin = subprocess.DEVNULL if invocation.stdin is None else pipe
    try:
        return spawn(
            list(invocation.argv),
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=pipe,
            stderr=pipe,
            grace=grace,
            hold_fds=hold_fds,
        )
    except OSError as exc:
        raise _launch_error(exe, exc) from exc


def spawn(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str] | None,
    stdin: int | IO[Any] | None,
    stdout: int | IO[Any] | None,
    stderr: int | IO[Any] | None,
    grace: float,
    hold_fds: Sequence[int] = (),
) -> tuple[subprocess.Popen[bytes], int | None]:
    """Start ``argv`` in a new session under its watchdog (``agents.watchdog``), the one
    mechanism that keeps any process tree aio starts (an agent CLI, a test run) from
    outliving aio: returns the process to wait for (it ends exactly as ``argv`` does) and the
    write end of the watchdog's lifeline, to close once that process is reaped (``None``
    without a watchdog: not POSIX, or ``USE_WATCHDOG`` switched off). ``hold_fds`` stay open in the
    watchdog until the whole tree is gone. Raises ``OSError`` when ``argv`` cannot be
    executed (the exec's errno) or the watchdog failed (errno 0)."""
    if not (USE_WATCHDOG and sys.executable):
        return _popen(argv, cwd, env, stdin, stdout, stderr, ()), None
    lifeline_r, lifeline_w = os.pipe()
    ready_r, ready_w = os.pipe()
    holds = ",".join(str(fd) for fd in hold_fds)
    wrapped = [sys.executable, "-I", "-S", "-c", watchdog.BOOTSTRAP, _PACKAGE_PARENT]
    wrapped += [str(lifeline_r), str(ready_w), repr(grace), holds, "--", *argv]
    proc: subprocess.Popen[bytes]
    try:
        if forked.may_fork():
            watch = (argv, lifeline_r, ready_w, grace, list(hold_fds))
            proc = forked.Forked(watch, wrapped, cwd, env, stdin, stdout, stderr)
        else:
            passed = (lifeline_r, ready_w, *hold_fds)
            proc = _popen(wrapped, cwd, env, stdin, stdout, stderr, passed)
    except OSError as exc:  # the watchdog, not argv, could not start: no errno of argv's
        os.close(lifeline_w)
        os.close(ready_r)
        raise OSError(0, exc.strerror or str(exc)) from exc
    finally:
        os.close(lifeline_r)
        os.close(ready_w)
    with open(ready_r, "rb") as ready:  # EOF once the watchdog exec'd argv (or failed)
        reply = ready.read()
    if reply == b"ok":
        return proc, lifeline_w
    os.close(lifeline_w)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            _close_quietly(stream)
    status = _reap(proc)
    if reply[:1] == b"E" and reply[1:].isdigit() and int(reply[1:]):
        code = int(reply[1:])
        raise OSError(code, os.strerror(code))
    if reply[:1] == b"W" and reply[1:].isdigit():  # the forked watchdog could not enter cwd
        raise OSError(0, os.strerror(int(reply[1:])))
    raise OSError(0, f"its watchdog failed (exit code {status})")


def _popen(
    argv: list[str],
    cwd: Path,
    env: dict[str, str] | None,
    stdin: int | IO[Any] | None,
    stdout: int | IO[Any] | None,
    stderr: int | IO[Any] | None,
    pass_fds: Sequence[int],
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        bufsize=0,
        start_new_session=True,  # own session => own process group, no terminal signals
        close_fds=True,
        pass_fds=tuple(pass_fds),
    )


def _launch_error(exe: str, exc: OSError) -> AgentLaunchError:
    if exc.errno in (errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOTDIR):
        return AgentNotFound(exe, f"not found or not executable ({exc.strerror})")
    if exc.errno == errno.ENOEXEC:
        return AgentNotFound(exe, "is not a runnable program")
    return AgentLaunchError(exe, f"{exc.strerror or exc}")


class _StopSignals:
    """Turns SIGINT/SIGTERM/SIGHUP into a counter plus a wake-up byte while installed."""

    def __init__(self) -> None:
        self.count = 0
        self._previous: dict[int, _Handler] = {}
        self.wake_r, self._wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self._wake_w, False)

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers; it also gets the signals
        for sig in _STOP_SIGNALS:
            previous = signal.getsignal(sig)
            if previous is None or previous == signal.SIG_IGN:
                continue  # not restorable, or deliberately ignored by the caller (nohup)
            signal.signal(sig, self._handle)
            self._previous[sig] = previous

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.note()

    def note(self) -> None:
        self.count += 1
        with contextlib.suppress(OSError):  # a full pipe means the loop is awake anyway
            os.write(self._wake_w, b"\0")

    def drain_wakeups(self) -> None:
        try:
            while os.read(self.wake_r, 4096):
                pass
        except OSError:
            pass

    def restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()
        for fd in (self.wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class _Supervisor:
    """Pumps the pipes and walks the child through run → TERM → KILL → drain → reap."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        stdin_data: bytes | None,
        parser: StreamParser,
        on_progress: Callable[[Progress], None] | None,
        stop: _StopSignals,
        tracker: proctree.Tracker,
    ) -> None:
        self.proc = proc
        self.tracker = tracker
        self.parser = parser
        self.on_progress = on_progress
        self.stop = stop
        self.selector = selectors.DefaultSelector()
        self.closed = False
        self.out_buf = bytearray()
        self.err_tail = bytearray()
        self.stdin_view = memoryview(stdin_data or b"")
        self.readers: dict[int, IO[bytes]] = {}
        self.stdin_file: IO[bytes] | None = proc.stdin
        self.selector.register(stop.wake_r, selectors.EVENT_READ, "wake")
        # The child's exit wakes the loop (pidfd, Linux): the watchdog exits just after the
        # agent closed our pipes, and waiting for the next tick would add it to every call.
        self.exit_fd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self.exit_fd = os.pidfd_open(proc.pid)
            self.selector.register(self.exit_fd, selectors.EVENT_READ, "exit")
        for name, stream in (("out", proc.stdout), ("err", proc.stderr)):
            assert stream is not None
            os.set_blocking(stream.fileno(), False)
            self.readers[stream.fileno()] = stream
            self.selector.register(stream.fileno(), selectors.EVENT_READ, name)
        if self.stdin_file is not None:
            if self.stdin_view.nbytes:
                os.set_blocking(self.stdin_file.fileno(), False)
                self.selector.register(self.stdin_file.fileno(), selectors.EVENT_WRITE, "in")
            else:
                self.close_stdin()

    # -- the state machine -------------------------------------------------------------

    def run(self, started: float, timeout: float | None, kill_grace: float) -> ProcessExit:
        pgid = self.proc.pid
        deadline = None if timeout is None else started + timeout
        exited = timed_out = interrupted = killed = False
        term_at: float | None = None  # when the group got SIGTERM
        give_up_at: float | None = None  # when we stop waiting for pipes / an unkillable child
        track_at = started + TRACK_INTERVAL  # an instant call never pays for a scan
        tick_at = started + PROGRESS_INTERVAL
        while True:
            try:
                now = time.monotonic()
                if not exited and self._child_exited():
                    exited = True
                    self.close_stdin()
                    self._forget_exit_fd()  # readable for good now
                if self.stop.count and not timed_out:
                    interrupted = True
                expired = deadline is not None and now >= deadline
                if expired and not (exited or interrupted or timed_out):
                    timed_out = True
                if term_at is None and now >= track_at:
                    self.tracker.refresh()  # remember descendants before they can escape
                    track_at = now + TRACK_INTERVAL
                if term_at is None and now >= tick_at:
                    self._tick()
                    tick_at = now + PROGRESS_INTERVAL
                if term_at is None and (exited or interrupted or timed_out):
                    _signal_group(pgid, signal.SIGTERM)
                    self.tracker.signal(signal.SIGTERM)
                    term_at = now
                if term_at is not None and not killed:
                    grace_over = now >= term_at + kill_grace or self.stop.count >= 2
                    if grace_over or (exited and not self._group_busy(pgid)):
                        _signal_group(pgid, signal.SIGKILL)
                        self.tracker.signal(signal.SIGKILL)
                        killed = True
                        give_up_at = now + REAP_TIMEOUT
                if killed and exited:
                    # A descendant forked while we signalled: it gets its KILL now.
                    stragglers = self.tracker.signal(signal.SIGKILL)
                    if self.pipes_done() and not stragglers:
                        break
                    # Only a process that left the group can still hold our pipes now.
                    give_up_at = min(give_up_at or now, now + DRAIN_TIMEOUT)
                if give_up_at is not None and now >= give_up_at:
                    break  # pipes held from outside the group, or a child stuck in the kernel
                self._pump(_TICK)
            except KeyboardInterrupt:
                self.stop.note()  # handled like a signal: the next pass starts the cleanup
        returncode = _reap(self.proc)
        self.tracker.reap()
        self._flush_stdout_tail()
        self.close()
        raw = self.proc.returncode
        return ProcessExit(
            exit_code=returncode,
            stderr=self.err_tail.decode("utf-8", errors="replace"),
            duration_ms=int((time.monotonic() - started) * 1000),
            timed_out=timed_out,
            interrupted=interrupted,
            signal=-raw if raw is not None and raw < 0 else None,
        )

    def _child_exited(self) -> bool:
        """True once the child has exited, *without* reaping it (keeps the pgid reserved)."""
        if hasattr(os, "waitid"):
            try:
                flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
                return os.waitid(os.P_PID, self.proc.pid, flags) is not None
            except ChildProcessError:
                return True  # already reaped elsewhere
        return self.proc.poll() is not None

    def _forget_exit_fd(self) -> None:
        if self.exit_fd is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(self.exit_fd)
            os.close(self.exit_fd)
            self.exit_fd = None

    def _group_busy(self, pgid: int) -> bool:
        members = self.tracker.busy(pgid)
        if members is None:  # no /proc: a member holding our pipes is all we can see
            return not self.pipes_done()
        return members

    # -- pipes ---------------------------------------------------------------------------

    def pipes_done(self) -> bool:
        return not self.readers

    def _pump(self, wait: float) -> None:
        for key, _mask in self.selector.select(wait):
            tag = key.data
            if tag == "wake":
                self.stop.drain_wakeups()
            elif tag == "in":
                self._write_stdin()
            elif tag == "exit":
                pass  # the loop's next pass sees the exit
            else:
                self._read(int(key.fd), tag)

    def _write_stdin(self) -> None:
        assert self.stdin_file is not None
        try:
            while self.stdin_view.nbytes:
                written = os.write(self.stdin_file.fileno(), self.stdin_view[:_CHUNK])
                self.stdin_view = self.stdin_view[written:]
        except BlockingIOError:
            return  # the pipe is full; the selector tells us when it drains
        except OSError:
            pass  # EPIPE: the child closed stdin or exited; the prompt is moot now
        self.close_stdin()

    def close_stdin(self) -> None:
        if self.stdin_file is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(self.stdin_file.fileno())
        _close_quietly(self.stdin_file)  # EPIPE on close is fine: nobody is reading
        self.stdin_file = None

    def _read(self, fd: int, tag: str) -> None:
        for _ in range(_MAX_CHUNKS_PER_WAKE):
            try:
                data = os.read(fd, _CHUNK)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._close_reader(fd)
                if tag == "out":
                    self._flush_stdout_tail()
                return
            if tag == "out":
                self._on_stdout(data)
            else:
                self.err_tail += data
                if len(self.err_tail) > STDERR_TAIL:
                    del self.err_tail[: len(self.err_tail) - STDERR_TAIL]

    def _on_stdout(self, data: bytes) -> None:
        search = len(self.out_buf)  # only new bytes can hold a new newline: linear in size
        self.out_buf += data
        start = 0
        while (newline := self.out_buf.find(b"\n", search)) >= 0:
            self._emit(bytes(self.out_buf[start:newline]))
            start = search = newline + 1
        if start:
            del self.out_buf[:start]

    def _flush_stdout_tail(self) -> None:
        if self.out_buf:
            line = bytes(self.out_buf)
            self.out_buf.clear()
            self._emit(line)

    def _emit(self, raw: bytes) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        progress = self.parser.feed(raw.decode("utf-8", errors="replace"))
        if progress is not None and self.on_progress is not None:
            self.on_progress(progress)

    def _tick(self) -> None:
        """A parser's optional ``tick()`` (news that arrives off stdout, e.g. Claude's
        transcript), only while someone watches the progress."""
        tick = getattr(self.parser, "tick", None)
        if tick is None or self.on_progress is None:
            return
        progress = tick()
        if progress is not None:
            self.on_progress(progress)

    def _close_reader(self, fd: int) -> None:
        stream = self.readers.pop(fd, None)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(fd)
        if stream is not None:
            stream.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_stdin()
        self._forget_exit_fd()
        for fd in list(self.readers):
            self._close_reader(fd)
        self.selector.close()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    # ProcessLookupError: the group is gone; PermissionError: macOS says so for zombie-only groups.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _close_quietly(stream: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        stream.close()


def _reap(proc: subprocess.Popen[bytes]) -> int | None:
    """Wait for the child (bounded) and return its status with signals as ``128 + N``."""
    try:
        code = proc.wait(timeout=REAP_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None
    return 128 - code if code < 0 else code

"""The agent's watchdog: a tiny process between aio and the agent CLI, so no agent outlives aio.

Why
    aio can die at any instant without running a line of cleanup (SIGKILL, the OOM killer).
    The agent CLI would then keep running and keep writing into its conversation after the
    session's run lock was released with aio, so a following run resumed a conversation
    that was still being written (a vanished exchange for Claude, "active writer" for Codex,
    merged turns for Gemini). A parent-death signal on the agent alone is not enough: it
    covers neither the agent's own children (tool shells, some started with ``setsid``) nor
    the lock. So the runner starts this watchdog, which lives exactly as long as the agent's
    whole process tree and holds the lock for that long.

Contract (``main([LIFELINE, READY, GRACE, HOLD, "--", *ARGV])``, run by ``runner.run`` with
``BOOTSTRAP`` in a new session, with the agent's cwd, environment and stdio)
    - It makes itself a child subreaper (Linux), so every orphan of the agent's tree —
      detached tool shells, double-forked daemons — is re-parented to it and stays findable.
    - It keeps the file descriptors listed in ``HOLD`` (comma-separated) open for its whole
      life and never passes them to the agent. flock locks belong to the open file
      description, so a lock aio holds (the session's run lock) stays held while the
      watchdog lives, even once aio is gone.
    - It fork/execs ``ARGV`` (looked up in ``PATH`` like ``execvp``) with its own stdio and
      the default disposition of every signal, then writes ``ok`` to the ``READY`` pipe, or
      ``E<errno>`` when the exec failed (and exits 127), and closes it. It then points its
      own stdio at ``/dev/null``: only the agent's tree holds aio's pipes.
    - It ignores SIGINT, SIGTERM and SIGHUP (aio signals the agent's whole group, ours).
    - When the agent exits, any process left in its tree gets SIGTERM, then SIGKILL once
      ``GRACE`` seconds have passed since the agent exited or since the watchdog first got a
      stop signal from aio (whichever came first: aio's own grace period started then);
      all are reaped. The watchdog then ends exactly as the agent did: the same exit code,
      or the same terminating signal raised on itself (no core dump), so aio sees the
      agent's status.
    - ``LIFELINE`` is the read end of a pipe whose write end only aio holds. End of file
      means aio is gone: the whole tree gets SIGTERM, ``GRACE`` seconds, SIGKILL, and is
      reaped; only then does the watchdog exit (and the held lock go free).
    - Without a subreaper (not Linux) it stops its own process group instead (the agent's,
      unless the agent moved out of it).

Start-up cost matters (every agent call pays it): the runner forks it from aio
(``fork_watchdog``, through ``agents.process.forked``: the child sheds aio's descriptors and
signal handlers and never returns into aio's code), or, when aio runs other threads, starts it as
``python -I -S -c BOOTSTRAP`` (no site, no environment; the module comes from its cached
bytecode), and it imports only ``os``, ``select``, ``sys``, ``time``, ``ctypes``,
CPython's ``_signal`` and ``agents.subreaper`` at start (``signal`` would pull in ``enum``);
``agents.proctree`` (the tree walk) is imported only when there is a tree to stop.
"""

from __future__ import annotations

import os
import select
import time

from ai_orchestrator.agents.process.subreaper import become_subreaper

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs ~10 ms
if TYPE_CHECKING:
    import signal
else:
    try:  # the C module itself: ``signal`` would import ``enum`` (a third of our start-up)
        import _signal as signal
    except ImportError:  # pragma: no cover - not CPython
        import signal

__all__ = ["BOOTSTRAP", "fork_watchdog", "main", "watch_over"]

# ``python -I -S -c BOOTSTRAP PACKAGE_PARENT ARGS…``: only our own package becomes importable.
BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from ai_orchestrator.agents.process.watchdog import main; main(sys.argv[2:])"
)

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
KILL_TIMEOUT = 10.0  # seconds to keep killing and reaping after SIGKILL before giving up
_TICK = 0.05


class _Watch:
    def __init__(self, subreaper: bool) -> None:
        self.subreaper = subreaper
        self.agent = 0
        self.status: int | None = None  # the agent's wait status once reaped
        self.stop_at: float | None = None  # when aio first asked the tree to stop
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)  # SIGCHLD (and stop signals) wake the select
        signal.signal(signal.SIGCHLD, self._noop)
        for sig in _STOP_SIGNALS:
            signal.signal(sig, self._on_stop)

    def _noop(self, signum: int, frame: object) -> None:
        pass

    def _on_stop(self, signum: int, frame: object) -> None:
        if self.stop_at is None:
            self.stop_at = time.monotonic()

    def wait(self, fds: list[int], timeout: float) -> list[int]:
        ready = select.select([*fds, self.wake_r], [], [], timeout)[0]
        if self.wake_r in ready:
            try:
                while os.read(self.wake_r, 4096):
                    pass
            except OSError:
                pass
        return [fd for fd in ready if fd != self.wake_r]

    def reap(self) -> bool:
        """Collect every exited child (noting the agent's status); ``False`` once we have
        no child at all — as the subreaper, that means the whole tree is gone."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True
            if pid == self.agent:
                self.status = status

    def signal_tree(self, sig: int) -> None:
        """Send ``sig`` to every descendant and to each of their process groups but ours."""
        if not self.subreaper:
            if sig != signal.SIGKILL:  # KILL on our own group would end us before reaping
                os.killpg(0, sig)
            return
        try:
            from ai_orchestrator.agents.process import proctree
        except ImportError:  # the package changed under us: stop our group at least
            self.subreaper = False
            self.signal_tree(sig)
            return
        own_group = os.getpgid(0)
        for info in proctree.descendants(os.getpid()) or ():
            try:
                os.kill(info.pid, sig)
                if info.pgid != own_group:
                    os.killpg(info.pgid, sig)
            except OSError:
                pass  # gone meanwhile (or a group we may not signal)

    def stop_tree(self, deadline: float) -> None:
        """TERM the tree, wait until ``deadline`` for it to go, then KILL and reap it all."""
        if not self.reap():
            return
        self.signal_tree(signal.SIGTERM)
        while time.monotonic() < deadline:
            if not self.reap():
                return
            self.wait([], min(_TICK, max(0.0, deadline - time.monotonic())))
        give_up = time.monotonic() + KILL_TIMEOUT
        while time.monotonic() < give_up:
            self.signal_tree(signal.SIGKILL)  # again each round: a fork may have raced us
            if not self.reap():
                return
            time.sleep(0.01)
        if not self.subreaper:
            os.killpg(0, signal.SIGKILL)  # the last resort also ends us: the lock goes free

    def end_like_the_agent(self) -> None:
        status = self.status
        if status is None:
            os._exit(0)
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            try:
                import resource

                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
                signal.set_wakeup_fd(-1)
                if sig != signal.SIGKILL:  # KILL has no handler to reset (setting one fails)
                    signal.signal(sig, signal.SIG_DFL)
                os.kill(os.getpid(), sig)
                time.sleep(1)  # the signal is delivered at once; this is only a guard
            except (OSError, ValueError):
                pass
            os._exit(128 + sig)
        os._exit(os.waitstatus_to_exitcode(status))


def _exec_agent(argv: list[str], err_w: int, env: dict[str, str] | None) -> None:
    """In the forked child: default signal dispositions, then exec; never returns."""
    try:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD, *_STOP_SIGNALS):
            signal.signal(sig, signal.SIG_DFL)
        if env is None:
            os.execvp(argv[0], argv)
        else:  # the forked watchdog: looked up in env's PATH, as execvp in the exec'd one
            os.execvpe(argv[0], argv, env)
    except OSError as exc:
        os.write(err_w, f"E{exc.errno or 0}".encode())
    except BaseException:
        os.write(err_w, b"E0")
    os._exit(127)


def main(args: list[str]) -> None:
    """Run the watchdog (see the module docstring); never returns."""
    lifeline, ready, grace_text, hold_text, dashes, *argv = args
    if dashes != "--" or not argv:
        raise SystemExit("usage: watchdog LIFELINE READY GRACE HOLD -- ARGV...")
    holds = [int(f) for f in hold_text.split(",") if f]
    watch_over(argv, int(lifeline), int(ready), float(grace_text), holds, None)


def watch_over(
    argv: list[str],
    lifeline_fd: int,
    ready_fd: int,
    grace: float,
    holds: list[int],
    env: dict[str, str] | None,
) -> None:
    """The watchdog proper (``main``'s contract), in this process; never returns. ``env``:
    the agent's environment (``None``: ours). ``runner.spawn`` calls it in a child forked
    from aio (``fork_watchdog``), which saves starting an interpreter on every call."""
    for fd in (lifeline_fd, ready_fd, *holds):
        os.set_inheritable(fd, False)  # held by us only, never by the agent
    watch = _Watch(become_subreaper())
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        _exec_agent(argv, err_w, env)
    watch.agent = pid
    try:
        _supervise(watch, err_r, err_w, ready_fd, lifeline_fd, grace)
    except BaseException:  # a bug here must not orphan the agent: stop our group, us included
        os.killpg(0, signal.SIGKILL)
        raise


def _supervise(
    watch: _Watch, err_r: int, err_w: int, ready_fd: int, lifeline_fd: int, grace: float
) -> None:
    os.close(err_w)
    failure = os.read(err_r, 64)  # EOF: the exec succeeded (the pipe is close-on-exec)
    os.close(err_r)
    try:
        os.write(ready_fd, failure or b"ok")
        os.close(ready_fd)
    except OSError:
        pass  # aio died while launching: the lifeline says so below
    if failure:
        os.waitpid(watch.agent, 0)
        os._exit(127)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)

    aio_gone = False
    while watch.status is None:
        watch.reap()
        if watch.status is not None:
            break
        if lifeline_fd in watch.wait([lifeline_fd], 1.0):
            try:
                aio_gone = not os.read(lifeline_fd, 64)
            except OSError:
                aio_gone = True
            if aio_gone:
                break
    now = time.monotonic()
    started = now if aio_gone or watch.stop_at is None else min(now, watch.stop_at)
    watch.stop_tree(started + grace)
    watch.end_like_the_agent()


def fork_watchdog(
    argv: list[str],
    cwd: str,
    env: dict[str, str],
    stdio: tuple[int, int, int],
    lifeline_fd: int,
    ready_fd: int,
    grace: float,
    holds: list[int],
) -> int:
    """Start the watchdog as a fork of this process (aio) instead of a new interpreter; the
    child's pid. The child becomes what ``python -I -S -c BOOTSTRAP`` would have been: a new
    session, ``stdio`` as its 0-2, no descriptor of ours but those and ``lifeline_fd``,
    ``ready_fd``, ``holds`` (in particular not the lifeline's write end, whose closing tells
    it aio is gone), ``cwd``; then ``watch_over``. It never returns into aio's code: any
    failure ends it (``W<errno>`` on the ready pipe when it could not enter ``cwd``, exit
    127). Only from a process with one thread (a fork copies just the calling one)."""
    pid = os.fork()
    if pid:
        return pid
    code = 127
    try:
        import gc

        gc.disable()  # aio's unreachable objects must not be finalised (flushed) here
        for sig in _STOP_SIGNALS:  # aio's handlers until ours are set: a stop waits for them
            signal.signal(sig, signal.SIG_IGN)
        os.setsid()
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)  # inheritable: the agent's stdio
        _close_all_but({0, 1, 2, lifeline_fd, ready_fd, *holds})
        try:
            os.chdir(cwd)
        except OSError as exc:
            os.write(ready_fd, f"W{exc.errno or 0}".encode())
            raise
        watch_over(argv, lifeline_fd, ready_fd, grace, holds, env)
    except BaseException:
        pass
    finally:
        os._exit(code)
    return 0  # pragma: no cover - unreachable (os._exit)


def _close_all_but(keep: set[int]) -> None:
    """Close every descriptor of this process but ``keep`` (``close_fds`` of a Popen)."""
    try:
        open_fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: every possible number
        try:
            limit = int(os.sysconf("SC_OPEN_MAX"))
        except (OSError, ValueError):
            limit = 1 << 16
        ordered = sorted(keep)
        for low, high in zip(ordered, [*ordered[1:], limit], strict=True):
            os.closerange(low + 1, high)
        return
    for fd in open_fds:
        if fd not in keep:
            try:  # noqa: SIM105 - contextlib is not imported by the exec'd watchdog
                os.close(fd)
            except OSError:
                pass  # listdir's own descriptor, closed already

"""The agent's watchdog forked from aio: a ``Popen`` whose child is ``watchdog.fork_watchdog``.

Why: starting the watchdog as ``python -I -S -c BOOTSTRAP`` costs an interpreter start
(~15 ms, twice that on a loaded machine) on every agent call; a fork of aio is the same
watchdog (``watchdog.watch_over``) for the price of a ``fork``. ``runner.spawn`` uses it
when ``may_fork()``, else the exec'd watchdog; both give the agent the same process
(``tests/agents/test_watchdog_fork.py``).
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

from ai_orchestrator.agents.process import watchdog
from ai_orchestrator.core import env as aio_env

FORK_WATCHDOG = True  # fork the watchdog from aio (else start it as a new interpreter)


def may_fork() -> bool:
    """A fork copies only the calling thread: with another thread alive (it may hold a lock
    the child would need) the watchdog is started as its own interpreter instead."""
    return FORK_WATCHDOG and hasattr(os, "fork") and threading.active_count() == 1


class Forked(subprocess.Popen[bytes]):
    """A ``Popen`` whose child is the watchdog forked from this process
    (``watchdog.fork_watchdog``) rather than ``python -I -S -c BOOTSTRAP`` exec'd: the same
    process to supervise (pipes, ``pid``, ``poll``, ``wait``) for ~15 ms less per call.
    ``Popen`` makes the pipes and closes the child's ends; only the child's start differs
    (``_execute_child``, the POSIX hook every ``Popen`` start goes through)."""

    def __init__(
        self,
        watch: tuple[list[str], int, int, float, list[int]],
        wrapped: list[str],
        cwd: Path,
        env: dict[str, str] | None,
        stdin: int | IO[Any] | None,
        stdout: int | IO[Any] | None,
        stderr: int | IO[Any] | None,
    ) -> None:
        """``watch``: the agent's argv, the lifeline's read end, the ready pipe's write end,
        the grace period and the held descriptors; the rest as for ``_popen`` (``wrapped``
        is only what ``args`` shows)."""
        self._watch = watch
        super().__init__(
            wrapped, cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr, bufsize=0
        )

    def _execute_child(
        self,
        args: Any,
        executable: Any,
        preexec_fn: Any,
        close_fds: bool,
        pass_fds: Any,
        cwd: Any,
        env: dict[str, str] | None,
        startupinfo: Any,
        creationflags: Any,
        shell: bool,
        p2cread: int,
        p2cwrite: int,
        c2pread: int,
        c2pwrite: int,
        errread: int,
        errwrite: int,
        *rest: Any,
    ) -> None:
        argv, lifeline_r, ready_w, grace, holds = self._watch
        stdio = (  # -1: the child inherits ours
            p2cread if p2cread != -1 else 0,
            c2pwrite if c2pwrite != -1 else 1,
            errwrite if errwrite != -1 else 2,
        )
        self.pid = watchdog.fork_watchdog(
            argv,
            os.fspath(cwd),
            aio_env.environ() if env is None else env,
            stdio,
            lifeline_r,
            ready_w,
            grace,
            holds,
        )
        self._child_created = True
        close_pipes = self._close_pipe_fds  # type: ignore[attr-defined]
        close_pipes(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)

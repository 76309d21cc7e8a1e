"""Tests are in-process by default: a test that starts a process says so with a marker.

``guard(item)`` (installed around every test's setup, call and teardown by the root
conftest) makes every way Python starts a process fail for a test without the ``process``
marker: ``subprocess`` (and so ``asyncio``'s subprocesses and ``os.popen``), ``os.fork``,
``os.forkpty``, ``os.posix_spawn*``, the ``os.exec*`` family, ``os.system`` and
``_posixsubprocess.fork_exec`` (``multiprocessing``). The error is a ``BaseException``, so
code under test that catches ``Exception`` (or ``OSError``) cannot swallow it, and every
attempt is also remembered: the test fails even if something swallowed the error.

``real_cli`` and ``agent_process`` imply ``process`` (``imply_process`` adds it at
collection), so ``-m "not process"`` selects exactly the tests that start nothing.
Session- and module-scoped fixtures set up before the test are outside the guard (the
PostgreSQL server of the team tests is started once per run).
"""

from __future__ import annotations

import _posixsubprocess
import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

PROCESS = "process"
IMPLYING = ("real_cli", "agent_process")

ADVICE = (
    "test started a process ({what}) without the `process` marker. If the process is what it "
    "tests (signals, a killed aio, the runner, a real CLI, start-up cost, a `python -m` entry "
    "point), mark it: `@pytest.mark.process` on the test or `pytestmark = pytest.mark.process` "
    "in the module. Otherwise run it in-process: `tests.helpers.aio_inprocess` for the CLI, "
    "the `fake_launcher` fixture (tests/fakes/inprocess.py) for an agent. See README, 'Tests'."
)


class ProcessForbidden(BaseException):
    """A test without the ``process`` marker tried to start a process (a ``BaseException``
    so that ``except Exception`` in the code under test does not hide it)."""


_OS_NAMES = (
    "fork", "forkpty", "posix_spawn", "posix_spawnp", "system",
    "execv", "execve", "execl", "execle", "execlp", "execlpe", "execvp", "execvpe",
)  # fmt: skip


def imply_process(items: list[pytest.Item]) -> None:
    """Mark ``process`` every test marked with a marker that implies it."""
    for item in items:
        if not item.get_closest_marker(PROCESS) and any(
            item.get_closest_marker(name) for name in IMPLYING
        ):
            item.add_marker(PROCESS)


def _describe(name: str, args: tuple[Any, ...]) -> str:
    argv = args[0] if args else None
    if name in ("fork_exec", "subprocess") and isinstance(argv, (list, tuple)) and argv:
        shown = [os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in argv]
        return f"{name} {shown[:6]}"
    if isinstance(argv, (str, bytes, os.PathLike)):
        return f"os.{name} {os.fsdecode(argv)!r}"
    return f"os.{name}" if name != "fork_exec" else name


def _blocker(name: str, attempts: list[str]) -> Callable[..., Any]:
    def blocked(*args: Any, **kwargs: Any) -> Any:
        what = _describe(name, args)
        attempts.append(what)
        raise ProcessForbidden(ADVICE.format(what=what))

    return blocked


@contextlib.contextmanager
def guard(item: pytest.Item) -> Iterator[list[str]]:
    """Forbid starting processes while the block runs, unless ``item`` is marked ``process``;
    yields the list of attempts (empty when allowed or none were made)."""
    attempts: list[str] = []
    if item.get_closest_marker(PROCESS):
        yield attempts
        return
    saved: list[tuple[object, str, object]] = []

    def patch(owner: object, name: str, label: str) -> None:
        if hasattr(owner, name):
            saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, _blocker(label, attempts))

    for name in _OS_NAMES:
        patch(os, name, name)
    patch(_posixsubprocess, "fork_exec", "fork_exec")
    # subprocess keeps its own reference to fork_exec; Popen's argv is the first argument.
    patch(subprocess, "_fork_exec", "subprocess")
    try:
        yield attempts
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)

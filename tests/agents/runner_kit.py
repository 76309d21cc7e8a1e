"""Shared pieces of the runner tests (``test_runner.py``, ``test_runner_stop.py``).

Every child is a Python script written to ``tmp_path`` and run with ``sys.executable``
(``child``); ``LineParser`` records what the runner fed it; ``assert_all_dead`` waits (a
bounded time) for processes and a process group to be gone.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from ai_orchestrator.agents.base import AgentResult, Invocation, ProcessExit, Progress
from tests.fakes.harness import pid_alive as alive

SRC = Path(__file__).resolve().parents[2] / "src"


class LineParser:
    """A trivial parser: keeps every line; a snapshot for every line starting with ``p``."""

    def __init__(self, on_line: Callable[[str], None] | None = None) -> None:
        self.lines: list[str] = []
        self.exit: ProcessExit | None = None
        self.finish_calls = 0
        self._on_line = on_line

    def feed(self, line: str) -> Progress | None:
        self.lines.append(line)
        if self._on_line is not None:
            self._on_line(line)
        return Progress(turns=len(self.lines), tool=line) if line.startswith("p") else None

    def finish(self, exit: ProcessExit) -> AgentResult:
        self.finish_calls += 1
        self.exit = exit
        return AgentResult(agent="test", outcome="success", text="\n".join(self.lines))

    def value(self, key: str) -> str:
        """The value of the first ``key=value`` line."""
        for line in self.lines:
            if line.startswith(key + "="):
                return line.split("=", 1)[1]
        raise AssertionError(f"no {key}= line in {self.lines!r}")


def child(tmp_path: Path, *parts: str) -> list[str]:
    """argv running the script made of ``parts`` (each dedented on its own)."""
    path = tmp_path / "child.py"
    prelude = "import os, signal, sys, time\n"
    path.write_text(prelude + "".join(textwrap.dedent(part) for part in parts))
    return [sys.executable, str(path)]


def invocation(
    argv: list[str],
    tmp_path: Path,
    *,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    unset_env: tuple[str, ...] = (),
) -> Invocation:
    return Invocation(argv=argv, cwd=tmp_path, stdin=stdin, env=env or {}, unset_env=unset_env)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            found.append(int(name))
    return found


def assert_all_dead(*pids: int, pgid: int) -> None:
    # The kernel may need a moment to finish tearing down a SIGKILLed process.
    limit = time.monotonic() + 10
    while time.monotonic() < limit and (any(alive(p) for p in pids) or group_members(pgid)):
        time.sleep(0.05)
    assert not [p for p in pids if alive(p)], "a process survived the runner"
    assert group_members(pgid) == [], "a process of the child's group survived"


GRANDCHILD = """
def spawn_grandchild(ignore_term, seconds=120):
    pid = os.fork()
    if pid == 0:
        if ignore_term:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(seconds)  # holds the inherited stdout/stderr pipes the whole time
        os._exit(0)
    return pid
"""

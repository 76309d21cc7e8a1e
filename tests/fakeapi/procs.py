"""Run a CLI as its own process group with a hard timeout, and check nothing is left behind.

``run_cli(argv, env, cwd, stdin=..., timeout=...)`` spawns without a shell in a new session
(so pid == pgid == sid), collects stdout/stderr, and on timeout SIGKILLs the whole group.
After the main process ends it records group/session members still alive 2 s later in
``CliResult.leftover`` and then kills them, so a test never leaks processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class CliResult:
    """Outcome of one CLI run."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False
    pid: int = 0
    leftover: list[int] = field(default_factory=list)

    def json(self) -> Any:
        """stdout parsed as one JSON document."""
        return json.loads(self.stdout)

    def jsonl(self) -> list[dict[str, Any]]:
        """stdout parsed as JSON lines (non-JSON lines are skipped)."""
        return json_lines(self.stdout)

    def describe(self) -> str:
        """Human-readable dump for assertion messages."""
        return (f"argv={self.argv}\nrc={self.returncode} timed_out={self.timed_out} "
                f"t={self.duration:.2f}s\n--- stdout ---\n{self.stdout[-4000:]}\n"
                f"--- stderr ---\n{self.stderr[-4000:]}")


def json_lines(text: str) -> list[dict[str, Any]]:
    """Parse every line that is a JSON object."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def live_group_members(pgid: int) -> list[int]:
    """Pids (not zombies) whose process group or session id is ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        state, pgrp, session = fields[0], int(fields[2]), int(fields[3])
        if state not in ("Z", "X") and pgid in (pgrp, session):
            found.append(int(entry.name))
    return found


def kill_group(pgid: int) -> None:
    """SIGKILL the process group and any member of the session that escaped it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    for pid in live_group_members(pgid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def wait_group_gone(pgid: int, timeout: float = 5.0) -> list[int]:
    """Wait until no live member of ``pgid`` remains; return the survivors (empty = clean)."""
    deadline = time.monotonic() + timeout
    while (members := live_group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return members


def spawn(argv: Sequence[str], env: Mapping[str, str], cwd: Path,
          stdin: str | None = None) -> subprocess.Popen[str]:
    """Start ``argv`` in a new session with piped stdout/stderr (stdin piped or /dev/null)."""
    return subprocess.Popen(
        list(argv), env=dict(env), cwd=cwd, text=True, start_new_session=True,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_cli(argv: Sequence[str], env: Mapping[str, str], cwd: Path, *,
            stdin: str | None = None, timeout: float = 60.0,
            linger: float = 10.0) -> CliResult:
    """Run to completion or kill the group after ``timeout`` seconds. A member still alive
    ``linger`` seconds after the leader's exit is reported as left behind (generous: under
    load an exiting helper process can take seconds to be reaped; an orphan never goes)."""
    start = time.monotonic()
    proc = spawn(argv, env, cwd, stdin)
    timed_out = False
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(proc.pid)
        out, err = proc.communicate()
    leftover = wait_group_gone(proc.pid, timeout=linger)
    if leftover:
        kill_group(proc.pid)
    return CliResult(argv=list(argv), returncode=proc.returncode, stdout=out, stderr=err,
                     duration=time.monotonic() - start, timed_out=timed_out, pid=proc.pid,
                     leftover=leftover)

"""Contract tests: no process outlives a timed-out call of a REAL agent CLI, tool shells included.

The fake model API makes each CLI run a long shell command with its own shell tool (Claude
``Bash``, Gemini ``run_shell_command``, Codex ``exec_command``) and then never answers again.
``run_in_session`` times out; afterwards no process of that command may be alive. Gemini
starts its tool shells detached (own session and process group), so signalling the agent's
group alone leaves them running: this is what the runner's process-tree tracking is for.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.base import Permission
from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.store import SessionStore
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS
from tests.fakes.harness import pid_alive

pytestmark = pytest.mark.real_cli

# The shell tool call each case makes (Claude refuses a bare "sleep N", so it is chained), and
# the permission that lets it run headless. "claude-background" uses Bash's run_in_background:
# the CLI goes on to the next (hanging) request while the command runs.
CASES: dict[str, tuple[str, Callable[[str], dict[str, Any]], Permission]] = {
    "claude": (
        "claude",
        lambda cmd: {
            "tool_use": {"name": "Bash", "input": {"command": f"echo go && {cmd} && echo done"}}
        },
        Permission(allowed_tools=["Bash"]),  # bypassPermissions is refused as root
    ),
    "claude-background": (
        "claude",
        lambda cmd: {
            "tool_use": {
                "name": "Bash",
                "input": {"command": f"echo go && {cmd} && echo done", "run_in_background": True},
            }
        },
        Permission(allowed_tools=["Bash"]),
    ),
    "gemini": (
        "gemini",
        lambda cmd: {"tool_use": {"name": "run_shell_command", "input": {"command": cmd}}},
        Permission(mode="bypassPermissions"),  # yolo: run_shell_command is offered
    ),
    "codex": (
        "codex",
        lambda cmd: {
            "tool_use": {"name": "exec_command", "input": {"cmd": cmd, "yield_time_ms": 120000}}
        },
        Permission(mode="bypassPermissions"),  # no sandbox: the command really runs
    ),
}


def _live_matching(needle: bytes) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ")
        except OSError:
            continue
        if needle in cmdline and pid_alive(int(entry)):
            found.add(int(entry))
    return found


class Watcher(threading.Thread):
    """Records every live process whose command line contains ``needle`` while a call runs."""

    def __init__(self, needle: bytes) -> None:
        super().__init__(daemon=True)
        self.needle = needle
        self.seen: set[int] = set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.seen |= _live_matching(self.needle)
            time.sleep(0.1)


@pytest.mark.parametrize("case", list(CASES))
def test_timeout_during_a_shell_tool_leaves_no_process_behind(
    case: str,
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    name, tool_turn, permission = CASES[case]
    agent_env(name)
    command = f"sleep {326 + list(CASES).index(case)}"  # distinctive per case
    fake_api.script([tool_turn(command), {"hang": True}, {"hang": True}])
    watcher = Watcher(command.encode())
    watcher.start()
    try:
        run = run_in_session(
            SessionStore(),
            "run-hygiene",
            "run the command",
            CallOptions(
                agent=name,
                cwd=cli_workdir,
                model=MODELS[name],
                timeout=12.0,
                permission=permission,
            ),
        )
    finally:
        watcher.done.set()
        watcher.join()
    try:
        assert run.result.outcome == "timeout", (run.result.outcome, run.result.error)
        assert watcher.seen, f"{case} never started {command!r}: the test proves nothing"
        deadline = time.monotonic() + 5
        while _live_matching(command.encode()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _live_matching(command.encode()) == set(), f"{command!r} outlived the timeout"
    finally:
        for pid in _live_matching(command.encode()):
            os.kill(pid, 9)

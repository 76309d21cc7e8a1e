"""The live progress line and the lock wait, seen in a real terminal (tmux at 80 and 120
columns) while the REAL Claude Code CLI runs against the fake model API.

What a person sees must be true and alive: the spinner moves, the token words mean what the
summary line means (``in`` without cache reads), output tokens are the real count (the
stream only carries ``message_start``'s placeholder 1), the current and then the last tool
is named, and the line is one row at any width. A second run on a busy session shows who
holds it and for how long, then says how long it waited.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from pathlib import Path

import pytest

from ai_orchestrator.store import SessionStore
from tests.contract.tmux_screen import TmuxScreen
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import OfflineCli

pytestmark = pytest.mark.real_cli

AIO = "from ai_orchestrator.cli.main import main; main()"
LIVE_WORDS = re.compile(r" in / | out\b|tool: |waiting .* for the session")


def aio_env(claude_cli: OfflineCli, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        **claude_cli.env,
        "SESSION_DIR": os.environ["SESSION_DIR"],
        "AIO_AGENT_CLAUDE_EXECUTABLE": claude_cli.argv[0],
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }


def ended(rows: list[str]) -> bool:
    return any(row.startswith("[exit ") for row in rows)


def live_rows(screens: list[list[str]], label: str, width: int) -> list[str]:
    """The live line of every screen, after checking it is one row that fits."""
    found = []
    for rows in screens:
        mine = [i for i, row in enumerate(rows) if label in row]
        assert len(mine) <= 1, rows
        for i, row in enumerate(rows):
            # words of the live line on any other row would be a wrapped remainder
            if i not in mine and not row.startswith(f"{label.split(' · ')[1]}:"):
                assert not LIVE_WORDS.search(row), rows
        if mine:
            assert len(rows[mine[0]]) <= width, rows
            found.append(rows[mine[0]])
    return found


@pytest.mark.parametrize("width", [80, 120])
def test_live_line_is_alive_true_and_one_row(
    width: int,
    fake_api: FakeAPIServer,
    claude_cli: OfflineCli,
    cli_workdir: Path,
    tmp_path: Path,
) -> None:
    fake_api.script(
        [
            {
                "text": "Let me wait a little.",
                "tool_use": {"name": "Bash", "input": {"command": "sleep 2", "description": "w"}},
                "usage": {"input_tokens": 10, "output_tokens": 56, "cache_read_input_tokens": 300},
            },
            {
                "delay": 2.5,
                "text": "Done.",
                "usage": {"input_tokens": 12, "output_tokens": 7, "cache_read_input_tokens": 300},
            },
        ]
    )
    screen = TmuxScreen(tmp_path, width=width)
    try:
        screen.start(
            [sys.executable, "-c", AIO, "run", "--allowed-tools", "Bash", "live-demo", "hi"],
            aio_env(claude_cli, tmp_path),
            cli_workdir,
        )
        screens = screen.watch(ended)
    finally:
        screen.close()
    last = screens[-1]
    assert "[exit 0]" in last, last
    summary = [row for row in last if row.startswith("live-demo: success · ")]
    # the summary line: the same words, cache writes included
    assert summary and "22 in / 63 out / 600 cache read / 0 cache write" in summary[0], last
    lines = live_rows(screens, "claude · live-demo", width)
    assert len({line[0] for line in lines}) >= 3, lines  # the spinner moves
    assert any("tool: Bash" in line and "last tool" not in line for line in lines), lines
    assert any("last tool: Bash" in line for line in lines), lines
    # the first message's true output count (read from the transcript while the model
    # "thinks" about the second), and "in" without the 300 cache-read tokens
    assert any("10 in / 56 out" in line for line in lines), lines
    assert not any("310 in" in line for line in lines), lines


@pytest.mark.parametrize("width", [80, 120])
def test_a_busy_session_shows_the_wait_and_its_holder(
    width: int,
    fake_api: FakeAPIServer,
    claude_cli: OfflineCli,
    cli_workdir: Path,
    tmp_path: Path,
) -> None:
    fake_api.script([{"text": "Done.", "usage": {"input_tokens": 5, "output_tokens": 3}}])
    lock = SessionStore().run_lock("lock-demo", command="the test holder")
    screen = TmuxScreen(tmp_path, width=width)
    try:
        screen.start(
            [sys.executable, "-c", AIO, "run", "lock-demo", "hi"],
            aio_env(claude_cli, tmp_path),
            cli_workdir,
        )
        waiting = screen.watch(lambda rows: any("waiting 1." in row for row in rows), 30)
        release = threading.Timer(1.0, lock.release)
        release.start()
        screens = waiting + screen.watch(ended, 60)
        release.join()
    finally:
        lock.release()
        screen.close()
    lines = live_rows(screens, "claude · lock-demo", width)
    waits = [line for line in lines if "for the session" in line]
    assert waits, lines
    assert all(f"held by pid {os.getpid()}" in line for line in waits), waits
    last = screens[-1]
    assert "[exit 0]" in last, last
    said = {row for rows in screens for row in rows if row.startswith("lock-demo: waited ")}
    assert len(said) == 1, said  # said once, on its own row
    assert re.fullmatch(r"lock-demo: waited (1\.[89]|[23]\.\d)s for the session", said.pop())

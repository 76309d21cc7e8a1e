"""Golden screens: the tables as a person sees them in a real terminal (tmux) at 80 and 120
columns, with and without colour.

Each screen is captured from a tmux pane of that width and compared with the file of the same
name in ``tests/cli/screens/``. A changed layout is a deliberate act: rerun with
``AIO_UPDATE_SCREENS=1`` and review the diff of the screen files. Skipped only when tmux is
not installed. The data is fixed (old dates shown as dates, recent ones hours or days ago,
so a capture is the same whenever it runs) and TZ is UTC.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from ai_orchestrator.store import SessionStore
from tests.helpers import aio, as_record, interaction

# screens of a real terminal (tmux)
pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

SCREENS = Path(__file__).parent / "screens"
OLD = "2024-03-15T12:00:00.000Z"  # shown as the date 2024-03-15 (TZ=UTC)
END = "__screen_end__"
FAILING_TEST = "tests/test_refunds.py::test_refund_is_idempotent_when_the_gateway_retries"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
UPDATE = bool(os.environ.get("AIO_UPDATE_SCREENS"))  # read before the fixtures clear AIO_*


def hours_ago(hours: float) -> str:
    # +10 minutes of slack: "2h ago" stays "2h ago" however slow the run
    moment = datetime.now(UTC) - timedelta(hours=hours, minutes=10)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Terminal:
    """A private tmux server (own socket) that runs one command per pane and captures it."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        # A socket of our own in a directory of our own: removed with it (tmux leaves it).
        self.socket_dir = tempfile.mkdtemp(prefix="aio-tmux-", dir="/tmp")
        self.socket = os.path.join(self.socket_dir, "socket")
        self.env = env
        self.cwd = cwd
        # A session that outlives the others: the server never exits between two runs.
        subprocess.run(
            ["tmux", "-S", self.socket, "-f", "/dev/null", "new-session", "-d", "sleep 3600"],
            check=True,
        )

    def run(self, width: int, *args: str, colour: bool = False, joined: bool = False) -> str:
        """The screen of ``aio ARGS`` in a pane ``width`` columns wide (``colour``: with
        its escape sequences; ``joined``: lines the terminal wrapped joined again)."""
        name = f"w{width}-{time.monotonic_ns()}"
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        aio_cmd = shlex.join([sys.executable, "-m", "ai_orchestrator", *args])
        # A new pane may start at tmux's default size and be resized a moment later: wait.
        wait = f'until [ "$(stty size)" = "80 {width}" ]; do sleep 0.05; done'
        # COLUMNS/LINES inherited by the tmux server would override the pane's real size
        # (and NO_COLOR, set for every test, the colour); only ``self.env`` counts.
        run = f"env -u COLUMNS -u LINES -u NO_COLOR {env} {aio_cmd}"
        script = f"{wait}; cd {shlex.quote(str(self.cwd))} && {run}; echo {END}; sleep 600"
        tmux = ["tmux", "-S", self.socket, "-f", "/dev/null"]
        subprocess.run(
            [*tmux, "new-session", "-d", "-s", name, "-x", str(width), "-y", "80", script],
            check=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                screen = subprocess.run(
                    [
                        *tmux,
                        "capture-pane",
                        "-p",
                        *(["-e"] if colour else []),
                        *(["-J"] if joined else []),
                        "-t",
                        name,
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                if END in screen:
                    return screen[: screen.index(END)].rstrip("\n") + "\n"
                time.sleep(0.1)
            raise AssertionError(f"aio {' '.join(args)} did not finish in the pane")
        finally:
            subprocess.run([*tmux, "kill-session", "-t", name], check=False)

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], check=False, capture_output=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)


@pytest.fixture
def session_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A store whose path always has the same length (``/tmp/aio-screens-XXXXXXXX``): a long
    line that names it wraps at the same place on every run."""
    path = Path(tempfile.mkdtemp(prefix="aio-screens-", dir="/tmp"))
    monkeypatch.setenv("SESSION_DIR", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def project(session_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store and a feature with fixed figures and dates."""
    store = SessionStore()
    store.record(as_record(
        "review-payments-refactor",
        interaction(
            timestamp=hours_ago(2),
            prompt="review the refund path for double charges",
            tokens={
                "input": 123_456,
                "output": 4_567,
                "cache_read": 2_345_678,
                "cache_write": 45_678,
            },
            cost=1.2345,
        ),
    ))
    store.record(as_record(
        "review-payments-refactor",
        interaction(
            timestamp=hours_ago(1),
            model="mystery-model",
            cost=0.0,
            cost_source="unpriced",
            outcome="timeout",
        ),
    ))
    store.record(as_record(
        "plan-payments-refactor",
        interaction(
            timestamp=hours_ago(3 * 24),
            agent="gemini",
            model="gemini-2.5-pro",
            tokens={"input": 5_000, "output": 1, "cache_read": 0, "cache_write": 0},
            cost=0.1,
        ),
    ))
    store.record(as_record(
        "implement-payments-refactor",
        interaction(timestamp=OLD, tokens={"input": 10, "output": 10}, cost=0.3),
    ))
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    assert aio("init", "payments-refactor", "Refunds without double charges").code == 0
    feature = root / ".aio" / "features" / "payments-refactor"
    data = yaml.safe_load((feature / "feature.yaml").read_text())
    data.update(created_at=OLD, updated_at=OLD)
    (feature / "feature.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    events = [
        _event("init", OLD, None, None, "success", 92),
        _event(
            "plan",
            "2024-03-15T12:01:00.000Z",
            "claude",
            "opus",
            "success",
            61_000,
            steps=[{"model": "claude-opus-4-1"}],
        ),
        _event(
            "implement",
            "2024-03-15T12:30:00.000Z",
            "claude",
            "sonnet",
            "failed",
            452_100,
            task="T1.1",
            error="the tests fail (3 passed, 1 failed in 2.1s): " + FAILING_TEST,
        ),
        _event("verify", "2024-03-15T12:40:00.000Z", None, None, "success", 5_400),
    ]
    (feature / "history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return root


def _event(
    command: str,
    timestamp: str,
    agent: str | None,
    model: str | None,
    status: str,
    duration_ms: int,
    *,
    task: str | None = None,
    error: str | None = None,
    steps: list[dict[str, str]] | None = None,
) -> dict[str, object]:
    return {
        "schema_version": 1,
        "timestamp": timestamp,
        "command": command,
        "arguments": {},
        "agent": agent,
        "model": model,
        "status": status,
        "duration_ms": duration_ms,
        "task_id": task,
        "session": None,
        "error": error,
        "details": {"steps": steps} if steps else {},
    }


@pytest.fixture
def terminal(project: Path, session_dir: Path) -> Iterator[Terminal]:
    term = Terminal(terminal_env(session_dir, session_dir / "todos.jsonl"), project)
    yield term
    term.close()


def terminal_env(store: Path, todo_file: Path) -> dict[str, str]:
    """The whole environment of a pane: the store, UTC and a colour terminal, nothing else."""
    return {
        "HOME": os.environ["HOME"],
        "SESSION_DIR": str(store),
        "TODO_FILE": str(todo_file),
        "TZ": "UTC",
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AIO_FSYNC": "0",
    }


def check(name: str, screen: str, session_dir: Path) -> None:
    screen = screen.replace(str(session_dir), "<SESSION_DIR>")
    path = SCREENS / f"{name}.txt"
    if UPDATE or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(screen)
        if not UPDATE:
            pytest.fail(f"{path} did not exist: written now, review it and run again")
    assert screen == path.read_text(), f"screen {name} changed (AIO_UPDATE_SCREENS=1 rewrites)"


SESSION_NAMES = (
    "review-payments-refactor",
    "plan-payments-refactor",
    "implement-payments-refactor",
)


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize(
    "name, args",
    [
        ("session-list", ("session", "list")),
        ("session-show", ("session", "show", "implement-payments-refactor")),
        ("status", ("status", "payments-refactor")),
        ("history", ("history", "payments-refactor")),
    ],
)
def test_screens(
    terminal: Terminal, session_dir: Path, name: str, args: tuple[str, ...], width: int
) -> None:
    screen = terminal.run(width, *args, "--color", "never")
    lines = screen.splitlines()
    assert all(len(line) <= width for line in lines)
    assert all(line == line.rstrip() for line in lines), "trailing spaces"
    for ident in SESSION_NAMES:  # never cut: whole, or not shown at all
        stem = ident[: len(ident) - 3]
        assert screen.count(stem) == screen.count(ident), f"{ident} cut:\n{screen}"
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", screen), "raw ISO time in a table"
    check(f"{name}-{width}", screen, session_dir)


def test_list_layouts_and_words(terminal: Terminal, session_dir: Path) -> None:
    narrow = terminal.run(80, "session", "list", "--color", "never")
    wide = terminal.run(80, "session", "list", "--wide", "--color", "never", joined=True)
    # compact: token total instead of the in/out and cache columns; --wide: all of them
    assert "Tokens in/out" not in narrow and "Cache read/write" not in narrow
    assert "Tokens in/out" in wide and "Cache read/write" in wide and "Model" in wide
    assert "1h ago" in narrow and "3d ago" in narrow and "2024-03-15" in narrow
    # the status word agrees with the footer: the 2-year-old session is idle, not active
    row = next(line for line in narrow.splitlines() if "implement-payments-refactor" in line)
    assert " idle " in row and "active" not in row
    assert "Active: 2, used within 30 days; Idle: 1" in narrow
    # the table is fitted: every line of the compact table fits 80 columns
    assert max(len(line) for line in narrow.splitlines() if "│" in line) <= 80
    assert max(len(line) for line in wide.splitlines() if "│" in line) > 80


def test_history_cuts_only_the_error_with_an_ellipsis(terminal: Terminal) -> None:
    for width in (80, 120):
        screen = terminal.run(width, "history", "payments-refactor", "--color", "never")
        assert FAILING_TEST not in screen
        assert "…" in screen
        assert "2024-03-15 12:30" in screen and "implement" in screen and "T1.1" in screen
    wide = terminal.run(120, "history", "payments-refactor", "--color", "never")
    # the model as the agent reported it (an id), else as asked for
    assert "claude-opus-4-1" in wide and "sonnet" in wide


def test_colour_decorates_but_never_carries_meaning(terminal: Terminal) -> None:
    coloured = terminal.run(120, "session", "list", "--color", "always", colour=True)
    plain = terminal.run(120, "session", "list", "--color", "never", colour=True)
    auto = terminal.run(120, "session", "list", colour=True)  # a terminal: colour
    assert ANSI.search(coloured) and ANSI.search(auto)
    assert not ANSI.search(plain)
    # the same words and symbols with and without colour
    assert ANSI.sub("", coloured) == plain
    terminal.env["NO_COLOR"] = "1"
    assert not ANSI.search(terminal.run(120, "session", "list", colour=True))
    # --color always beats NO_COLOR (a flag given now is more specific than the environment)
    assert ANSI.search(terminal.run(120, "session", "list", "--color", "always", colour=True))

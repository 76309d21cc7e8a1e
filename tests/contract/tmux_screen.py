"""A real terminal for tests: one command in a detached tmux pane of a fixed size.

``TmuxScreen(tmp_path, width=80)`` runs its own tmux server (a private socket under
``tmp_path``, no user config), so tests never touch a user's tmux. ``start(argv, env, cwd)``
runs the command through a small shell script (the environment is exported there: a tmux
server keeps the environment it started with); ``rows()`` captures the visible screen;
``watch(until, timeout)`` captures every few milliseconds until ``until(rows)`` holds and
returns every distinct screen seen. The pane stays open after the command ends
(``remain-on-exit``) so its last screen can be read.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest


class TmuxScreen:
    def __init__(self, tmp_path: Path, *, width: int, height: int = 30) -> None:
        if shutil.which("tmux") is None:
            pytest.skip("!!! TERMINAL TEST SKIPPED: tmux is not installed !!!")
        self.dir = tmp_path / f"tmux-{width}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket = self.dir / "socket"
        self.width, self.height = width, height

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.stdout

    def start(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        script = self.dir / "run.sh"
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
        command = " ".join(shlex.quote(a) for a in argv)
        script.write_text(
            f"#!/bin/sh\n{exports}export TERM=xterm-256color\ncd {shlex.quote(str(cwd))}\n"
            f"{command}\necho \"[exit $?]\"\n"
        )
        script.chmod(0o755)
        self.tmux(
            "new-session", "-d", "-s", "t", "-x", str(self.width), "-y", str(self.height),
            str(script),
        )
        self.tmux("set-option", "-t", "t", "remain-on-exit", "on")

    def rows(self) -> list[str]:
        return self.tmux("capture-pane", "-p", "-t", "t").split("\n")

    def watch(
        self, until: Callable[[list[str]], bool], timeout: float = 60.0
    ) -> list[list[str]]:
        screens: list[list[str]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.rows()
            if not screens or rows != screens[-1]:
                screens.append(rows)
            if until(rows):
                return screens
            time.sleep(0.03)
        raise AssertionError("the screen never showed the end:\n" + "\n".join(screens[-1]))

    def close(self) -> None:
        self.tmux("kill-server")

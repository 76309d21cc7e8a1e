"""``aio doctor`` (versions checked once, cached by binary) and the live progress line."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.harness import FakeAgents

# doctor runs the agents' --version; the progress line needs a terminal
pytestmark = pytest.mark.process


def doctor() -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "ai_orchestrator", "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_doctor_reports_versions_and_caches_them(fakes: FakeAgents) -> None:
    first = doctor()
    agents = {a["agent"]: a for a in first["agents"]}  # type: ignore[union-attr,index]
    assert agents["claude"]["installed"] and "2.1" in agents["claude"]["version"]
    assert agents["codex"]["installed"] and agents["codex"]["version"]
    calls = len(fakes.invocations())
    assert calls == 3  # one --version per CLI
    doctor()
    assert len(fakes.invocations()) == calls  # cached by path + mtime: no new process
    os.utime(fakes.executable("claude"))  # "upgrading" a binary invalidates its entry
    doctor()
    assert [c["agent"] for c in fakes.invocations()][calls:] == ["claude"]


def test_doctor_reports_a_missing_cli(fakes: FakeAgents, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIO_AGENT_GEMINI_EXECUTABLE", "/nonexistent/gemini")
    agents = {a["agent"]: a for a in doctor()["agents"]}  # type: ignore[union-attr,index]
    assert agents["gemini"]["installed"] is False
    assert "AIO_AGENT_GEMINI_EXECUTABLE" in agents["gemini"]["problem"]


def run_on_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ai_orchestrator", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "160", "TERM": "xterm"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_progress_line_on_a_terminal_only(fakes: FakeAgents, tmp_path: Path) -> None:
    fakes.scenario(
        [
            {"text": "slow answer", "delay": 1.5, "claude": {}},
            {"text": "quiet answer", "delay": 1.5},
        ],
        claude={"event_delay": 0.3},
    )
    code, screen = run_on_terminal(["run", "run-x", "hi"], tmp_path)
    assert code == 0, screen
    assert "claude · run-x" in screen  # the live line: label, elapsed time …
    assert "slow answer" in screen
    piped = subprocess.run(
        [sys.executable, "-m", "ai_orchestrator", "run", "run-x", "again"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert piped.returncode == 0
    assert "claude · run-x" not in piped.stderr and "\x1b[" not in piped.stderr
    assert piped.stdout.strip() == "quiet answer"

"""Helpers for tests that drive the fake agent CLIs (``tests/fakes/bin/{claude,gemini,codex}``).

Typical use::

    from fakes.harness import FakeAgents

    def test_something(tmp_path):
        fakes = FakeAgents(tmp_path)
        fakes.scenario([{"text": "planned", "usage": {"claude-sonnet-4-5-20250929": {...}}}])
        env = fakes.env            # PATH with the fakes first, HOME, scenario, log, python
        ...run the code under test with env (or fakes.run("claude", "-p", ...))...
        [call] = fakes.invocations("claude")
        assert "--verbose" in call["argv"] and call["stdin"] == "the prompt"

Everything lives under the directory given (``tmp_path``): the fake HOME, the scenario, its
cursor state and the invocation log. Nothing touches the real home.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

FAKES_DIR = Path(__file__).resolve().parent
BIN_DIR = FAKES_DIR / "bin"
AGENTS = ("claude", "gemini", "codex")


class FakeAgents:
    """One isolated world for the fakes: HOME, scenario, log."""

    def __init__(self, root: Path, *, trust_gemini: bool = True, inprocess: bool = False) -> None:
        self.root = Path(root)
        self.inprocess = inprocess  # ``run`` runs the fake in this process (no process started)
        self.trust_gemini = trust_gemini  # the user trusts the folder (else gemini exits 55)
        self.home = self.root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.scenario_path = self.root / "fake-scenario.json"
        self.log_path = self.root / "fake-agents.log.jsonl"
        self.scenario()  # an empty scenario: every call gets the default turn until replaced

    def scenario(
        self, turns: list[dict[str, Any]] | dict[str, Any] | None = None, **settings: Any
    ) -> Path:
        """Write the scenario (and reset its cursor). ``settings``: seed, claude={...}, …"""
        data = {"seed": settings.pop("seed", 0), "turns": turns or [], **settings}
        self.scenario_path.write_text(json.dumps(data, indent=2))
        for suffix in (".state.json", ".lock"):
            self.scenario_path.with_name(self.scenario_path.name + suffix).unlink(missing_ok=True)
        return self.scenario_path

    @property
    def env(self) -> dict[str, str]:
        """Environment *overrides* that make the fakes the agents on PATH."""
        return {
            "PATH": str(BIN_DIR) + os.pathsep + os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "CLAUDE_CONFIG_DIR": str(self.home / ".claude"),
            "CODEX_HOME": str(self.home / ".codex"),
            "GEMINI_CLI_HOME": str(self.home),
            "FAKE_AGENT_SCENARIO": str(self.scenario_path),
            "FAKE_AGENT_LOG": str(self.log_path),
            "FAKE_AGENT_PYTHON": sys.executable,
            "GEMINI_CLI_TRUST_WORKSPACE": "true" if self.trust_gemini else "false",
        }

    def full_env(self, **extra: str) -> dict[str, str]:
        """``os.environ`` with ``env`` and ``extra`` applied (for running a fake directly)."""
        return {**os.environ, **self.env, **extra}

    @staticmethod
    def executable(agent: str) -> str:
        return str(BIN_DIR / agent)

    def run(
        self,
        agent: str,
        *args: str,
        cwd: Path,
        stdin: str | None = "",
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Run one fake like a backend would (stdin piped; ``None`` → /dev/null); in this
        process when ``inprocess`` (``tests/fakes/inprocess.run_fake``)."""
        if self.inprocess:
            from tests.fakes.inprocess import run_fake

            code, out, err = run_fake(
                agent,
                args,
                stdin=(stdin or "").encode(),
                cwd=cwd,
                env={**self.env, **(env or {})},
            )
            return subprocess.CompletedProcess([self.executable(agent), *args], code, out, err)
        return subprocess.run(
            [self.executable(agent), *args],
            cwd=cwd,
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            text=True,
            env=self.full_env(**(env or {})),
            timeout=timeout,
            check=False,
        )

    def records(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]

    def invocations(self, agent: str | None = None) -> list[dict[str, Any]]:
        """One dict per invocation (its ``start`` record) in start order, with what followed:
        ``exit_code`` (absent if killed), ``result`` (session_id, turn), ``background_pids``."""
        calls: list[dict[str, Any]] = []
        open_by_pid: dict[int, dict[str, Any]] = {}
        for record in self.records():
            if record["event"] == "start":
                started = dict(record, background_pids=[])
                calls.append(started)
                open_by_pid[record["pid"]] = started
                continue
            call = open_by_pid.get(record["pid"])
            if call is None:
                continue
            if record["event"] == "exit":
                call["exit_code"] = record["exit_code"]
                del open_by_pid[record["pid"]]
            elif record["event"] == "result":
                call["result"] = {k: record.get(k) for k in ("session_id", "turn", "subtype")}
            elif record["event"] == "background":
                call["background_pids"].append(record["child_pid"])
        return [c for c in calls if agent is None or c["agent"] == agent]


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects in ``text`` (one per line; other lines are skipped)."""
    found = []
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            found.append(obj)
    return found


def aio_run(
    cwd: Path,
    *args: str,
    stdin: str | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``aio run ARGS`` in ``cwd`` (the test's environment + ``env``), with ``AIO_DEBUG=1`` so
    that an unexpected exception shows its traceback: in this process when the agent is the
    in-process fake (the ``fakes`` fixture of a test not marked ``process``), else as a real
    process."""
    from ai_orchestrator.calls import session_call
    from tests.fakes.inprocess import FakeLauncher
    from tests.helpers import aio_inprocess

    if isinstance(session_call.launch, FakeLauncher):
        done = aio_inprocess("run", *args, input=stdin, cwd=cwd, env=env)
        return subprocess.CompletedProcess(["aio", "run", *args], done.code, done.out, done.err)
    return subprocess.run(
        [sys.executable, "-m", "ai_orchestrator", "run", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "AIO_DEBUG": "1", **(env or {})},
    )


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (children, grandchildren …), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found

"""Contract tests: no REAL agent CLI outlives aio, and the conversation survives aio's death.

For each CLI: a first ``aio run`` in session ``run-life`` completes an exchange; a second one
is stopped (SIGKILL, SIGTERM or SIGHUP to aio) while the fake API delays its reply; a third
one is started at once. Within 5 s no process of the second call's tree (watchdog, CLI, its
children) may be left; the third run must wait for that (the run lock outlives the agent),
succeed, and the conversation it sends to the server must hold the earlier exchanges in
order — no vanished exchange, no "active writer" refusal (Codex), no merged turns (Gemini).
Before ``agents.watchdog`` the killed CLI got its delayed answer later and wrote it into the
conversation while the third run used it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ai_orchestrator.store import SessionStore
from tests.contract.raw_drivers import DRIVERS
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS
from tests.fakes.harness import pid_alive

pytestmark = pytest.mark.real_cli

DELAY = 8.0  # seconds the fake API sits on the killed call's request (longer than the kill)
CASES = [
    (agent, sig)
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGHUP)
    for agent in ("claude", "codex", "gemini")
]


def _aio(cwd: Path, agent: str, prompt: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "ai_orchestrator", "run", "run-life", prompt]
    argv += ["--agent", agent, "--model", MODELS[agent], "--timeout", "120"]
    return subprocess.Popen(
        argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=180)
    return proc.returncode, out, err


def _tree(pid: int) -> set[int]:
    """Every process below ``pid`` now (from the kernel's ``children`` files)."""
    found: set[int] = set()
    stack = [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as fh:
                    kids = [int(k) for k in fh.read().split()]
            except OSError:
                continue
            found.update(kids)
            stack.extend(kids)
    return found


def _first_index(history: list[tuple[str, str]], marker: str) -> int:
    hits = [i for i, (_, text) in enumerate(history) if marker in text]
    assert len(hits) <= 1 or marker == "PROMPT-TWO", (marker, history)
    return hits[0] if hits else -1


@pytest.mark.parametrize(("agent", "sig"), CASES, ids=[f"{a}-{s.name}" for a, s in CASES])
def test_stopping_aio_mid_call_kills_the_cli_and_keeps_the_conversation(
    agent: str,
    sig: signal.Signals,
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
) -> None:
    agent_env(agent)
    driver = DRIVERS[agent]
    fake_api.script(
        [{"text": "ANSWER-ONE"}, {"text": "ANSWER-TWO", "delay": DELAY}, {"text": "ANSWER-THREE"}]
    )
    code, out, err = _finish(_aio(cli_workdir, agent, "PROMPT-ONE"))
    assert code == 0 and "ANSWER-ONE" in out, err

    second = _aio(cli_workdir, agent, "PROMPT-TWO")
    tree: set[int] = set()
    try:
        limit = time.monotonic() + 120
        while not any(
            "PROMPT-TWO" in text
            for request in fake_api.main_requests()
            for _, text in driver.history(request.body)
        ):
            assert time.monotonic() < limit and second.poll() is None, second.communicate()
            time.sleep(0.05)
        tree = _tree(second.pid)
        assert tree, "the agent's process tree was not found: the test proves nothing"
        second.send_signal(sig)
        stopped_at = time.monotonic()
        third = _aio(cli_workdir, agent, "PROMPT-THREE")
        while any(pid_alive(p) for p in tree) and time.monotonic() < stopped_at + 30:
            time.sleep(0.05)
        gone_at = time.time()
        left = sorted(p for p in tree if pid_alive(p))
        took = time.monotonic() - stopped_at
        assert not left and took < 20, f"{left} outlived aio ({took:.1f} s after the signal)"
        second_code, _, second_err = _finish(second)
        code, out, err = _finish(third)
    finally:
        for pid in tree:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        if second.poll() is None:
            second.kill()

    assert code == 0 and "ANSWER-THREE" in out, err
    if sig == signal.SIGKILL:
        assert second_code == -signal.SIGKILL
        assert "cut off" in err, err  # the third run recorded the killed call first
    else:  # the clean stop of Ctrl-C: recorded as interrupted, exit 130
        assert second_code == 130, second_err
    # Either way the killed call is recorded exactly once (SIGKILL: recovered by the third
    # run from the CLI's own files), before the third call, and with what the server served
    # for it: nothing, since its reply never came.
    records = [r.to_json() for r in SessionStore().read_log("run-life").records]
    assert [r["outcome"] for r in records] == ["success", "interrupted", "success"], records
    killed = records[1]
    assert killed["tokens"]["input"] == 0 and killed["tokens"]["output"] == 0, killed
    assert not (SessionStore().path_of("run-life") / "pending-call.json").exists()

    last = [r for r in fake_api.main_requests() if "PROMPT-THREE" in str(r.body)]
    assert last, "the third run never reached the server"
    assert min(r.time for r in last) > gone_at - 0.5, "the third run did not wait for the tree"
    history = driver.history(last[-1].body)
    order = [_first_index(history, m) for m in ("PROMPT-ONE", "ANSWER-ONE", "PROMPT-THREE")]
    assert -1 not in order and order == sorted(order), history
    assert not any("ANSWER-TWO" in text for _, text in history), "the killed call answered"
    two = _first_index(history, "PROMPT-TWO")
    if two >= 0:  # the killed exchange may be kept, in its place and on its own
        assert order[1] < two < order[2], history
        assert "PROMPT-THREE" not in history[two][1], f"merged turns: {history}"

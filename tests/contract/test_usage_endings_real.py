"""Contract tests: a REAL agent CLI call records exactly what the API served, however it ends.

For Claude Code, Gemini CLI and Codex, one session goes through every way a call can be
stopped after the agent finished an API response: the fake API answers a tool turn with known
usage (different per call), then leaves the next request hanging, and the call is stopped by

- Ctrl-C (SIGINT to aio), SIGTERM and SIGHUP to aio,
- the agent CLI being SIGKILLed (what the OOM killer does),
- ``--timeout``,
- an API error (HTTP 500 on the request after the tool turn; retries are off),

with ``--new-session`` in the middle (a new conversation whose first call is stopped). Each
stopped call must be recorded with exactly the tokens the fake served it (read back from the
agent's own files: Gemini's stream has no usage before its result, Codex's none before
``turn.completed``, Claude's only a placeholder output count), never "usage unknown"; and the
next call is billed only its own turn (Codex counts per thread cumulatively: a wrong baseline
bills a stopped call's turn to the next one, or drops it after ``--new-session``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.store import SessionStore
from tests.contract.test_recover_real import CASES
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS
from tests.fakes.harness import descendants, pid_alive

pytestmark = pytest.mark.real_cli

TIMEOUT = 25.0  # the --timeout ending: long enough for a loaded machine to reach the hang


def _scaled(usage: dict[str, Any], k: int) -> dict[str, Any]:
    return {key: _scaled(v, k) if isinstance(v, dict) else v * k for key, v in usage.items()}


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def _stop(aio: subprocess.Popen[bytes], how: str) -> None:
    if how != "agent":
        aio.send_signal(getattr(signal, how))
        return
    # The agent CLI dies under aio (its watchdog execs it: aio's child), as the OOM killer
    # does it; a CLI that relaunched itself (Gemini) loses its child too.
    agents = _children(aio.pid)
    assert agents, "no agent process under aio"
    for pid in agents:
        for victim in [*descendants(pid), pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)


def _stopped_call(
    fake_api: FakeAPIServer,
    case: dict[str, Any],
    name: str,
    agent: str,
    cwd: Path,
    usage: dict[str, Any],
    how: str,
    extra: tuple[str, ...] = (),
) -> int:
    """``aio run`` served a tool turn with ``usage`` then a hanging request, stopped ``how``;
    returns aio's exit code once it has recorded the call."""
    last = {"error": {"status": 500}} if how == "error" else {"hang": True}
    fake_api.script([{"tool_use": case["tool"], "usage": usage}, last])
    before = len(fake_api.main_requests(case["api"]))
    argv = [sys.executable, "-m", "ai_orchestrator", "run", name, "run the command",
            "--agent", agent, "--model", MODELS[agent], *case["flags"], *extra]
    if how == "timeout":
        argv += ["--timeout", str(TIMEOUT)]
    aio = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           start_new_session=True)
    try:
        try:
            fake_api.wait_for_requests(before + 2, timeout=180)  # the hanging one arrived
        except TimeoutError as exc:
            aio.send_signal(signal.SIGTERM)
            _, err = aio.communicate(timeout=30)
            raise AssertionError(f"{how}: {exc}; aio said: {err.decode()[-2000:]}") from None
        if how not in ("timeout", "error"):
            time.sleep(1.0)  # as a real stop would come: after the CLI wrote its files
            _stop(aio, how)
        _, err = aio.communicate(timeout=90)
    finally:
        if aio.poll() is None:
            aio.kill()
            aio.wait(timeout=10)
    tree = descendants(aio.pid)
    assert not any(pid_alive(p) for p in tree)
    served = fake_api.main_requests(case["api"])[before:]
    answered = [r.status is not None for r in served]
    assert answered == [True, how == "error"], "served more than scripted"
    assert aio.returncode != 0, err
    return aio.returncode


ENDINGS = [  # (how the call is stopped, the outcome recorded, extra aio run arguments)
    ("SIGINT", "interrupted", ()),
    ("SIGTERM", "interrupted", ()),
    ("agent", "error:crash", ()),
    ("SIGHUP", "interrupted", ("--new-session",)),
    ("timeout", "timeout", ()),
    ("error", "error:", ()),  # the API fails the request after the tool turn (HTTP 500)
]


@pytest.mark.parametrize("agent", list(CASES))
def test_every_stopped_call_records_exactly_what_the_api_served(
    agent: str,
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    case = CASES[agent]
    agent_env(agent)
    name = f"implement-endings-{agent}"
    store = SessionStore()
    expected: list[tuple[str, dict[str, int]]] = []
    for k, (how, outcome, extra) in enumerate(ENDINGS, start=1):
        _stopped_call(fake_api, case, name, agent, cli_workdir, _scaled(case["usage"], k),
                      how, extra)
        expected.append((outcome, _scaled(case["tokens"], k)))
        records = [r.to_json() for r in store.read_log(name).records]
        assert len(records) == k, f"{how}: the call was not recorded once"
        got = records[-1]
        assert got["outcome"].startswith(outcome), (how, got["error"])
        assert got["tokens"] == expected[-1][1], (how, got["error"], got.get("usage_source"))
        assert not got.get("usage_unknown") and got["cost"] > 0, how
        if how == "agent":  # the cause, not a start-up warning (Gemini's "True color")
            assert got["error"].startswith("killed by signal 9 (SIGKILL)"), got["error"]
        if how == "SIGHUP":  # --new-session: a new conversation, kept though stopped
            assert got["session_action"] == "replaced"
        else:
            assert got["session_action"] == ("started" if k == 1 else "resumed"), how

    # The next call is billed its own turn only: nothing of the stopped ones comes back.
    fake_api.script([{"text": "done", "usage": case["third"]}])
    last = run_in_session(store, name, "and now finish",
                          CallOptions(agent=agent, cwd=cli_workdir, model=MODELS[agent],
                                      timeout=120, permission=case["permission"]))
    assert last.result.ok, (last.result.outcome, last.result.error)
    assert (last.record.tokens.input, last.record.tokens.output) == case["third_tokens"]
    records = [r.to_json() for r in store.read_log(name).records]
    assert [r["tokens"] for r in records[:-1]] == [tokens for _, tokens in expected]
    assert last.record.agent_session_id == records[-2]["agent_session_id"]

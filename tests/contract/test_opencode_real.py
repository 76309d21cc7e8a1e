"""Contract tests: aio drives the REAL OpenCode CLI (``opencode-ai`` 1.18.33) against the fake
Anthropic API on 127.0.0.1, offline (``tests.fakeapi.clis.opencode_env``).

- A new call and a resumed one: each record holds exactly the tokens the fake served (every
  step summed: a tool step and the answer), OpenCode's own cost (from the prices the offline
  config declares) as ``reported_cost``, and the conversation id; the resumed call sends the
  first exchange to the server and stays in the same OpenCode session.
- Every way the agent can fail maps to the documented failed outcome with the API's message:
  a refused request (400), a bad key (401), a server error that outlasts OpenCode's five
  retries (500), a model OpenCode does not know; a resume of a session it does not have
  (the argv and parser aio uses, on the raw CLI: aio itself refuses an id it never stored)
  is ``session_lost``.
- A fork (``--session ID --fork``, the argv the backend builds) continues a copy: a new
  session id, the source conversation sent to the model, the source session unchanged.
- aio SIGKILLed mid-call: no process of the call outlives it (the lifetime watchdog), and the
  next call records the killed one as ``interrupted`` with exactly the tokens the fake served
  its finished step, read back from OpenCode's own SQLite store (``usage_source`` names it);
  killed during its very first request (OpenCode printed nothing yet), it is recorded as
  ``interrupted`` with its usage unknown.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.base import AgentRequest, AgentResult, ProcessExit
from ai_orchestrator.agents.opencode import OpenCodeBackend, opencode_db
from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.store import SessionStore
from tests.contract.raw_drivers import DRIVERS
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS, OPENCODE_PRICES
from tests.fakeapi.procs import run_cli
from tests.fakes.harness import descendants, pid_alive

pytestmark = pytest.mark.real_cli

MODEL = MODELS["opencode"]
TOOL = {"name": "bash", "input": {"command": "echo tool-ran", "description": "echo"}}
STEP_ONE = {"input_tokens": 1200, "output_tokens": 80, "cache_read_input_tokens": 3000,
            "cache_creation_input_tokens": 500}
STEP_TWO = {"input_tokens": 1400, "output_tokens": 40, "cache_read_input_tokens": 3500,
            "cache_creation_input_tokens": 100}
TIMEOUT = 240  # OpenCode starts in ~5 s alone, far slower on a loaded machine


def _tokens(*served: dict[str, int]) -> dict[str, int]:
    return {
        "input": sum(s["input_tokens"] for s in served),
        "output": sum(s["output_tokens"] for s in served),
        "cache_read": sum(s["cache_read_input_tokens"] for s in served),
        "cache_write": sum(s["cache_creation_input_tokens"] for s in served),
        "reasoning": 0,
    }


def _opencode_cost(*served: dict[str, int]) -> float:
    """What OpenCode computes from the offline config's prices (USD per million tokens)."""
    t = _tokens(*served)
    return (t["input"] * OPENCODE_PRICES["input"] + t["output"] * OPENCODE_PRICES["output"]
            + t["cache_read"] * OPENCODE_PRICES["cache_read"]
            + t["cache_write"] * OPENCODE_PRICES["cache_write"]) / 1e6


def _call(name: str, cwd: Path, prompt: str, **kw: Any) -> Any:
    options = CallOptions(agent="opencode", cwd=cwd, model=kw.pop("model", MODEL),
                          timeout=TIMEOUT, **kw)
    return run_in_session(SessionStore(), name, prompt, options)


def test_new_and_resumed_calls_record_exact_tokens_cost_and_the_conversation(
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env("opencode")
    fake_api.script([{"tool_use": TOOL, "usage": STEP_ONE},
                     {"text": "ANSWER-ONE", "usage": STEP_TWO},
                     {"text": "ANSWER-TWO", "usage": {"input_tokens": 33, "output_tokens": 4}}])
    first = _call("implement-oc", cli_workdir, "PROMPT-ONE")
    assert first.result.ok, (first.result.outcome, first.result.error)
    record = first.record.to_json()
    assert record["tokens"] == _tokens(STEP_ONE, STEP_TWO)  # both steps, each once
    assert record["reported_cost"] == pytest.approx(_opencode_cost(STEP_ONE, STEP_TWO))
    assert record["cost"] > 0 and record["cost_source"] in ("computed", "reported")
    assert record["response_preview"].startswith("ANSWER-ONE")
    assert "bash" in (record.get("tools_used") or ["bash"])
    session = record["agent_session_id"]
    assert session and session.startswith("ses_") and first.action == "started"

    second = _call("implement-oc", cli_workdir, "PROMPT-TWO")
    assert second.result.ok, (second.result.outcome, second.result.error)
    assert second.action == "resumed" and second.record.agent_session_id == session
    assert second.record.to_json()["tokens"] == {
        "input": 33, "output": 4, "cache_read": 0, "cache_write": 0, "reasoning": 0}
    body = fake_api.main_requests("anthropic")[-1].body
    texts = [text for _, text in DRIVERS["claude"].history(body)]
    order = [next((i for i, t in enumerate(texts) if marker in t), -1)
             for marker in ("PROMPT-ONE", "ANSWER-ONE", "PROMPT-TWO")]
    assert -1 not in order and order == sorted(order), texts  # the first exchange, in order
    assert "tool-ran" in json.dumps(body)  # with the tool's result


ERRORS: dict[str, tuple[list[dict[str, Any]], dict[str, Any], str, str]] = {
    # case: (turns, call options, outcome, a piece of the recorded error)
    # (not "prompt is too long": OpenCode reads that as a context overflow and compacts)
    "http-400": ([{"error": {"status": 400, "message": "tools.0: unknown field"}}], {},
                 "api_error", "tools.0: unknown field"),
    # OpenCode sometimes asks again after a 401 (seen on a loaded machine): every ask fails
    "http-401": ([{"error": {"status": 401}}] * 3, {}, "auth", "invalid x-api-key"),
    # OpenCode retries a 5xx up to five times (the fake asks it not to wait), then gives up;
    # on a loaded machine it was seen giving up after four
    "http-500": ([{"error": {"status": 500, "retry_after_ms": 0}}] * 6, {},
                 "api_error", "Internal server error"),
    "bad-model": ([], {"model": "anthropic/no-such-model"}, "api_error", ""),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_agent_errors_are_the_documented_failed_outcome(
    case: str,
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    turns, options, outcome, message = ERRORS[case]
    agent_env("opencode")
    fake_api.script(turns)
    call = _call(f"implement-err-{case}", cli_workdir, "do it", **options)
    record = call.record.to_json()
    assert (call.result.outcome, record["outcome"]) == (outcome, f"error:{outcome}"), record
    assert record["error"] and message in record["error"], record["error"]
    assert "\n" not in record["error"] and "\x1b" not in record["error"]
    asked = len(fake_api.main_requests("anthropic"))
    if case in ("http-401", "http-500"):  # the CLI's own retries vary; each ask got the error
        assert 1 <= asked <= len(turns) and len(fake_api.pending) == len(turns) - asked
        if case == "http-500":
            assert asked >= 5, asked  # it did retry
    else:
        assert fake_api.pending == [], "OpenCode did not make every request scripted"
    assert record["tokens"]["output"] == 0  # nothing answered, nothing billed


@pytest.mark.parametrize("finished_steps", [1, 0], ids=["after-a-step", "in-the-first-request"])
def test_sigkilled_aio_leaves_no_orphan_and_the_call_is_recovered_from_opencode_db(
    finished_steps: int,
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env("opencode")
    name = "implement-oc-killed"
    turns = [{"tool_use": TOOL, "usage": STEP_ONE}] * finished_steps + [{"hang": True}]
    fake_api.script(turns)
    aio = subprocess.Popen(
        [sys.executable, "-m", "ai_orchestrator", "run", name, "run the command",
         "--agent", "opencode", "--model", MODEL, "--timeout", str(TIMEOUT)],
        cwd=cli_workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    tree: list[int] = []
    try:
        fake_api.wait_for_requests(len(turns), timeout=TIMEOUT)  # up to the hanging one
        time.sleep(1.0)
        tree = descendants(aio.pid)
        assert tree, "the agent's process tree was not found: the test proves nothing"
        aio.kill()
        aio.wait(timeout=10)
        killed_at = time.monotonic()
        while any(pid_alive(p) for p in tree) and time.monotonic() < killed_at + 30:
            time.sleep(0.05)
        left = sorted(p for p in tree if pid_alive(p))
        took = time.monotonic() - killed_at
        assert not left and took < 20, f"{left} outlived aio ({took:.1f} s after SIGKILL)"
    finally:
        for pid in tree:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        if aio.poll() is None:
            aio.kill()

    fake_api.script([{"text": "after", "usage": {"input_tokens": 21, "output_tokens": 3}}])
    after = _call(name, cli_workdir, "after the kill")
    assert after.result.ok, (after.result.outcome, after.result.error)
    records = [r.to_json() for r in SessionStore().read_log(name).records]
    assert [r["outcome"] for r in records] == ["interrupted", "success"], records
    killed = records[0]
    assert (records[1]["tokens"]["input"], records[1]["tokens"]["output"]) == (21, 3)
    assert not (SessionStore().path_of(name) / "pending-call.json").exists()
    if not finished_steps:
        # OpenCode printed nothing before the hanging first request: no conversation id
        # reached aio and no request was answered, so the usage is unknown — never $0.
        assert killed.get("usage_unknown") is True and killed["cost_source"] == "unpriced"
        assert after.record.session_action == "started"
        return
    assert killed["tokens"] == _tokens(STEP_ONE), killed  # the finished step, exactly once
    assert killed["usage_source"] == {"kind": "opencode-db", "path": str(opencode_db())}
    assert killed["cost_source"] == "transcript" and killed["cost"] > 0
    assert after.record.session_action == "resumed"
    assert after.record.agent_session_id == killed["agent_session_id"]


def _raw_call(exe: str, env: dict[str, str], cwd: Path, prompt: str, **kw: Any) -> AgentResult:
    """One call the way aio launches it (the backend's argv and parser), without a session."""
    backend = OpenCodeBackend()
    request = AgentRequest(prompt=prompt, cwd=cwd, model=MODEL, **kw)
    inv = backend.build(request, exe)
    run = run_cli(inv.argv, env, inv.cwd, stdin=prompt, timeout=TIMEOUT)
    parser = backend.parser(request)
    for line in run.stdout.splitlines():
        parser.feed(line)
    return parser.finish(ProcessExit(run.returncode, run.stderr, 1))


def test_resuming_a_session_opencode_does_not_have_is_session_lost(
    offline_cli_factory: Callable[[str], Any], fake_api: FakeAPIServer, cli_workdir: Path
) -> None:
    argv, env = offline_cli_factory("opencode")
    lost = _raw_call(argv[0], env, cli_workdir, "again",
                     resume_id="ses_0199a2130000700080000000dead")
    assert (lost.outcome, lost.error) == ("session_lost", "Error: Session not found")
    assert fake_api.main_requests() == []


def test_a_fork_continues_a_copy_and_leaves_the_source_session_as_it_was(
    offline_cli_factory: Callable[[str], Any],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
) -> None:
    """The argv aio builds for ``AgentRequest.fork`` (``Capabilities.fork``)."""
    argv, env = offline_cli_factory("opencode")

    def call(prompt: str, **kw: Any) -> AgentResult:
        return _raw_call(argv[0], env, cli_workdir, prompt, **kw)

    fake_api.script([{"text": "SOURCE-ANSWER"}, {"text": "FORK-ANSWER"}])
    source = call("SOURCE-PROMPT")
    assert source.ok and source.session_id, source.error
    data = env.get("XDG_DATA_HOME") or str(Path(env["HOME"]) / ".local" / "share")
    db = Path(data) / "opencode" / "opencode.db"
    count = "SELECT count(*) FROM message WHERE session_id = ?"
    with sqlite3.connect(db) as conn:
        before = conn.execute(count, (source.session_id,)).fetchone()[0]
    fork = call("FORK-PROMPT", resume_id=source.session_id, fork=True)
    assert fork.ok, fork.error
    assert fork.session_id and fork.session_id != source.session_id
    sent = json.dumps(fake_api.main_requests("anthropic")[-1].body)
    assert "SOURCE-PROMPT" in sent and "SOURCE-ANSWER" in sent and "FORK-PROMPT" in sent
    with sqlite3.connect(db) as conn:
        assert conn.execute(count, (source.session_id,)).fetchone()[0] == before

"""Contract tests: aio drives the REAL Qwen Code CLI (pinned 0.24.4) offline, end to end.

Qwen Code talks to the fake Chat Completions API on 127.0.0.1 (``tests/fakeapi/openai_chat``)
through ``run_in_session`` (what ``aio run`` and the workflow use) or ``aio run`` itself:

- a new call and a resumed call: same conversation id, the server gets the earlier turns,
  each call records exactly the tokens the fake served it (the CLI's result usage is
  cumulative for the conversation) and a cost from literal published rates; a Qwen-native
  model the price data does not know is "unpriced", never $0;
- requests the stream does not show (the background memory extractor) are counted;
- a tool call writes a real file; HTTP 500 (after the CLI's own 7 attempts) and an unknown
  model (404) are ``api_error``; our timeout leaves no process behind;
- aio SIGKILLed mid-call: no process of the call outlives it, the next run records the
  killed call once, with the usage read back from the CLI's chat file, and then only its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.base import Permission
from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.store import SessionStore
from tests.contract.test_agent_lifetime_real import _tree
from tests.contract.test_qwen_raw_real import _history
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS
from tests.fakes.harness import pid_alive

pytestmark = pytest.mark.real_cli

PRICED = "gpt-4.1"  # Qwen Code runs any OpenAI-compatible model; this one has published prices
GPT_41 = {"input": 2.0, "output": 8.0, "cache_read": 0.50}  # USD per million tokens (OpenAI)


def _sent(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning}}


def _tokens(sent: dict[str, Any], reasoning: int = 0) -> dict[str, int]:
    """Our normalised tokens for ``sent`` (reasoning is not in the stream, only the files)."""
    cached = sent["prompt_tokens_details"]["cached_tokens"]
    return {"input": sent["prompt_tokens"] - cached, "output": sent["completion_tokens"],
            "cache_read": cached, "cache_write": 0, "reasoning": reasoning}


def _cost(tokens: dict[str, int]) -> float:
    return (tokens["input"] * GPT_41["input"] + tokens["output"] * GPT_41["output"]
            + tokens["cache_read"] * GPT_41["cache_read"]) / 1e6


def _options(cwd: Path, model: str = PRICED, **extra: Any) -> CallOptions:
    return CallOptions(agent="qwen", cwd=cwd, model=model, **extra)


def _texts(fake_api: FakeAPIServer, index: int = -1) -> str:
    return " ".join(t for _, t in _history(fake_api.main_requests("openai_chat")[index].body))


def test_new_then_resumed_call_exact_tokens_and_cost(
    agent_env: Callable[[str], None], fake_api: FakeAPIServer, cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env("qwen")
    first, second = _sent(12_345, 678, cached=4_000, reasoning=90), _sent(20_000, 300, 15_000)
    fake_api.script([{"text": "First answer.", "usage": first},
                     {"text": "Second answer.", "usage": second},
                     {"text": "Third answer.", "usage": _sent(50, 7)}])
    store = SessionStore()
    one = run_in_session(store, "run-qwen", "first prompt alpha", _options(cli_workdir))
    assert one.result.ok, (one.result.outcome, one.result.error)
    assert one.action == "started" and one.result.text == "First answer."
    two = run_in_session(store, "run-qwen", "second prompt beta", _options(cli_workdir))
    assert two.result.ok, (two.result.outcome, two.result.error)
    assert two.action == "resumed" and two.result.session_id == one.result.session_id
    texts = _texts(fake_api)
    assert all(t in texts for t in ("first prompt alpha", "First answer.", "second prompt beta"))

    assert one.record.tokens.to_json() == _tokens(first)
    assert two.record.tokens.to_json() == _tokens(second)  # not the conversation's total
    for run, sent in ((one, first), (two, second)):
        assert run.record.cost == pytest.approx(_cost(_tokens(sent)), abs=1e-6)
        assert run.record.cost_source == "computed" and run.record.cli_version == "0.24.4"
    assert store.load("run-qwen").summary.to_json()["tokens"]["cache_read"] == 4_000 + 15_000

    # Qwen's own models are not in the price data: recorded as unpriced, never as $0.
    three = run_in_session(store, "run-qwen", "third", _options(cli_workdir, MODELS["qwen"]))
    assert three.result.ok and three.record.tokens.to_json() == _tokens(_sent(50, 7))
    assert three.record.cost_source == "unpriced"


def test_requests_of_the_background_memory_extractor_are_counted(
    agent_env: Callable[[str], None], fake_api: FakeAPIServer, cli_workdir: Path,
    cli_home: Path, session_dir: Path,
) -> None:
    agent_env("qwen")
    settings_path = cli_home / ".qwen" / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings["memory"]["enableManagedAutoMemory"] = True  # the CLI's default
    settings_path.write_text(json.dumps(settings))
    main, side = _sent(1_000, 100, cached=200), _sent(300, 30)
    fake_api.script([{"text": "Answer.", "usage": main}, {"text": "nothing", "usage": side}])
    run = run_in_session(SessionStore(), "run-mem", "hi", _options(cli_workdir))
    assert run.result.ok, (run.result.outcome, run.result.error)
    mains = fake_api.main_requests("openai_chat")
    assert len(mains) == 2, "the extractor did not run: the test proves nothing"
    want = {k: _tokens(main)[k] + _tokens(side)[k] for k in _tokens(main)}
    assert run.record.tokens.to_json() == want


def test_tool_call_writes_a_real_file(
    agent_env: Callable[[str], None], fake_api: FakeAPIServer, cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env("qwen")
    target = cli_workdir / "hello.txt"
    fake_api.script([
        {"text": "Writing.", "tool_use": {"name": "write_file", "input": {
            "file_path": str(target), "content": "hello from qwen\n"}}},
        {"text": "Done."}])
    run = run_in_session(SessionStore(), "run-tools", "create hello.txt", _options(
        cli_workdir, permission=Permission(mode="acceptEdits")))
    assert run.result.ok, (run.result.outcome, run.result.error)
    assert target.read_text() == "hello from qwen\n"
    assert run.result.tools_used == ["write_file"] and run.result.text == "Done."


@pytest.mark.parametrize(("turns", "text"), [
    ([{"error": {"status": 500, "message": "fake-500-boom"}}] * 7,
     "[API Error: 500 fake-500-boom]"),
    ([{"error": {"status": 404, "message": "The model `nosuch` does not exist"}}],
     "[API Error: 404 The model `nosuch` does not exist]"),
], ids=["http-500", "unknown-model"])
def test_api_errors_are_failed_api_error_calls(
    turns: list[dict[str, Any]], text: str, agent_env: Callable[[str], None],
    fake_api: FakeAPIServer, cli_workdir: Path, session_dir: Path,
) -> None:
    agent_env("qwen")
    fake_api.script(turns)
    model = "nosuch" if "nosuch" in text else PRICED
    run = run_in_session(SessionStore(), "run-err", "hi", _options(cli_workdir, model))
    statuses = [r.status for r in fake_api.main_requests("openai_chat")]
    assert (run.result.outcome, run.result.error) == ("api_error", text), statuses
    assert run.record.outcome == "error:api_error" and run.result.exit_code == 1
    assert len(fake_api.main_requests("openai_chat")) == len(turns)  # 500: the CLI's retries
    assert SessionStore().load("run-err").summary.to_json()["failed_interactions"] == 1


def test_timeout_leaves_no_process_behind(
    agent_env: Callable[[str], None], fake_api: FakeAPIServer, cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env("qwen")
    fake_api.script([{"hang": True}])
    run = run_in_session(SessionStore(), "run-timeout", "hi", _options(cli_workdir, timeout=30))
    assert (run.result.outcome, run.record.outcome) == ("timeout", "timeout")
    assert fake_api.main_requests("openai_chat"), "the CLI never asked: the test proves nothing"
    left = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.readlink(f"/proc/{entry}/cwd") == str(cli_workdir):
                left.append(int(entry))
        except OSError:
            continue
    assert [p for p in left if pid_alive(p)] == []


def _aio(cwd: Path, prompt: str, *flags: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "ai_orchestrator", "run", "run-killed", prompt,
            "--agent", "qwen", "--model", PRICED, "--timeout", "180", *flags]
    return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def test_sigkilled_aio_leaves_no_process_and_the_next_run_recovers_the_usage(
    agent_env: Callable[[str], None], fake_api: FakeAPIServer, cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env("qwen")
    first, killed_usage, third = _sent(700, 9), _sent(1_500, 100, 500, 50), _sent(33, 4)
    fake_api.script([{"text": "ANSWER-ONE", "usage": first}])
    one = _aio(cli_workdir, "PROMPT-ONE")
    out, err = one.communicate(timeout=240)
    assert one.returncode == 0 and "ANSWER-ONE" in out, err

    # The killed call: a shell tool turn with known usage is answered, the next request hangs.
    tool = {"name": "run_shell_command", "input": {"command": "echo hi"}}
    fake_api.script([{"tool_use": tool, "usage": killed_usage}, {"hang": True}])
    second = _aio(cli_workdir, "PROMPT-TWO", "--permission-mode", "bypassPermissions")
    tree: set[int] = set()
    try:
        fake_api.wait_for_requests(3, timeout=180)  # first call, the tool turn, the hang
        time.sleep(1.0)  # what the CLI would have written before any kill
        tree = _tree(second.pid)
        assert tree, "the agent's process tree was not found: the test proves nothing"
        second.kill()
        killed_at = time.monotonic()
        while any(pid_alive(p) for p in tree) and time.monotonic() < killed_at + 30:
            time.sleep(0.05)
        left = sorted(p for p in tree if pid_alive(p))
        assert not left, f"{left} outlived aio ({time.monotonic() - killed_at:.1f} s)"
        second.wait(timeout=10)
    finally:
        for pid in tree:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        if second.poll() is None:
            second.kill()

    fake_api.script([{"text": "ANSWER-THREE", "usage": third}])
    three = _aio(cli_workdir, "PROMPT-THREE")
    out, err = three.communicate(timeout=240)
    assert three.returncode == 0 and "ANSWER-THREE" in out, err
    records = [r.to_json() for r in SessionStore().read_log("run-killed").records]
    assert [r["outcome"] for r in records] == ["success", "interrupted", "success"], records
    interrupted = records[1]
    # Read back from the chat file, which has the reasoning count the stream lacks.
    assert interrupted["tokens"] == _tokens(killed_usage, reasoning=50), interrupted
    assert interrupted["usage_source"]["kind"] == "qwen-chat"
    assert interrupted["cost_source"] == "transcript"
    assert interrupted["cost"] == pytest.approx(_cost(_tokens(killed_usage)), abs=1e-6)
    # The next call records only its own usage, and continues the same conversation.
    assert records[2]["tokens"] == _tokens(third)
    assert records[0]["agent_session_id"] == interrupted["agent_session_id"]
    assert records[2]["agent_session_id"] == interrupted["agent_session_id"]
    texts = _texts(fake_api)
    assert "PROMPT-ONE" in texts and "ANSWER-ONE" in texts and "PROMPT-THREE" in texts

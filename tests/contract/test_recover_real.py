"""Contract tests: a REAL agent CLI call whose aio was SIGKILLed is recorded exactly once.

For Claude Code, Gemini CLI and Codex: a call (resuming a conversation a first call started,
or starting one) gets a tool-use answer from the fake API with known usage, and its next
request is left hanging; aio and the whole agent tree are SIGKILLed while it hangs (the
lifetime watchdog does the tree on another branch). The next call on the session must record
the killed call as ``interrupted`` with exactly the tokens the fake API served it — not the
first call's again (Codex counts cumulatively per thread), not twice — and then its own
usage only.
"""

from __future__ import annotations

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
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS
from tests.fakes.harness import descendants, pid_alive

pytestmark = pytest.mark.real_cli

# Per CLI: the API the fake answers, the shell tool turn, the permission to run it (as CLI
# flags and as ``Permission``), the usage the killed call is served (native) and the
# normalised tokens that is.
CASES: dict[str, dict[str, Any]] = {
    "claude": {
        "api": "anthropic",
        "tool": {"name": "Bash", "input": {"command": "echo hi"}},
        "flags": ["--allowed-tools", "Bash"],
        "permission": Permission(allowed_tools=["Bash"]),
        "usage": {
            "input_tokens": 1000,
            "output_tokens": 200,
            "cache_read_input_tokens": 3000,
            "cache_creation_input_tokens": 400,
        },
        "tokens": {"input": 1000, "output": 200, "cache_read": 3000, "cache_write": 400,
                   "reasoning": 0},
        "first": {"input_tokens": 70, "output_tokens": 9},
        "third": {"input_tokens": 33, "output_tokens": 4},
        "third_tokens": (33, 4),
    },
    "gemini": {
        "api": "gemini",
        "tool": {"name": "run_shell_command", "input": {"command": "echo hi"}},
        "flags": ["--permission-mode", "bypassPermissions"],
        "permission": Permission(mode="bypassPermissions"),
        "usage": {
            "promptTokenCount": 1500,
            "cachedContentTokenCount": 500,
            "candidatesTokenCount": 100,
            "thoughtsTokenCount": 50,
            "totalTokenCount": 1650,
        },
        "tokens": {"input": 1000, "output": 150, "cache_read": 500, "cache_write": 0,
                   "reasoning": 50},
        "first": {"promptTokenCount": 70, "candidatesTokenCount": 9},
        "third": {"promptTokenCount": 33, "candidatesTokenCount": 4},
        "third_tokens": (33, 4),
    },
    "codex": {
        "api": "openai",
        "tool": {"name": "exec_command", "input": {"cmd": "echo hi"}},
        "flags": ["--permission-mode", "bypassPermissions"],
        "permission": Permission(mode="bypassPermissions"),
        "usage": {
            "input_tokens": 1200,
            "input_tokens_details": {"cached_tokens": 200},
            "output_tokens": 90,
            "output_tokens_details": {"reasoning_tokens": 30},
            "total_tokens": 1290,
        },
        "tokens": {"input": 1000, "output": 90, "cache_read": 200, "cache_write": 0,
                   "reasoning": 30},
        "first": {"input_tokens": 70, "output_tokens": 9},
        "third": {"input_tokens": 33, "output_tokens": 4},
        "third_tokens": (33, 4),
    },
}


def _kill_tree(aio: subprocess.Popen[bytes]) -> None:
    tree = descendants(aio.pid)
    aio.kill()
    aio.wait(timeout=10)
    groups = set()
    for pid in tree:
        try:
            groups.add(os.getpgid(pid))
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(p) for p in tree), "the agent tree survived SIGKILL"


def _kill_during_call(
    fake_api: FakeAPIServer,
    api: str,
    name: str,
    agent: str,
    cwd: Path,
    flags: list[str],
    turns: list[dict[str, Any]],
) -> list[Any]:
    """``aio run`` with ``turns`` scripted, the last one hanging; SIGKILL aio and the agent
    tree once the hanging request arrived. Returns the call's main requests, and checks the
    server answered nothing but the scripted turns before the hang."""
    fake_api.script(turns)
    main_before, all_before = len(fake_api.main_requests(api)), len(fake_api.requests)
    aio = subprocess.Popen(
        [sys.executable, "-m", "ai_orchestrator", "run", name, "run the command",
         "--agent", agent, "--model", MODELS[agent], *flags],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        fake_api.wait_for_requests(main_before + len(turns), timeout=90)  # the hanging one
        time.sleep(1.0)  # let the CLI write what it has (it would have, before any kill)
    finally:
        _kill_tree(aio)
    killed = fake_api.main_requests(api)[main_before:]
    answered = [r for r in fake_api.requests[all_before:] if r.status is not None]
    assert answered == killed[:-1] and killed[-1].status is None, "served more than scripted"
    return killed


def _call(name: str, case: dict[str, Any], agent: str, cwd: Path, prompt: str) -> Any:
    return run_in_session(
        SessionStore(),
        name,
        prompt,
        CallOptions(agent=agent, cwd=cwd, model=MODELS[agent], timeout=120,
                   permission=case["permission"]),
    )


@pytest.mark.parametrize("resumed", [True, False], ids=["resumed", "new"])
@pytest.mark.parametrize("agent", list(CASES))
def test_killed_call_is_recorded_once_with_what_the_api_served(
    agent: str,
    resumed: bool,
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    case = CASES[agent]
    agent_env(agent)
    name = f"implement-killed-{agent}"
    first = None
    if resumed:  # else the killed call starts the conversation (Codex: a thread named
        # only in its stream)
        fake_api.script([{"text": "first", "usage": case["first"]}])
        first = _call(name, case, agent, cli_workdir, "first call")
        assert first.result.ok, (first.result.outcome, first.result.error)

    killed = _kill_during_call(
        fake_api, case["api"], name, agent, cli_workdir, case["flags"],
        [{"tool_use": case["tool"], "usage": case["usage"]}, {"hang": True}],
    )
    assert len(killed) == 2

    fake_api.script([{"text": "third", "usage": case["third"]}])
    third = _call(name, case, agent, cli_workdir, "third call")
    assert third.result.ok, (third.result.outcome, third.result.error)
    records = [r.to_json() for r in SessionStore().read_log(name).records]
    outcomes = ["interrupted", "success"]
    assert [r["outcome"] for r in records] == (["success", *outcomes] if resumed else outcomes)
    interrupted = records[-2]
    assert interrupted["tokens"] == case["tokens"], interrupted.get("usage_source")
    assert interrupted["cost_source"] == "transcript"
    assert interrupted["cost"] > 0
    # The next call records only its own usage (Codex: diffed from the recovered total).
    assert (records[-1]["tokens"]["input"], records[-1]["tokens"]["output"]) == case["third_tokens"]
    # The next call continues the conversation the killed call was in.
    assert third.record.session_action == "resumed"
    assert third.record.agent_session_id == interrupted["agent_session_id"]
    if first is not None:
        assert interrupted["agent_session_id"] == first.record.agent_session_id


SONNET = "claude-sonnet-4-5"
HAIKU = "claude-haiku-4-5-20251001"


def test_claude_killed_call_with_a_subagent_records_both_models(
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The subagent's requests live in the transcript's subagents/ files, not the main one.
    agent_env("claude")
    monkeypatch.setenv("ANTHROPIC_DEFAULT_HAIKU_MODEL", HAIKU)
    task = {"description": "count files", "prompt": "count the files",
            "subagent_type": "general-purpose", "model": "haiku", "run_in_background": False}
    main = {"input_tokens": 900, "output_tokens": 120, "cache_read_input_tokens": 2000,
            "cache_creation_input_tokens": 300}
    sub = {"input_tokens": 400, "output_tokens": 40, "cache_read_input_tokens": 600,
           "cache_creation_input_tokens": 0}
    name = "implement-killed-subagent"
    killed = _kill_during_call(
        fake_api, "anthropic", name, "claude", cli_workdir, ["--model", SONNET],
        [{"tool_use": {"name": "Task", "input": task}, "usage": main},
         {"text": "three files", "usage": sub},
         {"hang": True}],
    )
    assert [r.body["model"] for r in killed] == [SONNET, HAIKU, SONNET]
    fake_api.script([{"text": "after"}])
    after = run_in_session(SessionStore(), name, "after",
                           CallOptions(agent="claude", cwd=cli_workdir, model=SONNET))
    assert after.result.ok, after.result.error
    interrupted = SessionStore().read_log(name).records[0].to_json()
    assert interrupted["outcome"] == "interrupted"
    per_model = interrupted["usage_by_model"]
    assert set(per_model) == {SONNET, HAIKU}
    for model, sent in ((SONNET, main), (HAIKU, sub)):
        got = per_model[model]
        assert (got["input"], got["output"], got["cache_read"], got["cache_write"]) == (
            sent["input_tokens"], sent["output_tokens"], sent["cache_read_input_tokens"],
            sent["cache_creation_input_tokens"]), model

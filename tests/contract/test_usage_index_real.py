"""Contract tests: the usage index over the REAL agent CLIs' own files (fake model API).

Each real CLI runs a conversation with a tool turn (Claude: a ``Task`` subagent on another
model) against the fake API, which sends known native usage. Then ``aio usage session
--json`` totals must equal exactly what the fake sent — with the CLI run by hand, and with
the same calls made through ``aio run`` (recorded by aio *and* in the transcript: counted
once). The real Claude CLI with ``aio hooks install`` fires the hooks and the next sync
records the session.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.store import SessionStore
from ai_orchestrator.usage import hooks
from tests.contract.raw_drivers import ClaudeDriver, CodexDriver, GeminiDriver
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import OfflineCli
from tests.fakeapi.procs import run_cli
from tests.helpers import aio_inprocess

pytestmark = pytest.mark.real_cli

SONNET = "claude-sonnet-4-5"
HAIKU = "claude-haiku-4-5-20251001"


def anthropic(i: int, o: int, read: int, w5m: int, w1h: int) -> dict[str, Any]:
    return {
        "input_tokens": i, "output_tokens": o, "cache_read_input_tokens": read,
        "cache_creation_input_tokens": w5m + w1h,
        "cache_creation": {"ephemeral_5m_input_tokens": w5m, "ephemeral_1h_input_tokens": w1h},
    }  # fmt: skip


def _session_totals(agent: str) -> dict[str, Any]:
    result = aio_inprocess("usage", "session", "--json", "--agent", agent)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    return dict(doc["totals"], sessions=len(doc["rows"]))


def _claude_turns(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAPIServer) -> dict[str, int]:
    monkeypatch.setenv("ANTHROPIC_DEFAULT_HAIKU_MODEL", HAIKU)
    sent = [anthropic(1000, 200, 3000, 400, 100), anthropic(500, 50, 700, 80, 20),
            anthropic(1200, 300, 4000, 10, 0)]  # fmt: skip
    task = {"description": "count files", "prompt": "count the files",
            "subagent_type": "general-purpose", "model": "haiku", "run_in_background": False}
    fake_api.script(
        [
            {"tool_use": {"name": "Task", "input": task}, "usage": sent[0]},
            {"text": "three files", "usage": sent[1]},
            {"text": "All done.", "usage": sent[2]},
        ]
    )
    return {
        "input": sum(u["input_tokens"] for u in sent),
        "output": sum(u["output_tokens"] for u in sent),
        "cache_read": sum(u["cache_read_input_tokens"] for u in sent),
        "cache_write": sum(u["cache_creation_input_tokens"] for u in sent),
        "requests": 3,
    }


def _check(totals: dict[str, Any], expected: dict[str, int]) -> None:
    got = {k: totals[k] for k in expected}
    assert got == expected, totals


def test_claude_by_hand_with_a_subagent(
    claude_cli: OfflineCli, fake_api: FakeAPIServer, cli_workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    expected = _claude_turns(monkeypatch, fake_api)
    argv = [*claude_cli.argv, "-p", "--output-format", "json", "--model", SONNET]
    env = {**claude_cli.env, "ANTHROPIC_DEFAULT_HAIKU_MODEL": HAIKU}
    done = run_cli(argv, env, cli_workdir, stdin="count the files", timeout=120)
    assert done.returncode == 0, done.describe()
    assert len(fake_api.main_requests("anthropic")) == 3
    totals = _session_totals("claude")
    _check(totals, expected)
    assert totals["sessions"] == 1  # the subagent's requests count for its parent session


def test_claude_through_aio_run_is_counted_once(
    agent_env: Callable[[str], None], fake_api: FakeAPIServer, cli_workdir: Path,
    session_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    agent_env("claude")
    expected = _claude_turns(monkeypatch, fake_api)
    run = run_in_session(
        SessionStore(), "implement-usage", "count",
        CallOptions(agent="claude", cwd=cli_workdir, model=SONNET, task_id="T1"),
    )  # fmt: skip
    assert run.result.ok, run.result.error
    totals = _session_totals("claude")
    _check(totals, expected)  # aio's record and the transcript: once
    by_feature = json.loads(aio_inprocess("usage", "daily", "--json", "--by", "task").out)
    assert [r["task"] for r in by_feature["rows"]] == ["usage:T1"]


def test_codex_by_hand_and_through_aio_run(
    codex_cli: OfflineCli, agent_env: Callable[[str], None], fake_api: FakeAPIServer,
    cli_workdir: Path, session_dir: Path,
) -> None:  # fmt: skip
    driver = CodexDriver()
    sent = [driver.sent_usage(1), driver.sent_usage(2)]
    fake_api.script(
        [{**driver.write_turn(cli_workdir / "a.txt", "hello"), "usage": sent[0]},
         {"text": "written", "usage": sent[1]}]
    )  # fmt: skip
    done = run_cli([*codex_cli.argv, *driver.first_args(write=True), "-"], codex_cli.env,
                   cli_workdir, stdin="write a.txt", timeout=120)  # fmt: skip
    assert done.returncode == 0, done.describe()
    expected = {
        "input": sum(u["input_tokens"] - u["input_tokens_details"]["cached_tokens"] for u in sent),
        "cache_read": sum(u["input_tokens_details"]["cached_tokens"] for u in sent),
        "output": sum(u["output_tokens"] for u in sent),
        "reasoning": sum(u["output_tokens_details"]["reasoning_tokens"] for u in sent),
        "requests": 2,
    }
    _check(_session_totals("codex"), expected)
    # the same again through aio run: the totals double, never triple
    agent_env("codex")
    fake_api.script([{"text": "again", "usage": sent[0]}])
    run = run_in_session(SessionStore(), "run-codex", "again",
                         CallOptions(agent="codex", cwd=cli_workdir))  # fmt: skip
    assert run.result.ok, run.result.error
    first = sent[0]
    expected["input"] += first["input_tokens"] - first["input_tokens_details"]["cached_tokens"]
    expected["cache_read"] += first["input_tokens_details"]["cached_tokens"]
    expected["output"] += first["output_tokens"]
    expected["reasoning"] += first["output_tokens_details"]["reasoning_tokens"]
    expected["requests"] += 1
    _check(_session_totals("codex"), expected)


def test_gemini_by_hand_with_a_tool_turn_and_through_aio_run(
    gemini_cli: OfflineCli, agent_env: Callable[[str], None], fake_api: FakeAPIServer,
    cli_workdir: Path, session_dir: Path,
) -> None:  # fmt: skip
    driver = GeminiDriver()
    sent = [driver.sent_usage(1), driver.sent_usage(3)]
    fake_api.script(
        [{**driver.write_turn(cli_workdir / "b.txt", "hi"), "usage": sent[0]},
         {"text": "done", "usage": sent[1]}]
    )  # fmt: skip
    done = run_cli([*gemini_cli.argv, *driver.first_args(write=True)], gemini_cli.env,
                   cli_workdir, stdin="write b.txt", timeout=120)  # fmt: skip
    assert done.returncode == 0, done.describe()
    main = fake_api.main_requests("gemini")
    assert len(main) == 2
    expected = {
        "input": sum(u["promptTokenCount"] - u["cachedContentTokenCount"] for u in sent),
        "cache_read": sum(u["cachedContentTokenCount"] for u in sent),
        "output": sum(u["candidatesTokenCount"] + u["thoughtsTokenCount"] for u in sent),
        "reasoning": sum(u["thoughtsTokenCount"] for u in sent),
        "requests": 2,
    }
    _check(_session_totals("gemini"), expected)
    agent_env("gemini")  # the same again through aio run: counted once more, not twice
    fake_api.script([{"text": "again", "usage": sent[0]}])
    run = run_in_session(SessionStore(), "run-gemini", "again",
                         CallOptions(agent="gemini", cwd=cli_workdir))  # fmt: skip
    assert run.result.ok, run.result.error
    first = sent[0]
    expected["input"] += first["promptTokenCount"] - first["cachedContentTokenCount"]
    expected["cache_read"] += first["cachedContentTokenCount"]
    expected["output"] += first["candidatesTokenCount"] + first["thoughtsTokenCount"]
    expected["reasoning"] += first["thoughtsTokenCount"]
    expected["requests"] += 1
    _check(_session_totals("gemini"), expected)


def test_real_claude_fires_the_installed_hooks_and_sync_records_the_session(
    claude_cli: OfflineCli, fake_api: FakeAPIServer, cli_workdir: Path,
) -> None:
    state = hooks.install("claude", "user")
    assert state.missing == []
    fake_api.script([{"text": "hello", "usage": ClaudeDriver().sent_usage(1)}])
    argv = [*claude_cli.argv, "-p", "--output-format", "json", "--model", SONNET]
    done = run_cli(argv, claude_cli.env, cli_workdir, stdin="hi", timeout=120)
    assert done.returncode == 0, done.describe()
    session = json.loads(done.stdout)["session_id"]
    synced = json.loads(aio_inprocess("usage", "sync", "--json").out)
    assert synced["hook_events"] >= 2  # SessionStart and Stop at least
    from ai_orchestrator.usage.sync import open_index

    conn = open_index()
    try:
        rows = conn.execute(
            "SELECT agent, transcript, events FROM hook_sessions WHERE session = ?", (session,)
        ).fetchall()
    finally:
        conn.close()
    assert len(rows) == 1 and rows[0][0] == "claude" and rows[0][1].endswith(f"{session}.jsonl")
    assert _session_totals("claude")["requests"] == 1


def test_real_gemini_fires_the_installed_hooks(
    gemini_cli: OfflineCli, fake_api: FakeAPIServer, cli_workdir: Path,
) -> None:  # fmt: skip
    assert hooks.install("gemini", "user").missing == []
    driver = GeminiDriver()
    fake_api.script([{"text": "hello", "usage": driver.sent_usage(1)}])
    done = run_cli([*gemini_cli.argv, *driver.first_args()], gemini_cli.env, cli_workdir,
                   stdin="hi", timeout=120)  # fmt: skip
    assert done.returncode == 0, done.describe()
    session = json.loads(done.stdout)["session_id"]
    synced = json.loads(aio_inprocess("usage", "sync", "--json").out)
    assert synced["hook_events"] >= 1
    from ai_orchestrator.usage.sync import open_index

    conn = open_index()
    try:
        agents = conn.execute(
            "SELECT agent FROM hook_sessions WHERE session = ?", (session,)
        ).fetchall()
    finally:
        conn.close()
    assert agents == [("gemini",)]
    assert _session_totals("gemini")["requests"] == 1


def test_real_codex_runs_the_installed_notify(
    codex_cli: OfflineCli, fake_api: FakeAPIServer, cli_workdir: Path,
) -> None:  # fmt: skip
    assert hooks.install("codex", "user").installed == ["notify"]
    driver = CodexDriver()
    fake_api.script([{"text": "hello", "usage": driver.sent_usage(1)}])
    done = run_cli([*codex_cli.argv, *driver.first_args(), "-"], codex_cli.env, cli_workdir,
                   stdin="hi", timeout=120)  # fmt: skip
    assert done.returncode == 0, done.describe()
    thread = driver.parse(done).session_id
    synced = json.loads(aio_inprocess("usage", "sync", "--json").out)
    from ai_orchestrator.usage.sync import open_index

    conn = open_index()
    try:
        agents = conn.execute(
            "SELECT agent FROM hook_sessions WHERE session = ?", (thread,)
        ).fetchall()
    finally:
        conn.close()
    assert synced["hook_events"] >= 1 and agents == [("codex",)]

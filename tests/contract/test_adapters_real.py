"""Contract tests: our adapters drive the REAL agent CLIs (pinned, from npm) offline.

Each CLI talks to the fake model API on 127.0.0.1 (``tests.fakeapi``). Through
``run_in_session`` — the same path ``aio run`` and the workflow use — we check that a new
session is resumed with the same id and the server receives the earlier turns, that the
recorded tokens equal exactly what the server sent, that a tool-use turn writes a real file,
that HTTP 500/529 become classified errors, and that a timeout leaves no process behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.base import Permission
from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.store import SessionStore
from tests.contract.raw_drivers import ClaudeDriver, CodexDriver, GeminiDriver, RawDriver
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS
from tests.fakes.harness import pid_alive

pytestmark = pytest.mark.real_cli

DRIVERS: dict[str, RawDriver] = {
    "claude": ClaudeDriver(),
    "gemini": GeminiDriver(),
    "codex": CodexDriver(),
}


def expected_tokens(name: str, sent: dict[str, Any]) -> dict[str, int]:
    """Our normalised tokens for one request whose native usage was ``sent``."""
    if name == "claude":
        return {
            "input": sent["input_tokens"],
            "output": sent["output_tokens"],
            "cache_read": sent["cache_read_input_tokens"],
            "cache_write": sent["cache_creation_input_tokens"],
            "reasoning": 0,
        }
    if name == "gemini":
        return {
            "input": sent["promptTokenCount"] - sent["cachedContentTokenCount"],
            "output": sent["candidatesTokenCount"] + sent["thoughtsTokenCount"],
            "cache_read": sent["cachedContentTokenCount"],
            "cache_write": 0,
            "reasoning": sent["thoughtsTokenCount"],
        }
    cached = sent["input_tokens_details"]["cached_tokens"]
    return {
        "input": sent["input_tokens"] - cached,
        "output": sent["output_tokens"],
        "cache_read": cached,
        "cache_write": 0,
        "reasoning": sent["output_tokens_details"]["reasoning_tokens"],
    }


def options(name: str, cwd: Path, **extra: Any) -> CallOptions:
    return CallOptions(agent=name, cwd=cwd, model=MODELS[name], **extra)


@pytest.mark.parametrize("name", ["claude", "gemini", "codex"])
def test_new_session_resumes_with_same_id_and_exact_tokens(
    name: str,
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env(name)
    driver = DRIVERS[name]
    first_usage, second_usage = driver.sent_usage(1), driver.sent_usage(2)
    fake_api.script(
        [
            {"text": "First answer from the fake.", "usage": first_usage},
            {"text": "Second answer, with context.", "usage": second_usage},
        ]
    )
    store = SessionStore()
    one = run_in_session(
        store, "implement-contract", "first prompt alpha", options(name, cli_workdir)
    )
    assert one.result.ok, (one.result.error, one.result.raw_events[-3:])
    assert one.action == "started"
    assert one.result.text.strip() == "First answer from the fake."
    two = run_in_session(
        store, "implement-contract", "second prompt beta", options(name, cli_workdir)
    )
    assert two.result.ok, two.result.error
    assert two.action == "resumed"
    assert two.result.session_id == one.result.session_id
    assert one.record.agent_session_id == two.record.agent_session_id

    # The resumed process sent the earlier turn to the server.
    mains = fake_api.main_requests(driver.api)
    history = driver.history(mains[-1].body)
    texts = " ".join(text for _role, text in history)
    assert "first prompt alpha" in texts and "First answer from the fake." in texts
    assert "second prompt beta" in texts

    # Tokens recorded per call equal exactly what the server sent for that call.
    assert one.record.tokens.to_json() == expected_tokens(name, first_usage)
    assert two.record.tokens.to_json() == expected_tokens(name, second_usage)
    summary = store.load("implement-contract").summary.to_json()
    assert summary["tokens"]["cache_read"] == (
        expected_tokens(name, first_usage)["cache_read"]
        + expected_tokens(name, second_usage)["cache_read"]
    )
    if name == "claude":
        per_model = one.record.to_json()["usage_by_model"]
        [model] = list(per_model)
        assert (
            per_model[model]["cache_write_5m"]
            == first_usage["cache_creation"]["ephemeral_5m_input_tokens"]
        )
        assert (
            per_model[model]["cache_write_1h"]
            == first_usage["cache_creation"]["ephemeral_1h_input_tokens"]
        )
        assert one.record.reported_cost is not None


@pytest.mark.parametrize("name", ["claude", "gemini", "codex"])
def test_tool_use_turn_writes_a_real_file(
    name: str,
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env(name)
    driver = DRIVERS[name]
    target = cli_workdir / "hello.txt"
    # Narration before the tool call, then the answer (gap 12: Gemini glued them together).
    write = {**driver.write_turn(target, "hello from the agent\n"), "text": "Writing."}
    fake_api.script([write, {"text": "Done."}])
    run = run_in_session(
        SessionStore(),
        "implement-tools",
        "create hello.txt",
        options(name, cli_workdir, permission=Permission(mode="acceptEdits")),
    )
    assert run.result.ok, run.result.error
    assert target.read_text() == "hello from the agent\n"
    assert run.result.tools_used
    # The answer is the final message, not every turn's narration glued together.
    assert run.result.text.strip() == "Done."


@pytest.mark.parametrize("name", ["claude", "gemini", "codex"])
@pytest.mark.parametrize("status", [500, 529])
def test_http_errors_become_classified_errors(
    name: str,
    status: int,
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env(name)
    fake_api.script([{"error": {"status": status}}] * 4)
    run = run_in_session(SessionStore(), "run-errors", "hi", options(name, cli_workdir))
    # 500 and 529 (overloaded) are server-side failures: api_error, never rate_limit (429's
    # class, the caller's own usage) — what each real CLI reports decides the text.
    assert run.result.outcome == "api_error", (run.result.outcome, run.result.error)
    assert run.record.outcome == "error:api_error"
    assert run.result.error is not None
    assert ERROR_TEXTS[name][status] in run.result.error, run.result.error
    if name == "gemini":
        assert run.result.exit_code == status % 256  # Gemini exits with the status mod 256
    assert SessionStore().load("run-errors").summary.to_json()["failed_interactions"] == 1


ERROR_TEXTS = {
    "claude": {500: "API Error: 500 Internal server error", 529: "API Error: 529 Overloaded"},
    "gemini": {500: '"code":500', 529: '"code":529'},
    "codex": {500: "currently experiencing high demand", 529: "unexpected status 529"},
}


def test_claude_resumes_from_its_own_directory_when_called_from_another(
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    tmp_path: Path,
    session_dir: Path,
) -> None:
    # Claude only finds a conversation from the cwd it was created in: a later call from
    # elsewhere must run there (and say so), and the server must get the earlier turns.
    agent_env("claude")
    fake_api.script([{"text": "First."}, {"text": "Second."}])
    store = SessionStore()
    one = run_in_session(store, "run-cwd", "first prompt gamma", options("claude", cli_workdir))
    assert one.result.ok, one.result.error
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    two = run_in_session(store, "run-cwd", "second prompt delta", options("claude", elsewhere))
    assert two.result.ok, (two.result.outcome, two.result.error)
    assert two.action == "resumed" and two.result.session_id == one.result.session_id
    assert two.record.cwd == str(cli_workdir)
    assert any("running in" in n.text for n in two.notices)
    texts = " ".join(
        t for _r, t in DRIVERS["claude"].history(fake_api.main_requests("anthropic")[-1].body)
    )
    assert "first prompt gamma" in texts and "First." in texts


def _processes_in(cwd: Path) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/cwd") != str(cwd):
                continue
        except OSError:
            continue
        if pid_alive(int(entry)):
            found.append(int(entry))
    return found


@pytest.mark.parametrize("name", ["claude", "gemini", "codex"])
def test_timeout_leaves_no_process_behind(
    name: str,
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env(name)
    fake_api.script([{"hang": True}])
    run = run_in_session(
        SessionStore(), "run-timeout", "hi", options(name, cli_workdir, timeout=4.0)
    )
    assert run.result.outcome == "timeout"
    assert run.record.outcome == "timeout"
    assert _processes_in(cli_workdir) == []

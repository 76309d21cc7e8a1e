"""Contract tests: exact tokens AND cost from the REAL agent CLIs against the fake model API.

The fake API sends known native usage; each test checks that ``run_in_session`` records
exactly those tokens and a cost equal, within $0.000001, to an independent calculation from
literal published per-million rates (never from our price code):

- Claude Code with cache reads, 5m and 1h cache writes and **two models in one call** (a
  ``Task`` subagent on haiku), and a long-context request priced per request (its own tier).
- Gemini CLI and Codex with cache reads and reasoning tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.base import Permission
from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.store import SessionStore
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS

pytestmark = pytest.mark.real_cli

# USD per million tokens, as published by Anthropic, Google and OpenAI.
SONNET_45 = {"input": 3.0, "output": 15.0, "cache_read": 0.30, "w5m": 3.75, "w1h": 6.0}
SONNET_45_LONG = {"input": 6.0, "output": 22.5, "cache_read": 0.60, "w5m": 7.50, "w1h": 12.0}
HAIKU_45 = {"input": 1.0, "output": 5.0, "cache_read": 0.10, "w5m": 1.25, "w1h": 2.0}
GEMINI_25_FLASH = {"input": 0.30, "output": 2.50, "cache_read": 0.03}
GPT_5 = {"input": 1.25, "output": 10.0, "cache_read": 0.125}

SONNET = "claude-sonnet-4-5"
HAIKU = "claude-haiku-4-5-20251001"


def anthropic(i: int, o: int, read: int, w5m: int, w1h: int) -> dict[str, Any]:
    return {
        "input_tokens": i,
        "output_tokens": o,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": w5m + w1h,
        "cache_creation": {"ephemeral_5m_input_tokens": w5m, "ephemeral_1h_input_tokens": w1h},
    }


def anthropic_cost(u: dict[str, Any], rates: dict[str, float]) -> float:
    split = u["cache_creation"]
    return (
        u["input_tokens"] * rates["input"]
        + u["output_tokens"] * rates["output"]
        + u["cache_read_input_tokens"] * rates["cache_read"]
        + split["ephemeral_5m_input_tokens"] * rates["w5m"]
        + split["ephemeral_1h_input_tokens"] * rates["w1h"]
    ) / 1e6


def test_claude_two_models_with_cache_exact_tokens_and_cost(
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    agent_env("claude")
    monkeypatch.setenv("ANTHROPIC_DEFAULT_HAIKU_MODEL", HAIKU)  # what "haiku" means to the CLI
    main_1 = anthropic(1000, 200, 3000, 400, 100)
    sub = anthropic(500, 50, 700, 80, 20)
    main_2 = anthropic(1200, 300, 4000, 10, 0)
    task = {
        "description": "count files",
        "prompt": "count the files",
        "subagent_type": "general-purpose",
        "model": "haiku",
        "run_in_background": False,  # the subagent's request comes between the two main ones
    }
    fake_api.script(
        [
            {"tool_use": {"name": "Task", "input": task}, "usage": main_1},
            {"text": "three files", "usage": sub},
            {"text": "All done.", "usage": main_2},
        ]
    )
    run = run_in_session(
        SessionStore(),
        "run-cost",
        "count",
        CallOptions(agent="claude", cwd=cli_workdir, model=SONNET),
    )
    assert run.result.ok, (run.result.error, run.result.raw_events[-2:])
    models = [r.body["model"] for r in fake_api.main_requests("anthropic")]
    assert models == [SONNET, HAIKU, SONNET]  # really two models in one call
    per_model = run.record.to_json()["usage_by_model"]
    assert set(per_model) == {SONNET, HAIKU}
    for model, sent in ((SONNET, [main_1, main_2]), (HAIKU, [sub])):
        got = per_model[model]
        assert got["input"] == sum(u["input_tokens"] for u in sent)
        assert got["output"] == sum(u["output_tokens"] for u in sent)
        assert got["cache_read"] == sum(u["cache_read_input_tokens"] for u in sent)
        w5m = sum(u["cache_creation"]["ephemeral_5m_input_tokens"] for u in sent)
        w1h = sum(u["cache_creation"]["ephemeral_1h_input_tokens"] for u in sent)
        assert (got["cache_write_5m"], got["cache_write_1h"]) == (w5m, w1h)
    sonnet_cost = anthropic_cost(main_1, SONNET_45) + anthropic_cost(main_2, SONNET_45)
    haiku_cost = anthropic_cost(sub, HAIKU_45)
    assert per_model[SONNET]["cost"] == pytest.approx(sonnet_cost, abs=1e-6)
    assert per_model[HAIKU]["cost"] == pytest.approx(haiku_cost, abs=1e-6)
    assert run.record.cost == pytest.approx(sonnet_cost + haiku_cost, abs=1e-6)
    assert run.record.cost_source == "computed"
    # The CLI prices the same tokens itself; at base rates the two must agree.
    assert run.record.reported_cost == pytest.approx(sonnet_cost + haiku_cost, abs=1e-6)


def test_claude_long_context_request_is_priced_at_its_own_tier(
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    # One request with a 262k-token prompt (long-context tier), one small one: the tier is
    # per request, not chosen from the mean prompt of the call.
    agent_env("claude")
    big = anthropic(12_000, 400, 250_000, 0, 0)
    small = anthropic(3_000, 600, 0, 0, 0)
    fake_api.script(
        [
            {"tool_use": {"name": "Bash", "input": {"command": "echo hi"}}, "usage": big},
            {"text": "Done.", "usage": small},
        ]
    )
    run = run_in_session(
        SessionStore(),
        "run-long",
        "go",
        CallOptions(
            agent="claude",
            cwd=cli_workdir,
            model=SONNET,
            permission=Permission(allowed_tools=["Bash"]),
        ),
    )
    assert run.result.ok, run.result.error
    expected = anthropic_cost(big, SONNET_45_LONG) + anthropic_cost(small, SONNET_45)
    assert run.record.cost == pytest.approx(expected, abs=1e-6)  # 0.249
    mean_based = anthropic_cost(anthropic(15_000, 1_000, 250_000, 0, 0), SONNET_45)
    assert abs(run.record.cost - mean_based) > 0.1  # the old figure (0.135) is gone
    assert "applied to 1 of 2 requests" in run.record.to_json()["usage_by_model"][SONNET]["note"]


def test_gemini_exact_tokens_and_cost(
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env("gemini")
    sent = {
        "promptTokenCount": 12_345,
        "candidatesTokenCount": 678,
        "cachedContentTokenCount": 4_000,
        "thoughtsTokenCount": 90,
        "totalTokenCount": 12_345 + 678 + 90,
    }
    fake_api.script([{"text": "Answer.", "usage": sent}])
    run = run_in_session(
        SessionStore(),
        "run-gem",
        "hi",
        CallOptions(agent="gemini", cwd=cli_workdir, model=MODELS["gemini"]),
    )
    assert run.result.ok, run.result.error
    assert run.record.tokens.to_json() == {
        "input": 12_345 - 4_000,
        "output": 678 + 90,  # thoughts are billed as output
        "cache_read": 4_000,
        "cache_write": 0,
        "reasoning": 90,
    }
    r = GEMINI_25_FLASH
    expected = ((12_345 - 4_000) * r["input"] + 768 * r["output"] + 4_000 * r["cache_read"]) / 1e6
    assert run.record.cost == pytest.approx(expected, abs=1e-6)
    assert run.record.cost_source == "computed"
    assert run.record.cli_version == "0.61.0"


def test_codex_exact_tokens_and_cost(
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env("codex")
    sent = {
        "input_tokens": 20_000,
        "input_tokens_details": {"cached_tokens": 15_000},
        "output_tokens": 900,
        "output_tokens_details": {"reasoning_tokens": 300},
    }
    fake_api.script([{"text": "Answer.", "usage": sent}])
    run = run_in_session(
        SessionStore(),
        "run-codex",
        "hi",
        CallOptions(agent="codex", cwd=cli_workdir, model="gpt-5"),
    )
    assert run.result.ok, run.result.error
    assert run.record.tokens.to_json() == {
        "input": 5_000,  # input_tokens includes the cached ones
        "output": 900,  # reasoning is part of output
        "cache_read": 15_000,
        "cache_write": 0,
        "reasoning": 300,
    }
    r = GPT_5
    expected = (5_000 * r["input"] + 900 * r["output"] + 15_000 * r["cache_read"]) / 1e6
    assert run.record.cost == pytest.approx(expected, abs=1e-6)
    assert run.record.cli_version == "0.169.0"

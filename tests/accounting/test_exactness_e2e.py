"""Exactness end to end: usage printed by each (fake) CLI → recorded tokens and cost.

The costs are checked against an independent calculation from the published per-million
rates written literally here (genai-prices 0.2.3 data), within $0.000001.
"""

from __future__ import annotations

from pathlib import Path

from tests.fakes.harness import FakeAgents

from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.store import SessionStore

TOL = 1e-6
SONNET_45 = {"input": 3.0, "output": 15.0, "cache_read": 0.30, "w5m": 3.75, "w1h": 6.0}
HAIKU_45 = {"input": 1.0, "output": 5.0, "cache_read": 0.10, "w5m": 1.25, "w1h": 2.0}
GEMINI_25_FLASH = {"input": 0.30, "output": 2.50, "cache_read": 0.03}
GPT_5 = {"input": 1.25, "output": 10.0, "cache_read": 0.125}


def cost(rates: dict[str, float], u: dict[str, int]) -> float:
    return (
        u.get("input", 0) * rates["input"]
        + u.get("output", 0) * rates["output"]
        + u.get("cache_read", 0) * rates["cache_read"]
        + u.get("cache_write_5m", 0) * rates.get("w5m", 0.0)
        + u.get("cache_write_1h", 0) * rates.get("w1h", 0.0)
    ) / 1_000_000


def test_claude_two_models_with_cache_reads_and_writes(fakes: FakeAgents, tmp_path: Path) -> None:
    sonnet = {
        "input": 2_000,
        "output": 700,
        "cache_read": 150_000,
        "cache_write_5m": 9_000,
        "cache_write_1h": 1_000,
    }
    haiku = {"input": 12_000, "output": 300, "cache_read": 4_000}
    fakes.scenario(
        [
            {
                "text": "done",
                "usage": {"claude-sonnet-4-5-20250929": sonnet, "claude-haiku-4-5-20251001": haiku},
            }
        ]
    )
    run = run_in_session(SessionStore(), "implement-x", "go", CallOptions("claude", tmp_path))
    record = run.record.to_json()
    per_model = record["usage_by_model"]
    assert set(per_model) == {"claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"}
    for model, sent in (
        ("claude-sonnet-4-5-20250929", sonnet),
        ("claude-haiku-4-5-20251001", haiku),
    ):
        for key, value in sent.items():
            assert per_model[model][key] == value, (model, key)
    assert record["tokens"] == {
        "input": 14_000,
        "output": 1_000,
        "cache_read": 154_000,
        "cache_write": 10_000,
        "reasoning": 0,
    }
    expected = cost(SONNET_45, sonnet) + cost(HAIKU_45, haiku)
    assert abs(record["cost"] - expected) <= TOL
    assert abs(per_model["claude-haiku-4-5-20251001"]["cost"] - cost(HAIKU_45, haiku)) <= TOL
    assert record["cost_source"] == "computed"
    # The CLI's own figure is kept beside ours.
    assert record["reported_cost"] is not None
    savings = (150_000 * (3.0 - 0.30) + 4_000 * (1.0 - 0.10)) / 1e6
    assert abs(record["savings"] - savings) <= TOL


def test_gemini_prompt_includes_cached_and_thoughts_are_output(
    fakes: FakeAgents, tmp_path: Path
) -> None:
    sent = {"input": 30_000, "output": 2_000, "cache_read": 50_000, "reasoning": 800}
    fakes.scenario([{"text": "ok", "usage": {"gemini-2.5-flash": sent}}])
    run = run_in_session(
        SessionStore(), "plan-x", "go", CallOptions("gemini", tmp_path, model="gemini-2.5-flash")
    )
    assert run.result.ok, run.result.error
    assert run.record.tokens.to_json() == {
        "input": 30_000,
        "output": 2_000,
        "cache_read": 50_000,
        "cache_write": 0,
        "reasoning": 800,
    }
    assert abs(run.record.cost - cost(GEMINI_25_FLASH, sent)) <= TOL


def test_codex_input_includes_cached_and_usage_is_a_delta(
    fakes: FakeAgents, tmp_path: Path
) -> None:
    first = {"input": 8_000, "output": 1_500, "cache_read": 20_000, "reasoning": 600}
    second = {"input": 500, "output": 100, "cache_read": 30_000, "reasoning": 0}
    fakes.scenario(
        [
            {"text": "a", "usage": {"gpt-5-codex": first}},
            {"text": "b", "usage": {"gpt-5-codex": second}},
        ]
    )
    store = SessionStore()
    # Codex prints no model name: it comes from our argv (or the user's config.toml).
    opts = CallOptions("codex", tmp_path, model="gpt-5-codex")
    one = run_in_session(store, "implement-x", "go", opts)
    two = run_in_session(store, "implement-x", "more", opts)
    assert abs(one.record.cost - cost(GPT_5, first)) <= TOL
    assert abs(two.record.cost - cost(GPT_5, second)) <= TOL
    assert two.record.tokens.cache_read == 30_000


def test_unknown_model_is_unpriced_never_a_silent_zero(fakes: FakeAgents, tmp_path: Path) -> None:
    fakes.scenario([{"text": "ok", "usage": {"mystery-model-9": {"input": 10, "output": 5}}}])
    run = run_in_session(
        SessionStore(), "run-x", "go", CallOptions("codex", tmp_path, model="mystery-model-9")
    )
    assert run.record.cost_source == "unpriced"
    assert run.record.to_json()["usage_by_model"]["mystery-model-9"]["priced"] is False
    summary = SessionStore().load("run-x").summary.to_json()
    assert summary["unpriced_interactions"] == 1

"""Pricing exactness against per-million rates written out literally (genai-prices 0.2.3 data).

Every expected cost is computed here from published rates, independently of genai-prices, so a
wrong token conversion, a double-billed reasoning count, a lumped cache write or a wrong tier
changes the figure by far more than the $0.000001 tolerance.
"""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.helpers import examples

from ai_orchestrator.accounting.model_names import normalize_model
from ai_orchestrator.accounting.pricing import (
    REPORTED_TOLERANCE,
    compare_reported,
    is_mismatch,
    price_usage,
)
from ai_orchestrator.accounting.rate_report import rates_for
from ai_orchestrator.core.usage import ModelUsage

TOL = 1e-6

# Published USD rates per million tokens: input, output, cache read, 5m write, 1h write.
SONNET_45 = {"input": 3.0, "output": 15.0, "cache_read": 0.30, "w5m": 3.75, "w1h": 6.0}
SONNET_45_LONG = {"input": 6.0, "output": 22.5, "cache_read": 0.60, "w5m": 7.5, "w1h": 12.0}
OPUS_48 = {"input": 5.0, "output": 25.0, "cache_read": 0.50, "w5m": 6.25, "w1h": 10.0}
HAIKU_45 = {"input": 1.0, "output": 5.0, "cache_read": 0.10, "w5m": 1.25, "w1h": 2.0}
GEMINI_25_FLASH = {"input": 0.30, "output": 2.50, "cache_read": 0.03}
GEMINI_25_PRO = {"input": 1.25, "output": 10.0, "cache_read": 0.125}
GEMINI_25_PRO_LONG = {"input": 2.50, "output": 15.0, "cache_read": 0.25}
GPT_5 = {"input": 1.25, "output": 10.0, "cache_read": 0.125}  # gpt-5-codex is priced as gpt-5
GPT_53_CODEX = {"input": 1.75, "output": 14.0, "cache_read": 0.175}


def literal(
    rates: dict[str, float],
    *,
    inp: int = 0,
    out: int = 0,
    read: int = 0,
    w5m: int = 0,
    w1h: int = 0,
) -> float:
    """Cost from literal rates; ``out`` already includes any reasoning tokens."""
    return (
        inp * rates["input"]
        + out * rates["output"]
        + read * rates["cache_read"]
        + w5m * rates.get("w5m", 0.0)
        + w1h * rates.get("w1h", 0.0)
    ) / 1_000_000


def usage(
    inp: int = 0,
    out: int = 0,
    read: int = 0,
    w5m: int = 0,
    w1h: int = 0,
    reasoning: int = 0,
    requests: int = 0,
) -> ModelUsage:
    return ModelUsage(
        input=inp,
        output=out,
        cache_read=read,
        cache_write_5m=w5m,
        cache_write_1h=w1h,
        reasoning=reasoning,
        requests=requests,
    )


# --- Claude --------------------------------------------------------------------------------


def test_claude_sonnet_45_exact_against_literal_rates() -> None:
    u = usage(inp=1234, out=5678, read=98_765, w5m=4321, w1h=2222, reasoning=1000)
    result = price_usage("claude", "claude-sonnet-4-5-20250929", u)
    expected = literal(SONNET_45, inp=1234, out=5678, read=98_765, w5m=4321, w1h=2222)
    assert result.priced and result.source == "computed"
    assert result.model_ref == "claude-sonnet-4-5" and result.provider == "anthropic"
    assert abs(result.cost - expected) <= TOL
    assert result.rates == {
        "input": 3.0,
        "output": 15.0,
        "cache_read": 0.3,
        "cache_write_5m": 3.75,
        "cache_write_1h": 6.0,
    }
    assert result.note is None


def test_reasoning_is_part_of_output_and_not_billed_twice() -> None:
    plain = price_usage("claude", "claude-sonnet-4-5", usage(inp=100, out=5000))
    thinking = price_usage("claude", "claude-sonnet-4-5", usage(inp=100, out=5000, reasoning=4000))
    assert thinking.cost == plain.cost
    assert abs(thinking.cost - literal(SONNET_45, inp=100, out=5000)) <= TOL


def test_cache_writes_5m_and_1h_are_priced_separately() -> None:
    # Opus 4.8 is flat across 1M context, so a 1M-token write stays at the base rates.
    five = price_usage("claude", "claude-opus-4-8", usage(w5m=1_000_000))
    hour = price_usage("claude", "claude-opus-4-8", usage(w1h=1_000_000))
    assert abs(five.cost - 6.25) <= TOL  # 1.25 x input
    assert abs(hour.cost - 10.00) <= TOL  # 2 x input
    both = price_usage("claude", "claude-haiku-4-5", usage(w5m=300_000, w1h=700_000))
    assert abs(both.cost - literal(HAIKU_45, w5m=300_000, w1h=700_000)) <= TOL


def test_conversion_matches_genai_prices_own_anthropic_extractor() -> None:
    """genai-prices' Usage counts the whole prompt in input_tokens; ours excludes caches."""
    import genai_prices

    response = {
        "model": "claude-sonnet-4-5",
        "usage": {
            "input_tokens": 120,
            "cache_creation_input_tokens": 15_012,
            "cache_read_input_tokens": 402_311,
            "output_tokens": 3350,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 12_000,
                "ephemeral_1h_input_tokens": 3012,
            },
        },
    }
    extracted = genai_prices.extract_usage(response, provider_id="anthropic")
    assert extracted.usage.input_tokens == 120 + 15_012 + 402_311  # total-prompt convention
    theirs = float(extracted.calc_price().total_price)
    ours = price_usage(
        "claude", "claude-sonnet-4-5", usage(inp=120, out=3350, read=402_311, w5m=12_000, w1h=3012)
    )
    assert abs(ours.cost - theirs) <= TOL
    # 417,443 prompt tokens > 200k: the whole request is at the long-context tier.
    expected = literal(SONNET_45_LONG, inp=120, out=3350, read=402_311, w5m=12_000, w1h=3012)
    assert abs(ours.cost - expected) <= TOL


def test_cache_read_savings() -> None:
    result = price_usage("claude", "claude-sonnet-4-5", usage(inp=10, out=10, read=100_000))
    assert abs(result.savings - 100_000 * (3.0 - 0.30) / 1e6) <= TOL
    opus = price_usage("claude", "claude-opus-4-8", usage(read=1_000_000))
    assert abs(opus.savings - 1_000_000 * (5.0 - 0.50) / 1e6) <= TOL
    gem = price_usage("gemini", "gemini-2.5-flash", usage(read=500_000))
    assert abs(gem.savings - 500_000 * (0.30 - 0.03) / 1e6) <= TOL
    assert price_usage("claude", "claude-sonnet-4-5", usage(inp=10, out=10)).savings == 0.0


def test_model_without_cache_read_price_bills_reads_as_input_and_saves_nothing() -> None:
    result = price_usage("codex", "gpt-5-pro", usage(inp=1000, out=100, read=1_000_000))
    assert result.priced
    assert abs(result.cost - (1_001_000 * 15.0 + 100 * 120.0) / 1e6) <= TOL
    assert result.savings == 0.0
    assert result.rates["cache_read"] == 15.0
    assert result.note is not None and "cache_read" in result.note


def test_missing_anthropic_cache_prices_are_derived_from_multipliers() -> None:
    # claude-2 has only input $8 / output $24 in the data.
    result = price_usage("claude", "claude-2", usage(read=1_000_000, w5m=1_000_000, w1h=1_000_000))
    assert abs(result.cost - (0.8 + 10.0 + 16.0)) <= TOL
    assert result.note is not None and "multiplier" in result.note


def test_opus_1m_suffix_and_provider_prefix() -> None:
    u = usage(inp=2000, out=3000, read=150_000, w5m=5000, w1h=1000)
    expected = literal(OPUS_48, inp=2000, out=3000, read=150_000, w5m=5000, w1h=1000)
    for name in ("claude-opus-4-8[1m]", "anthropic/claude-opus-4-8", "CLAUDE-OPUS-4-8[1M]"):
        result = price_usage("claude", name, u)
        assert result.model_ref == "claude-opus-4-8"
        assert abs(result.cost - expected) <= TOL


def test_two_models_in_one_call_are_priced_separately_and_summed_by_the_caller() -> None:
    per_model = {
        "claude-sonnet-4-5": usage(inp=500, out=2000, read=40_000, w5m=3000),
        "claude-haiku-4-5": usage(inp=900, out=150, read=2000),
    }
    total = sum(price_usage("claude", m, u).cost for m, u in per_model.items())
    expected = literal(SONNET_45, inp=500, out=2000, read=40_000, w5m=3000) + literal(
        HAIKU_45, inp=900, out=150, read=2000
    )
    assert abs(total - expected) <= TOL


# --- Gemini and Codex: usage given in our normalised form -------------------------------------


def test_gemini_semantics_exact() -> None:
    # stats: prompt 31840 (includes cached 27720), candidates 512, thoughts 100.
    u = usage(inp=31_840 - 27_720, out=512 + 100, read=27_720, reasoning=100)
    flash = price_usage("gemini", "gemini-2.5-flash", u)
    assert flash.model_ref == "gemini-2.5-flash" and flash.provider == "google"
    assert abs(flash.cost - literal(GEMINI_25_FLASH, inp=4120, out=612, read=27_720)) <= TOL
    pro = price_usage("gemini", "models/gemini-2.5-pro", u)
    assert abs(pro.cost - literal(GEMINI_25_PRO, inp=4120, out=612, read=27_720)) <= TOL
    assert pro.rates == {"input": 1.25, "output": 10.0, "cache_read": 0.125}


def test_codex_semantics_exact() -> None:
    # turn.completed: input_tokens 24763 (includes cached 24448), output 122 (reasoning 64).
    u = usage(inp=24_763 - 24_448, out=122, read=24_448, reasoning=64)
    result = price_usage("codex", "gpt-5-codex", u)
    assert result.model_ref == "gpt-5" and result.provider == "openai"
    assert abs(result.cost - literal(GPT_5, inp=315, out=122, read=24_448)) <= TOL
    newer = price_usage("codex", "gpt-5.3-codex", u)
    assert abs(newer.cost - literal(GPT_53_CODEX, inp=315, out=122, read=24_448)) <= TOL


# --- long-context tiers --------------------------------------------------------------------


def _two_requests() -> tuple[ModelUsage, ModelUsage, ModelUsage]:
    big = usage(inp=10, out=1000, read=250_000, requests=1)  # prompt 250,010 > 200k
    small = usage(inp=10, out=1000, read=50_000, requests=1)  # prompt 50,010
    total = ModelUsage()
    total.add(big)
    total.add(small)
    return big, small, total


def test_long_context_tier_applies_per_request() -> None:
    big, small, total = _two_requests()
    result = price_usage("claude", "claude-sonnet-4-5", total, requests=[big, small])
    expected = literal(SONNET_45_LONG, inp=10, out=1000, read=250_000) + literal(
        SONNET_45, inp=10, out=1000, read=50_000
    )
    assert abs(result.cost - expected) <= TOL
    assert result.note is not None and "1 of 2 requests" in result.note
    # Savings follow each request's tier too.
    assert abs(result.savings - (250_000 * (6 - 0.6) + 50_000 * (3 - 0.3)) / 1e6) <= TOL
    # The aggregate alone prices differently, whichever way it is read.
    assert abs(price_usage("claude", "claude-sonnet-4-5", total).cost - expected) > 0.01


def test_aggregate_without_requests() -> None:
    _, _, total = _two_requests()
    all_long = literal(SONNET_45_LONG, inp=20, out=2000, read=300_000)
    all_base = literal(SONNET_45, inp=20, out=2000, read=300_000)
    total.requests = 1  # one request of 300,020 prompt tokens: long-context tier
    one = price_usage("claude", "claude-sonnet-4-5", total)
    assert abs(one.cost - all_long) <= TOL
    assert one.rates["input"] == 6.0
    total.requests = 2  # two requests, mean prompt 150,010: base tier
    two = price_usage("claude", "claude-sonnet-4-5", total)
    assert abs(two.cost - all_base) <= TOL
    assert two.note is not None and "mean prompt" in two.note


def test_gemini_pro_tier_per_request() -> None:
    long_req = usage(inp=100_000, out=2000, read=150_000, requests=1)  # prompt 250k
    short_req = usage(inp=1000, out=500, read=9000, requests=1)
    total = ModelUsage()
    total.add(long_req)
    total.add(short_req)
    result = price_usage("gemini", "gemini-2.5-pro", total, requests=[long_req, short_req])
    expected = literal(GEMINI_25_PRO_LONG, inp=100_000, out=2000, read=150_000) + literal(
        GEMINI_25_PRO, inp=1000, out=500, read=9000
    )
    assert abs(result.cost - expected) <= TOL


def test_aggregate_tokens_missing_from_requests_are_priced_and_noted() -> None:
    big, _, total = _two_requests()
    result = price_usage("claude", "claude-sonnet-4-5", total, requests=[big])
    expected = literal(SONNET_45_LONG, inp=10, out=1000, read=250_000) + literal(
        SONNET_45, inp=10, out=1000, read=50_000
    )
    assert abs(result.cost - expected) <= TOL
    assert result.note is not None and "exceeds" in result.note


def test_requests_alone_with_an_empty_aggregate() -> None:
    big, small, _ = _two_requests()
    result = price_usage("claude", "claude-sonnet-4-5", ModelUsage(), requests=[big, small])
    expected = literal(SONNET_45_LONG, inp=10, out=1000, read=250_000) + literal(
        SONNET_45, inp=10, out=1000, read=50_000
    )
    assert abs(result.cost - expected) <= TOL
    assert result.note is not None and "aggregate" not in result.note


def test_historic_prices_follow_the_request_date() -> None:
    # Sonnet 4.6 had a >200k tier until 2026-03-13, then a flat price.
    u = usage(inp=1000, out=1000, read=250_000, requests=1)
    before = price_usage("claude", "claude-sonnet-4-6", u, at=datetime(2026, 2, 1, tzinfo=UTC))
    after = price_usage("claude", "claude-sonnet-4-6", u, at=datetime(2026, 4, 1, tzinfo=UTC))
    assert abs(before.cost - literal(SONNET_45_LONG, inp=1000, out=1000, read=250_000)) <= TOL
    assert abs(after.cost - literal(SONNET_45, inp=1000, out=1000, read=250_000)) <= TOL


@settings(max_examples=examples(60))
@given(st.lists(st.tuples(*(st.integers(0, 40_000) for _ in range(5))), min_size=1, max_size=4))
def test_property_cost_is_rates_times_tokens_summed_over_requests(
    rows: list[tuple[int, int, int, int, int]],
) -> None:
    reqs = [usage(inp=a, out=b, read=c, w5m=d, w1h=e, requests=1) for a, b, c, d, e in rows]
    total = ModelUsage()
    for r in reqs:
        total.add(r)
    result = price_usage("claude", "claude-sonnet-4-5", total, requests=reqs)
    expected = sum(literal(SONNET_45, inp=a, out=b, read=c, w5m=d, w1h=e) for a, b, c, d, e in rows)
    assert abs(result.cost - expected) <= TOL


# --- unpriced, names, scripted ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "model"),
    [
        ("claude", "claude-nonexistent-9"),
        ("codex", "gpt-5.4-codex"),  # not in the data; never guessed from gpt-5.4
        ("gemini", "gemma-4-31b-it"),  # known to genai-prices but without any token price
        ("scripted", "scripted-no-such-model"),
        ("opencode", "mystery-model"),
    ],
)
def test_unknown_model_is_unpriced_never_a_silent_zero(agent: str, model: str) -> None:
    result = price_usage(agent, model, usage(inp=1000, out=1000))
    assert (result.priced, result.source, result.cost) == (False, "unpriced", 0.0)
    assert result.model_ref is None and result.rates == {}
    assert result.note


def test_zero_usage_on_a_known_model_is_priced_zero() -> None:
    result = price_usage("claude", "claude-sonnet-4-5", ModelUsage())
    assert (result.priced, result.source, result.cost) == (True, "computed", 0.0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("claude-opus-4-8[1m]", "claude-opus-4-8"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4.5"),
        ("anthropic:claude-haiku-4-5", "claude-haiku-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929"),
        ("anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1-20250805"),
        ("claude-opus-4-1@20250805", "claude-opus-4-1-20250805"),
        ("models/gemini-2.5-pro", "gemini-2.5-pro"),
        ("openai/gpt-5.1-codex", "gpt-5.1-codex"),
        ("  GPT-5.3-Codex ", "gpt-5.3-codex"),
    ],
)
def test_normalize_model(raw: str, expected: str) -> None:
    assert normalize_model(raw) == expected


def test_aliases_map_to_the_newest_model_of_the_family_in_the_data() -> None:
    import re

    from genai_prices.data_snapshot import get_snapshot

    anthropic = next(p for p in get_snapshot().providers if p.id == "anthropic")
    for family in ("sonnet", "opus", "haiku"):
        versions = {}
        for m in anthropic.models:
            match = re.fullmatch(rf"claude-{family}-(\d+)(?:-(\d+))?", m.id)
            if match:
                versions[m.id] = (int(match[1]), int(match[2] or 0))
        target = normalize_model(family)
        assert target in versions
        assert versions[target] == max(versions.values())
        assert normalize_model(f"{family}[1m]") == target
    # With the genai-prices 0.2.3 data:
    assert normalize_model("sonnet") == "claude-sonnet-5-5"
    assert normalize_model("opus") == "claude-opus-5-5"
    assert normalize_model("haiku") == "claude-haiku-5-5"


def test_alias_prices_like_the_concrete_model() -> None:
    u = usage(inp=1000, out=2000, read=30_000, w5m=4000, w1h=500)
    alias = price_usage("claude", "sonnet", u)
    concrete = price_usage("claude", normalize_model("sonnet"), u)
    assert alias.priced and alias.cost == concrete.cost
    assert alias.model_ref == normalize_model("sonnet")
    # Sonnet 5.5: $2 in / $10 out / $0.10 read / $2.50 5m / $4 1h.
    sonnet_55 = {"input": 2.0, "output": 10.0, "cache_read": 0.10, "w5m": 2.5, "w1h": 4.0}
    assert (
        abs(alias.cost - literal(sonnet_55, inp=1000, out=2000, read=30_000, w5m=4000, w1h=500))
        <= TOL
    )


def test_scripted_models_are_priced_as_the_model_after_the_prefix_and_noted() -> None:
    u = usage(inp=1234, out=567, read=8900)
    scripted = price_usage("scripted", "scripted-claude-sonnet-4-5", u)
    assert scripted.priced and scripted.model_ref == "claude-sonnet-4-5"
    assert abs(scripted.cost - literal(SONNET_45, inp=1234, out=567, read=8900)) <= TOL
    assert scripted.note is not None and "scripted" in scripted.note
    alias = price_usage("scripted", "scripted-sonnet", u)
    assert alias.cost == price_usage("claude", "sonnet", u).cost
    gem = price_usage("scripted", "scripted-gemini-2.5-flash", u)
    assert gem.provider == "google"
    assert abs(gem.cost - literal(GEMINI_25_FLASH, inp=1234, out=567, read=8900)) <= TOL


# --- rates card, reported-cost comparison, import cost -------------------------------------------


def test_rates_for_shows_base_rates_tiers_and_data_version() -> None:
    card = rates_for("claude", "claude-sonnet-4-5[1m]")
    assert card.priced and card.model_ref == "claude-sonnet-4-5" and card.provider == "anthropic"
    assert card.rates == {
        "input": 3.0,
        "output": 15.0,
        "cache_read": 0.3,
        "cache_write_5m": 3.75,
        "cache_write_1h": 6.0,
    }
    assert len(card.tiers) == 1 and card.tiers[0].above == 200_000
    assert card.tiers[0].rates == {
        "input": 6.0,
        "output": 22.5,
        "cache_read": 0.6,
        "cache_write_5m": 7.5,
        "cache_write_1h": 12.0,
    }
    assert card.data_version.startswith("genai-prices ")
    gem = rates_for("gemini", "gemini-2.5-flash")
    assert gem.rates == {"input": 0.3, "output": 2.5, "cache_read": 0.03} and gem.tiers == ()
    assert rates_for(None, "gpt-5-codex").model_ref == "gpt-5"
    unknown = rates_for("codex", "no-such-model")
    assert not unknown.priced and unknown.rates == {} and unknown.note


def test_compare_reported() -> None:
    assert compare_reported(1.0, None) is None
    assert compare_reported(1.02, 1.0) == pytest.approx(0.02)
    assert compare_reported(0.98, 1.0) == pytest.approx(-0.02)
    assert compare_reported(0.0, 0.0) == 0.0
    assert compare_reported(0.5, 0.0) == math.inf
    assert REPORTED_TOLERANCE == 0.01
    assert is_mismatch(1.02, 1.0) and not is_mismatch(1.005, 1.0) and not is_mismatch(1.0, None)


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_importing_pricing_does_not_import_genai_prices() -> None:
    code = (
        "import sys, ai_orchestrator.accounting.pricing, ai_orchestrator.accounting.rate_report\n"
        "assert 'genai_prices' not in sys.modules, 'eager import'\n"
        "from ai_orchestrator.accounting.model_names import normalize_model\n"
        "normalize_model('claude-opus-4-8[1m]')\n"
        "assert 'genai_prices' not in sys.modules, 'normalize imported it'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

"""RequestPricer prices single requests exactly as price_usage does (aio run's path)."""

from __future__ import annotations

import pytest

from ai_orchestrator.accounting.pricing import price_usage
from ai_orchestrator.accounting.request_prices import RequestPricer
from ai_orchestrator.core.usage import ModelUsage

CASES = [
    ("claude", "claude-sonnet-4-5-20250929", ModelUsage(10, 200, 100, 50, 7, requests=1)),
    # above 200k prompt tokens: Sonnet 4.5's long-context tier, per request
    ("claude", "claude-sonnet-4-5-20250929", ModelUsage(5, 900, 230_000, 1000, 0, requests=1)),
    ("claude", "claude-haiku-4-5-20251001", ModelUsage(1, 2, 3, 4, 5, requests=1)),
    ("codex", "gpt-5", ModelUsage(500, 300, 2000, reasoning=100, requests=1)),
    ("gemini", "gemini-2.5-pro", ModelUsage(400, 70, 250_000, reasoning=20, requests=1)),
]


@pytest.mark.parametrize(("agent", "model", "usage"), CASES)
def test_same_cost_as_price_usage_first_and_cached(
    agent: str, model: str, usage: ModelUsage
) -> None:
    expected = price_usage(agent, model, usage)
    pricer = RequestPricer()
    first = pricer(agent, model, usage)  # through price_usage, which stores the card
    again = pricer(agent, model, usage)  # from the card
    assert expected.priced and first[1] and again[1]
    assert first[0] == pytest.approx(expected.cost, abs=1e-12)
    assert again[0] == pytest.approx(expected.cost, abs=1e-12)


def test_an_unknown_model_is_unpriced_with_the_reason() -> None:
    pricer = RequestPricer()
    for _ in range(2):
        cost, priced, note = pricer("claude", "mystery-model-9", ModelUsage(1, 1, requests=1))
        assert (cost, priced) == (0.0, False) and note

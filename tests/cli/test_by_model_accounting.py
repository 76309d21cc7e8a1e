"""End to end with the fake agent CLIs: per-model totals in ``aio session show`` carry the
savings of each model and say "unpriced" for a model without a price, never $0."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_orchestrator.accounting.pricing import price_usage
from ai_orchestrator.core.usage import ModelUsage
from tests.fakes.harness import FakeAgents, aio_run
from tests.helpers import aio_inprocess as aio

SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"


def run(tmp_path: Path, *args: str) -> None:
    proc = aio_run(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr


def test_each_models_savings_are_its_own(fakes: FakeAgents, tmp_path: Path) -> None:
    fakes.scenario(
        [
            {
                "text": "ok",
                "usage": {
                    SONNET: {"input": 100, "output": 10, "cache_read": 5000},
                    HAIKU: {"input": 50, "output": 5, "cache_read": 1000},
                },
            }
        ]
    )
    run(tmp_path, "run-x", "go")
    shown = aio("session", "show", "run-x", "--json").json()
    by_model = shown["by_model"]
    assert by_model[SONNET]["savings"] > by_model[HAIKU]["savings"] > 0
    # exactly what pricing says each model saved (not a share of the call's total)
    for model, usage in (
        (SONNET, ModelUsage(input=100, output=10, cache_read=5000)),
        (HAIKU, ModelUsage(input=50, output=5, cache_read=1000)),
    ):
        expected = price_usage("claude", model, usage).savings
        assert by_model[model]["savings"] == pytest.approx(expected)
    assert sum(b["savings"] for b in by_model.values()) == pytest.approx(shown["savings"])
    assert sum(b["cost"] for b in by_model.values()) == pytest.approx(shown["cost"])
    groups = aio("session", "stats", "--by", "model", "--json").json()["groups"]
    assert groups[SONNET]["savings"] == pytest.approx(by_model[SONNET]["savings"])


def test_an_unpriced_model_is_shown_as_unpriced(fakes: FakeAgents, tmp_path: Path) -> None:
    fakes.scenario([{"text": "ok", "usage": {"mystery-model-9": {"input": 10, "output": 5}}}])
    run(tmp_path, "run-x", "go", "--agent", "codex", "--model", "mystery-model-9")
    text = aio("session", "show", "run-x").out
    assert "mystery-model-9: 1 call, unpriced" in text
    groups = aio("session", "stats", "--by", "model", "--json").json()["groups"]
    assert groups["mystery-model-9"]["unpriced_interactions"] == 1

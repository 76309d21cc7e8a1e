"""``accounting.spend``: the one sum of a feature's spend, used by the budget and by status."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.helpers import as_record, interaction

from ai_orchestrator.accounting.spend import FeatureSpend, feature_spend
from ai_orchestrator.store import SessionStore


def test_spend_sums_every_session_of_the_feature_and_only_it(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-auth", interaction(cost=0.5)))
    store.record(as_record("implement-auth", interaction(cost=0.25)))
    store.record(as_record("implement-auth", interaction(cost=None, cost_source="unpriced")))
    store.record(as_record("implement-billing", interaction(cost=7.0)))
    spend = feature_spend(store, "auth")
    assert spend.cost == pytest.approx(0.75)
    assert spend.unpriced == 1 and spend.interactions == 3
    assert spend.tokens["cache_read"] == 3000 and set(spend.tokens) == {
        "input", "output", "cache_read", "cache_write",
    }  # fmt: skip
    assert feature_spend(store, "billing").cost == pytest.approx(7.0)


def test_a_feature_without_sessions_spends_nothing(session_dir: Path) -> None:
    spend = feature_spend(SessionStore(), "nothing")
    assert spend == FeatureSpend()
    assert isinstance(spend.cost, float) and spend.tokens["input"] == 0

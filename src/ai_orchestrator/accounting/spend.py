"""Feature spend: what a feature's agent calls cost, summed over its sessions.

A feature has one session per phase (``plan-<id>``, ``implement-<id>``, …). Its spend is the
sum over those sessions' summaries as the summary index serves them (``store.index``):
recorded cost, unpriced calls (a model without a price adds $0 to ``cost`` and is counted
here instead: never a silent $0), savings, interactions and billed tokens. This is the one
place the sum is made, for the budget checks of ``aio run`` and the workflow and for
``aio status``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ai_orchestrator.store.index import SessionRow, SummaryIndex
from ai_orchestrator.store.session_store import SessionStore
from ai_orchestrator.store.stats import BILLED_TOKEN_KEYS


@dataclass(frozen=True)
class FeatureSpend:
    """The totals of a feature's sessions (``of``); all zero for a feature with none."""

    cost: float = 0.0
    unpriced: int = 0
    savings: float = 0.0
    interactions: int = 0
    tokens: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(BILLED_TOKEN_KEYS, 0))

    @classmethod
    def of(cls, rows: Iterable[SessionRow]) -> FeatureSpend:
        """The totals over ``rows`` (the sessions of one feature), summed in their order."""
        mine = list(rows)
        tokens = dict.fromkeys(BILLED_TOKEN_KEYS, 0)
        for row in mine:
            for key in BILLED_TOKEN_KEYS:
                tokens[key] += row.tokens.get(key, 0)
        return cls(
            cost=sum((r.cost for r in mine), 0.0),
            unpriced=sum(r.unpriced for r in mine),
            savings=sum((r.savings for r in mine), 0.0),
            interactions=sum(r.interactions for r in mine),
            tokens=tokens,
        )


def feature_spend(store: SessionStore, feature_id: str) -> FeatureSpend:
    """The spend of ``feature_id`` over every readable session of it in ``store``."""
    rows, _errors = SummaryIndex(store).rows()
    return FeatureSpend.of(r for r in rows if r.feature_id == feature_id)

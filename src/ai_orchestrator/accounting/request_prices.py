"""Pricing many single requests in one process: ``RequestPricer`` (the usage index's path).

Same prices as ``pricing.price_usage`` (what ``aio run`` records): the first request of an
(agent, model) goes through ``price_usage``, which stores the model's rate card; later
requests of that model are priced from the card as rate x tokens at the request's own
long-context tier level, in floats (``price_usage`` sums the same products in ``Decimal``:
the two agree to about 1e-12 USD per request). A model without a usable card (unpriced,
not exact, or a custom price snapshot) always goes through ``price_usage``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_orchestrator.accounting import price_cards
from ai_orchestrator.accounting.pricing import RATE_KEYS, price_usage

if TYPE_CHECKING:
    from ai_orchestrator.core.usage import ModelUsage


def _plain(usage: ModelUsage) -> bool:
    u = usage
    values = (u.input, u.output, u.cache_read, u.cache_write_5m, u.cache_write_1h)
    return all(type(v) is int and v >= 0 for v in values)


_FastCard = tuple[tuple[int, ...], list[tuple[float, ...]]]  # thresholds, float rates per level


class RequestPricer:
    """``price_usage`` for many single requests in one process (the usage index prices every
    request it reads): each (agent, model) card is read once, and a usable card prices a
    request as rate x tokens at the request's own tier level (what ``price_usage`` computes
    from that card, in floats). Models without a usable card go through ``price_usage``."""

    def __init__(self) -> None:
        self._cards: dict[tuple[str, str], _FastCard | None] = {}

    def __call__(
        self,
        agent: str,
        model: str,
        usage: ModelUsage,
        *,
        provider: str | None = None,
        notional: bool = False,
    ) -> tuple[float, bool, str | None]:
        """(cost, priced, note) of one request's usage (``provider``, ``notional``: what the
        agent's backend declares, as for ``price_usage``)."""
        key = (agent, model)
        if key not in self._cards:
            first = price_usage(agent, model, usage, provider=provider, notional=notional)
            card = None if price_cards.custom_snapshot_active() else price_cards.load(agent, model)
            usable = card is not None and card.usable and card.reason is None
            self._cards[key] = None
            if usable and card is not None:
                levels = [tuple(float(r.final[k]) for k in RATE_KEYS) for r in card.levels]
                self._cards[key] = (card.thresholds, levels)
            return first.cost, first.priced, first.note
        fast = self._cards[key]
        if fast is None or not _plain(usage):
            result = price_usage(agent, model, usage, provider=provider, notional=notional)
            return result.cost, result.priced, result.note
        thresholds, levels = fast
        u = usage
        prompt = u.input + u.cache_read + u.cache_write_5m + u.cache_write_1h
        r = levels[sum(1 for limit in thresholds if prompt > limit)]
        cost = (
            u.input * r[0] + u.output * r[1] + u.cache_read * r[2]
            + u.cache_write_5m * r[3] + u.cache_write_1h * r[4]
        ) / 1e6  # fmt: skip
        return cost, True, None

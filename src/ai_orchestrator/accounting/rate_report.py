"""What ``aio prices MODEL`` shows: the rates aio prices a model with, and their source.

``rates_for(agent, model)`` gives a ``RateCard``: the per-million rates applied to each of our
token buckets (``accounting.pricing.RATE_KEYS``; Anthropic cache rates derived from its
multipliers where the data has none, and said so), the long-context tiers, the matched model
and provider, the context window and the genai-prices data version. A model the data does
not know (or knows without token prices) is ``priced=False`` with the reason in ``note``.
The figures are the same ``pricing.rates_at`` results that ``price_usage`` bills with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ai_orchestrator.accounting.model_names import resolve
from ai_orchestrator.accounting.pricing import (
    RATE_KEYS,
    data_version,
    lookup_model,
    rates_at,
    tier_thresholds,
)


@dataclass(frozen=True)
class RateTier:
    """Rates that apply to a whole request whose prompt is above ``above`` tokens."""

    above: int
    rates: dict[str, float]


@dataclass(frozen=True)
class RateCard:
    """What ``aio prices MODEL`` shows: base rates, long-context tiers and the data source."""

    query: str
    model: str  # the name looked up, after normalisation
    priced: bool
    model_ref: str | None
    model_name: str | None
    provider: str | None
    rates: dict[str, float]
    tiers: tuple[RateTier, ...]
    context_window: int | None
    data_version: str
    data_date: str | None  # genai-prices does not date its bundled data; set on auto-update
    note: str | None


def rates_for(
    agent: str | None,
    model: str,
    *,
    at: datetime | None = None,
    provider: str | None = None,
    notional: bool = False,
) -> RateCard:
    """Per-million rates, long-context tiers, matched model and data version for ``model``
    (``provider``, ``notional``: the agent's backend's declaration, ``model_names.resolve``)."""
    name, provider_id, notes = resolve(agent, model, provider=provider, notional=notional)
    zero, reason = lookup_model(name, provider_id, at)
    if zero is None or reason is not None:
        return RateCard(
            query=model,
            model=name,
            priced=False,
            model_ref=None,
            model_name=None,
            provider=provider_id,
            rates={},
            tiers=(),
            context_window=None,
            data_version=data_version(),
            data_date=None,
            note="; ".join([*notes, reason or ""]),
        )
    price = zero.model_price
    anthropic = zero.provider.id == "anthropic"
    base = rates_at(price, 0, anthropic)
    keys = [k for k in RATE_KEYS if k in base.known or k in base.derived]
    if base.derived:
        notes.append("derived from Anthropic's multipliers: " + ", ".join(sorted(base.derived)))
    tiers = tuple(
        RateTier(
            above=t, rates={k: float(rates_at(price, t + 1, anthropic).final[k]) for k in keys}
        )
        for t in tier_thresholds(price)
    )
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    return RateCard(
        query=model,
        model=name,
        priced=True,
        model_ref=zero.model.id,
        model_name=zero.model.name,
        provider=zero.provider.id,
        rates={k: float(base.final[k]) for k in keys},
        tiers=tiers,
        context_window=zero.model.context_window,
        data_version=data_version(),
        data_date=snapshot.timestamp.isoformat() if snapshot.from_auto_update else None,
        note="; ".join(notes) or None,
    )

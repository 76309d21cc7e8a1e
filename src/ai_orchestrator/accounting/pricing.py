"""Price one model's token usage with genai-prices' offline, bundled price data.

Contract
--------
``price_usage(agent, model, usage, *, requests=None, at=None) -> PriceResult``

- ``usage`` is a ``ModelUsage`` in the normalised form of ``agents.base``: ``input`` excludes
  cache reads and writes, ``cache_write_5m`` / ``cache_write_1h`` are split by TTL, ``output``
  includes reasoning (``reasoning`` is informational and is never billed a second time).
- Never a silent $0: a model genai-prices does not know, a model without token prices, or a
  missing genai-prices gives ``priced=False, source="unpriced", cost=0.0`` and a ``note``
  saying why. Otherwise ``priced=True, source="computed"`` (``"reported"`` is the caller's).
- ``agent`` picks the provider: claude→anthropic, gemini→google, codex→openai. For
  ``scripted`` (and unknown agents) the provider is inferred from the model name.
- The arithmetic is genai-prices' own ``calc_price`` (Decimal); the float is taken once, at
  the end. ``at`` is the request time (historic prices); ``None`` means now.

Conversion to genai-prices' ``Usage`` (proved against its Anthropic extractor in the tests):
genai-prices uses the "total prompt" convention, where ``input_tokens`` is the whole prompt
and the cache counts are subsets of it. So ``input_tokens = input + cache_read +
cache_write_5m + cache_write_1h``, ``cache_write_tokens = cache_write_5m + cache_write_1h``,
``cache_write_1h_tokens = cache_write_1h``. genai-prices bills 1h writes at
``cache_write_1h_mtok`` (2x input for Anthropic) and the other writes at ``cache_write_mtok``
(1.25x). Reasoning is not passed: it is already inside ``output``.

Missing cache prices: genai-prices bills a bucket with no price at its parent's rate (cache
read or write at the input rate, a 1h write at the generic write rate). For Anthropic models
we derive the missing rate from Anthropic's published multipliers instead (read 0.1x, 5m write
1.25x, 1h write 2x input). Both cases are noted when such tokens occur.

Long-context tiers are cliffs: when one request's prompt (cache included) is above the
threshold, all its tokens take the tier rates. With ``requests`` (per-request usages) each
request is priced on its own; if ``usage`` holds more tokens than the requests add up to, the
excess is priced as one more block and noted. Without ``requests`` the aggregate is priced:
as one request when ``usage.requests <= 1``, else with the tier chosen by the mean prompt per
request (pricing a 40-request session as one 4M-token prompt would double its cost); both
are noted when a tier could apply.

``PriceResult.rates`` are the per-million rates applied to each of our buckets (``input``,
``output``, ``cache_read``, ``cache_write_5m``, ``cache_write_1h``; cache keys only where the
model prices them or tokens were billed there). ``cache_write_5m`` is genai-prices'
``cache_write_mtok``, so it also prices other providers' untimed cache writes. If requests
fell in different tiers, the base tier rates are shown and the note says so. ``savings`` is
what cache reads saved against the same tokens sent uncached: ``cache_read x (input_rate -
cache_read_rate) / 1e6`` per request at that request's tier; cache-write premiums are not
subtracted.

Model names are resolved by ``accounting.model_names`` (aliases, provider prefixes, the
scripted demo models); ``accounting.rate_report`` describes the rates for ``aio prices``.

``compare_reported`` gives the signed relative difference to a CLI-reported cost; more than
``REPORTED_TOLERANCE`` (1%) is a mismatch.

Import cost: this module never imports genai-prices at import time (the first price or alias
lookup does: about 0.2-0.3 s for its import and bundled data). ``ModelUsage`` comes from
``core.usage``, imported for type checking only; any object with its token attributes will do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from ai_orchestrator.accounting import price_cards
from ai_orchestrator.accounting.model_names import resolve
from ai_orchestrator.accounting.price_cards import Card
from ai_orchestrator.accounting.price_cards import Rates as _Rates

if TYPE_CHECKING:
    from genai_prices import Usage
    from genai_prices.types import ModelInfo, ModelPrice, PriceCalculation

    from ai_orchestrator.core.usage import ModelUsage

REPORTED_TOLERANCE = 0.01
RATE_KEYS: tuple[str, ...] = price_cards.RATE_KEYS

_PRICE_KEYS = {
    "input": "input_mtok",
    "output": "output_mtok",
    "cache_read": "cache_read_mtok",
    "cache_write_5m": "cache_write_mtok",
    "cache_write_1h": "cache_write_1h_mtok",
}
_ANTHROPIC_MULTIPLIERS = {
    "cache_read": Decimal("0.1"),
    "cache_write_5m": Decimal("1.25"),
    "cache_write_1h": Decimal("2"),
}
_MTOK = Decimal(1_000_000)
_CONSISTENCY = Decimal("1e-9")
_SHARE = Decimal("1e-12")  # a token share; 1e9 tokens stay within 28 digits
NOT_INSTALLED = "genai-prices is not installed"


@dataclass(frozen=True)
class PriceResult:
    """The cost of one model's usage (see the module docstring for every field's meaning)."""

    cost: float
    priced: bool
    source: str  # "computed" | "unpriced"
    model_ref: str | None = None
    provider: str | None = None
    rates: dict[str, float] = field(default_factory=dict)
    savings: float = 0.0
    note: str | None = None


class _Tokens(NamedTuple):  # NamedTuple: ~6x cheaper to define than a dataclass
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0

    @classmethod
    def of(cls, usage: ModelUsage) -> _Tokens:
        return cls(
            usage.input, usage.output, usage.cache_read, usage.cache_write_5m, usage.cache_write_1h
        )

    @property
    def prompt(self) -> int:
        return self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h

    def get(self, key: str) -> int:
        value: int = getattr(self, key)
        return value

    def plus(self, other: _Tokens) -> _Tokens:
        return _Tokens(*(self.get(k) + other.get(k) for k in RATE_KEYS))

    def minus(self, other: _Tokens) -> _Tokens:
        return _Tokens(*(max(0, self.get(k) - other.get(k)) for k in RATE_KEYS))

    def exceeds(self, other: _Tokens) -> bool:
        return any(self.get(k) > other.get(k) for k in RATE_KEYS)

    def is_zero(self) -> bool:
        return not any(self.get(k) for k in RATE_KEYS)


class _Block(NamedTuple):
    cost: Decimal
    savings: Decimal
    rates: _Rates
    tier: int | None
    consistent: bool


def _at_rates(tokens: _Tokens, rates: Mapping[str, Decimal]) -> Decimal:
    """USD for ``tokens`` at per-million ``rates``: the rate x tokens sum."""
    return sum((tokens.get(k) * rates[k] for k in RATE_KEYS), start=Decimal(0)) / _MTOK


def _savings(tokens: _Tokens, rates: _Rates) -> Decimal:
    """What the cache reads saved against the same tokens sent uncached."""
    return tokens.cache_read * (rates.final["input"] - rates.final["cache_read"]) / _MTOK


def _genai_usage(shares: Mapping[str, int | Decimal]) -> Usage:
    """Our buckets in genai-prices' "total prompt" convention (see the module docstring)."""
    from genai_prices import Usage

    return Usage(
        input_tokens=shares["input"]
        + shares["cache_read"]
        + shares["cache_write_5m"]
        + shares["cache_write_1h"],
        cache_read_tokens=shares["cache_read"],
        cache_write_tokens=shares["cache_write_5m"] + shares["cache_write_1h"],
        cache_write_5m_tokens=shares["cache_write_5m"],
        cache_write_1h_tokens=shares["cache_write_1h"],
        output_tokens=shares["output"],
    )


# --- genai-prices access (lazy) ------------------------------------------------------------


def data_version() -> str:
    try:
        import genai_prices
    except ImportError:
        return "genai-prices (not installed)"
    return f"genai-prices {genai_prices.__version__}"


def lookup_model(
    name: str, provider_id: str | None, at: datetime | None
) -> tuple[PriceCalculation | None, str | None]:
    """The matched model as a zero-usage calculation and ``None``; else the reason it is unpriced
    (with the calculation if a model matched but has no token prices)."""
    try:
        import genai_prices
    except ImportError:
        return None, NOT_INSTALLED
    try:
        calc = genai_prices.calc_price(
            genai_prices.Usage(), name, provider_id=provider_id, genai_request_timestamp=at
        )
    except LookupError:
        where = f" for provider {provider_id}" if provider_id else ""
        return None, f"model {name!r} is not in the {data_version()} data{where}"
    price = calc.model_price
    if price.input_mtok is None or price.output_mtok is None:
        return calc, f"{data_version()} has no token prices for {calc.model.id!r}"
    return calc, None


def _at_tier(price: object, prompt: int | Decimal) -> Decimal | None:
    from genai_prices.types import TieredPrices

    if isinstance(price, TieredPrices):
        for tier in reversed(price.tiers):  # sorted ascending by genai-prices
            if prompt > tier.start:
                return tier.price
        return price.base
    return price if isinstance(price, Decimal) else None


def tier_thresholds(price: ModelPrice) -> list[int]:
    from genai_prices.types import TieredPrices

    starts: set[int] = set()
    for key in _PRICE_KEYS.values():
        value = getattr(price, key)
        if isinstance(value, TieredPrices):
            starts.update(tier.start for tier in value.tiers)
    return sorted(starts)


def rates_at(price: ModelPrice, prompt: int | Decimal, anthropic: bool) -> _Rates:
    raw = {key: _at_tier(getattr(price, pk), prompt) for key, pk in _PRICE_KEYS.items()}
    inp = raw["input"] if raw["input"] is not None else Decimal(0)
    out = raw["output"] if raw["output"] is not None else Decimal(0)
    write = raw["cache_write_5m"]
    used = {
        "input": inp,
        "output": out,
        "cache_read": raw["cache_read"] if raw["cache_read"] is not None else inp,
        "cache_write_5m": write if write is not None else inp,
        "cache_write_1h": raw["cache_write_1h"]
        if raw["cache_write_1h"] is not None
        else (write if write is not None else inp),
    }
    final = dict(used)
    derived: set[str] = set()
    if anthropic:
        for key, multiplier in _ANTHROPIC_MULTIPLIERS.items():
            if raw[key] is None:
                final[key] = inp * multiplier
                derived.add(key)
    known = frozenset(key for key, value in raw.items() if value is not None)
    return _Rates(final, used, known, frozenset(derived))


def _price_block(zero: PriceCalculation, tokens: _Tokens, n: int, at: datetime | None) -> _Block:
    """Price ``tokens`` as ``n`` equal requests (n > 1 only matters for tiered models)."""
    values = {key: tokens.get(key) for key in RATE_KEYS}
    prompt: int | Decimal = tokens.prompt
    scale = Decimal(1)
    shares: dict[str, int | Decimal] = dict(values)
    if n > 1 and tier_thresholds(zero.model_price):
        # Quantized so that genai-prices' sums of these shares are exact: unrounded thirds
        # can make cache_read + cache_write exceed input by one ulp, which it rejects.
        shares = {key: (Decimal(value) / n).quantize(_SHARE) for key, value in values.items()}
        prompt = Decimal(tokens.prompt) / n
        scale = Decimal(n)
    calc = zero.model.calc_price(_genai_usage(shares), zero.provider, genai_request_timestamp=at)
    rates = rates_at(calc.model_price, prompt, zero.provider.id == "anthropic")
    adjust = sum(
        (values[k] * (rates.final[k] - rates.used[k]) for k in RATE_KEYS), start=Decimal(0)
    )
    cost = calc.total_price * scale + adjust / _MTOK
    crossed = [t for t in tier_thresholds(calc.model_price) if prompt > t]
    return _Block(
        cost=cost,
        savings=_savings(tokens, rates),
        rates=rates,
        tier=crossed[-1] if crossed else None,
        consistent=abs(cost - _at_rates(tokens, rates.final)) <= _CONSISTENCY,
    )


# --- rate cards: the genai-prices facts price_usage needs, cached on disk -----------------------


def _daily(model: ModelInfo) -> bool:
    """True when the model's current prices cannot change within a UTC day."""
    from genai_prices.types import StartDateConstraint

    if not isinstance(model.prices, list):
        return True
    return all(
        c.constraint is None or isinstance(c.constraint, StartDateConstraint) for c in model.prices
    )


def _is_linear(
    zero: PriceCalculation, thresholds: tuple[int, ...], levels: tuple[_Rates, ...]
) -> bool:
    """True when genai-prices' total is sum(tokens x used rate) / 1e6 at every tier level.

    genai-prices' total is affine in our five token counts within a level (the tier is picked
    by the prompt), so six affinely independent probes per level pin it down: a per-request
    fee, or any unit our usage incurs besides the five token prices, makes a probe differ."""
    bounds = (0, *thresholds)
    for level, rates in enumerate(levels):
        low = bounds[level]
        high = thresholds[level] if level < len(thresholds) else low + 1_000_000
        if high - low < 2:
            return False  # no room for two distinct prompts in this level
        prompt = low + max(1, min(100_000, (high - low) // 2))
        step = max(1, min(1000, high - prompt))
        probes = [
            _Tokens(input=prompt),
            _Tokens(input=prompt + step),
            _Tokens(input=prompt, output=1000),
            _Tokens(cache_read=prompt),
            _Tokens(cache_write_5m=prompt),
            _Tokens(cache_write_1h=prompt),
        ]
        for tokens in probes:
            try:
                usage = _genai_usage(tokens._asdict())
                total = zero.model.calc_price(usage, zero.provider).total_price
            except ValueError:
                return False
            if abs(total - _at_rates(tokens, rates.used)) > _CONSISTENCY:
                return False
    return True


def _make_card(
    notes: list[str], provider_id: str | None, zero: PriceCalculation | None, reason: str | None
) -> Card:
    """The card of a model looked up for current prices (``lookup_model(..., at=None)``)."""
    if zero is None or reason is not None:
        daily = zero is None or _daily(zero.model)
        return Card(
            tuple(notes), provider_id, reason or "unpriced", None, None, False, (), (), True, daily
        )
    price = zero.model_price
    anthropic = zero.provider.id == "anthropic"
    thresholds = tuple(tier_thresholds(price))
    levels = tuple(rates_at(price, p, anthropic) for p in (0, *(t + 1 for t in thresholds)))
    return Card(
        notes=tuple(notes),
        lookup_provider=provider_id,
        reason=None,
        model_ref=zero.model.id,
        provider=zero.provider.id,
        anthropic=anthropic,
        thresholds=thresholds,
        levels=levels,
        exact=_is_linear(zero, thresholds, levels),
        daily=_daily(zero.model),
    )


def _plain_counts(usage: ModelUsage, requests: list[ModelUsage] | None) -> bool:
    """True when every token count is a non-negative int (what genai-prices never rejects)."""
    for item in (usage, *(requests or ())):
        for key in RATE_KEYS:
            value = getattr(item, key)
            if type(value) is not int or value < 0:
                return False
    return True


def _card_block(card: Card, tokens: _Tokens, n: int) -> _Block:
    """``_price_block`` from a card: the rate x tokens sum it checks genai-prices against."""
    prompt: int | Decimal = tokens.prompt
    if n > 1 and card.thresholds:
        prompt = Decimal(tokens.prompt) / n
    level = sum(1 for t in card.thresholds if prompt > t)
    rates = card.levels[level]
    return _Block(
        cost=_at_rates(tokens, rates.final),
        savings=_savings(tokens, rates),
        rates=rates,
        tier=card.thresholds[level - 1] if level else None,
        consistent=True,
    )


# --- public API ----------------------------------------------------------------------------


def _unpriced(provider: str | None, notes: list[str]) -> PriceResult:
    return PriceResult(
        cost=0.0, priced=False, source="unpriced", provider=provider, note="; ".join(notes)
    )


def _plan(
    usage: ModelUsage, requests: list[ModelUsage] | None, notes: list[str]
) -> tuple[list[tuple[_Tokens, int]], _Tokens]:
    """The blocks to price as (tokens, requests) and every token billed; notes the excess."""
    total = _Tokens.of(usage)
    if not requests:
        return [(total, max(usage.requests, 1))], total
    per_request = [_Tokens.of(r) for r in requests]
    summed = _Tokens()
    for tokens in per_request:
        summed = summed.plus(tokens)
    blocks = [(tokens, 1) for tokens in per_request]
    excess = total.minus(summed)
    if not excess.is_zero():
        blocks.append((excess, max(usage.requests - len(requests), 1)))
        notes.append(
            f"aggregate usage exceeds the {len(requests)} requests by {excess.prompt} "
            f"prompt and {excess.output} output tokens; the excess was priced as one block"
        )
    if summed.exceeds(total) and not total.is_zero():
        notes.append("per-request usage exceeds the aggregate; per-request figures used")
    return blocks, summed.plus(excess)


def _result(
    priced: list[_Block],
    blocks: list[tuple[_Tokens, int]],
    billed: _Tokens,
    *,
    per_request: bool,
    base: _Rates,
    thresholds: tuple[int, ...] | list[int],
    model_ref: str,
    provider: str,
    notes: list[str],
) -> PriceResult:
    """Sum the priced blocks; pick the rates shown and write the notes."""
    cost = sum((b.cost for b in priced), start=Decimal(0))
    savings = sum((b.savings for b in priced), start=Decimal(0))
    rates = priced[0].rates if len({b.tier for b in priced}) == 1 else base
    if thresholds:
        notes.extend(_tier_notes(priced, blocks, per_request, thresholds[0]))

    keys = [
        k
        for k in RATE_KEYS
        if k in ("input", "output") or k in rates.known or k in rates.derived or billed.get(k)
    ]
    for key in keys:
        if billed.get(key) and key in rates.derived:
            notes.append(f"no {key} price in the data: derived from Anthropic's multiplier")
        elif billed.get(key) and key not in rates.known and key not in ("input", "output"):
            notes.append(f"no {key} price in the data: billed at the parent rate (genai-prices)")
    if not all(b.consistent for b in priced):
        notes.append("genai-prices' total differs from rate x tokens (other priced units?)")

    return PriceResult(
        cost=float(cost),
        priced=True,
        source="computed",
        model_ref=model_ref,
        provider=provider,
        rates={k: float(rates.final[k]) for k in keys},
        savings=float(savings),
        note="; ".join(notes) or None,
    )


def _price_with_card(
    card: Card, usage: ModelUsage, requests: list[ModelUsage] | None
) -> PriceResult:
    notes = list(card.notes)
    if card.reason is not None or card.model_ref is None or card.provider is None:
        return _unpriced(card.lookup_provider, [*notes, card.reason or "unpriced"])
    blocks, billed = _plan(usage, requests, notes)
    return _result(
        [_card_block(card, tokens, n) for tokens, n in blocks],
        blocks,
        billed,
        per_request=bool(requests),
        base=card.levels[0],
        thresholds=card.thresholds,
        model_ref=card.model_ref,
        provider=card.provider,
        notes=notes,
    )


def price_usage(
    agent: str,
    model: str,
    usage: ModelUsage,
    *,
    requests: list[ModelUsage] | None = None,
    at: datetime | None = None,
    provider: str | None = None,
    notional: bool = False,
) -> PriceResult:
    """Price one model's usage in one agent call (contract in the module docstring);
    ``provider`` and ``notional`` are what the agent's backend declares
    (``model_names.resolve``)."""
    current = at is None and not price_cards.custom_snapshot_active()
    card = price_cards.load(agent, model) if current else None
    if card is not None and card.usable and _plain_counts(usage, requests):
        return _price_with_card(card, usage, requests)

    day = price_cards.today()  # before the lookup: see price_cards.store
    name, provider_id, notes = resolve(agent, model, provider=provider, notional=notional)
    zero, reason = lookup_model(name, provider_id, at)
    if current and card is None and reason != NOT_INSTALLED:
        price_cards.store(agent, model, _make_card(notes, provider_id, zero, reason), day)
    if zero is None or reason is not None:
        return _unpriced(provider_id, [*notes, reason or "unpriced"])

    blocks, billed = _plan(usage, requests, notes)
    try:
        priced = [_price_block(zero, tokens, n, at) for tokens, n in blocks]
    except ValueError as exc:  # genai-prices rejected the usage (e.g. negative counts)
        return _unpriced(provider_id, [*notes, f"genai-prices rejected the usage: {exc}"])
    anthropic = zero.provider.id == "anthropic"
    return _result(
        priced,
        blocks,
        billed,
        per_request=bool(requests),
        base=rates_at(zero.model_price, 0, anthropic),
        thresholds=tier_thresholds(zero.model_price),
        model_ref=zero.model.id,
        provider=zero.provider.id,
        notes=notes,
    )


def _tier_notes(
    priced: list[_Block], blocks: list[tuple[_Tokens, int]], per_request: bool, lowest: int
) -> list[str]:
    crossed = [b.tier for b in priced if b.tier is not None]
    tier = f"long-context tier (prompt > {max(crossed)})" if crossed else "base tier"
    if per_request:
        return [f"{tier} applied to {len(crossed)} of {len(priced)} requests"] if crossed else []
    tokens, n = blocks[0]
    if n > 1 and tokens.prompt > lowest:
        mean = tokens.prompt // n
        return [
            f"no per-request usage: {tier} chosen from the mean prompt ({mean}) of {n} requests"
        ]
    if crossed:
        return [f"no per-request usage: {tier} applied to the aggregate ({tokens.prompt} tokens)"]
    return []


def compare_reported(computed: float, reported: float | None) -> float | None:
    """Signed relative difference ``(computed - reported) / |reported|``; ``None`` when nothing
    was reported, ``inf`` when only the computed cost is non-zero. A magnitude above
    ``REPORTED_TOLERANCE`` is a mismatch worth flagging."""
    if reported is None:
        return None
    if reported == 0:
        return 0.0 if computed == 0 else math.copysign(math.inf, computed)
    return (computed - reported) / abs(reported)


def is_mismatch(computed: float, reported: float | None) -> bool:
    """True when a reported cost exists and differs from ``computed`` by more than 1%."""
    diff = compare_reported(computed, reported)
    return diff is not None and abs(diff) > REPORTED_TOLERANCE

"""The cost of one agent call: each model priced, whose figure it is, and the budget it ran under.

Contract
    - ``price_call(agent, usage, reported_cost, requests)`` prices each model's usage with
      ``pricing.price_usage``, given the per-request usages the backend saw (so
      long-context tiers apply per request, not to the mean). ``cost_source`` (the one
      rule, ``cost_source_of``) is ``computed`` when every model was priced, else
      ``reported`` when the CLI reported a cost, else ``unpriced`` (never a silent $0).
      The answer is a ``CallCost`` of ``ModelCost`` parts (frozen).
    - ``price_interaction(record)`` prices a recorded interaction that came without a cost
      (``aio session record``) through the same ``price_call``, from its per-model usage or
      else its ``model`` and ``tokens``; without a model it is ``reported`` or ``unpriced``.
    - ``live_cost(agent, usage)``: a running call's cost so far; ``None`` when a model
      cannot be priced.
    - ``BudgetCheck``: a feature budget as it stood when a call started; ``over(cost)``
      with float noise of summed costs not counted as an overrun.
    - ``max_budget_flag(remaining)``: what remains rounded *down* to whole micro-dollars
      (a CLI's ``--max-budget-usd``); ``None`` when less than $0.000001 remains.

The split of a *recorded* call's cost across its models, which the session summary folds,
is ``core.cost_split`` (the store folds it and may not import this room).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal
from typing import Any

from ai_orchestrator.accounting.pricing import price_usage
from ai_orchestrator.core.interaction import Interaction, ModelPart
from ai_orchestrator.core.usage import ModelUsage

OVERRUN_EPSILON = 1e-12  # float sums of recorded costs: equal is not over


@dataclass(frozen=True, slots=True)
class ModelCost:
    """One model's usage in a call, priced. ``priced``: a price was known (else ``cost``
    is not a computed figure); ``model_ref``/``note``: which price card, and why not."""

    usage: ModelUsage
    cost: float
    savings: float
    priced: bool
    model_ref: str | None = None
    note: str | None = None
    given: ModelPart | None = None  # what a caller said of this model (kept under ours)

    def part(self) -> ModelPart:
        """As a record's ``usage_by_model`` value."""
        data: dict[str, Any] = {
            **(self.given.to_json() if self.given is not None else {}),
            **self.usage.to_dict(),
            "cache_write": self.usage.cache_write,
            "cost": self.cost,
            "savings": round(self.savings, 10),  # lets by-model totals carry savings
            "priced": self.priced,
            "model_ref": self.model_ref,
            "note": self.note,
        }
        return ModelPart.from_json(data)


@dataclass(frozen=True, slots=True)
class CallCost:
    """A call's cost fields: the total (rounded), whose figure it is, the agent's own
    figure, the cache savings and each model's part."""

    cost: float
    cost_source: str
    reported_cost: float | None = None
    savings: float | None = None
    by_model: Mapping[str, ModelCost] | None = None

    def parts(self) -> dict[str, ModelPart] | None:
        """``by_model`` as a record's ``usage_by_model``."""
        if self.by_model is None:
            return None
        return {model: cost.part() for model, cost in self.by_model.items()}

    def record_fields(self) -> dict[str, Any]:
        """The cost fields as JSON, for a record given from outside (``aio session
        record``): the total and its source, and with a per-model price also the parts,
        the agent's figure and the savings."""
        if self.by_model is None:
            return {"cost": self.cost, "cost_source": self.cost_source}
        return {
            "usage_by_model": {m: part.to_json() for m, part in (self.parts() or {}).items()},
            "cost": self.cost,
            "cost_source": self.cost_source,
            "reported_cost": self.reported_cost,
            "savings": self.savings,
        }


def cost_source_of(all_priced: bool, reported: float | None) -> str:
    """Whose figure a call's cost is (see the module docstring)."""
    if all_priced:
        return "computed"
    return "reported" if reported is not None else "unpriced"


@dataclass(frozen=True, slots=True)
class Pricing:
    """What the agent's backend declares about pricing its calls (``agents`` capabilities,
    passed down by ``calls``: accounting never imports the agents)."""

    provider: str | None = None
    notional: bool = False


def price_call(
    agent: str,
    usage: Mapping[str, ModelUsage],
    reported_cost: float | None,
    requests: Mapping[str, list[ModelUsage]] | None = None,
    *,
    pricing: Pricing = Pricing(),
) -> CallCost:
    """Price a call's per-model (and per-request) usage."""
    per_model: dict[str, ModelCost] = {}
    computed = savings = 0.0
    all_priced = True
    for model, part in usage.items():
        asked = (requests or {}).get(model) or None
        price = price_usage(
            agent, model, part, requests=asked, provider=pricing.provider, notional=pricing.notional
        )
        all_priced &= price.priced
        computed += price.cost
        savings += price.savings
        per_model[model] = ModelCost(
            part, price.cost, price.savings, price.priced, price.model_ref, price.note
        )
    source = cost_source_of(all_priced, reported_cost)
    cost = reported_cost if source == "reported" and reported_cost is not None else computed
    return CallCost(
        cost=float(round(cost, 10)),
        cost_source=source,
        reported_cost=None if reported_cost is None else float(reported_cost),
        savings=float(round(savings, 10)),
        by_model=per_model,
    )


def _usage_of(part: ModelPart) -> ModelUsage:
    """A stored model part as ``ModelUsage`` (an untimed cache write is a 5m one)."""
    timed_5m, timed_1h = part.cache_write_5m or 0, part.cache_write_1h or 0
    untimed = (part.cache_write or 0) - timed_5m - timed_1h
    return ModelUsage(
        reported_cost=part.reported_cost,
        input=part.input or 0,
        output=part.output or 0,
        cache_read=part.cache_read or 0,
        cache_write_5m=timed_5m + max(0, untimed),
        cache_write_1h=timed_1h,
        reasoning=part.reasoning or 0,
        requests=part.requests or 1,
    )


def price_interaction(record: Interaction, pricing: Pricing = Pricing()) -> CallCost:
    """The cost of ``record`` (validated, without a ``cost``) priced like ``aio run``
    prices (``price_call``); what the caller said per model is kept under our figures."""
    given = record.usage_by_model
    if given:
        usage = {model: _usage_of(part) for model, part in given.items()}
    elif record.model:
        tokens = record.tokens
        whole = ModelPart(
            input=tokens.input,
            output=tokens.output,
            cache_read=tokens.cache_read,
            cache_write=tokens.cache_write,
            reasoning=tokens.reasoning,
        )
        usage = {record.model: _usage_of(whole)}
    else:
        usage = {}
    reported = record.reported_cost
    if not usage:
        return CallCost(reported if reported is not None else 0.0, cost_source_of(False, reported))
    priced = price_call(record.agent or "", usage, reported, pricing=pricing)
    if given is None:
        return priced
    by_model = priced.by_model or {}
    kept = {model: replace(cost, given=given.get(model)) for model, cost in by_model.items()}
    return replace(priced, by_model=kept)


def live_cost(
    agent: str, usage: Mapping[str, ModelUsage], pricing: Pricing = Pricing()
) -> float | None:
    """The cost of a running call's usage so far; ``None`` when a model cannot be priced."""
    total = 0.0
    for model, part in usage.items():
        price = price_usage(
            agent, model, part, provider=pricing.provider, notional=pricing.notional
        )
        if not price.priced:
            return None
        total += price.cost
    return total


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    """A feature budget as it stood when the call started."""

    budget_usd: float
    spent_before: float
    unpriced_before: int = 0  # earlier calls of the feature that could not be priced

    def over(self, cost: float) -> bool:
        return self.spent_before + cost > self.budget_usd + OVERRUN_EPSILON


def max_budget_flag(remaining: float) -> float | None:
    """``remaining`` rounded down to 6 decimals; ``None`` when that is $0."""
    micro = Decimal(repr(remaining)).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)
    return float(micro) if micro > 0 else None

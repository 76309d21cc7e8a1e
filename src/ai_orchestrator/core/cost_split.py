"""One recorded call's cost split across the models it used (``ModelShare``).

``split_by_model(record)`` is what the session summary folds into its per-model buckets
(``store.summary``) and what the team rows carry (``reported_part``). It lives in ``core``
because the store folds it and may not import ``accounting`` (the room that prices calls:
``accounting.call_cost``); it prices nothing, it only divides what the record says.

Rules
    - A call without ``usage_by_model`` is one share: its ``model`` (``unknown`` when none)
      with the whole cost, ``unpriced``/``reported`` as its ``cost_source`` says.
    - An empty ``usage_by_model`` is a call that used no model: no shares.
    - A model without a price (``priced: false``) that carries the CLI's own per-model
      figure (``reported_cost``) takes that figure, marked ``reported``.
    - When the call's cost is the CLI's reported total, what the priced models do not
      account for is split over the unpriced ones by their tokens (input, output, cache
      reads), marked ``reported``.
    - Savings per model as recorded; older records keep savings per call only, split by
      cache reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from ai_orchestrator.core.interaction import Interaction, Tokens


@dataclass(frozen=True, slots=True)
class ModelShare:
    """One model's share of a recorded call. ``reported``: ``cost`` is the agent's own
    figure, we could not compute it; ``unpriced``: no figure at all."""

    model: str
    tokens: Tokens
    cost: float
    savings: float
    unpriced: bool
    reported: bool


def _shares(total: float, weights: list[int]) -> list[float]:
    """``total`` split in proportion to ``weights`` (equally when they are all zero)."""
    whole = sum(weights)
    if whole <= 0:
        return [total / len(weights)] * len(weights)
    return [total * w / whole for w in weights]


def split_by_model(record: Interaction) -> list[ModelShare]:
    """The call's cost per model (see the module docstring)."""
    savings = float(record.savings or 0.0)
    per_model = record.usage_by_model
    if per_model is None:
        model = record.model or "unknown"
        unpriced = record.cost_source == "unpriced"
        reported = record.cost_source == "reported"
        return [ModelShare(model, record.tokens, float(record.cost), savings, unpriced, reported)]
    models: list[str] = []
    tokens: list[Tokens] = []
    costs: list[float] = []
    model_savings: list[float | None] = []
    priced: list[bool] = []
    reported_by_cli: list[bool] = []
    for model, usage in per_model.items():
        models.append(model)
        tokens.append(usage.tokens())
        known = usage.priced is not False
        cost = float(usage.cost or 0.0)
        reported_by_cli.append(not known and usage.reported_cost is not None)
        if usage.reported_cost is not None and not known:
            cost, known = float(usage.reported_cost), True  # the CLI's own per-model figure
        costs.append(cost)
        priced.append(known)
        model_savings.append(usage.savings)
    unknown = [i for i, known in enumerate(priced) if not known]
    if unknown and record.cost_source == "reported":
        known_cost = sum(c for c, p in zip(costs, priced, strict=True) if p)
        rest = max(0.0, float(record.cost) - known_cost)
        weights = [tokens[i].input + tokens[i].output + tokens[i].cache_read for i in unknown]
        for i, share in zip(unknown, _shares(rest, weights), strict=True):
            costs[i], priced[i], reported_by_cli[i] = round(share, 10), True, True
    if all(s is None for s in model_savings) and models:
        split = _shares(savings, [t.cache_read for t in tokens])
    else:
        split = [float(s or 0.0) for s in model_savings]
    return [
        ModelShare(
            models[i], tokens[i], costs[i], round(split[i], 10), not priced[i], reported_by_cli[i]
        )
        for i in range(len(models))
    ]


def reported_part(record: Interaction, shares: list[ModelShare] | None = None) -> float:
    """How much of the call's cost is the agent's own figure that we could not compute."""
    if record.cost_source != "reported":
        return 0.0
    shares = split_by_model(record) if shares is None else shares
    if not shares:
        return float(record.cost)
    return sum(share.cost for share in shares if share.reported)

"""From a normalised ``AgentResult`` to the stored interaction record: price, tokens, budget.

Contract
    - ``price_result(agent, result)`` prices each model's usage with
      ``accounting.pricing.price_usage``, passing the per-request usages the backend saw
      (``AgentResult.requests``) so long-context tiers apply per request, not to the mean.
      ``cost_source`` is ``computed`` when every model was priced, else ``reported`` when the
      CLI reported a cost, else ``unpriced`` (never a silent $0).
    - ``price_interaction(record)`` prices a recorded interaction that came without a cost
      (``aio session record``) through the same ``price_result``.
    - ``build_record(...)`` is the interaction's JSON draft (in the field order records have
      always been stored in); the caller adds its id and turns it into a typed
      ``Interaction`` with ``store.records.normalize_interaction`` before storing it; with a
      ``BudgetCheck`` it also carries ``budget_usd``, ``spent_before`` and ``over_budget``, so
      an overrun is on record, not only on stderr. A call whose agent reported no usage and
      no cost (no usage event: it crashed, was killed, or the CLI said nothing) is
      ``usage_unknown: true``, ``cost_source: unpriced`` — never a computed 0 tokens/$0 —
      unless the caller knows the usage is nothing (``usage_known``: the process never
      started, or recovery read the agent's own files). Readers show it as "unknown".
    - ``max_budget_flag(remaining)`` is what remains rounded *down* to whole micro-dollars (no
      float noise such as 0.09500000000000001 on a CLI's argv, never above the remainder);
      ``None`` when less than $0.000001 remains.

Pure functions (a feature's spend so far is ``accounting.spend``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from ai_orchestrator.agents import registry
from ai_orchestrator.agents.base import AgentResult
from ai_orchestrator.core.interaction import Interaction, Tokens
from ai_orchestrator.core.names import is_valid_id
from ai_orchestrator.core.usage import ModelUsage
from ai_orchestrator.store.records import preview

if TYPE_CHECKING:
    pass

OVERRUN_EPSILON = 1e-12  # float sums of recorded costs: equal is not over


@dataclass(frozen=True)
class BudgetCheck:
    """A feature budget as it stood when the call started."""

    budget_usd: float
    spent_before: float
    unpriced_before: int = 0  # earlier calls of the feature that could not be priced

    def over(self, cost: float) -> bool:
        return self.spent_before + cost > self.budget_usd + OVERRUN_EPSILON


def outcome_label(result: AgentResult) -> str:
    """The stored outcome: ``success``, ``timeout``, ``interrupted`` or ``error:<class>``."""
    if result.outcome in ("success", "timeout", "interrupted"):
        return result.outcome
    return f"error:{result.outcome}"


def max_budget_flag(remaining: float) -> float | None:
    """``remaining`` rounded down to 6 decimals; ``None`` when that is $0."""
    micro = Decimal(repr(remaining)).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)
    return float(micro) if micro > 0 else None


class _Declared(TypedDict):
    provider: str | None
    notional: bool


def _declared(agent: str) -> _Declared:
    """What ``agent``'s backend declares about pricing its calls (``price_usage``)."""
    caps = registry.declared(agent)
    return {"provider": caps.provider, "notional": caps.notional_cost}


def _requests_for(result: AgentResult, model: str) -> list[ModelUsage] | None:
    return result.requests.get(model) or None


def price_result(agent: str, result: AgentResult) -> dict[str, Any]:
    """Cost fields of an interaction from the result's per-model (and per-request) usage."""
    from ai_orchestrator.accounting.pricing import price_usage

    per_model: dict[str, Any] = {}
    computed = savings = 0.0
    all_priced = True
    for model, usage in result.usage.items():
        price = price_usage(
            agent, model, usage, requests=_requests_for(result, model), **_declared(agent)
        )
        all_priced &= price.priced
        computed += price.cost
        savings += price.savings
        per_model[model] = {
            **usage.to_dict(),
            "cache_write": usage.cache_write,
            "cost": price.cost,
            "savings": round(price.savings, 10),  # lets by-model totals carry savings
            "priced": price.priced,
            "model_ref": price.model_ref,
            "note": price.note,
        }
    reported = result.reported_cost
    if all_priced:
        cost, source = computed, "computed"
    elif reported is not None:
        cost, source = reported, "reported"
    else:
        cost, source = computed, "unpriced"
    return {
        "usage_by_model": per_model,
        "cost": round(cost, 10),
        "cost_source": source,
        "reported_cost": reported,
        "savings": round(savings, 10),
    }


def _usage_of(tokens: Mapping[str, Any], requests: int = 1) -> ModelUsage:
    """A stored token breakdown as ``ModelUsage`` (an untimed cache write is a 5m one)."""

    def count(key: str) -> int:
        value = tokens.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    untimed = count("cache_write") - count("cache_write_5m") - count("cache_write_1h")
    reported = tokens.get("reported_cost")
    return ModelUsage(
        reported_cost=float(reported)
        if isinstance(reported, int | float) and not isinstance(reported, bool)
        else None,
        input=count("input"),
        output=count("output"),
        cache_read=count("cache_read"),
        cache_write_5m=count("cache_write_5m") + max(0, untimed),
        cache_write_1h=count("cache_write_1h"),
        reasoning=count("reasoning"),
        requests=count("requests") or requests,
    )


def price_interaction(record: Interaction) -> dict[str, Any]:
    """Cost fields for a validated interaction that came without a ``cost`` (``aio session
    record``), priced exactly like ``aio run`` (``price_result``) from its per-model usage
    (``usage_by_model``) or else its ``model`` and ``tokens``. Without a model it is
    ``reported`` (its ``reported_cost``) or ``unpriced``: never a computed $0."""
    agent = record.agent or ""
    per_model = record.usage_by_model
    if per_model:
        usage = {model: _usage_of(part.to_json()) for model, part in per_model.items()}
    elif record.model:
        usage = {record.model: _usage_of(record.tokens.to_json())}
    else:
        usage = {}
    reported = record.reported_cost
    if not usage:
        return {
            "cost": reported if reported is not None else 0.0,
            "cost_source": "reported" if reported is not None else "unpriced",
        }
    result = AgentResult(agent=agent, outcome="success", usage=usage, reported_cost=reported)
    priced = price_result(agent, result)
    if per_model is not None:  # keep whatever else the caller said per model
        for model, given in per_model.items():
            if model in priced["usage_by_model"]:
                priced["usage_by_model"][model] = {
                    **given.to_json(),
                    **priced["usage_by_model"][model],
                }
    return priced


def live_cost(agent: str, usage: dict[str, ModelUsage]) -> float | None:
    """The cost of a running call's usage so far; ``None`` when a model cannot be priced."""
    from ai_orchestrator.accounting.pricing import price_usage

    total = 0.0
    for model, part in usage.items():
        price = price_usage(agent, model, part, **_declared(agent))
        if not price.priced:
            return None
        total += price.cost
    return total


def _tokens(total: ModelUsage) -> dict[str, int]:
    return Tokens(
        input=total.input,
        output=total.output,
        cache_read=total.cache_read,
        cache_write=total.cache_write,
        reasoning=total.reasoning,
    ).to_json()


def build_record(
    prompt: str,
    result: AgentResult,
    *,
    task_id: str | None,
    model: str | None,
    cwd: Path,
    session_id: str | None,
    action: str,
    state: dict[str, Any] | None,
    keep_raw_events: bool = True,
    budget: BudgetCheck | None = None,
    note: str | None = None,
    usage_known: bool = False,
) -> dict[str, Any]:
    """The interaction record for one call (see the module docstring)."""
    record: dict[str, Any] = {
        "task_id": task_id,
        "agent": result.agent,
        # an id the agent printed that breaks the id rule must not lose the call:
        # it is kept (redacted like any text) under agent_session_ref instead
        "agent_session_id": session_id if session_id is None or is_valid_id(session_id) else None,
        "cwd": str(cwd),
        "model": result.model or model,
        "prompt": prompt,
        "prompt_preview": preview(prompt),
        "response_preview": preview(result.text or result.error or "", 200),
        "tokens": _tokens(result.total_usage()),
        "duration_ms": result.duration_ms,
        "outcome": outcome_label(result),
        "exit_code": result.exit_code,
        "error": result.error,
        "turns": result.turns,
        "session_action": action,
        "cli_version": result.cli_version,
        "tools_used": result.tools_used,
        "todos": [{"tool": t.tool, "items": t.items, "replaces": t.replaces} for t in result.todos],
        "agent_state": state,
    }
    if session_id is not None and not is_valid_id(session_id):
        record["agent_session_ref"] = session_id
    if note:
        record["session_note"] = note
    record.update(price_result(result.agent, result))
    if not (usage_known or result.usage or result.reported_cost is not None):
        record.update(cost_source="unpriced", usage_unknown=True)
    if budget is not None:
        record["budget_usd"] = budget.budget_usd
        record["spent_before"] = round(budget.spent_before, 10)
        record["over_budget"] = budget.over(float(record["cost"]))
    if keep_raw_events:
        record["raw_events"] = result.raw_events
    return record

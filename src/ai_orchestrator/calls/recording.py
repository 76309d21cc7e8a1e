"""From a normalised ``AgentResult`` to the typed interaction record: the one conversion.

Contract
    - ``build_record(...)`` is the call's ``Interaction``, built once from the
      ``AgentResult`` (priced by ``accounting.call_cost.price_call``) and stored as it is
      (``SessionStore.record`` checks it on its attributes; it never goes through JSON on
      the way in). Its fields are written in the order records have always been stored in.
      With a ``BudgetCheck`` it also carries ``budget_usd``, ``spent_before`` and
      ``over_budget``, so an overrun is on record, not only on stderr. A call whose agent
      reported no usage and no cost (no usage event: it crashed, was killed, or the CLI said
      nothing) is ``usage_unknown: true``, ``cost_source: unpriced`` — never a computed 0
      tokens/$0 — unless the caller knows the usage is nothing (``usage_known``: the process
      never started, or recovery read the agent's own files). Readers show it as "unknown".
      ``found`` names the agent file usage was read back from (``usage_source``; a
      computed cost is then ``transcript``). ``branch``: the git branch checked out in
      the call's ``cwd`` (``infra.git_head``; absent outside a repository or detached), what
      the team database's and the usage index's branch columns show for aio's own calls.

Money (pricing, ``cost_source``, live cost, budget checks) is ``accounting.call_cost``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_orchestrator.accounting.call_cost import BudgetCheck, Pricing, price_call
from ai_orchestrator.agents import registry
from ai_orchestrator.agents.base import AgentResult
from ai_orchestrator.calls.context import compaction_record, context_size
from ai_orchestrator.core.interaction import Interaction, Tokens
from ai_orchestrator.core.names import SessionName, is_valid_id
from ai_orchestrator.core.outcomes import stored_outcome
from ai_orchestrator.infra.git_head import branch_at
from ai_orchestrator.infra.timeutil import now_iso
from ai_orchestrator.store.records import new_record_id, preview

if TYPE_CHECKING:
    from ai_orchestrator.agents.homes.agent_files import FileUsage


def outcome_label(result: AgentResult) -> str:
    """The stored outcome: ``success``, ``timeout``, ``interrupted`` or ``error:<class>``."""
    return stored_outcome(result.outcome)


def declared_pricing(agent: str | None) -> Pricing:
    """What ``agent``'s backend declares about pricing its calls (nothing, for an agent no
    backend runs: a record given from outside)."""
    caps = registry.declared(agent)
    return Pricing(provider=caps.provider, notional=caps.notional_cost)


def build_record(
    prompt: str,
    result: AgentResult,
    *,
    session: SessionName,
    record_id: str | None = None,
    timestamp: str | None = None,
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
    found: FileUsage | None = None,
    source_always: bool = False,
    escalated_from: Mapping[str, Any] | None = None,
    lineage: Mapping[str, Any] | None = None,
    compaction: Mapping[str, Any] | None = None,
) -> Interaction:
    """The interaction record for one call (see the module docstring). ``timestamp``
    (recovery: when the call started) is written before ``usage_source``, which
    ``source_always`` writes as null when nothing was read back; ``compaction``: the call
    compacted the conversation (``calls.context``)."""
    # An id the agent printed that breaks the id rule must not lose the call: it is kept
    # (redacted like any text) under agent_session_ref instead.
    valid_sid = session_id is None or is_valid_id(session_id)
    branch = branch_at(cwd)  # the team's branch column; None outside a repository
    order = [
        "task_id", "agent", "agent_session_id", "cwd", *(("branch",) if branch else ()),
        "model", "prompt", "prompt_preview", "response_preview", "tokens", "duration_ms",
        "outcome", "exit_code", "error", "turns", "session_action", "cli_version", "tools_used",
        "todos", "agent_state",
    ]  # fmt: skip
    if not valid_sid:
        order.append("agent_session_ref")
    if note:
        order.append("session_note")
    order += ["usage_by_model", "cost", "cost_source", "reported_cost", "savings"]
    priced = price_call(
        result.agent, result.usage, result.reported_cost, result.requests,
        pricing=declared_pricing(result.agent),
    )  # fmt: skip
    cost_source = priced.cost_source
    unknown = not (usage_known or result.usage or result.reported_cost is not None)
    if unknown:
        cost_source = "unpriced"
        order.append("usage_unknown")
    if budget is not None:
        order += ["budget_usd", "spent_before", "over_budget"]
    if keep_raw_events:
        order.append("raw_events")
    context = context_size(result)
    compacted = compaction_record(compaction, result, context)
    extra = (("context_tokens", context), ("compaction", compacted))
    order += [key for key, value in extra if value is not None]
    order.append("id")
    if timestamp is not None:
        order.append("timestamp")
    usage_source = None
    if found is not None:
        if cost_source == "computed":
            cost_source = "transcript"
        usage_source = {"kind": found.kind, "path": str(found.path)}
    if found is not None or source_always:
        order.append("usage_source")
    if escalated_from is not None:
        order.append("escalated_from")
    if lineage is not None:
        order.append("lineage")
    total = result.total_usage()
    return Interaction(
        session=session,
        id=record_id or new_record_id(),
        timestamp=timestamp or now_iso(),
        task_id=task_id or None,  # an empty optional id means none
        agent=result.agent,
        agent_session_id=session_id if valid_sid else None,
        cwd=str(cwd),
        branch=branch,
        model=result.model or model,
        prompt=prompt,
        prompt_preview=preview(prompt),
        response_preview=preview(result.text or result.error or "", 200),
        tokens=Tokens(
            input=total.input,
            output=total.output,
            cache_read=total.cache_read,
            cache_write=total.cache_write,
            reasoning=total.reasoning,
        ),
        duration_ms=int(result.duration_ms),
        outcome=outcome_label(result),
        exit_code=result.exit_code,
        error=result.error,
        turns=result.turns,
        session_action=action,
        cli_version=result.cli_version,
        tools_used=result.tools_used,
        todos=[{"tool": t.tool, "items": t.items, "replaces": t.replaces} for t in result.todos],
        agent_state=state,
        agent_session_ref=None if valid_sid else session_id,
        session_note=note or None,
        usage_by_model=priced.parts(),
        cost=priced.cost,
        cost_source=cost_source,
        reported_cost=priced.reported_cost,
        savings=priced.savings,
        usage_unknown=True if unknown else None,
        budget_usd=budget.budget_usd if budget is not None else None,
        spent_before=round(budget.spent_before, 10) if budget is not None else None,
        over_budget=budget.over(priced.cost) if budget is not None else None,
        raw_events=result.raw_events if keep_raw_events else None,
        usage_source=usage_source,
        escalated_from=dict(escalated_from) if escalated_from is not None else None,
        lineage=dict(lineage) if lineage is not None else None,
        context_tokens=context,
        compaction=dict(compacted) if compacted is not None else None,
        key_order=tuple(order),
    )

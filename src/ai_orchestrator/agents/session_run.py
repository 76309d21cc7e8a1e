"""One agent call inside a named session: resume, run, price, record — under the run lock.

``run_in_session`` is what ``aio run`` and every workflow phase use. Contract:

- The session's **run lock** is held for the whole call, so two runs never resume the same
  agent conversation at once (the second waits ``lock_timeout`` seconds, then
  ``SessionBusy`` names the holder). Recording uses the short write lock as usual.
- **Resume**: with sessions on, the call resumes the agent conversation stored in the
  session (same agent) from the working directory it was created in (Claude and Gemini
  only find a conversation from its own cwd). Otherwise a new conversation is started —
  with an id we mint where the CLI accepts one. ``new_session=True`` replaces a stored
  conversation explicitly; ``use_session=False`` runs a fresh conversation every time.
  The action taken is reported (``started`` / ``resumed`` / ``replaced`` / ``fresh``).
- A conversation the CLI cannot find is **never** silently replaced: the call is recorded
  with outcome ``error:session_lost`` and the stored id is kept, so the user decides
  (``--new-session``). "Already in use" for an id we minted switches to resume once.
- **Every call is recorded** — success, failure, timeout and Ctrl-C alike — with exact
  tokens per model, cost (computed from the price table; the CLI's own figure kept as
  ``reported_cost``), savings from cache reads, duration and outcome. The interaction is
  recorded before this function returns or re-raises.
- **Budget**: with ``budget_usd`` the feature's spend so far is checked before anything
  starts (``BudgetExceeded``, exit 3, no process launched); Claude gets
  ``--max-budget-usd`` set to what remains; an overrun is reported on the result.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ai_orchestrator.accounting import todos
from ai_orchestrator.agents import registry, runner
from ai_orchestrator.agents.base import (
    AgentRequest,
    AgentResult,
    Backend,
    ModelUsage,
    Permission,
    Progress,
)
from ai_orchestrator.errors import BudgetExceeded
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.locks import current_command
from ai_orchestrator.store.names import parse_session_name
from ai_orchestrator.store.records import preview

SessionAction = Literal["started", "resumed", "replaced", "fresh"]
RESUMABLE_FROM_OWN_CWD = ("claude", "gemini", "scripted")


@dataclass
class RunOptions:
    """How to run one call; ``cwd`` is the project directory the agent works in."""

    agent: str
    cwd: Path
    model: str | None = None
    use_session: bool = True
    new_session: bool = False
    timeout: float | None = None
    max_turns: int | None = None
    budget_usd: float | None = None
    permission: Permission = field(default_factory=Permission)
    task_id: str | None = None
    extra_args: Sequence[str] = ()
    lock_timeout: float = 30.0
    keep_raw_events: bool = True
    estimate_usd: float | None = None  # configured default cost estimate for session todos


@dataclass
class SessionRun:
    """What happened: the normalised result, the stored record and the session action."""

    result: AgentResult
    record: dict[str, Any]
    action: SessionAction
    spent_before: float = 0.0
    budget_usd: float | None = None

    @property
    def over_budget(self) -> bool:
        if self.budget_usd is None:
            return False
        return self.spent_before + float(self.record["cost"]) > self.budget_usd + 1e-12


def outcome_label(result: AgentResult) -> str:
    """The stored outcome: ``success``, ``timeout``, ``interrupted`` or ``error:<class>``."""
    if result.outcome in ("success", "timeout", "interrupted"):
        return result.outcome
    return f"error:{result.outcome}"


def feature_spend(store: SessionStore, feature_id: str) -> float:
    """Total recorded cost of every session of ``feature_id``."""
    from ai_orchestrator.store.index import SummaryIndex

    rows, _errors = SummaryIndex(store).rows()
    return sum(r.cost for r in rows if r.feature_id == feature_id)


def price_result(agent: str, result: AgentResult) -> dict[str, Any]:
    """Cost fields of an interaction from the result's per-model usage."""
    from ai_orchestrator.accounting.pricing import price_usage

    per_model: dict[str, Any] = {}
    computed = savings = 0.0
    all_priced = True
    for model, usage in result.usage.items():
        price = price_usage(agent, model, usage)
        all_priced &= price.priced
        computed += price.cost
        savings += price.savings
        per_model[model] = {
            **usage.to_dict(),
            "cache_write": usage.cache_write,
            "cost": price.cost,
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


def _tokens(total: ModelUsage) -> dict[str, int]:
    return {
        "input": total.input,
        "output": total.output,
        "cache_read": total.cache_read,
        "cache_write": total.cache_write,
        "reasoning": total.reasoning,
    }


def build_record(
    prompt: str,
    result: AgentResult,
    options: RunOptions,
    cwd: Path,
    session_id: str | None,
    action: SessionAction,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "task_id": options.task_id,
        "agent": result.agent,
        "agent_session_id": session_id,
        "cwd": str(cwd),
        "model": result.model or options.model,
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
        "agent_state": result.state,
    }
    record.update(price_result(result.agent, result))
    if options.keep_raw_events:
        record["raw_events"] = result.raw_events
    return record


def _plan_session(
    summary: Mapping[str, Any] | None, options: RunOptions
) -> tuple[str | None, SessionAction, Path, Mapping[str, Any]]:
    """(resume id, action, cwd, backend state) for this call."""
    stored = summary if summary and summary.get("agent") == options.agent else None
    previous = stored.get("agent_session_id") if stored else None
    if not options.use_session:
        return None, "fresh", options.cwd, {}
    if previous and not options.new_session:
        cwd = options.cwd
        if options.agent in RESUMABLE_FROM_OWN_CWD and stored and stored.get("agent_cwd"):
            cwd = Path(stored["agent_cwd"])
        return previous, "resumed", cwd, dict(stored.get("agent_state") or {}) if stored else {}
    return None, ("replaced" if previous else "started"), options.cwd, {}


def run_in_session(
    store: SessionStore,
    name: str,
    prompt: str,
    options: RunOptions,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_start: Callable[[SessionAction], None] | None = None,
) -> SessionRun:
    """Run ``prompt`` in session ``name`` (see the module docstring for the contract)."""
    session = parse_session_name(name)
    backend = registry.get_backend(options.agent)
    executable = registry.resolve_executable(options.agent)
    extra = [*registry.extra_args(options.agent), *options.extra_args]

    spent = 0.0
    remaining: float | None = None
    if options.budget_usd is not None:
        spent = feature_spend(store, session.feature_id)
        if spent >= options.budget_usd:
            raise BudgetExceeded(
                f"feature {session.feature_id} has spent ${spent:.4f} of its "
                f"${options.budget_usd:.4f} budget; no agent call was made"
            )
        remaining = options.budget_usd - spent

    lock = store.run_lock(name, timeout=options.lock_timeout, command=current_command())
    try:
        summary = store.load(name).summary if store.exists(name) else None
        resume_id, action, cwd, state = _plan_session(summary, options)
        minted = None if resume_id else str(uuid.uuid4())
        request = AgentRequest(
            prompt=prompt,
            cwd=cwd,
            resume_id=resume_id,
            new_session_id=minted,
            model=options.model,
            max_turns=options.max_turns,
            max_budget_usd=remaining,
            permission=options.permission,
            timeout=options.timeout,
            extra_args=extra,
            state=state,
        )
        if on_start is not None:
            on_start(action)
        todo_id = todos.start(
            name,
            None,
            options.task_id,
            None,
            options.agent,
            options.model,
            default_estimate=options.estimate_usd,
            store=store,
        )
        result = _execute(backend, executable, request, options, on_progress)
        if result.session_in_use and minted and not resume_id:
            # The CLI already has a conversation with the id we minted (a previous run
            # died after creating it): continue that conversation instead.
            request.resume_id, request.new_session_id = minted, None
            action = "resumed"
            result = _execute(backend, executable, request, options, on_progress)
        # The newest id the CLI printed wins. Without one, a resumed conversation keeps its
        # id (even when lost: the user decides), and a new one that never reported an id
        # is not stored, so the next call starts cleanly instead of "resuming" nothing.
        # A lost conversation keeps its stored id whatever the error output carried (the
        # CLI may print a throwaway id there), so the loss stays visible until the user
        # decides with --new-session.
        if result.outcome == "session_lost" and request.resume_id:
            session_id: str | None = request.resume_id
        else:
            session_id = result.session_id or request.resume_id
        record = build_record(prompt, result, options, cwd, session_id, action)
        stored = store.record(name, record)
        if result.ok:
            todos.end(
                todo_id,
                name,
                stored["cost"],
                stored["tokens"],
                "completed",
                stored["response_preview"],
            )
        else:
            todos.error(
                todo_id,
                name,
                f"{result.outcome}: {result.error or 'no detail'}",
                actual_cost=stored["cost"],
                tokens=stored["tokens"],
            )
    finally:
        lock.release()
    return SessionRun(result, stored, action, spent, options.budget_usd)


def _execute(
    backend: Backend,
    executable: str,
    request: AgentRequest,
    options: RunOptions,
    on_progress: Callable[[Progress], None] | None,
) -> AgentResult:
    invocation = backend.build(request, executable)
    return runner.run(
        invocation, backend.parser(request), timeout=options.timeout, on_progress=on_progress
    )

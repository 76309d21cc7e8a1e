"""Escalation: hand a phase's conversation to a stronger model or another agent, with context.

Used by ``aio escalate`` (``run_escalate``; with ``--task`` it continues the task through
``implement``) and by ``aio implement --escalate-to`` (when the fix rounds run out).

**Target** (``handover.resolve_target``): ``--to`` is an agent key (``claude``, ``gemini``,
``codex``, ``scripted``: that agent with its model for the phase) or a model, whose name picks
the agent (``opus``/``sonnet``/``haiku``/``claude-*`` → claude, ``gemini-*`` → gemini,
``gpt-*``/``o3`` … → codex; a name that says nothing about its maker stays with the current
conversation's agent). Asking for the agent and model that already hold the conversation is
refused (``InvalidInput``, exit 2), and so is an agent whose CLI is not installed, before
anything runs.

**Method** (``handover.hand_over``), decided from the conversation stored in ``<phase>-<feature>``:

- ``fork`` — same agent, and it can fork (``agents.registry.can_fork``: Claude Code's
  ``--resume ID --fork-session``): the new conversation is a copy of the whole old one under
  a new id we mint, continued with the target model.
- ``summary`` — otherwise, when there is a conversation: aio resumes it (its own agent and
  model; step ``handoff``, recorded like every call) and asks it for a hand-over summary;
  the new conversation starts from that summary.
- ``context`` — no stored conversation (nothing ran yet, sessions off), or the summary call
  failed (a warning says so; budget, timeout and Ctrl-C are not swallowed): the new
  conversation starts from what aio knows — the feature's recent history and the caller's
  context (the task, the failing test output).

The new conversation **replaces** the stored one in the phase's session (one conversation per
feature and phase: later calls of the phase resume it when they use the same agent). Nothing
is deleted: the old conversation's records stay in the session's log, and the first record of
the new one carries ``escalated_from`` (``session, agent, model, agent_session_id, method,
reason, to_agent, to_model, at``) — its lineage. The command's history event carries the same
mapping as ``details.escalation``; ``aio status`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_orchestrator.core.errors import (
    InvalidInput,
)
from ai_orchestrator.workflow.phases.handover import (
    PHASES,
    Target,
    hand_over,
    manual_reason,
    resolve_target,
    stored_source,
)
from ai_orchestrator.workflow.phases.implement import ImplementOptions, run_implement
from ai_orchestrator.workflow.project.history import given_options
from ai_orchestrator.workflow.prompts import DEFAULT_CONTINUE
from ai_orchestrator.workflow.runctx import (
    FeatureContext,
    Recorder,
    call_options,
    check_budget,
)


@dataclass
class EscalateOptions:
    to: str
    phase: str = "implement"
    task_id: str | None = None
    reason: str | None = None
    prompt: str | None = None
    fix_rounds: int | None = None
    max_turns: int | None = None
    max_cost: float | None = None


@dataclass
class EscalateOutcome:
    target: Target
    lineage: dict[str, Any]
    text: str
    steps: list[dict[str, Any]]
    cost: float
    task: Any = None  # the implement outcome when a task was continued




def run_escalate(ctx: FeatureContext, opts: EscalateOptions) -> EscalateOutcome:
    """``aio escalate``: with a task, continue it (implement); else one call in the new
    conversation with ``opts.prompt`` (or ``DEFAULT_CONTINUE``)."""
    if opts.phase not in PHASES:
        raise InvalidInput(f"unknown phase {opts.phase!r}; use one of {', '.join(PHASES)}")
    if opts.task_id is not None:
        if opts.phase != "implement":
            raise InvalidInput("--task continues a task: it needs --phase implement")
        return _escalate_task(ctx, opts)
    source = stored_source(ctx, opts.phase)
    target = resolve_target(ctx, opts.phase, opts.to, source)
    reason = manual_reason(opts.reason)
    settings_options = {"max_turns": opts.max_turns, "max_cost": opts.max_cost}
    with Recorder(ctx.paths, "escalate", given_options(**vars(opts))) as rec:
        rec.session, rec.agent, rec.model = source.session, target.agent, target.model
        with ctx.ws.lock_feature(ctx.feature_id, timeout=ctx.config.lock_timeout):
            with rec.refusals():
                probe = call_options(ctx, opts.phase, agent=target.agent, model=target.model)
                check_budget(ctx, probe, "nothing was escalated")
            handover = hand_over(ctx, opts.phase, target, reason, settings_options=settings_options)
            rec.details["escalation"] = handover.lineage
            conv = handover.conversation
            try:
                answer = conv.ask(f"{handover.preface}\n\n{opts.prompt or DEFAULT_CONTINUE}",
                                  "escalate")  # fmt: skip
            finally:
                steps = [*handover.summary_steps, *conv.steps]
                rec.details.update(steps=steps, cost=sum(s["cost"] or 0.0 for s in steps))
    return EscalateOutcome(target, handover.lineage, answer.text, steps, float(rec.details["cost"]))


def _escalate_task(ctx: FeatureContext, opts: EscalateOptions) -> EscalateOutcome:
    outcome = run_implement(
        ctx,
        opts.task_id or "",
        ImplementOptions(
            max_turns=opts.max_turns,
            fix_rounds=opts.fix_rounds,
            max_cost=opts.max_cost,
            escalate_to=opts.to,
            escalate_now=True,
            escalate_reason=manual_reason(opts.reason),
        ),
    )
    lineage = outcome.escalation or {}
    target = Target(str(lineage.get("to_agent")), lineage.get("to_model"))
    return EscalateOutcome(target, lineage, "", outcome.steps, outcome.cost, outcome)

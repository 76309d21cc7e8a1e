"""The hand-over of a phase's conversation: target, method, preface, lineage.

The mechanics behind escalation (see ``escalate`` for the command and the rules): where a
conversation goes (``resolve_target``: an agent key or a model whose name picks the agent),
how it gets there (``choose_method``/``hand_over``: ``fork``, ``summary`` or ``context``) and
what the new conversation starts from (``preface_for``). ``implement`` uses it when the fix
rounds run out; ``escalate`` uses it for ``aio escalate``. It imports no phase, so both can.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ai_orchestrator.calls.conversation import Conversation
from ai_orchestrator.core.errors import (
    AgentTimeout,
    AioError,
    BudgetExceeded,
    Interrupted,
    InvalidInput,
)
from ai_orchestrator.infra.timeutil import now_iso
from ai_orchestrator.workflow.project.history import read_events
from ai_orchestrator.workflow.prompts import HANDOFF_REQUEST
from ai_orchestrator.workflow.runctx import (
    FeatureContext,
    call_options,
    check_installed,
)

PHASES = ("plan", "implement", "review")
METHODS = ("fork", "summary", "context")
SUMMARY_STEP = "handoff"

@dataclass(frozen=True)
class Target:
    """The agent and model the conversation is handed to (``None``: the agent's default)."""

    agent: str
    model: str | None

    def label(self) -> str:
        return f"{self.agent} ({self.model})" if self.model else self.agent


@dataclass(frozen=True)
class Source:
    """The conversation stored in the phase's session (``agent_session_id`` None: none)."""

    session: str
    agent: str | None
    model: str | None
    agent_session_id: str | None

    def label(self) -> str:
        agent = self.agent or "no agent"
        return f"{agent} ({self.model})" if self.model else agent


@dataclass
class Handover:
    """The new conversation (its first call not made yet) and what to start it with."""

    conversation: Conversation
    preface: str
    lineage: dict[str, Any]
    summary_steps: list[dict[str, Any]] = field(default_factory=list)


def stored_source(ctx: FeatureContext, phase: str) -> Source:
    """What the phase's session holds now (nothing when it does not exist yet)."""
    name = ctx.session_name(phase)
    if not ctx.store.exists(name):
        return Source(name, None, None, None)
    summary = ctx.store.load(name).summary
    return Source(
        name,
        summary.get("agent") or None,
        summary.get("model") or None,
        summary.get("agent_session_id") or None,
    )


def agent_of(to: str, current_agent: str | None) -> tuple[str, str | None]:
    """``(agent, model)`` that ``--to`` names (see the module docstring)."""
    from ai_orchestrator.accounting.model_names import provider_for_model
    from ai_orchestrator.agents.base import check_model
    from ai_orchestrator.agents.registry import KNOWN_KEYS, agent_for_provider, declared

    wanted = to.strip()
    if wanted in KNOWN_KEYS:
        return wanted, None
    named = ", ".join(k for k in KNOWN_KEYS if not declared(k).built_in)
    if not wanted:
        raise InvalidInput(f"the escalation target is empty: name an agent ({named}) or a model")
    check_model(wanted)
    agent = agent_for_provider(provider_for_model(wanted)) or current_agent
    if agent is None:
        raise InvalidInput(
            f"--to {wanted}: cannot tell which agent runs this model and the phase has no "
            f"conversation yet; name the agent ({named})"
        )
    return agent, wanted


def resolve_target(ctx: FeatureContext, phase: str, to: str, source: Source) -> Target:
    """The target of ``--to`` with its model resolved as a call of ``phase`` would."""
    from ai_orchestrator.workflow.project.config import resolve_model

    current = source.agent or ctx.config.phase(phase).agent
    agent, model = agent_of(to, None if current == "auto" else current)
    model = resolve_model(agent, model, ctx.config.phase(phase))
    if (
        source.agent_session_id
        and agent == source.agent
        and (model is None or model == source.model)
    ):
        raise InvalidInput(
            f"session {source.session} is already a {source.label()} conversation; "
            "escalate to another model or agent"
        )
    check_installed(agent, "nothing was escalated")
    return Target(agent, model)


def choose_method(ctx: FeatureContext, source: Source, target: Target) -> str:
    from ai_orchestrator.agents.registry import can_fork
    from ai_orchestrator.calls.outcomes import sessions_enabled

    if not source.agent_session_id or not source.agent or not sessions_enabled():
        return "context"
    return "fork" if source.agent == target.agent and can_fork(target.agent) else "summary"


def _history_lines(ctx: FeatureContext, limit: int = 5) -> list[str]:
    events, _bad = read_events(ctx.paths.history_file)
    lines = []
    for e in events[-limit:]:
        task = f" {e['task_id']}" if e.get("task_id") else ""
        error = f": {str(e['error'])[:300]}" if e.get("error") else ""
        lines.append(f"- {e.get('command')}{task} ({e.get('status')}){error}")
    return lines


def preface_for(
    method: str, source: Source, target: Target, reason: str, handed: str, ctx: FeatureContext
) -> str:
    """The text the new conversation starts with (before the task or the user's prompt)."""
    if method == "fork":
        return (
            f"[aio] This conversation was escalated from {source.label()} to {target.label()} "
            f"({reason}). You have its whole history above; continue it."
        )
    parts = [
        f"[aio] You are taking over the {ctx.feature_id} work from {source.label()} "
        f"({reason}). You do not have its conversation."
    ]
    if handed.strip():
        parts.append(f"Its hand-over:\n<handover>\n{handed.strip()}\n</handover>")
    history = _history_lines(ctx)
    if history:
        parts.append("Recent aio commands of this feature:\n" + "\n".join(history))
    return "\n\n".join(parts)


def hand_over(
    ctx: FeatureContext,
    phase: str,
    target: Target,
    reason: str,
    *,
    source_conversation: Conversation | None = None,
    task_id: str | None = None,
    settings_options: dict[str, Any] | None = None,
) -> Handover:
    """Prepare the new conversation (see the module docstring); makes the summary call."""
    source = stored_source(ctx, phase)
    method = choose_method(ctx, source, target)
    options = dict(settings_options or {})
    handed, steps = "", []
    if method == "summary":
        asked = source_conversation
        if asked is None or asked.options.agent != source.agent:
            settings = call_options(
                ctx, phase, agent=source.agent, model=source.model, task_id=task_id, **options
            )
            asked = Conversation(ctx.store, source.session, settings, hooks=ctx.hooks)
        ctx.hooks.info(f"asking {source.label()} for a hand-over summary")
        before = len(asked.steps)
        try:
            handed = asked.ask(HANDOFF_REQUEST.format(target=target.label(), reason=reason),
                               SUMMARY_STEP).text  # fmt: skip
        except (BudgetExceeded, AgentTimeout, Interrupted):
            raise
        except AioError as exc:
            ctx.hooks.warn(f"the hand-over summary failed ({exc}); handing over aio's context")
            method = "context"
        # The caller's conversation keeps its own steps; a conversation made here does not.
        steps = asked.steps[before:] if asked is not source_conversation else []
        if method == "summary" and not handed.strip():
            ctx.hooks.warn("the hand-over summary is empty; handing over aio's context")
            method = "context"
    settings = call_options(
        ctx, phase, agent=target.agent, model=target.model, task_id=task_id,
        new_session=method != "fork", **options,
    )  # fmt: skip
    lineage = {
        "session": source.session,
        "agent": source.agent,
        "model": source.model,
        "agent_session_id": source.agent_session_id,
        "method": method,
        "reason": reason,
        "to_agent": target.agent,
        "to_model": target.model,
        "at": now_iso(),
    }
    conversation = Conversation(
        ctx.store,
        source.session,
        replace(settings, fork=method == "fork", escalated_from=lineage),
        hooks=ctx.hooks,
    )
    ctx.hooks.info(f"escalating {source.session} to {target.label()} ({method})")
    preface = preface_for(method, source, target, reason, handed, ctx)
    return Handover(conversation, preface, lineage, steps)

def manual_reason(reason: str | None) -> str:
    return reason.strip() if reason and reason.strip() else "escalated by hand (aio escalate)"

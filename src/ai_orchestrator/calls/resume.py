"""Which conversation a call runs in: the session's stored one, a new one, or the one asked for.

``plan_session(summary, options, history, name)`` decides, before anything is created, what
a call does with the conversation stored in its session (the module docstring of
``session_call`` states the rules): ``resumed`` (from the directory it ran in, for the CLIs
that find a conversation only from its own cwd — ``Capabilities.resume_scope == "cwd"``,
declared by each backend), ``forked``
(``options.fork``), ``replaced`` (``--new-session``), ``started`` or ``fresh`` (sessions off).
**Switching agents** (``--agent`` other than the one whose conversation the session holds)
resumes the last conversation of that agent the session's records name, if any (going back
to an agent continues its conversation; ``Plan.switched_from`` names the agent left, so the
caller can say so); otherwise it starts a new one, reported as ``replaced`` (the session's
stored conversation is replaced; the other agent's stays in the records and is resumed by
switching back). ``--new-session`` always starts a new one.
An explicit ``--continue``/``--resume ID`` resumes exactly that conversation of the session,
or raises ``UnknownConversation`` (exit 2); ``history`` (the session's records) is read only
then. Pure: reads nothing but what it is given (and the backends' declarations).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ai_orchestrator.agents import registry
from ai_orchestrator.calls.options import CallOptions
from ai_orchestrator.core.errors import UnknownConversation
from ai_orchestrator.core.interaction import Interaction

SessionAction = Literal["started", "resumed", "replaced", "forked", "fresh"]


def _resumes_from_own_cwd(agent: str) -> bool:
    """Whether ``agent``'s CLI finds a stored conversation only from the directory it ran in."""
    return registry.capabilities(agent).resume_scope == "cwd"


@dataclass
class Plan:
    """What the call does: resume ``resume_id`` (or start anew when None), in ``cwd``, with
    the backend state the conversation left."""

    resume_id: str | None
    action: SessionAction
    cwd: Path
    state: dict[str, Any]
    switched_from: str | None = None  # the agent whose conversation the session held


def plan_session(
    summary: Mapping[str, Any] | None,
    options: CallOptions,
    history: Callable[[], list[Interaction]],
    name: str,
) -> Plan:
    """What this call does with the stored conversation (``history``: the session's
    records, read only for ``--resume`` and an agent switch)."""
    if options.resume_id is not None or options.must_continue:
        return _explicit_plan(summary, options, history, name)
    stored = summary if summary and summary.get("agent") == options.agent else None
    previous = stored.get("agent_session_id") if stored else None
    if not options.use_session:
        return Plan(None, "fresh", options.cwd, {})
    action: SessionAction = "forked" if options.fork else "resumed"
    if previous and stored and not options.new_session:
        cwd = options.cwd
        if _resumes_from_own_cwd(options.agent) and stored.get("agent_cwd"):
            cwd = Path(stored["agent_cwd"])
        return Plan(previous, action, cwd, dict(stored.get("agent_state") or {}))
    other = summary.get("agent") if summary and summary.get("agent_session_id") else None
    switched = str(other) if other and other != options.agent else None
    if switched and not options.new_session:
        earlier = _earlier_conversation(history(), options.agent)
        if earlier is not None and earlier.agent_session_id:
            cwd = options.cwd
            if _resumes_from_own_cwd(options.agent) and earlier.cwd:
                cwd = Path(earlier.cwd)
            state = dict(earlier.agent_state or {})
            return Plan(earlier.agent_session_id, action, cwd, state, switched)
    replaced = bool(previous or switched)
    return Plan(None, "replaced" if replaced else "started", options.cwd, {}, switched)


def _earlier_conversation(records: list[Interaction], agent: str) -> Interaction | None:
    """The last conversation of ``agent`` the session's records name (one-off calls aside)."""
    return next(
        (r for r in reversed(records) if r.agent == agent and r.agent_session_id and not r.fresh),
        None,
    )


def _explicit_plan(
    summary: Mapping[str, Any] | None,
    options: CallOptions,
    history: Callable[[], list[Interaction]],
    name: str,
) -> Plan:
    """``--continue`` / ``--resume ID``: that conversation of session ``name``, or
    ``UnknownConversation`` (exit 2) before anything is created."""
    where = f"session {name}"
    stored_id = summary.get("agent_session_id") if summary else None
    stored_agent = summary.get("agent") if summary else None
    wanted = options.resume_id or stored_id
    if not wanted:
        raise UnknownConversation(f"--continue: {where} has no agent conversation to continue")
    if wanted == stored_id and summary is not None:
        agent, cwd, state = stored_agent, summary.get("agent_cwd"), summary.get("agent_state")
    else:
        records = history()
        mine = [r for r in records if r.agent_session_id == wanted]
        if not mine:
            known = {r.agent_session_id for r in records if r.agent_session_id}
            listed = ", ".join(sorted(known)) or "none"
            raise UnknownConversation(
                f"--resume {wanted}: not a conversation of {where} (its conversations: {listed})"
            )
        last = mine[-1]
        agent, cwd, state = last.agent, last.cwd, last.agent_state
    if agent != options.agent:
        flag = "--continue" if options.must_continue else f"--resume {wanted}"
        raise UnknownConversation(
            f"{flag}: the conversation in {where} is a {agent} conversation, not "
            f"{options.agent}; add --agent {agent}"
        )
    run_in = options.cwd
    if _resumes_from_own_cwd(options.agent) and cwd:
        run_in = Path(cwd)
    return Plan(wanted, "resumed", run_in, dict(state or {}))

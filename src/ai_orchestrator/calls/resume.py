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
switching back). ``--new-session`` always starts a new one. A call that would start a new
conversation forks ``options.fork_from`` instead when it names one of this agent (a linked
or templated feature's first call; reported as ``forked``).
An explicit ``--continue``/``--resume ID`` resumes exactly that conversation of the session,
or raises ``UnknownConversation`` (exit 2); ``history`` (the session's records) is read only
then. Pure: reads nothing but what it is given (and the backends' declarations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ai_orchestrator.agents import registry
from ai_orchestrator.calls.options import CallOptions
from ai_orchestrator.core.errors import UnknownConversation
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.store.summary import SessionSummary

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
    summary: SessionSummary | None,
    options: CallOptions,
    history: Callable[[], list[Interaction]],
    name: str,
) -> Plan:
    """What this call does with the stored conversation (``history``: the session's
    records, read only for ``--resume`` and an agent switch)."""
    if options.resume_id is not None or options.must_continue:
        return _explicit_plan(summary, options, history, name)
    stored = summary if summary is not None and summary.agent == options.agent else None
    previous = stored.agent_session_id if stored is not None else None
    if not options.use_session:
        return Plan(None, "fresh", options.cwd, {})
    action: SessionAction = "forked" if options.fork else "resumed"
    if previous and stored and not options.new_session:
        cwd = options.cwd
        if _resumes_from_own_cwd(options.agent) and stored.agent_cwd:
            cwd = Path(stored.agent_cwd)
        return Plan(previous, action, cwd, dict(stored.agent_state))
    other = summary.agent if summary is not None and summary.agent_session_id else None
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
    source = options.fork_from
    if source and source.get("agent") == options.agent and source.get("agent_session_id"):
        # A linked or templated start: a copy of another session's conversation.
        cwd = Path(source["cwd"]) if source.get("cwd") else options.cwd
        state = dict(source.get("agent_state") or {})
        return Plan(str(source["agent_session_id"]), "forked", cwd, state, switched)
    return Plan(None, "replaced" if replaced else "started", options.cwd, {}, switched)


def _earlier_conversation(records: list[Interaction], agent: str) -> Interaction | None:
    """The last conversation of ``agent`` the session's records name (one-off calls aside)."""
    return next(
        (r for r in reversed(records) if r.agent == agent and r.agent_session_id and not r.fresh),
        None,
    )


def _explicit_plan(
    summary: SessionSummary | None,
    options: CallOptions,
    history: Callable[[], list[Interaction]],
    name: str,
) -> Plan:
    """``--continue`` / ``--resume ID``: that conversation of session ``name``, or
    ``UnknownConversation`` (exit 2) before anything is created."""
    stored_id = summary.agent_session_id if summary is not None else None
    stored_agent = summary.agent if summary is not None else None
    wanted = options.resume_id or stored_id
    if not wanted:
        raise UnknownConversation("--continue", name)
    if wanted == stored_id and summary is not None:
        agent, cwd, state = stored_agent, summary.agent_cwd, summary.agent_state
    else:
        records = history()
        mine = [r for r in records if r.agent_session_id == wanted]
        if not mine:
            known = {r.agent_session_id for r in records if r.agent_session_id}
            raise UnknownConversation(f"--resume {wanted}", name, known=known)
        last = mine[-1]
        agent, cwd, state = last.agent, last.cwd, last.agent_state or {}
    if agent != options.agent:
        flag = "--continue" if options.must_continue else f"--resume {wanted}"
        raise UnknownConversation(flag, name, agent=agent, asked_agent=options.agent)
    run_in = options.cwd
    if _resumes_from_own_cwd(options.agent) and cwd:
        run_in = Path(cwd)
    return Plan(wanted, "resumed", run_in, dict(state))

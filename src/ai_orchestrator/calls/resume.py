"""Which conversation a call runs in: the session's stored one, a new one, or the one asked for.

``plan_session(summary, options, history, name)`` decides, before anything is created, what
a call does with the conversation stored in its session (the module docstring of
``session_call`` states the rules): ``resumed`` (from the directory it ran in, for the CLIs
that find a conversation only from its own cwd — ``RESUMABLE_FROM_OWN_CWD``), ``forked``
(``options.fork``), ``replaced`` (``--new-session``), ``started`` or ``fresh`` (sessions off).
An explicit ``--continue``/``--resume ID`` resumes exactly that conversation of the session,
or raises ``UnknownConversation`` (exit 2); ``history`` (the session's records) is read only
then. Pure: reads nothing but what it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ai_orchestrator.calls.options import CallOptions
from ai_orchestrator.core.errors import UnknownConversation
from ai_orchestrator.core.interaction import Interaction

SessionAction = Literal["started", "resumed", "replaced", "forked", "fresh"]
RESUMABLE_FROM_OWN_CWD = ("claude", "gemini", "scripted")


@dataclass
class Plan:
    """What the call does: resume ``resume_id`` (or start anew when None), in ``cwd``, with
    the backend state the conversation left."""

    resume_id: str | None
    action: SessionAction
    cwd: Path
    state: dict[str, Any]


def plan_session(
    summary: Mapping[str, Any] | None,
    options: CallOptions,
    history: Callable[[], list[Interaction]],
    name: str,
) -> Plan:
    """What this call does with the stored conversation (``history``: the session's
    records, read only for ``--resume``)."""
    if options.resume_id is not None or options.must_continue:
        return _explicit_plan(summary, options, history, name)
    stored = summary if summary and summary.get("agent") == options.agent else None
    previous = stored.get("agent_session_id") if stored else None
    if not options.use_session:
        return Plan(None, "fresh", options.cwd, {})
    if previous and stored and not options.new_session:
        cwd = options.cwd
        if options.agent in RESUMABLE_FROM_OWN_CWD and stored.get("agent_cwd"):
            cwd = Path(stored["agent_cwd"])
        action: SessionAction = "forked" if options.fork else "resumed"
        return Plan(previous, action, cwd, dict(stored.get("agent_state") or {}))
    return Plan(None, "replaced" if previous else "started", options.cwd, {})


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
    if options.agent in RESUMABLE_FROM_OWN_CWD and cwd:
        run_in = Path(cwd)
    return Plan(wanted, "resumed", run_in, dict(state or {}))

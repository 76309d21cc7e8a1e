"""How to make one agent call: one frozen ``CallOptions``, built once, passed down unchanged.

``aio run`` builds it from its flags; every workflow command builds it with
``workflow.runctx.call_options`` (phase config + flags). ``Conversation`` and
``session_call.run_in_session`` take it as it is (a later call of a conversation only drops
``new_session``, with ``dataclasses.replace``). The adapter-facing ``AgentRequest`` is built
from it in exactly one place, ``agent_request``; ``check_options`` builds that same request
to let the backend refuse a value (model, permission mode, extra argv) before any work.

Fields: ``agent`` (registry key), ``cwd`` (the project directory the agent works in; a
resumed conversation may run in the directory it was started in instead), ``model`` (alias
or id; ``None`` is the CLI's default), ``use_session`` (resume the stored conversation;
``False`` runs a fresh one every call), ``new_session`` (replace the stored conversation),
``resume_id`` (``aio run --resume``: resume exactly this conversation of the session),
``must_continue`` (``aio run --continue``: resume the stored conversation, refusing when
there is none), ``timeout`` / ``max_turns`` / ``budget_usd`` (the feature's budget),
``permission``, ``task_id``, ``extra_args`` (after ``AIO_AGENT_<KEY>_EXTRA_ARGS``),
``lock_timeout`` (seconds to wait for the session's run lock), ``keep_raw_events`` (store
the stream's events in the record), ``estimate_usd`` (default estimate of session todos),
``fork`` (continue a copy of the stored conversation: ``aio escalate``; backends that
``registry.can_fork``), ``escalated_from`` (the lineage stored on the call's record).
``fork_from`` (a conversation of *another* session — ``agent``, ``agent_session_id``,
``cwd``, ``agent_state`` — that a call starting a new conversation forks instead of starting
empty; same agent, ``registry.can_fork`` only), ``preface`` (text put before the prompt of a
call that starts a conversation, never before a resumed one) and ``lineage`` (stored on the
record of a call that starts one): a linked or templated feature's first call
(``workflow.phases.lineage``). Like ``fork``, all three apply to a conversation's first call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_orchestrator.agents.base import AgentRequest, Permission


@dataclass(frozen=True)
class CallOptions:
    """How to run one agent call (see the module docstring for each field)."""

    agent: str
    cwd: Path
    model: str | None = None
    use_session: bool = True
    new_session: bool = False
    resume_id: str | None = None
    must_continue: bool = False
    timeout: float | None = None
    max_turns: int | None = None
    budget_usd: float | None = None
    permission: Permission = field(default_factory=Permission)
    task_id: str | None = None
    extra_args: Sequence[str] = ()
    lock_timeout: float = 30.0
    keep_raw_events: bool = True
    estimate_usd: float | None = None
    fork: bool = False
    escalated_from: Mapping[str, Any] | None = None
    compaction: Mapping[str, Any] | None = None  # this call compacts (``calls.compaction``)
    fork_from: Mapping[str, Any] | None = None
    preface: str | None = None
    lineage: Mapping[str, Any] | None = None


def starting_prompt(prompt: str, action: str, options: CallOptions) -> str:
    """The prompt as sent: ``options.preface`` first when the call starts a conversation
    (not when it resumes one: the conversation has it already)."""
    if not options.preface or action == "resumed":
        return prompt
    return f"{options.preface}\n\n{prompt}"


def agent_request(
    options: CallOptions,
    prompt: str,
    *,
    cwd: Path | None = None,
    resume_id: str | None = None,
    new_session_id: str | None = None,
    max_budget_usd: float | None = None,
    state: Mapping[str, Any] | None = None,
    fork: bool = False,
) -> AgentRequest:
    """The backend's request for ``prompt`` under ``options``: the one place it is built.

    ``cwd`` overrides ``options.cwd`` (a resumed conversation's own directory);
    ``max_budget_usd`` is what remains of the budget (the caller computes it); ``fork``: the
    call continues a copy of ``resume_id`` (the plan decided it from ``options.fork``)."""
    from ai_orchestrator.agents import registry

    return AgentRequest(
        prompt=prompt,
        cwd=options.cwd if cwd is None else cwd,
        resume_id=resume_id,
        new_session_id=new_session_id,
        model=options.model,
        max_turns=options.max_turns,
        max_budget_usd=max_budget_usd,
        permission=options.permission,
        timeout=options.timeout,
        extra_args=[*registry.extra_args(options.agent), *options.extra_args],
        state=dict(state or {}),
        fork=fork,
    )


def check_options(options: CallOptions) -> None:
    """``InvalidInput`` unless the backend of ``options.agent`` accepts its values (the
    backend's ``build`` decides, on the very request a call would send)."""
    from ai_orchestrator.agents import registry

    registry.get_backend(options.agent).build(agent_request(options, ""), options.agent)

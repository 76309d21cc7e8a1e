"""What an agent call means to its caller, shared by ``aio run`` and the workflow commands.

- ``sessions_enabled``: whether ``USE_SESSIONS`` allows resuming stored conversations.
- ``ACTION_MESSAGES``/``action_message``: the words for what a call did with the stored
  conversation (a fresh one says why: sessions off, or one-off by design).
- ``switch_notice`` / ``recovered_notice``: what a call says when it switches agents on a
  session, and when it first records an earlier call of the session that was not stored.
- ``outcome_error``: a failed call's outcome to the typed error that ends the command (the
  class from the one outcome table, ``core.outcomes.TABLE``; the message here), and so
  (``AioError.exit_code``, mapped in ``cli.main``) to its exit code: ``timeout`` →
  ``AgentTimeout`` (124), ``interrupted`` → ``Interrupted`` (130), ``budget`` →
  ``BudgetExceeded`` (3), ``session_lost`` → ``SessionLost`` (1), any other failure →
  ``AgentFailed`` (1); ``None`` for a success. Messages are one line (an agent's error text
  may span several) and name the agent, the session and the outcome.

The error classes live in ``core.errors`` with every other typed error. Invariant: no other
module builds these errors from outcomes (``aio run`` and ``Conversation`` both raise
what ``outcome_error`` returns; ``cli.main`` turns it into the exit code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_orchestrator.agents._common import one_line
from ai_orchestrator.core import env
from ai_orchestrator.core.errors import (
    AgentFailed,
    AgentTimeout,
    AioError,
    BudgetExceeded,
    Interrupted,
    SessionLost,
)
from ai_orchestrator.core.outcomes import TABLE

if TYPE_CHECKING:
    from ai_orchestrator.agents.base import AgentResult
    from ai_orchestrator.core.interaction import Interaction

ACTION_MESSAGES = {
    "started": "started a new agent conversation",
    "resumed": "resumed the agent conversation",
    "replaced": "replaced the stored agent conversation with a new one",
    "forked": "forked the stored agent conversation into a new one",
    "fresh": "fresh conversation (sessions disabled by USE_SESSIONS)",
}


def switch_notice(other: str | None, resume_id: str | None, agent: str) -> str:
    """The session held ``other``'s conversation; this ``agent`` call resumes ``resume_id``
    (its own earlier conversation) or, when ``None``, starts a new one."""
    back = f"--agent {other} resumes the {other} conversation"
    if resume_id is not None:
        return (
            f"switched from {other} to {agent}: continuing this session's earlier {agent} "
            f"conversation {resume_id} ({back})"
        )
    return f"switched from {other} to {agent}: a new {agent} conversation ({back})"


def recovered_notice(record: Interaction) -> str:
    """An earlier call of the session, recorded only now (``calls.recover``)."""
    if record.usage_unknown:
        how = "its usage is unknown (no session file of the agent holds it)"
    else:
        how = f"{record.tokens.total} tokens"
        how += " read back from the agent's own files" if record.usage_source else ""
    if record.outcome != "interrupted":  # the agent finished; only its record had failed
        return (
            f"an earlier call in this session finished ({record.outcome}) but its record "
            f"could not be stored then; recorded it now: {how}"
        )
    return (
        f"an earlier call in this session was cut off (aio ended during it); recorded it as "
        f"interrupted: {how}"
    )


def sessions_enabled() -> bool:
    """False when ``USE_SESSIONS`` is ``0``/``false``/``no``/``off`` (any case)."""
    value = env.get("USE_SESSIONS", "true").strip().lower()
    return value not in ("0", "false", "no", "off")


def action_message(action: str) -> str:
    """``ACTION_MESSAGES[action]``, and for a fresh conversation the true reason: sessions
    turned off by ``USE_SESSIONS``, or a call that is one-off by design (``verify``,
    ``review --compare``, ``run --no-session``) while sessions are on."""
    if action == "fresh" and sessions_enabled():
        return "fresh conversation (a one-off call: never resumed)"
    return ACTION_MESSAGES.get(action, action)


def outcome_error(
    result: AgentResult, session: str, stored_id: str | None = None
) -> AioError | None:
    """The error that ends a command whose call in ``session`` produced ``result``: the
    class ``core.outcomes.TABLE`` names for its outcome, with its message."""
    if result.ok:
        return None
    agent, outcome = result.agent, result.outcome
    detail = one_line(result.error or "") or "no detail"
    row = TABLE.get(outcome)
    error = row.error if row is not None else AgentFailed
    if error is SessionLost:
        return SessionLost(session, stored_id)
    if error is AgentTimeout:
        return AgentTimeout(agent, session, detail)
    if error is Interrupted:
        return Interrupted(agent=agent, session=session)
    if error is BudgetExceeded:
        return BudgetExceeded(f"{agent} stopped at the budget limit in {session}: {detail}")
    return AgentFailed(agent, session, outcome, detail)

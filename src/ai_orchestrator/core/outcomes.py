"""How a call ended, in every word aio uses for it: the one outcome table.

``TABLE`` has one row per outcome of ``core.usage.OUTCOMES``:

- ``stored``: the word in the interaction record (README: ``success``, ``timeout``,
  ``interrupted`` or ``error:<outcome>``);
- ``session``: the session's status after such a call (``active``, ``lost``, ``failed``);
- ``history``: the status of the workflow command the call ended (``history.jsonl``:
  ``success``, ``budget_exceeded``, ``timeout``, ``interrupted``, ``failed``);
- ``error``: the typed error that ends the command (``None`` for a success), and so its exit
  code (``AioError.exit_code``, mapped in ``cli.main``). ``calls.outcomes.outcome_error``
  builds its message; a test holds it to this column.

Readers: ``stored_outcome`` (recording), ``session_status`` (the session summary),
``history_status`` (the workflow's history, from the exception that ended a command).
Invariant: no other module spells these mappings.
"""

from __future__ import annotations

from dataclasses import dataclass

from ai_orchestrator.core.errors import (
    AgentFailed,
    AgentTimeout,
    AioError,
    BudgetExceeded,
    Interrupted,
    PlannersFailed,
    SessionLost,
)
from ai_orchestrator.core.usage import OUTCOMES


@dataclass(frozen=True)
class Row:
    """What one outcome is called in the record, the session, the history; its error."""

    stored: str
    session: str
    history: str
    error: type[AioError] | None


_SPECIAL = {
    "success": Row("success", "active", "success", None),
    "timeout": Row("timeout", "failed", "timeout", AgentTimeout),
    "interrupted": Row("interrupted", "failed", "interrupted", Interrupted),
    "budget": Row("error:budget", "failed", "budget_exceeded", BudgetExceeded),
    "session_lost": Row("error:session_lost", "lost", "failed", SessionLost),
}
TABLE: dict[str, Row] = {
    word: _SPECIAL.get(word, Row(f"error:{word}", "failed", "failed", AgentFailed))
    for word in OUTCOMES
}


def stored_outcome(outcome: str) -> str:
    """The record's word for ``outcome`` (``error:<outcome>`` for an unknown one too)."""
    row = TABLE.get(outcome)
    return row.stored if row else f"error:{outcome}"


def session_status(stored: str) -> str:
    """The session's status after a call whose record says ``stored``."""
    row = TABLE.get(stored.removeprefix("error:"))
    return row.session if row else "failed"


def history_status(exc: BaseException | None) -> str:
    """The history status of a workflow command that ended with ``exc`` (``None``: it
    succeeded): the outcome whose error it is, else ``failed`` for any typed error and
    ``error`` for anything else (a bug)."""
    if exc is None:
        return TABLE["success"].history
    if isinstance(exc, PlannersFailed):  # the last planner's ending is the command's
        exc = exc.last_error
    if isinstance(exc, KeyboardInterrupt):
        return TABLE["interrupted"].history
    for row in _SPECIAL.values():
        if row.error is not None and isinstance(exc, row.error):
            return row.history
    return "failed" if isinstance(exc, AioError) else "error"

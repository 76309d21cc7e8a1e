"""The one outcome table (``core/outcomes.py``): every outcome has its record word, session
status, history status and error, and ``calls.outcomes.outcome_error`` agrees with it."""

from __future__ import annotations

import pytest

from ai_orchestrator.agents.base import AgentResult
from ai_orchestrator.calls.outcomes import outcome_error
from ai_orchestrator.core import errors
from ai_orchestrator.core.outcomes import TABLE, history_status, session_status, stored_outcome
from ai_orchestrator.core.usage import OUTCOMES


def test_every_outcome_has_a_row() -> None:
    assert set(TABLE) == set(OUTCOMES)


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_outcome_error_raises_the_tables_error(outcome: str) -> None:
    result = AgentResult(agent="claude", outcome=outcome, error="boom")  # type: ignore[arg-type]
    error = outcome_error(result, "plan-x", "id-1")
    expected = TABLE[outcome].error
    if expected is None:
        assert error is None
    else:
        assert type(error) is expected, (outcome, error)
        # the history records the command the same way the table says
        assert history_status(error) == TABLE[outcome].history


@pytest.mark.parametrize(
    ("outcome", "stored", "session", "history"),
    [
        ("success", "success", "active", "success"),
        ("timeout", "timeout", "failed", "timeout"),
        ("interrupted", "interrupted", "failed", "interrupted"),
        ("budget", "error:budget", "failed", "budget_exceeded"),
        ("session_lost", "error:session_lost", "lost", "failed"),
        ("rate_limit", "error:rate_limit", "failed", "failed"),
        ("crash", "error:crash", "failed", "failed"),
        ("max_turns", "error:max_turns", "failed", "failed"),
    ],
)
def test_the_words_of_each_outcome(outcome: str, stored: str, session: str, history: str) -> None:
    row = TABLE[outcome]
    assert (row.stored, row.session, row.history) == (stored, session, history)
    assert stored_outcome(outcome) == stored
    assert session_status(stored) == session


def test_unknown_words_fail_safe() -> None:
    assert stored_outcome("new_kind") == "error:new_kind"
    assert session_status("error:new_kind") == "failed"
    assert session_status("nonsense") == "failed"


def test_history_status_of_exceptions() -> None:
    assert history_status(None) == "success"
    assert history_status(KeyboardInterrupt()) == "interrupted"
    assert history_status(errors.BudgetExceeded("over")) == "budget_exceeded"
    assert history_status(errors.TestsFailed("T1", 2, "red", "log")) == "failed"
    assert history_status(RuntimeError("bug")) == "error"


def test_errors_carry_their_data_and_build_their_message_from_it() -> None:
    over = errors.BudgetExceeded.over("feature auth", 1.5, 2.0)
    assert (over.subject, over.spent, over.limit) == ("feature auth", 1.5, 2.0)
    assert str(over) == "feature auth has spent $1.5000 of its $2.00 budget; no agent call was made"
    busy = errors.SessionBusy("session plan-x", "pid 7", 30.0)
    assert (busy.what, busy.holder, busy.waited) == ("session plan-x", "pid 7", 30.0)
    assert str(busy) == "session plan-x is busy: held by pid 7; gave up after waiting 30s"
    assert str(errors.SessionBusy("s", "h")) == "s is busy: held by h"
    failed = errors.AgentFailed("codex", "plan-x", "rate_limit", "429")
    assert (failed.agent, failed.session, failed.outcome, failed.detail) == (
        "codex", "plan-x", "rate_limit", "429",
    )  # fmt: skip
    assert str(failed) == "codex failed in session plan-x (rate_limit): 429"
    dep = errors.DependencyNotMet("T2", ["T1.1", "T1.2"])
    assert dep.unmet == ["T1.1", "T1.2"] and "depends on T1.1, T1.2, not completed" in str(dep)
    lost = errors.SessionLost("plan-x", "abc")
    assert lost.stored_id == "abc" and "session plan-x (abc)" in str(lost)
    unpriced = errors.Unpriced("gpt-9", "no price data")
    assert (unpriced.model, str(unpriced)) == ("gpt-9", "gpt-9: unpriced (no price data)")
    red = errors.TestsFailed("T1.1", 2, "3 failed", ".aio/log.txt")
    assert (red.task_id, red.rounds, red.reason, red.log) == ("T1.1", 2, "3 failed", ".aio/log.txt")
    assert str(red) == "task T1.1: not green after 2 fix round(s): 3 failed; see .aio/log.txt"
    green = errors.TestsNotRed("T1.1", "0 failed", "log")
    assert str(green) == (
        "task T1.1: the task's tests did not fail before the implementation (0 failed); see log"
    )

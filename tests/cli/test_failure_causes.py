"""A failure's cause in words (``core.causes.failure_cause``), for every way a call ends."""

from __future__ import annotations

import pytest

from ai_orchestrator.core.causes import failure_cause
from ai_orchestrator.core.usage import OUTCOMES

OVERLOADED = (
    'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
)


@pytest.mark.parametrize(
    ("outcome", "error", "cause"),
    [
        ("error:api_error", OVERLOADED, "529 overloaded"),
        ("failed", f"claude failed in session x-y (api_error): {OVERLOADED}", "529 overloaded"),
        ("error:api_error", "API Error: 500 Internal server error", "500 internal server error"),
        ("error:rate_limit", "429 Too Many Requests: rate limit exceeded", "429 rate limit"),
        ("error:rate_limit", "", "rate limited"),
        ("error:auth", "401 unauthorized", "401 unauthorized"),
        ("timeout", "timed out after 600 s", "timeout after 600 s"),
        ("timeout", "claude timed out in session review-x: timed out after 0.5 s",
         "timeout after 0.5 s"),
        ("timeout", None, "timeout"),
        ("interrupted", "interrupted (Ctrl-C or a stop signal to aio)", "interrupted"),
        ("failed", "interrupted: the claude run in implement-x was stopped", "interrupted"),
        ("error:crash", "killed by signal 9 (SIGKILL)", "killed by signal 9 (SIGKILL)"),
        ("error:max_turns", "", "turn limit reached"),
        ("error:session_lost", None, "conversation lost"),
        ("failed", "the tests fail (3 passed, 1 failed in 2.1s): tests/t.py::x",
         "the tests fail (3 passed, 1 failed in 2.1s): tests/t.py::x"),
        ("success", "anything", ""),
        ("failed", None, ""),
    ],
)  # fmt: skip
def test_causes_read_as_words(outcome: str, error: str | None, cause: str) -> None:
    assert failure_cause(outcome, error) == cause


@pytest.mark.parametrize("outcome", [o for o in OUTCOMES if o != "success"])
def test_every_failed_outcome_has_words_even_without_an_error_text(outcome: str) -> None:
    for stored in (outcome, f"error:{outcome}"):
        said = failure_cause(stored, None)
        assert said and "error:" not in said and "_" not in said, (stored, said)


def test_a_multi_line_error_is_one_line_without_the_boilerplate() -> None:
    said = failure_cause("error:crash", "claude failed in session s-x (crash): boom\n  at line 3")
    assert said == "boom at line 3"

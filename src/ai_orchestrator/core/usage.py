"""What an agent call consumed and how it ended, in the terms every room shares.

``ModelUsage``: the tokens one model consumed in one agent call, normalised identically for
every agent CLI (semantics in ``agents.base``'s docstring: ``input`` excludes cache reads and
writes, ``output`` includes reasoning, ``reasoning`` is informational and never added again).
``Outcome``/``OUTCOMES``: the closed vocabulary of how a call ended.

Invariant: token counts are non-negative ints; an outcome is always one of ``OUTCOMES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

Outcome = Literal[
    "success",
    "max_turns",
    "budget",
    "api_error",
    "auth",
    "rate_limit",
    "timeout",
    "interrupted",
    "session_lost",
    "crash",
]
OUTCOMES: tuple[str, ...] = get_args(Outcome)  # the same words, written once


@dataclass
class ModelUsage:
    """Tokens one model consumed in one agent call (see module docstring for semantics)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    reasoning: int = 0
    requests: int = 0
    reported_cost: float | None = None

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    def add(self, other: ModelUsage) -> None:
        self.input += other.input
        self.output += other.output
        self.cache_read += other.cache_read
        self.cache_write_5m += other.cache_write_5m
        self.cache_write_1h += other.cache_write_1h
        self.reasoning += other.reasoning
        self.requests += other.requests
        if other.reported_cost is not None:
            self.reported_cost = (self.reported_cost or 0.0) + other.reported_cost

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "output": self.output,
            "cache_read": self.cache_read,
            "cache_write_5m": self.cache_write_5m,
            "cache_write_1h": self.cache_write_1h,
            "reasoning": self.reasoning,
            "requests": self.requests,
            "reported_cost": self.reported_cost,
        }

"""Amounts of money (USD) as the library accepts them: one check for every room.

``check_usd(value, what)`` is the float of a finite, non-negative number; anything else —
a bool, a string, NaN, infinity, a negative amount — is refused with ``InvalidInput``
naming ``what``. Budgets, spends, estimates and todo costs all pass through it, so a
configuration error is never mistaken for "unlimited" or "free".
"""

from __future__ import annotations

import math

from ai_orchestrator.core.errors import InvalidInput


def check_usd(value: object, what: str) -> float:
    """``value`` as a finite, non-negative float of USD; ``InvalidInput`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{what} must be a number of USD, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise InvalidInput(f"{what} must be a non-negative number of USD, got {value!r}")
    return number

"""Spending limits: refuse an agent call once a budget is used up.

Contract:

- ``check_budget(spent, budget, subject=...)`` returns what remains and raises
  ``errors.BudgetExceeded`` (exit code 3) when ``spent >= budget`` or less than
  ``MIN_CALL_USD`` ($0.000001) remains. Reaching the limit exactly counts as exceeded: the
  next call would spend more than the budget allows, and the point of a budget is that no
  call starts once it is used up. Less than a micro-dollar counts as used up because a CLI's
  spending limit (Claude's ``--max-budget-usd``) is given in whole micro-dollars, so no call
  could be held to it. The message names the subject, the spend and the budget, and says
  that no agent call was made.
- ``budget=None`` means "no limit": nothing is raised and ``remaining`` is ``None``.
- ``remaining(spent, budget)`` is ``max(0, budget - spent)`` (never negative, so it can be
  handed straight to a CLI's ``--max-budget-usd``).
- A negative, NaN or infinite budget or spend is refused with ``InvalidInput`` (exit 2):
  it is a configuration error, and treating it as "unlimited" or "exhausted" would hide it.
"""

from __future__ import annotations

from ai_orchestrator.core.errors import BudgetExceeded
from ai_orchestrator.core.money import check_usd

MIN_CALL_USD = 1e-6  # the smallest limit a CLI can be given (whole micro-dollars)


def remaining(spent: float, budget: float | None) -> float | None:
    """USD left of ``budget`` after ``spent`` (0 when overrun); ``None`` without a budget."""
    spent = check_usd(spent, "spent")
    if budget is None:
        return None
    return max(0.0, check_usd(budget, "budget") - spent)


def check_budget(spent: float, budget: float | None, *, subject: str = "this run") -> float | None:
    """Raise ``BudgetExceeded`` if ``spent`` has reached ``budget`` (or less than
    ``MIN_CALL_USD`` remains); else return what remains."""
    left = remaining(spent, budget)
    if budget is not None and left is not None and left < MIN_CALL_USD:
        raise BudgetExceeded.over(subject, spent, float(budget))
    return left

"""The todo estimate's median (``accounting.todos._median``, which spares every ``aio run``
the ``statistics`` import) is ``statistics.median`` to the bit."""

from __future__ import annotations

import statistics

from hypothesis import given, settings
from hypothesis import strategies as st

from ai_orchestrator.accounting.todos import _median

COSTS = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)  # no per-example deadline: the machine is loaded
@given(st.lists(COSTS, min_size=1, max_size=40))
def test_the_median_is_statistics_median(costs: list[float]) -> None:
    given = list(costs)
    assert _median(costs) == statistics.median(costs)
    assert costs == given  # the caller's list is not reordered


def test_even_and_odd_counts() -> None:
    assert _median([3.0, 1.0, 2.0]) == 2.0
    assert _median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert _median([0.1]) == 0.1

"""``split_map`` is exactly ``[fn(x) for x in items]``: in order, on two threads from
``MIN_ITEMS`` on, and an exception in either half reaches the caller."""

from __future__ import annotations

import threading

import pytest

from ai_orchestrator.infra.split_map import MIN_ITEMS, split_map


@pytest.mark.parametrize("count", [0, 1, MIN_ITEMS - 1, MIN_ITEMS, MIN_ITEMS * 3 + 1])
def test_the_result_is_the_plain_map_in_order(count: int) -> None:
    threads: set[int] = set()

    def square(x: int) -> int:
        threads.add(threading.get_ident())
        return x * x

    assert split_map(square, list(range(count))) == [x * x for x in range(count)]
    assert len(threads) == (2 if count >= MIN_ITEMS else min(count, 1))


@pytest.mark.parametrize("bad", [0, MIN_ITEMS * 2 - 1])  # in the thread's half, in the caller's
def test_an_exception_in_either_half_is_raised(bad: int) -> None:
    def check(x: int) -> int:
        if x == bad:
            raise OSError(5, "Input/output error")
        return x

    with pytest.raises(OSError, match="Input/output error"):
        split_map(check, list(range(MIN_ITEMS * 2)))

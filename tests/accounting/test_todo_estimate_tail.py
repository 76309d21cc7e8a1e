"""The todo estimate reads only the tail of a session's log (``accounting.todos._phase_costs``
through ``SessionStore.read_log(name, limit)`` and ``store.logfile.read_log_file``): its samples
are the session's last ``SAMPLES`` successful, priced calls, whatever the size of the first
window and wherever it cuts a line; a cut line is never a record, nor a corrupt one."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from tests.helpers import as_record, interaction

from ai_orchestrator.accounting import todos
from ai_orchestrator.core.names import parse_session_name
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.logfile import LOG, parse_log, read_log_file


def seed(store: SessionStore, name: str, costs: list[float], **extra: object) -> None:
    for cost in costs:
        store.record(as_record(name, interaction(cost=cost, **extra)))


def test_the_estimate_is_the_median_of_the_last_calls_only(session_dir: Path) -> None:
    store = SessionStore()
    old = [100.0] * 30  # older calls: counted, they would make the median 100
    recent = [round(0.01 * (i + 1), 2) for i in range(todos.SAMPLES)]
    seed(store, "implement-auth", old)
    seed(store, "implement-auth", [7.0], outcome="error:crash")  # never a sample
    seed(store, "implement-auth", recent[:25])
    seed(store, "implement-auth", [0.0], cost_source="unpriced")  # never a sample
    seed(store, "implement-auth", recent[25:])
    assert todos.estimate_cost(store, "implement", "auth") == (
        round(statistics.median(recent), 10),
        "feature",
    )


def test_a_short_session_gives_all_its_calls(session_dir: Path) -> None:
    store = SessionStore()
    seed(store, "implement-auth", [0.5, 0.1, 0.3])
    assert todos.estimate_cost(store, "implement", "auth") == (0.3, "feature")


@pytest.mark.parametrize("window", [1, 2, 500, 1000, 1733, 4096, 20000, 10**7])
def test_any_first_window_gives_the_same_samples(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    """The window grows until it holds ``SAMPLES`` samples or the whole log: a first window
    smaller than one record, or cutting a line anywhere, changes nothing."""
    store = SessionStore()
    costs = [round(0.001 * ((i * 37) % 101) + 0.001, 6) for i in range(todos.SAMPLES + 12)]
    for i, cost in enumerate(costs):
        outcome = "error:crash" if i % 9 == 4 else "success"
        seed(store, "implement-auth", [cost], outcome=outcome)
    expected = [c for i, c in enumerate(costs) if i % 9 != 4][-todos.SAMPLES :]
    monkeypatch.setattr(todos, "TAIL_BYTES", window)
    assert todos._phase_costs(store, ["implement-auth"]) == expected


def test_every_cut_of_the_log_gives_whole_records_only(session_dir: Path) -> None:
    store = SessionStore()
    seed(store, "implement-auth", [0.1, 0.2, 0.3])
    path = store.path_of("implement-auth") / LOG
    with path.open("ab") as handle:
        handle.write(b'{"torn": ')  # a torn last line, as a crash mid-append leaves it
    session = parse_session_name("implement-auth")
    full = parse_log(path.read_bytes(), session)
    size = path.stat().st_size
    ids = [r.id for r in full.records]
    for limit in range(1, size + 2):
        read = read_log_file(path, session, limit)
        got = [r.id for r in read.records]
        assert got == ids[len(ids) - len(got) :], limit  # the newest records, in order
        assert read.corrupt_lines == [], limit  # a cut line is not reported as corrupt
        # the torn tail is seen once a line ends in the window (before: no line begins there)
        assert read.torn_tail == (full.torn_tail if limit > full.torn_tail else 0), limit
        assert read.whole == (limit >= size), limit
    assert [r.id for r in read_log_file(path, session, size).records] == ids
    assert [r.id for r in store.read_log("implement-auth", 10**6).records] == ids


def test_an_unreadable_session_is_no_sample(session_dir: Path) -> None:
    store = SessionStore()
    seed(store, "implement-auth", [0.4])
    assert todos._phase_costs(store, ["implement-auth", "implement-missing"]) == [0.4]

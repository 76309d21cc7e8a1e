"""The two statements of a push batch (``team.push``): the plain-insert one for a batch that
is all new, and the general one it falls back to on any duplicate key. Each test builds a
batch that can only come out right through one of the two, and checks the server's rollup
against the rows themselves, sum by sum (a rollup that missed, doubled or mis-keyed a row
fails here)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ai_orchestrator.team import config, schema
from ai_orchestrator.team import push as push_module
from ai_orchestrator.team.push import push
from tests.helpers import as_records
from tests.team.stores import fill_store, records
from tests.team.test_team import server_count, team_json

pytestmark = pytest.mark.process  # a real PostgreSQL server and its tools

_DIMS = ", ".join(schema.rollup_dimensions())
_FROM_ROWS = """
SELECT day, machine_id, user_name, session_name, coalesce(feature_id, ''),
  coalesce(task_id, ''), coalesce(branch, ''), coalesce(agent, ''), coalesce(model, ''),
  count(*), count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success'),
  count(*) FILTER (WHERE cost_source = 'unpriced'), sum(input), sum(output),
  sum(cache_read), sum(cache_write), sum(reasoning), sum(cost), sum(savings),
  sum(cost_reported)
FROM aio.interactions GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9"""
_ROLLUP = f"""
SELECT {_DIMS}, {", ".join(schema.ROLLUP_SUMS)} FROM aio.rollup
ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9"""


def rollup_rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(_ROLLUP).fetchall())


def rollup_is_the_rows(url: str) -> None:
    """Every rollup row equals the sums of its interactions, and no other rollup row."""
    with psycopg.connect(url) as conn:
        expected = conn.execute(_FROM_ROWS).fetchall()
    assert expected, "no rows pushed"
    assert rollup_rows(url) == expected


def test_sessions_split_across_many_batches_add_up(
    team_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logs read a few lines at a time into batches of 7 rows: each session starts new in
    one batch (plain rollup insert) and goes on in the next ones (its rollup rows exist:
    added to)."""
    root = tmp_path / "m"
    store = fill_store(root, 5, 40, seed=41)
    team_json("init")
    monkeypatch.setattr(push_module, "CHUNK_BYTES", 2048)
    report = push(store, config.resolve(), batch_rows=7, with_usage=False)
    assert report.added == 200 and report.batches >= 20  # every session over several
    assert server_count(team_db) == 200
    rollup_is_the_rows(team_db)


def test_a_batch_of_rows_the_server_has_and_new_ones_adds_only_the_new(
    team_db: str, tmp_path: Path
) -> None:
    """The server lost its watermarks, then new calls landed: one batch holds 120 rows the
    server has and 10 it has not — the plain insert meets a duplicate and the general
    statement adds exactly the 10."""
    root = tmp_path / "m"
    store = fill_store(root, 3, 40, seed=42)
    team_json("init")
    settings = config.resolve()
    assert push(store, settings, with_usage=False).added == 120
    with psycopg.connect(team_db, autocommit=True) as conn:
        conn.execute("DELETE FROM aio.watermarks")
    name = store.names()[0]
    store.record_unique(name, as_records(name, records("late", 10, seed=43)))
    again = push(store, settings, batch_rows=10_000, with_usage=False)
    assert (again.read, again.added, again.batches) == (130, 10, 1)
    assert server_count(team_db) == 130
    rollup_is_the_rows(team_db)
    assert push(store, settings, with_usage=False).added == 0
    rollup_is_the_rows(team_db)


def test_rollup_rows_the_push_did_not_expect_are_added_to(team_db: str, tmp_path: Path) -> None:
    """A state the plain insert's guess gets wrong: the server has rollup rows of sessions
    it has no watermark for (here: its watermarks and interactions were deleted by hand).
    The new rows are pushed again and the rollup adds them to what it had, rather than the
    push failing or the old sums being replaced."""
    root = tmp_path / "m"
    store = fill_store(root, 3, 30, seed=44)
    team_json("init")
    settings = config.resolve()
    assert push(store, settings, with_usage=False).added == 90
    before = rollup_rows(team_db)
    with psycopg.connect(team_db, autocommit=True) as conn:
        conn.execute("DELETE FROM aio.watermarks")
        conn.execute("DELETE FROM aio.interactions")
    assert push(store, settings, with_usage=False).added == 90
    assert server_count(team_db) == 90
    assert server_count(team_db, "SELECT sum(interactions) FROM aio.rollup") == 180
    after = rollup_rows(team_db)
    assert [row[:9] for row in after] == [row[:9] for row in before]
    for old, new in zip(before, after, strict=True):
        assert list(new[9:]) == [2 * value for value in old[9:]]  # type: ignore[operator]

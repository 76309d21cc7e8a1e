"""Savings and breakdowns through the CLI: ``aio session show`` (cache share, cost
mismatches) and ``aio session stats --by task``, run as real processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.helpers import aio_inprocess as aio
from tests.helpers import as_record, interaction

from ai_orchestrator.store import SessionStore


def test_stats_by_task_end_to_end(session_dir: Path) -> None:
    store = SessionStore()
    calls = [
        ("implement-auth", "T1", 0.10, 100),
        ("implement-auth", "T1", 0.20, 200),
        ("implement-auth", "T2", 0.40, 400),
        ("implement-auth", None, 0.80, 800),
        ("plan-auth", "T1", 1.60, 1600),
        ("implement-billing", "T1", 3.20, 3200),
    ]
    for name, task, cost, tokens in calls:
        store.record(as_record(
            name, interaction(task_id=task, cost=cost, tokens={"input": tokens, "output": 1})
        ))
    result = aio("session", "stats", "--by", "task", "--json")
    assert result.code == 0, result.err
    groups = result.json()["groups"]
    assert set(groups) == {"auth/T1", "auth/T2", "auth/(no task)", "billing/T1"}
    t1 = groups["auth/T1"]  # the feature's task across its plan and implement sessions
    assert (t1["sessions"], t1["interactions"]) == (2, 3)
    assert t1["cost"] == pytest.approx(0.10 + 0.20 + 1.60)
    assert t1["tokens"]["input"] == 1900 and t1["tokens"]["output"] == 3
    assert groups["auth/T2"]["cost"] == pytest.approx(0.40)
    assert groups["auth/(no task)"]["tokens"]["input"] == 800
    assert groups["billing/T1"]["interactions"] == 1
    assert sum(g["cost"] for g in groups.values()) == pytest.approx(result.json()["cost"])

    human = aio("session", "stats", "--by", "task")
    assert human.code == 0
    assert "By task" in human.out and "auth/T1" in human.out and "$1.9000" in human.out


@pytest.fixture
def priced_session(session_dir: Path) -> SessionStore:
    store = SessionStore()
    tokens = {"input": 1000, "output": 10, "cache_read": 6000, "cache_write": 1000}
    rows = [
        dict(id="exact", cost=0.10, reported_cost=0.10, savings=0.01),
        dict(id="within", cost=0.10, reported_cost=0.1005, savings=0.02),  # 0.5%: fine
        dict(id="over", cost=0.12, reported_cost=0.10),  # +20%
        dict(id="under", cost=0.098, reported_cost=0.10),  # -2%
        dict(id="zero", cost=0.01, reported_cost=0.0),  # infinite ratio
        dict(id="their-figure", cost=0.5, reported_cost=0.5, cost_source="reported"),
        dict(id="unknown-model", cost=0.0, cost_source="unpriced"),
    ]
    for row in rows:
        row.setdefault("cost_source", "computed")
        store.record(as_record("implement-auth", interaction(tokens=tokens, **row)))
    return store


def test_show_json_has_cache_share_and_mismatches(priced_session: SessionStore) -> None:
    result = aio("session", "show", "implement-auth", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["savings"] == pytest.approx(0.03)
    # 7 calls x 6000 cache-read tokens out of 7 x (1000 + 6000 + 1000) prompt tokens
    assert data["cache_read_share"] == 0.75
    mismatches = {m["id"]: m for m in data["cost_mismatches"]}
    assert set(mismatches) == {"over", "under", "zero"}
    assert mismatches["over"]["computed"] == 0.12 and mismatches["over"]["reported"] == 0.10
    assert mismatches["over"]["relative"] == pytest.approx(0.2)
    assert mismatches["under"]["relative"] == pytest.approx(-0.02)
    assert mismatches["zero"]["relative"] is None


def test_show_human_mentions_savings_share_and_mismatches(priced_session: SessionStore) -> None:
    result = aio("session", "show", "implement-auth")
    assert result.code == 0, result.err
    assert "Cache savings: $0.0300 (75% of input served from cache)" in result.out
    flagged = [line for line in result.out.splitlines() if line.startswith("Cost mismatch:")]
    assert len(flagged) == 3
    assert "over: computed $0.1200, CLI reported $0.1000 (+20.0%)" in result.out
    assert "zero: computed $0.0100, CLI reported $0.0000 (reported $0)" in result.out


def test_show_without_cache_or_reports(session_dir: Path) -> None:
    SessionStore().record(as_record("plan-x", interaction(tokens={"input": 10, "output": 1})))
    data = aio("session", "show", "plan-x", "--json").json()
    assert data["cache_read_share"] == 0.0 and data["cost_mismatches"] == []

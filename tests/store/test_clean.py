"""``store.lifecycle`` clean as a library call: typed plan and report, no CLI involved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.infra import locks
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.lifecycle import CleanReport, clean, plan_clean
from tests.helpers import as_record, interaction

OLD = (datetime.now(UTC) - timedelta(days=40)).isoformat()


def test_clean_removes_only_what_is_old_and_free(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-old", interaction(timestamp=OLD)))
    store.record(as_record("review-busy", interaction(timestamp=OLD)))
    store.record(as_record("run-reused", interaction(timestamp=OLD)))
    store.record(as_record("implement-new", interaction()))
    (session_dir / "implement-new" / ".metadata.json.tmp-123-abcd").write_bytes(b"{}")
    old_trash = session_dir / ".trash-run-gone-123-abcd1234"  # an earlier version's
    old_trash.mkdir()
    (old_trash / "interactions.jsonl").write_bytes(b"")
    (old_trash / ".lock").write_bytes(b"")
    plan = plan_clean(store, 30)
    assert [r.name for r in plan.candidates] == ["plan-old", "review-busy", "run-reused"]
    assert len(plan.rows) == 4 and plan.errors == [] and plan.unreadable == []
    store.record(as_record("run-reused", interaction()))  # used between the listing and the removal
    seen: list[tuple[str, str]] = []
    with locks.locked(session_dir / "review-busy" / locks.RUN_LOCK, timeout=0):
        report = clean(store, plan, progress=lambda name, why: seen.append((name, why)))
    assert isinstance(report, CleanReport)
    assert report.removed == ["plan-old"]
    assert [s["session_name"] for s in report.skipped] == ["review-busy", "run-reused"]
    assert report.skipped[1]["reason"] == "used within the last 30 days"
    assert [name for name, _ in seen] == ["plan-old", "review-busy", "run-reused"]
    assert seen[0][1] == "" and seen[1][1] and seen[2][1]
    assert report.temp_files_removed == 1 and report.trash_removed == 1
    assert sorted(store.names()) == ["implement-new", "review-busy", "run-reused"]
    data = report.to_dict()
    assert list(data) == [
        "schema_version", "older_than_days", "dry_run", "candidates", "removed", "skipped",
        "recovered", "unreadable", "not_aio", "trash_removed", "temp_files_removed", "failed",
    ]  # fmt: skip


def test_a_plan_removes_nothing_and_reports_no_leftovers(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-old", interaction(timestamp=OLD)))
    plan = plan_clean(store, 30, now=datetime.now(UTC))
    data = plan.report(dry_run=True).to_dict()
    assert data["candidates"] == ["plan-old"] and data["removed"] == [] and data["dry_run"]
    assert "trash_removed" not in data and "temp_files_removed" not in data
    assert store.names() == ["plan-old"]


@pytest.mark.parametrize("days", [-1, float("nan"), float("inf")])
def test_plan_refuses_a_bad_age(session_dir: Path, days: float) -> None:
    with pytest.raises(InvalidInput):
        plan_clean(SessionStore(), days)

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.export import export_text
from ai_orchestrator.store.session_store import LOG, METADATA
from ai_orchestrator.store.transfer import (
    apply_import,
    migrate_store,
    plan_import,
)
from tests.helpers import LEGACY_METADATA, as_record, interaction, write_legacy_store


def test_export_import_roundtrip_is_idempotent(session_dir: Path, tmp_path: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction(cost=0.25)))
    store.record(as_record("implement-a", interaction(cost=0.5, task_id="T1.1")))
    store.record(as_record("implement-a", interaction(cost=0.75, task_id="T1.2")))
    exported = json.loads(export_text(store))
    assert [s["session_name"] for s in exported] == ["implement-a", "plan-a"]
    assert sum(i["cost"] for s in exported for i in s["interactions"]) == pytest.approx(1.5)
    assert not {"log_size", "corrupt_lines", "torn_tail", "path"} & set(exported[0])

    other = SessionStore(tmp_path / "other")
    first = apply_import(other, plan_import(json.dumps(exported)))
    assert first.to_dict() == {
        "schema_version": 1,
        "sessions": 2,
        "sessions_created": 2,
        "interactions_added": 3,
        "interactions_already_present": 0,
        "renamed": [],
    }
    second = apply_import(other, plan_import(json.dumps(exported)))
    assert second.added == 0 and second.skipped == 3
    again = json.loads(export_text(other))
    assert [len(s["interactions"]) for s in again] == [2, 1]
    assert [i["id"] for s in again for i in s["interactions"]] == [
        i["id"] for s in exported for i in s["interactions"]
    ]


def test_import_of_id_less_records_is_idempotent(session_dir: Path) -> None:
    store = SessionStore()
    data = json.dumps(
        [
            {
                "session_name": "run-x",
                "interactions": [
                    {"timestamp": "2026-11-01T00:00:00Z", "cost": 1, "agent": "codex"}
                ],
            }
        ]
    )
    assert apply_import(store, plan_import(data)).added == 1
    assert apply_import(store, plan_import(data)).added == 0
    assert store.load("run-x").summary.to_json()["interaction_count"] == 1


@pytest.mark.parametrize(
    "payload, message",
    [
        ("not json", "not valid JSON"),
        ("42", "JSON array"),
        ('[{"interactions": []}]', "session_name"),
        ('[{"session_name": "../x", "interactions": []}]', "invalid session name"),
        ('[{"session_name": "run-x", "interactions": {}}]', "must be an array"),
        ('[{"session_name": "run-x", "interactions": [{"cost": "1$"}]}]', "interaction #1"),
    ],
)
def test_invalid_import_is_refused_without_touching_the_store(
    session_dir: Path, payload: str, message: str
) -> None:
    store = SessionStore()
    store.record(as_record("run-keep", interaction()))
    before = sorted(p.name for p in session_dir.rglob("*"))
    good = {"session_name": "run-new", "interactions": [interaction()]}
    bad = json.loads(payload) if payload.startswith("[") else None
    text = json.dumps([good, *bad]) if isinstance(bad, list) else payload
    with pytest.raises(InvalidInput, match=message):
        apply_import(store, plan_import(text))
    assert sorted(p.name for p in session_dir.rglob("*")) == before


def test_import_accepts_the_shell_versions_export(session_dir: Path) -> None:
    store = SessionStore()
    legacy_export = json.dumps(
        [
            dict(
                LEGACY_METADATA,
                interactions=[
                    {"timestamp": "2026-10-01T10:00:00Z", "tokens": {"input": 7}},  # missing fields
                    *LEGACY_METADATA["interactions"],
                ],
            )
        ]
    )
    report = apply_import(store, plan_import(legacy_export))
    assert report.added == 3
    view = store.load("implement-payment-gateway")
    assert view.summary.to_json()["agent_session_id"] == LEGACY_METADATA["session_id"]
    assert view.summary.to_json()["tokens"]["input"] == 158
    assert view.summary.to_json()["cost"] == pytest.approx(0.001248)
    assert apply_import(store, plan_import(legacy_export)).added == 0


def test_legacy_store_is_readable_then_migrated_in_place(session_dir: Path) -> None:
    write_legacy_store(session_dir)
    store = SessionStore()
    view = store.load("implement-payment-gateway")
    assert view.legacy and view.summary.to_json()["interaction_count"] == 2
    assert any("migrate" in p for p in view.problems)

    report = migrate_store(store)
    assert report.to_dict()["migrated"] == ["implement-payment-gateway"]
    path = session_dir / "implement-payment-gateway"
    assert json.loads((path / "metadata.legacy.json").read_text()) == LEGACY_METADATA
    assert len((path / LOG).read_text().splitlines()) == 2
    view = store.load("implement-payment-gateway")
    assert not view.legacy and view.problems == []
    assert view.summary.to_json()["cost"] == pytest.approx(0.001248)
    assert view.summary.to_json()["created_at"] == "2026-10-01T10:00:00.000Z"
    assert stat.S_IMODE(os.stat(path / ".lock").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(session_dir).st_mode) == 0o700
    # Rerunning converts nothing more and loses nothing.
    again = migrate_store(store)
    assert again.migrated == [] and again.already_current == 1
    assert store.load("implement-payment-gateway").summary.to_json()["interaction_count"] == 2


def test_migration_interrupted_after_log_write_converges(session_dir: Path) -> None:
    write_legacy_store(session_dir)
    path = session_dir / "implement-payment-gateway"
    store = SessionStore()
    migrate_store(store)
    # Simulate a crash after the log was written but before metadata was replaced.
    (path / METADATA).write_text(json.dumps(LEGACY_METADATA))
    view = store.load("implement-payment-gateway")  # the backup exists: load may repair
    assert view.summary.to_json()["interaction_count"] == 2
    migrate_store(store)
    view = store.load("implement-payment-gateway")
    assert view.summary.to_json()["interaction_count"] == 2 and view.problems == []
    assert json.loads((path / "metadata.legacy.json").read_text()) == LEGACY_METADATA


def test_load_never_overwrites_unbacked_legacy_metadata(session_dir: Path) -> None:
    write_legacy_store(session_dir)
    path = session_dir / "implement-payment-gateway"
    (path / LOG).write_text("")  # an empty log beside legacy metadata (odd, but possible)
    SessionStore().load("implement-payment-gateway")
    assert json.loads((path / METADATA).read_text()) == LEGACY_METADATA


def test_csv_export_has_one_row_per_interaction(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("run-x", interaction(cost=0.5)))
    store.record(as_record("run-x", interaction(cost=0.25)))
    rows = export_text(store, "csv").strip().splitlines()
    assert rows[0].startswith("session_name,command,feature_id,id,timestamp")
    assert len(rows) == 3
    assert rows[1].split(",")[0] == "run-x"

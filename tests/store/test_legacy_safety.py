"""Nothing the earlier shell version (or a user) wrote is lost by recording, reading or
repairing: shell-version sessions are migrated with a backup before anything is written
into them, and any other ``metadata.json`` we cannot use is copied before it is replaced."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.export import export_text
from ai_orchestrator.store.lifecycle import migrate_session, repair_session
from ai_orchestrator.store.session_store import LOG, METADATA
from ai_orchestrator.store.transfer import apply_import, migrate_store, plan_import
from tests.helpers import LEGACY_METADATA, as_record, interaction, write_legacy_store
from tests.helpers import aio_inprocess as aio

NAME = "implement-payment-gateway"
# The shell version without jq: five keys, no interactions.
FIVE_KEYS = {
    "created_at": "2026-09-01T08:00:00Z",
    "last_used": "2026-09-02T09:00:00Z",
    "session_id": "5e1d0c4a-1111-4222-8333-944455556666",
    "command": "claude",
    "session_name": NAME,
}
# bc wrote costs below 1 without the leading zero: not valid JSON for strict parsers.
BC_COST = json.dumps(LEGACY_METADATA).replace('"cost": 0.000048', '"cost": .000048')


def session_path(root: Path) -> Path:
    return root / NAME


def write_metadata(root: Path, content: str | bytes) -> Path:
    path = session_path(root)
    path.mkdir(parents=True)
    data = content.encode() if isinstance(content, str) else content
    (path / METADATA).write_bytes(data)
    return path


def kept_copies(path: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(path.glob("metadata.corrupt-*.json"))]


# ------------------------------------------------------------------ gap 1: record


def test_record_into_legacy_session_migrates_first_and_keeps_history(session_dir: Path) -> None:
    write_legacy_store(session_dir)
    path = session_path(session_dir)
    original = (path / METADATA).read_bytes()
    result = aio("session", "record", NAME, input='{"cost": 1}')
    assert result.code == 0, result.err
    shown = aio("session", "show", NAME, "--json").json()
    assert shown["interaction_count"] == 3
    assert shown["cost"] == pytest.approx(1.001248)
    assert shown["agent_session_id"] == LEGACY_METADATA["session_id"]
    assert shown["created_at"] == "2026-10-01T10:00:00.000Z"
    assert shown["problems"] == []
    assert (path / "metadata.legacy.json").read_bytes() == original
    # the legacy calls come first in the log, the new one last
    lines = [json.loads(line) for line in (path / LOG).read_text().splitlines()]
    assert [line["cost"] for line in lines] == [0.0012, 0.000048, 1.0]


def test_library_record_into_legacy_session_loses_nothing(session_dir: Path) -> None:
    write_legacy_store(session_dir)
    store = SessionStore()
    store.record(as_record(NAME, interaction(cost=0.5)))
    store.record(as_record(NAME, interaction(cost=0.25)))
    view = store.load(NAME)
    assert view.summary.to_json()["interaction_count"] == 4 and not view.legacy
    assert migrate_store(store).already_current == 1


def test_record_into_five_key_shell_session_keeps_its_conversation(session_dir: Path) -> None:
    path = write_metadata(session_dir, json.dumps(FIVE_KEYS))
    SessionStore().record(as_record(NAME, {"cost": 0.1, "agent": "claude"}))
    summary = SessionStore().load(NAME).summary.to_json()
    assert summary["agent_session_id"] == FIVE_KEYS["session_id"]
    assert summary["created_at"] == "2026-09-01T08:00:00.000Z"
    assert json.loads((path / "metadata.legacy.json").read_text()) == FIVE_KEYS


def test_legacy_log_lines_already_present_are_kept_once(session_dir: Path) -> None:
    """A log beside legacy metadata (an interrupted migration plus a later record) keeps
    every record exactly once after recording migrates the session."""
    write_legacy_store(session_dir)
    store = SessionStore()
    migrate_store(store)
    path = session_path(session_dir)
    store.record(as_record(NAME, interaction(cost=2.0)))
    (path / METADATA).write_text(json.dumps(LEGACY_METADATA))  # as if never migrated
    store.record(as_record(NAME, interaction(cost=3.0)))
    view = store.load(NAME)
    assert view.summary.to_json()["interaction_count"] == 4
    assert view.summary.to_json()["cost"] == pytest.approx(5.001248)


# ------------------------------------------------------------------ gap 2: reads


def test_reads_leave_an_unparseable_legacy_file_alone_then_migrate_converts_it(
    session_dir: Path,
) -> None:
    path = write_metadata(session_dir, BC_COST)
    listing = aio("session", "list", "--json").json()
    assert listing["sessions"][0]["interaction_count"] == 2
    assert any("shell version" in p for p in listing["sessions"][0]["problems"])
    aio("session", "stats", "--json")
    aio("session", "show", NAME, "--json")
    assert (path / METADATA).read_text() == BC_COST
    report = aio("session", "migrate", "--json").json()
    assert report["migrated"] == [NAME] and report["schema_version"] == 1
    assert (path / "metadata.legacy.json").read_text() == BC_COST
    summary = SessionStore().load(NAME).summary.to_json()
    assert summary["cost"] == pytest.approx(0.001248)


def test_reads_leave_a_five_key_shell_file_alone_then_migrate_converts_it(
    session_dir: Path,
) -> None:
    path = write_metadata(session_dir, json.dumps(FIVE_KEYS))
    listed = aio("session", "list", "--json").json()["sessions"][0]
    assert listed["agent_session_id"] == FIVE_KEYS["session_id"]
    assert listed["created_at"] == "2026-09-01T08:00:00.000Z"
    assert json.loads((path / METADATA).read_text()) == FIVE_KEYS
    report = aio("session", "migrate", "--json").json()
    assert report["migrated"] == [NAME]
    summary = SessionStore().load(NAME).summary.to_json()
    assert summary["agent_session_id"] == FIVE_KEYS["session_id"]
    assert summary["created_at"] == "2026-09-01T08:00:00.000Z"
    assert json.loads((path / "metadata.legacy.json").read_text()) == FIVE_KEYS


@pytest.mark.parametrize(
    "content",
    [
        b"{{{{ not json",
        b'{"notes": "my own file", "created_at": "2026-01-02T03:04:05Z"}',
        b'["a", "list"]',
        b"\xff\xfe binary",
    ],
)
def test_a_foreign_metadata_file_is_copied_before_it_is_replaced(
    session_dir: Path, content: bytes
) -> None:
    store = SessionStore()
    store.record(as_record(NAME, interaction(cost=0.5)))
    path = session_path(session_dir)
    (path / METADATA).write_bytes(content)
    for _ in range(3):  # repeated reads keep one copy, not one per read
        assert aio("session", "list", "--json").code == 0
    assert kept_copies(path) == [content]
    view = store.load(NAME)
    assert view.summary.to_json()["interaction_count"] == 1 and view.problems == []
    if b"2026-01-02" in content:
        assert view.summary.to_json()["created_at"] == "2026-01-02T03:04:05.000Z"


def test_record_and_repair_also_keep_a_copy(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record(NAME, interaction()))
    path = session_path(session_dir)
    (path / METADATA).write_bytes(b"garbage one")
    store.record(as_record(NAME, interaction()))
    (path / METADATA).write_bytes(b"garbage two")
    report = repair_session(store, NAME)
    assert report["kept_copy"] is not None
    assert sorted(kept_copies(path)) == [b"garbage one", b"garbage two"]
    assert store.load(NAME).summary.to_json()["interaction_count"] == 2


# ------------------------------------------------------------------ gap 12: legacy data


def test_identical_legacy_calls_both_survive_and_reimport_adds_nothing(
    session_dir: Path,
) -> None:
    call = LEGACY_METADATA["interactions"][0]
    legacy = {**LEGACY_METADATA, "interactions": [call, call, call]}
    store = SessionStore()
    first = apply_import(store, plan_import(json.dumps([legacy])))
    assert first.added == 3
    assert apply_import(store, plan_import(json.dumps([legacy]))).added == 0
    assert store.load(NAME).summary.to_json()["interaction_count"] == 3
    ids = [r.id for r in store.read_log(NAME).records]
    assert len(set(ids)) == 3


def test_identical_calls_in_a_legacy_store_survive_migration(session_dir: Path) -> None:
    call = LEGACY_METADATA["interactions"][1]
    write_metadata(session_dir, json.dumps({**LEGACY_METADATA, "interactions": [call, call]}))
    migrate_store(SessionStore())
    assert SessionStore().load(NAME).summary.to_json()["interaction_count"] == 2


def test_migrate_reports_and_keeps_unusable_legacy_interactions(session_dir: Path) -> None:
    bad = [{"tokens": "lots"}, "not an object", {"cost": -1}]
    legacy = {**LEGACY_METADATA, "interactions": [*LEGACY_METADATA["interactions"], *bad]}
    path = write_metadata(session_dir, json.dumps(legacy))
    result = aio("session", "migrate", "--json")
    report = result.json()
    assert report["unusable_interactions"] == 3
    assert report["sessions"] == [{"session_name": NAME, "interactions": 2, "unusable": 3}]
    kept = [
        json.loads(line) for line in (path / "interactions.corrupt.jsonl").read_text().splitlines()
    ]
    assert kept == [bad[1], bad[0], bad[2]]
    text = aio("session", "migrate")  # already current now
    assert text.code == 0 and "1 already current" in text.err


def test_migrate_text_names_unusable_count(session_dir: Path) -> None:
    legacy = {**LEGACY_METADATA, "interactions": [{"tokens": "lots"}]}
    write_metadata(session_dir, json.dumps(legacy))
    result = aio("session", "migrate")
    assert result.code == 0 and "1 unusable" in result.out


def test_import_restores_an_empty_sessions_created_at(session_dir: Path, tmp_path: Path) -> None:
    store = SessionStore()
    store.create("plan-empty")
    exported = json.loads(export_text(store))
    exported[0]["created_at"] = "2025-05-05T05:05:05.000Z"
    other = SessionStore(tmp_path / "other")
    apply_import(other, plan_import(json.dumps(exported)))
    again = json.loads(export_text(other))
    assert again[0]["created_at"] == "2025-05-05T05:05:05.000Z"
    assert again[0]["interactions"] == []


def test_shell_store_files_are_never_modified_by_reads(session_dir: Path) -> None:
    write_legacy_store(session_dir)
    path = session_path(session_dir)
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    for args in (["list", "--json"], ["stats", "--json"], ["show", NAME], ["export"]):
        assert aio("session", *args).code == 0
    after = {p.name: p.read_bytes() for p in path.iterdir()}
    assert after == before
    assert os.path.exists(path / ".lock")


def test_migrating_keeps_reporting_a_torn_last_line(session_dir: Path) -> None:
    """A log already holding the legacy calls plus a torn tail: migration adds nothing,
    and the torn line is still reported afterwards (until repair)."""
    write_legacy_store(session_dir)
    store = SessionStore()
    migrate_store(store)
    path = session_path(session_dir)
    with open(path / LOG, "ab") as handle:
        handle.write(b'{"id": "half-writ')
    (path / METADATA).write_text(json.dumps(LEGACY_METADATA))  # as if never migrated
    assert migrate_session(store, NAME) is not None
    problems = store.load(NAME).problems
    assert any("torn last line" in p for p in problems), problems
    assert repair_session(store, NAME)["quarantined_lines"] == 1
    assert store.load(NAME).problems == []


def test_migration_keeps_the_creation_time_reads_showed(session_dir: Path) -> None:
    """A shell session without created_at or calls: reads date it by its directory, and
    migrating must not re-date it to now."""
    path = write_metadata(session_dir, json.dumps({"session_id": "abc"}))
    (path / ".lock").write_text("")  # the shell version's lock file
    old = 1_700_000_000
    os.utime(path, (old, old))
    before = SessionStore().load(NAME).summary.to_json()["created_at"]
    assert before.startswith("2023-11-14")
    migrate_store(SessionStore())
    assert SessionStore().load(NAME).summary.to_json()["created_at"] == before

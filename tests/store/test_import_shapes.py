"""Import and migration recognise the shell version's records by their shape alone, drop
nothing known, refuse what fits no shape, and carry over shell-version sessions whose
names are not ``<command>-<feature-id>`` under a documented, collision-free name."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.names import is_session_name
from ai_orchestrator.infra import locks
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.legacy import interaction_shape, legacy_session_name
from ai_orchestrator.store.session_store import LOG, METADATA
from ai_orchestrator.store.transfer import (
    apply_import,
    legacy_strays,
    migrate_store,
    parse_renames,
    plan_import,
)
from tests.helpers import LEGACY_METADATA, as_record
from tests.helpers import aio_inprocess as aio

SHELL_CALL = LEGACY_METADATA["interactions"][0]


def shell_session(name: str, **extra: object) -> dict[str, object]:
    return dict(LEGACY_METADATA, session_name=name, **extra)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "index.sqlite"
    }


def hash8(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


# ------------------------------------------------------------------ item 6: shapes


def test_id_less_record_of_ours_keeps_every_field(session_dir: Path) -> None:
    record = {
        "timestamp": "2026-10-01T10:00:00Z",
        "agent": "gemini",
        "model": "gemini-2.5-pro",
        "prompt": "write the parser",
        "tokens": {"input": 10, "output": 5, "cache_read": 700, "cache_write": 30},
        "cost": 0.25,
        "outcome": "error:timeout",
        "task_id": "T2.1",
    }
    data = json.dumps([{"session_name": "implement-parser", "interactions": [record]}])
    assert apply_import(SessionStore(), plan_import(data)).added == 1
    stored = SessionStore().read_log("implement-parser").records[0].to_json()
    assert stored["agent"] == "gemini"
    assert stored["prompt"] == "write the parser"
    assert stored["tokens"]["cache_read"] == 700 and stored["tokens"]["cache_write"] == 30
    assert stored["outcome"] == "error:timeout"
    assert stored["task_id"] == "T2.1"
    assert "imported_from" not in stored  # not mistaken for a shell-version call


@pytest.mark.parametrize(
    "item, shape",
    [
        (SHELL_CALL, "shell"),
        ({"timestamp": "2026-10-01T10:00:00Z", "tokens": {"input": 7}}, "shell"),
        ({**SHELL_CALL, "agent": "claude"}, "ours"),
        ({**SHELL_CALL, "tokens": {"input": 1, "cache_read": 2}}, "ours"),
        ({**SHELL_CALL, "id": "x1", "whatever": 1}, "ours"),
        ({"schema_version": 1, "custom": True}, "ours"),
    ],
)
def test_shape_rule(item: dict[str, object], shape: str) -> None:
    assert interaction_shape(item) == shape


@pytest.mark.parametrize(
    "item",
    [
        {"timestamp": "2026-10-01T10:00:00Z", "input_tokens": 3},
        {**SHELL_CALL, "note": "kept nowhere"},
    ],
)
def test_a_record_that_fits_no_shape_is_refused_store_untouched(
    session_dir: Path, item: dict[str, object]
) -> None:
    SessionStore().record(as_record("run-keep", {"cost": 1}))
    before = snapshot(session_dir)
    payload = json.dumps([{"session_name": "run-new", "interactions": [item]}])
    result = aio("session", "import", "-", input=payload)
    assert result.code == 2, result.err
    assert "fits neither" in result.err and "Traceback" not in result.err
    assert snapshot(session_dir) == before


@pytest.mark.parametrize("bound", ["session_name", "command", "feature_id"])
def test_a_record_naming_another_session_is_refused_store_untouched(
    session_dir: Path, bound: str
) -> None:
    SessionStore().record(as_record("run-keep", {"cost": 1}))
    before = snapshot(session_dir)
    other = {"session_name": "plan-other", "command": "plan", "feature_id": "other"}[bound]
    item = {"timestamp": "2026-10-01T10:00:00Z", bound: other}
    good = {"session_name": "run-fine", "interactions": [{"cost": 1, "agent": "codex"}]}
    payload = json.dumps([good, {"session_name": "run-new", "interactions": [item]}])
    result = aio("session", "import", "-", input=payload)
    assert result.code == 2 and "but the session is run-new" in result.err
    assert snapshot(session_dir) == before


@pytest.mark.parametrize(
    "contradiction",
    [
        {"schema_version": 1, "command": "plan"},
        {"schema_version": 1, "feature_id": "other"},
        {"command": "plan", "feature_id": "new"},
        {"feature_id": "other"},
    ],
)
def test_a_session_object_contradicting_its_own_name_is_refused_store_untouched(
    session_dir: Path, contradiction: dict[str, object]
) -> None:
    SessionStore().record(as_record("run-keep", {"cost": 1}))
    before = snapshot(session_dir)
    good = {
        "schema_version": 1,
        "session_name": "run-fine",
        "command": "run",
        "feature_id": "fine",
        "interactions": [{"id": "a", "cost": 1}],
    }
    bad = {"session_name": "run-new", "interactions": [{"id": "b", "cost": 1}], **contradiction}
    result = aio("session", "import", "-", input=json.dumps([good, bad]))
    assert result.code == 2, result.err
    assert "contradicts its session_name" in result.err and "run-new" in result.err
    assert len(result.err.splitlines()) == 1
    assert snapshot(session_dir) == before


def test_a_shell_session_object_keeps_its_agent_cli_as_command(session_dir: Path) -> None:
    plan = plan_import(json.dumps([shell_session("implement-payment-gateway")]))
    assert list(plan.sessions) == ["implement-payment-gateway"]  # "command": "claude" is fine


def test_shell_shaped_record_in_a_session_of_ours_is_refused(session_dir: Path) -> None:
    payload = json.dumps(
        [{"schema_version": 1, "session_name": "run-x", "interactions": [SHELL_CALL]}]
    )
    with pytest.raises(InvalidInput, match="not the shell version's"):
        plan_import(payload)


def test_importing_any_file_twice_adds_nothing(session_dir: Path, tmp_path: Path) -> None:
    mixed = [
        shell_session("my_session"),
        shell_session("implement-payment-gateway"),
        {"session_name": "run-x", "interactions": [{"agent": "codex", "cost": 1}] * 2},
    ]
    source = tmp_path / "mixed.json"
    source.write_text(json.dumps(mixed))
    first = aio("session", "import", str(source), "--json")
    assert first.code == 0, first.err
    assert first.json()["interactions_added"] == 6
    logs = {p: p.read_bytes() for p in session_dir.glob(f"*/{LOG}")}
    second = aio("session", "import", str(source), "--json")
    assert second.json()["interactions_added"] == 0
    assert second.json()["interactions_already_present"] == 6
    assert {p: p.read_bytes() for p in session_dir.glob(f"*/{LOG}")} == logs


# ------------------------------------------------------------------ item 9: names


@pytest.mark.parametrize(
    "original",
    ["my_session", "My_Session", "my.session", ".", "_evil", "test-_moji-_", "A" * 100, "x--y"],
)
def test_legacy_names_map_to_valid_distinct_names(original: str) -> None:
    mapped = legacy_session_name(original)
    assert is_session_name(mapped.name)
    assert mapped.command == "legacy" and mapped.name.endswith(hash8(original))
    assert legacy_session_name(original) == mapped  # the name alone decides


def test_similar_legacy_names_never_share_a_target() -> None:
    names = ["my_session", "My_Session", "my.session", "my-session_", "MY_SESSION"]
    assert len({legacy_session_name(n).name for n in names}) == len(names)
    assert legacy_session_name("my_session").name == f"legacy-my-session-{hash8('my_session')}"


def test_shell_export_with_an_odd_name_is_imported_not_refused(session_dir: Path) -> None:
    data = json.dumps([shell_session("my_session"), shell_session("implement-payment-gateway")])
    report = apply_import(SessionStore(), plan_import(data))
    target = f"legacy-my-session-{hash8('my_session')}"
    assert report.renamed == {"my_session": target}
    view = SessionStore().load(target)
    assert view.summary.to_json()["legacy_name"] == "my_session"
    assert view.summary.to_json()["interaction_count"] == 2
    assert view.summary.to_json()["agent_session_id"] == LEGACY_METADATA["session_id"]
    assert (
        SessionStore().load("implement-payment-gateway").summary.to_json()["interaction_count"] == 2
    )


def test_an_empty_odd_named_shell_session_keeps_its_name_and_conversation(
    session_dir: Path,
) -> None:
    five_keys = {k: v for k, v in shell_session("x y").items() if k != "interactions"}
    five_keys["session_name"] = "old_one"
    apply_import(SessionStore(), plan_import(json.dumps([five_keys])))
    summary = SessionStore().load(legacy_session_name("old_one").name).summary.to_json()
    assert summary["legacy_name"] == "old_one"
    assert summary["agent_session_id"] == LEGACY_METADATA["session_id"]


def test_import_rename_and_its_errors(session_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "shell.json"
    source.write_text(json.dumps([shell_session("my_session")]))
    ok = aio("session", "import", str(source), "--rename", "my_session=plan-mine", "--json")
    assert ok.code == 0, ok.err
    assert ok.json()["renamed"] == [{"legacy_name": "my_session", "session_name": "plan-mine"}]
    assert SessionStore().load("plan-mine").summary.to_json()["legacy_name"] == "my_session"
    before = snapshot(session_dir)
    for bad in ("nope=plan-x", "my_session=Bad Name", "my_session"):
        result = aio("session", "import", str(source), "--rename", bad)
        assert result.code == 2 and "--rename" in result.err, (bad, result.err)
    assert snapshot(session_dir) == before


def test_a_target_holding_another_session_is_not_merged_into(session_dir: Path) -> None:
    target = legacy_session_name("my_session").name
    SessionStore().record(as_record(target, {"cost": 1}))
    before = snapshot(session_dir)
    data = json.dumps([shell_session("my_session")])
    with pytest.raises(InvalidInput, match="--rename"):
        apply_import(SessionStore(), plan_import(data))
    assert snapshot(session_dir) == before


def test_a_name_the_shell_could_not_have_written_is_refused() -> None:
    with pytest.raises(InvalidInput, match="--rename"):
        plan_import(json.dumps([shell_session("../../etc")]))
    assert parse_renames(["../../etc=run-x"]) == {"../../etc": "run-x"}


# ------------------------------------------------------------------ list and migrate


def write_stray(root: Path, name: str = "my_session", **extra: object) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / METADATA).write_text(json.dumps(shell_session(name, **extra)))
    (path / ".lock").write_text("")
    return path


def test_list_shows_odd_named_shell_sessions_with_the_reason(session_dir: Path) -> None:
    write_stray(session_dir)
    (session_dir / "not_a_session").mkdir()  # no shell metadata: not a session at all
    SessionStore().record(as_record("run-x", {"cost": 1}))
    listed = aio("session", "list", "--json")
    assert listed.code == 0, listed.err
    strays = listed.json()["not_migrated"]
    assert [s["legacy_name"] for s in strays] == ["my_session"]
    assert strays[0]["migrates_to"] == legacy_session_name("my_session").name
    assert strays[0]["interactions"] == 2 and "<command>-<feature-id>" in strays[0]["reason"]
    text = aio("session", "list")
    assert "my_session" in text.out and "aio session migrate" in text.out
    stray = next(line for line in text.out.splitlines() if "my_session ->" in line)
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", stray), stray  # ISO only in --json


def test_migrate_carries_an_odd_named_session_over(session_dir: Path) -> None:
    source = write_stray(session_dir)
    original = (source / METADATA).read_bytes()
    result = aio("session", "migrate", "--json")
    assert result.code == 0, result.err
    target = legacy_session_name("my_session").name
    assert result.json()["migrated"] == [target] and result.json()["skipped"] == []
    assert not source.exists()
    assert (session_dir / target / "metadata.legacy.json").read_bytes() == original
    view = SessionStore().load(target)
    assert view.summary.to_json()["interaction_count"] == 2 and view.problems == []
    assert view.summary.to_json()["legacy_name"] == "my_session"
    assert legacy_strays(SessionStore()) == []
    again = aio("session", "migrate", "--json").json()
    assert again["migrated"] == [] and again["already_current"] == 1


def test_migrate_rerun_after_a_crash_before_removal_adds_nothing(session_dir: Path) -> None:
    write_stray(session_dir)
    migrate_store(SessionStore())
    target = legacy_session_name("my_session").name
    write_stray(session_dir)  # as if the old directory had not been removed yet
    report = migrate_store(SessionStore())
    assert report.skipped == [] and not (session_dir / "my_session").exists()
    assert SessionStore().load(target).summary.to_json()["interaction_count"] == 2


def test_migrate_rename_and_a_busy_session(session_dir: Path) -> None:
    write_stray(session_dir, "first.one")
    busy = write_stray(session_dir, "second_one")
    with locks.locked(busy / ".lock", timeout=None):
        report = migrate_store(SessionStore(), parse_renames(["first.one=plan-first"]))
    assert [m["session_name"] for m in report.migrated] == ["plan-first"]
    assert report.skipped[0][0] == "second_one" and "busy" in report.skipped[0][1]
    assert busy.exists() and json.loads((busy / METADATA).read_text())["session_name"]
    with pytest.raises(InvalidInput, match="--rename"):
        migrate_store(SessionStore(), parse_renames(["missing=plan-x"]))


def test_migrate_keeps_records_that_fit_no_shape_instead_of_half_converting(
    session_dir: Path,
) -> None:
    odd = {**SHELL_CALL, "surprise": "field"}
    ours = {"timestamp": "2026-10-03T00:00:00Z", "agent": "gemini", "task_id": "T9.9"}
    path = session_dir / "implement-payment-gateway"
    path.mkdir(parents=True)
    metadata = dict(LEGACY_METADATA, interactions=[*LEGACY_METADATA["interactions"], odd, ours])
    (path / METADATA).write_text(json.dumps(metadata))
    report = migrate_store(SessionStore())
    assert report.migrated[0]["unusable"] == 1
    kept = [
        json.loads(line) for line in (path / "interactions.corrupt.jsonl").read_text().splitlines()
    ]
    assert kept == [odd]
    records = [r.to_json() for r in SessionStore().read_log("implement-payment-gateway").records]
    assert [r.get("task_id") for r in records] == [None, None, "T9.9"]
    assert records[2]["agent"] == "gemini"
    assert os.path.exists(path / "metadata.legacy.json")


def test_import_then_migrate_of_the_same_session_adds_nothing_twice(session_dir: Path) -> None:
    apply_import(SessionStore(), plan_import(json.dumps([shell_session("my_session")])))
    write_stray(session_dir)
    report = migrate_store(SessionStore())
    target = legacy_session_name("my_session").name
    assert [m["session_name"] for m in report.migrated] == [target]
    assert SessionStore().load(target).summary.to_json()["interaction_count"] == 2
    assert not (session_dir / "my_session").exists()


# A dot-directory the shell's sanitiser allowed, and the root its --session-name . wrote to.
DOT_STRAYS = {".notes": "legacy-notes-18c5a204", ".": "legacy-cdb4ee2a"}


def write_dot_strays(root: Path) -> None:
    write_stray(root, ".notes")
    root.mkdir(parents=True, exist_ok=True)
    (root / METADATA).write_text(json.dumps(shell_session(".")))
    (root / ".lock").write_text("")
    # aio's own dot-entries are never sessions, whatever they hold (an earlier version's
    # trash in its exact shape, this version's, a temp file).
    for own in (
        ".trash-plan-x-123-ab12cd34",
        ".aio+trash-plan-x-1-ab12cd34",
        ".metadata.json.tmp-1-ab",
    ):
        write_stray(root, own)


def test_dot_named_and_root_shell_sessions_map_as_import_does(session_dir: Path) -> None:
    plan = plan_import(json.dumps([shell_session(n) for n in DOT_STRAYS]))
    assert plan.renamed == {v: k for k, v in DOT_STRAYS.items()}
    assert {n: legacy_session_name(n).name for n in DOT_STRAYS} == DOT_STRAYS


def test_list_shows_dot_named_and_root_shell_sessions(session_dir: Path) -> None:
    write_dot_strays(session_dir)
    listed = aio("session", "list", "--json")
    assert listed.code == 0, listed.err
    strays = {s["legacy_name"]: s for s in listed.json()["not_migrated"]}
    assert {n: s["migrates_to"] for n, s in strays.items()} == DOT_STRAYS
    assert all(s["interactions"] == 2 for s in strays.values())
    assert "root" in strays["."]["reason"]
    text = aio("session", "list")
    assert ".notes" in text.out and "legacy-cdb4ee2a" in text.out


def test_migrate_carries_dot_named_and_root_shell_sessions_over(session_dir: Path) -> None:
    write_dot_strays(session_dir)
    root_original = (session_dir / METADATA).read_bytes()
    result = aio("session", "migrate", "--json")
    assert result.code == 0, result.err
    assert sorted(result.json()["migrated"]) == sorted(DOT_STRAYS.values())
    assert result.json()["skipped"] == []
    assert not (session_dir / ".notes").exists()
    assert not (session_dir / METADATA).exists() and not (session_dir / ".lock").exists()
    assert session_dir.is_dir() and (session_dir / ".trash-plan-x-123-ab12cd34").is_dir()
    target = session_dir / DOT_STRAYS["."]
    assert (target / "metadata.legacy.json").read_bytes() == root_original
    for original, name in DOT_STRAYS.items():
        summary = SessionStore().load(name).summary.to_json()
        assert summary["interaction_count"] == 2 and summary["legacy_name"] == original
    assert legacy_strays(SessionStore()) == []
    again = aio("session", "migrate", "--json").json()
    assert again["migrated"] == [] and again["already_current"] == 2


def test_migrate_rename_of_a_dot_named_and_the_root_session(session_dir: Path) -> None:
    write_dot_strays(session_dir)
    result = aio(
        "session", "migrate", "--rename", ".notes=plan-notes", "--rename", ".=plan-root", "--json"
    )
    assert result.code == 0, result.err
    assert sorted(result.json()["migrated"]) == ["plan-notes", "plan-root"]
    assert SessionStore().load("plan-notes").summary.to_json()["interaction_count"] == 2
    own = aio("session", "migrate", "--rename", ".trash-plan-x-123-ab12cd34=plan-t")
    assert own.code == 2 and "no shell-version session" in own.err

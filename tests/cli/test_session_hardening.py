"""``aio session`` under bad values, unreadable sessions, loose modes, races and closed
stdin: one-line errors with the documented exit codes, and nothing silently dropped."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.lifecycle import delete_session
from tests.helpers import aio_inprocess as aio
from tests.helpers import as_record, interaction


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def one_line_error(err: str) -> bool:
    return "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.fixture
def two(session_dir: Path) -> SessionStore:
    store = SessionStore()
    store.record(as_record("plan-alpha", interaction(cost=0.5)))
    store.record(as_record("review-beta", interaction(cost=0.25)))
    return store


# ------------------------------------------------------------------ gap 5: bad values


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e10", "1000000", "0", "-1", "abc"])
@pytest.mark.parametrize(
    "command", [["list", "--active"], ["stats"], ["export", "--active", "-o", "-"]]
)
def test_bad_days_are_exit_2(two: SessionStore, command: list[str], value: str) -> None:
    result = aio("session", *command, "--days", value)
    assert result.code == 2, result.err
    assert "internal error" not in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("value", ["nan", "inf", "1e10", "-1"])
def test_bad_older_than_is_exit_2(two: SessionStore, session_dir: Path, value: str) -> None:
    result = aio("session", "clean", "--older-than", value, "--yes")
    assert result.code == 2, result.err
    assert (session_dir / "plan-alpha").is_dir()


def test_a_century_is_the_longest_window(two: SessionStore) -> None:
    assert aio("session", "list", "--days", "36500", "--json").code == 0
    assert aio("session", "clean", "--older-than", "36500", "--dry-run").code == 0


@pytest.mark.parametrize("target", ["missing/dir/x.json", "a-directory"])
def test_export_to_an_unusable_path_is_one_line_exit_2(
    two: SessionStore, tmp_path: Path, target: str
) -> None:
    (tmp_path / "a-directory").mkdir()
    result = aio("session", "export", "--output", str(tmp_path / target))
    assert result.code == 2, result.err
    assert one_line_error(result.err) and ".tmp-" not in result.err
    assert str(tmp_path / target) in result.err
    assert list(tmp_path.glob("**/.*tmp-*")) == []


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_session_dir_below_a_regular_file_is_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    env = {**os.environ, "SESSION_DIR": str(blocker / "sessions")}
    import subprocess
    import sys

    for args in (["list"], ["stats", "--json"], ["record", "run-x"], ["export"]):
        proc = subprocess.run(
            [sys.executable, "-m", "ai_orchestrator", "session", *args],
            input="{}",
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert proc.returncode == 1, (args, proc.stderr)
        assert one_line_error(proc.stderr) and "not a directory" in proc.stderr.lower()
        if "--json" in args:  # the error as a JSON object too (issue 12)
            assert json.loads(proc.stdout)["exit_code"] == 1
        else:
            assert proc.stdout == ""
        assert "internal error" not in proc.stderr


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_session_dir_with_missing_parents_is_created_privately(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = tmp_path / "a" / "b" / "sessions"
    proc = subprocess.run(
        [sys.executable, "-m", "ai_orchestrator", "session", "record", "run-x"],
        input='{"cost": 0.5}',
        capture_output=True,
        text=True,
        env={**os.environ, "SESSION_DIR": str(root)},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert mode(root) == 0o700 and (root / "run-x" / "interactions.jsonl").exists()


# ------------------------------------------------------------------ gap 6: unreadable


@pytest.fixture
def unreadable(two: SessionStore, session_dir: Path, tmp_path: Path) -> list[str]:
    """Four sessions that cannot be read safely next to two good ones."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (session_dir / "run-linked").symlink_to(elsewhere)
    (session_dir / "run-file").write_text("not a directory")
    two.record(as_record("run-meta", interaction()))
    meta = session_dir / "run-meta" / "metadata.json"
    target = tmp_path / "meta.json"
    target.write_text(meta.read_text())
    meta.unlink()
    meta.symlink_to(target)
    names = ["run-meta"]  # run-file and run-linked are not aio's (``foreign_shapes``)
    if os.geteuid() == 0:  # only root can hand a directory to another user
        two.record(as_record("run-foreign", interaction()))
        os.chown(session_dir / "run-foreign", 4242, 4242)
        names.append("run-foreign")
    return sorted(names)


def test_export_names_unreadable_sessions_and_fails(unreadable: list[str]) -> None:
    result = aio("session", "export")
    assert result.code == 1
    exported = json.loads(result.out)  # still a complete document
    assert [s["session_name"] for s in exported] == ["plan-alpha", "review-beta"]
    for name in unreadable:
        assert f"{name}: not exported" in result.err
    assert "export incomplete" in result.err
    skipped = aio("session", "export", "--skip-unreadable", "--format", "csv")
    assert skipped.code == 0 and "not exported" in skipped.err


def test_export_to_a_file_with_unreadable_sessions_fails_but_keeps_the_rest(
    unreadable: list[str], tmp_path: Path
) -> None:
    target = tmp_path / "backup.json"
    result = aio("session", "export", "-o", str(target))
    assert result.code == 1
    assert len(json.loads(target.read_text())) == 2


def test_json_reads_list_unreadable_sessions(unreadable: list[str]) -> None:
    listing = aio("session", "list", "--json").json()
    assert [u["session_name"] for u in listing["unreadable"]] == unreadable
    assert all(u["error"] for u in listing["unreadable"])
    assert listing["total_sessions"] == 2
    assert [(f["name"], f["kind"]) for f in listing["not_aio"]] == [
        ("run-file", "file"),
        ("run-linked", "symbolic link"),
    ]
    stats = aio("session", "stats", "--json").json()
    assert [u["session_name"] for u in stats["unreadable"]] == unreadable
    text = aio("session", "stats")
    assert text.code == 0 and all(f"Unreadable: {n}" in text.out for n in unreadable)


# ------------------------------------------------------------------ gap 7: torn tail


def test_torn_last_line_is_reported_until_repaired(two: SessionStore, session_dir: Path) -> None:
    with open(session_dir / "plan-alpha" / "interactions.jsonl", "ab") as handle:
        handle.write(b'{"id": "half-writ')
    for _ in range(3):
        problems = aio("session", "show", "plan-alpha", "--json").json()["problems"]
        assert any("torn last line" in p for p in problems), problems
        listed = aio("session", "list", "--json").json()["sessions"]
        assert any("torn last line" in p for s in listed for p in s["problems"])
    aio("session", "repair", "plan-alpha")
    assert aio("session", "show", "plan-alpha", "--json").json()["problems"] == []
    quarantine = session_dir / "plan-alpha" / "interactions.corrupt.jsonl"
    assert quarantine.read_bytes() == b'{"id": "half-writ\n'


# ------------------------------------------------------------------ gap 8: modes, leftovers


def test_loose_index_and_lock_are_tightened(two: SessionStore, session_dir: Path) -> None:
    assert aio("session", "list").code == 0  # builds the index
    index = session_dir / "index.sqlite"
    os.chmod(index, 0o644)
    assert aio("session", "list", "--json").code == 0
    assert mode(index) == 0o600
    lock = session_dir / "plan-alpha" / ".lock"
    os.chmod(lock, 0o644)
    assert aio("session", "show", "plan-alpha").code == 0
    assert mode(lock) == 0o600
    os.chmod(index, 0o666)
    report = aio("session", "repair", "review-beta", "--json").json()
    assert mode(index) == 0o600 and report["modes_fixed"] >= 1


def test_a_fresh_store_with_loose_lock_is_tightened_by_list(session_dir: Path) -> None:
    SessionStore().record(as_record("run-x", interaction()))
    os.chmod(session_dir / "run-x" / ".lock", 0o644)
    assert aio("session", "list", "--json").code == 0
    assert mode(session_dir / "run-x" / ".lock") == 0o600


def leftovers(session_dir: Path) -> list[Path]:
    tmp = session_dir / "plan-alpha" / ".metadata.json.tmp-123-abcd"
    tmp.write_text("{}")
    trash = session_dir / ".trash-run-gone-123-abcd1234"  # an earlier version's, exact shape
    trash.mkdir()
    for name in ("metadata.json", "interactions.jsonl", ".lock"):
        (trash / name).write_text("")
    return [tmp, trash]


def test_repair_removes_stray_temp_files_and_trash(two: SessionStore, session_dir: Path) -> None:
    paths = leftovers(session_dir)
    keep = session_dir / "plan-alpha" / "notes.txt"
    keep.write_text("mine")
    report = aio("session", "repair", "plan-alpha", "--json").json()
    assert report["temp_files_removed"] == 1 and report["trash_removed"] == 1
    assert not any(p.exists() for p in paths) and keep.exists()


def test_clean_removes_leftovers_even_with_nothing_to_delete(
    two: SessionStore, session_dir: Path
) -> None:
    paths = leftovers(session_dir)
    report = aio("session", "clean", "--older-than", "30", "--json").json()
    assert report["removed"] == [] and report["schema_version"] == 1
    assert report["temp_files_removed"] == 1 and report["trash_removed"] == 1
    assert not any(p.exists() for p in paths)
    assert aio("session", "show", "plan-alpha", "--json").json()["interaction_count"] == 1


# ------------------------------------------------------------------ gap 9: clean race


def test_delete_rechecks_last_use_under_the_locks(session_dir: Path) -> None:
    store = SessionStore()
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    store.record(as_record("run-old", interaction(timestamp=old)))
    listed_at = datetime.now(UTC)
    # Between listing (the session looked 40 days old) and deleting, it is used again.
    store.record(as_record("run-old", interaction()))
    assert delete_session(store, "run-old", idle_days=30, now=listed_at) is False
    assert store.load("run-old").summary.to_json()["interaction_count"] == 2
    store.record(as_record("run-older", interaction(timestamp=old)))
    assert delete_session(store, "run-older", idle_days=30) is True
    assert not (session_dir / "run-older").exists()


# ------------------------------------------------------------------ gap 10: closed stdin


@pytest.mark.parametrize(
    "args",
    [["clean", "--older-than", "0"], ["delete", "plan-alpha"]],
)
def test_no_answer_on_stdin_deletes_nothing_and_exits_0(
    two: SessionStore, session_dir: Path, args: list[str]
) -> None:
    result = aio("session", *args, input="")
    assert result.code == 0, result.err
    assert "--yes" in result.err and "aborted" not in result.err
    assert (session_dir / "plan-alpha").is_dir() and (session_dir / "review-beta").is_dir()


def test_answer_on_stdin_is_still_honoured(two: SessionStore, session_dir: Path) -> None:
    assert aio("session", "delete", "plan-alpha", input="yes\n").code == 0
    assert not (session_dir / "plan-alpha").exists()


# ------------------------------------------------------------------ gap 12: JSON documents


def test_every_json_document_has_a_schema_version(two: SessionStore, tmp_path: Path) -> None:
    exported = tmp_path / "e.json"
    exported.write_text(aio("session", "export").out)
    documents = [
        aio("session", "record", "run-x", input='{"cost": 1}'),
        aio("session", "import", str(exported), "--json"),
        aio("session", "migrate", "--json"),
        aio("session", "repair", "plan-alpha", "--json"),
        aio("session", "clean", "--older-than", "1000", "--json"),
        aio("session", "clean", "--older-than", "1000", "--dry-run", "--json"),
        aio("session", "path", "--json"),
        aio("session", "path", "plan-alpha", "--json"),
        aio("session", "list", "--json"),
        aio("session", "stats", "--json"),
        aio("session", "show", "plan-alpha", "--json"),
    ]
    for result in documents:
        assert result.code == 0, result.err
        assert result.json()["schema_version"] == 1, result.out


def test_path_json(two: SessionStore, session_dir: Path) -> None:
    data = aio("session", "path", "plan-alpha", "--json").json()
    assert data["path"] == str(session_dir / "plan-alpha") and data["exists"] is True
    assert aio("session", "path", "--json").json()["session_dir"] == str(session_dir)

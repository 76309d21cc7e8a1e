from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ai_orchestrator.core.errors import InvalidInput, NotFound, SessionBusy, UnsafeStore
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.lifecycle import delete_session, repair_session
from ai_orchestrator.store.session_store import LOG, METADATA
from tests.helpers import as_record, interaction


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_record_creates_private_layout_and_exact_totals(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("implement-auth", interaction(task_id="T1.1")))
    store.record(
        as_record("implement-auth", interaction(cost=0.5, tokens={"input": 1, "output": 2}))
    )
    path = session_dir / "implement-auth"
    assert mode(session_dir) == 0o700
    assert mode(path) == 0o700
    for name in (METADATA, LOG, ".lock"):
        assert mode(path / name) == 0o600, name
    view = store.load("implement-auth")
    s = view.summary.to_json()
    assert s["interaction_count"] == 2
    assert s["tokens"] == {
        "input": 101,
        "output": 52,
        "cache_read": 1000,
        "cache_write": 200,
        "reasoning": 0,
    }
    assert s["cost"] == pytest.approx(0.5125)
    assert s["by_model"]["claude-sonnet-4-5"]["interactions"] == 2
    assert view.problems == []
    lines = (path / LOG).read_text().splitlines()
    assert [json.loads(line)["cost"] for line in lines] == [0.0125, 0.5]


def test_summary_equals_rebuild_from_log(session_dir: Path) -> None:
    store = SessionStore()
    for i in range(7):
        store.record(
            as_record(
                "plan-x",
                interaction(cost=i / 10, outcome="success" if i % 3 else "error:api_error"),
            )
        )
    maintained = json.loads((session_dir / "plan-x" / METADATA).read_text())
    (session_dir / "plan-x" / METADATA).unlink()
    rebuilt = store.load("plan-x").summary.to_json()
    for key in ("interaction_count", "tokens", "cost", "failed_interactions", "by_model"):
        assert rebuilt[key] == maintained[key], key


def test_secrets_are_redacted_everywhere_in_the_record(session_dir: Path) -> None:
    store = SessionStore()
    secret = "sk-ant-api03-" + "A" * 40
    store.record(
        as_record(
            "run-x",
            interaction(
                prompt=f"use ANTHROPIC_API_KEY={secret} and Authorization: Bearer abc.def",
                response_preview=f"key was {secret}",
            ),
        )
    )
    raw = (session_dir / "run-x" / LOG).read_text()
    assert secret not in raw
    assert "abc.def" not in raw
    assert "[REDACTED:" in raw
    json.loads(raw)  # still valid JSON


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"tokens": {"input": -1}}, "tokens.input"),
        ({"tokens": {"input": "10"}}, "tokens.input"),
        ({"tokens": [1, 2]}, "tokens"),
        ({"cost": "free"}, "cost"),
        ({"cost": float("nan")}, "cost"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"session_name": "plan-other"}, "session_name"),
        ({"duration_ms": True}, "duration_ms"),
    ],
)
def test_invalid_interactions_are_refused_and_nothing_written(
    session_dir: Path, bad: dict[str, object], field: str
) -> None:
    store = SessionStore()
    with pytest.raises(InvalidInput, match=field.replace(".", r"\.")):
        store.record(as_record("run-x", interaction(**bad)))
    assert not (session_dir / "run-x").exists()


def test_stale_summary_is_rebuilt_and_repaired(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("run-x", interaction(cost=1.0)))
    meta = session_dir / "run-x" / METADATA
    before = meta.read_bytes()
    store.record(as_record("run-x", interaction(cost=2.0)))
    meta.write_bytes(before)  # simulate a crash between the append and the summary write
    view = store.load("run-x")
    assert view.summary.to_json()["interaction_count"] == 2
    assert view.summary.to_json()["cost"] == pytest.approx(3.0)
    assert any("out of date" in p for p in view.problems)
    # load() wrote the repaired summary back: the next load is clean.
    assert store.load("run-x").problems == []


def test_torn_last_line_is_ignored_reported_and_never_fused(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("run-x", interaction(cost=1.0)))
    log = session_dir / "run-x" / LOG
    with open(log, "ab") as handle:
        handle.write(b'{"id": "half-writ')  # a writer killed mid-append
    view = store.load("run-x")
    assert view.summary.to_json()["interaction_count"] == 1
    assert any("torn last line" in p for p in view.problems)
    store.record(as_record("run-x", interaction(cost=2.0)))
    view = store.load("run-x")
    assert view.summary.to_json()["interaction_count"] == 2
    assert view.summary.to_json()["cost"] == pytest.approx(3.0)
    assert b'{"id": "half-writ' in log.read_bytes()  # kept, not deleted
    assert any("unreadable line" in p for p in view.problems)


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[]", b'{"schema_version": 1}', b'{"tokens": "lots"}', b"\xff\xfe"],
)
def test_corrupt_metadata_is_flagged_and_rebuilt(session_dir: Path, content: bytes) -> None:
    store = SessionStore()
    store.record(as_record("run-x", interaction(cost=1.0)))
    (session_dir / "run-x" / METADATA).write_bytes(content)
    view = store.load("run-x")
    assert view.summary.to_json()["interaction_count"] == 1
    assert view.problems
    assert (session_dir / "run-x" / LOG).stat().st_size > 0


def test_corrupt_and_wrong_type_lines_are_skipped_not_deleted(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("run-x", interaction(cost=1.0)))
    log = session_dir / "run-x" / LOG
    with open(log, "ab") as handle:
        handle.write(b"garbage\n")
        handle.write(b'{"tokens": {"input": "many"}}\n')
        handle.write(b"[1,2,3]\n")
    store.record(as_record("run-x", interaction(cost=2.0)))
    view = store.load("run-x")
    assert view.summary.to_json()["interaction_count"] == 2
    assert view.summary.to_json()["corrupt_lines"] == 3
    report = repair_session(store, "run-x")
    assert report["quarantined_lines"] == 3
    quarantine = (session_dir / "run-x" / "interactions.corrupt.jsonl").read_bytes()
    assert b"garbage" in quarantine and b"[1,2,3]" in quarantine
    view = store.load("run-x")
    assert view.problems == [] and view.summary.to_json()["interaction_count"] == 2


def test_loose_modes_are_tightened(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("run-x", interaction()))
    path = session_dir / "run-x"
    os.chmod(session_dir, 0o755)
    os.chmod(path, 0o777)
    os.chmod(path / METADATA, 0o644)
    os.chmod(path / LOG, 0o666)
    store.load("run-x")
    assert mode(session_dir) == 0o700
    assert mode(path) == 0o700
    assert mode(path / METADATA) == 0o600
    store.record(as_record("run-x", interaction()))
    assert mode(path / LOG) == 0o600


def test_store_root_symlink_to_other_user_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    os.chown(target, 4242, 4242)
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(UnsafeStore, match="owned by uid 4242"):
        SessionStore(link)


def test_store_root_owned_by_other_user_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "theirs"
    root.mkdir(mode=0o700)
    os.chown(root, 4242, 4242)
    store = SessionStore(root)
    with pytest.raises(UnsafeStore, match="uid 4242"):
        store.record(as_record("run-x", interaction()))
    with pytest.raises(UnsafeStore):
        store.names()


def test_symlinked_session_dir_and_files_are_refused(session_dir: Path, tmp_path: Path) -> None:
    store = SessionStore()
    store.record(as_record("run-a", interaction()))
    outside = tmp_path / "outside"
    outside.mkdir()
    (session_dir / "run-b").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeStore):
        store.record(as_record("run-b", interaction()))
    (session_dir / "run-a" / LOG).unlink()
    (session_dir / "run-a" / LOG).symlink_to(outside / "stolen.jsonl")
    with pytest.raises(UnsafeStore):
        store.record(as_record("run-a", interaction()))
    assert not (outside / "stolen.jsonl").exists()
    assert list(outside.iterdir()) == []


def test_run_lock_excludes_second_holder_and_names_it(session_dir: Path) -> None:
    store = SessionStore()
    lock = store.run_lock("implement-x", timeout=1, command="aio implement x --task T1.1")
    try:
        holder = store.holder("implement-x")
        assert holder is not None
        assert holder.pid == os.getpid()
        assert holder.command == "aio implement x --task T1.1"
        with pytest.raises(SessionBusy, match=r"pid \d+.*aio implement x"):
            store.run_lock("implement-x", timeout=0.2)
        # Recording is still possible while the run lock is held (separate lock).
        store.record(as_record("implement-x", interaction()))
        with pytest.raises(SessionBusy):
            delete_session(store, "implement-x")
    finally:
        lock.release()
    assert store.holder("implement-x") is None
    delete_session(store, "implement-x")
    assert not (session_dir / "implement-x").exists()


def test_delete_and_missing(session_dir: Path) -> None:
    store = SessionStore()
    with pytest.raises(NotFound):
        store.load("run-missing")
    with pytest.raises(NotFound):
        delete_session(store, "run-missing")
    store.record(as_record("run-x", interaction()))
    delete_session(store, "run-x")
    assert store.names() == []
    assert [p.name for p in session_dir.iterdir()] == []


def test_names_ignore_foreign_entries(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("run-x", interaction()))
    (session_dir / "todos.jsonl").write_text("")
    (session_dir / "Not_A_Session").mkdir()
    (session_dir / ".trash-run-y-1").mkdir()
    assert store.names() == ["run-x"]


def _blocked_on(lock: Path) -> bool:
    """True once some process waits in flock(2) for ``lock`` (Linux /proc/locks)."""
    st = os.stat(lock)
    inode = f":{st.st_ino} "
    with open("/proc/locks") as handle:
        return any("->" in line and inode in line for line in handle)


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs /proc/locks")
def test_a_writer_waiting_through_a_delete_records_into_a_new_session(
    session_dir: Path,
) -> None:
    """Deleting renames the directory away under the write lock; a writer that was waiting
    for that lock must not append into the renamed (soon removed) directory."""
    import threading
    import time

    from ai_orchestrator.infra import locks

    store = SessionStore()
    store.record(as_record("run-x", interaction(cost=1.0)))
    path = session_dir / "run-x"
    held = locks.acquire(path / locks.WRITE_LOCK, timeout=None)
    writer = threading.Thread(
        target=store.record, args=(as_record("run-x", interaction(cost=2.0)),)
    )
    writer.start()
    deadline = time.monotonic() + 10
    while not _blocked_on(path / locks.WRITE_LOCK):
        assert time.monotonic() < deadline, "the writer never waited for the lock"
        time.sleep(0.01)
    trash = session_dir / ".trash-run-x"
    os.rename(path, trash)  # what delete does while it holds the locks
    held.release()
    writer.join(10)
    assert not writer.is_alive()
    assert store.load("run-x").summary.to_json()["cost"] == 2.0  # started over in a new directory
    assert SessionStore(session_dir).names() == ["run-x"]
    assert len((trash / LOG).read_text().splitlines()) == 1  # nothing went to the trash


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_recording_and_reading_do_not_import_the_shell_version_converter(
    session_dir: Path,
) -> None:
    """Every ``aio run`` records; the converter is for shell-version sessions only."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ai_orchestrator.core.names import parse_session_name\n"
        "from ai_orchestrator.store import SessionStore\n"
        "from ai_orchestrator.store.records import normalize_interaction\n"
        "s = SessionStore()\n"
        "x = parse_session_name('run-x')\n"
        "s.record(normalize_interaction({'cost': 1}, x))\n"
        "s.record(normalize_interaction({'cost': 2}, x))\n"
        "assert s.load('run-x').summary.to_json()['cost'] == 3\n"
        "print('ai_orchestrator.store.legacy' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "False"

"""A session is what aio made: everything else in SESSION_DIR is listed once as not aio's,
never written into, never removed (issue 18). Each test here failed before the marker rule.

The foreign shapes are a class, not one example: a project folder, a git repository, a folder
holding only ``.lock``, an empty folder, a symbolic link to a folder, a file named like a
session, a folder with a foreign ``metadata.json``. Every command that scans or removes
(list, stats, export, clean, repair, delete, record) is run against each, and the tree is
compared byte for byte, modes and mtimes included.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ai_orchestrator.core.errors import StoreError
from ai_orchestrator.infra import locks
from ai_orchestrator.store import SessionStore, lifecycle
from ai_orchestrator.store.lifecycle import clean, delete_session, plan_clean
from ai_orchestrator.store.logfile import LOG, METADATA
from ai_orchestrator.store.pending import PENDING
from tests.helpers import LEGACY_METADATA, as_record, interaction
from tests.helpers import aio_inprocess as aio

OLD = "2020-01-01T00:00:00Z"


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes | str | None]]:
    """Every entry under ``root`` (not following links): mode, mtime and content."""
    seen: dict[str, tuple[int, int, bytes | str | None]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                content: bytes | str | None = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                content = path.read_bytes()
            else:
                content = None
            seen[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns, content)
    return seen


def _project(path: Path) -> None:
    (path / "src").mkdir(parents=True)
    (path / "src" / "main.py").write_text("x\n")


def _git_repo(path: Path) -> None:
    (path / ".git" / "objects").mkdir(parents=True)
    (path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (path / "README.md").write_text("# mine\n")


def _only_lock(path: Path) -> None:
    path.mkdir()
    (path / ".lock").write_text("")


def _empty(path: Path) -> None:
    path.mkdir()


def _foreign_metadata(path: Path) -> None:
    path.mkdir()
    (path / METADATA).write_text(json.dumps({"name": "my tool's file", "version": 3}))


def _file(path: Path) -> None:
    path.write_text("a file named like a session\n")


FOREIGN: dict[str, Callable[[Path], None]] = {
    "my-project": _project,
    "backup-2024": _git_repo,
    "locks-only": _only_lock,
    "empty-folder": _empty,
    "tool-data": _foreign_metadata,
    "notes-file": _file,
}


@pytest.fixture
def foreign_store(session_dir: Path, tmp_path: Path) -> Path:
    """A store with two aio sessions (both old) and every foreign shape, all old."""
    store = SessionStore()
    store.record(as_record("plan-old", interaction(timestamp=OLD)))
    store.record(as_record("review-old", interaction(timestamp=OLD)))
    for name, make in FOREIGN.items():
        make(session_dir / name)
    elsewhere = tmp_path / "elsewhere"
    _project(elsewhere)
    (session_dir / "linked-folder").symlink_to(elsewhere)
    old = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
    for name in [*FOREIGN, "linked-folder"]:
        os.utime(session_dir / name, (old, old), follow_symlinks=False)
    return session_dir


def foreign_names() -> list[str]:
    return sorted([*FOREIGN, "linked-folder"])


def foreign_state(root: Path) -> dict[str, tuple[int, int, bytes | str | None]]:
    return {k: v for k, v in snapshot(root).items() if k.split("/")[0] in foreign_names()}


def test_list_names_foreign_entries_once_and_writes_nothing_into_them(
    foreign_store: Path,
) -> None:
    before = foreign_state(foreign_store)
    listing = aio("session", "list", "--json").expect(0).json()
    assert listing["total_sessions"] == 2
    assert [f["name"] for f in listing["not_aio"]] == foreign_names()
    assert listing["unreadable"] == []
    text = aio("session", "list").expect(0)
    assert "Not aio's: 7 entries" in text.out
    assert text.out.count("backup-2024/") == 1 and "notes-file:" in text.out
    stats = aio("session", "stats", "--json").expect(0).json()
    assert [f["name"] for f in stats["not_aio"]] == foreign_names()
    assert stats["unreadable"] == []
    exported = aio("session", "export").expect(0).json()
    assert sorted(s["session_name"] for s in exported) == ["plan-old", "review-old"]
    assert foreign_state(foreign_store) == before  # not a .lock, not a mode, not an mtime


def test_clean_never_removes_what_aio_did_not_make(foreign_store: Path) -> None:
    before = foreign_state(foreign_store)
    report = aio("session", "clean", "--older-than", "1", "--yes", "--json").expect(0).json()
    assert report["removed"] == ["plan-old", "review-old"]
    assert [f["name"] for f in report["not_aio"]] == foreign_names()
    assert foreign_state(foreign_store) == before
    assert (foreign_store / "my-project" / "src" / "main.py").read_text() == "x\n"
    text = aio("session", "clean", "--older-than", "0", "--yes").expect(0)
    assert "Not aio's, left alone: my-project" in text.err
    assert foreign_state(foreign_store) == before


@pytest.mark.parametrize("name", foreign_names())
def test_commands_naming_a_foreign_entry_refuse_and_change_nothing(
    foreign_store: Path, name: str
) -> None:
    before = foreign_state(foreign_store)
    for args in (
        ("show", name),
        ("repair", name),
        ("delete", name, "--yes"),
        ("migrate",),
    ):
        result = aio("session", *args)
        assert "Traceback" not in result.err, (args, result.err)
        assert foreign_state(foreign_store) == before, args
    shown = aio("session", "show", name)
    assert shown.code != 0
    assert "not an aio session" in shown.err or "symbolic link" in shown.err, shown.err
    recorded = aio("session", "record", name, input=json.dumps(interaction()))
    assert recorded.code != 0
    assert foreign_state(foreign_store) == before


def test_every_kind_of_aio_session_still_qualifies(session_dir: Path) -> None:
    """Sessions of every earlier version and of the shell version count, also one whose
    run was killed before its first record."""
    store = SessionStore()
    store.record(as_record("plan-current", interaction()))
    shell = session_dir / "implement-payment-gateway"
    shell.mkdir()
    (shell / METADATA).write_text(json.dumps(LEGACY_METADATA))
    (shell / ".lock").write_text("")
    no_jq = session_dir / "review-nojq"  # the shell version without jq: five keys
    no_jq.mkdir()
    five = {k: LEGACY_METADATA[k] for k in ("created_at", "last_used", "session_id", "command")}
    (no_jq / METADATA).write_text(json.dumps({**five, "session_name": "review-nojq"}))
    bc = session_dir / "plan-bc"  # bc's ".000048"
    bc.mkdir()
    (bc / METADATA).write_bytes(
        b'{"session_id":"s1","command":"claude","interactions":[{"timestamp":'
        b'"2026-10-01T10:00:00Z","model":"m","tokens":{"input":1,"output":3},"cost":.000048}]}'
    )
    killed = session_dir / "implement-killed"  # an earlier aio killed mid-run: no log yet
    killed.mkdir()
    (killed / locks.RUN_LOCK).write_text(
        '{"pid": 1, "host": "h", "command": "aio", "since": "x"}\n'
    )
    (killed / locks.WRITE_LOCK).write_text("")
    (killed / PENDING).write_text(
        json.dumps(
            {
                "schema_version": 1,
                "record_id": "r1",
                "todo_id": "t1",
                "agent": "claude",
                "cwd": "/",
                "started_at": "2026-10-01T10:00:00Z",
            }
        )
    )
    failed = session_dir / "run-failed"  # an earlier aio whose run failed before recording
    failed.mkdir()
    (failed / locks.RUN_LOCK).write_text("")
    locked = session_dir / "plan-locked"  # an earlier aio killed holding the write lock
    locked.mkdir()
    (locked / locks.WRITE_LOCK).write_text(
        '{"pid": 7, "host": "h", "command": "aio record", "since": "2026-10-01T10:00:00Z"}\n'
    )
    summary_only = session_dir / "plan-summary"  # log removed by hand: the summary remains
    store.record(as_record("plan-summary", interaction()))
    (summary_only / LOG).unlink()
    from ai_orchestrator.store.discovery import discover

    found = discover(session_dir)
    assert found.sessions == sorted(
        [
            "plan-current",
            "implement-payment-gateway",
            "review-nojq",
            "plan-bc",
            "implement-killed",
            "run-failed",
            "plan-summary",
            "plan-locked",
        ]
    )
    assert found.foreign == [] and found.errors == []


def test_a_shell_session_named_like_old_trash_is_a_session_and_survives(
    session_dir: Path,
) -> None:
    store = SessionStore()
    store.record(as_record("plan-old", interaction(timestamp=OLD)))
    for odd in (".trash-old", ".trash-plan-x-1-ab", "My.Notes", "a b"):
        path = session_dir / odd
        path.mkdir()
        (path / METADATA).write_text(json.dumps({**LEGACY_METADATA, "session_name": odd}))
    before = (session_dir / ".trash-old" / METADATA).read_bytes()
    listing = aio("session", "list", "--json").expect(0).json()
    strays = sorted(s["legacy_name"] for s in listing["not_migrated"])
    assert strays == [".trash-old", ".trash-plan-x-1-ab", "My.Notes", "a b"]
    assert listing["not_aio"] == []
    aio("session", "repair", "plan-old").expect(0)
    report = aio("session", "clean", "--older-than", "1", "--yes", "--json").expect(0).json()
    assert report["removed"] == ["plan-old"] and report["trash_removed"] == 0
    assert (session_dir / ".trash-old" / METADATA).read_bytes() == before
    assert all((session_dir / odd / METADATA).exists() for odd in strays)


def test_trash_of_this_and_earlier_versions_is_emptied_of_store_files_only(
    session_dir: Path,
) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    old = session_dir / ".trash-plan-gone-123-abcd1234"
    old.mkdir()
    (old / LOG).write_text("")
    (old / "my-notes.txt").write_text("mine")  # not a store file: kept
    new = session_dir / ".aio+trash-plan-gone-9-00ff00ff"
    new.mkdir()
    (new / METADATA).write_text("{}")
    report = aio("session", "clean", "--older-than", "30", "--json").expect(0).json()
    assert report["trash_removed"] == 1
    assert not new.exists()
    assert (old / "my-notes.txt").read_text() == "mine" and not (old / LOG).exists()


def test_delete_refuses_a_session_holding_files_aio_did_not_make(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    (session_dir / "plan-a" / "notes.txt").write_text("mine")
    (session_dir / "plan-a" / "drafts").mkdir()
    with pytest.raises(StoreError, match="holds entries aio did not make"):
        delete_session(store, "plan-a")
    assert (session_dir / "plan-a" / LOG).exists()
    assert (session_dir / "plan-a" / "notes.txt").read_text() == "mine"


def test_a_file_written_while_the_session_is_removed_is_kept(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user writes into the directory between the check and the rename."""
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    real = lifecycle.to_trash

    def racing(root: Path, path: Path, label: str) -> Path:
        (path / "written-meanwhile.txt").write_text("mine")
        return real(root, path, label)

    monkeypatch.setattr(lifecycle, "to_trash", racing)
    assert delete_session(store, "plan-a")
    kept = session_dir / "plan-a" / "written-meanwhile.txt"
    assert kept.read_text() == "mine"
    assert sorted(os.listdir(session_dir / "plan-a")) == ["written-meanwhile.txt"]
    assert not store.exists("plan-a")  # no longer a session: only the user's file is left
    listing = aio("session", "list", "--json").expect(0).json()
    assert [f["name"] for f in listing["not_aio"]] == ["plan-a"]


# ------------------------------------------------------------------ pending calls


def _pending(path: Path, started: datetime) -> None:
    marker = {
        "schema_version": 1,
        "record_id": "rec-pending-1",
        "todo_id": "todo-pending-1",
        "agent": "claude",
        "session_id": None,
        "resume_id": None,
        "cwd": str(path),
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": "claude-sonnet-4-5",
        "task_id": None,
        "action": "new",
        "state": {},
        "prompt": "do it",
    }
    (path / PENDING).write_text(json.dumps(marker))


def test_clean_recovers_a_pending_call_first_and_keeps_the_session(session_dir: Path) -> None:
    store = SessionStore()
    old = (datetime.now(UTC) - timedelta(days=67)).strftime("%Y-%m-%dT%H:%M:%SZ")
    store.record(as_record("implement-x", interaction(timestamp=old)))
    _pending(session_dir / "implement-x", datetime.now(UTC))
    report = aio("session", "clean", "--older-than", "30", "--yes", "--json").expect(0).json()
    assert report["removed"] == []
    assert [r["session_name"] for r in report["recovered"]] == ["implement-x"]
    assert "rec-pending-1" in report["skipped"][0]["reason"]
    records = store.read_log("implement-x").records
    assert [r.outcome for r in records] == ["success", "interrupted"]
    assert not (session_dir / "implement-x" / PENDING).exists()


def test_clean_says_it_recovered_a_call_before_removing_an_old_session(
    session_dir: Path,
) -> None:
    """aio died long ago: the call is recorded first (so nothing goes unrecorded), then the
    session, still old, is removed; the human output names the recovery."""
    store = SessionStore()
    store.record(as_record("implement-y", interaction(timestamp=OLD)))
    _pending(session_dir / "implement-y", datetime(2020, 1, 2, tzinfo=UTC))
    result = aio("session", "clean", "--older-than", "30", "--yes").expect(0)
    assert "implement-y: recovered its interrupted call rec-pending-1" in result.err
    assert "Removed: 1 session(s)" in result.err
    assert not (session_dir / "implement-y").exists()


@pytest.mark.parametrize("kind", ["file", "fifo"])
def test_clean_without_recovery_keeps_a_session_with_a_pending_call(
    session_dir: Path, kind: str
) -> None:
    store = SessionStore()
    store.record(as_record("implement-x", interaction(timestamp=OLD)))
    path = session_dir / "implement-x"
    if kind == "fifo":
        os.mkfifo(path / PENDING, 0o600)
    else:
        _pending(path, datetime.now(UTC))
    plan = plan_clean(store, 1)
    assert [r.name for r in plan.candidates] == ["implement-x"]
    report = clean(store, plan)
    assert report.removed == [] and "unrecovered call" in report.skipped[0]["reason"]
    assert path.is_dir() and os.path.lexists(path / PENDING)
    if kind == "fifo":  # the CLI tries to recover, cannot, and keeps it
        result = aio("session", "clean", "--older-than", "1", "--yes", "--json").expect(0)
        assert result.json()["removed"] == [] and path.is_dir()
        assert "could not be recovered" in result.json()["skipped"][0]["reason"]


# ------------------------------------------------------------------ modes


def test_read_commands_never_loosen_modes(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    path = session_dir / "plan-a"
    os.chmod(path / LOG, 0o400)
    os.chmod(path, 0o500)
    try:
        for args in (("list", "--json"), ("stats", "--json"), ("show", "plan-a"), ("export",)):
            aio("session", *args).expect(0)
            assert stat.S_IMODE(os.lstat(path).st_mode) == 0o500, args
            assert stat.S_IMODE(os.lstat(path / LOG).st_mode) == 0o400, args
    finally:
        os.chmod(path, 0o700)


def test_writes_never_loosen_a_store_file(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    path = session_dir / "plan-a"
    os.chmod(path / METADATA, 0o400)
    os.chmod(path / LOG, 0o400)
    os.chmod(path, 0o500 if os.geteuid() == 0 else 0o700)  # root may still write into it
    try:
        store.record(as_record("plan-a", interaction()))  # replaces the summary, appends to the log
        aio("session", "repair", "plan-a").expect(0)
        assert stat.S_IMODE(os.lstat(path / METADATA).st_mode) == 0o400
        assert stat.S_IMODE(os.lstat(path / LOG).st_mode) == 0o400
        if os.geteuid() == 0:
            assert stat.S_IMODE(os.lstat(path).st_mode) == 0o500
    finally:
        os.chmod(path, 0o700)
    assert store.load("plan-a").summary.to_json()["interaction_count"] == 2


def test_a_sticky_shared_store_root_keeps_its_mode(session_dir: Path) -> None:
    SessionStore().record(as_record("plan-a", interaction()))
    os.chmod(session_dir, 0o1777)
    for args in (("list", "--json"), ("stats", "--json"), ("show", "plan-a")):
        aio("session", *args).expect(0)
        assert stat.S_IMODE(os.lstat(session_dir).st_mode) == 0o1777, args
    aio("session", "record", "plan-a", input=json.dumps(interaction())).expect(0)
    assert stat.S_IMODE(os.lstat(session_dir).st_mode) == 0o1777


# ------------------------------------------------------------------ unreadable log


def test_list_marks_a_session_with_an_unreadable_log_unreadable(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore()
    store.record(as_record("plan-a", interaction()))
    store.record(as_record("plan-b", interaction()))
    aio("session", "list", "--json").expect(0)  # the index caches both rows
    log = session_dir / "plan-a" / LOG
    os.chmod(log, 0o000)
    if os.geteuid() == 0:  # root reads anything: make the open fail as it does for a user
        real_open = os.open

        def denying(path: object, flags: int, *args: object, **kw: object) -> int:
            if str(path) == str(log):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_open(path, flags, *args, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "open", denying)
    assert aio("session", "show", "plan-a").code != 0
    listing = aio("session", "list", "--json").expect(0).json()
    assert [s["session_name"] for s in listing["sessions"]] == ["plan-b"]
    assert [u["session_name"] for u in listing["unreadable"]] == ["plan-a"]
    stats = aio("session", "stats", "--json").expect(0).json()
    assert [u["session_name"] for u in stats["unreadable"]] == ["plan-a"]


# ------------------------------------------------------------------ failed first write


@pytest.mark.parametrize("failure", ["lock-open", "lock-emfile", "summary-write"])
def test_a_failed_first_write_leaves_nothing_behind(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    store = SessionStore()
    store.record(as_record("plan-keep", interaction()))
    before = sorted(os.listdir(session_dir))
    if failure.startswith("lock"):
        code = errno.EACCES if failure == "lock-open" else errno.EMFILE

        def refuse(*args: object, **kwargs: object) -> locks.HeldLock:
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(locks, "acquire", refuse)
    else:
        from ai_orchestrator.store import session_store

        def full(*args: object, **kwargs: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(session_store, "atomic_write", full)
    with pytest.raises(OSError):
        store.record(as_record("plan-new", interaction()))
    assert sorted(os.listdir(session_dir)) == before
    assert not store.exists("plan-new")


def test_a_failed_first_write_out_of_file_descriptors_leaves_no_trash(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary write fails, then undoing the creation cannot list a directory
    (EMFILE): it still leaves neither the session nor a trash directory."""
    from ai_orchestrator.store import session_store

    store = SessionStore()
    store.record(as_record("plan-keep", interaction()))
    before = sorted(os.listdir(session_dir))
    real_listdir = os.listdir

    def full(*args: object, **kwargs: object) -> None:
        def no_fds(path: object = ".") -> list[str]:
            if "aio+trash" in str(path):
                raise OSError(errno.EMFILE, "Too many open files")
            return real_listdir(path)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "listdir", no_fds)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(session_store, "atomic_write", full)
    with pytest.raises(OSError):
        store.record(as_record("plan-new", interaction()))
    monkeypatch.setattr(os, "listdir", real_listdir)
    assert sorted(os.listdir(session_dir)) == before


def test_a_session_that_cannot_be_examined_is_unreadable_not_foreign(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 0000 session directory (as a user): aio cannot tell, so it neither calls it
    foreign nor touches it; it is named as unreadable."""
    from ai_orchestrator.store.discovery import discover

    SessionStore().record(as_record("plan-a", interaction()))
    real = os.lstat

    def denied(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if "plan-a/" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "lstat", denied)
    found = discover(session_dir)
    assert found.sessions == [] and found.foreign == []
    assert [name for name, _ in found.errors] == ["plan-a"]


@pytest.mark.parametrize("failing", [LOG, METADATA, ".lock"])
@pytest.mark.parametrize("code", [errno.EIO, errno.EDQUOT, errno.ENOSPC, errno.EROFS])
def test_a_store_file_that_cannot_be_deleted_does_not_bring_the_session_back(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch, failing: str, code: int
) -> None:
    """Deleting one of aio's own files in the trash fails (any errno, any of its files): the
    removal said it removed the session, so the session must stay gone — the directory
    stays in the trash, out of the store's view, and a later clean purges it."""
    store = SessionStore()
    store.record(as_record("plan-old", interaction()))
    real_unlink = os.unlink

    def unlink(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        if os.fspath(path).endswith("/" + failing) and "+trash-" in os.fspath(path):
            raise OSError(code, os.strerror(code), os.fspath(path))
        real_unlink(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "unlink", unlink)
    assert delete_session(store, "plan-old") is True
    assert "plan-old" not in SessionStore().names()
    assert not (session_dir / "plan-old").exists()
    left = [p.name for p in session_dir.iterdir() if p.name.startswith(".aio+trash-")]
    assert len(left) == 1
    monkeypatch.setattr(os, "unlink", real_unlink)
    assert lifecycle.purge_store_trash(store) == 1
    assert not any(p.name.startswith(".aio+trash-") for p in session_dir.iterdir())


def test_a_file_someone_put_in_the_trash_brings_the_directory_back(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What aio did not make is never deleted: a user's file that appears while the session
    is being removed sends the directory back to its name, with the file in it."""
    store = SessionStore()
    store.record(as_record("plan-old", interaction()))
    real_rename = os.rename

    def rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        real_rename(src, dst)
        if "+trash-" in os.fspath(dst):
            Path(dst, "notes.txt").write_text("mine")  # written just as it moved

    monkeypatch.setattr(os, "rename", rename)
    delete_session(store, "plan-old")
    assert (session_dir / "plan-old" / "notes.txt").read_text() == "mine"


def test_clean_reports_what_it_removed_when_the_tidy_up_after_it_fails(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore()
    store.record(as_record("plan-old", interaction(timestamp="2020-01-01T00:00:00Z")))
    store.record(as_record("plan-new", interaction()))
    plan = plan_clean(store, 30)

    def refused(_store: SessionStore) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(session_dir))

    monkeypatch.setattr(lifecycle, "purge_store_trash", refused)
    report = clean(store, plan)
    assert report.removed == ["plan-old"] and not report.failed
    assert SessionStore().names() == ["plan-new"]

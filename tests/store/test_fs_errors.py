"""OS errors on store files: one line naming the file, the cause and what to do (exit 1),
and an honest acknowledgement — exit 0 means stored, anything else means not stored, and
a retry with the same id is stored once.

Real conditions where the machine allows them (a full tmpfs, a read-only remount,
another uid, a low open-file limit — root only, skipped otherwise); fault injection for
what cannot be provoked on demand (EIO, a partial write, a rollback that fails too).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.core.errors import StoreFileError
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store import session_store as session_store_module
from tests.helpers import Result, as_record, interaction
from tests.helpers import aio_inprocess as aio

NAME = "implement-disk"


def one_line(err: str) -> bool:
    return "Traceback" not in err and "internal error" not in err and len(err.splitlines()) == 1


def snapshot(path: Path) -> dict[str, bytes]:
    """The bytes of the files a record changes."""
    return {
        name: (path / name).read_bytes()
        for name in ("interactions.jsonl", "metadata.json")
        if (path / name).exists()
    }


def logged_ids(path: Path) -> list[str]:
    lines = (path / "interactions.jsonl").read_bytes().splitlines()
    return [json.loads(line)["id"] for line in lines if line.strip()]


def record(name: str, record_id: str, **fields: Any) -> Result:
    return aio("session", "record", name, input=json.dumps(interaction(id=record_id, **fields)))


# ------------------------------------------------------------------ real conditions


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"mounting is not permitted here: {done.stderr.strip()}")


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    path.mkdir()
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def store_on_tmpfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` with ``SESSION_DIR`` at ``store`` in it and one recorded call."""
    with tmpfs(tmp_path / "mnt", size) as mount:
        monkeypatch.setenv("SESSION_DIR", str(mount / "store"))
        assert record(NAME, "call-1").code == 0
        yield mount


def fill(mount: Path) -> None:
    """Use up every free block of ``mount``."""
    fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0")
    finally:
        os.close(fd)


@pytest.mark.process  # a full disk, a read-only store, ulimits: in a real process
def test_full_disk_refuses_the_record_leaves_the_store_as_before_and_a_retry_stores_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store_on_tmpfs(tmp_path, monkeypatch, "512k") as mount:
        session = mount / "store" / NAME
        fill(mount)
        before = snapshot(session)

        # The line fits into the log's last block; the new summary does not (issue 10's
        # record #581): before the fix the line stayed in the log, counted, after exit 1.
        small = record(NAME, "call-2")
        assert small.code == 1 and one_line(small.err), small.err
        assert "no space left on the device" in small.err and "free some space" in small.err
        assert "nothing was recorded" in small.err and str(session) in small.err
        assert snapshot(session) == before

        # A line larger than what is left fails part-way through the append.
        large = record(NAME, "call-3", prompt="word " * 100_000)
        assert large.code == 1 and one_line(large.err), large.err
        assert "nothing was recorded" in large.err
        assert snapshot(session) == before

        listing = aio("session", "list", "--json")
        assert listing.code == 0
        assert listing.json()["sessions"][0]["interaction_count"] == 1

        (mount / "filler").unlink()
        assert record(NAME, "call-2").json()["added"] is True
        assert record(NAME, "call-2").json()["added"] is False
        assert logged_ids(session) == ["call-1", "call-2"]
        shown = aio("session", "show", NAME, "--json").json()
        assert shown["interaction_count"] == 2 and shown["problems"] == []


@pytest.mark.process  # a full disk, a read-only store, ulimits: in a real process
def test_read_only_store_reads_and_says_truthfully_that_nothing_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store_on_tmpfs(tmp_path, monkeypatch, "4m") as mount:
        root = mount / "store"
        assert record("plan-foreign", "call-1").code == 0
        foreign = root / "plan-foreign" / "metadata.json"
        foreign.write_bytes(b"{not json")
        _mount("-o", "remount,ro", str(mount))
        try:
            listing = aio("session", "list", "--json")
            assert listing.code == 0, listing.err
            rows = {s["session_name"]: s for s in listing.json()["sessions"]}
            assert set(rows) == {NAME, "plan-foreign"}
            [problem] = rows["plan-foreign"]["problems"]
            assert "not saved: metadata.json left as it is" in problem
            assert "original kept" not in problem  # the old claim, false here

            refused = record(NAME, "call-2")
            assert refused.code == 1 and one_line(refused.err), refused.err
            assert "read-only" in refused.err and "nothing was recorded" in refused.err

            repaired = aio("session", "repair", "plan-foreign")
            assert repaired.code == 1 and one_line(repaired.err) and "read-only" in repaired.err
            assert "nothing was changed in plan-foreign" in repaired.err

            assert aio("session", "export", "-o", "-").code == 0
            assert aio("session", "stats", "--json").json()["interactions"] == 2
            clean = aio("session", "clean", "--older-than", "0", "--yes", "--json")
            # nothing to convert is nothing to do, even where no lock can be taken
            migrated = aio("session", "migrate")
            assert migrated.code == 0 and "2 already current" in migrated.err, migrated.err
            # nothing removed on a read-only disk is a failure: exit 1, each one named
            assert clean.code == 1 and "clean incomplete: 2 session(s)" in clean.err, clean.err
            assert clean.json()["removed"] == []
            assert clean.json()["failed"] == ["implement-disk", "plan-foreign"]
            assert all("read-only" in s["reason"] for s in clean.json()["skipped"])
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=False)
        assert foreign.read_bytes() == b"{not json"
        assert not list(foreign.parent.glob("metadata.corrupt-*"))
        assert logged_ids(root / NAME) == ["call-1"]


def _as_nobody(args: list[str], env: dict[str, str], stdin: str = "") -> Result:
    """Run the CLI in a forked child that has become uid 65534 (the interpreter itself
    may live where that user cannot read, so everything is imported before the switch)."""
    import io

    # the session commands import these inside their functions
    from ai_orchestrator.calls import given_record as _given  # noqa: F401
    from ai_orchestrator.cli import main as cli_main
    from ai_orchestrator.cli import session as _session  # noqa: F401  (import before setuid)
    from ai_orchestrator.store import export as _export  # noqa: F401
    from ai_orchestrator.store import index as _index  # noqa: F401
    from ai_orchestrator.store import retention as _retention  # noqa: F401
    from ai_orchestrator.store import transfer as _transfer  # noqa: F401

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 99
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdin = io.StringIO(stdin)
                sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False))
                sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False))
                os.environ.clear()
                os.environ.update(env)
                os.setgid(65534)
                os.setuid(65534)
                code = cli_main.run(cli_main.cli, args, "aio")
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return Result(os.waitstatus_to_exitcode(status), out.read().decode(), err.read().decode())


@pytest.mark.process  # a full disk, a read-only store, ulimits: in a real process
def test_a_log_owned_by_another_user_is_named_with_the_cause() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user")
    base = Path(tempfile.mkdtemp(prefix="aio-uid-"))
    try:
        base.chmod(0o755)
        (base / "store").mkdir(0o700)
        os.chown(base / "store", 65534, 65534)
        env = {**os.environ, "HOME": str(base), "SESSION_DIR": str(base / "store")}
        line = json.dumps(interaction(id="call-1"))
        for name in ("plan-mine", "plan-theirs"):
            made = _as_nobody(["session", "record", name], env, line)
            if made.code != 0:
                pytest.skip(f"cannot run aio as uid 65534 here: {made.err.strip()[:200]}")
        log = base / "store" / "plan-theirs" / "interactions.jsonl"
        os.chown(log, 0, 0)  # root's now, 0600: unreadable for the store's owner
        before = log.read_bytes()

        refused = _as_nobody(
            ["session", "record", "plan-theirs"], env, json.dumps(interaction(id="call-2"))
        )
        assert refused.code == 1 and one_line(refused.err), refused.err
        assert str(log) in refused.err and "permission denied" in refused.err
        assert "check its owner and mode" in refused.err and "nothing was recorded" in refused.err
        assert log.read_bytes() == before

        shown = _as_nobody(["session", "show", "plan-theirs", "--json"], env)
        assert shown.code == 1 and one_line(shown.err) and "permission denied" in shown.err
        exported = _as_nobody(["session", "export", "-o", "-"], env)
        assert exported.code == 1 and "permission denied" in exported.err
        assert [s["session_name"] for s in json.loads(exported.out)] == ["plan-mine"]
        assert _as_nobody(["session", "show", "plan-mine", "--json"], env).code == 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.process  # a full disk, a read-only store, ulimits: in a real process
def test_too_many_open_files_never_acknowledges_what_was_not_stored(session_dir: Path) -> None:
    """At every open-file limit the store either records (exit 0) or refuses with a clear
    line (exit 1) and stores nothing: the log holds exactly the acknowledged ids."""
    code = (
        "import resource, sys\n"
        "from ai_orchestrator.cli.main import main\n"
        "import ai_orchestrator.cli.root  # the click group, imported by main()\n"
        "import ai_orchestrator.cli.session, ai_orchestrator.store.index\n"
        "import ai_orchestrator.cli.examples, ai_orchestrator.calls.given_record\n"
        "import ai_orchestrator.infra.secret_rules  # imported lazily by redaction\n"
        "limit = int(sys.argv.pop(1))\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))\n"
        "main()\n"
    )
    assert record(NAME, "first").code == 0
    acknowledged = ["first"]
    messages = []
    for limit in range(3, 9):
        record_id = f"call-{limit}"
        done = subprocess.run(
            [sys.executable, "-c", code, str(limit), "session", "record", NAME],
            input=json.dumps(interaction(id=record_id)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode == 0:
            acknowledged.append(record_id)
        else:
            assert done.returncode == 1 and one_line(done.stderr), done.stderr
            assert "too many open files" in done.stderr
            assert "nothing was recorded" in done.stderr
            messages.append(done.stderr)
        assert logged_ids(session_dir / NAME) == acknowledged
    assert messages and len(acknowledged) > 1  # both outcomes were exercised
    assert any("metadata.json" in m for m in messages)  # incl. after the log append


def test_a_path_too_long_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_DIR", str(tmp_path / ("x" * 300)))
    for args in (["session", "list"], ["session", "record", NAME]):
        # debug off: the one line comes from the entry point's OSError net (AIO_DEBUG re-raises)
        result = aio(*args, input=json.dumps(interaction()), debug=False)
        assert result.code == 1 and one_line(result.err), result.err
        assert "the path is too long" in result.err and "shorter SESSION_DIR" in result.err


def test_a_directory_as_summary_refuses_the_record_and_changes_nothing(
    session_dir: Path,
) -> None:
    assert record(NAME, "call-1").code == 0
    summary = session_dir / NAME / "metadata.json"
    summary.unlink()
    summary.mkdir()
    before = (session_dir / NAME / "interactions.jsonl").read_bytes()
    result = record(NAME, "call-2")
    assert result.code == 1 and one_line(result.err), result.err
    assert str(summary) in result.err and "it is a directory" in result.err
    assert (session_dir / NAME / "interactions.jsonl").read_bytes() == before


# ------------------------------------------------------------------ fault injection


@pytest.fixture
def store(session_dir: Path, monkeypatch: pytest.MonkeyPatch) -> SessionStore:
    monkeypatch.setenv("AIO_FSYNC", "1")  # the fsync is part of what is under test
    store = SessionStore()
    store.record_unique(NAME, [as_record(NAME, interaction(id="call-1"))])
    return store


def test_fsync_eio_on_the_log_rolls_the_append_back(
    store: SessionStore, session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(session_dir / NAME)

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", broken)
        with pytest.raises(StoreFileError) as failure:
            store.record_unique(NAME, [as_record(NAME, interaction(id="call-2"))])
    message = str(failure.value)
    assert failure.value.errno == errno.EIO
    assert failure.value.filename == str(session_dir / NAME / "interactions.jsonl")
    assert "input/output error" in message and "nothing was recorded" in message
    assert snapshot(session_dir / NAME) == before
    assert store.record_unique(NAME, [as_record(NAME, interaction(id="call-2"))]) == 1
    assert store.record_unique(NAME, [as_record(NAME, interaction(id="call-2"))]) == 0
    assert logged_ids(session_dir / NAME) == ["call-1", "call-2"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_partial_write_is_cut_off(
    store: SessionStore, session_dir: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    before = snapshot(session_dir / NAME)
    real_write = os.write
    calls = []

    def half_then_full(fd: int, data: Any) -> int:
        calls.append(fd)
        if len(calls) == 1:
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(code, os.strerror(code))

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", half_then_full)
        with pytest.raises(StoreFileError) as failure:
            store.record_unique(NAME, [as_record(NAME, interaction(id="call-2"))])
    assert "free some space" in str(failure.value)
    assert "nothing was recorded" in str(failure.value)
    assert snapshot(session_dir / NAME) == before


def test_when_even_the_rollback_fails_the_error_says_so_and_a_retry_stores_once(
    store: SessionStore, session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_summary(path: Path, data: bytes, **_: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def no_truncate(fd: int, size: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(session_store_module, "atomic_write", no_summary)
        patch.setattr(os, "ftruncate", no_truncate)
        with pytest.raises(StoreFileError) as failure:
            store.record_unique(NAME, [as_record(NAME, interaction(id="call-2"))])
    message = str(failure.value)
    assert "may still be in interactions.jsonl" in message and "call-2" in message
    assert "nothing was recorded" not in message
    # The outcome was uncertain; the retry the message suggests stores it exactly once.
    assert store.record_unique(NAME, [as_record(NAME, interaction(id="call-2"))]) == 0
    assert store.load(NAME).summary.to_json()["interaction_count"] == 2
    assert logged_ids(session_dir / NAME) == ["call-1", "call-2"]


def test_the_lock_holder_line_is_not_needed_to_record(
    store: SessionStore, session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing who holds a lock is diagnostics: failing it must not fail the record."""

    def full(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    store.record_unique(NAME, [as_record(NAME, interaction(id="call-2"))])
    assert logged_ids(session_dir / NAME) == ["call-1", "call-2"]


def test_the_todo_log_append_is_all_or_nothing_too(
    session_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_orchestrator.store import todo_log

    todo_log.append_record({"type": "start", "id": "todo-1"})
    log = todo_log.todo_file()
    before = log.read_bytes()
    real_write = os.write

    def half_then_full(fd: int, data: Any) -> int:
        if len(data) > 1:
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", half_then_full)
        with pytest.raises(StoreFileError) as failure:
            todo_log.append_record({"type": "start", "id": "todo-2"})
    assert str(log) in str(failure.value) and "nothing was recorded" in str(failure.value)
    assert log.read_bytes() == before


# ------------------------------------------------------------------ full disk: no empty sessions


def shell_store(root: Path, sessions: int = 8, calls: int = 40) -> list[str]:
    """Shell-version sessions ``my_sess<n>`` (names that are not ``<command>-<feature>``)
    holding ``calls`` interactions each inside ``metadata.json``, as the shell wrote them."""
    from tests.helpers import LEGACY_METADATA

    names = []
    for n in range(sessions):
        name = f"my_sess{n}"
        items = [
            dict(LEGACY_METADATA["interactions"][0], prompt_preview=f"Task: T{n}.{i} " + "x" * 80)
            for i in range(calls)
        ]
        (root / name).mkdir(parents=True)
        metadata = dict(LEGACY_METADATA, session_name=name, interactions=items)
        (root / name / "metadata.json").write_text(json.dumps(metadata))
        names.append(name)
    return names


def listed() -> list[dict[str, Any]]:
    result = aio("session", "list", "--json")
    assert result.code == 0, result.err
    sessions: list[dict[str, Any]] = result.json()["sessions"]
    return sessions


@pytest.mark.process  # a full disk, a read-only store, ulimits: in a real process
def test_migrate_on_a_full_disk_fails_leaves_no_empty_targets_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tmpfs(tmp_path / "mnt", "300k") as mount:
        root = mount / "store"
        monkeypatch.setenv("SESSION_DIR", str(root))
        names = shell_store(root)

        first = aio("session", "migrate")
        assert "no space left" in first.err, (first.code, first.err)
        assert first.code == 1, first.err  # was 0 although sessions were skipped
        assert "Traceback" not in first.err and "internal error" not in first.err
        skipped = [line for line in first.err.splitlines() if line.startswith("warning: skipped")]
        assert skipped and all(len(line) < 1000 for line in skipped)
        # Every session listed is complete: none is an empty leftover of a failed copy.
        for row in listed():
            assert row["interaction_count"] == 40, row
        left = [n for n in names if (root / n).exists()]
        assert left, "the disk was meant to fill up part-way"

        _mount("-o", "remount,size=2m", str(mount))  # free space
        again = aio("session", "migrate", "--json")
        assert again.code == 0, again.err
        assert again.json()["skipped"] == []
        rows = listed()
        assert sorted(r.get("legacy_name") for r in rows) == sorted(names)
        assert all(r["interaction_count"] == 40 for r in rows)
        assert not any((root / n).exists() for n in names)


@pytest.mark.process  # a full disk, a read-only store, ulimits: in a real process
def test_a_failed_first_record_or_import_leaves_no_empty_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store_on_tmpfs(tmp_path, monkeypatch, "512k") as mount:
        root = mount / "store"
        fill(mount)
        failed = record("plan-new", "call-1")
        assert failed.code == 1 and "no space left" in failed.err, failed.err
        assert not (root / "plan-new").exists()

        source = tmp_path / "export.json"
        source.write_text(
            json.dumps(
                [
                    {
                        "schema_version": 1,
                        "session_name": "review-new",
                        "interactions": [interaction(id="call-9")],
                    }
                ]
            )
        )
        imported = aio("session", "import", str(source))
        assert imported.code == 1 and "no space left" in imported.err, imported.err
        assert not (root / "review-new").exists()
        assert [r["session_name"] for r in listed()] == [NAME]

        (mount / "filler").unlink()
        assert record("plan-new", "call-1").code == 0
        assert aio("session", "import", str(source)).code == 0
        assert sorted(r["session_name"] for r in listed()) == [NAME, "plan-new", "review-new"]

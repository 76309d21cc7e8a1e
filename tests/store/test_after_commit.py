"""A failure after the commit never turns a stored record into a refused one (issue 18).

Once the line and the summary are written and fsynced, ``close()`` of the log (EIO or
EDQUOT, as NFS and quota file systems report late) and the unlock can still fail; reporting
that as "cannot complete the operation" made a stored record look refused, and a retry
stored it twice. Reads close files they only read: a failing close there loses nothing.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

import pytest

from ai_orchestrator.store import SessionStore
from tests.helpers import aio_inprocess as cli
from tests.helpers import as_record, interaction


def failing_close(monkeypatch: pytest.MonkeyPatch, suffix: str, code: int) -> list[str]:
    """``os.close`` that closes, then reports ``code`` for files whose name holds
    ``suffix``; returns the paths it failed for."""
    real_close = os.close
    failed: list[str] = []

    def close(fd: int) -> None:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        real_close(fd)
        if suffix in os.path.basename(target):
            failed.append(target)
            raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "close", close)
    return failed


@pytest.mark.parametrize("code", [errno.EIO, errno.EDQUOT, errno.ENOSPC])
def test_a_failed_close_of_the_log_after_the_commit_is_stored_and_exit_0(
    session_dir: Path, code: int
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        failed = failing_close(patch, "interactions.jsonl", code)
        result = cli("record", "plan-x", input='{"id": "c-1", "cost": 0.5}', prog="ai-session")
    assert failed, "the close was not exercised"
    assert result.code == 0, result.err
    assert "cannot" not in result.err
    assert [r.id for r in SessionStore().read_log("plan-x").records] == ["c-1"]


def test_a_failed_unlock_after_the_commit_is_stored_and_exit_0(session_dir: Path) -> None:
    real_flock = fcntl.flock
    unlocks: list[int] = []

    def flock(fd: int, operation: int) -> None:
        if operation == fcntl.LOCK_UN:
            unlocks.append(fd)
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_flock(fd, operation)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fcntl, "flock", flock)
        failed = failing_close(patch, ".lock", errno.EIO)
        result = cli("record", "plan-x", input='{"id": "u-1", "cost": 0.5}', prog="ai-session")
    assert unlocks and failed
    assert result.code == 0, result.err
    assert [r.id for r in SessionStore().read_log("plan-x").records] == ["u-1"]
    # the lock is free: the next writer does not wait
    SessionStore().record(as_record("plan-x", interaction(id="u-2")))


def test_a_failed_close_before_the_commit_names_the_file_and_stores_nothing(
    session_dir: Path,
) -> None:
    """The temp file of ``metadata.json`` is closed before its rename: a failure there is
    a refusal, with the file named (not "cannot complete the operation")."""
    SessionStore().record(as_record("plan-x", interaction(id="before")))
    with pytest.MonkeyPatch.context() as patch:
        failing_close(patch, ".tmp-", errno.EIO)
        result = cli("record", "plan-x", input='{"id": "c-2", "cost": 0.5}', prog="ai-session")
    assert result.code == 1, result.err
    assert "metadata.json" in result.err and "nothing was recorded" in result.err, result.err
    assert "complete the operation" not in result.err
    assert [r.id for r in SessionStore().read_log("plan-x").records] == ["before"]


def test_reads_survive_a_failing_close(session_dir: Path) -> None:
    SessionStore().record(as_record("plan-x", interaction(id="r-1")))
    with pytest.MonkeyPatch.context() as patch:
        failing_close(patch, "interactions.jsonl", errno.EIO)
        for args in (["show", "plan-x", "--json"], ["export", "-o", "-"]):
            result = cli(*args, prog="ai-session")
            assert result.code == 0, result.err

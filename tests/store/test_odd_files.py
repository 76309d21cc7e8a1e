"""Odd files in the store (FIFO, socket, directory where a regular file belongs) never
hang a command, are reported with the reason, and never take the other sessions down.

Every command runs as a real process with a timeout: before the fix ``open`` of a FIFO
blocked forever, so a regression fails here as ``TimeoutExpired``.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest

from ai_orchestrator.store import SessionStore
from tests.helpers import Result, as_record, interaction
from tests.helpers import aio_inprocess as aio

BAD = "plan-bad"
GOOD = ("plan-good", "review-other")
TIMEOUT = 20


def one_line(err: str) -> bool:
    lines = [line for line in err.strip().splitlines() if line.startswith("aio: error")]
    return "Traceback" not in err and "internal error" not in err and len(lines) <= 1


def make_odd(path: Path, kind: str) -> None:
    if path.exists():
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path, 0o600)
    elif kind == "directory":
        path.mkdir(0o700)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        here = os.getcwd()
        os.chdir(path.parent)  # a relative name: AF_UNIX paths are limited to 108 bytes
        try:
            sock.bind(path.name)
        finally:
            os.chdir(here)
            sock.close()
    elif kind == "device":  # /dev/null's numbers: reads would return nothing, silently
        try:
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("creating a device node needs root")


@pytest.fixture
def store(session_dir: Path) -> SessionStore:
    store = SessionStore()
    for name in (BAD, *GOOD):
        store.record(as_record(name, interaction(cost=0.5)))
    return store


def run(*args: str) -> Result:
    result = aio(*args, timeout=TIMEOUT)  # TimeoutExpired = the command hung
    assert one_line(result.err), result.err
    return result


@pytest.mark.parametrize("kind", ["fifo", "directory", "socket", "device"])
@pytest.mark.parametrize("entry", ["interactions.jsonl", "metadata.json"])
def test_an_odd_log_or_summary_is_reported_and_the_others_still_work(
    store: SessionStore, session_dir: Path, entry: str, kind: str
) -> None:
    make_odd(session_dir / BAD / entry, kind)

    listing = run("session", "list", "--json")
    assert listing.code == 0
    data = listing.json()
    assert sorted(s["session_name"] for s in data["sessions"]) == sorted(GOOD)
    [unreadable] = data["unreadable"]
    assert unreadable["session_name"] == BAD
    assert entry in unreadable["error"] and "not a regular file" in unreadable["error"]

    stats = run("session", "stats", "--json")
    assert stats.code == 0
    assert stats.json()["interactions"] == len(GOOD)
    assert [u["session_name"] for u in stats.json()["unreadable"]] == [BAD]

    export = run("session", "export", "-o", "-")
    assert export.code == 1 and BAD in export.err and entry in export.err
    assert sorted(s["session_name"] for s in json.loads(export.out)) == sorted(GOOD)

    clean = run("session", "clean", "--older-than", "0", "--dry-run", "--json")
    assert clean.code == 0
    assert clean.json()["candidates"] == sorted(GOOD)

    for name in GOOD:
        assert run("session", "show", name, "--json").code == 0
    shown = run("session", "show", BAD)
    assert shown.code == 1 and entry in shown.err and "not a regular file" in shown.err

    repaired = run("session", "repair", BAD)
    assert repaired.code == 1
    assert "repair cannot fix this" in repaired.err and entry in repaired.err
    assert (session_dir / BAD / entry).exists()  # left alone: not ours to remove

    recorded = aio("session", "record", BAD, input=json.dumps(interaction()), timeout=TIMEOUT)
    assert recorded.code == 1 and one_line(recorded.err)
    assert "nothing was recorded" in recorded.err


@pytest.mark.parametrize("lock", [".lock", ".run.lock"])
def test_a_fifo_lock_never_hangs_any_command(
    store: SessionStore, session_dir: Path, lock: str
) -> None:
    make_odd(session_dir / BAD / lock, "fifo")

    listing = run("session", "list", "--json")
    assert listing.code == 0
    assert len(listing.json()["sessions"]) == 3  # the files are fine; only a lock is odd
    assert run("session", "stats", "--json").json()["interactions"] == 3
    assert run("session", "export", "-o", "-").code == 0
    for name in GOOD:
        assert run("session", "show", name, "--json").code == 0

    shown = run("session", "show", BAD, "--json")  # reads who holds the locks
    assert shown.code == 0
    data = shown.json()
    assert data["interaction_count"] == 1 and data["holder"] is None
    assert any(lock in problem for problem in data["problems"])
    clean = run("session", "clean", "--older-than", "0", "--yes", "--json")
    assert clean.code == 0
    report = clean.json()
    assert sorted(report["removed"]) == sorted(GOOD)
    [skipped] = report["skipped"]
    assert skipped["session_name"] == BAD and lock in skipped["reason"]
    assert (session_dir / BAD).is_dir()

    repaired = run("session", "repair", BAD)
    if lock == ".lock":
        assert repaired.code == 1 and "repair cannot fix this" in repaired.err
    else:
        assert repaired.code == 0 and f"not fixed: cannot use {session_dir / BAD / lock}" in (
            repaired.err
        )


@pytest.mark.parametrize("side", ["", "-journal", "-wal"])
def test_a_fifo_index_is_bypassed(store: SessionStore, session_dir: Path, side: str) -> None:
    index = session_dir / f"index.sqlite{side}"
    if index.exists():
        index.unlink()
    os.mkfifo(index, 0o600)
    listing = run("session", "list", "--json")
    assert listing.code == 0 and len(listing.json()["sessions"]) == 3
    assert run("session", "stats", "--json").json()["interactions"] == 3


def test_a_leftover_temp_directory_is_reported_not_fatal(
    store: SessionStore, session_dir: Path
) -> None:
    leftover = session_dir / BAD / ".metadata.json.tmp-123-abcd"
    leftover.mkdir()
    (leftover / "inside").write_text("someone's data")
    clean = run("session", "clean", "--older-than", "36500", "--yes", "--json")
    assert clean.code == 0 and clean.json()["temp_files_removed"] == 0
    repaired = run("session", "repair", BAD)
    assert repaired.code == 0
    assert "not fixed" in repaired.err and "it is a directory" in repaired.err
    assert (leftover / "inside").read_text() == "someone's data"
    assert run("session", "show", BAD).code == 0


def test_a_fifo_temp_file_is_removed_by_repair(store: SessionStore, session_dir: Path) -> None:
    leftover = session_dir / BAD / ".metadata.json.tmp-123-abcd"
    os.mkfifo(leftover, 0o600)
    repaired = run("session", "repair", BAD, "--json")
    assert repaired.code == 0 and repaired.json()["temp_files_removed"] == 1
    assert not os.path.lexists(leftover)


@pytest.mark.parametrize(
    "args",
    [
        ["session", "path", ""],
        ["session", "path", "", "--json"],
        ["session", "stats", "--session", ""],
        ["session", "show", ""],
        ["session", "delete", "", "--yes"],
        ["session", "repair", ""],
        ["session", "record", ""],
        ["run", "", "hello"],
    ],
)
def test_empty_name_is_invalid_everywhere(store: SessionStore, args: list[str]) -> None:
    result = aio(*args, input="{}", timeout=TIMEOUT)
    assert result.code == 2, result.err
    assert "invalid session name ''" in result.err and one_line(result.err)


def test_a_fifo_todo_file_is_named_and_the_sessions_still_work(
    store: SessionStore, session_dir: Path
) -> None:
    os.mkfifo(session_dir / "todos.jsonl", 0o600)
    todos = run("todo", "list", "--json")
    assert todos.code == 1 and "todos.jsonl" in todos.err and "FIFO" in todos.err
    assert run("session", "list", "--json").code == 0


def test_a_fifo_price_card_cache_is_ignored_not_waited_on(isolated_home: Path) -> None:
    import threading

    from ai_orchestrator.accounting import price_cards

    cache = Path(price_cards.cache_file())
    cache.parent.mkdir(parents=True)
    os.mkfifo(cache, 0o600)
    found: list[object] = []
    reader = threading.Thread(
        target=lambda: found.append(price_cards.load("claude", "claude-sonnet-4-5")), daemon=True
    )
    reader.start()
    reader.join(TIMEOUT)
    if reader.is_alive():  # unblock the stuck reader before failing
        with open(os.open(cache, os.O_WRONLY | os.O_NONBLOCK), "wb"):
            pass
    assert found == [None]


@pytest.mark.parametrize("kind", ["fifo", "socket"])
@pytest.mark.parametrize("entry", [".lock", ".run.lock", "pending-call.json"])
def test_an_odd_lock_or_pending_marker_is_named_by_list_and_stats(
    store: SessionStore, session_dir: Path, entry: str, kind: str
) -> None:
    aio("session", "list", "--json", timeout=TIMEOUT)  # cache the rows first: still named
    make_odd(session_dir / BAD / entry, kind)
    odd = str(session_dir / BAD / entry)

    listing = run("session", "list", "--json")
    assert listing.code == 0 and len(listing.json()["sessions"]) == 3  # its files read fine
    [named] = listing.json()["unreadable"]
    assert named["session_name"] == BAD and odd in named["error"]
    assert "not a regular file" in named["error"]
    stats = run("session", "stats", "--json")
    assert stats.json()["interactions"] == 3
    assert [(u["session_name"], odd in u["error"]) for u in stats.json()["unreadable"]] == [
        (BAD, True)
    ]
    for args in (("session", "list"), ("session", "stats")):
        plain = run(*args)
        assert plain.code == 0 and odd in plain.err + plain.out


@pytest.mark.parametrize("entry", [".run.lock", "pending-call.json"])
def test_repair_leaves_an_odd_file_untouched_mode_included(
    store: SessionStore, session_dir: Path, entry: str
) -> None:
    odd = session_dir / BAD / entry
    make_odd(odd, "fifo")
    os.chmod(odd, 0o644)
    repaired = run("session", "repair", BAD, "--json")
    assert repaired.code == 0, repaired.err
    assert repaired.json()["modes_fixed"] == 0
    assert stat.S_ISFIFO(os.lstat(odd).st_mode) and stat.S_IMODE(os.lstat(odd).st_mode) == 0o644

"""Retention policies (``store.retention``): what a policy removes, pins, the archive, the
daily automatic run, a crash between archive and removal, hostile config values."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ai_orchestrator.core.errors import InvalidInput, SessionPinned
from ai_orchestrator.infra import locks
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.discovery import ARCHIVE_DIR, RETENTION_DIR
from ai_orchestrator.store.lifecycle import delete_session
from ai_orchestrator.store.retention import (
    STAMP_FILE,
    PinGuard,
    RetentionPolicy,
    apply_auto,
    apply_policy,
    parse_size,
    pins,
    plan_policy,
    policy_from,
    session_bytes,
    set_pin,
)
from ai_orchestrator.store.transfer import apply_import, plan_import
from tests.helpers import aio_inprocess, as_record, interaction


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat().replace("+00:00", "Z")


def config(home: Path, text: str) -> Path:
    path = home / ".config" / "aio" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@contextlib.contextmanager
def holding(session_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the run lock of ``run-busy`` (a run in progress)."""
    lock = str(session_dir / "run-busy" / locks.RUN_LOCK)
    code = (
        "import fcntl, os, sys\n"
        f"fd = os.open({lock!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def populate(store: SessionStore) -> None:
    """Eight sessions, oldest first: two old (one pinned), one busy, five fresh."""
    for name, days in [
        ("plan-ancient", 400), ("review-pinned", 300), ("run-busy", 200), ("run-old", 100),
        ("implement-a", 20), ("implement-b", 10), ("implement-c", 5), ("implement-d", 1),
    ]:  # fmt: skip
        store.record(as_record(name, interaction(timestamp=ago(days), prompt=f"work on {name}")))
    set_pin(store, "review-pinned", True)


@pytest.mark.process
def test_a_policy_removes_exactly_the_expected_sessions(session_dir: Path) -> None:
    store = SessionStore()
    populate(store)
    with holding(session_dir):
        _remove_expected(store, session_dir)


def _remove_expected(store: SessionStore, session_dir: Path) -> None:
    # max_age 50 days: plan-ancient, run-old (review-pinned and run-busy are exempt).
    # max_count 5 of 8: after the age rule 6 remain (pinned and busy count): one more,
    # the oldest removable: implement-a. Size: below the limit after that.
    policy = RetentionPolicy(max_age_days=50, max_count=5, archive=True)
    plan = plan_policy(store, policy)
    assert [r.name for r in plan.candidates] == ["implement-a", "plan-ancient", "run-old"]
    assert {e["session_name"]: e["reason"][:6] for e in plan.exempt} == {
        "review-pinned": "pinned",
        "run-busy": "in use",
    }
    assert "max_count" in plan.reasons["implement-a"]
    assert "max_age_days" in plan.reasons["run-old"]
    exported = {name: store.read_log(name).records for name in ("implement-a", "run-old")}
    report = apply_policy(store, plan, policy)
    assert report.removed == ["implement-a", "plan-ancient", "run-old"]
    assert sorted(store.names()) == [
        "implement-b", "implement-c", "implement-d", "review-pinned", "run-busy",
    ]  # fmt: skip
    data = report.to_dict()
    assert data["policy"]["max_count"] == 5 and len(data["archived"]) == 3
    # The archive holds an importable export of each removed session, every record in it.
    other = SessionStore(session_dir.parent / "elsewhere")
    for item in report.archived:
        path = Path(item["path"])
        assert path.parent.parent == session_dir / ARCHIVE_DIR
        apply_import(other, plan_import(path.read_bytes()))
    for name, records in exported.items():
        assert [r.id for r in other.read_log(name).records] == [r.id for r in records]


def test_the_size_limit_removes_the_oldest_until_the_rest_fits(session_dir: Path) -> None:
    store = SessionStore()
    populate(store)
    sizes = {name: session_bytes(session_dir / name) for name in store.names()}
    total = sum(sizes.values())
    # Room for everything but about two sessions: the two oldest removable go
    # (review-pinned is exempt, run-busy is not in use in this test).
    limit = total - sizes["plan-ancient"] - sizes["run-busy"] + 1
    plan = plan_policy(store, RetentionPolicy(max_total_bytes=limit))
    assert [r.name for r in plan.candidates] == ["plan-ancient", "run-busy"]
    assert all("max_total_size" in why for why in plan.reasons.values())
    # A limit below what the pinned session alone takes removes every other one.
    plan = plan_policy(store, RetentionPolicy(max_total_bytes=0))
    assert "review-pinned" not in [r.name for r in plan.candidates]
    assert len(plan.candidates) == 7


def test_a_pin_made_after_planning_is_still_honoured(session_dir: Path) -> None:
    store = SessionStore()
    populate(store)
    policy = RetentionPolicy(max_age_days=50)
    plan = plan_policy(store, policy)
    assert [r.name for r in plan.candidates] == ["plan-ancient", "run-busy", "run-old"]
    set_pin(store, "run-old", True)  # between the listing and the removal
    store.record(as_record("run-busy", interaction()))  # used between the listing and the removal
    report = apply_policy(store, plan, policy)
    assert report.removed == ["plan-ancient"]
    reasons = {s["session_name"]: s["reason"] for s in report.skipped}
    assert "pinned" in reasons["run-old"] and "used since" in reasons["run-busy"]
    assert sorted(pins(store)) == ["review-pinned", "run-old"]


def test_pin_unpin_and_delete_of_a_pinned_session(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("plan-x", interaction()))
    assert aio_inprocess("session", "pin", "plan-x").code == 0
    assert aio_inprocess("session", "pin", "plan-x").err.strip() == "plan-x: already pinned"
    assert json.loads(aio_inprocess("session", "show", "plan-x", "--json").out)["pinned_at"]
    assert "Pinned: since" in aio_inprocess("session", "show", "plan-x").out
    listed = aio_inprocess("session", "pin", "--json")
    assert [p["session_name"] for p in json.loads(listed.out)["pins"]] == ["plan-x"]
    refused = aio_inprocess("session", "delete", "plan-x", "--yes")
    assert refused.code == 1 and "pinned" in refused.err and store.exists("plan-x")
    with pytest.raises(SessionPinned) as caught:
        delete_session(store, "plan-x", guard=PinGuard(store))
    assert caught.value.session == "plan-x"
    assert aio_inprocess("session", "unpin", "plan-x").code == 0
    assert aio_inprocess("session", "delete", "plan-x", "--yes").code == 0
    assert not store.exists("plan-x")
    missing = aio_inprocess("session", "pin", "plan-gone")
    assert missing.code == 1 and "not found" in missing.err


def test_clean_older_than_keeps_a_pinned_session(session_dir: Path) -> None:
    store = SessionStore()
    populate(store)
    result = aio_inprocess("session", "clean", "--older-than", "250", "--yes", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["removed"] == ["plan-ancient"]
    assert [s["session_name"] for s in data["skipped"]] == ["review-pinned"]
    assert "pinned" in data["skipped"][0]["reason"] and store.exists("review-pinned")


def test_clean_policy_cli_dry_run_json_and_flags(session_dir: Path, isolated_home: Path) -> None:
    store = SessionStore()
    populate(store)
    config(isolated_home, "[retention]\nmax_age_days = 50\n")
    dry = aio_inprocess("session", "clean", "--policy", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    data = json.loads(dry.out)
    assert data["dry_run"] and data["candidates"] == ["plan-ancient", "run-busy", "run-old"]
    assert data["exempt"] == [{"session_name": "review-pinned", "reason": "pinned"}]
    assert len(store.names()) == 8
    # A flag overrides the configured limit; the archive flag turns the export on.
    done = aio_inprocess("session", "clean", "--policy", "--max-age", "150", "--archive", "--yes")
    assert done.code == 0, done.err
    assert "removed plan-ancient" in done.out and "removed run-busy" in done.out
    assert "archived plan-ancient in" in done.err and store.exists("run-old")
    assert len(list((session_dir / ARCHIVE_DIR).glob("*/*.json"))) == 2
    both = aio_inprocess("session", "clean", "--policy", "--older-than", "3")
    assert both.code == 2 and "either" in both.err
    assert aio_inprocess("session", "clean", "--max-count", "3", "--older-than", "3").code == 2


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("max_count = -1", "max_count"),
        ("max_count = 1.5", "max_count"),
        ("max_count = true", "max_count"),
        ("max_count = 99999999999999999", "max_count"),
        ("max_age_days = nan", "max_age_days"),
        ("max_age_days = inf", "max_age_days"),
        ("max_age_days = -3", "max_age_days"),
        ('max_age_days = "30"', "max_age_days"),
        ('max_total_size = "12 parsecs"', "unit"),
        ('max_total_size = "-5MB"', "max_total_size"),
        ("max_total_size = 1e300", "max_total_size"),
        ('max_total_size = "999999999TB"', "max_total_size"),
        ('archive = "yes"', "archive"),
        ("max_age = 30", "unknown key 'max_age'"),
    ],
)
def test_hostile_config_values_are_one_clear_line(
    session_dir: Path, isolated_home: Path, text: str, needle: str
) -> None:
    SessionStore().record(as_record("plan-x", interaction(timestamp=ago(100))))
    config(isolated_home, f"[retention]\n{text}\n")
    result = aio_inprocess("session", "clean", "--policy", "--yes")
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.err
    assert SessionStore().exists("plan-x")


@pytest.mark.parametrize("text", ["retention = 5\n", "[retention\n", "\xff"])
def test_a_broken_config_file_is_one_line_and_does_not_break_other_commands(
    session_dir: Path, isolated_home: Path, text: str
) -> None:
    config(isolated_home, text)
    result = aio_inprocess("session", "clean", "--policy")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
    assert aio_inprocess("session", "list").code == 0  # the daily check stays quiet


def test_policy_values_parse() -> None:
    assert parse_size("1.5 KiB", "x") == 1536 and parse_size(10, "x") == 10
    assert parse_size("2GB", "x") == 2 * 10**9
    assert policy_from({}).limits() is False
    with pytest.raises(InvalidInput):
        policy_from({"auto": 1})
    with pytest.raises(InvalidInput):
        parse_size(None, "x")


def test_no_limit_is_refused(session_dir: Path) -> None:
    result = aio_inprocess("session", "clean", "--policy")
    assert result.code == 2 and "sets no limit" in result.err


def test_the_daily_automatic_run(session_dir: Path, isolated_home: Path) -> None:
    store = SessionStore()
    populate(store)
    path = config(isolated_home, "[retention]\nmax_age_days = 250\nauto = true\n")
    first = aio_inprocess("session", "list")
    assert first.code == 0
    assert "retention policy (daily): removed 1 session(s): plan-ancient" in first.err
    assert not store.exists("plan-ancient") and store.exists("review-pinned")
    stamp = session_dir / RETENTION_DIR / STAMP_FILE
    assert stamp.exists()
    # Within a day, with the config unchanged, nothing runs again (not even the plan).
    store.record(as_record("run-stale", interaction(timestamp=ago(300))))
    assert "retention" not in aio_inprocess("session", "list").err
    assert store.exists("run-stale")
    # A changed config is read at once.
    path.write_text("[retention]\nmax_age_days = 150\nauto = true\n")
    later = time.time() + 5
    os.utime(path, (later, later))
    second = aio_inprocess("session", "list")
    assert "removed 2 session(s): run-busy, run-stale" in second.err
    # A stamp older than a day runs it again; with auto off nothing runs at all.
    old = time.time() - 2 * 86400
    os.utime(stamp, (old, old))
    os.utime(path, (old - 10, old - 10))
    assert apply_auto(store) is not None
    path.write_text("[retention]\nmax_age_days = 1\nauto = false\n")
    assert "retention" not in aio_inprocess("session", "list").err
    assert store.exists("implement-a")


def test_a_hostile_value_with_auto_on_warns_once_per_command(
    session_dir: Path, isolated_home: Path
) -> None:
    SessionStore().record(as_record("plan-x", interaction(timestamp=ago(100))))
    config(isolated_home, "[retention]\nmax_count = -4\nauto = true\n")
    result = aio_inprocess("session", "list")
    assert result.code == 0
    warnings = [line for line in result.err.splitlines() if "retention" in line]
    assert len(warnings) == 1 and "max_count" in warnings[0]


_KILLER = """
import os, signal, sys
from datetime import datetime, UTC
from ai_orchestrator.store import SessionStore, lifecycle
from ai_orchestrator.store.retention import RetentionPolicy, apply_policy, plan_policy

mode = sys.argv[1]
if mode == "between":
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    lifecycle.to_trash = die
store = SessionStore()
policy = RetentionPolicy(max_age_days=50, archive=True)
plan = plan_policy(store, policy)
print("go", flush=True)


def step(name, why):
    print(name, flush=True)
    if mode == "random":
        sys.stdin.readline()  # the test says when to go on: its kill lands where it chose


apply_policy(store, plan, policy, progress=step)
"""


def _everything_kept(
    store: SessionStore, session_dir: Path, expected: dict[str, list[str]]
) -> None:
    """Every session's records are in the store or in an archive file (importable)."""
    archived: dict[str, list[str]] = {}
    for path in sorted((session_dir / ARCHIVE_DIR).glob("*/*.json")):
        plan = plan_import(path.read_bytes())
        for name, records in plan.sessions.items():
            archived[name] = [r.id for r in records]
    for name, ids in expected.items():
        if store.exists(name):
            assert [r.id for r in store.read_log(name).records] == ids
        else:
            assert archived.get(name) == ids, f"{name} lost"


@pytest.mark.process
def test_sigkill_between_archive_and_removal_loses_nothing(session_dir: Path) -> None:
    store = SessionStore()
    populate(store)
    expected = {n: [r.id for r in store.read_log(n).records] for n in store.names()}
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, "between"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL
    # The first candidate is archived and still in the store, its locks free again.
    assert store.exists("plan-ancient")
    assert len(list((session_dir / ARCHIVE_DIR).glob("*/plan-ancient.json"))) == 1
    _everything_kept(store, session_dir, expected)
    policy = RetentionPolicy(max_age_days=50, archive=True)
    report = apply_policy(store, plan_policy(store, policy), policy)
    assert report.removed == ["plan-ancient", "run-busy", "run-old"]
    # Archived twice (the crash's copy is never replaced), nothing lost.
    assert len(list((session_dir / ARCHIVE_DIR).glob("*/plan-ancient*.json"))) == 2
    _everything_kept(store, session_dir, expected)


@pytest.mark.process
def test_sigkill_at_random_instants_loses_nothing(session_dir: Path) -> None:
    rng = random.Random(21)
    left: list[int] = []
    for round_ in range(8):
        root = session_dir / f"round{round_}"
        os.environ["SESSION_DIR"] = str(root)
        store = SessionStore(root)
        for i in range(6):
            for j in range(3):
                made = interaction(timestamp=ago(100 + j), prompt=f"{i}/{j}")
                store.record(as_record(f"run-s{i}", made))
        expected = {n: [r.id for r in store.read_log(n).records] for n in store.names()}
        proc = subprocess.Popen(
            [sys.executable, "-c", _KILLER, "random"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "SESSION_DIR": str(root)},
            text=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        assert proc.stdout.readline().strip() == "go"
        for _ in range(rng.randrange(1, 5)):  # after 1-4 removals ...
            proc.stdout.readline()
            proc.stdin.write("\n")
            proc.stdin.flush()
        # ... either between two removals, or at a random instant inside the next one
        if round_ % 2:
            time.sleep(rng.uniform(0.0, 0.03))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        left.append(len(store.names()))
        _everything_kept(store, root, expected)
        # A second run finishes the job; still nothing lost.
        policy = RetentionPolicy(max_age_days=50, archive=True)
        apply_policy(store, plan_policy(store, policy), policy)
        assert store.names() == []
        _everything_kept(store, root, expected)
    assert len({n for n in left if 0 < n < 6}) > 2, left  # kills landed mid-way


def test_a_damaged_pins_file_stops_the_policy_with_one_line(session_dir: Path) -> None:
    store = SessionStore()
    populate(store)
    (session_dir / RETENTION_DIR / "pins.json").write_text('{"pins": ["review-pinned"]}')
    result = aio_inprocess("session", "clean", "--policy", "--max-age", "1", "--yes")
    assert result.code == 1 and "pins.json is damaged" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert len(store.names()) == 8  # nothing removed while what is pinned is unknown

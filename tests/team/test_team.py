"""``aio team`` against a real PostgreSQL server: init, push, stats, status.

Totals are compared with what ``aio session stats --json`` says about the same stores, so a
push that loses, duplicates or mis-adds a row fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ai_orchestrator.team import schema
from tests.helpers import aio_inprocess, as_records
from tests.team.stores import fill_store

pytestmark = pytest.mark.process  # a real PostgreSQL server and its tools

TOKENS = ("input", "output", "cache_read", "cache_write", "reasoning")


def local_stats(root: Path, *extra: str) -> dict[str, Any]:
    result = aio_inprocess("session", "stats", "--json", *extra, env={"SESSION_DIR": str(root)})
    assert result.code == 0, result.err
    return dict(json.loads(result.out))


def team(*args: str, root: Path | None = None, **env: str) -> Any:
    extra = {"SESSION_DIR": str(root)} if root else {}
    return aio_inprocess("team", *args, env={**extra, **env})


def team_json(*args: str, root: Path | None = None) -> dict[str, Any]:
    result = team(*args, "--json", root=root)
    assert result.code == 0, result.err
    return dict(json.loads(result.out))


def server_count(url: str, sql: str = "SELECT count(*) FROM aio.interactions") -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def test_init_is_idempotent_and_versioned(team_db: str) -> None:
    first = team_json("init")
    assert first["applied"] == list(range(1, schema.VERSION + 1))
    assert first["version"] == schema.VERSION
    again = team_json("init")
    assert again["applied"] == [] and again["version"] == schema.VERSION
    assert server_count(team_db, "SELECT count(*) FROM aio.migrations") == schema.VERSION


def test_push_before_init_is_one_line_exit_1(team_db: str, tmp_path: Path) -> None:
    fill_store(tmp_path / "m", 1, 3, seed=1)
    result = team("push", root=tmp_path / "m")
    assert result.code == 1
    assert result.err.count("\n") == 1 and "aio team init" in result.err


def test_push_then_stats_equal_local_totals(team_db: str, tmp_path: Path) -> None:
    root = tmp_path / "laptop"
    fill_store(root, 5, 40, seed=7)
    team_json("init")
    pushed = team_json("push", root=root)
    assert pushed["read"] == 200 and pushed["added"] == 200 and pushed["already_there"] == 0
    mine = local_stats(root)
    ours = team_json("stats")
    for key in ("interactions", "failed_interactions", "unpriced_interactions", "total_sessions"):
        assert ours[key] == mine[key], key
    assert ours["tokens"] == mine["tokens"]
    assert ours["cost"] == pytest.approx(mine["cost"], abs=1e-9)
    assert ours["cost_reported"] == pytest.approx(mine["cost_reported"], abs=1e-9)
    assert ours["cost_reported_by"] == mine["cost_reported_by"]
    assert set(mine) <= set(ours), "the team document has every key of session stats"
    # Breakdowns: by task they equal the local per-task groups.
    by_task_local = local_stats(root, "--by", "task")["groups"]
    by_task_team = team_json("stats", "--by", "task")["groups"]
    assert {k: v["interactions"] for k, v in by_task_team.items()} == {
        k: v["interactions"] for k, v in by_task_local.items()
    }
    assert {k: v["sessions"] for k, v in by_task_team.items()} == {
        k: v["sessions"] for k, v in by_task_local.items()
    }
    assert sorted((m["session_name"], m["interactions"]) for m in ours["most_active"]) == sorted(
        (m["session_name"], m["interactions"]) for m in mine["most_active"]
    )
    for by in ("user", "machine", "feature", "branch", "model", "agent", "day", "session"):
        groups = team_json("stats", "--by", by)["groups"]
        assert sum(g["interactions"] for g in groups.values()) == 200, by
        assert sum(g["tokens"]["output"] for g in groups.values()) == mine["tokens"]["output"]
    # A second push adds nothing and reads nothing (the watermark).
    again = team_json("push", root=root)
    assert again["read"] == 0 and again["added"] == 0
    assert server_count(team_db) == 200


def test_incremental_push_reads_only_new_records(team_db: str, tmp_path: Path) -> None:
    root = tmp_path / "m"
    store = fill_store(root, 2, 10, seed=3)
    team_json("init")
    team_json("push", root=root)
    from tests.team.stores import records

    store.record_unique("run-extra", as_records("run-extra", records("extra", 7, seed=9)))
    store.record_unique(
        "implement-feat0", as_records("implement-feat0", records("more", 5, seed=10))
    )
    pushed = team_json("push", root=root)
    assert pushed["read"] == 12 and pushed["added"] == 12
    assert server_count(team_db) == 32
    assert team_json("stats")["interactions"] == 32


def test_restored_backup_and_lost_watermark_add_nothing(team_db: str, tmp_path: Path) -> None:
    root = tmp_path / "m"
    store = fill_store(root, 3, 20, seed=4)
    team_json("init")
    team_json("push", root=root)
    logs = sorted(root.glob("*/interactions.jsonl"))
    backup = {log: log.read_bytes() for log in logs}
    from tests.team.stores import records

    store.record_unique(
        "implement-feat0", as_records("implement-feat0", records("after-backup", 5, seed=11))
    )
    assert team_json("push", root=root)["added"] == 5
    # The backup is restored in place (the inode may well be reused), then new calls land
    # that make each log longer than the server's watermark: bytes before the mark differ,
    # so that log is read again whole; old calls add nothing, the new ones all arrive. The
    # other two logs still hold the bytes their marks were taken on: only their new calls.
    for log, data in backup.items():
        with open(log, "r+b") as handle:
            handle.truncate(0)
            handle.write(data)
    for name in store.names():
        store.record_unique(name, as_records(name, records(f"restored-{name}", 12, seed=12)))
    again = team_json("push", root=root)
    assert again["added"] == 36 and again["read"] == 20 + 36
    # The server lost its watermarks (restored from its own backup): nothing added.
    with psycopg.connect(team_db, autocommit=True) as conn:
        conn.execute("DELETE FROM aio.watermarks")
    third = team_json("push", root=root)
    assert third["read"] == 96 and third["added"] == 0
    assert team_json("stats")["interactions"] == 60 + 5 + 36
    assert server_count(team_db, "SELECT sum(interactions) FROM aio.rollup") == 101
    assert server_count(team_db) == 101


def test_same_interaction_in_two_stores_counts_once(team_db: str, tmp_path: Path) -> None:
    """An export imported into a second machine's store is the same call: one row."""
    first = fill_store(tmp_path / "a", 1, 10, seed=5)
    second = tmp_path / "b"
    export = first.read_log(first.names()[0]).records
    from ai_orchestrator.store.session_store import SessionStore

    SessionStore(second).record_unique(first.names()[0], export)
    team_json("init")
    team_json("push", root=tmp_path / "a")
    pushed = team_json("push", root=second)
    assert pushed["read"] == 10 and pushed["added"] == 0
    assert team_json("stats")["interactions"] == 10


def test_prompts_only_with_the_flag_and_redacted(team_db: str, tmp_path: Path) -> None:
    fill_store(tmp_path / "a", 1, 3, seed=6)
    fill_store(tmp_path / "b", 1, 3, seed=6)
    team_json("init")
    team_json("push", root=tmp_path / "a")
    team_json("push", "--with-prompts", root=tmp_path / "b")
    with psycopg.connect(team_db) as conn:
        rows = conn.execute("SELECT id, prompt FROM aio.interactions ORDER BY id").fetchall()
    without = [p for i, p in rows if i.startswith("a-")]
    with_ = [p for i, p in rows if i.startswith("b-")]
    assert without == [None, None, None]
    assert all(p and "prompt" in p and "sk-ant-api03" not in p for p in with_)
    assert all("[REDACTED" in p for p in with_)


def test_status_shows_this_machine(team_db: str, tmp_path: Path) -> None:
    root = tmp_path / "m"
    fill_store(root, 2, 5, seed=8)
    team_json("init")
    before = team_json("status", root=root)
    assert before["pending_sessions"] == 2 and before["machine_records_pushed"] == 0
    team_json("push", root=root)
    after = team_json("status", root=root)
    assert after["pending_sessions"] == 0 and after["pending_bytes"] == 0
    assert after["machine_records_pushed"] == 10 and after["team_interactions"] == 10
    assert after["machine_id"] == before["machine_id"]
    local = json.loads((root / "team" / "state.json").read_text())
    assert sum(m["records"] for m in local["watermarks"].values()) == 10


def test_eight_machines_push_concurrently(team_db: str, tmp_path: Path) -> None:
    """8 stores pushing at once: the team totals are the sum of the local totals, exactly;
    every push repeated adds nothing."""
    team_json("init")
    roots = [tmp_path / f"machine{i}" for i in range(8)]
    for i, root in enumerate(roots):
        fill_store(root, 4, 60 + i * 7, seed=100 + i)
    code = "from ai_orchestrator.cli.main import main; main()"

    def push_all() -> list[dict[str, Any]]:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, "team", "push", "--json", "--user", f"dev{i % 3}"],
                env={**os.environ, "SESSION_DIR": str(root)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i, root in enumerate(roots)
        ]
        outs = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            outs.append(json.loads(out))
        return outs

    first = push_all()
    locals_ = [local_stats(root) for root in roots]
    expected = sum(s["interactions"] for s in locals_)
    assert sum(r["added"] for r in first) == expected
    stats = team_json("stats", "--by", "machine")
    assert stats["interactions"] == expected
    assert len(stats["groups"]) == 8 and len(stats["machines"]) == 8
    for key in TOKENS:
        assert stats["tokens"][key] == sum(s["tokens"][key] for s in locals_), key
    assert stats["cost"] == pytest.approx(sum(s["cost"] for s in locals_), abs=1e-8)
    assert stats["unpriced_interactions"] == sum(s["unpriced_interactions"] for s in locals_)
    assert stats["total_sessions"] == sum(s["total_sessions"] for s in locals_)
    by_user = team_json("stats", "--by", "user")["groups"]
    assert sorted(by_user) == ["dev0", "dev1", "dev2"]
    second = push_all()
    assert sum(r["added"] for r in second) == 0
    assert server_count(team_db) == expected
    assert server_count(team_db, "SELECT sum(interactions) FROM aio.rollup") == expected


def test_since_counts_calls_on_or_after_the_day(team_db: str, tmp_path: Path) -> None:
    root = tmp_path / "m"
    store = fill_store(root, 3, 50, seed=17)
    team_json("init")
    team_json("push", root=root)
    stamps = [r.timestamp for n in store.names() for r in store.read_log(n).records]
    expected = sum(1 for t in stamps if t[:10] >= "2026-11-15")
    assert 0 < expected < len(stamps)
    since = team_json("stats", "--since", "2026-11-15", "--by", "day")
    assert since["interactions"] == expected and since["since"] == "2026-11-15"
    assert min(since["groups"]) >= "2026-11-15"
    assert team_json("stats", "--since", "20261115")["interactions"] == expected
    bad = team("stats", "--since", "2026-02-30")
    assert bad.code == 2 and bad.err.count("\n") == 1


def test_branch_of_aio_calls_reaches_the_team(team_db: str, tmp_path: Path) -> None:
    """A call recorded with its git branch (``build_record`` reads it from the cwd) is pushed
    with it, on the fast path and on the full validation alike; one without stays empty."""
    from ai_orchestrator.store.session_store import SessionStore
    from tests.team.stores import records

    root = tmp_path / "m"
    store = SessionStore(root)
    on_branch = records("b", 6, seed=31)
    for n, item in enumerate(on_branch):
        item["branch"] = "feature/login" if n % 2 else "main"
    on_branch[0]["timestamp"] = "2026-11-01T10:00:00Z"  # not canonical: the full validation
    store.record_unique("implement-login", as_records("implement-login", on_branch))
    store.record_unique("run-plain", as_records("run-plain", records("p", 3, seed=32)))
    team_json("init")
    assert team_json("push", root=root)["added"] == 9
    with psycopg.connect(team_db) as conn:
        found = dict(
            conn.execute("SELECT id, branch FROM aio.interactions ORDER BY id").fetchall()
        )
    assert found == {
        **{f"b-{n}": "feature/login" if n % 2 else "main" for n in range(6)},
        **{f"p-{n}": None for n in range(3)},
    }
    groups = team_json("stats", "--by", "branch")["groups"]
    assert {k: g["interactions"] for k, g in groups.items()} == {
        "feature/login": 3, "main": 3, "(no branch)": 3,
    }

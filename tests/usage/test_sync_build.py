"""The cold-build order of the usage index: ``req``'s secondary indexes are built after a
first sync's rows are in and exist after every sync (also one following an interrupted first
sync); sidechain replays are found whichever sync brings the main-chain copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_orchestrator.usage import db as usage_db
from ai_orchestrator.usage.sync import open_index, sync
from tests.usage.test_index import _assistant, _totals, _u


def _indexes() -> set[str]:
    conn = open_index()
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    finally:
        conn.close()
    return {name for (name,) in rows}


def _project(home: Path) -> Path:
    project = home / ".claude" / "projects" / "-p"
    project.mkdir(parents=True, exist_ok=True)
    return project


def test_a_first_sync_leaves_every_index_and_uses_them(isolated_home: Path) -> None:
    project = _project(isolated_home)
    (project / "s.jsonl").write_text(
        _assistant("msg_1", "r1", "2026-12-01T10:00:00Z", _u(1, 2), session="s")
    )
    sync()
    assert set(usage_db.REQ_INDEXES) <= _indexes()
    conn = open_index()
    try:
        plan = " ".join(
            str(row)
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT 1 FROM req WHERE sidechain = 1 AND msg_id = 'x'"
            )
        )
    finally:
        conn.close()
    assert "req_side" in plan or "req_msg" in plan


def test_an_interrupted_first_sync_gets_its_indexes_back(isolated_home: Path) -> None:
    project = _project(isolated_home)
    for n in range(4):
        (project / f"s{n}.jsonl").write_text(
            "".join(
                _assistant(f"msg_{n}_{k}", "r", "2026-12-01T10:00:00Z", _u(1, 1), session=f"s{n}")
                for k in range(20)
            )
        )

    def stop(done: int, files: int, done_bytes: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(progress=stop)
    missing = set(usage_db.REQ_INDEXES) - _indexes()
    assert missing, "the first sync was expected to defer its indexes"
    sync()
    assert set(usage_db.REQ_INDEXES) <= _indexes()
    assert _totals()["totals"]["requests"] == 80


@pytest.mark.parametrize("main_first", [True, False])
def test_a_sidechain_replay_is_dropped_whichever_sync_brings_the_main_copy(
    isolated_home: Path, main_first: bool
) -> None:
    project = _project(isolated_home)
    (project / "sid1" / "subagents").mkdir(parents=True)
    main = _assistant("msg_1", "req_1", "2026-12-01T10:00:01Z", _u(10, 200, 100, 50))
    side = _assistant("msg_2", "req_2", "2026-12-01T10:00:03Z", _u(5, 7), sidechain=True)
    replay = _assistant(
        "msg_1", "req_9", "2026-12-01T10:00:04Z", _u(10, 200, 100, 50), sidechain=True
    )
    first, second = (
        (project / "sid1.jsonl", main),
        (project / "sid1" / "subagents" / "agent-a.jsonl", side + replay),
    )
    if not main_first:
        first, second = second, first
    first[0].write_text(first[1])
    sync()
    second[0].write_text(second[1])
    sync()
    t = _totals()["totals"]
    assert (t["input"], t["output"], t["requests"]) == (15, 207, 2)
    conn = open_index()
    try:
        replays = conn.execute("SELECT key FROM req WHERE replay = 1").fetchall()
    finally:
        conn.close()
    assert replays == [("c:msg_1:req_9",)]


def test_an_index_of_the_earlier_layout_gains_the_new_index(isolated_home: Path) -> None:
    project = _project(isolated_home)
    (project / "s.jsonl").write_text(
        _assistant("msg_1", "r1", "2026-12-01T10:00:00Z", _u(1, 2), session="s")
    )
    sync()
    conn = open_index()
    try:
        conn.execute("DROP INDEX req_side")
    finally:
        conn.close()
    with open(project / "s.jsonl", "a") as f:
        f.write(_assistant("msg_2", "r2", "2026-12-01T10:00:01Z", _u(1, 2), session="s"))
    sync()
    assert "req_side" in _indexes()
    assert _totals()["totals"]["requests"] == 2

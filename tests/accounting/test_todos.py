"""Session todos: the append-only todo file, its fold, the report and the cost estimates."""

from __future__ import annotations

import json
import os
import stat
import statistics
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import aio_inprocess as aio
from tests.helpers import as_record, interaction

from ai_orchestrator.accounting import todos
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.infra import locks
from ai_orchestrator.store import SessionStore, todo_log


def lines_of(path: Path) -> list[dict[str, Any]]:
    """Parse the file independently of the module under test; every line must be JSON."""
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


# ---------------------------------------------------------------------------- the file


def test_default_location_is_private_inside_the_session_store(session_dir: Path) -> None:
    todo_id = todos.start("implement-auth", "auth", "T1", 0.2, "claude", "sonnet")
    path = session_dir / "todos.jsonl"
    assert todo_log.todo_file() == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(session_dir.stat().st_mode) == 0o700
    [record] = lines_of(path)
    assert record["id"] == todo_id and record["type"] == "start"
    assert record["status"] == "in_progress"
    assert (
        record["content"]
        == "🤖 AI Session: implement-auth | Feature: auth | Task: T1 | Est. cost: $0.20"
    )
    # the store still lists only sessions: the todo file and its lock are not sessions
    assert SessionStore().names() == []


def test_todo_file_override_and_loose_mode_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "elsewhere" / "mine.jsonl"
    monkeypatch.setenv("TODO_FILE", str(target))
    target.parent.mkdir()
    target.write_bytes(b"")
    os.chmod(target, 0o644)
    todos.start("plan-x", None, None, 0.5, "gemini", None)
    assert todo_log.todo_file() == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert len(lines_of(target)) == 1
    assert not (Path(os.environ["SESSION_DIR"]) / "todos.jsonl").exists()


def test_symlinked_todo_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tmp_path / "real.jsonl"
    real.write_bytes(b"")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    monkeypatch.setenv("TODO_FILE", str(link))
    with pytest.raises(Exception, match="symbolic link"):
        todos.start("plan-x", None, None, 0.5, "gemini", None)
    assert real.read_bytes() == b""


def test_awkward_text_stays_one_valid_line_and_secrets_are_redacted(session_dir: Path) -> None:
    todo_id = todos.start("implement-auth", None, "T1", 0.2, "claude", None)
    message = (
        'quote " backslash \\ newline\n tab\t ESC\x1b[31m key sk-ant-api03-abcdefghijklmnopqrstu'
    )
    todo_log.error(todo_id, "implement-auth", message)
    records = lines_of(session_dir / "todos.jsonl")
    assert len(records) == 2
    assert records[1]["error"].startswith('quote " backslash \\ newline\n tab\t ESC\x1b[31m key ')
    assert "sk-ant-" not in (session_dir / "todos.jsonl").read_text()
    assert records[1]["content"].startswith("❌ Session error: implement-auth - quote")


@pytest.mark.parametrize("bad", ['T"1', "T 1", "a/b", "", "x\ny", "-x"])
def test_unsafe_task_and_todo_ids_are_refused(session_dir: Path, bad: str) -> None:
    """Ids are never redacted, so they are held to a safe character set (exit 2)."""
    with pytest.raises(InvalidInput):
        todos.start("implement-auth", None, bad or " ", 0.2, "claude", None)
    with pytest.raises(InvalidInput):
        todo_log.end(bad, "implement-auth", 0.1)
    assert not (session_dir / "todos.jsonl").exists()


def test_secret_looking_ids_are_kept_so_start_and_end_meet(session_dir: Path) -> None:
    task = "sk-ant-api03-abcdefghijklmnopqrstuvwx"
    todo_id = todos.start("implement-auth", None, task, 0.2, "claude", None)
    todo_log.end(todo_id, "implement-auth", 0.1)
    [todo] = todo_log.list_todos()
    assert todo["task_id"] == task and todo["status"] == "completed"


def test_ids_are_unique_even_within_one_second(session_dir: Path) -> None:
    ids = {todos.start("plan-x", None, None, 0.5, None, None) for _ in range(200)}
    assert len(ids) == 200


def test_torn_last_line_is_isolated_not_fused(session_dir: Path) -> None:
    first = todos.start("plan-x", None, None, 0.5, None, None)
    path = session_dir / "todos.jsonl"
    with open(path, "ab") as handle:
        handle.write(b'{"type":"end","id":"' + first.encode())  # a writer died mid-line
    todo_log.end(first, "plan-x", 0.4, 10)
    raw = path.read_bytes().decode().splitlines()
    assert len(raw) == 3 and raw[1].endswith(first)  # the torn fragment kept on its own line
    assert json.loads(raw[2])["type"] == "end"
    [todo] = todo_log.list_todos()
    assert todo["status"] == "completed" and todo["actual_cost"] == 0.4
    assert todos.report()["unreadable_lines"] == 1


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_append_waits_for_the_lock(session_dir: Path, tmp_path: Path) -> None:
    """A writer in another process blocks while the todo file's flock is held."""
    path = session_dir / "todos.jsonl"
    session_dir.mkdir(mode=0o700)
    held = locks.acquire(session_dir / ".todos.jsonl.lock", timeout=None)
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from ai_orchestrator.accounting import todos;"
                "todos.start('plan-x', None, None, 0.5, None, None)",
            ]
        )
        time.sleep(1.0)
        assert proc.poll() is None, "the writer did not wait for the lock"
        assert not path.exists() or path.read_bytes() == b""
    finally:
        held.release()
    assert proc.wait(timeout=30) == 0
    assert len(lines_of(path)) == 1


WRITER = textwrap.dedent(
    """
    import sys, time
    from ai_orchestrator.accounting import todos
    from ai_orchestrator.store import todo_log
    worker, start_at = int(sys.argv[1]), float(sys.argv[2])
    while time.time() < start_at:
        time.sleep(0.001)
    for i in range(25):
        tid = todos.start(f"implement-f{worker}", None, f"T{i}", 0.1, "claude", None)
        # a long summary makes each write large, so interleaving would show
        todo_log.end(tid, f"implement-f{worker}", 0.01 * (i + 1), i, "completed", "x" * 20000)
        print(tid, flush=True)
    """
)


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_concurrent_writers_keep_every_record_on_its_own_line(session_dir: Path) -> None:
    start_at = time.time() + 2.0  # every process starts appending at the same moment
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(worker), str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for worker in range(8)
    ]
    ids: list[str] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        ids.extend(out.split())
    assert len(ids) == 200 == len(set(ids))
    records = lines_of(session_dir / "todos.jsonl")  # raises on any torn or merged line
    assert len(records) == 400
    assert sorted(r["id"] for r in records if r["type"] == "start") == sorted(ids)
    assert sorted(r["id"] for r in records if r["type"] == "end") == sorted(ids)
    assert all(len(r["summary"]) == 20000 for r in records if r["type"] == "end")
    report = todos.report()
    assert report["completed"] == 200 and report["unreadable_lines"] == 0
    assert report["total_actual_cost"] == pytest.approx(8 * sum(0.01 * i for i in range(1, 26)))
    assert stat.S_IMODE((session_dir / "todos.jsonl").stat().st_mode) == 0o600


# ---------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "call",
    [
        lambda: todos.start("not a session", None, None, 0.1, None, None),
        lambda: todos.start("plan-x", "other", None, 0.1, None, None),
        lambda: todos.start("plan-x", None, None, -1, None, None),
        lambda: todos.start("plan-x", None, None, float("nan"), None, None),
        lambda: todo_log.end("todo-1", "plan-x", 0.1, 5, "done"),
        lambda: todo_log.end("", "plan-x", 0.1, 5),
        lambda: todo_log.end("todo-1", "plan-x", 0.1, -5),
    ],
)
def test_bad_input_is_refused_and_nothing_written(session_dir: Path, call: Any) -> None:
    with pytest.raises(InvalidInput):
        call()
    assert not (session_dir / "todos.jsonl").exists()


# ---------------------------------------------------------------------------- fold / list


def test_fold_start_end_error_and_filters(session_dir: Path) -> None:
    a = todos.start("implement-auth", None, "T1", 0.2, "claude", "sonnet")
    b = todos.start("plan-auth", None, None, 0.5, "gemini", None)
    c = todos.start("plan-billing", None, None, 0.5, "gemini", None)
    todo_log.end(
        a, "implement-auth", 0.25, {"input": 10, "output": 5, "cache_read": 100}, "completed"
    )
    todo_log.error(b, "plan-auth", "rate limited", actual_cost=0.05)
    listed = todo_log.list_todos()
    assert [t["id"] for t in listed] == [a, b, c]
    by_id = {t["id"]: t for t in listed}
    assert by_id[a]["status"] == "completed" and by_id[a]["total_tokens"] == 115
    assert by_id[b]["status"] == "failed" and by_id[b]["error"] == "rate limited"
    assert by_id[b]["actual_cost"] == 0.05
    assert by_id[c]["status"] == "in_progress" and by_id[c]["actual_cost"] is None
    assert [t["id"] for t in todo_log.list_todos(feature="auth")] == [a, b]
    assert [t["id"] for t in todo_log.list_todos(status="failed")] == [b]
    assert [t["id"] for t in todo_log.list_todos(feature="auth", status="in_progress")] == []


def test_end_without_a_start_is_kept_and_attributed_by_session(session_dir: Path) -> None:
    todo_log.end("todo-lost", "review-auth", 0.3, 7)
    [todo] = todo_log.list_todos(feature="auth")
    assert todo["status"] == "completed" and todo["estimated_cost"] is None


# ---------------------------------------------------------------------------- report


def write_lines(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def start_rec(tid: str, when: str, feature: str, est: float | None) -> dict[str, Any]:
    return {
        "type": "start",
        "id": tid,
        "timestamp": when,
        "session_name": f"implement-{feature}",
        "feature_id": feature,
        "status": "in_progress",
        "estimated_cost": est,
    }


def end_rec(tid: str, when: str, cost: float, status: str = "completed") -> dict[str, Any]:
    return {"type": "end", "id": tid, "timestamp": when, "status": status, "actual_cost": cost}


@pytest.fixture
def sample(session_dir: Path) -> list[dict[str, Any]]:
    records = [
        start_rec("a", "2025-01-10T10:00:00.000Z", "auth", 0.20),
        end_rec("a", "2025-01-10T10:05:00.000Z", 0.30),
        start_rec("b", "2025-01-11T10:00:00.000Z", "auth", 0.50),
        end_rec("b", "2025-01-11T10:05:00.000Z", 0.40),
        start_rec("c", "2025-01-12T10:00:00.000Z", "billing", 0.10),
        end_rec("c", "2025-01-12T10:05:00.000Z", 1.50),
        start_rec("d", "2025-01-13T10:00:00.000Z", "billing", 0.10),
        {
            "type": "error",
            "id": "d",
            "timestamp": "2025-01-13T10:01:00.000Z",
            "error": "x",
            "status": "failed",
            "actual_cost": 0.07,
        },
        start_rec("e", "2025-01-14T10:00:00.000Z", "search", 0.25),
        start_rec("f", "2025-01-15T10:00:00.000Z", "auth", 0.20),
        end_rec("f", "2025-01-15T10:05:00.000Z", 0.0),  # a $0 call: no percentage error
    ]
    write_lines(session_dir / "todos.jsonl", records)
    return records


def expected_figures(records: list[dict[str, Any]], ids: set[str]) -> dict[str, Any]:
    """Independent computation over raw records (last record of each kind wins)."""
    est = {r["id"]: r["estimated_cost"] for r in records if r["type"] == "start"}
    actual: dict[str, float] = {}
    status = {r["id"]: "in_progress" for r in records if r["type"] == "start"}
    for r in records:
        if r["type"] in ("end", "error"):
            actual[r["id"]] = r["actual_cost"]
            status[r["id"]] = r["status"]
    done = [i for i in ids if status[i] == "completed"]
    return {
        "total": len(ids),
        "completed": len(done),
        "failed": sum(1 for i in ids if status[i] == "failed"),
        "in_progress": sum(1 for i in ids if status[i] == "in_progress"),
        "actual": sum(actual.get(i, 0.0) for i in ids),
        "estimated": sum(est[i] for i in ids),
        "mape": statistics.fmean(
            abs(actual[i] - est[i]) / actual[i] for i in done if actual[i] > 0
        ),
        "ratio": sum(actual[i] for i in done) / sum(est[i] for i in done),
    }


def test_report_figures_equal_independent_sums(sample: list[dict[str, Any]]) -> None:
    report = todos.report()
    want = expected_figures(sample, set("abcdef"))
    assert report["total"] == want["total"] == 6
    assert (report["completed"], report["failed"], report["in_progress"]) == (4, 1, 1)
    assert (want["completed"], want["failed"], want["in_progress"]) == (4, 1, 1)
    assert report["total_actual_cost"] == pytest.approx(want["actual"])  # 2.27
    assert report["total_estimated_cost"] == pytest.approx(want["estimated"])  # 1.35
    accuracy = report["estimate_accuracy"]
    assert accuracy["todos"] == 4 and accuracy["mape_todos"] == 3
    assert accuracy["mape"] == pytest.approx(want["mape"], abs=1e-6)
    assert accuracy["actual_to_estimate"] == pytest.approx(want["ratio"], abs=1e-6)
    top = report["top_features"]
    assert [f["feature_id"] for f in top] == ["billing", "auth", "search"]
    assert top[0]["actual_cost"] == pytest.approx(1.57) and top[0]["todos"] == 2
    assert top[1]["actual_cost"] == pytest.approx(0.70) and top[1]["todos"] == 3


def test_report_period_filters_by_start_time(sample: list[dict[str, Any]]) -> None:
    since, until = todos.parse_period("2025-01-11", "2025-01-13")  # the 13th is included
    assert since == datetime(2025, 1, 11, tzinfo=UTC)
    assert until == datetime(2025, 1, 14, tzinfo=UTC)
    report = todos.report(since, until)
    want = expected_figures(sample, {"b", "c", "d"})
    assert report["total"] == 3
    assert report["total_actual_cost"] == pytest.approx(want["actual"])
    assert (report["completed"], report["failed"]) == (2, 1)
    assert report["since"] == "2025-01-11T00:00:00.000Z"


def test_parse_period_rejects_nonsense() -> None:
    with pytest.raises(InvalidInput):
        todos.parse_period("yesterday", None)
    with pytest.raises(InvalidInput):
        todos.parse_period("2025-02-01", "2025-01-01")


def test_report_of_missing_file_is_empty(session_dir: Path) -> None:
    report = todos.report()
    assert report["total"] == 0 and report["total_actual_cost"] == 0
    assert report["estimate_accuracy"]["mape"] is None


# ---------------------------------------------------------------------------- estimates


def seed_calls(store: SessionStore, name: str, costs: list[float], **extra: Any) -> None:
    for cost in costs:
        store.record(as_record(name, interaction(cost=cost, **extra)))


def test_estimate_is_none_without_history_or_config(session_dir: Path) -> None:
    """default_estimate_usd = 0 means "none" (docs/workflow.md): no built-in guess."""
    store = SessionStore()
    for command in ("implement", "plan", "review"):
        assert todos.estimate_cost(store, command, "auth") == (None, "none")
    todo_id = todos.start("implement-auth", None, "T1", None, "claude", None, store=store)
    todo = todo_log.list_todos("auth")[0]
    assert todo["id"] == todo_id
    assert (todo["estimated_cost"], todo["estimate_basis"]) == (None, "none")
    assert "Est. cost: none" in todo["content"]
    todo_log.end(todo_id, "implement-auth", 0.3)
    # an earlier version's built-in guess, as it was recorded, is no estimate either
    todo_log.append_record(
        {
            "schema_version": 1,
            "type": "start",
            "id": "todo-old",
            "timestamp": "2025-01-01T00:00:00.000Z",
            "session_name": "plan-auth",
            "feature_id": "auth",
            "status": "in_progress",
            "estimated_cost": 0.5,
            "estimate_basis": "constant",
        }
    )
    data = todos.report()
    assert data["total_estimated_cost"] == 0 and data["estimated_todos"] == 0
    assert data["estimate_accuracy"]["todos"] == 0
    human = aio("todo", "report")
    assert "Total cost: $0.3000 (no estimates)" in human.out, human.out
    assert todos.estimate_cost(store, "implement", "auth", 0.33) == (0.33, "config")


def test_estimate_uses_other_features_then_own(session_dir: Path) -> None:
    store = SessionStore()
    seed_calls(store, "implement-billing", [0.1, 0.3])
    seed_calls(store, "implement-search", [0.2])
    # not samples: a failed call, an unpriced call, another phase of the same feature
    # (each of these would move the median away from 0.2 if it were counted)
    seed_calls(store, "implement-search", [9.0, 9.0], outcome="error:crash")
    seed_calls(store, "implement-search", [0.0], cost_source="unpriced")
    seed_calls(store, "plan-auth", [5.0, 5.0, 5.0])
    assert todos.estimate_cost(store, "implement", "auth", 0.33) == (0.2, "all_features")
    seed_calls(store, "implement-auth", [1.0, 3.0])
    assert todos.estimate_cost(store, "implement", "auth", 0.33) == (2.0, "feature")
    # start() estimates when no estimate is given, and records the basis
    tid = todos.start("implement-auth", None, "T1", None, "claude", None)
    [todo] = [t for t in todo_log.list_todos() if t["id"] == tid]
    assert (todo["estimated_cost"], todo["estimate_basis"]) == (2.0, "feature")


# ---------------------------------------------------------------------------- CLI


def test_todo_cli_json(session_dir: Path, sample: list[dict[str, Any]]) -> None:
    result = aio("todo", "report", "--since", "2025-01-11", "--until", "2025-01-13", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["total"] == 3 and data["failed"] == 1
    assert data["total_actual_cost"] == pytest.approx(0.40 + 1.50 + 0.07)

    listed = aio("todo", "list", "--feature", "auth", "--status", "completed", "--json").json()
    assert [t["id"] for t in listed["todos"]] == ["a", "b", "f"]
    assert listed["agent_todos"] == {}
    assert aio("todo", "list", "--json").json()["agent_todos"] is None

    human = aio("todo", "report")
    assert human.code == 0
    assert "Total todos: 6" in human.out and "Failed: 1" in human.out
    assert "billing: $1.5700" in human.out

    bad = aio("todo", "report", "--since", "last week")
    assert bad.code == 2 and "--since" in bad.err
    assert aio("todo", "list", "--feature", "Bad_Feature").code == 2


def test_unpriced_call_is_unknown_cost_not_zero(session_dir: Path) -> None:
    """A call whose model has no price must not count as a $0 call: its actual cost is
    null, it is counted as unpriced, and it stays out of the totals and the accuracy."""
    priced = todos.start("implement-auth", None, "T1.1", 0.2, "claude", "m")
    todo_log.end(priced, "implement-auth", 0.4, 100, "completed")
    unknown = todos.start("implement-auth", None, "T1.2", 0.2, "claude", "mystery")
    todo_log.end(unknown, "implement-auth", 0.0, 100, "completed", unpriced=True)
    failed = todos.start("implement-auth", None, "T1.3", 0.2, "claude", "mystery")
    todo_log.error(failed, "implement-auth", "boom", actual_cost=0.0, unpriced=True)

    records = lines_of(todo_log.todo_file())
    ends = {r["id"]: r for r in records if r["type"] != "start"}
    assert ends[unknown]["actual_cost"] is None and ends[unknown]["unpriced"] is True
    assert ends[failed]["actual_cost"] is None and ends[failed]["unpriced"] is True
    assert ends[priced]["unpriced"] is False

    listed = {t["id"]: t for t in todo_log.list_todos()}
    assert listed[unknown]["actual_cost"] is None and listed[unknown]["unpriced"]
    report = todos.report()
    assert report["unpriced"] == 2
    assert report["total_actual_cost"] == pytest.approx(0.4)
    # only the priced completed call is an accuracy sample: |0.4 - 0.2| / 0.4
    assert report["estimate_accuracy"]["todos"] == 1
    assert report["estimate_accuracy"]["mape"] == pytest.approx(0.5)
    assert report["top_features"][0]["unpriced"] == 2

    human = aio("todo", "report")
    assert "Unpriced: 2 todos" in human.out and "2 unpriced" in human.out
    assert "unpriced" in aio("todo", "list").out


def test_todo_file_that_is_a_directory_is_a_usage_error(
    session_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TODO_FILE", str(tmp_path))
    result = aio("todo", "report")
    assert result.code == 2, result.err
    assert "TODO_FILE" in result.err and "directory" in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1

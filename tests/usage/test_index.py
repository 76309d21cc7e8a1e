"""The usage index: exact figures for dedup, sidechains, Codex cached subsets, deleted
transcripts, aio's own calls (never counted twice), incremental reads and interrupted syncs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.store.session_store import SessionStore
from ai_orchestrator.usage.reports import Filters, report
from ai_orchestrator.usage.sync import open_index, sync
from tests.helpers import aio_inprocess, as_record, interaction

SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"


def _line(**entry: Any) -> str:
    return json.dumps(entry) + "\n"


def _assistant(
    msg: str, req: str, ts: str, usage: dict[str, int], *, model: str = SONNET,
    session: str = "sid1", sidechain: bool = False, branch: str = "main",
) -> str:  # fmt: skip
    return _line(
        type="assistant", sessionId=session, cwd="/work/proj", gitBranch=branch,
        isSidechain=sidechain, requestId=req, timestamp=ts, uuid=f"u-{msg}-{ts}",
        message={"id": msg, "model": model, "role": "assistant",
                 "content": [{"type": "text", "text": "x" * 50}], "usage": usage},
    )  # fmt: skip


def _u(i: int, o: int, r: int = 0, w: int = 0) -> dict[str, int]:
    return {"input_tokens": i, "output_tokens": o, "cache_read_input_tokens": r,
            "cache_creation_input_tokens": w}  # fmt: skip


def _claude_session(home: Path) -> tuple[Path, Path]:
    project = home / ".claude" / "projects" / "-work-proj"
    (project / "sid1" / "subagents").mkdir(parents=True)
    main = project / "sid1.jsonl"
    main.write_text(
        _line(type="user", sessionId="sid1", message={"role": "user", "content": "y" * 5000},
              timestamp="2026-12-01T10:00:00Z")
        # streaming snapshots of one request: the first carries a placeholder output count
        + _assistant("msg_1", "req_1", "2026-12-01T10:00:01Z", _u(10, 1, 100, 50))
        + _assistant("msg_1", "req_1", "2026-12-01T10:00:02Z", _u(10, 200, 100, 50))
        + _assistant("msg_1", "req_1", "2026-12-01T10:00:02Z", _u(10, 120, 100, 50))
        + "{not json\n"
    )  # fmt: skip
    sub = project / "sid1" / "subagents" / "agent-a1.jsonl"
    sub.write_text(
        _assistant("msg_2", "req_2", "2026-12-01T10:00:03Z", _u(5, 7), model=HAIKU,
                   sidechain=True)
        # a /btw replay of the parent's message under a new request id: not a new request
        + _assistant("msg_1", "req_9", "2026-12-01T10:00:04Z", _u(10, 200, 100, 50),
                     sidechain=True)
    )  # fmt: skip
    return main, sub


def _totals(**filters: Any) -> dict[str, Any]:
    conn = open_index()
    try:
        return report(conn, "session", Filters(**filters))
    finally:
        conn.close()


def test_claude_dedup_keeps_the_most_complete_snapshot_and_counts_sidechains(
    isolated_home: Path,
) -> None:
    _claude_session(isolated_home)
    done = sync()
    doc = _totals()
    assert doc["rows"][0]["session"] == "sid1"  # the subagent counts for its parent
    assert len(doc["rows"]) == 1
    t = doc["totals"]
    # msg_1: output 200 (not the first snapshot's 1, not 1+200+120); msg_2 from the subagent
    assert (t["input"], t["output"], t["cache_read"], t["cache_write"], t["requests"]) == (
        15, 207, 100, 50, 2,
    )  # fmt: skip
    # sonnet-4.5: 10x3 + 200x15 + 100x0.3 + 50x3.75 = 3247.5; haiku-4.5: 5x1 + 7x5 = 40 (per M)
    assert t["cost"] == pytest.approx(0.0032875, abs=1e-12)
    assert t["cost_complete"] is True
    assert done.requests == 3  # msg_1, msg_2, the replay (kept in the index, never counted)


def test_a_warm_sync_reads_only_appended_bytes_and_truncation_rereads(
    isolated_home: Path,
) -> None:
    main, _ = _claude_session(isolated_home)
    sync()
    again = sync()
    assert again.files_read == 0 and again.bytes_read == 0
    extra = _assistant("msg_3", "req_3", "2026-12-01T11:00:00Z", _u(1, 1))
    with main.open("a") as f:
        f.write(extra)
    warm = sync()
    assert (warm.files_read, warm.bytes_read) == (1, len(extra))
    assert _totals()["totals"]["requests"] == 3
    # a torn last line is not consumed until it is complete
    torn = _assistant("msg_4", "req_4", "2026-12-01T11:00:01Z", _u(2, 2))
    with main.open("a") as f:
        f.write(torn[:40])
    sync()
    assert _totals()["totals"]["requests"] == 3
    with main.open("a") as f:
        f.write(torn[40:])
    sync()
    assert _totals()["totals"]["requests"] == 4
    # truncated and rewritten: read again from the start; keyed rows add nothing twice
    main.write_text(_assistant("msg_5", "req_5", "2026-12-01T12:00:00Z", _u(3, 3)))
    sync()
    assert _totals()["totals"]["requests"] == 5


def test_rows_stay_after_the_agent_deletes_its_transcripts(isolated_home: Path) -> None:
    main, sub = _claude_session(isolated_home)
    sync()
    before = _totals()["totals"]
    main.unlink()
    sub.unlink()
    sync()
    assert _totals()["totals"] == before
    assert before["requests"] == 2


def _rollout(home: Path, name: str, thread: str) -> Path:
    path = home / ".codex" / "sessions" / "2026" / "12" / "01" / name
    path.parent.mkdir(parents=True, exist_ok=True)

    def tc(ts: str, total: dict[str, int], last: dict[str, int] | None) -> str:
        info = {"total_token_usage": total, "last_token_usage": last}
        return _line(timestamp=ts, type="event_msg",
                     payload={"type": "token_count", "info": info})  # fmt: skip

    t1 = {"input_tokens": 1000, "cached_input_tokens": 800, "output_tokens": 100,
          "reasoning_output_tokens": 40, "total_tokens": 1100}  # fmt: skip
    t2 = {"input_tokens": 2500, "cached_input_tokens": 2000, "output_tokens": 300,
          "reasoning_output_tokens": 100, "total_tokens": 2800}  # fmt: skip
    l2 = {"input_tokens": 1500, "cached_input_tokens": 1200, "output_tokens": 200,
          "reasoning_output_tokens": 60, "total_tokens": 1700}  # fmt: skip
    path.write_text(
        _line(timestamp="2026-12-01T09:00:00Z", type="session_meta",
              payload={"id": thread, "cwd": "/work/codexproj", "git": {"branch": "feat/x"}})
        + _line(timestamp="2026-12-01T09:00:00Z", type="turn_context",
                payload={"model": "gpt-5", "cwd": "/work/codexproj"})
        + _line(timestamp="2026-12-01T09:00:01Z", type="response_item",
                payload={"type": "message", "content": "z" * 3000})
        + tc("2026-12-01T09:00:02Z", t1, t1)
        + tc("2026-12-01T09:00:02Z", t1, t1)  # the same snapshot again (rate-limit update)
        + tc("2026-12-01T09:00:05Z", t2, l2)
    )  # fmt: skip
    return path


def test_codex_cached_input_is_a_subset_and_copies_add_nothing(isolated_home: Path) -> None:
    thread = "0199a213-81c0-7800-8aa1-bbab2a035a53"
    _rollout(isolated_home, f"rollout-2026-12-01T09-00-00-{thread}.jsonl", thread)
    # a resume that wrote the whole history again into a new file
    _rollout(isolated_home, f"rollout-2026-12-01T10-00-00-{thread}.jsonl", thread)
    sync()
    doc = _totals(agent="codex")
    t = doc["totals"]
    # input excludes the cached tokens: (1000-800) + (1500-1200); cached 800 + 1200
    assert (t["input"], t["cache_read"], t["output"], t["reasoning"], t["requests"]) == (
        500, 2000, 300, 100, 2,
    )  # fmt: skip
    # gpt-5: 500x1.25 + 2000x0.125 + 300x10 per million (reasoning inside output, once)
    assert t["cost"] == pytest.approx(0.003875, abs=1e-12)
    row = doc["rows"][0]
    assert (row["session"], row["project"], row["branch"]) == (thread, "/work/codexproj", "feat/x")


def test_gemini_chat_last_copy_wins_and_cached_is_inside_input(isolated_home: Path) -> None:
    chats = isolated_home / ".gemini" / "tmp" / "proj" / "chats"
    chats.mkdir(parents=True)
    tokens_early = {"input": 1000, "output": 10, "cached": 600, "thoughts": 0, "total": 1010}
    tokens = {"input": 1000, "output": 50, "cached": 600, "thoughts": 20, "tool": 0,
              "total": 1070}  # fmt: skip
    (chats / "session-2026-12-01T10-00-abcd1234.jsonl").write_text(
        _line(sessionId="abcd1234-0000", projectHash="h", startTime="2026-12-01T10:00:00Z")
        + _line(id="m1", type="user", timestamp="2026-12-01T10:00:00Z", content="hi")
        + _line(id="m2", type="gemini", timestamp="2026-12-01T10:00:01Z",
                model="gemini-2.5-pro", tokens=tokens_early)
        + _line(id="m2", type="gemini", timestamp="2026-12-01T10:00:02Z",
                model="gemini-2.5-pro", tokens=tokens)
    )  # fmt: skip
    sync()
    t = _totals(agent="gemini")["totals"]
    # input 1000 includes 600 cached; thoughts are output (billed once)
    assert (t["input"], t["cache_read"], t["output"], t["reasoning"], t["requests"]) == (
        400, 600, 70, 20, 1,
    )  # fmt: skip


def test_aio_calls_count_once_and_interactive_turns_in_their_session_count_for_the_feature(
    isolated_home: Path,
) -> None:
    _claude_session(isolated_home)
    store = SessionStore()
    # aio ran msg_1 (10:00:01-10:00:02) through `aio run` in agent session sid1
    store.record(as_record(
        "implement-auth",
        interaction(
            agent="claude", agent_session_id="sid1", model=SONNET, task_id="T1",
            timestamp="2026-12-01T10:00:02.500Z", duration_ms=2000,
            tokens={"input": 10, "output": 200, "cache_read": 100, "cache_write": 50},
            cost=0.0032475, cost_source="computed",
        ),
    ))  # fmt: skip
    later = _assistant("msg_7", "req_7", "2026-12-01T15:00:00Z", _u(1, 1))
    with (isolated_home / ".claude/projects/-work-proj/sid1.jsonl").open("a") as f:
        f.write(later)  # the user resumed sid1 by hand hours later
    sync()
    doc = _totals()
    t = doc["totals"]
    # msg_1 once (as aio recorded it), msg_2 (subagent, inside aio's window: covered), msg_7
    assert (t["input"], t["output"], t["requests"]) == (11, 201, 2)
    conn = open_index()
    try:
        rows = conn.execute(
            "SELECT key, origin, covered IS NOT NULL, feature, task FROM req ORDER BY key"
        ).fetchall()
    finally:
        conn.close()
    by_key = {r[0]: r[1:] for r in rows}
    assert by_key["c:msg_1:req_1"][1] == 1 and by_key["c:msg_2:req_2"][1] == 1
    assert by_key["c:msg_7:req_7"] == ("t", 0, "auth", "T1")


def test_a_branch_named_after_a_feature_attributes_interactive_sessions(
    isolated_home: Path,
) -> None:
    SessionStore().record(as_record("plan-login", interaction()))
    project = isolated_home / ".claude" / "projects" / "-work-proj"
    project.mkdir(parents=True)
    (project / "s2.jsonl").write_text(
        _assistant("msg_a", "r", "2026-12-01T10:00:00Z", _u(1, 2), session="s2",
                   branch="feature/login")
    )  # fmt: skip
    sync()
    conn = open_index()
    try:
        doc = report(conn, "daily", Filters(), by="feature")
    finally:
        conn.close()
    # the transcript's day: the interactive request, by its branch; aio's own call is today
    assert [(r["feature"], r["requests"]) for r in doc["rows"] if r["date"] == "2026-12-01"] == [
        ("login", 1)
    ]


def test_an_interrupted_sync_loses_nothing_and_the_next_one_continues(
    isolated_home: Path,
) -> None:
    project = isolated_home / ".claude" / "projects" / "-p"
    project.mkdir(parents=True)
    for n in range(6):
        (project / f"s{n}.jsonl").write_text(
            "".join(
                _assistant(f"msg_{n}_{k}", "r", "2026-12-01T10:00:00Z", _u(1, 1), session=f"s{n}")
                for k in range(50)
            )
        )
    calls = []

    def stop(done: int, files: int, done_bytes: int, total: int) -> None:
        calls.append(done)
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(progress=stop)
    second = sync()
    assert 0 < second.files_read <= 6
    assert _totals()["totals"]["requests"] == 300


def test_reports_json_csv_and_bad_input_from_the_cli(isolated_home: Path) -> None:
    _claude_session(isolated_home)
    daily = aio_inprocess("usage", "daily", "--json", "--by", "model")
    assert daily.code == 0, daily.err
    doc = json.loads(daily.out)
    assert doc["schema_version"] == 1 and doc["totals"]["requests"] == 2
    assert {r["model"] for r in doc["rows"]} == {SONNET, HAIKU}
    assert set(doc["totals"]) >= {"input", "output", "cache_read", "cache_write", "reasoning",
                                  "cost", "requests"}  # fmt: skip
    csv = aio_inprocess("usage", "monthly", "--csv")
    assert csv.code == 0 and csv.out.splitlines()[1].startswith("2026-12,")
    bad = aio_inprocess("usage", "daily", "--since", "yesterday")
    assert bad.code == 2 and "YYYY-MM-DD" in bad.err and "Traceback" not in bad.err
    blocks = aio_inprocess("usage", "blocks", "--json", "--no-sync")
    assert json.loads(blocks.out)["rows"][0]["requests"] == 2


def test_unpriced_requests_are_flagged_not_shown_as_zero(isolated_home: Path) -> None:
    project = isolated_home / ".claude" / "projects" / "-p"
    project.mkdir(parents=True)
    (project / "s.jsonl").write_text(
        _assistant("msg_z", "r", "2026-12-01T10:00:00Z", _u(100, 100), model="mystery-model-9")
    )
    sync()
    t = _totals()["totals"]
    assert (t["unpriced_requests"], t["cost"], t["cost_complete"]) == (1, 0.0, False)
    shown = aio_inprocess("usage", "daily", "--no-sync")
    assert "+?" in shown.out and "unpriced" in shown.err


def test_odd_files_in_the_roots_are_skipped(isolated_home: Path) -> None:
    project = isolated_home / ".claude" / "projects" / "-p"
    project.mkdir(parents=True)
    os.mkfifo(project / "fifo.jsonl")
    (project / "link.jsonl").symlink_to("/etc/passwd")
    (project / "empty.jsonl").write_text("")
    done = sync()
    assert done.requests == 0


def test_status_and_session_stats_include_interactive_usage_of_the_feature(
    isolated_home: Path, tmp_path: Path
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    assert aio_inprocess("init", "login", "Login", cwd=project).code == 0
    claude = isolated_home / ".claude" / "projects" / "-work-proj"
    claude.mkdir(parents=True)
    (claude / "s9.jsonl").write_text(
        _assistant("msg_b", "r", "2026-12-01T10:00:00Z", _u(1000, 100), session="s9",
                   branch="feature/login")
    )  # fmt: skip
    assert aio_inprocess("usage", "sync").code == 0
    status = aio_inprocess("status", "login", "--json", cwd=project)
    assert status.code == 0, status.err
    interactive = json.loads(status.out)["interactive"]
    # sonnet-4.5: 1000 x 3 + 100 x 15 per million
    assert (interactive["requests"], interactive["cost"]) == (1, pytest.approx(0.0045))
    stats = aio_inprocess("session", "stats", "--by", "branch", "--json")
    assert stats.code == 0, stats.err
    groups = json.loads(stats.out)["interactive"]["groups"]
    assert groups["feature/login"]["output"] == 100
    # aio's own session of the feature
    SessionStore().record(as_record("plan-login", interaction()))
    shown = aio_inprocess("session", "stats", "--by", "feature")
    assert "Interactive agent sessions" in shown.out and "login" in shown.out


@pytest.mark.slow
@pytest.mark.process  # a SIGKILLed sync process
def test_a_sync_killed_with_sigkill_loses_nothing(isolated_home: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    project = isolated_home / ".claude" / "projects" / "-p"
    project.mkdir(parents=True)
    for n in range(30):
        (project / f"s{n}.jsonl").write_text(
            "".join(
                _assistant(f"msg_{n}_{k}", "r", "2026-12-01T10:00:00Z", _u(1, 2), session=f"s{n}")
                + _line(type="user", message={"content": "p" * 2000})
                for k in range(400)
            )
        )
    code = "from ai_orchestrator.usage.sync import sync; sync()"
    for delay in (0.3, 0.8, 1.6):
        proc = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    sync()
    t = _totals()["totals"]
    assert (t["requests"], t["input"], t["output"]) == (12_000, 12_000, 24_000)


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_statusline_prints_costs_feature_budget_and_limits(isolated_home: Path) -> None:
    import subprocess
    import sys

    _claude_session(isolated_home)
    SessionStore().record(as_record(
        "implement-auth",
        interaction(agent="claude", agent_session_id="sid1", task_id="T1", budget_usd=1.0,
                    timestamp="2026-12-01T10:00:02.500Z", duration_ms=2000, cost=0.25),
    ))  # fmt: skip
    sync()
    event = {"session_id": "sid1", "model": {"display_name": "Sonnet 4.5"},
             "cost": {"total_cost_usd": 0.31},
             "rate_limits": {"five_hour": {"used_percentage": 42.4}}}  # fmt: skip
    code = "from ai_orchestrator.cli.launch import main; import sys; main()"
    done = subprocess.run([sys.executable, "-c", code, "statusline"], input=json.dumps(event),
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode == 0, done.stderr
    parts = done.stdout.strip().split(" | ")
    assert parts[0] == "Sonnet 4.5"
    assert parts[1].startswith("session $") and parts[1].endswith("(reported $0.31)")
    assert parts[2].startswith("today $")
    assert "auth/T1" in parts and "budget left $0.75" in parts and "5h 42%" in parts
    # garbage on stdin: still one line, exit 0
    bad = subprocess.run([sys.executable, "-c", code, "statusline"], input="{oops",
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert bad.returncode == 0 and bad.stdout.count("\n") == 1


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_a_big_sync_parses_in_worker_processes_with_the_same_figures(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_orchestrator.usage import sync as sync_module

    _claude_session(isolated_home)
    thread = "0199a213-81c0-7800-8aa1-bbab2a035a53"
    _rollout(isolated_home, f"rollout-2026-12-01T09-00-00-{thread}.jsonl", thread)
    monkeypatch.setattr(sync_module, "PARALLEL_BYTES", 0)
    seen: list[tuple[int, int]] = []
    done = sync(progress=lambda d, f, b, t: seen.append((d, f)))
    assert done.files_read == 3 and seen[-1] == (3, 3)
    claude = _totals(agent="claude")["totals"]
    codex = _totals(agent="codex")["totals"]
    assert (claude["output"], claude["requests"], claude["cost"]) == (
        207, 2, pytest.approx(0.0032875, abs=1e-12)
    )
    assert (codex["input"], codex["cache_read"], codex["requests"]) == (500, 2000, 2)
    assert sync().files_read == 0  # offsets were stored by the parent


def test_the_progress_bar_shows_files_bytes_and_rate(capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from ai_orchestrator.cli.usage import _Bar

    bar = _Bar()
    bar.started = time.monotonic() - 2.0
    bar(3, 10, 300 * 2**20, 1024 * 2**20)
    bar(4, 10, 310 * 2**20, 1024 * 2**20)  # within 0.2 s of the last: not redrawn
    bar.close()
    err = capsys.readouterr().err
    assert "3/10 files" in err and "300/1024 MiB" in err and "MiB/s" in err
    assert "4/10" not in err and err.endswith("\r\033[K")
    small = _Bar()
    small(1, 2, 10, 20)  # a small sync shows no bar
    assert small.drawn is False

"""``aio run`` end to end with the fake agent CLIs: sessions, accounting, failures, signals.

In-process (the fakes run in this process, see ``tests/fakes/fixtures.py``) except the tests
of the process layer (timeout, Ctrl-C), marked ``process``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.calls import session_call
from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.core.errors import SessionBusy
from ai_orchestrator.store import SessionStore
from tests.fakes.harness import FakeAgents, aio_run, pid_alive

SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"


def records(name: str) -> list[dict[str, Any]]:
    return [r.to_json() for r in SessionStore().read_log(name).records]


def test_new_then_resumed_session_keeps_id_and_exact_usage(
    fakes: FakeAgents, project: Path
) -> None:
    fakes.scenario(
        [
            {
                "text": "first answer",
                "usage": {
                    SONNET: {
                        "input": 120,
                        "output": 40,
                        "cache_read": 900,
                        "cache_write_5m": 300,
                        "cache_write_1h": 100,
                    },
                    HAIKU: {"input": 50, "output": 5},
                },
            },
            {"text": "second answer", "usage": {SONNET: {"input": 7, "output": 3}}},
        ]
    )
    first = aio_run(project, "implement-auth", "write the tests", "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["text"] == "first answer" and data["session_action"] == "started"
    assert "started a new agent conversation" in first.stderr
    assert data["usage_by_model"][SONNET]["cache_write_1h"] == 100
    assert data["tokens"] == {
        "input": 170,
        "output": 45,
        "cache_read": 900,
        "cache_write": 400,
        "reasoning": 0,
    }
    assert data["cost_source"] == "computed" and data["cost"] > 0
    assert data["reported_cost"] is not None

    second = aio_run(project, "implement-auth", "-", stdin="now implement", timeout=60)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "second answer"
    assert "resumed the agent conversation" in second.stderr

    calls = fakes.invocations("claude")
    assert len(calls) == 2
    sid = data["agent_session_id"]
    assert f"--session-id={sid}" in calls[0]["argv"]
    assert f"--resume={sid}" in calls[1]["argv"]
    for call in calls:
        assert "--verbose" in call["argv"] and "stream-json" in call["argv"]
        assert call["stdin"] in ("write the tests", "now implement")
        assert not any("write the tests" in a or "now implement" in a for a in call["argv"])
    stored = records("implement-auth")
    assert [r["agent_session_id"] for r in stored] == [sid, sid]
    assert stored[1]["tokens"]["input"] == 7 and stored[1]["tokens"]["output"] == 3
    view = SessionStore().load("implement-auth")
    assert view.summary.to_json()["interaction_count"] == 2
    assert view.summary.to_json()["tokens"]["input"] == 177


def test_session_lost_is_reported_never_silently_replaced(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"text": "one"}, {"text": "two"}, {"text": "three"}])
    assert aio_run(project, "plan-x", "hello").returncode == 0
    sid = records("plan-x")[0]["agent_session_id"]
    # The agent's own store loses the conversation (retention, another machine, …).
    for transcript in (fakes.home / ".claude").rglob(f"{sid}*"):
        if transcript.is_file():
            transcript.unlink()
    lost = aio_run(project, "plan-x", "again")
    assert lost.returncode == 1
    assert "--new-session" in lost.stderr
    last = records("plan-x")[-1]
    assert last["outcome"] == "error:session_lost" and last["agent_session_id"] == sid
    assert len(fakes.invocations("claude")) == 2  # no silent fresh start was attempted
    replaced = aio_run(project, "plan-x", "start over", "--new-session", "--json")
    assert replaced.returncode == 0, replaced.stderr
    data = json.loads(replaced.stdout)
    assert data["session_action"] == "replaced" and data["agent_session_id"] != sid


def test_already_in_use_switches_to_resume(
    fakes: FakeAgents, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = uuid.UUID("0b7a4c11-8f0e-4d9b-9c1a-7e44aabbccdd")
    fakes.scenario([{"text": "created"}, {"text": "continued"}])
    # A previous run created the conversation but died before anything was recorded.
    made = fakes.run(
        "claude",
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        f"--session-id={fixed}",
        cwd=project,
        stdin="hi",
    )
    assert made.returncode == 0, made.stderr
    monkeypatch.setattr(session_call, "_new_id", lambda: str(fixed))
    run = run_in_session(SessionStore(), "run-x", "go on", CallOptions(agent="claude", cwd=project))
    assert run.result.ok and run.result.text == "continued"
    assert run.action == "resumed" and run.record.agent_session_id == str(fixed)
    argvs = [c["argv"] for c in fakes.invocations("claude")]
    assert f"--session-id={fixed}" in argvs[1] and f"--resume={fixed}" in argvs[2]


def test_no_session_runs_fresh_conversations(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"text": "a"}, {"text": "b"}])
    for _ in range(2):
        result = aio_run(project, "run-x", "hi", "--json", env={"USE_SESSIONS": "false"})
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["session_action"] == "fresh"
    ids = [r["agent_session_id"] for r in records("run-x")]
    assert len(set(ids)) == 2
    assert all(
        not any(a.startswith("--resume") for a in c["argv"]) for c in fakes.invocations("claude")
    )


@pytest.mark.parametrize(
    "failure, outcome, code",
    [
        ("api_error", "error:api_error", 1),
        ("auth", "error:auth", 1),
        ("rate_limit", "error:rate_limit", 1),
        ("max_turns", "error:max_turns", 1),
        ("budget", "error:budget", 3),  # README "Exit codes": budget is 3, as in the workflow
        ("crash", "error:crash", 1),
    ],
)
def test_claude_failures_are_classified_and_recorded(
    fakes: FakeAgents, project: Path, failure: str, outcome: str, code: int
) -> None:
    fakes.scenario([{"text": "never", "failure": failure}])
    result = aio_run(project, "run-x", "hi")
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("aio: error: claude ")
    [record] = records("run-x")
    assert record["outcome"] == outcome


@pytest.mark.parametrize(
    "failure, outcome",
    [
        ("auth", "error:auth"),
        ("rate_limit", "error:rate_limit"),
        ("max_turns", "error:max_turns"),
        ("api_error", "error:api_error"),
    ],
)
def test_gemini_failures_are_classified(
    fakes: FakeAgents, project: Path, failure: str, outcome: str
) -> None:
    fakes.scenario([{"text": "never", "failure": failure}])
    result = aio_run(project, "run-x", "hi", "--agent", "gemini")
    assert result.returncode == 1, result.stderr
    assert records("run-x")[0]["outcome"] == outcome


def test_noise_lines_are_tolerated(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"text": "fine", "noise": ["mise claude@2.1.330 ✓", "not json {"]}])
    result = aio_run(project, "run-x", "hi")
    assert result.returncode == 0 and result.stdout.strip() == "fine"


def test_codex_cumulative_usage_is_recorded_as_differences(
    fakes: FakeAgents, project: Path
) -> None:
    fakes.scenario(
        [
            {
                "text": "one",
                "usage": {
                    "gpt-5-codex": {
                        "input": 1000,
                        "output": 100,
                        "cache_read": 500,
                        "reasoning": 40,
                    }
                },
            },
            {
                "text": "two",
                "usage": {"gpt-5-codex": {"input": 10, "output": 20, "cache_read": 2000}},
            },
        ]
    )
    for prompt in ("first", "second"):
        result = aio_run(project, "implement-x", prompt, "--agent", "codex")
        assert result.returncode == 0, result.stderr
    first, second = records("implement-x")
    assert first["tokens"] == {
        "input": 1000,
        "output": 100,
        "cache_read": 500,
        "cache_write": 0,
        "reasoning": 40,
    }
    assert second["tokens"] == {
        "input": 10,
        "output": 20,
        "cache_read": 2000,
        "cache_write": 0,
        "reasoning": 0,
    }
    assert first["agent_session_id"] == second["agent_session_id"]
    argv = fakes.invocations("codex")[1]["argv"]
    assert "resume" in argv and first["agent_session_id"] in argv


@pytest.mark.process  # the runner's timeout kills a process group
def test_timeout_kills_the_whole_group_and_exits_124(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario(
        [{"text": "x", "failure": {"kind": "hang", "ignore_term": True}, "background_seconds": 300}]
    )
    started = time.monotonic()
    result = aio_run(project, "run-x", "hi", "--timeout", "2", timeout=60)
    assert result.returncode == 124, result.stderr
    assert time.monotonic() - started < 30
    [call] = fakes.invocations("claude")
    for pid in [call["pid"], *call["background_pids"]]:
        assert not pid_alive(pid), f"process {pid} survived the timeout"
    assert records("run-x")[0]["outcome"] == "timeout"


@pytest.mark.process  # SIGINT to a real aio
def test_ctrl_c_kills_the_agent_records_and_exits_130(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"text": "x", "failure": "hang"}])
    proc = subprocess.Popen(
        [sys.executable, "-m", "ai_orchestrator", "run", "run-x", "hi"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not fakes.invocations("claude") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    [call] = fakes.invocations("claude")
    assert not pid_alive(call["pid"])
    assert records("run-x")[0]["outcome"] == "interrupted"
    assert SessionStore().holder("run-x") is None


def test_second_run_on_a_busy_session_names_the_holder(fakes: FakeAgents, project: Path) -> None:
    store = SessionStore()
    lock = store.run_lock("run-x", command="aio run run-x (test holder)")
    try:
        with pytest.raises(SessionBusy, match=r"test holder"):
            run_in_session(
                store, "run-x", "hi", CallOptions(agent="claude", cwd=project, lock_timeout=0.3)
            )
    finally:
        lock.release()
    assert fakes.invocations("claude") == []


def test_resume_runs_from_the_sessions_own_directory(
    fakes: FakeAgents, project: Path, tmp_path: Path
) -> None:
    fakes.scenario([{"text": "one"}, {"text": "two"}])
    assert aio_run(project, "run-x", "hi").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = aio_run(elsewhere, "run-x", "again")
    assert result.returncode == 0, result.stderr
    calls = fakes.invocations("claude")
    assert calls[1]["cwd"] == str(project)


def test_bad_input(fakes: FakeAgents, project: Path) -> None:
    assert aio_run(project, "Bad Name", "hi").returncode == 2
    assert aio_run(project, "run-x", "   ").returncode == 2
    result = aio_run(project, "run-x", "hi", "--agent", "nope")
    assert result.returncode == 2 and "known agents" in result.stderr
    missing = aio_run(
        project, "run-x", "hi", env={"AIO_AGENT_CLAUDE_EXECUTABLE": "/nonexistent/claude"}
    )
    assert missing.returncode == 1 and "AIO_AGENT_CLAUDE_EXECUTABLE" in missing.stderr
    assert "Traceback" not in missing.stderr

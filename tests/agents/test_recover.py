"""A call whose aio was SIGKILLed is recorded once, on the next use of the session or by repair.

Each test kills a real ``aio run`` process mid-call (and the fake agent's process tree, which
the lifetime watchdog would otherwise take care of), then checks what the next ``aio run`` or
``aio session repair`` stores: exactly one ``interrupted`` interaction with the usage the
agent wrote into its own files, its todo closed — and nothing at all when the call had been
recorded before aio died.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.accounting.call_cost import price_call
from ai_orchestrator.core.usage import ModelUsage
from ai_orchestrator.store import SessionStore, todo_log
from ai_orchestrator.store.pending import PENDING
from tests.fakes.harness import FakeAgents, aio_run, descendants, pid_alive

SONNET = "claude-sonnet-4-5-20250929"
KILLED_USAGE = {"input": 1200, "output": 340, "cache_read": 5000, "cache_write_5m": 700}

pytestmark = pytest.mark.process  # every test SIGKILLs a real aio


def _spawn(cwd: Path, *args: str, code: str | None = None) -> subprocess.Popen[str]:
    prefix = ["-c", code] if code else ["-m", "ai_orchestrator"]
    return subprocess.Popen(
        [sys.executable, *prefix, "run", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait(predicate: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _kill_everything(aio: subprocess.Popen[str], fakes: FakeAgents, agent: str) -> None:
    """SIGKILL aio, then the agent's process group (the watchdog's job on another branch)."""
    tree = descendants(aio.pid)
    aio.kill()
    aio.communicate(timeout=10)
    logged = [call.get("pid") for call in fakes.invocations(agent)]
    for pid in {*tree, *(p for p in logged if isinstance(p, int))}:
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            _wait(lambda pid=pid: not pid_alive(pid), f"fake {agent} {pid} to die")


def _claude_wrote_usage(fakes: FakeAgents) -> bool:
    config = Path(fakes.env["CLAUDE_CONFIG_DIR"])
    return any(
        '"assistant"' in path.read_text()
        for path in (config / "projects").glob("*/*.jsonl")
    )


def _kill_claude_mid_call(fakes: FakeAgents, project: Path, name: str) -> None:
    fakes.scenario(
        [
            {"text": "cut off", "usage": {SONNET: KILLED_USAGE}, "failure": {"kind": "hang"}},
            {"text": "after", "usage": {SONNET: {"input": 10, "output": 5}}},
        ]
    )
    aio = _spawn(project, name, "do the work", "--model", SONNET)
    try:
        _wait(lambda: _claude_wrote_usage(fakes), "the fake claude to write its transcript")
    finally:
        _kill_everything(aio, fakes, "claude")


def _records(name: str) -> list[dict[str, Any]]:
    return [r.to_json() for r in SessionStore().read_log(name).records]


def _todos_of(name: str) -> list[dict[str, Any]]:
    return [t for t in todo_log.list_todos() if t["session_name"] == name]


def _expected_cost() -> float:
    usage = ModelUsage(
        input=KILLED_USAGE["input"],
        output=KILLED_USAGE["output"],
        cache_read=KILLED_USAGE["cache_read"],
        cache_write_5m=KILLED_USAGE["cache_write_5m"],
        requests=1,
    )
    return price_call("claude", {SONNET: usage}, None).cost


def test_next_run_records_the_killed_call_once_with_the_transcripts_usage(
    fakes: FakeAgents, project: Path
) -> None:
    name = "implement-recover"
    _kill_claude_mid_call(fakes, project, name)
    assert (SessionStore().path_of(name) / PENDING).exists()
    assert [t["status"] for t in _todos_of(name)] == ["in_progress"]

    after = aio_run(project, name, "carry on", "--model", SONNET)
    assert after.returncode == 0, after.stderr
    assert "cut off" in after.stderr and "interrupted" in after.stderr
    interrupted, resumed = _records(name)
    assert interrupted["outcome"] == "interrupted"
    assert interrupted["tokens"] == {
        "input": 1200,
        "output": 340,
        "cache_read": 5000,
        "cache_write": 700,
        "reasoning": 0,
    }
    assert interrupted["cost_source"] == "transcript"
    assert interrupted["usage_source"]["kind"] == "claude-transcript"
    assert interrupted["cost"] == _expected_cost() and interrupted["cost"] > 0
    assert interrupted["prompt"] == "do the work" and interrupted["model"] == SONNET
    # The conversation the killed call started is the one the next call resumed.
    assert resumed["session_action"] == "resumed"
    assert resumed["agent_session_id"] == interrupted["agent_session_id"]
    assert resumed["outcome"] == "success"
    assert not (SessionStore().path_of(name) / PENDING).exists()
    killed_todo, next_todo = _todos_of(name)
    assert killed_todo["status"] == "failed" and "interrupted" in killed_todo["error"]
    assert killed_todo["actual_cost"] == interrupted["cost"]
    assert next_todo["status"] == "completed"

    # Nothing more on later uses or a repair.
    assert aio_run(project, name, "more", "--model", SONNET).returncode == 0
    subprocess.run(
        [sys.executable, "-m", "ai_orchestrator", "session", "repair", name],
        check=True, capture_output=True, timeout=60,
    )
    assert [r["outcome"] for r in _records(name)].count("interrupted") == 1


def test_repair_records_the_killed_call(fakes: FakeAgents, project: Path) -> None:
    name = "plan-repairme"
    _kill_claude_mid_call(fakes, project, name)
    repaired = subprocess.run(
        [sys.executable, "-m", "ai_orchestrator", "session", "repair", name, "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert repaired.returncode == 0, repaired.stderr
    [record] = _records(name)
    assert json.loads(repaired.stdout)["recovered_call"] == record["id"]
    assert record["outcome"] == "interrupted" and record["tokens"]["input"] == 1200
    assert [t["status"] for t in _todos_of(name)] == ["failed"]
    after = aio_run(project, name, "carry on", "--model", SONNET)
    assert after.returncode == 0, after.stderr
    assert [r["outcome"] for r in _records(name)] == ["interrupted", "success"]


def test_repair_says_when_a_run_still_holds_the_cut_off_call(
    fakes: FakeAgents, project: Path
) -> None:
    """While the run lock is held (a live run, or the watchdog of an agent aio left behind),
    repair cannot check the pending call: it says so instead of a silent "consistent"."""
    name = "plan-held"
    _kill_claude_mid_call(fakes, project, name)
    store = SessionStore()
    lock = store.run_lock(name, timeout=5, command="test")
    try:
        repaired = subprocess.run(
            [sys.executable, "-m", "ai_orchestrator", "session", "repair", name],
            capture_output=True, text=True, timeout=60,
        )
        as_json = subprocess.run(
            [sys.executable, "-m", "ai_orchestrator", "session", "repair", name, "--json"],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        lock.release()
    assert repaired.returncode == 0, repaired.stderr
    assert "a call in flight was not checked" in repaired.stderr
    assert "run repair again once it is free" in repaired.stderr
    report = json.loads(as_json.stdout)
    assert report["recovered_call"] is None and "not checked" in report["recovery_skipped"]
    assert _records(name) == [] and (store.path_of(name) / PENDING).exists()


def test_killed_after_its_record_was_stored_adds_nothing(fakes: FakeAgents, project: Path) -> None:
    name = "implement-stored"
    fakes.scenario([{"text": "done", "usage": {SONNET: {"input": 50, "output": 7}}}, {}])
    # aio dies right after storing the record, before it closes the todo and drops the marker.
    die_after_record = (
        "import os, sys; import ai_orchestrator.calls.session_call as s;"
        "s._close_todo = lambda *a: os.kill(os.getpid(), 9);"
        "from ai_orchestrator.cli.main import main; sys.argv[0] = 'aio'; main()"
    )
    aio = _spawn(project, name, "first", "--model", SONNET, code=die_after_record)
    aio.communicate(timeout=60)
    assert aio.returncode == -signal.SIGKILL
    [first] = _records(name)
    assert first["outcome"] == "success"
    assert (SessionStore().path_of(name) / PENDING).exists()

    after = aio_run(project, name, "second", "--model", SONNET)
    assert after.returncode == 0, after.stderr
    assert [r["outcome"] for r in _records(name)] == ["success", "success"]
    assert [t["status"] for t in _todos_of(name)] == ["completed", "completed"]
    assert _todos_of(name)[0]["actual_cost"] == first["cost"]


def test_without_an_agent_file_the_call_is_recorded_with_usage_unknown(
    fakes: FakeAgents, project: Path
) -> None:
    name = "review-nofile"
    fakes.scenario([{"failure": {"kind": "hang"}}, {"text": "after"}])
    aio = _spawn(project, name, "review it", "--agent", "codex")
    # Codex names a new thread only in its stream: the marker must learn it from there.
    marker = SessionStore().path_of(name) / PENDING

    def thread_noted() -> bool:
        try:
            return bool(json.loads(marker.read_text()).get("session_id"))
        except (OSError, ValueError):
            return False

    try:
        _wait(thread_noted, "the marker to note the codex thread")
    finally:
        _kill_everything(aio, fakes, "codex")

    after = aio_run(project, name, "again", "--agent", "codex")
    assert after.returncode == 0, after.stderr
    assert "usage is unknown" in after.stderr
    interrupted, following = _records(name)
    assert interrupted["outcome"] == "interrupted"
    assert interrupted["usage_unknown"] is True and interrupted["cost_source"] == "unpriced"
    assert sum(interrupted["tokens"].values()) == 0
    killed_todo = _todos_of(name)[0]
    assert killed_todo["status"] == "failed" and killed_todo["unpriced"] is True
    unpriced = 1 + (following["cost_source"] == "unpriced")
    assert SessionStore().load(name).summary.to_json()["unpriced_interactions"] == unpriced


def test_an_unusable_marker_is_kept_aside_and_never_blocks_the_session(
    fakes: FakeAgents, project: Path
) -> None:
    name = "implement-oddmarker"
    store = SessionStore()
    fakes.scenario([{"text": "one"}, {"text": "two"}])
    assert aio_run(project, name, "first").returncode == 0
    directory = store.path_of(name)
    odd = {
        "record_id": "r1",
        "todo_id": "todo-x",
        "agent": "claude",
        "cwd": str(project),
        "started_at": "2026-01-01T00:00:00.000Z",
        "task_id": {"not": "a string"},  # cannot be stored as an interaction
    }
    for content in (b"{not json", json.dumps(odd).encode()):
        (directory / PENDING).write_bytes(content)
        after = aio_run(project, name, "again")
        assert after.returncode == 0, after.stderr
        assert not (directory / PENDING).exists()
    assert len(list(directory.glob("pending-call.corrupt-*.json"))) == 2
    assert "interrupted" not in [r["outcome"] for r in _records(name)]

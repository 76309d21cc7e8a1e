"""OpenCode's own behaviour (``agents.opencode``) beyond the shared backend contract: steps
summed and deduplicated, the token arithmetic, every error shape, todos, the model from
OpenCode's SQLite store, the launch flags, and reading a lost call back from ``opencode.db``.
Streams are shaped like the real CLI's (``tests/agents/streams/opencode-*``, recorded from
opencode 1.18.33 against the fake API)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.base import AgentRequest, Permission, ProcessExit
from ai_orchestrator.agents.homes.agent_files import read_back
from ai_orchestrator.agents.opencode import OpenCodeBackend, OpenCodeStreamParser, opencode_db
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.usage import ModelUsage

SES = "ses_dae18d089ffehJG7G6ipH2T7sD"
OK = ProcessExit(0, "", 1000)


def _step(part_id: str, message: str, *, inp: int = 10, out: int = 5, reasoning: int = 0,
          read: int = 0, write: int = 0, cost: float | None = 0.001) -> dict[str, Any]:
    part: dict[str, Any] = {
        "id": part_id, "messageID": message, "sessionID": SES, "type": "step-finish",
        "reason": "stop",
        "tokens": {"total": inp + out, "input": inp, "output": out, "reasoning": reasoning,
                   "cache": {"read": read, "write": write}},
    }
    if cost is not None:
        part["cost"] = cost
    return {"type": "step_finish", "timestamp": 1, "sessionID": SES, "part": part}


def _text(part_id: str, message: str, text: str) -> dict[str, Any]:
    return {"type": "text", "sessionID": SES,
            "part": {"id": part_id, "messageID": message, "type": "text", "text": text}}


def _error(name: str, message: str, status: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"message": message}
    if status is not None:
        data["statusCode"] = status
    return {"type": "error", "sessionID": SES, "error": {"name": name, "data": data}}


def _parse(events: list[dict[str, Any]], exit: ProcessExit = OK, **kw: Any) -> Any:
    request = AgentRequest(prompt="p", cwd=Path("/w"), **{"model": "a/m", **kw})
    parser = OpenCodeStreamParser(request)
    for event in events:
        parser.feed(json.dumps(event))
    return parser.finish(exit)


def test_steps_are_summed_and_a_repeated_step_counts_once() -> None:
    events = [
        _step("prt_1", "msg_1", inp=100, out=20, read=30, write=7, cost=0.5),
        _step("prt_1", "msg_1", inp=100, out=20, read=30, write=7, cost=0.5),  # printed again
        _step("prt_2", "msg_2", inp=50, out=8, reasoning=6, read=11, cost=0.25),
        _text("prt_3", "msg_2", "done"),
    ]
    result = _parse(events)
    assert result.outcome == "success" and result.text == "done" and result.turns == 2
    # OpenCode's output excludes reasoning; aio's includes it
    assert result.usage == {"a/m": ModelUsage(input=150, output=34, reasoning=6, cache_read=41,
                                              cache_write_5m=7, requests=2)}
    assert result.reported_cost == pytest.approx(0.75)


def test_the_answer_is_the_last_message_with_text() -> None:
    events = [_text("p1", "m1", "let me look"), _step("s1", "m1"),
              _text("p2", "m2", "All "), _text("p3", "m2", "done."), _step("s2", "m2"),
              _text("p4", "m3", "  "), _step("s3", "m3")]
    assert _parse(events).text == "All done."


def test_no_cost_field_means_no_reported_cost() -> None:
    assert _parse([_step("s", "m", cost=None)]).reported_cost is None


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (_error("APIError", "invalid x-api-key", 401), "auth"),
        (_error("APIError", "Number of request tokens has exceeded your rate limit", 429),
         "rate_limit"),
        (_error("APIError", "prompt is too long", 400), "api_error"),
        (_error("APIError", "Internal server error", 500), "api_error"),
        (_error("ProviderAuthError", "No API key for provider anthropic"), "auth"),
        (_error("UnknownError", "Unexpected server error. Check server logs for details."),
         "api_error"),
    ],
)
def test_an_error_event_decides_the_outcome(error: dict[str, Any], outcome: str) -> None:
    result = _parse([error], ProcessExit(1, "", 100))
    assert (result.outcome, result.error) == (outcome, error["error"]["data"]["message"])
    assert result.session_id == SES


def test_our_stop_decides_even_when_opencode_printed_an_abort_error() -> None:
    aborted = _error("MessageAbortedError", "The operation was aborted.")
    timed_out = _parse([_step("s", "m"), aborted], ProcessExit(143, "", 100, timed_out=True),
                       timeout=5)
    assert (timed_out.outcome, timed_out.error) == ("timeout", "timed out after 5 s")
    stopped = _parse([_error("APIError", "overloaded", 529)],
                     ProcessExit(130, "", 100, interrupted=True))
    assert stopped.outcome == "interrupted"
    killed = _parse([aborted], ProcessExit(None, "", 100, signal=9))  # by someone else
    assert killed.outcome == "crash" and killed.error.startswith("killed by signal 9")


def test_an_error_after_a_finished_step_keeps_that_steps_usage() -> None:
    result = _parse([_step("s", "m", inp=40, out=2), _error("APIError", "overloaded", 529)],
                    ProcessExit(1, "", 100))
    assert result.outcome == "api_error" and result.usage["a/m"].input == 40


def test_an_unknown_resumed_session_is_session_lost_without_ansi() -> None:
    stderr = "\x1b[91m\x1b[1mError: \x1b[0mSession not found\n"
    result = _parse([], ProcessExit(1, stderr, 100), resume_id="ses_gone")
    assert (result.outcome, result.error) == ("session_lost", "Error: Session not found")
    new = _parse([], ProcessExit(1, stderr, 100))  # not a resume: nothing was lost
    assert new.outcome == "crash"


def test_exit_zero_without_any_step_is_not_a_success() -> None:
    result = _parse([], ProcessExit(0, "", 100))
    assert not result.ok and result.error


def test_a_completed_todowrite_replaces_the_list_and_a_failed_one_does_not() -> None:
    todos = [{"content": "write tests", "status": "in_progress", "priority": "high", "id": "1"}]

    def tool(status: str) -> dict[str, Any]:
        return {"type": "tool_use", "sessionID": SES, "part": {
            "type": "tool", "tool": "todowrite", "callID": f"c-{status}",
            "state": {"status": status, "input": {"todos": todos}}}}

    result = _parse([tool("error"), tool("completed"), _step("s", "m")])
    assert [(t.tool, t.items, t.replaces) for t in result.todos] == [
        ("todowrite", [{"content": "write tests", "status": "in_progress"}], True)]
    assert result.tools_used == ["todowrite"]


def _store(path: Path, rows: list[tuple[str, str, int, dict[str, Any]]],
           messages: dict[str, dict[str, Any]], session: str = SES) -> None:
    """A minimal ``opencode.db`` with OpenCode's ``session``, ``message`` and ``part`` columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE session (id text PRIMARY KEY, parent_id text)")
    db.execute("INSERT INTO session VALUES (?, NULL)", (SES,))
    db.execute("CREATE TABLE message (id text PRIMARY KEY, session_id text, time_created"
               " integer, time_updated integer, data text)")
    db.execute("CREATE TABLE part (id text PRIMARY KEY, message_id text, session_id text,"
               " time_created integer, time_updated integer, data text)")
    for mid, data in messages.items():
        db.execute("INSERT INTO message VALUES (?, ?, 0, 0, ?)", (mid, SES, json.dumps(data)))
    for pid, mid, created, data in rows:
        db.execute("INSERT INTO part VALUES (?, ?, ?, ?, ?, ?)",
                   (pid, mid, session, created, created, json.dumps(data)))
    db.commit()
    db.close()


def _finish_part(inp: int, out: int) -> dict[str, Any]:
    return {"type": "step-finish", "tokens": {"input": inp, "output": out, "reasoning": 0,
                                              "cache": {"read": 1, "write": 2}}, "cost": 0.1}


def test_read_back_counts_the_sessions_steps_since_the_call_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("OPENCODE_DB", raising=False)
    db = opencode_db()
    assert db == tmp_path / "data" / "opencode" / "opencode.db"
    since = datetime(2026, 1, 1, tzinfo=UTC)
    ms = int(since.timestamp() * 1000)
    _store(db, [
        ("prt_old", "msg_0", ms - 1, _finish_part(999, 999)),  # an earlier call's step
        ("prt_a", "msg_1", ms, _finish_part(100, 10)),
        ("prt_t", "msg_1", ms + 5, {"type": "text", "text": "hi"}),
        ("prt_b", "msg_2", ms + 9, _finish_part(50, 5)),
    ], {"msg_1": {"role": "assistant", "providerID": "anthropic", "modelID": "claude-x"},
        "msg_2": {"role": "assistant", "providerID": "openai", "modelID": "gpt-y"}})
    found = read_back("opencode", SES, Path("/w"), since, {}, None)
    assert found is not None and (found.kind, found.path) == ("opencode-db", db)
    assert found.usage == {
        "anthropic/claude-x": ModelUsage(input=100, output=10, cache_read=1, cache_write_5m=2,
                                         requests=1),
        "openai/gpt-y": ModelUsage(input=50, output=5, cache_read=1, cache_write_5m=2,
                                   requests=1),
    }
    assert found.last_at == datetime.fromtimestamp((ms + 9) / 1000, tz=UTC)
    # the stream's model comes from the same store when the call named none
    parser = OpenCodeStreamParser(AgentRequest(prompt="p", cwd=Path("/w")))
    parser.feed(json.dumps(_step("prt_a", "msg_1", inp=100, out=10)))
    assert set(parser.finish(OK).usage) == {"anthropic/claude-x"}


def _child_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, since_ms: int) -> None:
    """A subagent session ``ses_child`` (below ``SES``) with one step at ``since_ms`` and one
    from before, and its own subagent ``ses_grandchild`` with one step."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = opencode_db()
    assert path is not None
    _store(path, [("prt_c0", "msg_c", since_ms - 60_000, _finish_part(900, 90)),
                  ("prt_c1", "msg_c", since_ms + 10, _finish_part(40, 4))],
           {"msg_c": {"role": "assistant", "providerID": "anthropic", "modelID": "claude-h"}},
           session="ses_child")
    db = sqlite3.connect(path)
    db.execute("INSERT INTO session VALUES ('ses_child', ?)", (SES,))
    db.execute("INSERT INTO session VALUES ('ses_grandchild', 'ses_child')")
    db.execute("INSERT INTO part VALUES ('prt_g', 'msg_c', 'ses_grandchild', ?, ?, ?)",
               (since_ms + 20, since_ms + 20, json.dumps(_finish_part(7, 3))))
    db.commit()
    db.close()


def test_a_subagents_steps_are_read_from_the_store_and_added_under_their_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parser = OpenCodeStreamParser(AgentRequest(prompt="p", cwd=Path("/w"), model="anthropic/m"))
    _child_store(tmp_path, monkeypatch, parser._since_ms)
    task = {"type": "tool_use", "sessionID": SES, "part": {
        "id": "prt_task", "messageID": "msg_1", "type": "tool", "tool": "task", "callID": "c1",
        "state": {"status": "completed", "metadata": {"sessionId": "ses_child"}}}}
    for event in (task, _step("prt_1", "msg_1", inp=100, out=10, cost=0.5)):
        parser.feed(json.dumps(event))
    result = parser.finish(OK)
    # the stream's step, the subagent's step of this call and its own subagent's; not the
    # subagent session's step from before the call
    assert result.usage == {
        "anthropic/m": ModelUsage(input=100, output=10, requests=1),
        "anthropic/claude-h": ModelUsage(input=47, output=7, cache_read=2, cache_write_5m=4,
                                         requests=2),
    }
    assert result.reported_cost == pytest.approx(0.5 + 0.1 + 0.1)
    # without the task tool's part naming it, no other session is read
    alone = _parse([_step("prt_1", "msg_1", inp=100, out=10)], model="anthropic/m")
    assert alone.usage == {"anthropic/m": ModelUsage(input=100, output=10, requests=1)}


def test_read_back_without_a_store_or_with_a_broken_one_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    since = datetime(2026, 1, 1, tzinfo=UTC)
    assert read_back("opencode", SES, Path("/w"), since, {}, None) is None
    broken = tmp_path / "opencode" / "opencode.db"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a database at all" * 100)
    assert read_back("opencode", SES, Path("/w"), since, {}, None) is None
    monkeypatch.setenv("OPENCODE_DB", ":memory:")
    assert opencode_db() is None and read_back("opencode", SES, Path("/w"), since, {}, None) is None
    parser = OpenCodeStreamParser(AgentRequest(prompt="p", cwd=Path("/w")))
    parser.feed(json.dumps(_step("s", "m")))
    assert set(parser.finish(OK).usage) == {"unknown"}  # never a guessed model


def _argv(**kw: Any) -> list[str]:
    request = AgentRequest(prompt="p", cwd=Path("/w"), **kw)
    return OpenCodeBackend().build(request, "opencode").argv


def test_launch_flags() -> None:
    assert _argv() == ["opencode", "run", "--format", "json"]
    assert _argv(resume_id="ses_1", fork=True, model="a/m") == [
        "opencode", "run", "--format", "json", "-m", "a/m", "--session", "ses_1", "--fork"]
    assert _argv(permission=Permission(mode="plan"))[-2:] == ["--agent", "plan"]
    assert _argv(permission=Permission(mode="bypassPermissions"))[-1] == "--auto"
    assert _argv(permission=Permission(mode="acceptEdits")) == _argv()
    # the user's own choice in extra args wins, never passed twice
    chosen = _argv(model="a/m", permission=Permission(mode="plan"),
                   extra_args=["--model=b/n", "--agent", "review"])
    assert "-m" not in chosen and chosen.count("--agent") == 1
    with pytest.raises(InvalidInput):
        _argv(resume_id="--fork")

"""A call that does not end cleanly takes its usage from the agent's own files (``readback``).

In process (the fake launcher plays each CLI's stream and writes its session file as the CLI
would): for every ending but success — timeout, Ctrl-C/SIGTERM (``interrupted``), the agent
killed by a signal nobody here sent, an API error — the record holds exactly what the file
says this call was served, the next call is billed only its own turn (the Codex baseline),
also after ``--new-session``, and without a file the call is "usage unknown", never $0.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.base import AgentResult, Invocation
from ai_orchestrator.agents.homes.agent_files import FileUsage
from ai_orchestrator.calls.readback import adopt
from ai_orchestrator.calls.session_call import CallOptions, SessionRun, run_in_session
from ai_orchestrator.core.usage import ModelUsage
from ai_orchestrator.store import SessionStore
from tests.fakes.harness import FakeAgents
from tests.fakes.inprocess import FakeLauncher

ENDINGS = {  # how the launch ended → the outcome recorded
    "timeout": ({"timed_out": True, "exit_code": 143, "signal": 15}, "timeout"),
    "interrupted": ({"interrupted": True, "exit_code": 143, "signal": 15}, "interrupted"),
    "agent-killed": ({"exit_code": 137, "signal": 9}, "error:crash"),
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _append(path: Path, *entries: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.writelines(json.dumps(e) + "\n" for e in entries)


def _call(name: str, agent: str, cwd: Path, **options: Any) -> SessionRun:
    return run_in_session(
        SessionStore(), name, "go", CallOptions(agent=agent, cwd=cwd, timeout=30, **options)
    )


def _tokens(run: SessionRun) -> tuple[int, int, int, int]:
    t = run.record.tokens
    return (t.input, t.output, t.cache_read, t.reasoning)


# -- Codex: cumulative per thread -------------------------------------------------------------


def _codex_turn(home: Path, tid: str, total: dict[str, int]) -> Any:
    """An effect: the CLI writes a ``token_count`` (thread totals) into the thread's rollout."""

    def write(invocation: Invocation) -> None:
        rollout = home / "sessions/2026/12/07" / f"rollout-2026-12-07T10-00-00-{tid}.jsonl"
        _append(
            rollout,
            {"type": "turn_context", "timestamp": _now(), "payload": {"model": "gpt-5.5"}},
            {"type": "event_msg", "timestamp": _now(),
             "payload": {"type": "token_count", "info": {"total_token_usage": total}}},
        )

    return write


def _totals(inp: int, cached: int, out: int, reasoning: int) -> dict[str, int]:
    return {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
            "reasoning_output_tokens": reasoning, "total_tokens": inp + out}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_codex_stopped_turn_is_billed_to_its_call_not_the_next_nor_lost_on_new_session(
    ending: str,
    fakes: FakeAgents,
    fake_launcher: FakeLauncher,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "codex-home"
    monkeypatch.setenv("CODEX_HOME", str(home))
    how, outcome = ENDINGS[ending]
    name = "implement-codex-stop"
    first = _totals(150, 50, 30, 10)
    started = {"type": "thread.started", "thread_id": "t-one"}
    tool = {"type": "item.started",
            "item": {"id": "i1", "type": "command_execution", "command": "ls"}}
    fake_launcher.enqueue(started, tool, effect=_codex_turn(home, "t-one", first), **how)
    stopped = _call(name, "codex", project, model="gpt-5.5")
    assert stopped.record.outcome == outcome
    assert _tokens(stopped) == (100, 30, 50, 10)  # input excludes the cached tokens
    assert stopped.record.usage_source is not None
    assert stopped.record.usage_source["kind"] == "codex-rollout"
    assert stopped.record.cost_source in ("transcript", "unpriced")
    assert not stopped.record.usage_unknown

    # The next call of the thread: its turn.completed is cumulative, its own turn is 70/7.
    second = _totals(150 + 70, 50, 30 + 7, 10)
    fake_launcher.enqueue(
        {"type": "thread.started", "thread_id": "t-one"},
        {"type": "turn.completed", "usage": second},
        effect=_codex_turn(home, "t-one", second),
    )
    assert _tokens(_call(name, "codex", project, model="gpt-5.5")) == (70, 7, 0, 0)

    # --new-session: a new thread whose first call is stopped, then resumed.
    third = _totals(400, 0, 60, 0)
    fake_launcher.enqueue({"type": "thread.started", "thread_id": "t-two"}, tool,
                          effect=_codex_turn(home, "t-two", third), **how)
    replaced = _call(name, "codex", project, model="gpt-5.5", new_session=True)
    assert replaced.action == "replaced" and _tokens(replaced) == (400, 60, 0, 0)
    fourth = _totals(400 + 33, 0, 60 + 4, 0)
    fake_launcher.enqueue(
        {"type": "thread.started", "thread_id": "t-two"},
        {"type": "turn.completed", "usage": fourth},
    )
    assert _tokens(_call(name, "codex", project, model="gpt-5.5")) == (33, 4, 0, 0)
    records = SessionStore().read_log(name).records
    served = sum(r.tokens.input + r.tokens.cache_read for r in records)
    assert served == 150 + 70 + 400 + 33  # every prompt token the API served, once


# -- Gemini: usage only with the result; the chat file has each finished response ----------------


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_gemini_stopped_call_reads_the_finished_response_from_the_chat_file(
    ending: str,
    fakes: FakeAgents,
    fake_launcher: FakeLauncher,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "gemini-home"
    monkeypatch.setenv("GEMINI_CLI_HOME", str(home))
    how, outcome = ENDINGS[ending]
    holder: dict[str, str] = {}

    def chat(invocation: Invocation) -> None:
        sid = invocation.argv[invocation.argv.index("--session-id") + 1]
        holder["sid"] = sid
        tokens = {"input": 1500, "output": 100, "cached": 500, "thoughts": 50, "tool": 0,
                  "total": 1650}
        _append(
            home / ".gemini/tmp/project/chats" / f"session-2026-12-07T10-00-{sid[:8]}.jsonl",
            {"sessionId": sid, "kind": "main"},
            {"id": "g1", "type": "gemini", "timestamp": _now(), "model": "gemini-2.5-flash",
             "tokens": tokens},
        )

    fake_launcher.enqueue(effect=chat, **how)  # died before even its init line
    run = _call("implement-gemini-stop", "gemini", project, model="gemini-2.5-flash")
    assert run.record.outcome == outcome
    assert _tokens(run) == (1000, 150, 500, 50)
    assert run.record.usage_source is not None
    assert run.record.usage_source["kind"] == "gemini-chat"
    assert run.record.cost > 0 and run.record.cost_source == "transcript"
    # The file proves the conversation exists: the next call resumes it.
    assert run.record.agent_session_id == holder["sid"]


# -- Claude: stream lines carry a placeholder output count; the transcript the final one ---------


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_claude_stopped_call_takes_the_transcripts_final_output_not_the_placeholder(
    ending: str,
    fakes: FakeAgents,
    fake_launcher: FakeLauncher,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    how, outcome = ENDINGS[ending]
    model = "claude-sonnet-4-5"
    usage = {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 300,
             "cache_creation_input_tokens": 0}
    line = {"type": "assistant", "session_id": "", "requestId": "req1",
            "message": {"id": "m1", "model": model, "usage": usage,
                        "content": [{"type": "tool_use", "id": "tu1", "name": "Bash",
                                     "input": {"command": "ls"}}]}}

    def transcript(invocation: Invocation) -> None:
        sid = next(a for a in invocation.argv if a.startswith("--session-id="))
        sid = sid.split("=", 1)[1]
        slug = str(project.resolve()).replace("/", "-")
        entry = {"type": "assistant", "timestamp": _now(), "requestId": "req1",
                 "message": {**line["message"], "usage": {**usage, "output_tokens": 20}}}
        _append(config / "projects" / slug / f"{sid}.jsonl", entry)

    fake_launcher.enqueue(line, effect=transcript, **how)
    run = _call("implement-claude-stop", "claude", project, model=model)
    assert run.record.outcome == outcome
    assert _tokens(run) == (10, 20, 300, 0)
    assert run.record.usage_source is not None
    assert run.record.usage_source["kind"] == "claude-transcript"
    # The conversation totals the next call checks against hold the final count too.
    state = run.record.agent_state or {}
    assert state["claude_session_totals"][model]["output"] == 20


def test_without_the_agents_file_a_stopped_call_is_usage_unknown_never_zero_dollars(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path / "empty"))
    fake_launcher.enqueue(interrupted=True, exit_code=143, signal=15)
    run = _call("implement-unknown", "gemini", project, model="gemini-2.5-flash")
    assert run.record.usage_unknown is True
    assert run.record.cost_source == "unpriced" and run.record.usage_source is None


def test_a_success_keeps_the_streams_exact_usage_without_reading_files(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ai_orchestrator.calls import readback

    def refuse(*args: Any) -> None:
        raise AssertionError("a clean success must not read the agent's files")

    monkeypatch.setattr(readback, "read_call_usage", refuse)
    monkeypatch.setattr("ai_orchestrator.calls.session_call.read_call_usage", refuse)
    fake_launcher.enqueue(
        {"type": "thread.started", "thread_id": "t-ok"},
        {"type": "turn.completed", "usage": _totals(40, 0, 5, 0)},
    )
    assert _tokens(_call("implement-ok", "codex", project, model="gpt-5.5")) == (40, 5, 0, 0)


# -- adopt: per model, the larger count wins; a request only the stream saw is kept -------------


def test_adopt_takes_the_file_where_it_counts_more_and_keeps_models_only_the_stream_saw() -> None:
    stream = {"claude-sonnet-4-5": ModelUsage(input=10, output=1, requests=1),
              "claude-haiku-4-5": ModelUsage(input=50, output=5, requests=1)}
    result = AgentResult(agent="claude", outcome="api_error", usage=dict(stream),
                         model="claude-sonnet-4-5")
    found = FileUsage("claude-transcript", Path("/t.jsonl"),
                      usage={"claude-sonnet-4-5": ModelUsage(input=10, output=20, requests=1)},
                      state={"claude_session_totals": {}})
    assert adopt(result, found) is True
    assert result.usage["claude-sonnet-4-5"].output == 20
    assert result.usage["claude-haiku-4-5"].output == 5
    assert "claude_session_totals" in result.state
    # A file that lags behind the stream never lowers what the stream saw.
    lagging = AgentResult(agent="gemini", outcome="timeout",
                          usage={"g": ModelUsage(input=100, output=9)})
    assert adopt(lagging, FileUsage("gemini-chat", Path("/c.json"))) is True
    assert lagging.usage["g"].input == 100
    # Nothing in the stream and no file: unknown.
    assert adopt(AgentResult(agent="gemini", outcome="timeout"), None) is False

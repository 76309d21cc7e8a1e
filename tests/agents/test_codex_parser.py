"""CodexBackend: argv building, JSONL parsing and cumulative-usage deltas across calls."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.base import AgentRequest, AgentResult, Permission, ProcessExit
from ai_orchestrator.agents.codex import CodexBackend, model_from_args
from ai_orchestrator.core.errors import InvalidInput

TID = "0199a213-81c0-7800-8aa1-bbab2a035a53"


def request(**kw: Any) -> AgentRequest:
    kw.setdefault("prompt", "Fix paginate()")
    kw.setdefault("cwd", Path("/repo"))
    return AgentRequest(**kw)


def ev(kind: str, **kw: Any) -> str:
    return json.dumps({"type": kind, **kw})


def item(kind: str, item_id: str, **kw: Any) -> str:
    return ev(kind, item={"id": item_id, **kw})


def usage(inp: int, cached: int, out: int, reasoning: int = 0) -> dict[str, int]:
    return {
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "cache_write_input_tokens": 0,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning,
    }


def turn(u: dict[str, int], tid: str = TID, answer: str = "done") -> list[str]:
    return [
        ev("thread.started", thread_id=tid),
        ev("turn.started"),
        item("item.completed", "item_0", type="reasoning", text="**Thinking**"),
        item(
            "item.started",
            "item_1",
            type="command_execution",
            command="/bin/bash -lc ls",
            aggregated_output="",
            exit_code=None,
            status="in_progress",
        ),
        item(
            "item.completed",
            "item_1",
            type="command_execution",
            command="/bin/bash -lc ls",
            aggregated_output="a\n",
            exit_code=0,
            status="completed",
        ),
        item("item.completed", "item_2", type="agent_message", text=answer),
        ev("turn.completed", usage=u),
    ]


def parse(
    lines: list[str],
    req: AgentRequest | None = None,
    *,
    exit_code: int | None = 0,
    stderr: str = "Reading prompt from stdin...\n",
    timed_out: bool = False,
    interrupted: bool = False,
) -> AgentResult:
    parser = CodexBackend().parser(req or request(model="gpt-5.5"))
    for line in lines:
        parser.feed(line)
    return parser.finish(ProcessExit(exit_code, stderr, 300, timed_out, interrupted))


# -- argv ---------------------------------------------------------------------------------------


def test_argv_new_thread() -> None:
    req = request(model="gpt-5.5", new_session_id="unused", prompt="- not a flag")
    inv = CodexBackend().build(req, "/bin/codex")
    assert inv.argv == [
        "/bin/codex",
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--sandbox",
        "workspace-write",
        "-m",
        "gpt-5.5",
        "-",
    ]
    assert inv.stdin == b"- not a flag"


def test_argv_resume_passes_every_flag_again_before_resume() -> None:
    req = request(
        resume_id=TID,
        model="gpt-5.5",
        permission=Permission(mode="plan"),
        extra_args=["-c", "model_reasoning_effort=high"],
    )
    argv = CodexBackend().build(req, "codex").argv
    assert argv[-3:] == ["resume", TID, "-"]
    flags = argv[: argv.index("resume")]
    assert flags[:4] == ["codex", "exec", "--json", "--skip-git-repo-check"]
    assert flags[flags.index("--sandbox") + 1] == "read-only"
    assert flags[flags.index("-m") + 1] == "gpt-5.5"
    assert flags[-2:] == ["-c", "model_reasoning_effort=high"]


@pytest.mark.parametrize(
    ("mode", "sandbox"),
    [
        (None, "workspace-write"),
        ("acceptEdits", "workspace-write"),
        ("default", "read-only"),
        ("bypassPermissions", "danger-full-access"),
        ("danger-full-access", "danger-full-access"),
    ],
)
def test_sandbox_mapping(mode: str | None, sandbox: str) -> None:
    argv = CodexBackend().build(request(permission=Permission(mode=mode)), "codex").argv
    assert argv[argv.index("--sandbox") + 1] == sandbox


def test_explicit_extra_args_win_over_our_sandbox_and_model() -> None:
    req = request(model="gpt-5.5", extra_args=["--full-auto", "--model=gpt-5.4"])
    argv = CodexBackend().build(req, "codex").argv
    assert "--sandbox" not in argv and "-m" not in argv
    assert "--full-auto" in argv


def test_invalid_mode_and_ids_refused() -> None:
    with pytest.raises(InvalidInput):
        CodexBackend().build(request(permission=Permission(mode="whatever")), "codex")
    with pytest.raises(InvalidInput):
        CodexBackend().build(request(resume_id="--last"), "codex")


# -- usage ----------------------------------------------------------------------------------------


def test_first_call_usage_and_state() -> None:
    res = parse(turn(usage(24763, 24448, 122, 64)))
    assert res.outcome == "success"
    assert res.session_id == TID
    assert res.text == "done"
    assert res.model == "gpt-5.5"
    u = res.usage["gpt-5.5"]
    assert (u.input, u.cache_read, u.output, u.reasoning) == (24763 - 24448, 24448, 122, 64)
    assert res.state["thread_id"] == TID
    assert res.state["cumulative_usage"]["input_tokens"] == 24763
    assert res.tools_used == ["command_execution"]
    assert res.turns == 1


def test_cumulative_deltas_across_two_calls() -> None:
    first = parse(turn(usage(200, 50, 30, 10)))
    req = request(model="gpt-5.5", resume_id=TID, state=first.state)
    second = parse(turn(usage(400, 150, 60, 20)), req)
    u = second.usage["gpt-5.5"]
    # delta input 200 of which 100 cached → 100 plain input
    assert (u.input, u.cache_read, u.output, u.reasoning) == (100, 100, 30, 10)
    assert second.state["cumulative_usage"]["input_tokens"] == 400
    third = parse(
        turn(usage(600, 150, 90, 30)),
        request(model="gpt-5.5", resume_id=TID, state=second.state),
    )
    assert third.usage["gpt-5.5"].input == 200 and third.usage["gpt-5.5"].cache_read == 0


def test_decrease_means_reset_and_new_value_is_taken_whole() -> None:
    state = {"thread_id": TID, "cumulative_usage": usage(5000, 4000, 500, 100)}
    res = parse(turn(usage(300, 100, 40, 5)), request(model="m", resume_id=TID, state=state))
    u = res.usage["m"]
    assert (u.input, u.cache_read, u.output, u.reasoning) == (200, 100, 40, 5)


def test_state_of_another_thread_or_a_new_session_is_ignored() -> None:
    state = {"thread_id": "other-thread", "cumulative_usage": usage(100, 0, 10)}
    res = parse(turn(usage(300, 100, 40)), request(model="m", resume_id=TID, state=state))
    assert res.usage["m"].input == 200
    new = parse(turn(usage(300, 100, 40)), request(model="m", state={"cumulative_usage": state}))
    assert new.usage["m"].input == 200


def test_failed_turn_keeps_the_previous_snapshot() -> None:
    state = {"thread_id": TID, "cumulative_usage": usage(400, 100, 60)}
    lines = [
        ev("thread.started", thread_id=TID),
        ev("turn.started"),
        ev("error", message="We’re currently experiencing high demand"),
        ev("turn.failed", error={"message": "We’re currently experiencing high demand"}),
    ]
    res = parse(lines, request(resume_id=TID, state=state), exit_code=1)
    assert res.outcome == "api_error"
    assert res.usage == {}
    assert res.state == {"thread_id": TID, "cumulative_usage": state["cumulative_usage"]}


@pytest.mark.parametrize(
    ("lines", "exit_code", "signalled"),
    [
        ([], 1, None),  # a config error: nothing on stdout at all
        (["not json at all"], None, 9),  # killed by a signal before thread.started
        ([ev("error", message="Reconnecting... 1/5")], 1, None),
    ],
)
def test_a_call_that_dies_before_thread_started_keeps_the_baseline(
    lines: list[str], exit_code: int | None, signalled: int | None
) -> None:
    state = {"thread_id": TID, "cumulative_usage": usage(300, 100, 60, 10)}
    parser = CodexBackend().parser(request(model="m", resume_id=TID, state=state))
    for line in lines:
        parser.feed(line)
    died = parser.finish(ProcessExit(exit_code, "Error loading config.toml", 50, signal=signalled))
    assert died.outcome != "success" and died.usage == {}
    assert died.state == {"thread_id": TID, "cumulative_usage": state["cumulative_usage"]}
    # The next call adds only what the server sent since the last good call.
    resumed = request(model="m", resume_id=TID, state=died.state)
    after = parse(turn(usage(450, 150, 90, 15)), resumed)
    u = after.usage["m"]
    assert (u.input, u.cache_read, u.output, u.reasoning) == (100, 50, 30, 5)


# -- outcomes -----------------------------------------------------------------------------------


def test_transient_error_is_not_fatal() -> None:
    lines = turn(usage(10, 0, 1))
    lines.insert(2, ev("error", message="Reconnecting... 1/5"))
    lines.insert(3, item("item.completed", "item_e", type="error", message="Model metadata…"))
    assert parse(lines).outcome == "success"


def test_exit_1_after_completed_turn_is_success() -> None:
    res = parse(turn(usage(10, 0, 1)), exit_code=1, stderr="ERROR codex_core: TLS error\n")
    assert res.outcome == "success" and res.exit_code == 1


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "unexpected status 401 Unauthorized: fake invalid_api_key, url: http://x/v1/responses",
            "auth",
        ),
        (
            "exceeded retry limit, last status: 429 Too Many Requests, request id: req_1",
            "rate_limit",
        ),
        ("Selected model is at capacity. Please try a different model.", "api_error"),
        ("stream disconnected before completion: boom", "api_error"),
    ],
)
def test_turn_failed_classification(message: str, expected: str) -> None:
    lines = [
        ev("thread.started", thread_id=TID),
        ev("turn.started"),
        ev("error", message=message),
        ev("turn.failed", error={"message": message}),
    ]
    res = parse(lines, exit_code=1)
    assert res.outcome == expected
    assert res.error == message


def test_unknown_thread_is_session_lost() -> None:
    stderr = (
        "Error: thread/resume: thread/resume failed: no rollout found for thread id "
        f"{TID} (code -32600)\n"
    )
    res = parse([], request(resume_id=TID), exit_code=1, stderr=stderr)
    assert res.outcome == "session_lost"
    assert res.session_id is None


def test_no_terminal_event() -> None:
    partial = [ev("thread.started", thread_id=TID), ev("turn.started")]
    assert parse(partial, exit_code=1).outcome == "crash"
    assert parse(partial, exit_code=143, timed_out=True).outcome == "timeout"
    assert parse(partial, exit_code=130).outcome == "crash"  # not our Ctrl-C (gap 3)
    reconnecting = [*partial, ev("error", message="Reconnecting... waiting for network")]
    res = parse(reconnecting, request(timeout=8), exit_code=143, timed_out=True)
    assert res.outcome == "timeout" and res.error == "timed out after 8 s"


def test_noise_lines_are_kept() -> None:
    res = parse(["WARNING: proceeding, even though…", *turn(usage(1, 0, 1))])
    assert res.raw_events[0]["type"] == "noise"
    assert res.outcome == "success"


# -- todos, tools, model --------------------------------------------------------------------------


def test_todo_list_and_file_change() -> None:
    plan = [{"text": "Write tests", "completed": False}, {"text": "Fix bug", "completed": True}]
    plan_done = [{"text": "Write tests", "completed": True}, {"text": "Fix bug", "completed": True}]
    lines = [
        ev("thread.started", thread_id=TID),
        item("item.started", "item_t", type="todo_list", items=plan),
        item("item.updated", "item_t", type="todo_list", items=plan),
        item(
            "item.completed",
            "item_f",
            type="file_change",
            changes=[{"path": "/repo/src/page.ts", "kind": "update"}],
            status="completed",
        ),
        item("item.completed", "item_t", type="todo_list", items=plan_done),
        item(
            "item.completed",
            "item_m",
            type="mcp_tool_call",
            server="github",
            tool="search",
            status="completed",
        ),
        item("item.completed", "item_a", type="agent_message", text="first"),
        item("item.completed", "item_b", type="agent_message", text="final answer"),
        ev("turn.completed", usage=usage(10, 0, 1)),
    ]
    res = parse(lines)
    assert len(res.todos) == 2  # the unchanged update is not repeated
    assert res.todos[0].items == [
        {"content": "Write tests", "status": "pending"},
        {"content": "Fix bug", "status": "completed"},
    ]
    assert all(t.replaces for t in res.todos)
    assert res.todos[1].items[0]["status"] == "completed"
    assert res.tools_used == ["file_change", "mcp:github/search"]
    assert res.text == "final answer"


def test_progress_shows_running_command() -> None:
    parser = CodexBackend().parser(request())
    lines = turn(usage(100, 20, 5))
    snaps = [parser.feed(line) for line in lines]
    running = snaps[3]
    assert running is not None and running.tool == "command_execution"
    final = snaps[-1]
    assert final is not None and (final.tool, final.tool_running) == ("command_execution", False)
    tokens = (final.input_tokens, final.cache_read_tokens, final.output_tokens)
    assert (final.turns, *tokens) == (1, 80, 20, 5)


def test_model_from_extra_args_and_config(tmp_path: Path) -> None:
    assert model_from_args(["-m", "gpt-5.4"]) == "gpt-5.4"
    assert model_from_args(["-c", 'model="gpt-5.2"']) == "gpt-5.2"
    assert model_from_args(["--model=o3"]) == "o3"
    assert model_from_args(["-c", "model_reasoning_effort=high"]) is None
    codex_home = Path(os.environ["CODEX_HOME"])
    codex_home.mkdir(parents=True, exist_ok=True)
    assert parse(turn(usage(1, 0, 1)), request()).model is None
    assert "unknown" in parse(turn(usage(1, 0, 1)), request()).usage
    (codex_home / "config.toml").write_text(
        'model = "gpt-5.5"\n[profiles.fast]\nmodel = "gpt-5.4-mini"\n', encoding="utf-8"
    )
    assert parse(turn(usage(1, 0, 1)), request()).model == "gpt-5.5"
    res = parse(turn(usage(1, 0, 1)), request(extra_args=["--profile", "fast"]))
    assert res.model == "gpt-5.4-mini"
    assert parse(turn(usage(1, 0, 1)), request(model="o4")).model == "o4"

"""GeminiBackend: argv building, stream-json parsing, usage arithmetic and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.base import AgentRequest, AgentResult, Permission, ProcessExit
from ai_orchestrator.agents.gemini import GeminiBackend, http_status_from_exit, usage_from_stats
from ai_orchestrator.core.errors import InvalidInput

SID = "3f1c8a5e-2b7d-4e90-a1c4-6d2f0b9e7a13"
TS = "2026-08-20T09:14:03.101Z"


def request(**kw: Any) -> AgentRequest:
    kw.setdefault("prompt", "Fix the failing test")
    kw.setdefault("cwd", Path("/repo"))
    return AgentRequest(**kw)


def ev(kind: str, **kw: Any) -> str:
    return json.dumps({"type": kind, "timestamp": TS, **kw})


def init(model: str = "gemini-2.5-flash", sid: str = SID) -> str:
    return ev("init", session_id=sid, model=model)


def result_ok(models: dict[str, Any] | None = None) -> str:
    models = models or {
        "gemini-2.5-flash": {
            "total_tokens": 145,
            "input_tokens": 120,
            "output_tokens": 15,
            "cached": 40,
            "input": 80,
        }
    }
    return ev(
        "result",
        status="success",
        stats={
            "total_tokens": sum(m["total_tokens"] for m in models.values()),
            "input_tokens": sum(m["input_tokens"] for m in models.values()),
            "output_tokens": sum(m["output_tokens"] for m in models.values()),
            "cached": sum(m["cached"] for m in models.values()),
            "input": sum(m["input"] for m in models.values()),
            "duration_ms": 142,
            "tool_calls": 1,
            "models": models,
        },
    )


def result_error(message: str, kind: str = "unknown") -> str:
    zeros = {"total_tokens": 0, "input_tokens": 0, "output_tokens": 0, "cached": 0, "input": 0}
    return ev(
        "result",
        status="error",
        error={"type": kind, "message": message},
        stats={**zeros, "duration_ms": 0, "tool_calls": 0, "models": {}},
    )


def parse(
    lines: list[str],
    req: AgentRequest | None = None,
    *,
    exit_code: int | None = 0,
    stderr: str = "Loaded cached credentials.\n",
    timed_out: bool = False,
    interrupted: bool = False,
) -> AgentResult:
    parser = GeminiBackend().parser(req or request())
    for line in lines:
        parser.feed(line)
    return parser.finish(ProcessExit(exit_code, stderr, 900, timed_out, interrupted))


# -- argv ---------------------------------------------------------------------------------------


def test_argv_new_session_prompt_on_stdin() -> None:
    req = request(new_session_id=SID, model="gemini-2.5-pro", prompt="-p trick")
    inv = GeminiBackend().build(req, "/bin/gemini")
    assert inv.argv == [
        "/bin/gemini",
        "-o",
        "stream-json",
        "--session-id",
        SID,
        "-m",
        "gemini-2.5-pro",
    ]
    assert "-p" not in inv.argv and "--prompt" not in inv.argv
    assert inv.stdin == b"-p trick"


def test_argv_resume_and_permissions() -> None:
    req = request(
        resume_id=SID,
        new_session_id="ignored",
        permission=Permission(mode="acceptEdits", allowed_tools=["Bash(git status)", "read_file"]),
        extra_args=["--include-directories", "../lib"],
    )
    argv = GeminiBackend().build(req, "gemini").argv
    assert argv[argv.index("--resume") + 1] == SID
    assert "--session-id" not in argv
    assert argv[argv.index("--approval-mode") + 1] == "auto_edit"
    assert argv[argv.index("--allowed-tools") + 1] == "run_shell_command,read_file"
    assert argv[-2:] == ["--include-directories", "../lib"]


@pytest.mark.parametrize(
    ("mode", "flag"),
    [("plan", "plan"), ("default", "default"), ("bypassPermissions", "yolo"), ("yolo", "yolo")],
)
def test_approval_mode_mapping(mode: str, flag: str) -> None:
    argv = GeminiBackend().build(request(permission=Permission(mode=mode)), "gemini").argv
    assert argv[argv.index("--approval-mode") + 1] == flag


def test_no_permission_leaves_configuration_alone() -> None:
    assert "--approval-mode" not in GeminiBackend().build(request(), "gemini").argv


def test_flag_like_values_refused() -> None:
    with pytest.raises(InvalidInput):
        GeminiBackend().build(request(resume_id="--yolo"), "gemini")


# -- parsing ------------------------------------------------------------------------------------


def test_full_stream_text_tools_todos_usage() -> None:
    todos = {"todos": [{"description": "Write the fix", "status": "in_progress"}]}
    lines = [
        "Loaded cached credentials.",  # noise on stdout must not break anything
        init(),
        ev("message", role="user", content="Fix the failing test"),
        ev("message", role="assistant", content="Looking at ", delta=True),
        ev("message", role="assistant", content="the test…", delta=True),
        ev("tool_use", tool_name="write_todos", tool_id="write_todos-1", parameters=todos),
        ev("tool_result", tool_id="write_todos-1", status="success"),
        ev(
            "tool_use",
            tool_name="write_file",
            tool_id="write_file-2",
            parameters={"file_path": "/repo/a.txt", "content": "x"},
        ),
        ev("tool_result", tool_id="write_file-2", status="success", output="ok"),
        ev("message", role="assistant", content=" Fixed.", delta=True),
        result_ok(),
    ]
    res = parse(lines)
    assert res.outcome == "success"
    assert res.session_id == SID
    assert res.model == "gemini-2.5-flash"
    assert res.text == " Fixed."  # the answer after the last tool result, not the narration
    assert res.tools_used == ["write_todos", "write_file"]
    assert len(res.todos) == 1 and res.todos[0].replaces
    assert res.todos[0].items == [{"content": "Write the fix", "status": "in_progress"}]
    assert res.turns == 3  # model output → tool, model output → tool, final answer
    usage = res.usage["gemini-2.5-flash"]
    # prompt 120 includes cached 40 → input 80; thoughts = 145 - 120 - 15 = 10 → output 25
    assert (usage.input, usage.cache_read, usage.output, usage.reasoning) == (80, 40, 25, 10)
    assert res.reported_cost is None
    assert res.raw_events[0] == {"type": "noise", "line": "Loaded cached credentials."}


def test_prompt_includes_cached_and_thoughts_are_output_two_models() -> None:
    models = {
        "gemini-2.5-pro": {
            "total_tokens": 33170,
            "input_tokens": 31840,
            "output_tokens": 612,
            "cached": 27720,
            "input": 4120,
        },
        "gemini-2.5-flash-lite": {
            "total_tokens": 2031,
            "input_tokens": 1980,
            "output_tokens": 12,
            "cached": 0,
            "input": 1980,
        },
    }
    res = parse([init(model="auto"), result_ok(models)])
    pro = res.usage["gemini-2.5-pro"]
    assert (pro.input, pro.cache_read, pro.output, pro.reasoning) == (4120, 27720, 1330, 718)
    lite = res.usage["gemini-2.5-flash-lite"]
    assert (lite.input, lite.cache_read, lite.output, lite.reasoning) == (1980, 0, 51, 39)
    assert res.model == "gemini-2.5-pro"  # "auto" is not a model: the biggest one is reported
    assert pro.requests == 0  # unknown in stream-json with several models


def test_json_shaped_stats_use_explicit_thoughts_and_tool() -> None:
    entry = {
        "api": {"totalRequests": 3, "totalErrors": 0, "totalLatencyMs": 18422},
        "tokens": {
            "input": 4120,
            "prompt": 31840,
            "candidates": 612,
            "total": 33175,
            "cached": 27720,
            "thoughts": 718,
            "tool": 5,
        },
    }
    usage = usage_from_stats(entry)
    assert (usage.input, usage.cache_read, usage.output, usage.reasoning) == (
        4125,
        27720,
        1330,
        718,
    )
    assert usage.requests == 3


def test_single_model_requests_default_to_turns() -> None:
    res = parse([init(), ev("message", role="assistant", content="hi", delta=True), result_ok()])
    assert res.usage["gemini-2.5-flash"].requests == 1


def test_progress_reports_tool_and_final_tokens() -> None:
    parser = GeminiBackend().parser(request())
    parser.feed(init())
    snap = parser.feed(ev("tool_use", tool_name="read_file", tool_id="r1", parameters={}))
    assert snap is not None and snap.tool == "read_file" and snap.turns == 1
    snap = parser.feed(ev("tool_result", tool_id="r1", status="success"))
    assert snap is not None and (snap.tool, snap.tool_running) == ("read_file", False)
    snap = parser.feed(result_ok())
    assert snap is not None
    assert (snap.input_tokens, snap.cache_read_tokens, snap.output_tokens) == (80, 40, 25)


# -- outcomes and exit codes ---------------------------------------------------------------------


def test_turn_limit_warning_with_success_result_is_max_turns() -> None:
    warning = ev("error", severity="warning", message="Maximum session turns exceeded")
    assert parse([init(), warning, result_ok()]).outcome == "max_turns"
    assert parse([init(), result_ok()], exit_code=53).outcome == "max_turns"


def test_stream_json_http_error_result() -> None:
    msg = '[API Error: {"error":{"code":500,"message":"boom","status":"INTERNAL"}}]'
    res = parse([init(), result_error(msg)], exit_code=244)
    assert res.outcome == "api_error"
    assert res.error == msg
    res = parse([init(), result_error("[API Error: quota]")], exit_code=173)
    assert res.outcome == "rate_limit"


ZERO_STATS = {"total_tokens": 0, "input_tokens": 0, "output_tokens": 0, "cached": 0, "input": 0}
BROKEN_STREAM = "Model stream ended without a finish reason."


@pytest.mark.parametrize("with_result", [True, False])
def test_an_error_inside_the_stream_reports_the_streams_own_message(with_result: bool) -> None:
    """0.61.0 after an ``{"error"}`` chunk or a dropped stream: exit 0, the reason only in an
    ``error`` event, then (usually) ``status: "error"`` without an ``error`` field."""
    lines = [
        init(),
        ev("message", role="assistant", content="partial ", delta=True),
        ev("error", severity="error", message=BROKEN_STREAM),
    ]
    if with_result:
        lines.append(ev("result", status="error", stats={**ZERO_STATS, "models": {}}))
    stderr = "[STARTUP] Phase 'cleanup_ops' was started but never ended. Skipping metrics.\n"
    res = parse(lines, exit_code=0, stderr=stderr)
    assert res.outcome == "api_error"
    assert res.error == BROKEN_STREAM
    assert res.usage == {}


def test_the_quota_message_is_one_line() -> None:
    message = (
        "[API Error: Resource has been exhausted (e.g. check quota).]\n"
        "Please wait and try again later. To increase your limits, request a quota increase"
    )
    res = parse([init(), result_error(message)], exit_code=173)
    assert res.outcome == "rate_limit"
    assert res.error == (
        "[API Error: Resource has been exhausted (e.g. check quota).] Please wait and try "
        "again later. To increase your limits, request a quota increase"
    )


@pytest.mark.parametrize(
    ("code", "stderr", "expected", "in_use"),
    [
        (41, "Invalid auth method selected.", "auth", False),
        (
            42,
            f'Error starting session: Session ID "{SID}" already exists. Use --resume…',
            "crash",
            True,
        ),
        (
            42,
            'Error resuming session: Invalid session identifier "x". Searched for sessions in /c.',
            "session_lost",
            False,
        ),
        (42, "No previous sessions found for this project.", "session_lost", False),
        (42, "Unknown argument: frobnicate", "crash", False),
        (44, "sandbox failed", "crash", False),
        (52, "bad settings", "crash", False),
        (53, "", "max_turns", False),
        (54, "tool failed", "crash", False),
        (55, "Gemini CLI is not running in a trusted directory", "crash", False),
        (130, "", "crash", False),  # Gemini's own cancellation, not our Ctrl-C
        (145, "", "auth", False),  # 401 % 256
        (147, "", "auth", False),  # 403 % 256
        (173, "", "rate_limit", False),  # 429 % 256
        (144, "", "api_error", False),  # 400 % 256
        (244, "", "api_error", False),  # 500 % 256
        (247, "", "api_error", False),  # 503 % 256
    ],
)
def test_exit_code_mapping_without_stdout(
    code: int, stderr: str, expected: str, in_use: bool
) -> None:
    res = parse([], exit_code=code, stderr=f"Loaded cached credentials.\n{stderr}\n")
    assert res.outcome == expected
    assert res.session_in_use is in_use
    assert res.exit_code == code
    assert res.session_id is None


def test_http_status_from_exit() -> None:
    assert http_status_from_exit(173) == 429
    assert http_status_from_exit(244) == 500
    assert http_status_from_exit(143) is None
    assert http_status_from_exit(None) is None


def test_error_document_on_stderr_is_parsed() -> None:
    doc = {
        "session_id": SID,
        "error": {
            "type": "FatalTurnLimitedError",
            "message": "Reached max session turns for this session.",
            "code": 53,
        },
    }
    stderr = "Loaded cached credentials.\n[ERROR] " + json.dumps(doc, indent=2) + "\n"
    res = parse([], exit_code=53, stderr=stderr)
    assert res.outcome == "max_turns"
    assert res.error == "Reached max session turns for this session."
    assert res.session_id == SID


def test_error_document_code_when_exit_is_generic() -> None:
    doc = {
        "session_id": SID,
        "error": {"type": "Error", "message": "fetch failed sending request", "code": 1},
    }
    res = parse([], exit_code=1, stderr="Error: stack\n    at x\n" + json.dumps(doc, indent=2))
    assert res.outcome == "api_error"
    doc["error"] = {"type": "Error", "message": '{"error":{"code":429}}', "code": 429}
    res = parse([], exit_code=1, stderr=json.dumps(doc, indent=2))
    assert res.outcome == "rate_limit"


def test_no_terminal_event_is_a_crash_or_runner_outcome() -> None:
    partial = [init(), ev("message", role="assistant", content="half", delta=True)]
    assert parse(partial, exit_code=1, stderr="TypeError: x is undefined").outcome == "crash"
    assert parse(partial, exit_code=143, timed_out=True).outcome == "timeout"
    assert parse(partial, exit_code=143, interrupted=True).outcome == "interrupted"
    assert parse(partial, exit_code=0).outcome == "crash"


def test_failed_write_todos_is_not_recorded_and_zero_models_dropped() -> None:
    todos = {"todos": [{"description": "a", "status": "in_progress"}]}
    error = {"type": "tool_not_registered", "message": 'Tool "write_todos" not found.'}
    zero = {"total_tokens": 0, "input_tokens": 0, "output_tokens": 0, "cached": 0, "input": 0}
    lines = [
        init(),
        ev("tool_use", tool_name="write_todos", tool_id="w1", parameters=todos),
        ev("tool_result", tool_id="w1", status="error", output="not found", error=error),
        ev("message", role="assistant", content="hi", delta=True),
        result_ok({"gemini-2.5-flash": zero}),
    ]
    res = parse(lines)
    assert res.todos == []
    assert res.usage == {}
    assert res.tools_used == ["write_todos"]

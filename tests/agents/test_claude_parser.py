"""ClaudeBackend: argv building and stream-json parsing, on lines shaped like the real CLI's."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_orchestrator.agents.base import AgentRequest, AgentResult, Permission, ProcessExit
from ai_orchestrator.agents.claude import NESTING_ENV, ClaudeBackend
from ai_orchestrator.core.errors import InvalidInput
from tests.helpers import examples

SID = "9b1f3c2e-5d4a-4e8b-9a61-2f0c7d3e1a55"
SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"


def request(**kw: Any) -> AgentRequest:
    kw.setdefault("prompt", "fix the router null check")
    kw.setdefault("cwd", Path("/repo"))
    return AgentRequest(**kw)


def init(sid: str = SID, model: str = SONNET, version: str = "2.1.197") -> str:
    return json.dumps(
        {
            "type": "system",
            "subtype": "init",
            "cwd": "/repo",
            "session_id": sid,
            "tools": ["Bash", "Edit", "Write", "TodoWrite"],
            "model": model,
            "permissionMode": "acceptEdits",
            "apiKeySource": "ANTHROPIC_API_KEY",
            "claude_code_version": version,
            "uuid": "0d7c",
        }
    )


def assistant(
    msg_id: str,
    content: list[dict[str, Any]],
    *,
    model: str = SONNET,
    inp: int = 4,
    out: int = 1,
    read: int = 8400,
    write: int = 1200,
    split: tuple[int, int] | None = None,
    request_id: str | None = "req_1",
    parent: str | None = None,
) -> str:
    usage: dict[str, Any] = {
        "input_tokens": inp,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "output_tokens": out,
        "service_tier": "standard",
    }
    if split is not None:
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": split[0],
            "ephemeral_1h_input_tokens": split[1],
        }
    event: dict[str, Any] = {
        "type": "assistant",
        "message": {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": None,
            "usage": usage,
        },
        "parent_tool_use_id": parent,
        "session_id": SID,
        "uuid": f"u-{msg_id}",
    }
    if request_id is not None:
        event["request_id"] = request_id
    return json.dumps(event)


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def tool_use(name: str, tool_id: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}


def tool_result(tool_id: str, content: str = "ok", extra: dict[str, Any] | None = None) -> str:
    event: dict[str, Any] = {
        "type": "user",
        "message": {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": content}],
        },
        "parent_tool_use_id": None,
        "session_id": SID,
    }
    if extra:
        event["tool_use_result"] = extra
    return json.dumps(event)


def result(**kw: Any) -> str:
    event: dict[str, Any] = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "api_error_status": None,
        "duration_ms": 11419,
        "num_turns": 3,
        "result": "Added the missing null check.",
        "stop_reason": "end_turn",
        "terminal_reason": "completed",
        "session_id": SID,
        "total_cost_usd": 0.1928845,
        "usage": {
            "input_tokens": 34,
            "cache_creation_input_tokens": 7606,
            "cache_read_input_tokens": 6498,
            "output_tokens": 776,
            "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 7606},
        },
        "modelUsage": {
            SONNET: {
                "inputTokens": 34,
                "outputTokens": 776,
                "cacheReadInputTokens": 6498,
                "cacheCreationInputTokens": 7606,
                "webSearchRequests": 0,
                "costUSD": 0.1867,
                "contextWindow": 200000,
                "maxOutputTokens": 64000,
            }
        },
        "permission_denials": [],
        "uuid": "d379",
    }
    event.update(kw)
    return json.dumps(event)


def parse(
    lines: list[str],
    req: AgentRequest | None = None,
    *,
    exit_code: int | None = 0,
    stderr: str = "",
    timed_out: bool = False,
    interrupted: bool = False,
) -> AgentResult:
    parser = ClaudeBackend().parser(req or request())
    for line in lines:
        parser.feed(line)
    exit = ProcessExit(exit_code, stderr, 1234, timed_out=timed_out, interrupted=interrupted)
    return parser.finish(exit)


# -- argv ---------------------------------------------------------------------------------------


def test_argv_new_session_prompt_on_stdin_only() -> None:
    req = request(new_session_id=SID, prompt="--dangerous prompt; rm -rf /")
    inv = ClaudeBackend().build(req, "/usr/bin/claude")
    assert inv.argv[:5] == ["/usr/bin/claude", "-p", "--output-format", "stream-json", "--verbose"]
    assert f"--session-id={SID}" in inv.argv
    assert not any("--resume" in a for a in inv.argv)
    assert all(req.prompt not in a for a in inv.argv)
    assert inv.stdin == req.prompt.encode()
    assert inv.cwd == Path("/repo")
    assert set(NESTING_ENV) <= set(inv.unset_env)
    assert {"CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_CHILD_SESSION"} <= set(NESTING_ENV)
    assert "CLAUDE_CODE_ENTRYPOINT" not in inv.env  # removed, not re-set (see module docstring)


def test_argv_resume_and_options() -> None:
    req = request(
        resume_id=SID,
        new_session_id="ignored-on-resume",
        model="sonnet",
        max_turns=30,
        max_budget_usd=0.5,
        permission=Permission(mode="acceptEdits", allowed_tools=["Bash(git diff:*)", "Read"]),
        extra_args=["--append-system-prompt", "be brief"],
    )
    argv = ClaudeBackend().build(req, "claude").argv
    assert f"--resume={SID}" in argv  # one token: the id can never be read as a flag
    assert not any(a.startswith("--session-id") for a in argv)
    assert argv[argv.index("--model") + 1] == "sonnet"
    assert argv[argv.index("--max-turns") + 1] == "30"
    assert argv[argv.index("--max-budget-usd") + 1] == "0.5"
    assert argv[argv.index("--permission-mode") + 1] == "acceptEdits"
    assert argv[argv.index("--allowedTools") + 1] == "Bash(git diff:*),Read"
    assert argv[-2:] == ["--append-system-prompt", "be brief"]
    assert "--dangerously-skip-permissions" not in argv


@pytest.mark.parametrize(("budget", "text"), [(0.5, "0.5"), (2.0, "2.0"), (1e-7, "0.0000001")])
def test_budget_is_plain_decimal(budget: float, text: str) -> None:
    argv = ClaudeBackend().build(request(max_budget_usd=budget), "claude").argv
    assert argv[argv.index("--max-budget-usd") + 1] == text


def test_argv_without_options_is_minimal() -> None:
    argv = ClaudeBackend().build(request(), "claude").argv
    assert argv == ["claude", "-p", "--output-format", "stream-json", "--verbose"]


@pytest.mark.parametrize(
    "kw",
    [
        {"model": "--dangerously-skip-permissions"},
        {"resume_id": "-x"},
        {"permission": Permission(mode="-y")},
        {"permission": Permission(allowed_tools=["--foo"])},
        {"max_turns": 0},
        {"max_budget_usd": 0.0},
    ],
)
def test_argv_refuses_flag_like_or_invalid_values(kw: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        ClaudeBackend().build(request(**kw), "claude")


# -- session id, text, noise --------------------------------------------------------------------


def test_newest_session_id_wins_and_noise_is_kept() -> None:
    res = parse(
        [
            "mise WARN  tools: claude@2.1.250",
            init(sid="old-id"),
            "",
            assistant("msg_1", [text("Done.")]),
            '{"type":"rate_limit_event","rate_limit_info":{"status":"allowed"}}',
            "[1, 2]",
            result(session_id="new-id"),
        ]
    )
    assert res.session_id == "new-id"
    assert res.outcome == "success" and res.ok
    assert res.text == "Added the missing null check."
    assert res.cli_version == "2.1.197"
    noise = [e for e in res.raw_events if e["type"] == "noise"]
    assert [e["line"] for e in noise] == ["mise WARN  tools: claude@2.1.250", "[1, 2]"]
    assert any(e["type"] == "rate_limit_event" for e in res.raw_events)  # unknown: kept raw
    assert res.duration_ms == 1234 and res.exit_code == 0


def test_success_result_beats_nonzero_exit_code() -> None:
    res = parse([init(), result()], exit_code=1)
    assert res.outcome == "success" and res.error is None


# -- usage --------------------------------------------------------------------------------------


def test_same_message_on_three_lines_counts_once_and_result_wins() -> None:
    lines = [
        init(),
        assistant("msg_A", [text("Let me read it.")], inp=4, read=8400, write=1200),
        assistant("msg_A", [tool_use("Read", "toolu_1", {"file_path": "/repo/a.ts"})]),
        assistant("msg_A", [tool_use("Read", "toolu_2", {"file_path": "/repo/b.ts"})]),
    ]
    lines_only = parse(lines, exit_code=1)
    usage = lines_only.usage[SONNET]
    assert (usage.input, usage.cache_read, usage.cache_write, usage.requests) == (4, 8400, 1200, 1)
    with_result = parse([*lines, result()])
    total = with_result.total_usage()
    assert (total.input, total.output, total.cache_read, total.cache_write) == (34, 776, 6498, 7606)
    assert with_result.usage[SONNET].requests == 1
    assert with_result.reported_cost == pytest.approx(0.1928845)
    assert with_result.usage[SONNET].reported_cost == pytest.approx(0.1867)


def test_dedupe_keeps_the_copy_with_the_largest_output() -> None:
    res = parse(
        [
            init(),
            assistant("msg_A", [text("a")], out=1),
            assistant("msg_A", [text("b")], out=495),
            assistant("msg_A", [text("c")], out=12),
            assistant("msg_B", [text("d")], out=7, request_id="req_2"),
        ],
        exit_code=1,
    )
    usage = res.usage[SONNET]
    assert usage.output == 495 + 7
    assert usage.requests == 2
    assert usage.input == 8 and usage.cache_read == 2 * 8400


def test_result_usage_without_model_usage_tops_up_the_lines() -> None:
    res = parse(
        [
            init(),
            assistant("msg_A", [text("a")], inp=120, read=402311, write=15012, out=1),
            result(
                subtype="error_max_turns",
                is_error=True,
                terminal_reason="max_turns",
                modelUsage={},
                usage={
                    "input_tokens": 120,
                    "cache_creation_input_tokens": 15012,
                    "cache_read_input_tokens": 402311,
                    "output_tokens": 3350,
                },
                errors=["Reached maximum number of turns (30)"],
            ),
        ],
        exit_code=1,
    )
    usage = res.usage[SONNET]
    assert (usage.input, usage.output, usage.cache_read, usage.cache_write) == (
        120,
        3350,
        402311,
        15012,
    )
    assert res.outcome == "max_turns"
    assert res.error == "Reached maximum number of turns (30)"


def test_two_models_in_one_call() -> None:
    model_usage = {
        f"{SONNET}": {
            "inputTokens": 34,
            "outputTokens": 776,
            "cacheReadInputTokens": 6498,
            "cacheCreationInputTokens": 7606,
            "costUSD": 0.1867,
        },
        HAIKU: {
            "inputTokens": 1204,
            "outputTokens": 58,
            "cacheReadInputTokens": 0,
            "cacheCreationInputTokens": 0,
            "costUSD": 0.0061845,
        },
    }
    res = parse(
        [
            init(),
            assistant("msg_A", [text("main")]),
            assistant("msg_H", [text("sub")], model=HAIKU, request_id="req_h", parent="toolu_t"),
            result(modelUsage=model_usage),
        ]
    )
    assert set(res.usage) == {SONNET, HAIKU}
    assert res.usage[HAIKU].input == 1204 and res.usage[HAIKU].output == 58
    assert res.usage[HAIKU].reported_cost == pytest.approx(0.0061845)
    assert res.usage[HAIKU].requests == 1 and res.usage[SONNET].requests == 1
    assert res.reported_cost == pytest.approx(0.1928845)
    assert res.model == SONNET
    assert res.text == "Added the missing null check."


def test_model_usage_key_with_variant_suffix_matches_lines() -> None:
    key = "claude-opus-4-8[1m]"
    res = parse(
        [
            init(model="claude-opus-4-8"),
            assistant("msg_A", [text("x")], model="claude-opus-4-8", write=50, split=(20, 30)),
            result(
                modelUsage={
                    key: {
                        "inputTokens": 100,
                        "outputTokens": 20,
                        "cacheReadInputTokens": 30,
                        "cacheCreationInputTokens": 50,
                        "costUSD": 0.0013275,
                    }
                }
            ),
        ]
    )
    assert list(res.usage) == [key]  # raw key kept: pricing strips the suffix
    assert (res.usage[key].cache_write_5m, res.usage[key].cache_write_1h) == (20, 30)
    assert res.usage[key].requests == 1
    assert res.model == "claude-opus-4-8"


@pytest.mark.parametrize(
    ("line_split", "line_write", "result_split", "expected"),
    [
        ((300, 500), 800, None, (300, 500)),  # lines sum exactly → taken as is
        ((100, 300), 400, None, (200, 600)),  # lines' proportion applied to the total
        (None, 0, (200, 600), (200, 600)),  # no line split: result usage.cache_creation ratio
        (None, 0, None, (800, 0)),  # no split anywhere: all 5m
        (None, 800, None, (800, 0)),  # lines without a split count as 5m
    ],
)
def test_cache_write_ttl_split_rule(
    line_split: tuple[int, int] | None,
    line_write: int,
    result_split: tuple[int, int] | None,
    expected: tuple[int, int],
) -> None:
    r_usage: dict[str, Any] = {"input_tokens": 1, "output_tokens": 1}
    if result_split:
        r_usage["cache_creation_input_tokens"] = sum(result_split)
        r_usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": result_split[0],
            "ephemeral_1h_input_tokens": result_split[1],
        }
    mu = {SONNET: {"inputTokens": 1, "outputTokens": 1, "cacheCreationInputTokens": 800}}
    res = parse(
        [
            init(),
            assistant("msg_A", [text("x")], write=line_write, split=line_split),
            result(usage=r_usage, modelUsage=mu),
        ]
    )
    usage = res.usage[SONNET]
    assert (usage.cache_write_5m, usage.cache_write_1h) == expected


def test_assistant_line_split_is_kept_without_result() -> None:
    res = parse([init(), assistant("m", [text("x")], write=2241, split=(2000, 241))], exit_code=1)
    assert (res.usage[SONNET].cache_write_5m, res.usage[SONNET].cache_write_1h) == (2000, 241)


@settings(max_examples=examples(150))
@given(
    messages=st.dictionaries(
        keys=st.text(alphabet="abcdef0123", min_size=1, max_size=6),
        values=st.tuples(
            st.integers(0, 5000),  # input tokens, identical on every copy
            st.lists(st.integers(0, 10_000), min_size=1, max_size=4),  # output per copy
        ),
        min_size=1,
        max_size=8,
    ),
    seed=st.integers(0, 2**16),
)
def test_dedupe_invariant_any_order_any_duplication(
    messages: dict[str, tuple[int, list[int]]], seed: int
) -> None:
    lines = [
        assistant(f"msg_{mid}", [text("t")], inp=inp, out=out, read=0, write=0)
        for mid, (inp, outs) in messages.items()
        for out in outs
    ]
    rng = random.Random(seed)
    lines += rng.sample(lines, k=min(len(lines), 3))  # exact duplicates as well
    rng.shuffle(lines)
    res = parse([init(), *lines], exit_code=1)
    total = res.total_usage()
    assert total.output == sum(max(outs) for _, outs in messages.values())
    assert total.input == sum(inp for inp, _ in messages.values())
    assert total.requests == len(messages)


# -- outcomes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prose", "status", "expected"),
    [
        (
            "API Error: 500 Internal. This is a server-side issue, usually temporary",
            500,
            "api_error",
        ),
        ("API Error: 529 Overloaded. This is a server-side issue", 529, "api_error"),
        ("API Error: Unable to connect to API (ConnectionRefused)", None, "api_error"),
        ("Invalid API key · Fix external API key", 401, "auth"),
        ("Not logged in · Please run /login", None, "auth"),
        ("API Error: Request rejected (429) · slowdown", 429, "rate_limit"),
        ("You've hit your limit · resets 1pm", None, "rate_limit"),
    ],
)
def test_success_subtype_with_is_error_is_an_api_failure(
    prose: str, status: int | None, expected: str
) -> None:
    res = parse(
        [
            init(),
            result(
                is_error=True,
                result=prose,
                api_error_status=status,
                terminal_reason="api_error",
                total_cost_usd=0,
                modelUsage={},
            ),
        ],
        exit_code=1,
    )
    assert res.outcome == expected
    assert res.error == prose
    assert not res.ok


def test_budget_exhausted() -> None:
    res = parse(
        [
            init(),
            result(
                subtype="error_max_budget_usd",
                is_error=True,
                total_cost_usd=0.002655,
                num_turns=2,
                stop_reason="tool_use",
                terminal_reason="budget_exhausted",
                errors=["Reached maximum budget ($0.002)"],
            ),
        ],
        exit_code=1,
    )
    assert res.outcome == "budget"
    assert res.reported_cost == pytest.approx(0.002655)
    assert res.turns == 2


def test_crash_without_result_line() -> None:
    res = parse(
        [init(), assistant("msg_A", [text("Working on it")])],
        exit_code=1,
        stderr="Error: something broke\n    at foo (cli.js:1:1)\n",
    )
    assert res.outcome == "crash"
    assert res.text == "Working on it"
    assert res.error is not None and "something broke" in res.error
    assert res.session_id == SID


def test_no_result_timeout_and_interrupt() -> None:
    assert parse([init()], exit_code=143, timed_out=True).outcome == "timeout"
    assert parse([init()], exit_code=143, interrupted=True).outcome == "interrupted"
    # 130 without our Ctrl-C: somebody else's SIGINT, not an interrupt of ours (gap 3)
    assert parse([init()], exit_code=130).outcome == "crash"
    assert parse([], exit_code=None).outcome == "crash"


def test_unknown_resume_id_is_session_lost() -> None:
    stderr = f"No conversation found with session ID: {SID}\n"
    assert parse([], exit_code=1, stderr=stderr).outcome == "session_lost"
    lost = result(
        subtype="error_during_execution",
        is_error=True,
        result="",
        errors=[f"No conversation found with session ID: {SID}"],
        modelUsage={},
        usage={},
        total_cost_usd=0,
    )
    res = parse([lost], exit_code=1, stderr=stderr)
    assert res.outcome == "session_lost"


def test_session_id_already_in_use_asks_for_resume() -> None:
    res = parse([], exit_code=1, stderr=f"Error: Session ID {SID} is already in use.\n")
    assert res.session_in_use
    assert res.outcome == "crash"
    assert res.error is not None and "already in use" in res.error
    assert res.session_id is None  # never guessed


def test_error_during_execution_is_a_crash_and_interrupt_wins() -> None:
    line = result(subtype="error_during_execution", is_error=True, terminal_reason="aborted_tools")
    assert parse([init(), line], exit_code=1).outcome == "crash"
    assert parse([init(), line], exit_code=143, interrupted=True).outcome == "interrupted"


# -- todos, tools, progress ---------------------------------------------------------------------


def test_todowrite_and_task_tools() -> None:
    todos = [
        {"content": "Run the test suite", "status": "in_progress", "activeForm": "Running tests"},
        {"content": "Fix the router", "status": "pending", "activeForm": "Fixing the router"},
    ]
    res = parse(
        [
            init(),
            assistant("msg_A", [tool_use("TodoWrite", "toolu_1", {"todos": todos})]),
            tool_result("toolu_1"),
            assistant(
                "msg_B",
                [
                    tool_use(
                        "TaskCreate",
                        "toolu_2",
                        {"subject": "Write tests", "description": "d", "activeForm": "Writing"},
                    )
                ],
                request_id="req_2",
            ),
            tool_result("toolu_2", "Task #1 created successfully: Write tests"),
            assistant(
                "msg_C",
                [tool_use("TaskUpdate", "toolu_3", {"taskId": "1", "status": "completed"})],
                request_id="req_3",
            ),
            tool_result("toolu_3"),
            result(),
        ]
    )
    assert [t.tool for t in res.todos] == ["TodoWrite", "TaskCreate", "TaskUpdate"]
    assert res.todos[0].replaces and res.todos[0].items == todos
    assert not res.todos[1].replaces
    assert res.todos[1].items == [{"content": "Write tests", "status": "pending", "id": "1"}]
    assert res.todos[2].items == [{"id": "1", "content": None, "status": "completed"}]
    assert res.tools_used == ["TodoWrite", "TaskCreate", "TaskUpdate"]


def test_task_create_id_from_structured_tool_result() -> None:
    res = parse(
        [
            init(),
            assistant("msg_A", [tool_use("TaskCreate", "toolu_9", {"subject": "S"})]),
            tool_result("toolu_9", "created", extra={"task": {"id": "7", "subject": "S"}}),
        ],
        exit_code=1,
    )
    assert res.todos[0].items[0]["id"] == "7"


def test_progress_snapshots() -> None:
    parser = ClaudeBackend().parser(request())
    assert parser.feed("not json") is None
    parser.feed(init())
    first = parser.feed(assistant("msg_A", [tool_use("Bash", "toolu_1", {"command": "ls"})]))
    assert first is not None
    assert (first.turns, first.tool, first.cost) == (1, "Bash", None)
    # the recorded usage's words: plain input apart from cache reads and writes
    tokens = (first.input_tokens, first.cache_read_tokens, first.cache_write_tokens)
    assert tokens == (4, 8400, 1200)
    assert first.tool_running
    # the same message again, unchanged: no new snapshot
    assert parser.feed(assistant("msg_A", [tool_use("Bash", "toolu_1", {"command": "ls"})])) is None
    after_tool = parser.feed(tool_result("toolu_1"))
    # the last tool stays on show, no longer running
    assert after_tool is not None and (after_tool.tool, after_tool.tool_running) == ("Bash", False)
    final = parser.feed(result())
    assert final is not None
    assert (final.turns, final.output_tokens, final.cost) == (3, 776, pytest.approx(0.1928845))


# -- resumed processes that restore earlier totals ----------------------------------------------


def _resume_case(version: str, restored: bool) -> AgentResult:
    prior = {
        SONNET: {
            "input": 100,
            "output": 50,
            "cache_read": 1000,
            "cache_write_5m": 200,
            "reported_cost": 0.02,
        }
    }
    this = (10, 5, 300, 40)  # input, output, cache_read, cache_write of this process
    factor = 1 if restored else 0
    mu = {
        SONNET: {
            "inputTokens": this[0] + factor * 100,
            "outputTokens": this[1] + factor * 50,
            "cacheReadInputTokens": this[2] + factor * 1000,
            "cacheCreationInputTokens": this[3] + factor * 200,
            "costUSD": 0.005 + factor * 0.02,
        }
    }
    req = request(
        resume_id=SID, state={"claude_session_totals": prior, "claude_session_cost": 0.02}
    )
    lines = [
        init(version=version),
        assistant("msg_R", [text("again")], inp=10, out=1, read=300, write=40),
        result(modelUsage=mu, total_cost_usd=0.005 + factor * 0.02, usage={}),
    ]
    return parse(lines, req)


def test_restored_totals_are_turned_back_into_a_delta() -> None:
    res = _resume_case("2.1.280", restored=True)
    u = res.usage[SONNET]
    assert (u.input, u.output, u.cache_read, u.cache_write) == (10, 5, 300, 40)
    assert res.reported_cost == pytest.approx(0.005)
    assert u.reported_cost == pytest.approx(0.005)
    totals = res.state["claude_session_totals"][SONNET]
    assert (totals["input"], totals["output"]) == (110, 55)
    assert res.state["claude_session_cost"] == pytest.approx(0.025)


def test_process_scoped_totals_are_left_alone() -> None:
    for version in ("2.1.280", "2.1.197"):
        res = _resume_case(version, restored=False)
        u = res.usage[SONNET]
        assert (u.input, u.output, u.cache_read, u.cache_write) == (10, 5, 300, 40)
        assert res.state["claude_session_totals"][SONNET]["input"] == 110


def test_old_cli_is_never_adjusted_even_if_numbers_look_restored() -> None:
    res = _resume_case("2.1.197", restored=True)
    assert res.usage[SONNET].input == 110  # trusted as reported


def test_new_session_ignores_carried_state() -> None:
    req = request(state={"claude_session_totals": {SONNET: {"input": 999}}})
    res = parse([init(), result()], req)
    assert res.state["claude_session_totals"][SONNET]["input"] == 34


# -- shapes seen from the real CLI 2.1.330 against the fake API ---------------------------------


def test_model_usage_since_last_result_is_this_process_delta() -> None:
    def entry(n: int, cost: float) -> dict[str, Any]:
        return {
            "inputTokens": 1234 * n,
            "outputTokens": 56 * n,
            "thinkingTokens": 7 * n,
            "cacheReadInputTokens": 4321 * n,
            "cacheCreationInputTokens": 789 * n,
            "cacheCreationEphemeral5mInputTokens": 700 * n,
            "cacheCreationEphemeral1hInputTokens": 89 * n,
            "costUSD": cost,
            "canonicalModel": "claude-sonnet-4-6",
            "costBasis": "list",
        }

    model = "claude-sonnet-4-6"
    line = result(
        modelUsage={model: entry(2, 0.0179946)},  # restored session totals
        model_usage_since_last_result={model: entry(1, 0.0089973)},
        total_cost_usd=0.0179946,
    )
    res = parse(
        [init(model=model, version="2.1.330"), assistant("msg_1", [text("hi")], model=model), line],
        request(resume_id=SID),
    )
    u = res.usage[model]
    assert (u.input, u.output, u.cache_read) == (1234, 56, 4321)
    assert (u.cache_write_5m, u.cache_write_1h, u.reasoning) == (700, 89, 7)
    assert u.reported_cost == pytest.approx(0.0089973)
    assert res.reported_cost == pytest.approx(0.0089973)
    assert u.requests == 1


def test_synthetic_api_error_message_is_not_a_request() -> None:
    synthetic = json.dumps(
        {
            "type": "assistant",
            "message": {
                "id": "b3f532ac-daad-481a-bbba-188a766f97ea",
                "model": "<synthetic>",
                "role": "assistant",
                "type": "message",
                "usage": {"input_tokens": 0, "output_tokens": 0},
                "content": [{"type": "text", "text": "API Error: 500 Internal server error."}],
            },
            "parent_tool_use_id": None,
            "session_id": SID,
            "error": "server_error",
            "is_api_error_message": True,
            "api_error_status": 500,
        }
    )
    zero = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0}
    line = result(
        is_error=True,
        result="API Error: 500 Internal server error.",
        api_error_status=500,
        terminal_reason="api_error",
        total_cost_usd=0,
        usage=zero,
        modelUsage={},
        num_turns=1,
    )
    res = parse([init(), synthetic, line], exit_code=1)
    assert res.outcome == "api_error"
    assert res.usage == {}
    assert res.model == SONNET
    assert res.reported_cost == 0


def test_refused_todo_tool_is_not_recorded() -> None:
    refused = json.dumps(
        {
            "type": "user",
            "message": {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_x",
                        "content": "No such tool available: TaskCreate.",
                        "is_error": True,
                    }
                ],
            },
            "session_id": SID,
        }
    )
    res = parse(
        [
            init(),
            assistant("msg_A", [tool_use("TaskCreate", "toolu_x", {"subject": "S"})]),
            refused,
            assistant("msg_B", [tool_use("TodoWrite", "toolu_y", {"todos": []})], request_id="r2"),
            result(),  # no tool result for toolu_y: never confirmed
        ]
    )
    assert res.todos == []
    assert res.tools_used == ["TaskCreate", "TodoWrite"]

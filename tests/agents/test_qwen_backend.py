"""The ``qwen`` backend: what is Qwen Code's own (the shared contract is its subclass in
``test_backend_conformance.py``).

The recorded streams (``tests/agents/streams/qwen-*.json[l]``) are the real Qwen Code 0.24.4
run against the fake Chat Completions API (``tests/fakeapi``): a shell tool call then the
answer, and a resume of an id it does not know. Qwen's own: the ``result`` usage is
cumulative for the conversation (a resumed call must record only its own requests), side
requests the stream does not show are counted from the difference, error results and exit
codes map to outcomes, and a lost call's usage is read back from the CLI's chat file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents import registry
from ai_orchestrator.agents.base import AgentRequest, AgentResult, Permission, ProcessExit
from ai_orchestrator.agents.homes.agent_files import read_back
from ai_orchestrator.core.errors import InvalidInput
from tests.agents.conformance import MINTED
from tests.fakes.inprocess import recorded

MODEL = "gpt-4.1"  # what the recorded streams ran


# -- Qwen's own --------------------------------------------------------------------------------

STREAM = recorded("qwen")


def _parse(lines: list[str], exit: ProcessExit | None = None, **kw: Any) -> AgentResult:
    parser = registry.get_backend("qwen").parser(
        AgentRequest(prompt="p", cwd=Path("/w"), model=MODEL, **kw))
    for line in lines:
        parser.feed(line)
    return parser.finish(exit or ProcessExit(0, "", 10))


def _events(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def _with_result_usage(usage: dict[str, int]) -> list[str]:
    events = _events(STREAM)
    events[-1] = {**events[-1], "usage": usage}
    return [json.dumps(e) for e in events]


CALL = {"input_tokens": 3200, "output_tokens": 120, "cache_read_input_tokens": 1900}


def _tokens(result: AgentResult) -> tuple[int, int, int]:
    total = result.total_usage()
    return total.input, total.output, total.cache_read


def test_the_recording_parses_to_per_request_usage_text_version_and_state() -> None:
    result = _parse(STREAM)
    assert result.text == "All four tests pass." and result.cli_version == "0.24.4"
    assert [(u.input, u.output, u.cache_read) for u in result.requests[MODEL]] == [
        (1100, 80, 400), (200, 40, 1500)]
    assert result.turns == 2 and result.tools_used == ["run_shell_command"]
    assert result.state == {"qwen_session": MINTED, "qwen_cumulative": CALL}


def test_a_resumed_call_records_only_its_own_requests() -> None:
    # The resumed process prints the conversation's totals: 1000/50/0 came before.
    before = {"input_tokens": 1000, "output_tokens": 50, "cache_read_input_tokens": 0}
    total = {k: CALL[k] + before[k] for k in CALL}
    state = {"qwen_session": MINTED, "qwen_cumulative": before}
    result = _parse(_with_result_usage(total), resume_id=MINTED, state=state)
    assert _tokens(result) == (1300, 120, 1900)
    assert result.state == {"qwen_session": MINTED, "qwen_cumulative": total}
    # Without the baseline (another conversation's state) only the requests seen count.
    other = {"qwen_session": "someone-else", "qwen_cumulative": before}
    result = _parse(_with_result_usage(total), resume_id=MINTED, state=other)
    assert _tokens(result) == (1300, 120, 1900) and result.state == {}


def test_side_requests_the_stream_does_not_show_are_counted_on_the_main_model() -> None:
    # The background memory extractor (on by default) adds 10 in / 5 out to the result only.
    side = {"input_tokens": 3210, "output_tokens": 125, "cache_read_input_tokens": 1900}
    result = _parse(_with_result_usage(side))
    assert _tokens(result) == (1310, 125, 1900)
    assert result.state["qwen_cumulative"] == side


def test_an_error_result_keeps_the_baseline_plus_what_the_call_used() -> None:
    failed = {"type": "result", "subtype": "error_during_execution", "is_error": True,
              "session_id": MINTED, "usage": {"input_tokens": 0, "output_tokens": 0},
              "error": {"message": "[API Error: 500 boom]"}}
    events = [*_events(STREAM)[:-1], failed]
    before = {"input_tokens": 7, "output_tokens": 3, "cache_read_input_tokens": 1}
    result = _parse([json.dumps(e) for e in events], ProcessExit(1, "", 10), resume_id=MINTED,
                    state={"qwen_session": MINTED, "qwen_cumulative": before})
    assert (result.outcome, result.error) == ("api_error", "[API Error: 500 boom]")
    assert _tokens(result) == (1300, 120, 1900)  # the two requests that were answered
    assert result.state["qwen_cumulative"] == {k: CALL[k] + before[k] for k in CALL}
    assert result.text == "All four tests pass."  # what the agent said before it failed


@pytest.mark.parametrize(("message", "outcome"), [
    ("[API Error: 401 Incorrect API key provided]", "auth"),
    ("[API Error: 403 forbidden]", "auth"),
    ("[API Error: 429 Too many requests]", "rate_limit"),
    ("[API Error: 404 The model `nosuch` does not exist]", "api_error"),
    ("[API Error: 503 overloaded]", "api_error"),
    ("Request timed out after 3 retries: quota exceeded", "rate_limit"),
])
def test_error_results_map_by_status_then_prose(message: str, outcome: str) -> None:
    line = json.dumps({"type": "result", "subtype": "error_during_execution", "is_error": True,
                       "session_id": MINTED, "usage": {}, "error": {"message": message}})
    result = _parse([line], ProcessExit(1, "", 10))
    assert (result.outcome, result.error, result.session_id) == (outcome, message, MINTED)


@pytest.mark.parametrize(("code", "stderr", "outcome", "in_use"), [
    (53, "Reached max session turns for this session.", "max_turns", False),
    (55, "Run wall-time budget exceeded", "budget", False),
    (1, f"Error: Session Id {MINTED} already exists (active or archived).", "crash", True),
    (1, f'No saved session found with title "{MINTED}".', "session_lost", False),
    (1, "Ripgrep not available: spawn rg EACCES\nError: config is broken", "crash", False),
])
def test_exits_without_a_result(code: int, stderr: str, outcome: str, in_use: bool) -> None:
    result = _parse([], ProcessExit(code, stderr + "\n", 10))
    assert (result.outcome, result.session_in_use) == (outcome, in_use)
    assert result.error and "Ripgrep" not in result.error
    assert result.session_id is None


def test_build_maps_modes_tools_and_turns() -> None:
    backend = registry.get_backend("qwen")
    request = AgentRequest(prompt="p", cwd=Path("/w"), max_turns=3, permission=Permission(
        mode="acceptEdits", allowed_tools=["Bash(git diff:*)", "Write", "glob", "Bash"]))
    argv = backend.build(request, "qwen").argv
    assert argv[:3] == ["qwen", "-o", "stream-json"]
    assert argv[argv.index("--approval-mode") + 1] == "auto-edit"
    assert argv[argv.index("--allowed-tools") + 1] == "run_shell_command,write_file,glob"
    assert argv[argv.index("--max-session-turns") + 1] == "3"
    for own in ("auto", "yolo", "auto-edit"):
        argv = backend.build(AgentRequest(prompt="p", cwd=Path("/w"),
                                          permission=Permission(mode=own)), "q").argv
        assert argv[argv.index("--approval-mode") + 1] == own
    with pytest.raises(InvalidInput):
        backend.build(AgentRequest(prompt="p", cwd=Path("/w"), max_turns=0), "q")
    assert registry.capabilities("qwen").resume_scope == "cwd"
    assert not registry.can_fork("qwen")


def _telemetry(stamp: str, rid: str, inp: int, out: int, cached: int, thoughts: int,
               model: str = MODEL) -> dict[str, Any]:
    return {"type": "system", "subtype": "ui_telemetry", "timestamp": stamp, "uuid": rid,
            "systemPayload": {"uiEvent": {
                "event.name": "qwen-code.api_response", "response_id": rid, "model": model,
                "input_token_count": inp, "output_token_count": out,
                "cached_content_token_count": cached, "thoughts_token_count": thoughts}}}


def test_read_back_counts_the_calls_responses_once_and_the_whole_conversation_as_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QWEN_HOME", str(tmp_path / "qh"))
    since = datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC)
    chat = tmp_path / "qh/projects/-w/chats" / f"{MINTED}.jsonl"
    chat.parent.mkdir(parents=True)
    entries = [
        _telemetry("2026-12-01T09:59:00.000Z", "r0", 100, 10, 0, 0),  # an earlier call
        {"type": "assistant", "timestamp": "2026-12-01T10:00:01.000Z",
         "usageMetadata": {"promptTokenCount": 999}},  # not a response record
        _telemetry("2026-12-01T10:00:00.123Z", "r1", 1500, 100, 500, 50),
        _telemetry("2026-12-01T10:00:00.123Z", "r1", 1500, 100, 500, 50),  # written again
        _telemetry("2026-12-01T10:00:02.000Z", "r2", 40, 4, 0, 0, model="qwen-flash"),
    ]
    chat.write_text("".join(json.dumps(e) + "\n" for e in entries) + "{torn")
    found = read_back("qwen", MINTED, Path("/w"), since, {}, None)
    assert found is not None and found.kind == "qwen-chat" and found.path == chat
    main = found.usage[MODEL]
    assert (main.input, main.output, main.cache_read, main.reasoning, main.requests) == (
        1000, 100, 500, 50, 1)
    assert (found.usage["qwen-flash"].input, found.usage["qwen-flash"].output) == (40, 4)
    assert found.state == {"qwen_session": MINTED, "qwen_cumulative": {
        "input_tokens": 1640, "output_tokens": 114, "cache_read_input_tokens": 500}}
    assert read_back("qwen", "0199a213-0000-7000-8000-00000000dead", Path("/w"), since, {},
                     None) is None
    assert read_back("qwen", "../../etc", Path("/w"), since, {}, None) is None


def test_progress_snapshots_count_each_request_and_are_not_changed_afterwards() -> None:
    parser = registry.get_backend("qwen").parser(AgentRequest(prompt="p", cwd=Path("/w")))
    snapshots = [s for s in (parser.feed(line) for line in STREAM) if s is not None]
    outputs = [s.output_tokens for s in snapshots]
    assert outputs == sorted(outputs) and outputs[-1] == 120
    assert 80 in outputs  # the first request was shown before the second arrived
    first = next(s for s in snapshots if s.output_tokens == 80)
    assert first.usage[MODEL].output == 80 and first.turns == 1
    assert snapshots[-1].tool == "run_shell_command" and not snapshots[-1].tool_running

"""``agent_files.read_back``: only the killed call's usage, from each CLI's own file shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.homes.agent_files import read_back

SINCE = datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC)
BEFORE, AFTER, LATER = (
    "2026-12-01T09:59:00.000Z",
    "2026-12-01T10:00:00.123Z",
    "2026-12-01T10:00:05.000Z",
)


def _jsonl(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in entries) + "{torn")
    return path


def _assistant(
    stamp: str, mid: str, output: int, model: str = "claude-sonnet-4-5"
) -> dict[str, Any]:
    return {
        "type": "assistant",
        "timestamp": stamp,
        "requestId": f"req-{mid}",
        "message": {
            "id": mid,
            "model": model,
            "usage": {
                "input_tokens": 10,
                "output_tokens": output,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 20,
            },
        },
    }


def test_claude_counts_each_request_of_the_call_once_with_its_final_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    cwd = tmp_path / "work"
    sid = "0b5e-sess"
    main = tmp_path / "claude/projects" / str(cwd).replace("/", "-") / f"{sid}.jsonl"
    _jsonl(
        main,
        [
            _assistant(BEFORE, "m0", 50),  # an earlier call of the conversation
            {"type": "user", "timestamp": AFTER, "message": {"content": "go"}},
            _assistant(AFTER, "m1", 1),  # placeholder copy, then the final one
            _assistant(AFTER, "m1", 40),
            _assistant(LATER, "m2", 7, model="<synthetic>"),
        ],
    )
    _jsonl(
        main.with_suffix("") / "subagents/agent-1.jsonl",
        [_assistant(LATER, "s1", 5, model="claude-haiku-4-5")],
    )
    found = read_back("claude", sid, cwd, SINCE, {}, None)
    assert found is not None and found.kind == "claude-transcript"
    sonnet, haiku = found.usage["claude-sonnet-4-5"], found.usage["claude-haiku-4-5"]
    assert (
        sonnet.input,
        sonnet.output,
        sonnet.cache_read,
        sonnet.cache_write,
        sonnet.requests,
    ) == (10, 40, 100, 20, 1)
    assert (haiku.output, haiku.requests) == (5, 1)
    assert [r.output for r in found.requests["claude-sonnet-4-5"]] == [40]


def _token_count(total: dict[str, int], stamp: str = LATER) -> dict[str, Any]:
    return {
        "timestamp": stamp,
        "type": "event_msg",
        "payload": {"type": "token_count", "info": {"total_token_usage": total}},
    }


def test_codex_takes_the_largest_cumulative_snapshot_over_every_copy_minus_the_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    tid = "01a2-thread"
    day = tmp_path / "codex/sessions/2026/12/01"
    old = {
        "input_tokens": 300,
        "cached_input_tokens": 100,
        "output_tokens": 30,
        "reasoning_output_tokens": 10,
        "total_tokens": 330,
    }
    new = {
        "input_tokens": 800,
        "cached_input_tokens": 300,
        "output_tokens": 70,
        "reasoning_output_tokens": 25,
        "total_tokens": 870,
    }
    _jsonl(
        day / f"rollout-2026-12-01T09-00-00-{tid}.jsonl",
        [{"type": "turn_context", "payload": {"model": "gpt-5.5"}}, _token_count(old, BEFORE)],
    )
    _jsonl(day / f"rollout-2026-12-01T10-00-00-{tid}.jsonl", [_token_count(new), _token_count(old)])
    state = {"thread_id": tid, "cumulative_usage": old}
    found = read_back("codex", tid, tmp_path, SINCE, state, resume_id=tid)
    assert found is not None and found.kind == "codex-rollout"
    usage = found.usage["gpt-5.5"]
    assert (usage.input, usage.cache_read, usage.output, usage.reasoning) == (300, 200, 40, 15)
    assert found.state == {"thread_id": tid, "cumulative_usage": new}
    # A new thread (no resume) starts from zero.
    fresh = read_back("codex", tid, tmp_path, SINCE, {}, resume_id=None)
    assert fresh is not None and fresh.usage["gpt-5.5"].output == 70


def test_gemini_reads_jsonl_rewrites_and_the_older_json_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path / "g"))
    sid = "abcdef12-3456"
    chats = tmp_path / "g/.gemini/tmp/work/chats"
    tokens = {"input": 150, "output": 20, "cached": 50, "thoughts": 5, "tool": 0, "total": 175}
    message = {"type": "gemini", "timestamp": AFTER, "model": "gemini-2.5-flash", "tokens": tokens}
    _jsonl(
        chats / "session-2026-12-01T10-00-abcdef12.jsonl",
        [
            {"sessionId": sid, "kind": "main"},
            {"$set": {"messages": [{**message, "id": "old", "timestamp": BEFORE}]}},
            {**message, "id": "g1"},
            {**message, "id": "g1", "toolCalls": []},  # written again: counted once
        ],
    )
    found = read_back("gemini", sid, tmp_path, SINCE, {}, None)
    assert found is not None and found.kind == "gemini-chat"
    usage = found.usage["gemini-2.5-flash"]
    assert (usage.input, usage.cache_read, usage.output, usage.reasoning, usage.requests) == (
        100,
        50,
        25,
        5,
        1,
    )

    other = "99999999-legacy"
    (chats / "session-2026-01-01T00-00-99999999.json").write_text(
        json.dumps(
            {"sessionId": other, "messages": [{**message, "id": "x"}, {**message, "id": "y"}]}
        )
    )
    legacy = read_back("gemini", other, tmp_path, SINCE, {}, None)
    assert legacy is not None and legacy.usage["gemini-2.5-flash"].requests == 2


@pytest.mark.parametrize("agent", ["claude", "codex", "gemini"])
def test_nothing_found_or_an_unsafe_id_is_none(agent: str, tmp_path: Path) -> None:
    assert read_back(agent, "no-such-conversation", tmp_path, SINCE, {}, None) is None
    assert read_back(agent, "../../etc/passwd", tmp_path, SINCE, {}, None) is None
    assert read_back(agent, None, tmp_path, SINCE, {}, None) is None

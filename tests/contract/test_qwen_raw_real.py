"""Contract tests of the REAL Qwen Code CLI (pinned) itself, against the fake Chat Completions API.

What the ``qwen`` adapter relies on, checked at the raw level (no aio code involved):

- ``-o stream-json`` with the prompt on stdin runs one-shot; ``--session-id <uuid>`` starts a
  conversation under our id, ``--resume <id>`` continues it (same id; the server gets the
  earlier turns).
- Each ``assistant`` event carries the usage of its own API request exactly as served
  (``input_tokens`` = ``prompt_tokens``, cached included; ``output_tokens`` =
  ``completion_tokens``, reasoning included). The ``result`` event's ``usage`` is
  **cumulative for the conversation**: a resumed process restores the earlier calls' totals.
- The conversation file ``${QWEN_HOME:-~/.qwen}/projects/<cwd>/chats/<id>.jsonl`` records
  every API response (``ui_telemetry`` ``qwen-code.api_response``, reasoning included) as it
  arrives: the read-back source for a killed call.
- An HTTP 404 (a model the server does not know) fails at once: exit 1, an ``is_error``
  result whose message names the status.
- Errors on resume / a taken id: exit 1, nothing on stdout, one line on stderr.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS, PINNED_VERSIONS, OfflineCli
from tests.fakeapi.procs import CliResult, run_cli

pytestmark = pytest.mark.real_cli

ARGS = ["-o", "stream-json"]


def _run(cli: OfflineCli, args: list[str], cwd: Path, prompt: str) -> CliResult:
    result = run_cli([*cli.argv, *ARGS, *args], cli.env, cwd, stdin=prompt, timeout=120)
    assert not result.timed_out, result.describe()
    assert result.leftover == [], f"processes left behind: {result.leftover}"
    return result


def _history(body: Any) -> list[tuple[str, str]]:
    pairs = []
    for message in body["messages"]:
        content = message.get("content")
        parts = [content] if isinstance(content, str) else [
            p.get("text", "") for p in content or [] if isinstance(p, dict)]
        pairs += [(message["role"], p.strip()) for p in parts if p]
    return pairs


def _usage(sent: dict[str, Any]) -> dict[str, int]:
    """What Qwen Code prints for one request served with ``sent``."""
    return {"input_tokens": sent["prompt_tokens"], "output_tokens": sent["completion_tokens"],
            "cache_read_input_tokens": sent["prompt_tokens_details"]["cached_tokens"],
            "total_tokens": sent["prompt_tokens"] + sent["completion_tokens"]}


def _sent(n: int) -> dict[str, Any]:
    return {"prompt_tokens": 1234 * n, "completion_tokens": 56 * n,
            "prompt_tokens_details": {"cached_tokens": 400 * n},
            "completion_tokens_details": {"reasoning_tokens": 20 * n}}


def _chat_file(home: Path, session_id: str) -> Path:
    [path] = (home / ".qwen" / "projects").glob(f"*/chats/{session_id}.jsonl")
    return path


def test_version_is_pinned(qwen_cli: OfflineCli, cli_workdir: Path) -> None:
    result = run_cli([*qwen_cli.argv, "--version"], qwen_cli.env, cli_workdir, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == PINNED_VERSIONS["qwen"]


def test_new_and_resumed_call_usage_per_request_and_cumulative_result(
    qwen_cli: OfflineCli, fake_api: FakeAPIServer, cli_workdir: Path, cli_home: Path
) -> None:
    ours = str(uuid.uuid4())
    first, second = _sent(1), _sent(2)
    fake_api.script([{"text": ["first ", "answer"], "usage": first}])
    one = _run(qwen_cli, ["--session-id", ours], cli_workdir, "first prompt")
    assert one.returncode == 0, one.describe()
    events = one.jsonl()
    assert events[0]["type"] == "system" and events[0]["subtype"] == "init"
    assert events[0]["session_id"] == ours and events[0]["qwen_code_version"] == "0.24.4"
    [answer] = [e for e in events if e["type"] == "assistant"]
    assert answer["message"]["usage"] == _usage(first)
    assert answer["message"]["model"] == MODELS["qwen"]
    result = events[-1]
    assert result["type"] == "result" and result["subtype"] == "success"
    assert result["is_error"] is False and result["result"] == "first answer"
    assert result["usage"] == _usage(first) and result["session_id"] == ours

    fake_api.script([{"text": "second answer", "usage": second}])
    two = _run(qwen_cli, ["--resume", ours], cli_workdir, "second prompt")
    assert two.returncode == 0, two.describe()
    events = two.jsonl()
    assert {e.get("session_id") for e in events} == {ours}
    [answer] = [e for e in events if e["type"] == "assistant"]
    assert answer["message"]["usage"] == _usage(second)  # this request only
    total = {k: _usage(first)[k] + _usage(second)[k] for k in _usage(first)}
    assert events[-1]["usage"] == total  # the conversation so far, not this call
    history = _history(fake_api.main_requests("openai_chat")[-1].body)
    wanted = [("user", "first prompt"), ("assistant", "first answer"), ("user", "second prompt")]
    positions = [history.index(p) if p in history else -1 for p in wanted]
    assert -1 not in positions and positions == sorted(positions), history
    assert all(r.status == 200 for r in fake_api.requests), "an endpoint the fake lacks"

    # Every API response is in the conversation file, reasoning included.
    responses = [
        e["systemPayload"]["uiEvent"]
        for e in map(json.loads, _chat_file(cli_home, ours).read_text().splitlines())
        if e.get("subtype") == "ui_telemetry"
        and e["systemPayload"]["uiEvent"].get("event.name") == "qwen-code.api_response"
    ]
    assert [(r["input_token_count"], r["output_token_count"], r["cached_content_token_count"],
             r["thoughts_token_count"]) for r in responses] == [
        (1234, 56, 400, 20), (2468, 112, 800, 40)]


def test_tool_call_writes_a_file_and_each_request_reports_its_usage(
    qwen_cli: OfflineCli, fake_api: FakeAPIServer, cli_workdir: Path
) -> None:
    target = cli_workdir / "hello.txt"
    write = {"name": "write_file", "input": {"file_path": str(target), "content": "hi\n"}}
    fake_api.script([{"tool_use": write, "usage": _sent(1)},
                     {"text": "File written.", "usage": _sent(3)}])
    result = _run(qwen_cli, ["--approval-mode", "auto-edit"], cli_workdir, "create hello.txt")
    assert result.returncode == 0, result.describe()
    assert target.read_text() == "hi\n"
    events = result.jsonl()
    answers = [e["message"] for e in events if e["type"] == "assistant"]
    assert [a["usage"] for a in answers] == [_usage(_sent(1)), _usage(_sent(3))]
    assert answers[0]["content"][0]["type"] == "tool_use"
    assert answers[0]["content"][0]["name"] == "write_file"
    assert events[-1]["num_turns"] == 2 and events[-1]["result"] == "File written."


def test_unknown_model_fails_at_once_with_the_status(
    qwen_cli: OfflineCli, fake_api: FakeAPIServer, cli_workdir: Path
) -> None:
    fake_api.script([{"error": {"status": 404, "message": "The model `nosuch` does not exist"}}])
    result = _run(qwen_cli, ["-m", "nosuch"], cli_workdir, "hi")
    assert result.returncode == 1, result.describe()
    final = result.jsonl()[-1]
    assert final["type"] == "result" and final["is_error"] is True
    assert final["subtype"] == "error_during_execution"
    assert final["error"]["message"] == "[API Error: 404 The model `nosuch` does not exist]"
    assert [r.body["model"] for r in fake_api.main_requests("openai_chat")] == ["nosuch"]


def test_lost_and_taken_session_ids_fail_before_any_request(
    qwen_cli: OfflineCli, fake_api: FakeAPIServer, cli_workdir: Path
) -> None:
    missing = str(uuid.uuid4())
    lost = _run(qwen_cli, ["--resume", missing], cli_workdir, "hi")
    assert lost.returncode == 1 and lost.stdout == ""
    assert f"No saved session found with ID {missing}" in lost.stderr
    ours = str(uuid.uuid4())
    assert _run(qwen_cli, ["--session-id", ours], cli_workdir, "hi").returncode == 0
    taken = _run(qwen_cli, ["--session-id", ours], cli_workdir, "again")
    assert taken.returncode == 1 and taken.stdout == ""
    assert f"Session Id {ours} already exists" in taken.stderr
    assert len(fake_api.main_requests("openai_chat")) == 1

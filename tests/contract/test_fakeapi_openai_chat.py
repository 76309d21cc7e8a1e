"""Fast tests of the fake OpenAI Chat Completions API (``tests/fakeapi/openai_chat.py``) and
of the offline Qwen Code environment (no real CLI).

They pin the wire shape Qwen Code 0.24.4 was verified against: ``chat.completion.chunk``
events, tool calls opened then filled, the usage chunk only when the request asks
``stream_options.include_usage``, ``[DONE]``, and the error shapes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.contract.test_fakeapi_unit import _post
from tests.fakeapi import FakeAPIServer
from tests.fakeapi import clis as clis_mod

MAIN = {"tools": [{"type": "function"}], "stream": True, "model": "m-1",
        "stream_options": {"include_usage": True}}


def _chunks(body: str) -> list[Any]:
    assert body.endswith("data: [DONE]\n\n"), body[-60:]
    events = [block for block in body.split("\n\n") if block]
    assert all(e.startswith("data: ") for e in events)
    return [json.loads(e[6:]) for e in events[:-1]]


def test_stream_text_tool_calls_and_exact_usage(fake_api: FakeAPIServer) -> None:
    usage = {"prompt_tokens": 321, "completion_tokens": 45,
             "prompt_tokens_details": {"cached_tokens": 100},
             "completion_tokens_details": {"reasoning_tokens": 7}}
    fake_api.script([{"text": ["he", "llo"], "tool_use": {"name": "write_file",
                                                         "input": {"file_path": "a"}},
                      "usage": usage}])
    status, headers, body = _post(fake_api.url + "/v1/chat/completions", MAIN)
    assert status == 200 and headers["content-type"] == "text/event-stream"
    chunks = _chunks(body)
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["model"] == "m-1"
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert [d.get("content") for d in deltas[1:3]] == ["he", "llo"]
    opening, args = deltas[3]["tool_calls"][0], deltas[4]["tool_calls"][0]
    assert opening["function"] == {"name": "write_file", "arguments": ""}
    assert opening["id"].startswith("call_") and "id" not in args
    assert json.loads(args["function"]["arguments"]) == {"file_path": "a"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == {**usage, "total_tokens": 366}
    assert fake_api.requests[0].api == "openai_chat" and fake_api.requests[0].main


def test_usage_chunk_only_when_asked_and_plain_json_when_not_streaming(
    fake_api: FakeAPIServer,
) -> None:
    fake_api.script([{"text": "a"}, {"text": "b", "usage": {"prompt_tokens": 3}}])
    _, _, body = _post(fake_api.url + "/v1/chat/completions",
                       {**MAIN, "stream_options": None})
    chunks = _chunks(body)
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    _, _, body = _post(fake_api.url + "/v1/chat/completions", {**MAIN, "stream": False})
    doc = json.loads(body)
    assert doc["object"] == "chat.completion"
    assert doc["choices"][0]["message"] == {"role": "assistant", "content": "b"}
    assert doc["usage"] == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8,
                            "prompt_tokens_details": {"cached_tokens": 0},
                            "completion_tokens_details": {"reasoning_tokens": 0}}
    # A request without tools is a side request: it never consumes a scripted turn.
    fake_api.script([{"text": "scripted"}])
    _, _, side = _post(fake_api.url + "/v1/chat/completions", {"stream": False, "model": "m"})
    assert "scripted" not in side and fake_api.pending == [{"text": "scripted"}]


def test_errors_http_and_in_stream(fake_api: FakeAPIServer) -> None:
    fake_api.script([{"error": {"status": 404, "message": "no such model"}},
                     {"error": {"status": 500, "in_stream": True}},
                     {"error": {"status": 500, "in_stream": True, "drop": True}}])
    status, headers, body = _post(fake_api.url + "/v1/chat/completions", MAIN)
    assert status == 404 and headers["x-request-id"].startswith("req_")
    assert json.loads(body) == {"error": {"message": "no such model",
                                          "type": "invalid_request_error", "param": None,
                                          "code": "model_not_found"}}
    status, _, body = _post(fake_api.url + "/v1/chat/completions", MAIN)
    events = [json.loads(b[6:]) for b in body.split("\n\n") if b]
    assert status == 200 and events[0]["choices"][0]["delta"]["content"] == "partial "
    assert events[1] == {"error": {"message": "fake error 500", "type": "server_error",
                                   "param": None, "code": "server_error"}}
    _, _, body = _post(fake_api.url + "/v1/chat/completions", MAIN)
    assert len([b for b in body.split("\n\n") if b]) == 1  # dropped after the partial chunk


def test_qwen_offline_env_and_settings(tmp_path: Path) -> None:
    exe = tmp_path / "bin" / "qwen"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    home = tmp_path / "h"
    (home / ".qwen").mkdir(parents=True)
    (home / ".qwen" / "settings.json").write_text('{"ui": {"theme": "mine"}}')
    argv, env = clis_mod.offline_cli("qwen", "http://127.0.0.1:9", home, exe=exe,
                                     inherit={"FOO": "x"})
    assert argv == [str(exe)] and "FOO" not in env
    assert env["OPENAI_BASE_URL"] == "http://127.0.0.1:9/v1"
    assert env["OPENAI_API_KEY"] == clis_mod.API_KEY and env["HOME"] == str(home)
    settings = json.loads((home / ".qwen" / "settings.json").read_text())
    assert settings["ui"] == {"theme": "mine"}  # merged, not replaced
    assert settings["privacy"]["usageStatisticsEnabled"] is False
    assert settings["telemetry"]["enabled"] is False
    assert settings["general"]["enableAutoUpdate"] is False
    assert settings["memory"]["enableManagedAutoMemory"] is False
    assert settings["model"]["generationConfig"] == {"maxRetries": 0}
    # QWEN_HOME moves the whole ~/.qwen directory.
    _, env = clis_mod.offline_cli("qwen", "http://127.0.0.1:9", home, exe=exe,
                                  inherit={"QWEN_HOME": str(tmp_path / "qh")})
    assert env["QWEN_HOME"] == str(tmp_path / "qh")
    assert (tmp_path / "qh" / "settings.json").is_file()

"""Fast tests of the fake API server and the process helpers themselves (no real CLI).

They pin the wire shapes the real CLIs were verified against, the turn-queue rules (only
requests with ``tools`` consume turns), hang release on stop, and process-group cleanup.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.fakeapi import FakeAPIServer
from tests.fakeapi import clis as clis_mod
from tests.fakeapi.procs import live_group_members, run_cli


def _post(url: str, body: Any, timeout: float = 10) -> tuple[int, dict[str, str], str]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            headers = {k.lower(): v for k, v in resp.headers.items()}
            return resp.status, headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read().decode()


def _sse(text: str) -> list[tuple[str | None, dict[str, Any]]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if data is not None:
            events.append((name, data))
    return events


MAIN = {"tools": [{"name": "x"}], "stream": True, "model": "m-1"}


def test_anthropic_stream_shape_and_usage(fake_api: FakeAPIServer) -> None:
    usage = {"input_tokens": 7, "output_tokens": 9, "cache_creation_input_tokens": 5,
             "cache_read_input_tokens": 3,
             "cache_creation": {"ephemeral_5m_input_tokens": 4, "ephemeral_1h_input_tokens": 1}}
    fake_api.script([{"text": ["a", "b"], "tool_use": {"name": "Write", "input": {"k": 1}},
                      "usage": usage}])
    status, headers, body = _post(fake_api.url + "/v1/messages?beta=true", MAIN)
    assert status == 200 and headers["request-id"].startswith("req_")
    assert headers["content-type"] == "text/event-stream"
    events = _sse(body)
    assert [n for n, _ in events] == [
        "message_start", "ping", "content_block_start", "content_block_delta",
        "content_block_delta", "content_block_stop", "content_block_start",
        "content_block_delta", "content_block_stop", "message_delta", "message_stop"]
    assert all(n == d["type"] for n, d in events)
    start = events[0][1]["message"]
    assert start["model"] == "m-1" and start["usage"] == {**usage, "output_tokens": 1,
                                                          "service_tier": "standard"}
    assert json.loads(events[7][1]["delta"]["partial_json"]) == {"k": 1}
    assert events[9][1]["delta"]["stop_reason"] == "tool_use"
    assert events[9][1]["usage"] == {"output_tokens": 9}


def test_anthropic_errors(fake_api: FakeAPIServer) -> None:
    fake_api.script([{"error": {"status": 529}}, {"error": {"status": 500, "in_stream": True}}])
    status, headers, body = _post(fake_api.url + "/v1/messages", MAIN)
    assert status == 529 and "request-id" in headers
    assert json.loads(body)["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    status, _, body = _post(fake_api.url + "/v1/messages", MAIN)
    assert status == 200
    assert [n for n, _ in _sse(body)] == ["message_start", "error"]


def test_anthropic_error_asks_for_a_retry_delay_only_when_scripted(
    fake_api: FakeAPIServer,
) -> None:
    fake_api.script([{"error": {"status": 500, "retry_after_ms": 0}}, {"error": {"status": 500}}])
    status, headers, _ = _post(fake_api.url + "/v1/messages", MAIN)
    assert (status, headers.get("retry-after-ms")) == (500, "0")
    status, headers, _ = _post(fake_api.url + "/v1/messages", MAIN)
    assert status == 500 and "retry-after-ms" not in headers


def test_only_tool_requests_consume_turns(fake_api: FakeAPIServer) -> None:
    fake_api.script([{"text": "scripted"}])
    _, _, side = _post(fake_api.url + "/v1/messages", {"stream": True, "model": "m"})
    assert "scripted" not in side and fake_api.pending == [{"text": "scripted"}]
    _, _, main = _post(fake_api.url + "/v1/messages", MAIN)
    assert "scripted" in main and fake_api.pending == []
    _, _, default = _post(fake_api.url + "/v1/messages", MAIN)
    assert "fake default reply" in default
    assert [r.main for r in fake_api.requests] == [False, True, True]
    assert fake_api.requests[1].query == {} and fake_api.requests[1].body == MAIN
    assert fake_api.requests[1].response_headers["request-id"].startswith("req_")
    fake_api.script([{"text": "a"}])
    fake_api.script([{"text": "b"}], append=True)
    assert fake_api.pending == [{"text": "a"}, {"text": "b"}]
    fake_api.script([{"text": "c"}])
    assert fake_api.pending == [{"text": "c"}]
    fake_api.reset()
    assert fake_api.requests == [] and fake_api.pending == []


def test_gemini_stream_router_and_errors(fake_api: FakeAPIServer) -> None:
    base = fake_api.url + "/v1beta/models/gemini-x"
    usage = {"promptTokenCount": 20, "candidatesTokenCount": 4, "cachedContentTokenCount": 8,
             "thoughtsTokenCount": 2}
    fake_api.script([{"text": ["he", "llo"], "usage": usage}, {"error": {"status": 429}}])
    status, headers, body = _post(base + ":streamGenerateContent?alt=sse", {"tools": [{}]})
    chunks = [d for _, d in _sse(body)]
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert [c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks] == ["he", "llo"]
    assert "usageMetadata" not in chunks[0] and "finishReason" not in chunks[0]["candidates"][0]
    assert chunks[1]["usageMetadata"] == {**usage, "totalTokenCount": 26}
    schema = {"type": "object", "properties": {"complexity_reasoning": {"type": "string"},
                                               "complexity_score": {"type": "integer"}}}
    _, _, body = _post(base + ":generateContent", {"generationConfig": {
        "responseMimeType": "application/json", "responseJsonSchema": schema}})
    answer = json.loads(json.loads(body)["candidates"][0]["content"]["parts"][0]["text"])
    assert set(answer) == {"complexity_reasoning", "complexity_score"}
    status, _, body = _post(base + ":streamGenerateContent?alt=sse", {"tools": [{}]})
    assert status == 429
    assert json.loads(body) == {"error": {"code": 429, "message": "fake error 429",
                                          "status": "RESOURCE_EXHAUSTED"}}


def test_openai_stream_items_and_usage(fake_api: FakeAPIServer) -> None:
    usage = {"input_tokens": 50, "input_tokens_details": {"cached_tokens": 20},
             "output_tokens": 6, "output_tokens_details": {"reasoning_tokens": 2}}
    fake_api.script([{"tool_use": [{"name": "apply_patch", "input": "*** Begin Patch\n"},
                                   {"name": "exec_command", "input": {"cmd": "ls"}}],
                      "usage": usage}])
    status, headers, body = _post(fake_api.url + "/v1/responses", {"tools": [{}], "model": "g"})
    events = _sse(body)
    assert status == 200 and headers["x-request-id"].startswith("req_")
    assert events[0][0] == "response.created" and events[-1][0] == "response.completed"
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    done = [d["item"] for n, d in events if n == "response.output_item.done"]
    assert [i["type"] for i in done] == ["custom_tool_call", "function_call"]
    assert json.loads(done[1]["arguments"]) == {"cmd": "ls"}
    assert events[-1][1]["response"]["usage"] == {**usage, "total_tokens": 56}


def test_hang_is_released_by_stop() -> None:
    server = FakeAPIServer().start()
    server.script([{"hang": True}])
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            _post(server.url + "/v1/messages", MAIN, timeout=30)
        except Exception as exc:  # the connection is closed without an answer
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    assert len(server.wait_for_requests(1, timeout=10)) == 1
    time.sleep(0.2)
    assert caller.is_alive()
    started = time.monotonic()
    server.stop()
    caller.join(timeout=10)
    assert not caller.is_alive() and time.monotonic() - started < 5
    assert outcome, "a hung request must not get an answer"


def test_control_endpoints(fake_api: FakeAPIServer) -> None:
    _post(fake_api.url + "/__script", [{"text": "via control"}])
    _, _, body = _post(fake_api.url + "/v1/messages", MAIN)
    assert "via control" in body
    with urllib.request.urlopen(fake_api.url + "/__log", timeout=10) as resp:
        log = json.loads(resp.read())
    assert [entry["path"] for entry in log] == ["/v1/messages"]
    with pytest.raises(TimeoutError):
        fake_api.wait_for_requests(5, timeout=0.2)


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_run_cli_timeout_kills_whole_group(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    result = run_cli(["bash", "-c", "sleep 60 & sleep 60 & wait"], env, tmp_path, timeout=0.5)
    assert result.timed_out and result.leftover == []
    assert live_group_members(result.pid) == []
    # A background child that outlives its parent (stdio closed) is reported, then killed.
    result = run_cli(["bash", "-c", "sleep 60 >/dev/null 2>&1 </dev/null & echo hi"],
                     env, tmp_path, timeout=10, linger=2)
    assert result.returncode == 0 and result.stdout == "hi\n"
    assert len(result.leftover) == 1
    assert live_group_members(result.pid) == []


def test_require_cli_skips_only_without_npm(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("AGENT_CLI_DIR", str(tmp_path / "none"))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match="npm is not on PATH"):
        clis_mod.require_cli("claude")
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/" + name)
    with pytest.raises(pytest.fail.Exception, match="make agent-clis"):
        clis_mod.require_cli("claude")


def test_offline_env_is_minimal_and_writes_configs(tmp_path: Path) -> None:
    exe = tmp_path / "bin" / "codex"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    home = tmp_path / "h"
    argv, env = clis_mod.offline_cli("codex", "http://127.0.0.1:9", home, exe=exe,
                                     inherit={"CODEX_HOME": str(tmp_path / "ch"), "FOO": "x"})
    assert argv == [str(exe)] and "FOO" not in env
    assert env["CODEX_HOME"] == str(tmp_path / "ch") and env["HOME"] == str(home)
    config = (tmp_path / "ch" / "config.toml").read_text()
    assert 'base_url = "http://127.0.0.1:9/v1"' in config and "enabled = false" in config
    _, env = clis_mod.offline_cli("gemini", "http://127.0.0.1:9", home, exe=exe)
    settings = json.loads((home / ".gemini" / "settings.json").read_text())
    assert settings["general"]["maxAttempts"] == 1 and env["GEMINI_CLI_NO_RELAUNCH"] == "true"
    _, env = clis_mod.offline_cli("claude", "http://127.0.0.1:9", home, exe=exe)
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert not any(k.startswith("OPENAI") for k in env) and os.environ.get("HOME") != str(home)


def test_installer_pins_the_same_versions() -> None:
    script = (Path(__file__).resolve().parents[2] / "scripts" / "install-agent-clis.sh")
    text = script.read_text()
    for name, version in clis_mod.PINNED_VERSIONS.items():
        assert f'"{name}|' in text and f"|{version}|{name}\"" in text, (name, version)

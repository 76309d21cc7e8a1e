"""Each REAL CLI against an error that arrives *inside* an HTTP-200 stream, and what our
adapters make of such failures (and of a Codex call that dies before ``thread.started``).

Pinned behaviour (verified on this machine, retries configured off):
- Claude 2.1.330 retries the request once *without streaming* (``stream: false``) even with
  ``CLAUDE_CODE_MAX_RETRIES=0``; the aborted stream's ``message_start`` usage is still added.
- Gemini 0.61.0 ignores the ``{"error"}`` chunk, exits 0 and reports the partial text plus
  ``error.type == "INVALID_STREAM"`` in its JSON.
- Codex 0.169.0 (``stream_max_retries=0``) fails the turn: exit 1,
  ``stream disconnected before completion: <message>``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.store import SessionStore
from tests.contract.raw_drivers import CodexDriver
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS, OfflineCli
from tests.fakeapi.procs import CliResult, run_cli
from tests.fakes.harness import aio_run

pytestmark = pytest.mark.real_cli


def _run(cli: OfflineCli, args: list[str], cwd: Path) -> CliResult:
    result = run_cli([*cli.argv, *args], cli.env, cwd, stdin="hi", timeout=90)
    assert not result.timed_out and result.leftover == [], result.describe()
    return result


def test_claude_falls_back_to_non_streaming(fake_api: FakeAPIServer, cli_workdir: Path,
                                            offline_cli_factory: Callable[[str], OfflineCli]
                                            ) -> None:
    aborted = {"input_tokens": 100, "output_tokens": 7}
    final = {"input_tokens": 40, "output_tokens": 9}
    fake_api.script([{"error": {"status": 529, "in_stream": True, "usage": aborted}},
                     {"text": "recovered", "usage": final}])
    result = _run(offline_cli_factory("claude"),
                  ["-p", "--output-format", "json", "--model", MODELS["claude"]], cli_workdir)
    assert result.returncode == 0, result.describe()
    out = result.json()
    assert out["result"] == "recovered" and out["is_error"] is False
    main = fake_api.main_requests("anthropic")
    assert [r.body["stream"] for r in main] == [True, False]
    # message_start of the aborted stream (output_tokens is 1 there) is counted too.
    assert out["usage"]["input_tokens"] == 140
    assert out["usage"]["output_tokens"] == 1 + 9


def test_gemini_reports_invalid_stream(fake_api: FakeAPIServer, cli_workdir: Path,
                                       offline_cli_factory: Callable[[str], OfflineCli]
                                       ) -> None:
    fake_api.script([{"error": {"status": 500, "in_stream": True}}])
    result = _run(offline_cli_factory("gemini"), ["-o", "json", "-m", MODELS["gemini"]],
                  cli_workdir)
    assert result.returncode == 0, result.describe()
    out = result.json()
    assert out["response"] == "partial "
    assert out["error"] == {"type": "INVALID_STREAM",
                            "message": "Model stream ended without a finish reason."}
    assert len(fake_api.main_requests("gemini")) == 1


def test_codex_fails_turn_on_response_failed(fake_api: FakeAPIServer, cli_workdir: Path,
                                             offline_cli_factory: Callable[[str], OfflineCli]
                                             ) -> None:
    fake_api.script([{"error": {"status": 500, "in_stream": True, "message": "boom-stream"}}])
    result = _run(offline_cli_factory("codex"), ["exec", "--json", "--skip-git-repo-check"],
                  cli_workdir)
    assert result.returncode == 1, result.describe()
    last = result.jsonl()[-1]
    assert last == {"type": "turn.failed", "error": {
        "message": "stream disconnected before completion: boom-stream"}}
    assert len(fake_api.main_requests("openai")) == 1


def test_codex_dying_before_thread_started_keeps_the_usage_baseline(
    agent_env: Callable[[str], None], fake_api: FakeAPIServer, cli_workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Good call, a call the real codex refuses at startup (a config error: no
    ``thread.started``), good call: the recorded totals are exactly what the server sent."""
    agent_env("codex")
    driver = CodexDriver()
    sent = [driver.sent_usage(1), driver.sent_usage(2)]
    fake_api.script([{"text": "one", "usage": sent[0]}, {"text": "two", "usage": sent[1]}])
    store = SessionStore()
    options = CallOptions(agent="codex", cwd=cli_workdir, model=MODELS["codex"])
    assert run_in_session(store, "run-codex", "first", options).result.ok
    monkeypatch.setenv("AIO_AGENT_CODEX_EXTRA_ARGS", "-c sandbox_mode=bogus")
    died = run_in_session(store, "run-codex", "second", options).result
    assert died.outcome == "crash" and "sandbox_mode" in (died.error or ""), died.error
    assert not any(e.get("type") == "thread.started" for e in died.raw_events)
    monkeypatch.delenv("AIO_AGENT_CODEX_EXTRA_ARGS")
    third = run_in_session(store, "run-codex", "third", options)
    assert third.result.ok and third.action == "resumed", third.result.error
    assert len(fake_api.main_requests("openai")) == 2
    tokens = store.load("run-codex").summary.to_json()["tokens"]
    cached = sum(u["input_tokens_details"]["cached_tokens"] for u in sent)
    assert tokens["input"] == sum(u["input_tokens"] for u in sent) - cached
    assert tokens["cache_read"] == cached
    assert tokens["output"] == sum(u["output_tokens"] for u in sent)


@pytest.mark.parametrize(
    ("error", "outcome", "message"),
    [
        ({"status": 500, "in_stream": True}, "api_error",
         "Model stream ended without a finish reason."),
        ({"in_stream": True, "drop": True}, "api_error",
         "Model stream ended without a finish reason."),
        ({"status": 429, "message": "Resource has been exhausted (e.g. check quota)."},
         "rate_limit", "[API Error: Resource has been exhausted (e.g. check quota).] Please wait"),
    ],
    ids=["in-stream-error", "dropped-stream", "quota-429"],
)
def test_gemini_failures_carry_the_streams_own_message_on_one_line(
    agent_env: Callable[[str], None], fake_api: FakeAPIServer, cli_workdir: Path,
    error: dict[str, object], outcome: str, message: str,
) -> None:
    agent_env("gemini")
    fake_api.script([{"error": error}])
    options = CallOptions(agent="gemini", cwd=cli_workdir, model=MODELS["gemini"])
    run = run_in_session(SessionStore(), "run-gemini", "hi", options)
    assert run.result.outcome == outcome, (run.result.outcome, run.result.error)
    assert (run.result.error or "").startswith(message), run.result.error
    assert "\n" not in (run.result.error or "")
    assert run.record.error == run.result.error
    assert len(fake_api.main_requests("gemini")) == 1


def test_aio_run_ends_a_real_gemini_quota_error_with_one_error_line(
    agent_env: Callable[[str], None], fake_api: FakeAPIServer, cli_workdir: Path,
) -> None:
    agent_env("gemini")
    fake_api.script([{"error": {"status": 429, "message": "Resource has been exhausted."}}])
    result = aio_run(cli_workdir, "run-g", "hi", "--agent", "gemini", "--model", MODELS["gemini"])
    assert result.returncode == 1, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith(
        "aio: error: gemini failed in session run-g (rate_limit): "
        "[API Error: Resource has been exhausted.] Please wait and try again later."
    ), result.stderr
    assert result.stderr.count("aio: error:") == 1 and "warning: agent error" not in result.stderr

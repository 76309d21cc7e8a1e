"""How the parsers classify an agent that stopped without a result, beyond the shared contract
(our timeout, our Ctrl-C, a SIGTERM nobody here sent: ``test_backend_conformance``): a wrapper
shell's 128+N status, Gemini's own exit codes (gap 3, gap 9 of the audit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_orchestrator.agents.base import AgentRequest, AgentResult, ProcessExit
from ai_orchestrator.agents.claude import ClaudeBackend
from ai_orchestrator.agents.codex import CodexBackend
from ai_orchestrator.agents.gemini import GeminiBackend

SID = "8f0c2a52-5b8e-4a36-9a64-1f6f3f1c8c11"
# A partial stream as each CLI prints it before it is stopped: started, no terminal event.
PARTIAL = {
    "claude": [
        {"type": "system", "subtype": "init", "session_id": SID, "model": "claude-sonnet-4-5"},
    ],
    "gemini": [
        {"type": "init", "session_id": SID, "model": "gemini-2.5-flash"},
        {"type": "message", "role": "assistant", "content": "Working", "delta": True},
    ],
    "codex": [{"type": "thread.started", "thread_id": SID}, {"type": "turn.started"}],
}
BACKENDS = {"claude": ClaudeBackend, "gemini": GeminiBackend, "codex": CodexBackend}


def parse(name: str, exit: ProcessExit, timeout: float | None = 8) -> AgentResult:
    parser = BACKENDS[name]().parser(AgentRequest(prompt="hi", cwd=Path("/w"), timeout=timeout))
    for event in PARTIAL[name]:
        parser.feed(json.dumps(event))
    return parser.finish(exit)


@pytest.mark.parametrize("name", ["claude", "codex"])
def test_a_wrapper_shell_reporting_128_plus_n_is_a_signal_too(name: str) -> None:
    res = parse(name, ProcessExit(137, "", 500))
    assert res.outcome == "crash"
    assert res.error is not None and res.error.startswith("killed by signal 9 (SIGKILL)")


def test_gemini_143_without_a_result_is_a_signal_but_244_stays_http_500() -> None:
    assert parse("gemini", ProcessExit(143, "", 500)).error == "killed by signal 15 (SIGTERM)"
    assert parse("gemini", ProcessExit(244, "", 500)).outcome == "api_error"


def test_gemini_allowed_tools_warning_is_never_the_error_message() -> None:
    stderr = (
        "Warning: --allowed-tools cli argument and tools.allowed setting are deprecated and "
        "will be removed in 1.0: Migrate to Policy Engine\n"
    )
    res = parse("gemini", ProcessExit(1, stderr, 500))
    assert res.error is not None and "--allowed-tools" not in res.error

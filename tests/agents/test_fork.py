"""Forking a conversation (``AgentRequest.fork`` / ``CallOptions.fork``), the mechanism behind
``aio escalate`` to the same agent: Claude Code's argv, and the refusal for agents that cannot
fork — before anything is created."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_orchestrator.agents import registry
from ai_orchestrator.agents.base import AgentRequest
from ai_orchestrator.agents.claude import ClaudeBackend
from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.store import SessionStore

OLD = "11111111-1111-4111-8111-111111111111"
NEW = "22222222-2222-4222-8222-222222222222"


def test_claude_fork_argv_resumes_a_copy_under_the_minted_id(tmp_path: Path) -> None:
    request = AgentRequest("p", tmp_path, resume_id=OLD, new_session_id=NEW, fork=True)
    argv = ClaudeBackend().build(request, "claude").argv
    assert argv[argv.index(f"--resume={OLD}") + 1 :][:2] == [
        "--fork-session",
        f"--session-id={NEW}",
    ]
    plain = ClaudeBackend().build(AgentRequest("p", tmp_path, resume_id=OLD), "claude").argv
    assert "--fork-session" not in plain and not any(a.startswith("--session-id") for a in plain)


def test_only_claude_and_opencode_can_fork() -> None:
    forking = [key for key in registry.KNOWN_KEYS if registry.can_fork(key)]
    assert forking == ["claude", "opencode"]


@pytest.mark.parametrize("agent", ["scripted", "gemini", "codex"])
def test_a_fork_for_an_agent_that_cannot_is_refused_before_anything_exists(
    agent: str, tmp_path: Path
) -> None:
    store = SessionStore()
    with pytest.raises(InvalidInput, match="cannot fork"):
        run_in_session(
            store, "implement-calc", "p", CallOptions(agent=agent, cwd=tmp_path, fork=True)
        )
    assert not store.exists("implement-calc")

"""A call that starts from *another* session's conversation (``CallOptions.fork_from``,
``preface``, ``lineage``): the mechanism behind linked and templated features.

Checked at the session-call level with the in-process fake launcher and Claude's recorded
stream: the first call forks the other session's conversation (``--resume PARENT
--fork-session --session-id NEW``, in the parent's directory), puts the preface before the
prompt, and stores the lineage; a later call of the same conversation resumes its own copy
with neither; a session that already holds a conversation is resumed, never forked from
elsewhere; a lost fork never makes the parent's conversation the child's; an agent that
cannot fork is refused before anything exists; ``starting_prompt`` adds the preface to every
call that starts a conversation (also one-off ``fresh`` ones) and to no resumed one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_orchestrator.agents.base import AgentResult
from ai_orchestrator.calls.conversation import Conversation, Hooks
from ai_orchestrator.calls.options import starting_prompt
from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.store import SessionStore
from tests.fakes.harness import FakeAgents
from tests.fakes.inprocess import FakeLauncher, recorded

PARENT = "11111111-1111-4111-8111-111111111111"
STREAM_ID = "5e0c4f3a-8d2b-4c71-9e6a-0b1d2c3e4f50"  # the recorded stream's session id
LINEAGE = {"method": "fork", "session": "plan-parent", "agent_session_id": PARENT}


def _flag(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return None


def _options(project: Path, **extra: object) -> CallOptions:
    source = {"agent": "claude", "agent_session_id": PARENT, "cwd": str(project)}
    return CallOptions(
        agent="claude",
        cwd=project,
        fork_from=source,
        preface="PREFACE",
        lineage=LINEAGE,
        **extra,  # type: ignore[arg-type]
    )


def test_the_first_call_forks_the_other_sessions_conversation_then_resumes_its_own(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path
) -> None:
    store = SessionStore()
    conv = Conversation(store, "plan-child", _options(project), hooks=Hooks())
    fake_launcher.enqueue(*recorded("claude"))
    conv.ask("FIRST", "plan")
    first = fake_launcher.calls[-1]
    assert _flag(first.argv, "--resume") == PARENT and "--fork-session" in first.argv
    minted = _flag(first.argv, "--session-id")
    assert minted and minted != PARENT
    sent = (first.stdin or b"").decode()
    assert sent.index("PREFACE") < sent.index("FIRST")
    [record] = store.read_log("plan-child").records
    assert record.session_action == "forked" and record.lineage == LINEAGE
    assert record.prompt is not None and record.prompt.startswith("PREFACE")

    fake_launcher.enqueue(*recorded("claude"))
    conv.ask("SECOND", "plan")
    second = fake_launcher.calls[-1]
    assert "--fork-session" not in second.argv
    child = store.load("plan-child").summary.to_json()
    assert _flag(second.argv, "--resume") == child["agent_session_id"]
    assert (
        "PREFACE" not in (second.stdin or b"").decode()
        and "SECOND" in (second.stdin or b"").decode()
    )
    later = store.read_log("plan-child").records[-1]
    assert later.session_action == "resumed" and later.lineage is None
    assert store.load("plan-child").summary.to_json()["lineage"] == LINEAGE


def test_a_session_holding_a_conversation_resumes_it_and_ignores_fork_from(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path
) -> None:
    store = SessionStore()
    fake_launcher.enqueue(*recorded("claude"))
    run_in_session(store, "plan-child", "own", CallOptions(agent="claude", cwd=project))
    fake_launcher.enqueue(*recorded("claude"))
    run = run_in_session(store, "plan-child", "again", _options(project))
    argv = fake_launcher.calls[-1].argv
    assert run.action == "resumed" and _flag(argv, "--resume") == STREAM_ID
    assert "--fork-session" not in argv and run.record.lineage is None
    assert "PREFACE" not in (fake_launcher.calls[-1].stdin or b"").decode()


def test_a_lost_fork_never_stores_the_parents_conversation(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path
) -> None:
    store = SessionStore()
    fake_launcher.enqueue_result(
        AgentResult(agent="claude", outcome="session_lost", error="No conversation found")
    )
    run = run_in_session(store, "plan-child", "go", _options(project))
    assert run.action == "forked" and not run.result.ok
    assert store.load("plan-child").summary.to_json()["agent_session_id"] != PARENT
    assert run.record.agent_session_id != PARENT


@pytest.mark.parametrize("agent", ["scripted", "gemini", "codex"])
def test_fork_from_for_an_agent_that_cannot_fork_is_refused_before_anything_exists(
    agent: str, tmp_path: Path
) -> None:
    store = SessionStore()
    source = {"agent": agent, "agent_session_id": PARENT}
    with pytest.raises(InvalidInput, match="cannot fork"):
        run_in_session(
            store, "plan-child", "p", CallOptions(agent=agent, cwd=tmp_path, fork_from=source)
        )
    assert not store.exists("plan-child")


@pytest.mark.parametrize(
    ("action", "sent"),
    [
        ("started", "P\n\nask"),
        ("replaced", "P\n\nask"),
        ("forked", "P\n\nask"),
        ("fresh", "P\n\nask"),
        ("resumed", "ask"),
    ],
)
def test_the_preface_goes_before_every_start_and_no_resume(
    action: str, sent: str, tmp_path: Path
) -> None:
    options = CallOptions(agent="scripted", cwd=tmp_path, preface="P")
    assert starting_prompt("ask", action, options) == sent
    assert starting_prompt("ask", action, CallOptions(agent="scripted", cwd=tmp_path)) == "ask"

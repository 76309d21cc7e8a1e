"""The session's stored conversation moves as one piece (agent, id, cwd, state), and switching
``--agent`` says what it did and comes back to the conversation it left.

- A ``--new-session --cwd OTHER`` (or an ``--agent`` switch) whose call dies before the new
  conversation is named leaves the stored conversation as it was: its id *and* its cwd (the
  Gemini and Claude CLIs find a conversation only from its own cwd).
- ``--agent B`` on a session holding agent A's conversation is ``replaced`` (not "started")
  and says it switched; ``--agent A`` again resumes A's conversation, not a third one.
"""

from __future__ import annotations

from pathlib import Path

from ai_orchestrator.calls.session_call import CallOptions, Notice, SessionRun, run_in_session
from ai_orchestrator.store import SessionStore
from tests.fakes.harness import FakeAgents
from tests.fakes.inprocess import FakeLauncher, recorded
from tests.helpers import aio_inprocess

NAME = "implement-switch"
GEMINI_ID = "5e0c4f3a-8d2b-4c71-9e6a-0b1d2c3e4f50"  # in the recorded streams
CODEX_ID = "91fd853c-dbc5-71fa-8b52-93848b221805"


def _call(agent: str, cwd: Path, notices: list[Notice] | None = None,
          **options: object) -> SessionRun:
    return run_in_session(SessionStore(), NAME, "go", CallOptions(agent=agent, cwd=cwd, **options),
                          on_notice=None if notices is None else notices.append)


def _stored() -> tuple[object, object, object]:
    summary = SessionStore().load(NAME).summary.to_json()
    return summary["agent"], summary["agent_session_id"], summary["agent_cwd"]


def test_a_new_conversation_that_dies_unnamed_keeps_the_stored_id_and_cwd_together(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path, tmp_path: Path
) -> None:
    fake_launcher.enqueue(*recorded("gemini"))
    assert _call("gemini", project).result.ok
    other = tmp_path / "other"
    other.mkdir()
    fake_launcher.enqueue(exit_code=1, stderr="Error: could not start\n")  # dies unnamed
    died = _call("gemini", other, new_session=True)
    assert died.action == "replaced" and not died.result.ok
    assert died.record.agent_session_id is None
    assert _stored() == ("gemini", GEMINI_ID, str(project))
    # The next call resumes that conversation where it lives.
    fake_launcher.enqueue(*recorded("gemini"))
    again = _call("gemini", other)
    assert again.action == "resumed" and again.cwd == project
    argv = fake_launcher.calls[-1].argv
    assert argv[argv.index("--resume") + 1] == GEMINI_ID


def test_an_agent_switch_that_dies_unnamed_leaves_the_other_agents_conversation_stored(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path
) -> None:
    fake_launcher.enqueue(*recorded("gemini"))
    _call("gemini", project)
    fake_launcher.enqueue(exit_code=1, stderr="boom\n")  # codex died before thread.started
    _call("codex", project)
    assert _stored() == ("gemini", GEMINI_ID, str(project))


def test_switching_agents_says_replaced_and_switching_back_resumes_the_earlier_conversation(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path
) -> None:
    fake_launcher.enqueue(*recorded("gemini"))
    assert _call("gemini", project).action == "started"

    notices: list[Notice] = []
    fake_launcher.enqueue(*recorded("codex"))
    to_codex = _call("codex", project, notices)
    assert to_codex.action == "replaced"
    assert any("switched from gemini to codex" in n.text for n in notices)
    assert _stored()[:2] == ("codex", CODEX_ID)

    notices.clear()
    fake_launcher.enqueue(*recorded("gemini"))
    back = _call("gemini", project, notices)
    assert back.action == "resumed"
    argv = fake_launcher.calls[-1].argv
    assert argv[argv.index("--resume") + 1] == GEMINI_ID  # not a third conversation
    assert any(f"earlier gemini conversation {GEMINI_ID}" in n.text for n in notices)

    fake_launcher.enqueue(*recorded("codex"))
    assert _call("codex", project).action == "resumed"
    assert fake_launcher.calls[-1].argv[-3:-1] == ["resume", CODEX_ID]
    # --new-session still starts a new one, even when switching.
    fake_launcher.enqueue(*recorded("gemini"))
    fresh = _call("gemini", project, new_session=True)
    assert fresh.action == "replaced" and "--resume" not in fake_launcher.calls[-1].argv


def test_the_cli_prints_replaced_and_the_switch(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path
) -> None:
    fake_launcher.enqueue(*recorded("gemini"))
    _call("gemini", project)
    fake_launcher.enqueue(*recorded("codex"))
    result = aio_inprocess("run", NAME, "go", "--agent", "codex", cwd=project)
    assert result.code == 0, result.err
    assert "replaced the stored agent conversation" in result.err
    assert "started a new agent conversation" not in result.err
    assert "switched from gemini to codex" in result.err

"""``aio run`` / ``run_in_session`` when things go wrong: refused calls, failed first calls,
signals nobody sent, failures on stdout, the resume directory (audit gaps 2, 3, 4, 6, 8,
9, 11)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ai_orchestrator.agents import registry
from ai_orchestrator.agents.base import AgentRequest, Permission
from ai_orchestrator.agents.claude import ClaudeBackend
from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.core.errors import AgentNotFound, InvalidInput
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.store import SessionStore, todo_log
from tests.fakes.harness import FakeAgents, aio_run
from tests.fakes.inprocess import FakeLauncher, recorded
from tests.helpers import aio_inprocess

if TYPE_CHECKING:
    from ai_orchestrator.calls.session_call import Notice


def records(name: str) -> list[dict[str, Any]]:
    return [r.to_json() for r in SessionStore().read_log(name).records]


def open_todos() -> list[dict[str, Any]]:
    return [t for t in todo_log.list_todos(None, None) if t["status"] in ("in_progress", "pending")]


# -- gap 4: a call that cannot start leaves nothing behind ---------------------------------------


@pytest.mark.parametrize(
    ("agent", "flags"),
    [
        ("claude", ["--model", "-x"]),
        ("gemini", ["--model", "-x"]),
        ("codex", ["--permission-mode", "nonsense"]),
        ("claude", ["--allowed-tools", "-rf"]),
        # README: a model is an alias or an id; permission modes per agent (issue 9)
        ("claude", ["--model", "claude sonnet"]),
        ("gemini", ["--model", "gemini-2.5-pro;rm"]),
        ("codex", ["--model", "gpt-5'"]),
        ("scripted", ["--model", "$(model)"]),
        ("claude", ["--permission-mode", "yolo"]),  # Gemini's word, not Claude's
        ("gemini", ["--permission-mode", "read-only"]),  # a Codex sandbox, not Gemini's
        ("gemini", ["--permission-mode", "nonsense"]),
        ("codex", ["--permission-mode", "auto_edit"]),
        ("scripted", ["--permission-mode", "nonsense"]),
        ("claude", ["--model", ""]),  # empty would silently mean the CLI's default
        ("gemini", ["--permission-mode", ""]),
    ],
)
def test_refused_values_create_no_session_no_todo_and_say_nothing_started(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path, agent: str, flags: list[str]
) -> None:
    # In-process: refused before any launch (the fake launcher fails the test on a launch).
    result = aio_inprocess("run", "run-x", "hi", "--agent", agent, *flags, cwd=project)
    assert result.code == 2, result.err
    assert result.err.count("\n") == 1 and result.err.startswith("aio: error: invalid")
    assert "started a new agent conversation" not in result.err
    assert "Traceback" not in result.err and result.out == ""
    assert not SessionStore().exists("run-x")
    assert todo_log.list_todos(None, None) == []
    assert fake_launcher.calls == []


ACCEPTED_MODES = {
    "claude": {"default", "acceptEdits", "plan", "dontAsk", "bypassPermissions", "auto", "manual"},
    "gemini": {"default", "acceptEdits", "plan", "dontAsk", "bypassPermissions", "auto_edit",
               "yolo"},
    "codex": {"default", "acceptEdits", "plan", "dontAsk", "bypassPermissions", "read-only",
              "workspace-write", "danger-full-access"},
    "scripted": {"default", "acceptEdits", "plan", "dontAsk", "bypassPermissions"},
}
EVERY_MODE = sorted(set().union(*ACCEPTED_MODES.values()) | {"", "Plan", "nonsense", "-y"})


@pytest.mark.parametrize("agent", sorted(ACCEPTED_MODES))
def test_each_backend_accepts_exactly_its_permission_modes(
    agent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IS_SANDBOX", "1")  # bypassPermissions as root is another refusal
    backend = registry.get_backend(agent)
    for mode in EVERY_MODE:
        request = AgentRequest(prompt="x", cwd=Path("/tmp"), permission=Permission(mode or None))
        if not mode or mode in ACCEPTED_MODES[agent]:
            backend.build(request, agent)
        else:
            with pytest.raises(InvalidInput, match=f"invalid permission mode '{mode}' for"):
                backend.build(request, agent)


@pytest.mark.parametrize(
    ("model", "valid"),
    [
        ("sonnet", True), ("opus[1m]", True), ("claude-opus-4-1@20250805", True),
        ("gemini-2.5-pro", True), ("openai/gpt-oss:20b", True), ("gpt-5.1-codex+x", True),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", True), ("", False), ("-m", False),
        (".hidden", False), ("gpt 5", False), ("a\nb", False), ("a;b", False), ("é", False),
        ("x" * 201, False),
    ],
)
def test_model_syntax_is_the_same_for_every_backend(model: str, valid: bool) -> None:
    for agent in sorted(ACCEPTED_MODES):
        request = AgentRequest(prompt="x", cwd=Path("/tmp"), model=model or None)
        backend = registry.get_backend(agent)
        if valid or not model:  # no model at all is the agent's default
            assert (model in backend.build(request, agent).argv) is bool(model)
        else:
            with pytest.raises(InvalidInput, match="invalid model"):
                backend.build(request, agent)


def test_a_bad_ai_model_is_refused_like_a_bad_flag(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path
) -> None:
    result = aio_inprocess("run", "run-x", "hi", cwd=project, env={"AI_MODEL": "sonnet 4"})
    assert result.code == 2, result.err
    assert result.err == (
        "aio: error: invalid model 'sonnet 4': a model alias or id is letters, digits and "
        ". _ - : / @ + [ ], starting with a letter or digit\n"
    )
    assert not SessionStore().exists("run-x") and fake_launcher.calls == []


@pytest.mark.parametrize(
    ("agent", "mode", "model"),
    [
        ("claude", "dontAsk", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("gemini", "yolo", "gemini-2.5-pro"),
        ("codex", "read-only", "openai/gpt-oss:20b"),
    ],
)
def test_each_agents_own_values_still_pass(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path, agent: str, mode: str, model: str
) -> None:
    fake_launcher.enqueue(*recorded(agent))
    result = aio_inprocess(
        "run", "run-x", "hi", "--agent", agent, "--permission-mode", mode, "--model", model,
        cwd=project,
    )
    assert result.code == 0, result.err
    [call] = fake_launcher.calls
    assert model in call.argv and mode in call.argv


@pytest.mark.process  # the runner's launch of a file that cannot run
def test_a_non_runnable_agent_is_recorded_and_its_todo_closed(
    fakes: FakeAgents, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = tmp_path / "not-a-program"
    garbage.write_bytes(b"\x7fELF\x00garbage")  # executable bit, but exec() says ENOEXEC
    garbage.chmod(0o755)
    monkeypatch.setenv("AIO_AGENT_CLAUDE_EXECUTABLE", str(garbage))
    with pytest.raises(AgentNotFound, match="not a runnable program"):
        run_in_session(SessionStore(), "run-x", "hi", CallOptions(agent="claude", cwd=project))
    [record] = records("run-x")
    assert record["outcome"] == "error:crash" and "not a runnable program" in record["error"]
    assert record["tokens"]["input"] == 0 and record["cost"] == 0
    [todo] = todo_log.list_todos(None, None)
    assert todo["status"] == "failed"
    result = aio_run(project, "run-y", "hi", env={"AIO_AGENT_CLAUDE_EXECUTABLE": str(garbage)})
    assert result.returncode == 1 and "not a runnable program" in result.stderr
    assert "Traceback" not in result.stderr
    assert open_todos() == []


def test_an_exception_while_recording_still_closes_the_todo(
    fakes: FakeAgents, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: SessionStore, record: Interaction) -> Interaction:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SessionStore, "record", broken)
    with pytest.raises(OSError, match="No space left"):
        run_in_session(SessionStore(), "run-x", "hi", CallOptions(agent="claude", cwd=project))
    [todo] = todo_log.list_todos(None, None)
    assert todo["status"] == "failed" and "No space left" in str(todo.get("error"))


# -- gap 6: bypassPermissions as root is refused before launch -----------------------------------


def test_bypass_permissions_as_root_is_refused_before_launch(
    fakes: FakeAgents, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.delenv("IS_SANDBOX", raising=False)
    request = AgentRequest(prompt="x", cwd=project, permission=Permission("bypassPermissions"))
    with pytest.raises(InvalidInput, match="acceptEdits") as info:
        ClaudeBackend().build(request, "claude")
    assert info.value.exit_code == 2 and "IS_SANDBOX=1" in str(info.value)
    sneaky = AgentRequest(prompt="x", cwd=project, extra_args=["--dangerously-skip-permissions"])
    with pytest.raises(InvalidInput):
        ClaudeBackend().build(sneaky, "claude")
    monkeypatch.setenv("IS_SANDBOX", "1")  # the CLI's own opt-in
    assert "bypassPermissions" in ClaudeBackend().build(request, "claude").argv
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.delenv("IS_SANDBOX")
    assert "bypassPermissions" in ClaudeBackend().build(request, "claude").argv


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_cli_refuses_bypass_as_root_with_exit_2(
    fakes: FakeAgents, fake_launcher: FakeLauncher, project: Path
) -> None:
    result = aio_inprocess(
        "run", "run-x", "hi", "--permission-mode", "bypassPermissions", cwd=project
    )
    assert result.code == 2, result.err
    assert "acceptEdits" in result.err and fake_launcher.calls == []
    assert not SessionStore().exists("run-x")


# -- gap 2: a first call that never saved a conversation ---------------------------------------


def test_failed_first_gemini_call_does_not_break_the_session(
    fakes: FakeAgents, project: Path
) -> None:
    fakes.scenario([{"failure": "api_error"}, {"text": "second"}, {"text": "third"}])
    first = aio_run(project, "run-x", "hi", "--agent", "gemini")
    assert first.returncode == 1
    dead_id = records("run-x")[0]["agent_session_id"]
    assert dead_id  # the CLI printed it; it just never saved a resumable conversation
    second = aio_run(project, "run-x", "again", "--agent", "gemini", "--json")
    assert second.returncode == 0, second.stderr
    data = json.loads(second.stdout)
    assert data["text"] == "second" and data["session_action"] == "started"
    assert data["agent_session_id"] != dead_id
    assert f"conversation {dead_id} never completed a call" in second.stderr
    assert records("run-x")[1]["session_note"].startswith(f"conversation {dead_id}")
    third = aio_run(project, "run-x", "more", "--agent", "gemini", "--json")
    assert json.loads(third.stdout)["session_action"] == "resumed"
    assert json.loads(third.stdout)["agent_session_id"] == data["agent_session_id"]
    argvs = [c["argv"] for c in fakes.invocations("gemini")]
    assert argvs[1][argvs[1].index("--resume") + 1] == dead_id  # it did try to resume first


def test_failed_first_claude_call_resumes_the_saved_conversation(
    fakes: FakeAgents, project: Path
) -> None:
    # Claude saves the conversation before the API call fails: it must be resumed, not dropped.
    fakes.scenario([{"failure": "api_error"}, {"text": "second"}])
    assert aio_run(project, "run-x", "hi").returncode == 1
    sid = records("run-x")[0]["agent_session_id"]
    second = aio_run(project, "run-x", "again", "--json")
    assert second.returncode == 0, second.stderr
    data = json.loads(second.stdout)
    assert data["session_action"] == "resumed" and data["agent_session_id"] == sid
    assert "never completed" not in second.stderr


def test_a_confirmed_conversation_that_is_lost_is_still_reported(
    fakes: FakeAgents, project: Path
) -> None:
    fakes.scenario([{"text": "one"}, {"text": "two"}])
    assert aio_run(project, "run-x", "hi", "--agent", "gemini").returncode == 0
    for chat in (fakes.home / ".gemini").rglob("session-*.jsonl"):
        chat.unlink()  # Gemini's history was cleaned up
    lost = aio_run(project, "run-x", "again", "--agent", "gemini")
    assert lost.returncode == 1 and "--new-session" in lost.stderr
    assert records("run-x")[-1]["outcome"] == "error:session_lost"
    assert len(fakes.invocations("gemini")) == 2  # no silent fresh start


# -- issue 9: a failed Codex call never resets the thread's usage baseline -----------------------


def test_codex_failures_between_good_calls_record_exactly_what_was_served(
    fakes: FakeAgents, project: Path
) -> None:
    served = [
        {"gpt-5.5": {"input": 100, "output": 20, "cache_read": 50}},
        {"gpt-5.5": {"input": 200, "output": 40, "cache_read": 10}},
    ]
    fakes.scenario(
        [
            {"usage": served[0]},
            {"failure": {"kind": "crash", "before_start": True, "message": "bad config"}},
            {"failure": "api_error"},  # fails after thread.started
            {"usage": served[1]},
        ]
    )
    store = SessionStore()
    options = CallOptions(agent="codex", cwd=project, model="gpt-5.5")
    outcomes = [run_in_session(store, "run-x", "hi", options).result.outcome for _ in range(4)]
    assert outcomes == ["success", "crash", "api_error", "success"]
    tokens = store.load("run-x").summary.to_json()["tokens"]
    assert (tokens["input"], tokens["output"], tokens["cache_read"]) == (300, 60, 60)
    assert [r["tokens"]["input"] for r in records("run-x")] == [100, 0, 0, 200]


# -- gaps 3, 8, 9: what the user sees for a failure ---------------------------------------------


@pytest.mark.process  # the agent dies of a real SIGTERM
@pytest.mark.parametrize("agent", ["claude", "gemini", "codex"])
def test_a_signal_nobody_sent_is_a_crash_not_an_interrupt(
    fakes: FakeAgents, project: Path, agent: str
) -> None:
    fakes.scenario([{"failure": "sigterm"}])
    result = aio_run(project, "run-x", "hi", "--agent", agent)
    assert result.returncode == 1, result.stderr  # not 130: nobody pressed Ctrl-C
    [record] = records("run-x")
    assert record["outcome"] == "error:crash"
    assert record["error"].startswith("killed by signal 15 (SIGTERM)")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("aio: error: ")]


@pytest.mark.parametrize("agent", ["claude", "gemini", "codex"])
@pytest.mark.parametrize(
    ("failure", "code"),
    [
        ("api_error", 1),
        ("rate_limit", 1),
        ("crash", 1),
        ("budget", 3),
        pytest.param("hang", 124, marks=pytest.mark.process),  # the runner's timeout
    ],
)
def test_every_failure_ends_with_one_error_line_and_its_exit_code(
    fakes: FakeAgents, project: Path, agent: str, failure: str, code: int
) -> None:
    if failure == "budget" and agent != "claude":
        pytest.skip("only Claude stops itself at a budget")
    fakes.scenario([{"failure": {"kind": failure, "message": "first line\nsecond line"}}])
    result = aio_run(project, "run-x", "hi", "--agent", agent, "--timeout", "3")
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    [line] = error_lines(result.stderr)
    assert result.stderr.splitlines()[-1] == line  # the last line, and the only one
    assert line.startswith(f"aio: error: {agent} ")
    assert "warning: agent error" not in result.stderr
    if failure in ("api_error", "rate_limit", "crash"):  # the agent's two-line words: one line
        assert "first line" in line and "second line" in line, line


def test_gemini_stream_failures_name_the_streams_message(
    fakes: FakeAgents, project: Path
) -> None:
    fakes.scenario([{"failure": "stream_error"}, {"failure": "rate_limit"}])
    broken = aio_run(project, "run-x", "hi", "--agent", "gemini")
    assert broken.returncode == 1, broken.stderr
    assert error_lines(broken.stderr) == [
        "aio: error: gemini failed in session run-x (api_error): "
        "Model stream ended without a finish reason."
    ]
    quota = aio_run(project, "run-y", "hi", "--agent", "gemini")
    assert quota.returncode == 1, quota.stderr
    [line] = error_lines(quota.stderr)
    assert "(rate_limit): [API Error: Resource has been exhausted" in line
    assert line.endswith("switch to another /auth method")
    assert records("run-y")[0]["error"].count("\n") == 0


def test_a_lost_conversation_ends_with_one_error_line(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"text": "one"}, {"failure": "session_not_found"}])
    assert aio_run(project, "run-x", "hi", "--agent", "codex").returncode == 0
    lost = aio_run(project, "run-x", "again", "--agent", "codex")
    assert lost.returncode == 1, lost.stderr
    [line] = error_lines(lost.stderr)
    assert lost.stderr.splitlines()[-1] == line and "--new-session" in line


@pytest.mark.process  # the runner's timeout of a hanging agent
@pytest.mark.parametrize("agent", ["claude", "gemini", "codex"])
def test_timeout_message_says_timed_out(fakes: FakeAgents, project: Path, agent: str) -> None:
    fakes.scenario([{"failure": "hang"}])
    result = aio_run(project, "run-x", "hi", "--agent", agent, "--timeout", "2")
    assert result.returncode == 124
    assert records("run-x")[0]["error"] == "timed out after 2 s"
    assert "timed out after 2 s" in result.stderr


# -- gap 11: where a resumed conversation runs ---------------------------------------------------


def test_resume_in_the_stored_directory_is_announced(
    fakes: FakeAgents, project: Path, tmp_path: Path
) -> None:
    fakes.scenario([{"text": "one"}, {"text": "two"}, {"text": "three"}])
    assert aio_run(project, "run-x", "hi").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = aio_run(elsewhere, "run-x", "again", "--json")
    assert f"(running in {project}, where this conversation was started)" in moved.stderr
    assert json.loads(moved.stdout)["cwd"] == str(project)
    same = aio_run(project, "run-x", "more")
    assert "running in" not in same.stderr
    notices: list[Notice] = []
    run_in_session(
        SessionStore(),
        "run-x",
        "lib",
        CallOptions(agent="claude", cwd=elsewhere),
        on_notice=notices.append,
    )
    assert [n.text for n in notices] == [
        f"(running in {project}, where this conversation was started)"
    ]

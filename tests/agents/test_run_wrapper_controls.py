"""The wrapper's controls of ``aio run``, end to end with the fake agent CLIs: the agent's own
exit code, usage the agent never reported (unknown, never 0 tokens/$0), ``--resume ID`` /
``--continue`` checked against the store, and the ``AIO_DEBUG=1`` launch trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.store import SessionStore
from tests.fakes.harness import FakeAgents, aio_run
from tests.helpers import aio_inprocess, as_record

SONNET = "claude-sonnet-4-5-20250929"


def records(name: str) -> list[dict[str, Any]]:
    return [r.to_json() for r in SessionStore().read_log(name).records]


def test_agent_exit_code_in_json_and_record(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"agent": "gemini", "failure": {"kind": "error", "exit_code": 52}}])
    result = aio_run(project, "run-x", "hi", "--agent", "gemini", "--json")
    assert result.returncode == 1, result.stderr  # aio's own code follows the outcome table
    data = json.loads(result.stdout)
    assert data["exit_code"] == 52 and data["ok"] is False
    [record] = records("run-x")
    assert record["exit_code"] == 52


def test_success_exit_code_zero_in_record(fakes: FakeAgents, project: Path) -> None:
    result = aio_run(project, "run-x", "hi", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["exit_code"] == 0
    [record] = records("run-x")
    assert record["exit_code"] == 0 and "usage_unknown" not in record


@pytest.mark.parametrize("agent", ["claude", "gemini", "codex"])
def test_no_usage_reported_is_unknown_not_zero(
    fakes: FakeAgents, project: Path, agent: str
) -> None:
    fakes.scenario([{"agent": agent, "failure": {"kind": "crash", "after_requests": 0}}])
    result = aio_run(project, "run-x", "hi", "--agent", agent, "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["usage_unknown"] is True
    assert data["cost"] is None and data["tokens"] is None  # never 0 tokens / $0
    assert data["cost_source"] == "unpriced"
    assert "usage unknown" in result.stderr and "0 in /" not in result.stderr
    [record] = records("run-x")
    assert record["usage_unknown"] is True and record["cost_source"] == "unpriced"

    shown = aio_inprocess("session", "show", "run-x")
    assert shown.code == 0, shown.err
    assert "unknown" in shown.out and "0/0" not in shown.out

    listed = aio_inprocess("session", "show", "run-x", "--json")
    assert listed.code == 0
    assert "unpriced" in listed.out


def test_budget_notice_for_unknown_usage(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"agent": "gemini", "failure": {"kind": "crash"}}])
    result = aio_run(project, "implement-x", "hi", "--agent", "gemini", "--max-cost", "5")
    assert result.returncode == 1
    assert "gemini reported no usage: tokens and cost unknown" in result.stderr
    assert "counts as $0 toward the budget" in result.stderr


@pytest.mark.process  # the runner's launch of a file that cannot run
def test_launch_failure_is_known_zero_not_unknown(
    fakes: FakeAgents, project: Path, tmp_path: Path
) -> None:
    garbage = tmp_path / "not-a-program"
    garbage.write_bytes(b"\x7fELF\x00garbage")  # exec() fails after the run lock is taken
    garbage.chmod(0o755)
    result = aio_run(project, "run-x", "hi", env={"AIO_AGENT_CLAUDE_EXECUTABLE": str(garbage)})
    assert result.returncode == 1
    [record] = records("run-x")  # nothing ran: nothing was spent, and that is known
    assert record["outcome"] == "error:crash" and not record.get("usage_unknown")


def one_line_refusal(result: Any, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aio: error:"), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def resumed_ids(fakes: FakeAgents) -> list[str | None]:
    """The id each claude invocation resumed (None: it started a new conversation)."""
    found: list[str | None] = []
    for call in fakes.invocations("claude"):
        given = [a.split("=", 1)[1] for a in call["argv"] if a.startswith("--resume=")]
        found.append(given[0] if given else None)
    return found


def test_continue_with_nothing_stored_is_refused(fakes: FakeAgents, project: Path) -> None:
    result = aio_run(project, "run-x", "hi", "--continue")
    one_line_refusal(result, "--continue: session run-x has no agent conversation to continue")
    assert fakes.invocations("claude") == []
    assert not SessionStore().exists("run-x")  # nothing created for a refused call


def test_resume_an_earlier_conversation_then_continue_it(
    fakes: FakeAgents, project: Path
) -> None:
    assert aio_run(project, "run-x", "one").returncode == 0
    assert aio_run(project, "run-x", "two", "--new-session").returncode == 0
    first, second = (r["agent_session_id"] for r in records("run-x"))
    assert first != second

    back = aio_run(project, "run-x", "three", "--resume", first, "--json")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["agent_session_id"] == first
    assert SessionStore().load("run-x").summary.to_json()["agent_session_id"] == first

    again = aio_run(project, "run-x", "four", "--continue", env={"USE_SESSIONS": "false"})
    assert again.returncode == 0, again.stderr  # explicit: resumes even with sessions off
    assert resumed_ids(fakes) == [None, None, first, first]
    assert [r["session_action"] for r in records("run-x")] == [
        "started",
        "replaced",
        "resumed",
        "resumed",
    ]


def test_resume_an_id_the_session_never_had_is_refused(
    fakes: FakeAgents, project: Path
) -> None:
    assert aio_run(project, "run-x", "one").returncode == 0
    assert aio_run(project, "run-other", "one").returncode == 0
    theirs = records("run-other")[0]["agent_session_id"]
    mine = records("run-x")[0]["agent_session_id"]
    for wanted in (theirs, "0b8a9c1e-0000-4000-8000-000000000000"):
        result = aio_run(project, "run-x", "hi", "--resume", wanted)
        one_line_refusal(result, f"--resume {wanted}", "not a conversation of session run-x", mine)
    assert len(fakes.invocations("claude")) == 2  # no agent was started for a refusal
    assert len(records("run-x")) == 1


def test_explicit_resume_of_another_agents_conversation_is_refused(
    fakes: FakeAgents, project: Path
) -> None:
    assert aio_run(project, "run-x", "one").returncode == 0
    result = aio_run(project, "run-x", "hi", "--continue", "--agent", "gemini")
    one_line_refusal(result, "claude conversation, not gemini", "--agent claude")
    assert fakes.invocations("gemini") == []


@pytest.mark.parametrize(
    "flags",
    [
        ["--continue", "--new-session"],
        ["--continue", "--no-session"],
        ["--resume", "abc", "--continue"],
        ["--resume", "abc", "--new-session"],
    ],
)
def test_conflicting_conversation_flags(fakes: FakeAgents, project: Path, flags: list[str]) -> None:
    one_line_refusal(aio_run(project, "run-x", "hi", *flags), "cannot be combined")


def test_resume_id_must_be_an_id(fakes: FakeAgents, project: Path) -> None:
    one_line_refusal(aio_run(project, "run-x", "hi", "--resume", "../etc"), "--resume")


def test_debug_trace_shows_argv_and_env_names_never_secret_values(
    fakes: FakeAgents, project: Path
) -> None:
    api_key = "sk-ant-api03-" + "Zx9" * 30  # a well-formed Anthropic key
    token = "plain-looking-value-4711"  # no known format: hidden because of its name
    env = {
        "AIO_DEBUG": "1",
        "ANTHROPIC_API_KEY": api_key,
        "MY_SERVICE_TOKEN": token,
        "CLAUDECODE": "1",  # aio removes it for the agent
        "AIO_AGENT_CLAUDE_EXTRA_ARGS": f"--append-system-prompt {token}",
    }
    result = aio_run(project, "run-x", "the prompt text", env=env)
    assert result.returncode == 0, result.stderr
    [line] = [x for x in result.stderr.splitlines() if x.startswith("aio: debug: launch: ")]
    assert " -p " in line and "--append-system-prompt" in line
    assert "[REDACTED:$MY_SERVICE_TOKEN]" in line
    assert "env removed: CLAUDECODE" in line
    passed = line.split("env passed through: ", 1)[1].split(", ")
    assert "ANTHROPIC_API_KEY" in passed and "MY_SERVICE_TOKEN" in passed
    assert api_key not in result.stderr and api_key[:20] not in result.stderr
    assert token not in result.stderr
    assert "the prompt text" not in line  # the prompt goes on stdin, not in the trace
    # the agent did get what the trace names
    [call] = fakes.invocations("claude")
    assert token in call["argv"] and "CLAUDECODE" not in call["env"]


def test_no_trace_without_debug(fakes: FakeAgents, project: Path) -> None:
    result = aio_run(project, "run-x", "hi", env={"AIO_DEBUG": ""})  # the helper sets it
    assert result.returncode == 0 and "aio: debug:" not in result.stderr


def test_a_record_without_exit_code_or_usage_unknown_still_loads(session_dir: Path) -> None:
    from tests.helpers import interaction

    older = interaction()  # what earlier versions wrote: neither field
    older.pop("exit_code", None)
    SessionStore().record(as_record("run-old", older))
    [record] = records("run-old")
    assert record["exit_code"] is None and "usage_unknown" not in record
    shown = aio_inprocess("session", "show", "run-old")
    assert shown.code == 0 and "unknown" not in shown.out

"""The fake agent CLIs obey the real contracts (agent-clis.md §8.2) they stand in for.

These tests pin the behaviours other tests rely on: if a fake drifted (e.g. stopped refusing
stream-json without ``--verbose``), adapter tests would pass against a lie.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.base import AgentResult, Invocation, ProcessExit, Progress
from ai_orchestrator.agents.process.runner import run
from tests.fakes.harness import BIN_DIR, FakeAgents, json_lines, pid_alive

pytestmark = pytest.mark.process  # the fake CLIs' own contracts, as processes

CLAUDE_STREAM = ("-p", "--output-format", "stream-json", "--verbose")
SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"
SID = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def fakes(tmp_path: Path) -> FakeAgents:
    return FakeAgents(tmp_path / "fakes")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


def by_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") == kind]


# -- shared machinery ----------------------------------------------------------------------


def test_wrappers_on_path_run_the_fakes(fakes: FakeAgents, project: Path) -> None:
    for agent, expected in (("claude", "(Claude Code)"), ("gemini", "0.61.0"), ("codex", "codex")):
        assert (BIN_DIR / agent).stat().st_mode & 0o111
        proc = subprocess.run(
            [agent, "--version"],
            env=fakes.full_env(),
            cwd=project,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        assert proc.returncode == 0 and expected in proc.stdout


def test_log_records_argv_cwd_stdin_and_selected_env(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"text": "hi"}])
    proc = fakes.run(
        "claude",
        *CLAUDE_STREAM,
        f"--session-id={SID}",
        cwd=project,
        stdin="the prompt ünïcode",
        env={"CLAUDE_CODE_ENTRYPOINT": "sdk-py", "ANTHROPIC_API_KEY": "sk-secret"},
    )
    assert proc.returncode == 0, proc.stderr
    [call] = fakes.invocations("claude")
    assert call["argv"] == [*CLAUDE_STREAM, f"--session-id={SID}"]
    assert Path(call["cwd"]) == project.resolve()
    assert call["stdin"] == "the prompt ünïcode" and call["prompt"] == "the prompt ünïcode"
    assert call["env"]["CLAUDE_CODE_ENTRYPOINT"] == "sdk-py"
    assert call["env"]["ANTHROPIC_API_KEY"] == "<set>"  # presence only, never the secret
    assert "CLAUDECODE" not in call["env"]
    assert call["exit_code"] == 0 and call["result"]["turn"] == 0


def test_turns_are_consumed_in_order_across_clis_and_checked(
    fakes: FakeAgents, project: Path
) -> None:
    fakes.scenario([{"agent": "claude", "text": "one"}, {"agent": "codex", "text": "two"}])
    first = fakes.run("claude", "-p", "--output-format", "json", cwd=project, stdin="a")
    assert json.loads(first.stdout)["result"] == "one"
    wrong = fakes.run("claude", "-p", "--output-format", "json", cwd=project, stdin="b")
    assert wrong.returncode == 97 and "meant for codex" in wrong.stderr
    codex = fakes.run("codex", "exec", "--skip-git-repo-check", "-", cwd=project, stdin="c")
    assert codex.stdout.strip() == "two"


def test_ids_are_deterministic_for_a_seed(tmp_path: Path) -> None:
    ids = []
    for name in ("a", "b"):
        world = FakeAgents(tmp_path / name)
        world.scenario([{"text": "x"}], seed=42)
        cwd = tmp_path / name / "p"
        cwd.mkdir()
        proc = world.run("claude", "-p", "--output-format", "json", cwd=cwd, stdin="go")
        ids.append(json.loads(proc.stdout)["session_id"])
    assert ids[0] == ids[1]


def test_edits_stay_inside_the_working_directory(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"edits": [{"path": "../escape.txt", "content": "x"}]}])
    proc = fakes.run("claude", "-p", "--permission-mode", "acceptEdits", cwd=project, stdin="edit")
    assert proc.returncode == 98
    assert not (project.parent / "escape.txt").exists()


# -- claude --------------------------------------------------------------------------------


def test_claude_stream_json_requires_verbose_and_consumes_no_turn(
    fakes: FakeAgents, project: Path
) -> None:
    fakes.scenario([{"text": "first turn"}])
    bad = fakes.run("claude", "-p", "--output-format", "stream-json", cwd=project, stdin="x")
    assert bad.returncode == 1 and bad.stdout == ""
    assert "requires --verbose" in bad.stderr
    good = fakes.run("claude", *CLAUDE_STREAM, cwd=project, stdin="x")
    assert json_lines(good.stdout)[-1]["result"] == "first turn"


def test_claude_stream_shape_usage_and_transcript(fakes: FakeAgents, project: Path) -> None:
    usage = {
        SONNET: {"input": 30, "output": 90, "cache_read": 300, "cache_write_5m": 60},
        HAIKU: {"input": 1000, "output": 10},
    }
    fakes.scenario(
        [
            {
                "text": "done",
                "thinking": "hmm",
                "preamble": "Writing",
                "todos": [{"content": "write a", "status": "in_progress"}],
                "edits": [{"path": "src/a.py", "content": "A = 1\n"}],
                "usage": usage,
            }
        ]
    )
    proc = fakes.run(
        "claude",
        *CLAUDE_STREAM,
        f"--session-id={SID}",
        "--permission-mode=acceptEdits",
        cwd=project,
        stdin="build it",
    )
    assert proc.returncode == 0, proc.stderr
    events = json_lines(proc.stdout)
    assert events[0]["type"] == "system" and events[0]["subtype"] == "init"
    assert events[0]["session_id"] == SID and events[-1]["type"] == "result"
    assistants = by_type(events, "assistant")
    first_id = assistants[0]["message"]["id"]
    first_message = [a for a in assistants if a["message"]["id"] == first_id]
    assert [a["message"]["content"][0]["type"] for a in first_message] == [
        "thinking",
        "text",
        "tool_use",
    ]
    outputs = [a["message"]["usage"]["output_tokens"] for a in first_message]
    assert outputs[0] < outputs[1] == outputs[2]  # snapshot copy first, then the final count
    same = [{**a["message"]["usage"], "output_tokens": 0} for a in first_message]
    assert same[0] == same[1] == same[2]
    assert len({a["request_id"] for a in first_message}) == 1
    tool_uses = [
        a["message"]["content"][0]
        for a in assistants
        if a["message"]["content"][0]["type"] == "tool_use"
    ]
    assert [t["name"] for t in tool_uses] == ["TodoWrite", "Write"]
    assert len(by_type(events, "user")) == 2  # one tool_result per tool_use
    result = events[-1]
    assert result["subtype"] == "success" and result["is_error"] is False
    assert result["result"] == "done" and result["session_id"] == SID
    assert set(result["modelUsage"]) == {SONNET, HAIKU}
    assert result["usage"]["input_tokens"] == 30
    assert result["usage"]["cache_creation"]["ephemeral_5m_input_tokens"] == 60
    assert result["modelUsage"][SONNET]["outputTokens"] == 90
    costs = sum(m["costUSD"] for m in result["modelUsage"].values())
    assert result["total_cost_usd"] == pytest.approx(costs)
    # Deduplicated by message id, the stream lines sum to the scenario's main-model usage.
    final = {a["message"]["id"]: a["message"]["usage"] for a in assistants}
    assert sum(u["output_tokens"] for u in final.values()) == 90
    assert sum(u["cache_read_input_tokens"] for u in final.values()) == 300
    assert (project / "src" / "a.py").read_text() == "A = 1\n"
    transcript = (
        fakes.home
        / ".claude"
        / "projects"
        / re.sub(r"[^A-Za-z0-9]", "-", str(project.resolve()))
        / f"{SID}.jsonl"
    )
    lines = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert {line["sessionId"] for line in lines} == {SID}
    assert all(line.get("requestId") for line in lines if line["type"] == "assistant")
    todos = fakes.home / ".claude" / "todos" / f"{SID}-agent-{SID}.json"
    assert json.loads(todos.read_text())[0]["content"] == "write a"


def test_claude_session_id_in_use_and_resume_keeps_the_id(
    fakes: FakeAgents, project: Path, tmp_path: Path
) -> None:
    fakes.scenario([{"text": "one"}, {"text": "two"}, {"text": "three"}])
    assert (
        fakes.run(
            "claude", *CLAUDE_STREAM, f"--session-id={SID}", cwd=project, stdin="1"
        ).returncode
        == 0
    )
    again = fakes.run("claude", *CLAUDE_STREAM, f"--session-id={SID}", cwd=project, stdin="2")
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.strip() == f"Error: Session ID {SID} is already in use."
    resumed = fakes.run("claude", *CLAUDE_STREAM, "--resume", SID, cwd=project, stdin="2")
    events = json_lines(resumed.stdout)
    assert events[0]["session_id"] == events[-1]["session_id"] == SID
    assert events[-1]["result"] == "two"  # the failed call consumed no turn
    other_cwd = tmp_path / "elsewhere"
    other_cwd.mkdir()
    lost = fakes.run("claude", *CLAUDE_STREAM, f"--resume={SID}", cwd=other_cwd, stdin="3")
    assert lost.returncode == 1
    assert f"No conversation found with session ID: {SID}" in lost.stderr
    [line] = json_lines(lost.stdout)
    assert line["subtype"] == "error_during_execution" and line["is_error"] is True
    mixed = fakes.run(
        "claude", *CLAUDE_STREAM, f"--session-id={SID}", f"--resume={SID}", cwd=project, stdin="4"
    )
    assert mixed.returncode == 1 and "--fork-session" in mixed.stderr


def test_claude_legacy_resume_mints_a_new_id_with_copied_history(
    fakes: FakeAgents, project: Path
) -> None:
    fakes.scenario([{"text": "one"}, {"text": "two", "resume_mode": "legacy"}])
    fakes.run("claude", *CLAUDE_STREAM, f"--session-id={SID}", cwd=project, stdin="1")
    proc = fakes.run("claude", *CLAUDE_STREAM, f"--resume={SID}", cwd=project, stdin="2")
    new_id = json_lines(proc.stdout)[-1]["session_id"]
    assert new_id != SID
    project_dir = next((fakes.home / ".claude" / "projects").iterdir())
    old, new = (project_dir / f"{SID}.jsonl"), (project_dir / f"{new_id}.jsonl")
    old_lines = old.read_text().splitlines()
    new_records = [json.loads(line) for line in new.read_text().splitlines()]
    assert [r["uuid"] for r in new_records[: len(old_lines)]] == [
        json.loads(line)["uuid"] for line in old_lines
    ]
    assert {r["sessionId"] for r in new_records} == {new_id}


def test_claude_permissions_decide_whether_edits_happen(fakes: FakeAgents, project: Path) -> None:
    edit = {"edits": [{"path": "f.txt", "content": "x"}]}
    fakes.scenario([edit, edit])
    denied = fakes.run("claude", "-p", "--output-format", "json", cwd=project, stdin="go")
    result = json.loads(denied.stdout)
    assert denied.returncode == 0 and result["subtype"] == "success"
    assert [d["tool_name"] for d in result["permission_denials"]] == ["Write"]
    assert not (project / "f.txt").exists()
    allowed = fakes.run(
        "claude",
        "-p",
        "--output-format",
        "json",
        "--allowedTools",
        "Bash(git diff:*),Write",
        cwd=project,
        stdin="go",
    )
    assert json.loads(allowed.stdout)["permission_denials"] == []
    assert (project / "f.txt").read_text() == "x"


@pytest.mark.parametrize(
    ("failure", "subtype", "check"),
    [
        ("api_error", "success", lambda r: r["total_cost_usd"] == 0 and r["api_error_status"]),
        ("auth", "success", lambda r: "API key" in r["result"]),
        ("max_turns", "error_max_turns", lambda r: "maximum number of turns" in r["errors"][0]),
        ("budget", "error_max_budget_usd", lambda r: r["terminal_reason"] == "budget_exhausted"),
        ("error", "error_during_execution", lambda r: r["errors"]),
    ],
)
def test_claude_error_results_exit_1(
    fakes: FakeAgents, project: Path, failure: str, subtype: str, check: Any
) -> None:
    fakes.scenario([{"failure": failure, "tools": [{"name": "Read", "input": {}}]}])
    proc = fakes.run("claude", *CLAUDE_STREAM, cwd=project, stdin="go")
    result = json_lines(proc.stdout)[-1]
    assert proc.returncode == 1
    assert result["type"] == "result" and result["is_error"] is True
    assert result["subtype"] == subtype and check(result)


def test_claude_limits_stop_before_the_tool_runs(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"failure": "budget", "edits": [{"path": "b.txt", "content": "b"}]}])
    proc = fakes.run(
        "claude",
        *CLAUDE_STREAM,
        "--max-budget-usd",
        "0.5",
        "--permission-mode",
        "acceptEdits",
        cwd=project,
        stdin="go",
    )
    events = json_lines(proc.stdout)
    assert [e["type"] for e in events] == ["system", "assistant", "result"]
    assert events[-1]["errors"] == ["Reached maximum budget ($0.5)"]
    assert events[-1]["usage"]["output_tokens"] == 25  # half of the default 50: one request
    assert not (project / "b.txt").exists()


def test_claude_process_failures(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario(
        [{"failure": "crash", "noise": ["mise WARN tools: claude@2.1.240"]}, {"failure": "sigterm"}]
    )
    crash = fakes.run("claude", *CLAUDE_STREAM, cwd=project, stdin="go")
    assert crash.returncode == 1
    assert crash.stdout.splitlines()[0] == "mise WARN tools: claude@2.1.240"
    events = json_lines(crash.stdout)
    assert events and not by_type(events, "result")  # partial stream, no result
    term = fakes.run("claude", *CLAUDE_STREAM, cwd=project, stdin="go")
    assert term.returncode == -signal.SIGTERM  # i.e. 143 as a shell/runner reports it
    assert not by_type(json_lines(term.stdout), "result")


def test_claude_restored_cost_mode_includes_the_earlier_total(
    fakes: FakeAgents, project: Path
) -> None:
    usage = {"usage": {SONNET: {"input": 1000, "output": 1000}}}
    fakes.scenario([usage, usage], claude={"cost_mode": "restored_on_resume"})
    first = fakes.run("claude", *CLAUDE_STREAM, f"--session-id={SID}", cwd=project, stdin="1")
    second = fakes.run("claude", *CLAUDE_STREAM, f"--resume={SID}", cwd=project, stdin="2")
    init, one = json_lines(first.stdout)[0], json_lines(first.stdout)[-1]
    two = json_lines(second.stdout)[-1]
    assert init["claude_code_version"] >= "2.1.277"
    assert two["total_cost_usd"] == pytest.approx(2 * one["total_cost_usd"])
    assert two["modelUsage"][SONNET]["costUSD"] == pytest.approx(one["total_cost_usd"])


def test_claude_json_and_text_formats(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"text": "plain"}, {"text": "arr"}, {"text": "txt"}])
    single = fakes.run("claude", "-p", "--output-format", "json", cwd=project, stdin="x")
    assert json.loads(single.stdout)["type"] == "result"
    array = fakes.run(
        "claude", "-p", "--output-format", "json", "--verbose", cwd=project, stdin="x"
    )
    messages = json.loads(array.stdout)
    assert isinstance(messages, list) and messages[-1]["result"] == "arr"
    text = fakes.run("claude", "-p", cwd=project, stdin="x")
    assert text.stdout == "txt\n"


def test_claude_stream_json_input_emits_one_result_per_message(
    fakes: FakeAgents, project: Path
) -> None:
    usage = {"usage": {SONNET: {"input": 1000, "output": 0}}}
    fakes.scenario([dict(usage, text="a"), dict(usage, text="b")])
    messages = "".join(
        json.dumps({"type": "user", "message": {"role": "user", "content": text}}) + "\n"
        for text in ("first", "second")
    )
    proc = fakes.run(
        "claude", *CLAUDE_STREAM, "--input-format", "stream-json", cwd=project, stdin=messages
    )
    results = by_type(json_lines(proc.stdout), "result")
    assert [r["result"] for r in results] == ["a", "b"]
    assert results[1]["total_cost_usd"] == pytest.approx(2 * results[0]["total_cost_usd"])
    assert len(by_type(json_lines(proc.stdout), "system")) == 1


def test_concurrent_resumes_of_one_session_are_not_refused(
    fakes: FakeAgents, project: Path
) -> None:
    fakes.scenario([{"text": "start"}] + [{"text": f"t{i}", "delay": 0.3} for i in range(4)])
    assert (
        fakes.run(
            "claude", *CLAUDE_STREAM, f"--session-id={SID}", cwd=project, stdin="s"
        ).returncode
        == 0
    )
    results: list[subprocess.CompletedProcess[str]] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                fakes.run("claude", *CLAUDE_STREAM, f"--resume={SID}", cwd=project, stdin="r")
            )
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0, 0, 0]
    answers = sorted(json_lines(r.stdout)[-1]["result"] for r in results)
    assert answers == ["t0", "t1", "t2", "t3"]  # each got its own turn


# -- gemini --------------------------------------------------------------------------------

GEMINI_ENV = {"GEMINI_CLI_TRUST_WORKSPACE": "true"}


def test_gemini_json_stats_and_stream_json(fakes: FakeAgents, project: Path) -> None:
    usage = {
        "gemini-2.5-pro": {"input": 40, "cache_read": 60, "output": 30, "reasoning": 10},
        "gemini-2.5-flash-lite": {"input": 5, "output": 1, "role": "utility_router"},
    }
    fakes.scenario([{"text": "answer", "usage": usage}, {"text": "again", "usage": usage}])
    proc = fakes.run("gemini", "-o", "json", cwd=project, stdin="q", env=GEMINI_ENV)
    assert proc.returncode == 0 and "Loaded cached credentials." in proc.stderr
    assert proc.stdout.startswith("{\n  ")  # pretty-printed, multi-line
    document = json.loads(proc.stdout)
    tokens = document["stats"]["models"]["gemini-2.5-pro"]["tokens"]
    assert tokens == {
        "input": 40,
        "prompt": 100,
        "candidates": 20,
        "total": 130,
        "cached": 60,
        "thoughts": 10,
        "tool": 0,
    }
    assert "utility_router" in document["stats"]["models"]["gemini-2.5-flash-lite"]["roles"]
    stream = fakes.run(
        "gemini",
        "-o",
        "stream-json",
        "-r",
        document["session_id"],
        cwd=project,
        stdin="q",
        env=GEMINI_ENV,
    )
    events = json_lines(stream.stdout)
    assert events[0]["type"] == "init"
    assert events[0]["session_id"] == document["session_id"]  # resume keeps the id
    stats = events[-1]["stats"]["models"]["gemini-2.5-pro"]
    assert events[-1]["status"] == "success" and stats["output_tokens"] == 20  # no thoughts


def test_gemini_sessions_are_cwd_scoped_and_ids_unique(
    fakes: FakeAgents, project: Path, tmp_path: Path
) -> None:
    fakes.scenario([{"text": "one"}, {"text": "two"}])
    sid = "my-session_1"
    first = fakes.run(
        "gemini", "-o", "json", "--session-id", sid, cwd=project, stdin="q", env=GEMINI_ENV
    )
    assert json.loads(first.stdout)["session_id"] == sid
    dup = fakes.run(
        "gemini", "-o", "json", "--session-id", sid, cwd=project, stdin="q", env=GEMINI_ENV
    )
    assert dup.returncode == 42 and dup.stdout == "" and "already exists" in dup.stderr
    both = fakes.run(
        "gemini",
        "-o",
        "json",
        "-r",
        sid,
        "--session-id",
        "x",
        cwd=project,
        stdin="q",
        env=GEMINI_ENV,
    )
    assert both.returncode == 42
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    lost = fakes.run(
        "gemini", "-o", "stream-json", "-r", sid, cwd=elsewhere, stdin="q", env=GEMINI_ENV
    )
    assert lost.returncode == 42 and lost.stdout == ""
    latest = fakes.run(
        "gemini", "-o", "json", "-r", "latest", cwd=project, stdin="q", env=GEMINI_ENV
    )
    assert json.loads(latest.stdout)["session_id"] == sid
    [chat] = (fakes.home / ".gemini" / "tmp").glob("*/chats/session-*.jsonl")
    headers = [json.loads(x) for x in chat.read_text().splitlines() if '"kind"' in x]
    assert len(headers) == 2 and {h["sessionId"] for h in headers} == {sid}


@pytest.mark.parametrize(
    ("failure", "code", "error_type"),
    [
        ("max_turns", 53, "FatalTurnLimitedError"),
        ("auth", 41, "FatalAuthenticationError"),
        ({"kind": "error", "exit_code": 54}, 54, "FatalToolExecutionError"),
        ({"kind": "api_error", "status": 500}, 244, "Error"),
    ],
)
def test_gemini_errors_go_to_stderr_with_their_exit_code(
    fakes: FakeAgents, project: Path, failure: Any, code: int, error_type: str
) -> None:
    fakes.scenario([{"failure": failure}, {"failure": failure}])
    proc = fakes.run("gemini", "-o", "json", cwd=project, stdin="q", env=GEMINI_ENV)
    assert proc.returncode == code and proc.stdout == ""
    payload = proc.stderr.split("[ERROR] ", 1)[1]
    error = json.loads(payload)["error"]
    assert error["type"] == error_type
    stream = fakes.run("gemini", "-o", "stream-json", cwd=project, stdin="q", env=GEMINI_ENV)
    last = json_lines(stream.stdout)[-1]
    assert stream.returncode == code
    assert last["type"] == "result" and last["status"] == "error"


def test_gemini_trust_and_approval_mode(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"edits": [{"path": "g.txt", "content": "g"}]}] * 2)
    untrusted = fakes.run(
        "gemini", "-o", "json", cwd=project, stdin="q", env={"GEMINI_CLI_TRUST_WORKSPACE": ""}
    )
    assert untrusted.returncode == 55
    default = fakes.run("gemini", "-o", "stream-json", cwd=project, stdin="q", env=GEMINI_ENV)
    [result] = by_type(json_lines(default.stdout), "tool_result")
    assert result["status"] == "error" and not (project / "g.txt").exists()
    fakes.run(
        "gemini",
        "-o",
        "json",
        "--approval-mode",
        "auto_edit",
        cwd=project,
        stdin="q",
        env=GEMINI_ENV,
    )
    assert (project / "g.txt").read_text() == "g"


# -- codex ---------------------------------------------------------------------------------

CODEX = ("exec", "--json", "--skip-git-repo-check")


def test_codex_usage_is_cumulative_across_resume_and_id_kept(
    fakes: FakeAgents, project: Path, tmp_path: Path
) -> None:
    usage = {
        "usage": {"gpt-5-codex": {"input": 100, "cache_read": 50, "output": 20, "reasoning": 5}}
    }
    fakes.scenario([usage, usage, usage])
    first = json_lines(fakes.run("codex", *CODEX, "-", cwd=project, stdin="a").stdout)
    assert [e["type"] for e in first] == [
        "thread.started",
        "turn.started",
        "item.completed",
        "turn.completed",
    ]
    thread = first[0]["thread_id"]
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-7", thread)
    elsewhere = tmp_path / "other"  # codex resume is not cwd-scoped
    elsewhere.mkdir()
    second = json_lines(
        fakes.run("codex", *CODEX, "resume", thread, "-", cwd=elsewhere, stdin="b").stdout
    )
    third = json_lines(
        fakes.run(
            "codex",
            "exec",
            "resume",
            "--json",
            "--skip-git-repo-check",
            "--last",
            "-",
            cwd=project,
            stdin="c",
        ).stdout
    )
    assert second[0]["thread_id"] == third[0]["thread_id"] == thread
    totals = [run[-1]["usage"] for run in (first, second, third)]
    assert [t["input_tokens"] for t in totals] == [150, 300, 450]
    assert [t["cached_input_tokens"] for t in totals] == [50, 100, 150]
    assert [t["output_tokens"] for t in totals] == [20, 40, 60]
    assert [t["reasoning_output_tokens"] for t in totals] == [5, 10, 15]


def test_codex_unknown_resume_and_git_check_consume_no_turn(
    fakes: FakeAgents, project: Path
) -> None:
    fakes.scenario([{"text": "kept"}])
    lost = fakes.run(
        "codex",
        *CODEX,
        "resume",
        "0199a213-81c0-7800-8aa1-bbab2a035a53",
        "-",
        cwd=project,
        stdin="x",
    )
    assert lost.returncode == 1
    assert "no rollout found for thread id 0199a213-81c0-7800-8aa1-bbab2a035a53" in lost.stderr
    no_git = fakes.run("codex", "exec", "--json", "-", cwd=project, stdin="x")
    assert no_git.returncode == 1 and "--skip-git-repo-check" in no_git.stderr
    (project / ".git").mkdir()
    ok = fakes.run("codex", "exec", "--json", "-", cwd=project, stdin="x")
    assert by_type(json_lines(ok.stdout), "item.completed")[-1]["item"]["text"] == "kept"
    assert "Reading prompt from stdin..." in ok.stderr


def test_codex_rollout_sandbox_and_failures(fakes: FakeAgents, project: Path) -> None:
    edit = {"edits": [{"path": "c.txt", "content": "c"}]}
    fakes.scenario([edit, dict(edit, transient_errors=2), {"failure": "error"}, {"text": "e"}])
    read_only = json_lines(fakes.run("codex", *CODEX, "-", cwd=project, stdin="1").stdout)
    change = [
        e["item"]
        for e in by_type(read_only, "item.completed")
        if e["item"]["type"] == "file_change"
    ]
    assert change[0]["status"] == "failed" and not (project / "c.txt").exists()
    writable = fakes.run(
        "codex", *CODEX, "--sandbox", "workspace-write", "-", cwd=project, stdin="2"
    )
    events = json_lines(writable.stdout)
    assert writable.returncode == 0 and (project / "c.txt").read_text() == "c"
    assert [e["message"] for e in by_type(events, "error")] == [
        "Reconnecting... 1/5",
        "Reconnecting... 2/5",
    ]
    failed = fakes.run("codex", *CODEX, "-", cwd=project, stdin="3")
    assert failed.returncode == 1 and by_type(json_lines(failed.stdout), "turn.failed")
    rollouts = list((fakes.home / ".codex" / "sessions").glob("*/*/*/rollout-*.jsonl"))
    assert len(rollouts) == 2  # the failed turn never completed: no rollout for it
    ephemeral = json_lines(
        fakes.run("codex", *CODEX, "--ephemeral", "-", cwd=project, stdin="4").stdout
    )
    assert ephemeral[-1]["type"] == "turn.completed"
    assert len(list((fakes.home / ".codex" / "sessions").glob("*/*/*/*.jsonl"))) == 2
    bad = fakes.run("codex", *CODEX, "--sandbox", "everything", "-", cwd=project, stdin="5")
    assert bad.returncode == 2


# -- with the real runner ------------------------------------------------------------------


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.exit: ProcessExit | None = None

    def feed(self, line: str) -> Progress | None:
        self.lines.append(line)
        return None

    def finish(self, exit: ProcessExit) -> AgentResult:
        self.exit = exit
        return AgentResult(agent="fake", outcome="success")


@pytest.mark.skipif(sys.platform != "linux", reason="uses /proc")
def test_runner_kills_a_hanging_fake_and_its_background_child(
    fakes: FakeAgents, project: Path
) -> None:
    fakes.scenario([{"failure": {"kind": "hang", "ignore_term": True}, "background_seconds": 120}])
    invocation = Invocation(
        argv=[fakes.executable("claude"), *CLAUDE_STREAM],
        cwd=project,
        stdin=b"hang please",
        env=fakes.env,
    )
    parser = _Lines()
    started = time.monotonic()
    run(invocation, parser, timeout=5, kill_grace=1)
    assert time.monotonic() - started < 60
    assert parser.exit is not None and parser.exit.timed_out
    assert parser.exit.exit_code == 128 + signal.SIGKILL
    assert json.loads(parser.lines[0])["subtype"] == "init"
    [call] = fakes.invocations("claude")
    assert call["stdin"] == "hang please" and "exit_code" not in call
    deadline = time.monotonic() + 10
    while pid_alive(call["pid"]) or any(pid_alive(p) for p in call["background_pids"]):
        assert time.monotonic() < deadline, "a fake process survived the runner"
        time.sleep(0.05)

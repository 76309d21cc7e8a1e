"""Contract tests: the usage index over the REAL OpenCode and Qwen Code CLIs' own files.

Each CLI runs by hand (``opencode run`` / ``qwen`` one-shot, not through aio) a conversation
with a tool turn against the fake API, which sends known native usage. ``aio usage session
--json`` totals must equal exactly what the fake sent (OpenCode: its SQLite store; Qwen
Code: its chat file). Then one more call through ``aio run`` (recorded by aio *and* in the
CLI's files): the totals grow by that call once, never twice.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.store import SessionStore
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS, OfflineCli
from tests.fakeapi.procs import run_cli
from tests.helpers import aio_inprocess

pytestmark = pytest.mark.real_cli

TIMEOUT = 240  # OpenCode starts in ~5 s alone, far slower on a loaded machine
KEYS = ("input", "output", "cache_read", "cache_write", "reasoning", "requests")


def _totals(agent: str) -> dict[str, Any]:
    result = aio_inprocess("usage", "session", "--json", "--agent", agent)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    return dict(doc["totals"], sessions=len(doc["rows"]))


def _check(totals: dict[str, Any], expected: dict[str, int]) -> None:
    assert {k: totals[k] for k in KEYS} == expected, totals


def _covered(agent: str) -> list[tuple[str, str | None]]:
    """(session, covering aio call) of the requests read from the agent's own files."""
    from ai_orchestrator.usage.sync import open_index

    conn = open_index()
    try:
        return conn.execute(
            "SELECT session, covered FROM req WHERE origin = 't' AND agent = ? ORDER BY ts",
            (agent,),
        ).fetchall()
    finally:
        conn.close()


def _counted_once(options: CallOptions, expected: dict[str, int]) -> None:
    """One call through ``aio run`` after the two by hand: ``expected`` in total, and its
    request in the CLI's files is covered by aio's record (what proves the dedup)."""
    run = run_in_session(SessionStore(), f"run-{options.agent}", "again", options)
    assert run.result.ok, (run.result.outcome, run.result.error)
    totals = _totals(options.agent)
    _check(totals, expected)
    assert totals["sessions"] == 2
    read = _covered(options.agent)
    assert [c is not None for _, c in read] == [False, False, True], read
    assert read[-1] == (run.record.agent_session_id, run.record.id)


def _add(expected: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    return {k: expected[k] + more[k] for k in KEYS}


# --- OpenCode ---------------------------------------------------------------------------------


def _anthropic(i: int, o: int, read: int, write: int) -> dict[str, int]:
    return {"input_tokens": i, "output_tokens": o, "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write}  # fmt: skip


def _opencode_expected(*sent: dict[str, int]) -> dict[str, int]:
    return {
        "input": sum(s["input_tokens"] for s in sent),
        "output": sum(s["output_tokens"] for s in sent),
        "cache_read": sum(s["cache_read_input_tokens"] for s in sent),
        "cache_write": sum(s["cache_creation_input_tokens"] for s in sent),
        "reasoning": 0,
        "requests": len(sent),
    }


def test_opencode_by_hand_with_a_tool_turn_and_through_aio_run(
    offline_cli_factory: Callable[[str], OfflineCli], agent_env: Callable[[str], None],
    fake_api: FakeAPIServer, cli_workdir: Path, session_dir: Path,
) -> None:  # fmt: skip
    cli = offline_cli_factory("opencode")
    sent = [_anthropic(1200, 80, 3000, 500), _anthropic(1400, 40, 3500, 100)]
    tool = {"name": "bash", "input": {"command": "echo tool-ran", "description": "echo"}}
    fake_api.script([{"tool_use": tool, "usage": sent[0]}, {"text": "done", "usage": sent[1]}])
    argv = [*cli.argv, "run", "--format", "json", "-m", MODELS["opencode"]]
    done = run_cli(argv, cli.env, cli_workdir, stdin="run the command", timeout=TIMEOUT)
    assert done.returncode == 0, done.describe()
    assert len(fake_api.main_requests("anthropic")) == 2 and fake_api.pending == []
    assert "tool-ran" in done.stdout  # the tool turn happened
    expected = _opencode_expected(*sent)
    totals = _totals("opencode")
    _check(totals, expected)
    assert totals["sessions"] == 1 and totals["cost_complete"] is True

    agent_env("opencode")  # the same kind of call through aio run: counted once more
    again = _anthropic(300, 30, 1000, 0)
    fake_api.script([{"text": "again", "usage": again}])
    options = CallOptions(agent="opencode", cwd=cli_workdir, model=MODELS["opencode"],
                          timeout=TIMEOUT)  # fmt: skip
    _counted_once(options, _add(expected, _opencode_expected(again)))


# --- Qwen Code --------------------------------------------------------------------------------

PRICED = "gpt-4.1"  # Qwen Code runs any OpenAI-compatible model; this one has published prices


def _chat(prompt: int, completion: int, cached: int, reasoning: int) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning}}  # fmt: skip


def _qwen_expected(*sent: dict[str, Any]) -> dict[str, int]:
    cached = [s["prompt_tokens_details"]["cached_tokens"] for s in sent]
    return {
        "input": sum(s["prompt_tokens"] for s in sent) - sum(cached),
        "output": sum(s["completion_tokens"] for s in sent),  # reasoning included
        "cache_read": sum(cached),
        "cache_write": 0,
        "reasoning": sum(s["completion_tokens_details"]["reasoning_tokens"] for s in sent),
        "requests": len(sent),
    }


def test_qwen_by_hand_with_a_tool_turn_and_through_aio_run(
    qwen_cli: OfflineCli, agent_env: Callable[[str], None], fake_api: FakeAPIServer,
    cli_workdir: Path, session_dir: Path,
) -> None:  # fmt: skip
    # a git repository on a branch named after the feature the aio run below belongs to
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q", "-b", "feature/qwen"],
                 ["commit", "-q", "--allow-empty", "-m", "0"]):  # fmt: skip
        subprocess.run([*git, *args], cwd=cli_workdir, check=True, capture_output=True)
    target = cli_workdir / "hello.txt"
    sent = [_chat(1000, 100, 200, 30), _chat(2000, 50, 1500, 0)]
    write = {"name": "write_file", "input": {"file_path": str(target), "content": "hello\n"}}
    fake_api.script([{"text": "Writing.", "tool_use": write, "usage": sent[0]},
                     {"text": "Done.", "usage": sent[1]}])  # fmt: skip
    argv = [*qwen_cli.argv, "-p", "write hello.txt", "-o", "json", "--approval-mode", "yolo",
            "-m", PRICED]  # fmt: skip
    done = run_cli(argv, qwen_cli.env, cli_workdir, timeout=TIMEOUT)
    assert done.returncode == 0, done.describe()
    assert target.read_text() == "hello\n"  # the tool turn happened
    assert len(fake_api.main_requests("openai_chat")) == 2 and fake_api.pending == []
    expected = _qwen_expected(*sent)
    totals = _totals("qwen")
    _check(totals, expected)
    # gpt-4.1 (USD per million): input 2, output 8, cache read 0.50
    cost = (expected["input"] * 2 + expected["output"] * 8 + expected["cache_read"] * 0.5) / 1e6
    assert totals["sessions"] == 1 and totals["cost"] == pytest.approx(cost, abs=1e-12)

    agent_env("qwen")  # the same kind of call through aio run: counted once more
    # (no reasoning: Qwen's stream does not carry it, so aio's own record of a call has none)
    again = _chat(500, 20, 100, 0)
    fake_api.script([{"text": "again", "usage": again}])
    options = CallOptions(agent="qwen", cwd=cli_workdir, model=PRICED, timeout=TIMEOUT)
    _counted_once(options, _add(expected, _qwen_expected(again)))
    # the requests made by hand on branch feature/qwen count for aio's feature "qwen"
    by_feature = json.loads(aio_inprocess("usage", "daily", "--json", "--agent", "qwen",
                                          "--by", "feature").out)  # fmt: skip
    assert {r["feature"]: r["requests"] for r in by_feature["rows"]} == {"qwen": 3}


def test_opencode_subagent_requests_count_once_by_hand_and_through_aio_run(
    offline_cli_factory: Callable[[str], OfflineCli], agent_env: Callable[[str], None],
    fake_api: FakeAPIServer, cli_workdir: Path, session_dir: Path,
) -> None:  # fmt: skip
    """The ``task`` tool runs a subagent in a child session whose steps ``opencode run``
    never prints: the index counts them for the parent session, and aio's own record of a
    call reads them from OpenCode's store (so covering them loses nothing)."""
    cli = offline_cli_factory("opencode")
    task = {"name": "task", "input": {"description": "count files", "prompt": "count the files",
                                      "subagent_type": "general"}}  # fmt: skip

    def script(n: int) -> list[dict[str, int]]:
        sent = [_anthropic(100 * n, 10 * n, 0, 0), _anthropic(50 * n, 5 * n, 0, 0),
                _anthropic(70 * n, 7 * n, 0, 0)]  # fmt: skip
        fake_api.script([{"tool_use": task, "usage": sent[0]},  # the main agent calls task
                         {"text": "three files", "usage": sent[1]},  # the subagent answers
                         {"text": "All done.", "usage": sent[2]}])  # fmt: skip
        return sent

    sent = script(1)
    argv = [*cli.argv, "run", "--format", "json", "-m", MODELS["opencode"]]
    done = run_cli(argv, cli.env, cli_workdir, stdin="count the files", timeout=TIMEOUT)
    assert done.returncode == 0, done.describe()
    assert fake_api.pending == [], "the subagent did not run: the test proves nothing"
    expected = _opencode_expected(*sent)
    totals = _totals("opencode")
    _check(totals, expected)
    assert totals["sessions"] == 1  # the subagent's session counts for its parent

    agent_env("opencode")
    sent = script(2)
    run = run_in_session(SessionStore(), "run-oc-task", "count the files", CallOptions(
        agent="opencode", cwd=cli_workdir, model=MODELS["opencode"], timeout=TIMEOUT))
    assert run.result.ok, (run.result.outcome, run.result.error)
    tokens = run.record.to_json()["tokens"]  # aio's own record has the subagent's request
    assert (tokens["input"], tokens["output"]) == (440, 44)
    totals = _totals("opencode")
    _check(totals, _add(expected, _opencode_expected(*sent)))
    assert [c is not None for _, c in _covered("opencode")] == [False] * 3 + [True] * 3

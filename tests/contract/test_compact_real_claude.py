"""Compaction with the REAL Claude Code CLI against the fake model API.

A conversation whose last request filled 85% of the model's window (the fake API reports the
usage) is compacted by aio before the next ``aio run``: the pinned CLI must accept ``/compact``
as the prompt of a resumed ``-p`` call and say it compacted (``compact_boundary``), the same
conversation must go on, and the model must receive a smaller conversation after compaction
than before it. ``aio session compact`` does the same on demand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.accounting.context_windows import context_window
from ai_orchestrator.agents.registry import declared
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS

pytestmark = [pytest.mark.real_cli, pytest.mark.process]

_CLAUDE = declared("claude")  # Claude Code's own window: 200k
WINDOW = (
    context_window(
        "claude", MODELS["claude"], limit=_CLAUDE.context_limit, long_mark=_CLAUDE.long_context_mark
    )[0]
    or 0
)


def aio(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ai_orchestrator", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd,
    )  # fmt: skip


def aio_run(cwd: Path, prompt: str) -> subprocess.CompletedProcess[str]:
    return aio(cwd, "run", "run-x", prompt, "--json", "--model", MODELS["claude"],
               "--cwd", str(cwd))  # fmt: skip


def size(body: Any) -> int:
    """How much conversation a request carries: its messages as JSON."""
    return len(json.dumps(body.get("messages", [])))


def big_turn(text: str, prompt_tokens: int) -> dict[str, Any]:
    return {"text": text, "usage": {"input_tokens": prompt_tokens, "output_tokens": 500}}


def test_aio_compacts_the_real_claude_conversation_before_the_next_call(
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env("claude")
    assert WINDOW == 200_000
    fake_api.script(
        [
            big_turn("Answer one. " + "a" * 3000, WINDOW // 2),
            big_turn("Answer two. " + "b" * 3000, WINDOW * 82 // 100),  # past the 80% default
        ]
    )
    for prompt in ("prompt alpha " * 200, "prompt beta " * 200):
        done = aio_run(cli_workdir, prompt)
        assert done.returncode == 0, done.stderr
        assert "compacting" not in done.stderr
    conversation = json.loads(done.stdout)["agent_session_id"]
    before_compaction = size(fake_api.main_requests("anthropic")[-1].body)
    seen = len(fake_api.requests)

    after = aio_run(cli_workdir, "prompt gamma")
    assert after.returncode == 0, after.stderr
    big = WINDOW * 82 // 100
    assert f"context {big:,} of {WINDOW:,} tokens (82%, threshold 80%)" in after.stderr
    assert "compacted (agent): context" in after.stderr
    doc = json.loads(after.stdout)
    assert doc["agent_session_id"] == conversation  # the same conversation goes on
    # What the model received for "prompt gamma": the compacted conversation, smaller.
    [gamma] = [
        r for r in fake_api.requests[seen:]
        if r.main and "prompt gamma" in json.dumps(r.body.get("messages", []))
    ]  # fmt: skip
    assert size(gamma.body) < before_compaction
    assert "prompt alpha" not in json.dumps(gamma.body["messages"])  # replaced by the summary

    shown = aio(cli_workdir, "session", "show", "run-x", "--json")
    summary = json.loads(shown.stdout)
    [event] = summary["compactions"]
    assert event["method"] == "agent" and event["trigger"] == "auto"
    assert event["agent_trigger"] == "manual"  # the CLI's word: /compact was asked for
    assert isinstance(event["before"], int) and isinstance(event["after"], int)
    assert 0 < event["after"] < event["before"]
    records = [json.loads(line) for line in (session_dir / "run-x" / "interactions.jsonl")
               .read_text().splitlines()]  # fmt: skip
    assert [r["prompt"] for r in records][-2] == "/compact"
    assert records[-2]["compaction"]["after"] == event["after"]

    # On demand: compacts again, said on stderr, the JSON report on stdout.
    fake_api.script([])
    again = aio(cli_workdir, "session", "compact", "run-x", "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["method"] == "agent" and report["trigger"] == "manual"
    assert "compacted (agent)" in again.stderr


def test_a_compaction_claude_code_did_by_itself_is_recorded(
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past its own window (200k without [1m]) Claude Code compacts at the start of the next
    resumed call: aio records it (trigger ``agent``) with the CLI's sizes, and the call's
    context is the smaller request that followed."""
    agent_env("claude")
    monkeypatch.setenv("AIO_COMPACT_THRESHOLD", "off")  # aio itself must not act here
    fake_api.script([big_turn("Answer one.", WINDOW * 5 // 2)])
    assert aio_run(cli_workdir, "prompt alpha").returncode == 0
    done = aio_run(cli_workdir, "prompt beta")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (session_dir / "run-x" / "interactions.jsonl")
               .read_text().splitlines()]  # fmt: skip
    event = records[-1]["compaction"]
    assert event["method"] == "agent" and event["trigger"] == "agent"
    assert event["agent_trigger"] == "auto" and event["before"] > WINDOW
    assert records[-1]["context_tokens"] < WINDOW

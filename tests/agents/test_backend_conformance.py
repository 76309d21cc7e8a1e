"""The backend conformance suite (``tests/agents/conformance.py``), one subclass per backend.

Each subclass names its backend and what its recorded streams (``tests/agents/streams``)
must parse to; the contract's docstring says how to add one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from ai_orchestrator.core.usage import ModelUsage
from tests.agents import conformance
from tests.agents.conformance import MINTED, BackendContract


class TestClaude(BackendContract):
    key = "claude"
    model = "claude-sonnet-4-5-20250929"
    session_id = MINTED
    tool = "Bash"
    usage: ClassVar[dict[str, ModelUsage]] = {
        "claude-sonnet-4-5-20250929": ModelUsage(
            input=120, output=800, cache_read=9000, cache_write_5m=300, cache_write_1h=40
        ),
        "claude-haiku-4-5-20251001": ModelUsage(input=50, output=20),
    }
    partial: ClassVar[list[dict[str, Any]]] = [
        {"type": "system", "subtype": "init", "session_id": MINTED, "model": model},
    ]


class TestGemini(BackendContract):
    key = "gemini"
    model = "gemini-2.5-pro"
    session_id = MINTED
    tool = "run_shell_command"
    # prompt 1500 = input 1100 + cached 400; candidates 180 + thoughts 120 = output 300
    usage: ClassVar[dict[str, ModelUsage]] = {
        "gemini-2.5-pro": ModelUsage(input=1100, output=300, cache_read=400, reasoning=120),
    }
    partial: ClassVar[list[dict[str, Any]]] = [
        {"type": "init", "session_id": MINTED, "model": "gemini-2.5-flash"},
        {"type": "message", "role": "assistant", "content": "Working", "delta": True},
    ]


class TestCodex(BackendContract):
    key = "codex"
    model = "gpt-5-codex"
    session_id = "91fd853c-dbc5-71fa-8b52-93848b221805"
    tool = "command_execution"
    # input_tokens 3500 = input 2000 + cached 1500; output 150 includes reasoning 60
    usage: ClassVar[dict[str, ModelUsage]] = {
        "gpt-5-codex": ModelUsage(input=2000, output=150, cache_read=1500, reasoning=60),
    }
    partial: ClassVar[list[dict[str, Any]]] = [
        {"type": "thread.started", "thread_id": MINTED},
        {"type": "turn.started"},
    ]


class TestScripted(BackendContract):
    key = "scripted"
    model = "scripted-sonnet"
    session_id = MINTED
    tool = "write_file"
    usage: ClassVar[dict[str, ModelUsage]] = {
        "scripted-sonnet": ModelUsage(input=120, output=30, cache_read=900, cache_write_5m=40),
    }
    partial: ClassVar[list[dict[str, Any]]] = [
        {"type": "init", "session_id": MINTED, "model": model, "scripted": True},
    ]


class TestOpenCode(BackendContract):
    # recorded from the real opencode 1.18.33 against the fake API (tests/fakeapi)
    key = "opencode"
    model = "anthropic/claude-sonnet-4-5"
    session_id = "ses_dae18d089ffehJG7G6ipH2T7sD"  # OpenCode names a new session itself
    tool = "bash"
    # two steps summed; OpenCode's input already excludes the cache
    usage: ClassVar[dict[str, ModelUsage]] = {
        "anthropic/claude-sonnet-4-5": ModelUsage(
            input=2600, output=120, cache_read=6500, cache_write_5m=600
        ),
    }
    partial: ClassVar[list[dict[str, Any]]] = [
        {"type": "step_start", "sessionID": session_id,
         "part": {"id": "prt_1", "messageID": "msg_1", "type": "step-start"}},
    ]


class TestQwen(BackendContract):
    key = "qwen"
    model = "gpt-4.1"  # any OpenAI-compatible model; Qwen's own are not in the price data
    session_id = MINTED
    tool = "run_shell_command"
    # recorded from the real Qwen Code 0.24.4 against tests/fakeapi: request 1 prompt 1500
    # (400 cached), 80 out; request 2 prompt 1700 (1500 cached), 40 out
    usage: ClassVar[dict[str, ModelUsage]] = {
        "gpt-4.1": ModelUsage(input=1100 + 200, output=120, cache_read=1900),
    }
    partial: ClassVar[list[dict[str, Any]]] = [
        {"type": "system", "subtype": "init", "session_id": MINTED, "model": model},
    ]

    @pytest.fixture(autouse=True)
    def _resolvable(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        # The suite resolves (never launches) tests/fakes/bin/<key>; Qwen has no fake CLI
        # there, so BIN_DIR points at a directory holding an executable of that name.
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "qwen").symlink_to("/bin/true")
        monkeypatch.setattr(conformance, "BIN_DIR", bin_dir)

"""The backend protocol's contract (``agents.base``), run for every backend.

``BackendContract`` holds the contract once; one subclass per backend supplies its recorded
streams (``tests/agents/streams``: a success and an unknown-resume failure, recorded from the
fake CLIs of ``tests/fakes``, which follow the real CLIs' machine contracts, from the
scripted agent, and for OpenCode from the real CLI against the fake API) and what they must
parse to. The contract:

- invocation building: the prompt travels on stdin, never on argv; a new conversation gets
  our minted id where the CLI accepts one; a resume names the stored id and no new id; model,
  every permission mode of the shared vocabulary and extra arguments reach argv; flag-like
  values are refused (``InvalidInput``); the launch runs in ``request.cwd``;
- a success stream gives ``success`` with the answer, the session id the CLI printed, the
  normalised usage per model (``agents.base`` semantics: input without cache, output with
  reasoning) and progress snapshots; noise lines never break it;
- error streams map to outcomes: an unknown resume id is ``session_lost``; our timeout,
  our interrupt, a signal nobody here sent and a crash without a result each get theirs;
- the session call (``calls.session_call``) with the in-process fake agent: the first call
  records the usage and the conversation id, the next resumes that id.

Backend-specific behaviour (Claude's dedupe of repeated lines, Codex's cumulative usage,
Gemini's exit codes …) stays in each backend's own test module.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ai_orchestrator.agents import registry
from ai_orchestrator.agents.base import (
    PERMISSION_MODES,
    AgentRequest,
    AgentResult,
    Backend,
    Permission,
    ProcessExit,
    Progress,
)
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.usage import OUTCOMES, ModelUsage
from tests.fakes.harness import BIN_DIR
from tests.fakes.inprocess import STREAMS, FakeLauncher, recorded

MINTED = "5e0c4f3a-8d2b-4c71-9e6a-0b1d2c3e4f50"  # the id the recordings were started with
STORED = "0199a213-0000-7000-8000-00000000dead"  # an id no CLI knows (the "lost" recordings)
PROMPT = "--model evil; run the tests"


class BackendContract:
    """The contract; a subclass sets the backend key and what its recordings parse to."""

    key: ClassVar[str]
    model: ClassVar[str]  # the model the recordings were made with
    takes_minted_id: ClassVar[bool] = True  # False: the CLI names a new conversation itself
    session_id: ClassVar[str]  # the id the success stream names
    usage: ClassVar[dict[str, ModelUsage]]  # the success stream, normalised
    tool: ClassVar[str]  # a tool the success stream shows being used
    partial: ClassVar[list[dict[str, Any]]]  # started, then stopped before a terminal event

    # -- helpers --------------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        return registry.get_backend(self.key)

    def request(self, **kw: Any) -> AgentRequest:
        return AgentRequest(**{"prompt": PROMPT, "cwd": Path("/work/proj"), **kw})

    def success_lines(self) -> list[str]:
        return recorded(self.key)

    def lost(self) -> dict[str, Any]:
        recorded: dict[str, Any] = json.loads((STREAMS / f"{self.key}-lost.json").read_text())
        return recorded

    def parse(
        self, lines: list[str], exit: ProcessExit, **kw: Any
    ) -> tuple[AgentResult, list[Progress]]:
        parser = self.backend.parser(self.request(model=self.model, **kw))
        snapshots = [p for p in (parser.feed(line) for line in lines) if p is not None]
        return parser.finish(exit), snapshots

    def stopped(self, exit: ProcessExit, timeout: float = 8) -> AgentResult:
        lines = [json.dumps(event) for event in self.partial]
        return self.parse(lines, exit, timeout=timeout)[0]

    # -- invocation building --------------------------------------------------------------------

    def test_prompt_travels_on_stdin_only(self) -> None:
        inv = self.backend.build(self.request(new_session_id=MINTED), "/bin/agent")
        assert inv.stdin == PROMPT.encode()
        assert all(PROMPT not in arg for arg in inv.argv)
        assert inv.argv[0] == "/bin/agent" and inv.cwd == Path("/work/proj")

    def test_a_new_conversation_gets_the_minted_id_where_the_cli_takes_one(self) -> None:
        argv = self.backend.build(self.request(new_session_id=MINTED), "agent").argv
        assert any(MINTED in arg for arg in argv) is self.takes_minted_id

    def test_a_resume_names_the_stored_id_and_no_new_one(self) -> None:
        argv = self.backend.build(self.request(resume_id=STORED, new_session_id=MINTED), "a").argv
        assert any(STORED in arg for arg in argv)
        assert not any(MINTED in arg for arg in argv)

    def test_model_and_extra_args_reach_argv(self) -> None:
        request = self.request(model=self.model, extra_args=["--extra-flag", "value"])
        argv = self.backend.build(request, "agent").argv
        assert self.model in argv
        assert argv[argv.index("--extra-flag") + 1] == "value"

    @pytest.mark.parametrize("mode", PERMISSION_MODES)
    def test_every_shared_permission_mode_is_accepted(
        self, mode: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("IS_SANDBOX", "1")  # Claude refuses bypassPermissions as root else
        self.backend.build(self.request(permission=Permission(mode=mode)), "agent")

    @pytest.mark.parametrize(
        "bad",
        [
            {"model": "--dangerously-skip-permissions"},
            {"resume_id": "-x"},
            {"permission": Permission(mode="-y")},
            {"permission": Permission(mode="everything")},
        ],
    )
    def test_flag_like_or_unknown_values_are_refused(self, bad: dict[str, Any]) -> None:
        with pytest.raises(InvalidInput):
            self.backend.build(self.request(**bad), "agent")

    # -- a success stream -----------------------------------------------------------------------

    def test_a_success_stream_is_parsed(self) -> None:
        result, snapshots = self.parse(self.success_lines(), ProcessExit(0, "", 1234))
        assert (result.outcome, result.ok, result.error) == ("success", True, None)
        assert result.text == "All four tests pass."
        assert result.session_id == self.session_id
        assert result.agent == self.key and result.exit_code == 0
        assert self.tool in result.tools_used
        assert snapshots and snapshots[-1].output_tokens > 0
        assert result.raw_events  # kept for the record

    def test_usage_is_normalised(self) -> None:
        result, _ = self.parse(self.success_lines(), ProcessExit(0, "", 1234))
        assert {model: _tokens(u) for model, u in result.usage.items()} == {
            model: _tokens(u) for model, u in self.usage.items()
        }
        for usage in result.usage.values():
            counts = _tokens(usage).values()
            assert all(isinstance(n, int) and n >= 0 for n in counts)
            assert usage.reasoning <= usage.output  # reasoning is part of output, never extra

    def test_noise_lines_never_break_a_stream(self) -> None:
        lines = self.success_lines()
        noisy = ["mise WARN  tools: agent@1.0", *lines[:1], "", "[1, 2]", *lines[1:]]
        result, _ = self.parse(noisy, ProcessExit(0, "", 1234))
        assert result.outcome == "success" and result.text == "All four tests pass."
        assert result.session_id == self.session_id

    # -- error streams → outcomes ---------------------------------------------------------------

    def test_an_unknown_resume_id_is_session_lost(self) -> None:
        lost = self.lost()
        exit = ProcessExit(lost["exit_code"], lost["stderr"], 300)
        result, _ = self.parse(lost["stdout"].splitlines(), exit, resume_id=STORED)
        assert result.outcome == "session_lost" and not result.ok
        assert result.error

    def test_our_timeout_says_how_long(self) -> None:
        result = self.stopped(ProcessExit(143, "", 8000, timed_out=True, signal=15))
        assert (result.outcome, result.error) == ("timeout", "timed out after 8 s")
        result = self.stopped(ProcessExit(137, "", 2500, timed_out=True, signal=9), timeout=2.5)
        assert result.error == "timed out after 2.5 s"

    def test_our_interrupt_is_interrupted(self) -> None:
        result = self.stopped(ProcessExit(143, "some stderr", 500, interrupted=True, signal=15))
        assert result.outcome == "interrupted"
        assert result.error is not None and result.error.startswith("interrupted")

    def test_a_signal_we_did_not_send_is_a_crash_naming_it(self) -> None:
        result = self.stopped(ProcessExit(143, "", 500, signal=15))
        assert result.outcome == "crash"
        assert result.error is not None and result.error.startswith("killed by signal 15 (SIGTERM)")

    def test_an_exit_without_a_result_is_a_failure_with_its_message(self) -> None:
        result, _ = self.parse([], ProcessExit(1, "Error: something broke\n", 300))
        assert result.outcome in OUTCOMES and not result.ok
        assert result.error is not None and "something broke" in result.error
        assert result.session_id is None  # never guessed

    # -- the session call, in-process -----------------------------------------------------------

    def test_the_session_call_records_then_resumes(
        self, fake_launcher: FakeLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from ai_orchestrator.calls.session_call import CallOptions, run_in_session
        from ai_orchestrator.store import SessionStore

        if self.key != "scripted":  # resolved, never launched: the fake stands in for it
            exe = BIN_DIR / self.key  # a backend without a fake CLI: any executable will do
            exe = exe if exe.exists() else Path(sys.executable)
            monkeypatch.setenv(f"AIO_AGENT_{self.key.upper()}_EXECUTABLE", str(exe))
        store = SessionStore()
        options = CallOptions(agent=self.key, cwd=tmp_path, model=self.model)
        for _ in range(2):
            fake_launcher.enqueue(*self.success_lines())
        first = run_in_session(store, "implement-conf", "run the tests", options)
        second = run_in_session(store, "implement-conf", "again", options)
        assert (first.action, second.action) == ("started", "resumed")
        assert first.record.outcome == "success"
        assert first.record.tokens.output == sum(u.output for u in self.usage.values())
        assert store.load("implement-conf").summary["agent_session_id"] == self.session_id
        new, resumed = fake_launcher.calls
        assert any(self.session_id in arg for arg in resumed.argv)
        assert new.stdin == b"run the tests" and resumed.stdin == b"again"
        assert len(store.read_log("implement-conf").records) == 2


def _tokens(usage: ModelUsage) -> dict[str, int]:
    fields = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning")
    return {name: getattr(usage, name) for name in fields}


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
    takes_minted_id = False  # a new thread is named in the stream (thread.started)
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
    key = "opencode"
    model = "anthropic/claude-sonnet-4-5"
    takes_minted_id = False  # OpenCode names a new session itself (ses_…)
    session_id = "ses_dae18d089ffehJG7G6ipH2T7sD"  # recorded from opencode 1.18.33
    tool = "bash"
    # two steps summed: input/cache as OpenCode reports them (input already without cache)
    usage: ClassVar[dict[str, ModelUsage]] = {
        "anthropic/claude-sonnet-4-5": ModelUsage(
            input=2600, output=120, cache_read=6500, cache_write_5m=600
        ),
    }
    partial: ClassVar[list[dict[str, Any]]] = [
        {"type": "step_start", "sessionID": session_id,
         "part": {"id": "prt_1", "messageID": "msg_1", "type": "step-start"}},
    ]

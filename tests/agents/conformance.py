"""The backend conformance suite: one contract every backend passes, spec-kit style.

``BackendContract`` (a mixin of test methods, collected only through a subclass) holds the
contract once; ``tests/agents/test_backend_conformance.py`` has one small subclass per
backend supplying its recorded streams and what they must parse to. The contract:

- invocation building: the prompt travels on stdin, never on argv; a new conversation gets
  our minted id exactly when the backend does not declare ``mints_own_ids``; a resume names
  the stored id and no new id; model, every permission mode of the shared vocabulary and
  extra arguments reach argv; flag-like values are refused (``InvalidInput``); the launch
  runs in ``request.cwd``;
- a success stream gives ``success`` with the answer, the session id the CLI printed, the
  normalised usage per model (``agents.base`` semantics: input without cache, output with
  reasoning) and progress snapshots; noise lines never break it; the parser is built on
  ``agents.parser_base.StreamParserBase``;
- error streams map to outcomes: an unknown resume id is ``session_lost``; our timeout,
  our interrupt, a signal nobody here sent and a crash without a result each get theirs;
- the declared capabilities (``agents.base.Capabilities``) hold in behaviour: ``fork`` (a
  fork call forks, or is refused before anything launches), ``resume_scope`` (a resume runs
  in the conversation's directory, or in the caller's), ``provider``/``notional_cost`` (the
  success stream's usage is priced under that provider, a notional cost says so),
  ``work_model``/``strong_model`` (valid models that reach argv), ``tested_version``,
  ``session_files`` (absolute roots, each of a kind the usage index reads) and ``read_back``
  (an id the CLI never saw reads back nothing);
- the session call (``calls.session_call``) with the in-process fake agent: the first call
  records the usage and the conversation id, the next resumes that id.

Adding a backend (about 20 lines): record its streams into ``tests/agents/streams`` —
``<key>-success.jsonl`` (a run started with id ``MINTED`` that answers "All four tests
pass." after using one tool) and ``<key>-lost.json`` (``{"stdout", "stderr", "exit_code"}``
of a resume of the unknown id ``STORED``) — then add to ``test_backend_conformance.py``::

    class TestMyCli(BackendContract):
        key = "mycli"                       # its registry key
        model = "my-model-1"                # the model the recordings were made with
        session_id = MINTED                 # the id the success stream names
        tool = "bash"                       # a tool the success stream shows being used
        usage: ClassVar[dict[str, ModelUsage]] = {"my-model-1": ModelUsage(input=…, output=…)}
        partial: ClassVar[list[dict[str, Any]]] = [...]  # events of a run stopped early

Backend-specific behaviour (Claude's dedupe of repeated lines, Codex's cumulative usage,
Gemini's exit codes …) stays in each backend's own test module.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ai_orchestrator.accounting.pricing import price_usage
from ai_orchestrator.agents import registry
from ai_orchestrator.agents.base import (
    PERMISSION_MODES,
    AgentRequest,
    AgentResult,
    Backend,
    Capabilities,
    Permission,
    ProcessExit,
    Progress,
)
from ai_orchestrator.agents.parser_base import StreamParserBase
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
    session_id: ClassVar[str]  # the id the success stream names
    usage: ClassVar[dict[str, ModelUsage]]  # the success stream, normalised
    tool: ClassVar[str]  # a tool the success stream shows being used
    partial: ClassVar[list[dict[str, Any]]]  # started, then stopped before a terminal event

    # -- helpers --------------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        return registry.get_backend(self.key)

    @property
    def declared(self) -> Capabilities:
        return registry.capabilities(self.key)

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

    def test_a_new_conversation_gets_the_minted_id_unless_the_cli_mints_its_own(self) -> None:
        argv = self.backend.build(self.request(new_session_id=MINTED), "agent").argv
        assert any(MINTED in arg for arg in argv) is not self.declared.mints_own_ids

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

        self._resolve_fake(monkeypatch)
        store = SessionStore()
        options = CallOptions(agent=self.key, cwd=tmp_path, model=self.model)
        for _ in range(2):
            fake_launcher.enqueue(*self.success_lines())
        first = run_in_session(store, "implement-conf", "run the tests", options)
        second = run_in_session(store, "implement-conf", "again", options)
        assert (first.action, second.action) == ("started", "resumed")
        assert first.record.outcome == "success"
        assert first.record.tokens.output == sum(u.output for u in self.usage.values())
        assert store.load("implement-conf").summary.to_json()["agent_session_id"] == self.session_id
        new, resumed = fake_launcher.calls
        assert any(self.session_id in arg for arg in resumed.argv)
        assert new.stdin == b"run the tests" and resumed.stdin == b"again"
        assert len(store.read_log("implement-conf").records) == 2


    # -- declared capabilities hold in behaviour ------------------------------------------------

    def test_the_declaration_is_the_class_attribute_the_registry_reads(self) -> None:
        assert isinstance(self.declared, Capabilities)
        assert type(self.backend).capabilities is self.declared
        assert registry.can_fork(self.key) is self.declared.fork
        assert isinstance(self.backend.parser(self.request()), StreamParserBase)

    def test_a_pinned_cli_version_unless_built_in(self) -> None:
        version = self.declared.tested_version
        if self.declared.built_in:
            assert version is None
        else:
            assert version is not None and re.fullmatch(r"\d+\.\d+\.\d+", version)

    def test_declared_models_are_valid_and_reach_argv(self) -> None:
        declared = self.declared
        for model in (declared.work_model, declared.strong_model, *declared.model_aliases):
            if model is not None:
                argv = self.backend.build(self.request(model=model), "agent").argv
                assert model in argv

    def test_the_declared_provider_prices_the_success_stream(self) -> None:
        declared = self.declared
        for model, usage in self.usage.items():
            price = price_usage(
                self.key, model, usage, provider=declared.provider, notional=declared.notional_cost
            )
            assert price.priced and price.cost > 0, (model, price.note)
            if declared.provider is not None:
                assert price.provider == declared.provider
            assert ("notional" in (price.note or "")) is declared.notional_cost

    def test_an_id_the_cli_never_saw_reads_back_nothing(self, tmp_path: Path) -> None:
        since = datetime.now(UTC)
        found = self.backend.read_back(STORED, tmp_path, since, {}, None)
        assert found is None
        files = self.declared.session_files
        if files is not None:
            from ai_orchestrator.usage.parsers import PARSERS
            from ai_orchestrator.usage.sources import DATABASES

            declared = files()
            assert declared and all(f.root.is_absolute() for f in declared)
            assert all(f.kind in PARSERS or f.kind in DATABASES for f in declared)

    def test_a_fork_forks_only_where_declared(
        self, fake_launcher: FakeLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from ai_orchestrator.calls.session_call import CallOptions, run_in_session
        from ai_orchestrator.store import SessionStore

        self._resolve_fake(monkeypatch)
        store = SessionStore()
        options = CallOptions(agent=self.key, cwd=tmp_path, model=self.model)
        fake_launcher.enqueue(*self.success_lines())
        run_in_session(store, "review-fork", "first", options)
        forking = CallOptions(agent=self.key, cwd=tmp_path, model=self.model, fork=True)
        if not self.declared.fork:
            with pytest.raises(InvalidInput, match="cannot fork"):
                run_in_session(store, "review-fork", "fork it", forking)
            assert len(fake_launcher.calls) == 1  # refused before anything launched
            return
        fake_launcher.enqueue(*self.success_lines())
        forked = run_in_session(store, "review-fork", "fork it", forking)
        assert forked.action == "forked"
        assert any(self.session_id in arg for arg in fake_launcher.calls[-1].argv)

    def test_only_a_forking_backend_builds_a_fork_differently(self) -> None:
        plain = self.request(resume_id=STORED, new_session_id=MINTED)
        fork = self.request(resume_id=STORED, new_session_id=MINTED, fork=True)
        differs = self.backend.build(fork, "a").argv != self.backend.build(plain, "a").argv
        assert differs is self.declared.fork

    def test_a_resume_runs_where_the_declared_scope_says(
        self, fake_launcher: FakeLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from ai_orchestrator.calls.session_call import CallOptions, run_in_session
        from ai_orchestrator.store import SessionStore

        self._resolve_fake(monkeypatch)
        first_dir, second_dir = tmp_path / "first", tmp_path / "second"
        first_dir.mkdir()
        second_dir.mkdir()
        store = SessionStore()
        for cwd in (first_dir, second_dir):
            fake_launcher.enqueue(*self.success_lines())
            options = CallOptions(agent=self.key, cwd=cwd, model=self.model)
            run_in_session(store, "implement-scope", "go on", options)
        started, resumed = fake_launcher.calls
        assert started.cwd == first_dir
        expected = first_dir if self.declared.resume_scope == "cwd" else second_dir
        assert resumed.cwd == expected

    def _resolve_fake(self, monkeypatch: pytest.MonkeyPatch) -> None:
        if not self.declared.built_in:  # resolved, never launched: the fake stands in for it
            exe = BIN_DIR / self.key  # a backend without a fake CLI: any executable will do
            exe = exe if exe.exists() else Path(sys.executable)
            monkeypatch.setenv(f"AIO_AGENT_{self.key.upper()}_EXECUTABLE", str(exe))


def _tokens(usage: ModelUsage) -> dict[str, int]:
    fields = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning")
    return {name: getattr(usage, name) for name in fields}



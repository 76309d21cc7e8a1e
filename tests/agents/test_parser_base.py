"""``agents.parser_base.StreamParserBase`` and the declarations the registry hands out.

The base is tested through a minimal subclass (what a new backend writes), so each shared
step is pinned once: noise, the newest session id, tools and todos, the no-result endings
in their order, and the one ``AgentResult`` build. The registry's readers of
``Capabilities`` (``declared``, ``agent_for_provider``, ``auto_planners``, ``label``) and the
caller that prices with a backend's declared provider are tested here too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents import registry
from ai_orchestrator.agents.base import (
    AgentRequest,
    AgentResult,
    Capabilities,
    ProcessExit,
    Progress,
    TodoEvent,
)
from ai_orchestrator.agents.parser_base import StreamParserBase, Verdict
from ai_orchestrator.core.usage import ModelUsage
from tests.fakes.harness import BIN_DIR
from tests.fakes.inprocess import FakeLauncher


class _Parser(StreamParserBase):
    """What a backend's parser keeps: its own events and its verdict."""

    agent = "mini"

    def __init__(self, request: AgentRequest) -> None:
        super().__init__(request)
        self.done = False

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "tool":
            self.start_tool(str(event["name"]), str(event["id"]))
            if event.get("todo"):
                self.hold_todo(str(event["id"]), TodoEvent("todo", [{"content": "x"}]))
        elif kind == "tool_done":
            self.settle_todo(str(event["id"]), bool(event.get("ok")))
            self.end_tool(str(event["id"]))
        elif kind == "done":
            self.done = True

    def progress(self) -> Progress:
        return Progress(turns=len(self.raw), tool=self.tool, tool_running=bool(self.open_tools))

    def finish(self, exit: ProcessExit) -> AgentResult:
        if self.done:
            verdict = Verdict("success")
        else:
            lost = "unknown conversation" in exit.stderr
            verdict = self.stopped_or_killed(
                exit, exit.stderr or "no result", lost=lost, detail="last words", prose=exit.stderr
            )
        return self.result(exit, verdict, text="answer", usage={"m": ModelUsage(input=1)})


def _feed(parser: _Parser, *events: dict[str, Any] | str) -> list[Progress | None]:
    return [parser.feed(e if isinstance(e, str) else json.dumps(e)) for e in events]


def _parser(**kw: Any) -> _Parser:
    return _Parser(AgentRequest(prompt="p", cwd=Path("/w"), **kw))


def test_noise_blank_lines_and_non_objects_never_break_the_stream() -> None:
    parser = _parser()
    snapshots = _feed(parser, "", "   ", "mise WARN something", "[1, 2]", {"type": "x"})
    assert snapshots[:4] == [None, None, None, None]
    assert snapshots[4] is not None
    assert parser.raw == [
        {"type": "noise", "line": "mise WARN something"},
        {"type": "noise", "line": "[1, 2]"},
        {"type": "x"},
    ]


def test_the_newest_session_id_wins_and_empty_values_do_not() -> None:
    parser = _parser()
    _feed(
        parser,
        {"type": "a", "session_id": "one"},
        {"type": "b", "session_id": ""},
        {"type": "c", "session_id": 7},
        {"type": "d"},
    )
    assert parser.session_id == "one"
    _feed(parser, {"type": "e", "session_id": "two"})
    assert parser.session_id == "two"


def test_a_parser_without_a_session_field_names_its_session_itself() -> None:
    class _Own(_Parser):
        session_field = None

    parser = _Own(AgentRequest(prompt="p", cwd=Path("/w")))
    _feed(parser, {"type": "a", "session_id": "never"})
    assert parser.session_id is None
    parser.note_session("thread-1")
    assert parser.session_id == "thread-1"


def test_an_unchanged_snapshot_is_not_repeated() -> None:
    parser = _parser()
    first = parser.feed(json.dumps({"type": "a"}))
    assert first is not None and parser.changed() is None


def test_tools_keep_first_use_order_and_the_newest_open_one() -> None:
    parser = _parser()
    _feed(
        parser,
        {"type": "tool", "name": "Bash", "id": "1"},
        {"type": "tool", "name": "Edit", "id": "2"},
        {"type": "tool", "name": "Grep", "id": "3"},
    )
    assert parser.tools_used == ["Bash", "Edit", "Grep"] and parser.tool == "Grep"
    _feed(parser, {"type": "tool_done", "id": "3"})
    assert parser.tool == "Edit"  # the newest tool still open
    _feed(parser, {"type": "tool", "name": "Bash", "id": "4"})
    assert parser.tools_used == ["Bash", "Edit", "Grep"]  # first use order, no repeats
    _feed(parser, {"type": "tool_done", "id": "4"}, {"type": "tool_done", "id": "2"})
    assert parser.tool == "Bash"  # id 1 is still open
    _feed(parser, {"type": "tool_done", "id": "1"})
    assert parser.tool == "Bash" and not parser.open_tools  # the last one that was open


def test_a_todo_counts_only_when_its_tool_worked() -> None:
    parser = _parser()
    _feed(
        parser,
        {"type": "tool", "name": "TodoWrite", "id": "1", "todo": True},
        {"type": "tool", "name": "TodoWrite", "id": "2", "todo": True},
        {"type": "tool_done", "id": "1", "ok": False},
        {"type": "tool_done", "id": "2", "ok": True},
        {"type": "tool_done", "id": "9", "ok": True},  # no todo held: nothing
    )
    assert len(parser.todos) == 1 and not parser.pending_todos


@pytest.mark.parametrize(
    ("exit", "stderr", "outcome", "error"),
    [
        (ProcessExit(143, "", 9000, timed_out=True, signal=15), "", "timeout",
         "timed out after 9 s"),
        (ProcessExit(143, "", 10, interrupted=True, signal=15), "", "interrupted",
         "interrupted (Ctrl-C or a stop signal to aio)"),
        # ours first: a timeout is a timeout even when the stderr says the conversation is gone
        (ProcessExit(143, "", 10, timed_out=True), "unknown conversation", "timeout",
         "timed out after 9 s"),
        (ProcessExit(1, "", 10), "unknown conversation", "session_lost", "unknown conversation"),
        (ProcessExit(None, "", 10, signal=9), "", "crash",
         "killed by signal 9 (SIGKILL): last words"),
        (ProcessExit(137, "", 10), "", "crash", "killed by signal 9 (SIGKILL): last words"),
        (ProcessExit(1, "", 10), "Error: 429 Too Many Requests", "rate_limit",
         "Error: 429 Too Many Requests"),
        (ProcessExit(1, "", 10), "Invalid API key", "auth", "Invalid API key"),
        (ProcessExit(1, "", 10), "boom", "crash", "boom"),
    ],
)
def test_a_stream_without_a_result_ends_in_the_shared_order(
    exit: ProcessExit, stderr: str, outcome: str, error: str
) -> None:
    exit.stderr = stderr
    result = _parser(timeout=9).finish(exit)
    assert (result.outcome, result.error) == (outcome, error)


def test_the_result_carries_the_common_fields_and_the_backends_own() -> None:
    parser = _parser()
    _feed(
        parser,
        {"type": "a", "session_id": "s-1"},
        {"type": "tool", "name": "Bash", "id": "1"},
        "noise",
        {"type": "done"},
    )
    parser.model = "m-1"
    result = parser.finish(ProcessExit(0, "", 4321))
    assert result.agent == "mini" and result.outcome == "success" and result.ok
    assert (result.session_id, result.model, result.duration_ms, result.exit_code) == (
        "s-1", "m-1", 4321, 0,
    )
    assert result.tools_used == ["Bash"] and len(result.raw_events) == 4
    assert result.text == "answer" and result.usage == {"m": ModelUsage(input=1)}
    assert result.error is None and not result.session_in_use


# -- the registry's readers of the declarations ---------------------------------------------


def test_declared_is_the_backends_declaration_or_nothing_for_other_names() -> None:
    assert registry.declared("gemini") is registry.capabilities("gemini")
    assert registry.declared("some-imported-agent") == Capabilities()
    assert registry.declared(None) == Capabilities()


def test_the_agent_of_a_provider_is_the_first_backend_declaring_it() -> None:
    assert registry.agent_for_provider("anthropic") == "claude"
    assert registry.agent_for_provider("google") == "gemini"
    assert registry.agent_for_provider("openai") == "codex"
    assert registry.agent_for_provider("mistral") is None
    assert registry.agent_for_provider(None) is None


def test_auto_planners_follow_the_declared_order_and_the_default_agent_is_known() -> None:
    assert registry.auto_planners() == ["gemini", "claude"]
    assert registry.DEFAULT_AGENT in registry.KNOWN_KEYS
    assert registry.label("claude") == "Claude" and registry.label("other") == "other"


def test_every_declared_provider_and_auto_rank_is_unambiguous() -> None:
    providers = [registry.capabilities(k).provider for k in registry.KNOWN_KEYS]
    declared = [p for p in providers if p is not None]
    assert len(declared) == len(set(declared))  # agent_for_provider needs one backend each
    ranks = [registry.capabilities(k).auto_planner for k in registry.KNOWN_KEYS]
    assert len([r for r in ranks if r is not None]) == len({r for r in ranks if r is not None})


def test_a_recorded_call_is_priced_under_its_backends_declared_provider(
    fake_launcher: FakeLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sonnet`` is Claude Code's alias: under Gemini (provider google) it names no model,
    so the call is unpriced and says why; under Claude it is priced."""
    from ai_orchestrator.calls.session_call import CallOptions, run_in_session
    from ai_orchestrator.store import SessionStore

    store = SessionStore()
    for agent in ("gemini", "claude"):
        monkeypatch.setenv(f"AIO_AGENT_{agent.upper()}_EXECUTABLE", str(BIN_DIR / agent))
        fake_launcher.enqueue_result(
            AgentResult(
                agent=agent,
                outcome="success",
                session_id=f"{agent}-conv",
                usage={"sonnet": ModelUsage(input=1000, output=100)},
            )
        )
        run = run_in_session(
            store, f"run-{agent}", "hi", CallOptions(agent=agent, cwd=tmp_path, model="sonnet")
        )
        part = (run.record.usage_by_model or {})["sonnet"]
        if agent == "gemini":
            assert part.priced is False and run.record.cost == 0
            assert "Claude Code alias" in str(part.extra.get("note"))
        else:
            assert part.priced is True and run.record.cost > 0

"""The offline ``scripted`` backend: the demo and test agent, driven through the same protocol.

``build`` launches ``[python, -m, ai_orchestrator.agents.scripted_cli, --session-id ID |
--resume ID, --model M, *extra_args]`` with the prompt on stdin, in ``request.cwd``. The
interpreter is the resolved executable (the registry resolves ``scripted`` to
``sys.executable`` unless ``AIO_AGENT_SCRIPTED_EXECUTABLE`` says otherwise). The scenario comes
from ``extra_args`` (``--scenario PATH``) or ``$AIO_SCRIPTED_SCENARIO``; ``PYTHONPATH`` is
prefixed with this package's root so a source checkout works without installation. The
event format and the scenario format are documented in ``scripted_cli``.

The parser mirrors the real adapters: the newest ``session_id`` wins, non-JSON lines are kept
as noise, the ``result`` event decides the outcome (its ``outcome`` field, one of
``OUTCOMES``), no result is a failure (timeout / interrupted when the runner stopped it, in
words; a signal nobody here sent is a crash naming it, as for every backend; else
session_lost / session_in_use / crash from stderr, with the same messages Claude Code uses).
Usage is per model (``cache_write`` counts as 5m writes); the scripted agent reports no cost,
so ``reported_cost`` stays ``None``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from ai_orchestrator.agents._common import (
    as_dict,
    as_int,
    as_str,
    flag_value,
    permission_mode,
    progress_tokens,
    stderr_tail,
    total_of,
)
from ai_orchestrator.agents.base import (
    PERMISSION_MODES,
    AgentRequest,
    AgentResult,
    Capabilities,
    FileUsage,
    Invocation,
    ProcessExit,
    Progress,
    TodoEvent,
    check_model,
)
from ai_orchestrator.agents.parser_base import StreamParserBase, Verdict
from ai_orchestrator.core import env
from ai_orchestrator.core.usage import OUTCOMES, ModelUsage, Outcome

AGENT_MODULE = "ai_orchestrator.agents.scripted_cli"


def _package_root() -> str:
    import ai_orchestrator

    return str(Path(ai_orchestrator.__file__).resolve().parent.parent)


class ScriptedBackend:
    """Backend for the offline scripted agent (see module docstring)."""

    key = "scripted"
    capabilities = Capabilities(
        label="the scripted agent",
        resume_scope="cwd",  # a scenario and its edits are relative to the cwd it started in
        notional_cost=True,
        model_aliases=("sonnet", "opus", "haiku"),  # priced like Claude's (scripted-sonnet)
        built_in=True,  # keeps no usage of its own: no session files to read
    )

    def build(self, request: AgentRequest, executable: str) -> Invocation:
        argv = [executable or sys.executable, "-m", AGENT_MODULE]
        if request.resume_id:
            argv += ["--resume", flag_value(request.resume_id, "resume id")]
        elif request.new_session_id:
            argv += ["--session-id", flag_value(request.new_session_id, "session id")]
        if request.model:
            argv += ["--model", check_model(request.model)]
        if request.permission.mode:  # not passed (nothing is executed), but checked alike
            permission_mode(request.permission.mode, "scripted", PERMISSION_MODES)
        argv += list(request.extra_args)
        existing = env.get("PYTHONPATH")
        pythonpath = _package_root() + (os.pathsep + existing if existing else "")
        return Invocation(
            argv=argv,
            cwd=request.cwd,
            stdin=request.prompt.encode("utf-8"),
            env={"PYTHONPATH": pythonpath},
        )

    def parser(self, request: AgentRequest) -> ScriptedStreamParser:
        return ScriptedStreamParser(request)

    def read_back(
        self,
        session_id: str,
        cwd: Path,
        since: datetime,
        state: Mapping[str, Any],
        resume_id: str | None,
    ) -> FileUsage | None:
        """The scripted agent keeps no usage of its own: nothing to read back."""
        return None


class ScriptedStreamParser(StreamParserBase):
    """Parser for the scripted agent's JSONL events."""

    agent = "scripted"

    def __init__(self, request: AgentRequest) -> None:
        super().__init__(request)
        self._text = ""
        self._result: dict[str, Any] | None = None

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "init":
            self.model = as_str(event.get("model"))
        elif kind == "tool":
            name = str(event.get("name") or "?")
            self.saw_tool(name)
            self.tool = name
        elif kind == "todo" and isinstance(event.get("items"), list):
            items = [dict(i) for i in event["items"] if isinstance(i, dict)]
            self.todos.append(TodoEvent(tool="todo", items=items, replaces=True))
        elif kind == "text":
            self._text = str(event.get("text") or "")
        elif kind == "result":
            self._result = event

    def _usage(self) -> dict[str, ModelUsage]:
        usage: dict[str, ModelUsage] = {}
        for name, raw in as_dict((self._result or {}).get("usage")).items():
            counts = as_dict(raw)
            usage[str(name)] = ModelUsage(
                input=as_int(counts.get("input")),
                output=as_int(counts.get("output")),
                cache_read=as_int(counts.get("cache_read")),
                cache_write_5m=as_int(counts.get("cache_write")),
                requests=1,
            )
        return usage

    def progress(self) -> Progress:
        return Progress(
            turns=as_int((self._result or {}).get("turns")),
            **progress_tokens(total_of(self._usage())),
            tool=self.tool,
        )

    def finish(self, exit: ProcessExit) -> AgentResult:
        result = self._result or {}
        return self.result(
            exit,
            self._classify(exit),
            text=as_str(result.get("text")) or self._text,
            model=as_str(result.get("model")) or self.model,
            usage=self._usage(),
            turns=as_int(result.get("turns")),
        )

    def _classify(self, exit: ProcessExit) -> Verdict:
        stderr = exit.stderr or ""
        in_use = "is already in use" in stderr
        if self._result is not None:
            outcome = str(self._result.get("outcome") or "crash")
            message = as_str(self._result.get("error"))
            if outcome == "success":
                return Verdict("success", None, in_use)
            if outcome in OUTCOMES:
                return Verdict(cast(Outcome, outcome), message or f"scripted {outcome}", in_use)
            return Verdict("crash", f"unknown scripted outcome {outcome!r}", in_use)
        tail = stderr_tail(stderr)
        return self.stopped_or_killed(
            exit,
            tail or f"no result (exit code {exit.exit_code})",
            lost="No conversation found" in stderr,
            detail=tail,
            in_use=in_use,
        )

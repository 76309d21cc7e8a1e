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
from pathlib import Path
from typing import Any, cast

from ai_orchestrator.agents._common import (
    ProgressTracker,
    as_dict,
    as_int,
    as_str,
    flag_value,
    killed_message,
    load_event,
    permission_mode,
    progress_tokens,
    stderr_tail,
    stopped_by_us,
    total_of,
)
from ai_orchestrator.agents.base import (
    PERMISSION_MODES,
    AgentRequest,
    AgentResult,
    Invocation,
    ProcessExit,
    Progress,
    TodoEvent,
    check_model,
)
from ai_orchestrator.core import env
from ai_orchestrator.core.usage import OUTCOMES, ModelUsage, Outcome

AGENT_MODULE = "ai_orchestrator.agents.scripted_cli"


def _package_root() -> str:
    import ai_orchestrator

    return str(Path(ai_orchestrator.__file__).resolve().parent.parent)


class ScriptedBackend:
    """Backend for the offline scripted agent (see module docstring)."""

    key = "scripted"

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


class ScriptedStreamParser:
    """Parser for the scripted agent's JSONL events."""

    def __init__(self, request: AgentRequest) -> None:
        self._request = request
        self._raw: list[dict[str, Any]] = []
        self._session_id: str | None = None
        self._model: str | None = None
        self._text = ""
        self._result: dict[str, Any] | None = None
        self._todos: list[TodoEvent] = []
        self._tools_used: list[str] = []
        self._tool: str | None = None
        self._progress = ProgressTracker()

    def feed(self, line: str) -> Progress | None:
        if not line.strip():
            return None
        event = load_event(line)
        if event is None:
            self._raw.append({"type": "noise", "line": line})
            return None
        self._raw.append(event)
        self._session_id = as_str(event.get("session_id")) or self._session_id
        kind = event.get("type")
        if kind == "init":
            self._model = as_str(event.get("model"))
        elif kind == "tool":
            self._tool = str(event.get("name") or "?")
            if self._tool not in self._tools_used:
                self._tools_used.append(self._tool)
        elif kind == "todo" and isinstance(event.get("items"), list):
            items = [dict(i) for i in event["items"] if isinstance(i, dict)]
            self._todos.append(TodoEvent(tool="todo", items=items, replaces=True))
        elif kind == "text":
            self._text = str(event.get("text") or "")
        elif kind == "result":
            self._result = event
        return self._snapshot()

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

    def _snapshot(self) -> Progress | None:
        total = total_of(self._usage())
        return self._progress.update(
            Progress(
                turns=as_int((self._result or {}).get("turns")),
                **progress_tokens(total),
                tool=self._tool,
            )
        )

    def finish(self, exit: ProcessExit) -> AgentResult:
        result = self._result or {}
        outcome, error, in_use = self._classify(exit)
        return AgentResult(
            agent="scripted",
            outcome=outcome,
            text=as_str(result.get("text")) or self._text,
            session_id=self._session_id,
            model=as_str(result.get("model")) or self._model,
            usage=self._usage(),
            turns=as_int(result.get("turns")),
            duration_ms=exit.duration_ms,
            error=error,
            exit_code=exit.exit_code,
            todos=self._todos,
            tools_used=self._tools_used,
            raw_events=self._raw,
            session_in_use=in_use,
        )

    def _classify(self, exit: ProcessExit) -> tuple[Outcome, str | None, bool]:
        stderr = exit.stderr or ""
        in_use = "is already in use" in stderr
        if self._result is not None:
            outcome = str(self._result.get("outcome") or "crash")
            message = as_str(self._result.get("error"))
            if outcome == "success":
                return "success", None, in_use
            if outcome in OUTCOMES:
                return cast(Outcome, outcome), message or f"scripted {outcome}", in_use
            return "crash", f"unknown scripted outcome {outcome!r}", in_use
        stopped = stopped_by_us(exit, self._request.timeout)
        if stopped is not None:
            return stopped[0], stopped[1], in_use
        message = stderr_tail(stderr) or f"no result (exit code {exit.exit_code})"
        sig = exit.killed_by()
        if sig is not None:  # a signal nobody here sent (OOM killer, a user's kill …)
            return "crash", killed_message(sig, stderr_tail(stderr)), in_use
        if "No conversation found" in stderr:
            return "session_lost", message, in_use
        return "crash", message, in_use

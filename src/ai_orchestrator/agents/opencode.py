"""OpenCode adapter: ``opencode run --format json`` with the prompt on stdin.

Launch contract (``OpenCodeBackend.build``)
    ``[exe, run, --format, json, (-m M), (--session ID (--fork)), (--agent plan | --auto),
    *extra_args]``; no message argument, so OpenCode reads the prompt from stdin (an argv
    message would also be re-quoted by the CLI when it holds spaces). OpenCode names a new
    session itself (``ses_…``, in every event's ``sessionID``), so ``new_session_id`` is
    unused. ``fork`` (with ``resume_id``) is ``--session ID --fork``: a copy continues, the
    stored session stays as it was. ``request.model`` is OpenCode's ``provider/model`` and
    must pass ``base.check_model``. Permission modes (Claude's vocabulary): ``plan`` runs
    OpenCode's read-only ``plan`` agent, ``bypassPermissions`` adds ``--auto`` (approve
    what is not explicitly denied), the others keep OpenCode's configured permissions. When
    ``extra_args`` already choose a model, an agent or ``--auto``, ours is left out.
    ``allowed_tools``, ``max_turns`` and ``max_budget_usd`` have no OpenCode flag.

Parse contract (``OpenCodeStreamParser``)
    - Events are ``{"type", "timestamp", "sessionID", "part"|"error"}``; the newest
      ``sessionID`` is the session id. OpenCode prints a part when it is complete, so a
      step's events arrive together at the step's end (a call stopped mid-request has
      printed nothing for that request).
    - ``step_finish.part`` carries one API request's ``tokens {input, output, reasoning,
      cache{read, write}}`` and ``cost`` (USD, from OpenCode's model prices). Every step is
      summed; a step printed twice (same session, message and part id) counts once, the
      last copy winning. OpenCode's ``input`` already excludes cache reads and writes and
      its ``output`` excludes reasoning, so: ``input = input``, ``output = output +
      reasoning``, ``reasoning = reasoning``, ``cache_read = cache.read``,
      ``cache_write_5m = cache.write`` (OpenCode does not split cache writes by TTL).
      ``reported_cost`` is the sum of the steps' ``cost``.
    - Subagents: the ``task`` tool runs one in a session of its own (its completed part's
      ``state.metadata.sessionId``) whose steps the stream never prints. At the end their
      ``step-finish`` parts written since the parser was made (that session's and those of
      sessions below it) are read from ``opencode.db`` and added, under their own models.
    - Text: the ``text`` parts of the last message that had any, joined. Tools:
      ``tool_use`` parts (``part.tool``, open until ``state.status`` is completed or
      error); ``todowrite`` with ``state.input.todos`` becomes a replacing ``TodoEvent``
      when it completed.
    - Model: the stream never names it. ``request.model``, else ``-m``/``--model`` in
      ``extra_args``, else the ``providerID/modelID`` OpenCode stored on the call's
      assistant messages (read back from its SQLite store, ``opencode_db``), else
      ``"unknown"`` — never a guess.
    - Outcome: an ``error`` event decides: ``error.data.statusCode`` / message (or the name
      ``ProviderAuthError``) → auth / rate_limit, a resume of a session OpenCode does not have →
      session_lost, else api_error with the message. Otherwise exit 0 after at least one step →
      success. Without either: timeout / interrupted only when the runner says *we* stopped it,
      a signal → crash "killed by signal N", else crash with the stderr tail. When *we*
      stopped it, or the error is ``MessageAbortedError`` (OpenCode's word for a prompt
      aborted by a signal), the error event does not decide: the stop does.

Read back (``OpenCodeBackend.read_back``): the ``step-finish`` parts of the session and of
the sessions below it (subagents) in ``opencode.db`` written since the call started
(read-only; a store being written is read as it stands), the model from each part's message.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ai_orchestrator.agents._common import (
    as_dict,
    as_float,
    as_int,
    as_str,
    classify_error_text,
    flag_value,
    one_line,
    permission_mode,
    progress_tokens,
    stderr_tail,
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
    SessionFiles,
    TodoEvent,
    check_model,
)
from ai_orchestrator.agents.parser_base import StreamParserBase, Verdict
from ai_orchestrator.core import env
from ai_orchestrator.core.usage import ModelUsage

_MODEL_FLAGS = ("-m", "--model")
_MODE_FLAGS = ("--agent", "--auto")
_LOST = ("session not found", "notfounderror", "no session")
_TODO_TOOL = "todowrite"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def opencode_db() -> Path | None:
    """OpenCode's SQLite store (sessions, messages, parts with each step's tokens and cost):
    ``$OPENCODE_DB`` (absolute, or relative to the data dir), else
    ``${XDG_DATA_HOME:-~/.local/share}/opencode/opencode.db``; ``None`` for ``:memory:``.
    (Here, not in ``agents.homes.locations``: only this backend reads it.)"""
    base = env.get("XDG_DATA_HOME") or os.path.join(env.home(), ".local", "share")
    data = Path(base) / "opencode"
    configured = env.get("OPENCODE_DB")
    if configured == ":memory:":
        return None
    return data / configured if configured else data / "opencode.db"


def _has_flag(args: Sequence[str], names: Sequence[str]) -> bool:
    return any(a in names or any(a.startswith(n + "=") for n in names) for a in args)


def model_from_args(args: Sequence[str]) -> str | None:
    """The model chosen by ``-m X`` or ``--model[=]X`` in ``args``."""
    found: str | None = None
    for i, arg in enumerate(args):
        if arg in _MODEL_FLAGS and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith("--model="):
            found = arg.split("=", 1)[1]
    return found or None


def step_usage(part: Mapping[str, Any]) -> ModelUsage:
    """One ``step-finish`` part's ``tokens`` → ``ModelUsage`` (module docstring)."""
    tokens = as_dict(part.get("tokens"))
    cache = as_dict(tokens.get("cache"))
    reasoning = as_int(tokens.get("reasoning"))
    return ModelUsage(
        input=as_int(tokens.get("input")),
        output=as_int(tokens.get("output")) + reasoning,
        reasoning=reasoning,
        cache_read=as_int(cache.get("read")),
        cache_write_5m=as_int(cache.get("write")),
        requests=1,
    )


def _connect(path: Path) -> sqlite3.Connection | None:
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error:
        return None
    return db


def _message_models(db: sqlite3.Connection, session_id: str) -> dict[str, str]:
    """message id → ``providerID/modelID`` of the session's assistant messages."""
    models: dict[str, str] = {}
    for message_id, raw in db.execute(
        "SELECT id, data FROM message WHERE session_id = ?", (session_id,)
    ):
        model = model_of(_json(raw))
        if model != "unknown":
            models[str(message_id)] = model
    return models


def _json(raw: Any) -> dict[str, Any]:
    try:
        return as_dict(json.loads(raw))
    except (TypeError, ValueError):
        return {}


def stored_models(session_id: str, message_ids: Sequence[str]) -> dict[str, str]:
    """The model OpenCode stored for each of ``message_ids`` (empty when unreadable)."""
    path = opencode_db()
    db = _connect(path) if path is not None and session_id else None
    if db is None:
        return {}
    try:
        models = _message_models(db, session_id)
    except sqlite3.Error:
        return {}
    finally:
        db.close()
    return {m: models[m] for m in message_ids if m in models}


# The sessions named and every session below them (subagents: ``session.parent_id``).
_TREE = (
    "WITH RECURSIVE tree(id) AS (SELECT id FROM session WHERE id IN ({ids})"
    " UNION SELECT s.id FROM session s JOIN tree t ON s.parent_id = t.id)"
    " SELECT p.time_created, p.data, m.data FROM part p JOIN tree t ON p.session_id = t.id"
    " LEFT JOIN message m ON m.id = p.message_id"
    " WHERE p.time_created >= ? AND p.data LIKE '%step-finish%' ORDER BY p.time_created, p.id"
)


def model_of(message: Mapping[str, Any]) -> str:
    """``providerID/modelID`` of a stored message (what ``aio run`` records); ``"unknown"``."""
    provider, model = as_str(message.get("providerID")), as_str(message.get("modelID"))
    if not model:
        return "unknown"
    return f"{provider}/{model}" if provider else model


def stored_steps(
    path: Path, session_ids: Sequence[str], since_ms: int
) -> list[tuple[int, str, ModelUsage, float | None]] | None:
    """(time, model, usage, cost) of every ``step-finish`` part OpenCode stored since
    ``since_ms`` in ``session_ids`` and the sessions below them (subagents); ``None`` when the
    store cannot be read."""
    db = _connect(path) if session_ids else None
    if db is None:
        return None
    try:
        query = _TREE.format(ids=", ".join("?" * len(session_ids)))
        rows = db.execute(query, (*session_ids, since_ms)).fetchall()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    found = []
    for created, raw, message in rows:
        data = _json(raw)
        if data.get("type") == "step-finish":
            cost = as_float(data.get("cost"))
            found.append((as_int(created), model_of(_json(message)), step_usage(data), cost))
    return found


def _read_steps(
    path: Path, session_id: str, since: datetime
) -> tuple[dict[str, ModelUsage], dict[str, list[ModelUsage]], datetime | None] | None:
    steps = stored_steps(path, [session_id], int(since.timestamp() * 1000))
    if steps is None:
        return None
    usage: dict[str, ModelUsage] = {}
    requests: dict[str, list[ModelUsage]] = {}
    last: int | None = None
    for created, model, step, _ in steps:
        usage.setdefault(model, ModelUsage()).add(step)
        requests.setdefault(model, []).append(step)
        last = max(last or 0, created)
    moment = datetime.fromtimestamp(last / 1000, tz=UTC) if last else None
    return usage, requests, moment


class OpenCodeBackend:
    """Backend for the ``opencode`` CLI (see module docstring)."""

    key = "opencode"
    capabilities = Capabilities(
        fork=True,  # run --session ID --fork
        mints_own_ids=True,  # ses_… arrives in the stream; it takes no id of ours
        provider=None,  # any provider: priced by the model name (provider/model)
        tested_version="1.18.33",
        session_files=lambda: [SessionFiles(p, "opencode", "") for p in [opencode_db()] if p],
    )

    def build(self, request: AgentRequest, executable: str) -> Invocation:
        extra = list(request.extra_args)
        argv = [executable, "run", "--format", "json"]
        if request.model and not _has_flag(extra, _MODEL_FLAGS):
            argv += ["-m", check_model(request.model)]
        if request.resume_id:
            argv += ["--session", flag_value(request.resume_id, "resume id")]
            if request.fork:
                argv.append("--fork")
        mode = request.permission.mode
        if mode is not None:
            mode = permission_mode(mode, "opencode", PERMISSION_MODES)
            if not _has_flag(extra, _MODE_FLAGS):
                if mode == "plan":
                    argv += ["--agent", "plan"]
                elif mode == "bypassPermissions":
                    argv.append("--auto")
        argv += extra
        return Invocation(argv=argv, cwd=request.cwd, stdin=request.prompt.encode("utf-8"))

    def parser(self, request: AgentRequest) -> OpenCodeStreamParser:
        return OpenCodeStreamParser(request)

    def read_back(
        self,
        session_id: str,
        cwd: Path,
        since: datetime,
        state: Mapping[str, Any],
        resume_id: str | None,
    ) -> FileUsage | None:
        """The session's ``step-finish`` parts in ``opencode.db`` written since ``since``,
        one request each, under the model of the message they belong to."""
        path = opencode_db()
        if path is None:
            return None
        steps = _read_steps(path, session_id, since)
        if steps is None:
            return None
        usage, requests, last = steps
        return FileUsage("opencode-db", path, usage=usage, requests=requests, last_at=last)


class OpenCodeStreamParser(StreamParserBase):
    """Incremental parser for one ``opencode run --format json`` run."""

    agent = "opencode"
    session_field = "sessionID"

    def __init__(self, request: AgentRequest) -> None:
        super().__init__(request)
        self._steps: dict[tuple[str, str, str], tuple[str, ModelUsage, float | None]] = {}
        self._texts: dict[str, dict[str, str]] = {}  # message id -> part id -> text
        self._last_text_message: str | None = None
        self._error: dict[str, Any] | None = None
        # Subagents run in sessions of their own whose steps the stream never shows: their
        # ids (the task tool's ``metadata.sessionId``) and, once read, their stored steps.
        self._children: list[str] = []
        self._child_steps: list[tuple[int, str, ModelUsage, float | None]] = []
        self._since_ms = int(time.time() * 1000)

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        part = as_dict(event.get("part"))
        message = str(part.get("messageID") or "")
        if kind == "step_finish":
            key = (str(part.get("sessionID") or self.session_id), message, str(part.get("id")))
            self._steps[key] = (message, step_usage(part), as_float(part.get("cost")))
        elif kind == "text" and isinstance(part.get("text"), str):
            self._texts.setdefault(message, {})[str(part.get("id"))] = part["text"]
            if part["text"].strip():
                self._last_text_message = message
        elif kind == "tool_use":
            self._on_tool(part)
        elif kind == "error":
            self._error = as_dict(event.get("error"))

    def _on_tool(self, part: dict[str, Any]) -> None:
        name = str(part.get("tool") or "tool")
        call = str(part.get("callID") or part.get("id") or "")
        state = as_dict(part.get("state"))
        status = state.get("status")
        if status in ("pending", "running"):
            self.start_tool(name, call)
            return
        self.saw_tool(name)
        self.end_tool(call)
        self.tool = name
        child = as_str(as_dict(state.get("metadata")).get("sessionId"))
        if child and child != self.session_id and child not in self._children:
            self._children.append(child)
        todos = as_dict(state.get("input")).get("todos")
        if name == _TODO_TOOL and status == "completed" and isinstance(todos, list):
            items = [
                {"content": t.get("content"), "status": t.get("status")}
                for t in todos
                if isinstance(t, dict)
            ]
            self.todos.append(TodoEvent(tool=name, items=items, replaces=True))

    def _usage_by_message(self) -> list[tuple[str, ModelUsage]]:
        return [(message, usage) for message, usage, _ in self._steps.values()]

    def _cost(self) -> float | None:
        costs = [cost for _, _, cost in self._steps.values() if cost is not None]
        costs += [cost for _, _, _, cost in self._child_steps if cost is not None]
        return sum(costs) if costs else None

    def progress(self) -> Progress:
        total = ModelUsage()
        for _, usage in self._usage_by_message():
            total.add(usage)
        return Progress(
            turns=len(self._steps),
            **progress_tokens(total),
            cost=self._cost(),
            tool=self.tool,
            tool_running=bool(self.open_tools),
            usage={self._fixed_model() or "unknown": total} if self._steps else {},
            session_id=self.session_id,
        )

    def _fixed_model(self) -> str | None:
        return self.request.model or model_from_args(list(self.request.extra_args))

    def _per_model(self) -> dict[str, ModelUsage]:
        steps = self._usage_by_message()
        fixed = self._fixed_model()
        stored: dict[str, str] = {}
        if fixed is None and steps and self.session_id:
            stored = stored_models(self.session_id, [m for m, _ in steps])
        usage: dict[str, ModelUsage] = {}
        for message, step in steps:
            usage.setdefault(fixed or stored.get(message, "unknown"), ModelUsage()).add(step)
        for _, model, step, _ in self._child_steps:
            name = model if model != "unknown" else fixed or model
            usage.setdefault(name, ModelUsage()).add(step)
        return usage

    def finish(self, exit: ProcessExit) -> AgentResult:
        path = opencode_db()
        if self._children and path is not None:
            self._child_steps = stored_steps(path, self._children, self._since_ms) or []
        usage = self._per_model()
        if usage:  # the model that did most of the work names the call
            self.model = max(usage, key=lambda m: usage[m].input + usage[m].output)
        texts = self._texts.get(self._last_text_message or "", {})
        return self.result(
            exit,
            self._classify(exit),
            text="".join(texts.values()).strip(),
            usage=usage,
            reported_cost=self._cost(),
            turns=len(self._steps),
        )

    def _classify(self, exit: ProcessExit) -> Verdict:
        stderr = _ANSI.sub("", exit.stderr or "")
        aborted = as_str(as_dict(self._error).get("name")) == "MessageAbortedError"
        if self._error is not None and not aborted and not (exit.timed_out or exit.interrupted):
            data = as_dict(self._error.get("data"))
            name = as_str(self._error.get("name")) or "error"
            message = one_line(as_str(data.get("message")) or name)
            status = data.get("statusCode")
            lowered = f"{name} {message}".lower()
            if self.request.resume_id and any(m in lowered for m in _LOST):
                return Verdict("session_lost", message)
            if name == "ProviderAuthError":  # no key / login for the provider
                return Verdict("auth", message)
            status_int = status if isinstance(status, int) else None
            return Verdict(classify_error_text(message, status_int) or "api_error", message)
        tail = stderr_tail(stderr)
        ended_itself = not (exit.timed_out or exit.interrupted) and exit.killed_by() is None
        if exit.exit_code == 0 and self._steps and ended_itself:
            return Verdict("success")
        lost = bool(self.request.resume_id) and any(m in stderr.lower() for m in _LOST)
        return self.stopped_or_killed(
            exit,
            tail or f"no step finished (exit {exit.exit_code})",
            lost=lost,
            detail=tail,
            prose=stderr,
        )

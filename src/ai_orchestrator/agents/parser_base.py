"""The stream-parser base every backend's parser builds on (``StreamParserBase``).

It owns what every agent CLI's JSON-lines stream has in common, so a backend's parser keeps
only what is its own (its event types, its usage arithmetic, its error vocabulary):

- ``feed``: blank lines are skipped; a line that is not a JSON object is kept in
  ``raw_events`` as ``{"type": "noise", "line": …}`` and never breaks the stream (banners,
  warnings, version nags); every object is kept in ``raw_events``; the newest non-empty
  ``session_field`` value is the session id (never guessed; ``None`` for a CLI naming its
  conversation in a particular event, which then calls ``note_session``); the event goes to
  ``on_event``; the return value is a ``Progress`` snapshot only when it changed.
- tools: ``start_tool``/``end_tool`` keep ``tools_used`` (first use order, no repeats), the open
  tools and ``tool`` (the newest open one, else the last one that was open); ``saw_tool``
  notes a tool seen only in passing.
- todos: ``hold_todo`` keeps a todo/task tool's event until its result, ``settle_todo``
  records it only when the tool worked (a refused todo tool must not change the list).
- classification: ``stopped_or_killed`` is the shared ending when the stream has no terminal
  event: *our* timeout / interrupt in words (only the runner's flags count), else a stored
  conversation that is gone (``session_lost``), else a signal nobody here sent (crash
  ``killed by signal N (NAME)``), else auth / rate_limit by the given prose, else crash.
- ``result``: the one ``AgentResult`` build: the fields every parser fills the same way
  (agent key, session id, model, duration and exit code of the process, todos, tools, raw
  events, the ``Verdict``) plus what the backend passes.

A subclass sets ``agent`` (its backend key) and implements ``on_event``, ``progress`` and
``finish`` (which calls ``result``). Invariants are those of ``agents.base``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ai_orchestrator.agents._common import (
    ProgressTracker,
    as_str,
    classify_error_text,
    killed_message,
    load_event,
    stopped_by_us,
)
from ai_orchestrator.agents.base import AgentRequest, AgentResult, ProcessExit, Progress, TodoEvent
from ai_orchestrator.core.usage import Outcome


@dataclass(frozen=True)
class Verdict:
    """How a call ended: its outcome, the error in one line (``None`` on success), and whether
    the CLI said the conversation id is already in use (the caller then resumes it)."""

    outcome: Outcome
    error: str | None = None
    session_in_use: bool = False


class StreamParserBase:
    """Common state and steps of a backend's stream parser (see the module docstring)."""

    agent: ClassVar[str]  # the backend key written on every result
    session_field: ClassVar[str | None] = "session_id"  # the event field naming the session

    def __init__(self, request: AgentRequest) -> None:
        self.request = request
        self.raw: list[dict[str, Any]] = []
        self.session_id: str | None = None
        self.model: str | None = None
        self.todos: list[TodoEvent] = []
        self.tools_used: list[str] = []
        self.tool: str | None = None
        self.open_tools: dict[str, str] = {}  # tool call id -> name, while it runs
        self.pending_todos: dict[str, TodoEvent] = {}  # tool call id -> event awaiting result
        self._tracker = ProgressTracker()

    # -- the stream ---------------------------------------------------------------------------
    def feed(self, line: str) -> Progress | None:
        """Take one stdout line (without newline); a snapshot when the progress changed."""
        if not line.strip():
            return None
        event = load_event(line)
        if event is None:
            self.raw.append({"type": "noise", "line": line})  # banners etc.: kept, never fatal
            return None
        self.raw.append(event)
        if self.session_field is not None:
            self.note_session(event.get(self.session_field))
        self.on_event(event)
        return self.changed()

    def on_event(self, event: dict[str, Any]) -> None:
        """Take one JSON event of the stream (already kept in ``raw``)."""
        raise NotImplementedError

    def progress(self) -> Progress:
        """The running totals now (``feed`` and ``changed`` drop repeats)."""
        raise NotImplementedError

    def changed(self) -> Progress | None:
        """``progress()`` when it differs from the last snapshot handed out, else ``None``."""
        return self._tracker.update(self.progress())

    def note_session(self, value: Any) -> None:
        """The newest session id the stream names wins; empty or non-string values do not."""
        self.session_id = as_str(value) or self.session_id

    # -- tools and todos ----------------------------------------------------------------------
    def saw_tool(self, name: str) -> None:
        if name not in self.tools_used:
            self.tools_used.append(name)

    def start_tool(self, name: str, tool_id: str = "") -> None:
        self.saw_tool(name)
        self.open_tools[tool_id] = name
        self.tool = name

    def end_tool(self, tool_id: str) -> None:
        self.open_tools.pop(tool_id, None)
        self.tool = next(reversed(self.open_tools.values()), self.tool)

    def hold_todo(self, tool_id: str, event: TodoEvent) -> None:
        self.pending_todos[tool_id] = event

    def settle_todo(self, tool_id: str, worked: bool) -> TodoEvent | None:
        """The held event of ``tool_id``, recorded when its tool ``worked``."""
        event = self.pending_todos.pop(tool_id, None)
        if event is None or not worked:
            return None
        self.todos.append(event)
        return event

    # -- the end ------------------------------------------------------------------------------
    def finish(self, exit: ProcessExit) -> AgentResult:
        """Build the normalised result once the process has ended."""
        raise NotImplementedError

    def stopped_or_killed(
        self,
        exit: ProcessExit,
        message: str,
        *,
        lost: bool = False,
        detail: str = "",
        prose: str = "",
        in_use: bool = False,
    ) -> Verdict:
        """The shared ending of a stream without a terminal event (module docstring):
        ``message`` is the error otherwise, ``detail`` the agent's last words after a signal,
        ``prose`` the text searched for auth / rate-limit causes."""
        stopped = stopped_by_us(exit, self.request.timeout)
        if stopped is not None:
            return Verdict(stopped[0], stopped[1], in_use)
        if lost:
            return Verdict("session_lost", message, in_use)
        sig = exit.killed_by()
        if sig is not None:  # a signal nobody here sent (OOM killer, a user's kill …)
            return Verdict("crash", killed_message(sig, detail), in_use)
        return Verdict(classify_error_text(prose) or "crash", message, in_use)

    def result(self, exit: ProcessExit, verdict: Verdict, **fields: Any) -> AgentResult:
        """The ``AgentResult``: the common fields from the parser's state, the exit and the
        verdict; ``fields`` adds or overrides the rest (``text``, ``usage``, ``turns`` …)."""
        common: dict[str, Any] = {
            "agent": self.agent,
            "outcome": verdict.outcome,
            "error": verdict.error,
            "session_in_use": verdict.session_in_use,
            "session_id": self.session_id,
            "model": self.model,
            "duration_ms": exit.duration_ms,
            "exit_code": exit.exit_code,
            "todos": self.todos,
            "tools_used": self.tools_used,
            "raw_events": self.raw,
        }
        return AgentResult(**{**common, **fields})

"""Gemini CLI adapter: ``gemini -o stream-json`` with the prompt on stdin.

Launch contract (``GeminiBackend.build``)
    ``[exe, -o, stream-json]`` then ``--resume <id>`` (resume; the CLI keeps the id) or
    ``--session-id <uuid>`` (new session with our id), ``-m <model>``, ``--approval-mode``,
    ``--allowed-tools a,b`` and ``request.extra_args``. No ``-p``: when stdin is not a TTY the
    CLI runs one-shot and reads the prompt from stdin (``-p`` would need the prompt as its
    value, i.e. on argv). Permission mapping (``Permission.mode`` uses Claude's vocabulary):
    ``acceptEdits`` → ``auto_edit`` (edit tools auto-approved, shell still needs an explicit
    allow), ``plan`` → ``plan``, ``default``/``dontAsk`` → ``default``, ``bypassPermissions`` →
    ``yolo``; Gemini's own ``auto_edit``/``yolo`` pass as is and anything else is refused
    (``InvalidInput``); ``None`` leaves the user's configuration alone. Allowed tools given
    with Claude names are translated (``Bash`` → ``run_shell_command``, ``Edit`` →
    ``replace``, ``Write`` → ``write_file``); other names pass through as Gemini tool names.
    Gemini has no flag for a turn or budget limit (``model.maxSessionTurns`` is a setting), so
    those request fields are not passed; workspace trust is never bypassed (exit 55 is
    reported as a crash with the CLI's message).

Why stream-json and not ``-o json``
    stream-json gives live progress, tool calls and ``write_todos`` todo lists; ``-o json``
    prints one document at the end. Its only gap is that ``result.stats`` leaves out thought
    tokens. Per model ``total_tokens = prompt + candidates + thoughts + tool_prompt``, so we
    recover ``thoughts = total - prompt - candidates`` (clamped at 0) whenever no explicit
    ``thoughts`` field is present. That is exact while ``tool_prompt`` is 0, which it is for the
    CLI's function calling (``toolUsePromptTokenCount`` only counts server-side tool prompts;
    ``tool: 0`` in every observed run); if a future stream reports ``thoughts``/``tool``
    explicitly they are used as given (``tool`` counts as input, billed at the input rate).

Normalised usage per model (``stats.models``, utility models included)
    ``input = prompt - cached`` (``prompt`` includes cached), ``cache_read = cached``,
    ``output = candidates + thoughts``, ``reasoning = thoughts``. ``-o json``-shaped entries
    (``tokens{prompt, candidates, cached, thoughts, tool}``) are accepted too.
    ``requests`` comes from ``api.totalRequests`` when present, else (single model only) the
    number of model turns we counted. Gemini reports no cost.

Outcome
    ``result.status`` first, then the exit code: 0 success; 1 api_error (or auth / rate_limit
    by message) when a result or ``[ERROR]`` document reports it, crash when nothing does;
    41 auth; 42 input errors — "already exists" sets ``session_in_use`` (crash),
    "Invalid session identifier" / "No previous sessions found" → session_lost, else crash;
    44/52/54/55 crash; 53 max_turns (also a "Maximum session turns" error event with a
    success result); HTTP status mod 256 (144-255 ↔ 400-511): 401/403 → auth, 429 →
    rate_limit, others api_error. ``timeout`` ("timed out after N s") and ``interrupted`` only
    when the runner says *we* stopped it; killed by a signal (or 129-143 without any result)
    → crash "killed by signal N"; 130 (Gemini's own cancellation) without our Ctrl-C → crash.
    A ``[ERROR] {json}`` document on stderr (json-mode errors, pretty-printed) is parsed for its
    message, code and session id. The error message is, first found: the result's
    ``error.message``, the stream's last ``error`` event (an error inside the HTTP stream or a
    dropped stream: ``status: "error"`` with exit 0 and the reason only there), the stderr
    document's, the stderr tail; always one line (the 429 message has two).
    Text is the assistant content of the last model turn that had any (its delta chunks
    joined), i.e. the answer after the last tool result — consistent with Claude and Codex;
    ``-o json``'s ``response`` would glue every turn's narration together without separator.
    A ``write_todos`` call becomes a replacing ``TodoEvent`` (``{content, status}``) once its
    ``tool_result`` reports success (the tool is not offered in every approval mode).
    All-zero model entries (error results) are dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from ai_orchestrator.agents._common import (
    approval_flags,
    as_dict,
    as_int,
    as_str,
    classify_error_text,
    flag_value,
    killed_message,
    one_line,
    progress_tokens,
    prompt_side,
    stderr_tail,
    stopped_by_us,
    total_of,
)
from ai_orchestrator.agents.base import (
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
from ai_orchestrator.agents.homes.agent_files import MAX_BYTES, add, at, counts, json_lines
from ai_orchestrator.agents.homes.locations import gemini_tmp_dir
from ai_orchestrator.agents.parser_base import StreamParserBase, Verdict
from ai_orchestrator.core.usage import ModelUsage, Outcome

APPROVAL_MODES = {
    "acceptEdits": "auto_edit",
    "plan": "plan",
    "default": "default",
    "dontAsk": "default",
    "bypassPermissions": "yolo",
}
# The CLI's own approval modes, accepted as they are besides ours (mapped above).
MODES = ("auto_edit", "yolo")
# Informational stderr lines that would otherwise crowd out the error message.
_STDERR_NOISE = (
    "Loaded cached credentials",
    "YOLO mode is enabled",
    "Ripgrep is not available",
    "Warning: --allowed-tools",  # deprecation notice whenever --allowed-tools is given
    "Warning: True color",  # printed at start-up without a colour terminal: always there
)
# The line naming the fatal error of a crash (the rest is stack traces and retries).
_STDERR_CAUSE = ("An unexpected critical error occurred",)
_TOOL_NAMES = {"Bash": "run_shell_command", "Edit": "replace", "Write": "write_file"}
_SIMPLE_EXITS: dict[int, Outcome] = {
    41: "auth",
    44: "crash",
    52: "crash",
    53: "max_turns",
    54: "crash",
    55: "crash",
}


def http_status_from_exit(code: int | None) -> int | None:
    """The HTTP status behind an exit code of ``status % 256`` (400-511 ↔ 144-255)."""
    if code is not None and 144 <= code <= 255:
        return code + 256
    return None


def stderr_error(stderr: str) -> dict[str, Any]:
    """The last ``{..., "error": {...}}`` JSON document printed on stderr (may be multi-line)."""
    decoder = json.JSONDecoder()
    found: dict[str, Any] = {}
    for match in re.finditer(r"(?m)(?:^|\[ERROR\] )\{", stderr or ""):
        start = match.end() - 1
        try:
            doc, _ = decoder.raw_decode(stderr, start)
        except ValueError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
            found = doc
    return found


def usage_from_stats(entry: dict[str, Any]) -> ModelUsage:
    """One ``stats.models.<m>`` entry (stream-json or json shape) → ``ModelUsage``."""
    tokens = as_dict(entry.get("tokens"))
    if tokens:  # -o json shape
        prompt, cached = as_int(tokens.get("prompt")), as_int(tokens.get("cached"))
        candidates, total = as_int(tokens.get("candidates")), as_int(tokens.get("total"))
        raw_thoughts, tool = tokens.get("thoughts"), as_int(tokens.get("tool"))
    else:  # stream-json shape
        prompt, cached = as_int(entry.get("input_tokens")), as_int(entry.get("cached"))
        candidates, total = as_int(entry.get("output_tokens")), as_int(entry.get("total_tokens"))
        raw_thoughts, tool = entry.get("thoughts"), as_int(entry.get("tool"))
    if raw_thoughts is None:
        thoughts, tool = max(0, total - prompt - candidates), 0  # see module docstring
    else:
        thoughts = as_int(raw_thoughts)
    return ModelUsage(
        input=max(0, prompt - cached) + tool,
        output=candidates + thoughts,
        cache_read=min(cached, prompt) if prompt else cached,
        reasoning=thoughts,
        requests=as_int(as_dict(entry.get("api")).get("totalRequests")),
    )


def _chat_messages(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """(sessionId, messages) of one chat file, JSONL or a single JSON document."""
    if path.suffix == ".json":
        try:
            doc = json.loads(path.read_bytes()) if path.stat().st_size <= MAX_BYTES else {}
        except (OSError, ValueError):
            return None, []
        doc = as_dict(doc)
        messages = doc.get("messages")
        return as_str(doc.get("sessionId")), messages if isinstance(messages, list) else []
    session: str | None = None
    by_id: dict[str, dict[str, Any]] = {}
    for entry in json_lines(path):
        update = as_dict(entry.get("$set"))
        if "sessionId" in entry:
            session = session or as_str(entry.get("sessionId"))
        elif isinstance(update.get("messages"), list):
            by_id = {str(m.get("id")): m for m in update["messages"] if isinstance(m, dict)}
        elif "id" in entry and "type" in entry:
            by_id[str(entry["id"])] = entry  # a message written again: the last copy wins
    return session, list(by_id.values())


class GeminiBackend:
    """Backend for the ``gemini`` CLI (see module docstring)."""

    key = "gemini"
    capabilities = Capabilities(
        label="Gemini",
        resume_scope="cwd",  # chats live under tmp/<project>/: --resume finds them from there
        provider="google",
        auto_planner=0,  # the long-context planner when its CLI is installed
        tested_version="0.61.0",
        session_files=lambda: [  # chats/<parent id>/ holds subagent chats
            SessionFiles(gemini_tmp_dir(), "gemini", under="*/chats"),
            SessionFiles(gemini_tmp_dir(), "gemini-json", "*.json", under="*/chats"),
        ],
    )

    def build(self, request: AgentRequest, executable: str) -> Invocation:
        argv = [executable, "-o", "stream-json"]
        if request.resume_id:
            argv += ["--resume", flag_value(request.resume_id, "resume id")]
        elif request.new_session_id:
            argv += ["--session-id", flag_value(request.new_session_id, "session id")]
        if request.model:
            argv += ["-m", check_model(request.model)]
        argv += approval_flags(request.permission, self.key, APPROVAL_MODES, MODES, _TOOL_NAMES)
        argv += list(request.extra_args)
        return Invocation(argv=argv, cwd=request.cwd, stdin=request.prompt.encode("utf-8"))

    def parser(self, request: AgentRequest) -> GeminiStreamParser:
        return GeminiStreamParser(request)

    def read_back(
        self,
        session_id: str,
        cwd: Path,
        since: datetime,
        state: Mapping[str, Any],
        resume_id: str | None,
    ) -> FileUsage | None:
        """The chat ``tmp/*/chats/session-*-<first 8 chars of the id>.json[l]`` whose
        ``sessionId`` is the id: its ``gemini`` messages written since the call started,
        ``tokens`` normalised like the stream's (``input`` includes ``cached``)."""
        try:
            candidates = sorted(
                gemini_tmp_dir().glob(f"*/chats/session-*-{session_id[:8]}.json*")
            )
        except OSError:
            return None
        for path in candidates:
            session, messages = _chat_messages(path)
            if session != session_id:
                continue
            found = FileUsage("gemini-chat", path)
            for message in messages:
                tokens = as_dict(message.get("tokens"))
                if message.get("type") != "gemini" or not tokens:
                    continue
                if not counts(at(message), since):
                    continue
                stats = {
                    "tokens": {
                        **tokens,
                        "prompt": tokens.get("input"),
                        "candidates": tokens.get("output"),
                    }
                }
                model = as_str(message.get("model")) or "unknown"
                add(found, model, usage_from_stats(stats), at(message))
            return found
        return None


class GeminiStreamParser(StreamParserBase):
    """Incremental parser for one ``gemini -o stream-json`` run."""

    agent = "gemini"

    def __init__(self, request: AgentRequest) -> None:
        super().__init__(request)
        self._turn_texts: list[list[str]] = []  # assistant text per model turn
        self._result: dict[str, Any] | None = None
        self._warnings: list[str] = []
        self._turns = 0
        self._in_turn = False  # False after a tool result: the next model output is a new turn

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "init":
            self.model = as_str(event.get("model"))
        elif kind == "message" and event.get("role") == "assistant":
            self._start_turn()
            if isinstance(event.get("content"), str):
                self._turn_texts[-1].append(event["content"])
        elif kind == "tool_use":
            self._start_turn()
            self._on_tool_use(event)
        elif kind == "tool_result":
            tool_id = str(event.get("tool_id") or "")
            # a failed write_todos (not offered in every mode) changes nothing
            self.settle_todo(tool_id, event.get("status") == "success")
            self.end_tool(tool_id)
            self._in_turn = False
        elif kind == "error":
            self._warnings.append(str(event.get("message") or ""))
        elif kind == "result":
            self._result = event

    def _start_turn(self) -> None:
        if not self._in_turn:
            self._turns += 1
            self._in_turn = True
            self._turn_texts.append([])

    def _final_text(self) -> str:
        """The last model turn that said something: like Claude's ``result`` and Codex's last
        ``agent_message``, the answer is not the narration before each tool call."""
        for chunks in reversed(self._turn_texts):
            text = "".join(chunks)  # delta chunks of one turn
            if text.strip():
                return text
        return ""

    def _on_tool_use(self, event: dict[str, Any]) -> None:
        name = str(event.get("tool_name") or "?")
        tool_id = str(event.get("tool_id") or "")
        self.start_tool(name, tool_id)
        todos = as_dict(event.get("parameters")).get("todos")
        if name == "write_todos" and isinstance(todos, list):
            items = [
                {"content": t.get("description", t.get("content")), "status": t.get("status")}
                for t in todos
                if isinstance(t, dict)
            ]
            self.hold_todo(tool_id, TodoEvent(tool=name, items=items, replaces=True))

    def _usage(self) -> dict[str, ModelUsage]:
        stats = as_dict((self._result or {}).get("stats"))
        models = as_dict(stats.get("models"))
        usage = {str(m): usage_from_stats(as_dict(e)) for m, e in models.items()}
        if "models" not in stats and ("input_tokens" in stats or "total_tokens" in stats):
            usage = {self.model or "unknown": usage_from_stats(stats)}  # no per-model split
        usage = {m: u for m, u in usage.items() if prompt_side(u) + u.output}  # drop all-zero
        if len(usage) == 1:
            only = next(iter(usage.values()))
            only.requests = only.requests or self._turns
        return usage

    def progress(self) -> Progress:
        usage = self._usage()  # the stream shows usage only with the result
        return Progress(
            turns=self._turns,
            **progress_tokens(total_of(usage)),
            tool=self.tool,
            tool_running=bool(self.open_tools),
            usage=usage,
        )

    def finish(self, exit: ProcessExit) -> AgentResult:
        usage = self._usage()
        err_doc = stderr_error(exit.stderr)
        self.session_id = self.session_id or as_str(err_doc.get("session_id"))
        verdict = self._classify(exit, err_doc)
        model = self.model
        if usage and (model is None or model not in usage):
            model = max(usage, key=lambda m: prompt_side(usage[m]) + usage[m].output)
        return self.result(
            exit, verdict, text=self._final_text(), model=model, usage=usage, turns=self._turns
        )

    def _classify(self, exit: ProcessExit, err_doc: dict[str, Any]) -> Verdict:
        code = exit.exit_code
        stderr = exit.stderr or ""
        result = self._result or {}
        turn_limit = any("maximum session turns" in w.lower() for w in self._warnings)
        if result.get("status") == "success":
            if code == 53 or turn_limit:
                return Verdict("max_turns", "Maximum session turns exceeded")
            return Verdict("success", None)
        res_err = as_dict(result.get("error"))
        doc_err = as_dict(err_doc.get("error"))
        stopped = stopped_by_us(exit, self.request.timeout)
        if stopped is not None:
            return Verdict(*stopped)
        tail = stderr_tail(stderr, noise=_STDERR_NOISE, cause=_STDERR_CAUSE)
        stream_error = next((w for w in reversed(self._warnings) if w.strip()), "")
        message = one_line(
            as_str(res_err.get("message"))
            or stream_error
            or as_str(doc_err.get("message"))
            or tail
            or f"no result event (exit code {code})"
        )
        sig = exit.signal
        if sig is None and code is not None and 128 < code < 144 and code != 130:
            sig = code - 128  # 144-255 are HTTP statuses mod 256, not signals
        if sig is not None and not result and not err_doc:
            return Verdict("crash", killed_message(sig, tail))
        if code == 130:  # FatalCancellationError: cancelled, but not by us
            return Verdict("crash", f"the agent cancelled the run (exit 130): {message}")
        doc_code = doc_err.get("code")
        if code in (None, 0, 1) and isinstance(doc_code, int) and not isinstance(doc_code, bool):
            code = doc_code if doc_code < 256 else doc_code % 256  # e.g. "code": 500
        if code == 42:
            if "already exists" in stderr or "already exists" in message:
                return Verdict("crash", message, True)
            lost = ("Invalid session identifier", "No previous sessions found")
            if any(s in stderr or s in message for s in lost):
                return Verdict("session_lost", message)
            return Verdict("crash", message)
        if code is not None and code in _SIMPLE_EXITS:
            return Verdict(_SIMPLE_EXITS[code], message)
        status = http_status_from_exit(code)
        if status is not None:
            return Verdict(classify_error_text(message, status) or "api_error", message)
        if not result and not err_doc and not stream_error and code in (None, 0, 1):
            # No terminal event at all: API failures always print one, so this is a crash.
            return Verdict(classify_error_text(message) or "crash", message)
        return Verdict(classify_error_text(message) or "api_error", message)

"""Qwen Code adapter: ``qwen -o stream-json`` with the prompt on stdin.

Qwen Code (``@qwen-code/qwen-code``) is a Gemini CLI fork that talks to any OpenAI-compatible
Chat Completions API (``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` / ``OPENAI_MODEL``, or its
settings); its stream-json output follows Claude Code's shapes. Contract proved against
0.24.4 (``tests/contract/test_qwen_*real.py``).

Launch contract (``QwenBackend.build``)
    ``[exe, -o, stream-json]`` then ``--resume <id>`` (resume; the CLI keeps the id) or
    ``--session-id <uuid>`` (new conversation under the id we minted), ``-m <model>``,
    ``--max-session-turns N``, ``--approval-mode``, ``--allowed-tools a,b`` and
    ``request.extra_args``. No ``-p``: with stdin not a TTY the CLI runs one-shot and reads
    the prompt from stdin. Approval modes (``Permission.mode`` uses Claude's vocabulary):
    ``acceptEdits`` → ``auto-edit``, ``plan`` → ``plan``, ``default``/``dontAsk`` →
    ``default``, ``bypassPermissions`` → ``yolo``; the CLI's own ``auto-edit``/``auto``/``yolo``
    pass as is, anything else is refused (``InvalidInput``). Allowed tools given with Claude
    names are translated (``Bash`` → ``run_shell_command``, ``Edit`` → ``edit``, ``Write`` →
    ``write_file``, ``Read`` → ``read_file``). There is no budget flag (not passed).

Parse contract (``QwenStreamParser``)
    - Session id: ``session_id`` of any event (init first); the CLI version is the init
      event's ``qwen_code_version``; the model is the init event's, then each message's.
    - Usage: every ``assistant`` event carries the usage of its own API request
      (``input_tokens`` = the prompt, cached included; ``output_tokens`` includes reasoning;
      ``cache_read_input_tokens``); a request that produced text and then a tool call is
      two events, the first with zero usage. Normalised: ``input = input_tokens -
      cache_read``, ``cache_read``, ``output``; reasoning is not in the stream (0; the read-back
      from the CLI's files has it). One ``requests`` entry per event with usage.
    - The ``result`` event's ``usage`` is **cumulative for the conversation** (a resumed
      process restores the earlier calls' totals) and also counts requests the stream does
      not show (the background memory extractor, on by default). ``request.state`` carries
      ``{"qwen_session": id, "qwen_cumulative": {input_tokens, output_tokens,
      cache_read_input_tokens}}``; when the baseline is known (a new conversation starts from
      zero; a resume of the stored session uses the stored snapshot), ``result - baseline``
      beyond what the assistant events add up to is such side requests' usage and is added to
      the main model. The new state is the result's snapshot when it is consistent (no counter
      below the baseline; error results carry zeros), else baseline + this call's usage, else
      (baseline unknown) nothing.
    - Text: the result's ``result``, else the last main-agent text. Tools: ``tool_use`` blocks
      open a tool, ``tool_result`` blocks close it; ``todo_write`` becomes a replacing
      ``TodoEvent`` (``{content, status}``) once its result arrives without ``is_error``.
    - Outcome: a ``success`` result → success. An ``is_error`` result → the status in
      ``[API Error: NNN …]`` decides (401/403 auth, 429 rate_limit, else api_error; prose as a
      fallback). Exit 53 → max_turns, 55 (``--max-wall-time`` / ``--max-tool-calls``) →
      budget. No result: "already exists" on stderr sets ``session_in_use``, "No saved session
      found" → session_lost, our timeout / interrupt, a signal → crash, else crash with the
      stderr tail. 5xx and 429 are retried by the CLI itself (7 attempts, not configurable for
      the main chat) before it gives up.

Read-back (``QwenBackend.read_back``)
    ``${QWEN_HOME:-~/.qwen}/projects/<cwd>/chats/<session id>.jsonl`` records every API
    response as a ``ui_telemetry`` ``qwen-code.api_response`` event (side requests included)
    as it arrives: those at or after ``since`` (deduplicated by ``response_id``) are the
    call's usage (``input_token_count`` includes ``cached_content_token_count``;
    ``thoughts_token_count`` is the reasoning part of ``output_token_count``). ``state`` is
    the whole conversation's total (the next call's baseline).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
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
    one_line,
    progress_tokens,
    prompt_side,
    stderr_tail,
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
from ai_orchestrator.agents.homes.agent_files import add, at, counts, json_lines
from ai_orchestrator.agents.parser_base import StreamParserBase, Verdict
from ai_orchestrator.core import env
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.usage import ModelUsage

APPROVAL_MODES = {
    "acceptEdits": "auto-edit",
    "plan": "plan",
    "default": "default",
    "dontAsk": "default",
    "bypassPermissions": "yolo",
}
MODES = ("auto-edit", "auto", "yolo")  # the CLI's own, accepted as they are besides ours
_TOOL_NAMES = {"Bash": "run_shell_command", "Edit": "edit", "Write": "write_file",
               "Read": "read_file"}
# Informational stderr lines that would otherwise crowd out the error message.
_STDERR_NOISE = ("Ripgrep not available", "Warning: running headless with --yolo",
                 "Retrying provider attempt")
_API_STATUS = re.compile(r"\[API Error: (\d{3})\b")
_COUNTERS = ("input_tokens", "output_tokens", "cache_read_input_tokens")
_LOST = "No saved session found"
_IN_USE = "already exists"


def qwen_dir() -> Path:
    """``${QWEN_HOME:-~/.qwen}``: settings and ``projects/<cwd>/chats/<id>.jsonl``."""
    return Path(env.get("QWEN_HOME") or os.path.join(env.home(), ".qwen"))


def _session_files() -> list[SessionFiles]:
    return [SessionFiles(qwen_dir() / "projects", "qwen", under="*/chats")]


def counters(usage: Mapping[str, Any]) -> dict[str, int]:
    """The cumulative counters of a stream ``usage`` object."""
    return {k: as_int(usage.get(k)) for k in _COUNTERS}


def normalised(counts_: Mapping[str, int], reasoning: int = 0) -> ModelUsage:
    """Stream counters → ``ModelUsage`` (``input_tokens`` includes the cached ones)."""
    prompt, cached = counts_.get("input_tokens", 0), counts_.get("cache_read_input_tokens", 0)
    return ModelUsage(input=max(0, prompt - cached), output=counts_.get("output_tokens", 0),
                      cache_read=min(cached, prompt) if prompt else cached, reasoning=reasoning)


def _as_counters(usage: ModelUsage) -> dict[str, int]:
    return {"input_tokens": usage.input + usage.cache_read, "output_tokens": usage.output,
            "cache_read_input_tokens": usage.cache_read}


def response_usage(event: Mapping[str, Any]) -> ModelUsage:
    """One ``qwen-code.api_response`` event's tokens → ``ModelUsage`` (``input_token_count``
    includes ``cached_content_token_count``; ``thoughts_token_count`` is the reasoning part
    of ``output_token_count``)."""
    cached = as_int(event.get("cached_content_token_count"))
    prompt = as_int(event.get("input_token_count"))
    return ModelUsage(
        input=max(0, prompt - cached), output=as_int(event.get("output_token_count")),
        cache_read=min(cached, prompt), reasoning=as_int(event.get("thoughts_token_count")))


def _api_responses(path: Path) -> list[tuple[dict[str, Any], datetime | None]]:
    """The ``qwen-code.api_response`` events of a chat file, once per ``response_id``."""
    found: dict[str, tuple[dict[str, Any], datetime | None]] = {}
    for entry in json_lines(path):
        event = as_dict(as_dict(entry.get("systemPayload")).get("uiEvent"))
        if entry.get("subtype") != "ui_telemetry":
            continue
        if event.get("event.name") != "qwen-code.api_response":
            continue
        key = as_str(event.get("response_id")) or str(entry.get("uuid") or len(found))
        found[key] = (event, at(entry))
    return list(found.values())


class QwenBackend:
    """Backend for the ``qwen`` CLI (see module docstring)."""

    key = "qwen"
    capabilities = Capabilities(
        label="Qwen Code",
        resume_scope="cwd",  # chats live under projects/<cwd>/: --resume finds them from there
        provider=None,  # any OpenAI-compatible provider: priced by the model name
        tested_version="0.24.4",
        session_files=_session_files,
    )

    def build(self, request: AgentRequest, executable: str) -> Invocation:
        argv = [executable, "-o", "stream-json"]
        if request.resume_id:
            argv += ["--resume", flag_value(request.resume_id, "resume id")]
        elif request.new_session_id:
            argv += ["--session-id", flag_value(request.new_session_id, "session id")]
        if request.model:
            argv += ["-m", check_model(request.model)]
        if request.max_turns is not None:
            if request.max_turns < 1:
                raise InvalidInput(f"max_turns must be >= 1, got {request.max_turns}")
            argv += ["--max-session-turns", str(int(request.max_turns))]
        argv += approval_flags(request.permission, self.key, APPROVAL_MODES, MODES, _TOOL_NAMES)
        argv += list(request.extra_args)
        return Invocation(argv=argv, cwd=request.cwd, stdin=request.prompt.encode("utf-8"))

    def parser(self, request: AgentRequest) -> QwenStreamParser:
        return QwenStreamParser(request)

    def read_back(
        self,
        session_id: str,
        cwd: Path,
        since: datetime,
        state: Mapping[str, Any],
        resume_id: str | None,
    ) -> FileUsage | None:
        """The call's API responses from its chat file (see the module docstring)."""
        try:
            paths = sorted((qwen_dir() / "projects").glob(f"*/chats/{session_id}.jsonl"))
        except OSError:
            return None
        if not paths:
            return None
        found = FileUsage("qwen-chat", paths[0])
        whole = ModelUsage()
        for event, moment in _api_responses(paths[0]):
            usage = response_usage(event)
            whole.add(usage)
            if counts(moment, since):
                add(found, as_str(event.get("model")) or "unknown", usage, moment)
        found.state = {"qwen_session": session_id, "qwen_cumulative": _as_counters(whole)}
        return found


class QwenStreamParser(StreamParserBase):
    """Incremental parser for one ``qwen -o stream-json`` run."""

    agent = "qwen"

    def __init__(self, request: AgentRequest) -> None:
        super().__init__(request)
        self._usage: dict[str, ModelUsage] = {}
        self._requests: dict[str, list[ModelUsage]] = {}
        self._texts: list[str] = []  # main-agent text per assistant event that had any
        self._result: dict[str, Any] | None = None
        self._version: str | None = None
        self._turns = 0

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "init":
            self.model = as_str(event.get("model")) or self.model
            self._version = as_str(event.get("qwen_code_version"))
        elif kind == "assistant":
            self._on_assistant(event)
        elif kind == "user":
            for block in as_dict(event.get("message")).get("content") or []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    tool_id = str(block.get("tool_use_id") or "")
                    self.settle_todo(tool_id, not block.get("is_error"))
                    self.end_tool(tool_id)
        elif kind == "result":
            self._result = event

    def _on_assistant(self, event: dict[str, Any]) -> None:
        message = as_dict(event.get("message"))
        model = as_str(message.get("model")) or self.model or "unknown"
        usage = normalised(counters(as_dict(message.get("usage"))))
        if prompt_side(usage) + usage.output:
            usage.requests = 1
            self._usage.setdefault(model, ModelUsage()).add(usage)
            self._requests.setdefault(model, []).append(usage)
            if event.get("parent_tool_use_id") is None:
                self._turns += 1
        main = event.get("parent_tool_use_id") is None
        for block in message.get("content") or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and main and str(block.get("text") or "").strip():
                self._texts.append(str(block["text"]))
            elif block.get("type") == "tool_use":
                self._on_tool_use(block)

    def _on_tool_use(self, block: dict[str, Any]) -> None:
        name, tool_id = str(block.get("name") or "?"), str(block.get("id") or "")
        self.start_tool(name, tool_id)
        todos = as_dict(block.get("input")).get("todos")
        if name == "todo_write" and isinstance(todos, list):
            items = [{"content": t.get("content"), "status": t.get("status")}
                     for t in todos if isinstance(t, dict)]
            self.hold_todo(tool_id, TodoEvent(tool=name, items=items, replaces=True))

    def _baseline(self) -> dict[str, int] | None:
        """The conversation's cumulative counters before this call, when known."""
        if not self.request.resume_id:
            return dict.fromkeys(_COUNTERS, 0)
        state = self.request.state
        if state.get("qwen_session") != self.request.resume_id:
            return None
        stored = as_dict(state.get("qwen_cumulative"))
        return {k: as_int(stored.get(k)) for k in _COUNTERS} if stored else None

    def _call_usage(self) -> tuple[dict[str, ModelUsage], dict[str, Any]]:
        """This call's usage per model and the state for the next call (module docstring)."""
        usage = {m: replace(u) for m, u in self._usage.items()}
        baseline = self._baseline()
        if baseline is None:
            return usage, {}
        seen = _as_counters(total_of(usage))
        result = self._result or {}
        snapshot = counters(as_dict(result.get("usage")))
        consistent = not result.get("is_error") and all(
            snapshot[k] >= baseline[k] + seen[k] for k in _COUNTERS)
        if consistent:
            extra = {k: snapshot[k] - baseline[k] - seen[k] for k in _COUNTERS}
            if any(extra.values()):  # requests the stream does not show (memory extractor)
                side = normalised(extra)
                usage.setdefault(self.model or "unknown", ModelUsage()).add(side)
        else:
            snapshot = {k: baseline[k] + seen[k] for k in _COUNTERS}
        session = self.session_id or self.request.resume_id
        return usage, {"qwen_session": session, "qwen_cumulative": snapshot} if session else {}

    def progress(self) -> Progress:
        # copies: a snapshot handed out must not change as the parser goes on
        usage = self._call_usage()[0] if self._result else {
            m: replace(u) for m, u in self._usage.items()}
        return Progress(
            turns=self._turns,
            **progress_tokens(total_of(usage)),
            tool=self.tool,
            tool_running=bool(self.open_tools),
            usage=usage,
        )

    def finish(self, exit: ProcessExit) -> AgentResult:
        usage, state = self._call_usage()
        verdict = self._classify(exit)
        model = self.model
        if usage and (model is None or model not in usage):
            model = max(usage, key=lambda m: prompt_side(usage[m]) + usage[m].output)
        result = self._result or {}
        text = as_str(result.get("result")) if not result.get("is_error") else None
        return self.result(
            exit, verdict, text=text or (self._texts[-1] if self._texts else ""), model=model,
            usage=usage, requests={m: list(r) for m, r in self._requests.items() if m in usage},
            turns=as_int(result.get("num_turns")) or self._turns, cli_version=self._version,
            state=state,
        )

    def _classify(self, exit: ProcessExit) -> Verdict:
        result = self._result or {}
        code = exit.exit_code
        stderr = exit.stderr or ""
        tail = stderr_tail(stderr, noise=_STDERR_NOISE)
        if result and not result.get("is_error"):
            return Verdict("success", None)
        if result:
            message = one_line(as_str(as_dict(result.get("error")).get("message"))
                               or tail or f"error result (exit code {code})")
            match = _API_STATUS.search(message)
            status = int(match.group(1)) if match else None
            return Verdict(classify_error_text(message, status) or "api_error", message)
        message = one_line(tail or f"no result event (exit code {code})")
        if code == 53:
            return Verdict("max_turns", message)
        if code == 55:
            return Verdict("budget", message)
        return self.stopped_or_killed(
            exit, message, lost=_LOST in stderr, detail=one_line(tail), prose=stderr,
            in_use=_IN_USE in stderr)

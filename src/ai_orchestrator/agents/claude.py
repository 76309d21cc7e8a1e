"""Claude Code adapter: ``claude -p --output-format stream-json --verbose``.

Launch contract (``ClaudeBackend.build``)
    ``[exe, -p, --output-format, stream-json, --verbose]`` then ``--resume=<id>`` (resume) or
    ``--session-id=<uuid>`` (new session with the id we minted), ``--model``, ``--max-turns``,
    ``--max-budget-usd``, ``--permission-mode``, ``--allowedTools a,b`` and finally
    ``request.extra_args``. Ids are single ``--flag=value`` tokens (what the Agent SDK does) so an
    id can never be read as a flag; other values starting with ``-`` are refused
    (``InvalidInput``), and so are a model failing ``base.check_model`` and a permission mode
    outside ``MODES``. The prompt travels on stdin only. ``--dangerously-skip-permissions`` is
    never added. As root the CLI refuses ``bypassPermissions`` (and the skip flag) after it
    started, so ``build`` refuses them first (``InvalidInput``, exit 2) unless ``IS_SANDBOX=1``
    is set (the CLI's own opt-in); ``acceptEdits`` + ``--allowedTools`` is the headless way.
    Environment: the nesting markers in ``NESTING_ENV`` are removed, because an inherited
    ``CLAUDECODE``/``CLAUDE_CODE_CHILD_SESSION`` makes the child believe it is nested and skip
    writing its transcript (claude-code#80654), which would make the session unresumable.
    ``CLAUDE_CODE_ENTRYPOINT`` is removed and *not* re-set: in ``-p`` mode the CLI then picks its
    own default (observed as ``sdk-cli``), and we do not pretend to be the SDK.
    ``CLAUDE_CONFIG_DIR``/``ANTHROPIC_*`` and other configuration variables pass through.

Parse contract (``ClaudeStreamParser``)
    - Every stdout line is kept in ``raw_events``; non-JSON lines as ``{"type":"noise"}``.
    - Session id: the newest one printed (init, then result) wins; never guessed.
    - Assistant usage is deduplicated by ``(message.id, request_id)`` keeping the copy with the
      largest ``output_tokens`` (stream lines repeat one usage per content block and the early
      copies carry placeholder output counts).
    - Per-model totals prefer ``result.modelUsage`` (includes subagents); the merge, the
      5m/1h split rule and the resumed-totals correction are in ``claude_usage``. The keys are
      the CLI's raw model strings (``[1m]`` suffixes kept: pricing strips them).
      ``state = {"claude_session_totals": {model: usage}, "claude_session_cost": x}`` carries
      the session's cumulative totals so a result that restored them can be turned back
      into this call's delta.
    - ``requests``: per ``usage`` key, every deduplicated API message of that model (subagent
      messages included when the stream shows them), so pricing applies long-context tiers
      per request. Stream lines may carry placeholder output counts: a model's only request
      takes the whole difference to its total, several take their final counts from the
      CLI's transcript file (``claude_transcript``, read only then).
    - Reported cost: ``modelUsage[m].costUSD`` per model, ``total_cost_usd`` overall.
    - Assistant messages with model ``<synthetic>`` (the CLI's stand-in for an API error) are
      no API request: they add no usage, turns or model.
    - Todos: ``TodoWrite`` → replacing ``TodoEvent`` (items ``content/status/activeForm``);
      ``TaskCreate``/``TaskUpdate`` → non-replacing events with ``{id?, content, status}``
      (a created task's id is filled in from its tool result when it shows one). An event is
      recorded only when its tool result arrives without ``is_error``: newer models refuse
      these tools ("No such tool available"), and a refused call must not change the list.
    - Outcome: the result line decides, the exit code only breaks ties. ``success`` +
      ``is_error`` is an API failure (auth / rate_limit / api_error by status and prose);
      ``error_max_turns`` → max_turns; ``error_max_budget_usd`` → budget; "No conversation
      found" → session_lost; other ``error_*`` subtypes → crash. No result line: timeout
      ("timed out after N s") / interrupted only when the runner says *we* stopped it, else
      session_lost by stderr, else crash "killed by signal N" when a signal ended it, else
      auth / rate_limit by stderr, else crash. "is already in use" on stderr sets
      ``session_in_use`` (outcome crash) so the caller retries with ``--resume``.
    - ``Progress`` token fields mean what the recorded usage means (plain input, cache read,
      cache write, output). Stream lines carry placeholder output counts (``message_start``'s
      1), so ``tick()`` reads the final count of each finished message from the transcript
      as the CLI writes it (``TranscriptTail``; display only, the accounting never uses it);
      ``Progress.usage`` is the running per-model usage (the caller prices it);
      ``Progress.cost`` is the CLI's own total, which appears with the result;
      ``Progress.tool`` is the open tool, else the last one used.
    - ``AgentResult.duration_ms`` is the runner's wall clock (the CLI's own excludes start-up).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ai_orchestrator.agents._common import (
    as_dict,
    as_float,
    as_int,
    as_str,
    classify_error_text,
    flag_value,
    permission_mode,
    progress_tokens,
    prompt_side,
    stderr_tail,
    stopped_by_us,
    subtract,
    total_of,
    usage_from_dict,
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
from ai_orchestrator.agents.claude_usage import (
    anthropic_usage,
    base_model,
    carried_totals,
    merge_usage,
    restored_baseline,
    session_state,
    subtract_baseline,
)
from ai_orchestrator.agents.homes.agent_files import add, at, counts, json_lines
from ai_orchestrator.agents.homes.claude_transcript import (
    TranscriptTail,
    final_outputs,
    transcript_path,
)
from ai_orchestrator.agents.homes.locations import claude_projects_dirs
from ai_orchestrator.agents.parser_base import StreamParserBase, Verdict
from ai_orchestrator.core import env
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.usage import ModelUsage

NESTING_ENV: tuple[str, ...] = (
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_CHILD_SESSION",
    "CLAUDE_CODE_SSE_PORT",
    "CLAUDE_CODE_SESSION_ID",
)


# What the pinned CLI accepts: ours, plus 2.1's "auto" (a classifier approves) and "manual".
MODES = (*PERMISSION_MODES, "auto", "manual")
_BYPASS_FLAGS = ("--dangerously-skip-permissions", "--allow-dangerously-skip-permissions")


def _refuse_bypass_as_root(mode: str | None, extra: Sequence[str]) -> None:
    """Claude Code exits 1 with "cannot be used with root/sudo privileges" for these."""
    wanted = mode == "bypassPermissions" or any(
        a in _BYPASS_FLAGS or a == "--permission-mode=bypassPermissions" for a in extra
    )
    wanted |= any(
        a == "--permission-mode" and i + 1 < len(extra) and extra[i + 1] == "bypassPermissions"
        for i, a in enumerate(extra)
    )
    if not wanted or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    if env.get("IS_SANDBOX") == "1":
        return  # the CLI's opt-in for containers and sandboxes
    raise InvalidInput(
        "Claude Code refuses bypassPermissions as root; use --permission-mode acceptEdits "
        "with --allowed-tools (e.g. Bash,Edit,Write), or set IS_SANDBOX=1 if this really is "
        "a sandbox"
    )


class ClaudeBackend:
    """Backend for the ``claude`` CLI (see module docstring)."""

    key = "claude"
    capabilities = Capabilities(
        label="Claude",
        work_model="sonnet",
        fork=True,  # --resume ID --fork-session
        resume_scope="cwd",  # transcripts live under projects/<cwd slug>/
        provider="anthropic",
        model_aliases=("sonnet", "opus", "haiku"),
        strong_model="opus",
        auto_planner=1,
        tested_version="2.1.330",
        session_files=lambda: [SessionFiles(p, "claude") for p in claude_projects_dirs()],
        compacts_headlessly=True,  # `/compact` as the prompt of `claude -p --resume`
        # Claude Code runs a 200k context unless the model is named `…[1m]`, whatever the
        # API allows (seen: it compacted by itself after a 500k-token turn on sonnet-4-6).
        context_limit=200_000,
        long_context_mark="[1m]",
    )

    def build(self, request: AgentRequest, executable: str) -> Invocation:
        argv = [executable, "-p", "--output-format", "stream-json", "--verbose"]
        if request.resume_id:
            # --session-id together with --resume is rejected without --fork-session.
            argv.append(f"--resume={flag_value(request.resume_id, 'resume id')}")
            if request.fork:
                argv.append("--fork-session")
                if request.new_session_id:
                    argv.append(f"--session-id={flag_value(request.new_session_id, 'session id')}")
        elif request.new_session_id:
            argv.append(f"--session-id={flag_value(request.new_session_id, 'session id')}")
        if request.model:
            argv += ["--model", check_model(request.model)]
        if request.max_turns is not None:
            if request.max_turns < 1:
                raise InvalidInput(f"max_turns must be >= 1, got {request.max_turns}")
            argv += ["--max-turns", str(int(request.max_turns))]
        if request.max_budget_usd is not None:
            if request.max_budget_usd <= 0:
                raise InvalidInput(f"max_budget_usd must be > 0, got {request.max_budget_usd}")
            # Plain decimal notation, never rounded to 0 and never in exponent form.
            from decimal import Decimal  # only here: the usage index imports this module

            argv += ["--max-budget-usd", format(Decimal(repr(request.max_budget_usd)), "f")]
        perm = request.permission
        _refuse_bypass_as_root(perm.mode, request.extra_args)
        if perm.mode:
            argv += ["--permission-mode", permission_mode(perm.mode, "claude", MODES)]
        if perm.allowed_tools:
            tools = [flag_value(t.strip(), "allowed tool") for t in perm.allowed_tools]
            argv += ["--allowedTools", ",".join(tools)]
        argv += list(request.extra_args)
        return Invocation(
            argv=argv,
            cwd=request.cwd,
            stdin=request.prompt.encode("utf-8"),
            unset_env=NESTING_ENV,
        )

    def parser(self, request: AgentRequest) -> ClaudeStreamParser:
        return ClaudeStreamParser(request)

    def read_back(
        self,
        session_id: str,
        cwd: Path,
        since: datetime,
        state: Mapping[str, Any],
        resume_id: str | None,
    ) -> FileUsage | None:
        """The transcript ``projects/<cwd slug>/<id>.jsonl`` and its ``<id>/subagents/*.jsonl``:
        assistant lines written since the call started, deduplicated by ``(message.id,
        requestId)`` keeping the largest ``output_tokens`` copy; one entry per request."""
        path = transcript_path(session_id, cwd)
        if path is None:
            return None
        files = [path, *sorted(path.with_suffix("").glob("subagents/*.jsonl"))]
        best: dict[tuple[str, str], tuple[dict[str, Any], datetime | None]] = {}
        for file in files:
            for entry in json_lines(file):
                message = as_dict(entry.get("message"))
                usage = as_dict(message.get("usage"))
                if entry.get("type") != "assistant" or not usage or not counts(at(entry), since):
                    continue
                key = (str(message.get("id") or entry.get("uuid")), str(entry.get("requestId")))
                held = best.get(key)
                if held is None or as_int(usage.get("output_tokens")) >= as_int(
                    as_dict(held[0].get("usage")).get("output_tokens")
                ):
                    best[key] = (message, at(entry))
        found = FileUsage("claude-transcript", path)
        for message, moment in best.values():
            model = as_str(message.get("model")) or "unknown"
            if model != "<synthetic>":  # the CLI's own placeholder messages cost nothing
                add(found, model, anthropic_usage(as_dict(message.get("usage"))), moment)
        found.state = session_state(state, bool(resume_id), found.usage, None)
        return found


class ClaudeStreamParser(StreamParserBase):
    """Incremental parser for one ``claude`` stream-json run."""

    agent = "claude"

    def __init__(self, request: AgentRequest) -> None:
        super().__init__(request)
        self._version: str | None = None
        # (message.id, request_id) -> (model, usage, top_level); max output copy kept.
        self._messages: dict[tuple[str, str], tuple[str, ModelUsage, bool]] = {}
        self._texts: dict[tuple[str, str], list[str]] = {}
        self._last_top: tuple[str, str] | None = None
        self._result: dict[str, Any] | None = None
        # Per model, the sum over the deduplicated messages, kept incrementally.
        self._running: dict[str, ModelUsage] = {}
        self._top_turns = 0
        self._tail: TranscriptTail | None = None
        self._finals: dict[str, int] = {}  # message id -> final output count (display only)
        self._compaction: dict[str, Any] | None = None  # the last compact_boundary's metadata

    # -- streaming ---------------------------------------------------------------------------
    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "init":
            self.model = as_str(event.get("model"))
            self._version = as_str(event.get("claude_code_version"))
        elif kind == "system" and event.get("subtype") == "compact_boundary":
            self._compaction = dict(as_dict(event.get("compact_metadata")))
        elif kind == "assistant":
            self._on_assistant(event)
        elif kind == "user":
            self._on_user(event)
        elif kind == "result":
            self._result = event  # in --input-format stream-json mode the last one wins

    def _on_assistant(self, event: dict[str, Any]) -> None:
        message = as_dict(event.get("message"))
        msg_id = message.get("id")
        request_id = event.get("request_id") or event.get("requestId") or ""
        key = (str(msg_id), str(request_id)) if msg_id else (f"line:{len(self.raw)}", "")
        model = as_str(message.get("model")) or self.model or "unknown"
        top = event.get("parent_tool_use_id") is None
        usage = anthropic_usage(as_dict(message.get("usage")))
        usage.requests = 1
        known = self._messages.get(key)
        if model == "<synthetic>":
            pass  # the CLI's own stand-in message (API error text): no request, no tokens
        elif known is None or usage.output >= known[1].output:
            if known is not None:
                subtract(self._running[known[0]], known[1])
            elif top:
                self._top_turns += 1
            self._running.setdefault(model, ModelUsage()).add(usage)
            self._messages[key] = (model, usage, top)
        if top:
            self._last_top = key
        for block in message.get("content") or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                self._texts.setdefault(key, []).append(block["text"])
            elif block.get("type") == "tool_use":
                self._on_tool_use(block)

    def _on_tool_use(self, block: dict[str, Any]) -> None:
        name = str(block.get("name") or "?")
        tool_id = str(block.get("id") or "")
        tool_input = as_dict(block.get("input"))
        self.start_tool(name, tool_id)
        event: TodoEvent | None = None
        if name == "TodoWrite" and isinstance(tool_input.get("todos"), list):
            items = [
                {k: t.get(k) for k in ("content", "status", "activeForm") if k in t}
                for t in tool_input["todos"]
                if isinstance(t, dict)
            ]
            event = TodoEvent(tool=name, items=items, replaces=True)
        elif name == "TaskCreate":
            content = tool_input.get("subject") or tool_input.get("description")
            item = {"content": content, "status": tool_input.get("status") or "pending"}
            event = TodoEvent(tool=name, items=[item], replaces=False)
        elif name == "TaskUpdate":
            task_id = tool_input.get("taskId")
            item = {
                "id": None if task_id is None else str(task_id),
                "content": tool_input.get("subject"),
                "status": tool_input.get("status"),
            }
            event = TodoEvent(tool=name, items=[item], replaces=False)
        if event is not None:
            # Recorded only once its tool result says it worked: a refused or unknown todo
            # tool (disabled on newer models) must not change the list.
            self.hold_todo(tool_id, event)

    def _on_user(self, event: dict[str, Any]) -> None:
        content = as_dict(event.get("message")).get("content")
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            tool_id = str(block.get("tool_use_id") or "")
            self.end_tool(tool_id)
            todo = self.settle_todo(tool_id, block.get("is_error") is not True)
            if todo is None:
                continue
            if todo.tool == "TaskCreate":  # the new task's id comes with the result
                found = as_dict(as_dict(event.get("tool_use_result")).get("task")).get("id")
                if found is None:
                    match = re.search(r"Task #(\w+)", json.dumps(block.get("content")))
                    found = match.group(1) if match else None
                if found is not None:
                    todo.items[0]["id"] = str(found)

    def tick(self) -> Progress | None:
        """Called by the runner between lines: picks up final output counts of finished
        messages from the transcript (a no-op once the result line arrived)."""
        if self._result is not None or not self._messages or self.session_id is None:
            return None
        if self._tail is None:
            self._tail = TranscriptTail(self.session_id, self.request.cwd)
        if not self._tail.read_new(self._finals):
            return None
        return self.changed()

    def _live_usage(self) -> dict[str, ModelUsage]:
        """The running usage with the transcript's final output counts where known."""
        running = self._line_usage()
        for (msg_id, _), (model, usage, _top) in self._messages.items():
            better = self._finals.get(msg_id, 0) - usage.output
            if better > 0 and model in running:
                running[model].output += better
        return running

    def progress(self) -> Progress:
        running = self._live_usage()
        progress = Progress(
            turns=self._top_turns,
            **progress_tokens(total_of(running)),
            tool=self.tool,
            tool_running=bool(self.open_tools),
            usage=running,
        )
        if self._result is not None:
            merged = merge_usage(self._line_usage(), self._result, self.model)[0]
            progress = replace(
                progress,
                turns=as_int(self._result.get("num_turns")) or progress.turns,
                **progress_tokens(total_of(merged)),
                cost=self._total_cost(),
                tool_running=False,
                usage=merged,
            )
        return progress

    def _line_usage(self) -> dict[str, ModelUsage]:
        """A copy of the running per-model sums (callers may keep or change it)."""
        return {m: usage_from_dict(u.to_dict()) for m, u in self._running.items() if u.requests}

    def _requests(self, usage: dict[str, ModelUsage]) -> dict[str, list[ModelUsage]]:
        """Each deduplicated API request's usage, under the ``usage`` key of its model, with
        the final output counts where the stream showed placeholders (see
        ``claude_transcript``): one request of a model takes the whole shortfall, several
        take their transcript counts."""
        out: dict[str, list[ModelUsage]] = {}
        finals: dict[str, int] | None = None
        for key, total in usage.items():
            wanted = base_model(key)
            found = [
                (msg_id, usage_from_dict(u.to_dict()))
                for (msg_id, _request), (m, u, _) in self._messages.items()
                if base_model(m) == wanted
            ]
            if not found:
                continue
            missing = total.output - sum(u.output for _, u in found)
            if missing > 0 and len(found) == 1:
                found[0][1].output += missing
            elif missing > 0:
                if finals is None:
                    finals = final_outputs(self.session_id, self.request.cwd)
                for msg_id, u in found:
                    better = min(max(0, finals.get(msg_id, 0) - u.output), missing)
                    u.output += better
                    missing -= better
            out[key] = [u for _, u in found]
        return out

    def _total_cost(self) -> float | None:
        for name in ("total_cost_usd", "total_cost", "cost_usd"):  # legacy names before 1.0.22
            cost = as_float((self._result or {}).get(name))
            if cost is not None:
                return cost
        return None

    # -- result ------------------------------------------------------------------------------
    def finish(self, exit: ProcessExit) -> AgentResult:
        lines = self._line_usage()
        usage, source = merge_usage(lines, self._result, self.model)
        reported = self._total_cost()
        if source == "delta":  # total_cost_usd may include restored totals; the delta does not
            costs = [u.reported_cost for u in usage.values() if u.reported_cost is not None]
            reported = sum(costs) if costs else reported
        resumed = bool(self.request.resume_id)
        state_in = self.request.state
        prior = carried_totals(state_in, resumed)
        prior_cost = as_float(state_in.get("claude_session_cost")) if resumed else None
        if source == "model_usage" and restored_baseline(usage, lines, prior, self._version):
            subtract_baseline(usage, prior)
            if reported is not None and prior_cost is not None:
                reported = max(0.0, reported - prior_cost)
        result = self._result or {}
        text = as_str(result.get("result"))
        if text is None:
            text = "".join(self._texts.get(self._last_top, [])) if self._last_top else ""
        model = self.model  # what init said; modelUsage keys may add a "[1m]" suffix
        if usage and (model is None or all(base_model(m) != model for m in usage)):
            model = max(usage, key=lambda m: prompt_side(usage[m]) + usage[m].output)
        return self.result(
            exit,
            self._classify(exit),
            text=text,
            model=model,
            usage=usage,
            requests=self._requests(usage),
            reported_cost=reported,
            turns=as_int(result.get("num_turns")) or self._top_turns,
            cli_version=self._version,
            # cumulative per-session totals for the next call's check
            state=session_state(state_in, resumed, usage, reported),
            compaction=self._compaction,
        )

    def _classify(self, exit: ProcessExit) -> Verdict:
        stderr = exit.stderr or ""
        in_use = "is already in use" in stderr
        lost = "No conversation found" in stderr
        result = self._result
        if result is None:
            tail = stderr_tail(stderr)
            return self.stopped_or_killed(
                exit,
                tail or f"no result line (exit code {exit.exit_code})",
                lost=lost,
                detail=tail,
                prose=stderr,
                in_use=in_use,
            )
        subtype = str(result.get("subtype") or "")
        reason = str(result.get("terminal_reason") or "")
        is_error = result.get("is_error") is True
        errors = [str(e) for e in result.get("errors") or [] if e]
        message = "; ".join(errors) or as_str(result.get("result")) or subtype or "error"
        if subtype == "success" and not is_error:
            return Verdict("success", None, in_use)  # a non-zero exit after a good result
        if subtype == "error_max_turns" or reason == "max_turns":
            return Verdict("max_turns", message, in_use)
        if subtype == "error_max_budget_usd" or reason == "budget_exhausted":
            return Verdict("budget", message, in_use)
        if lost or "No conversation found" in message:
            return Verdict("session_lost", message, in_use)
        stopped = stopped_by_us(exit, self.request.timeout)
        if stopped is not None:
            return Verdict(stopped[0], f"{stopped[1]} ({message})", in_use)
        status = result.get("api_error_status")
        status = status if isinstance(status, int) and not isinstance(status, bool) else None
        special = classify_error_text(message, status)
        if special is not None:
            return Verdict(special, message, in_use)
        if subtype == "success" or reason == "api_error" or status is not None:
            return Verdict("api_error", message, in_use)  # "success" + is_error: API failure
        if not is_error and not subtype.startswith("error"):
            return Verdict("success", None, in_use)  # an unknown, non-error subtype
        return Verdict("crash", message, in_use)

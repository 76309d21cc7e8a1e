"""OpenAI Codex adapter: ``codex exec --json`` with the prompt on stdin (``-``).

Launch contract (``CodexBackend.build``)
    New: ``[exe, exec, --json, --skip-git-repo-check, --sandbox S, -m M, *extra_args, -]``.
    Resume: the same flags (Codex keeps only the conversation, so every flag is passed
    again), then ``resume <thread_id> -``; flags go before ``resume`` because they are the
    ``exec`` command's. ``-`` makes Codex read the prompt from stdin. Codex cannot take an id
    for a new thread, so ``new_session_id`` is unused; the id is ``thread.started.thread_id``.
    ``--skip-git-repo-check``: exec refuses to run outside a git repository otherwise, and a
    workflow may run in any directory. Sandbox from ``Permission.mode`` (Claude's vocabulary):
    ``None``/``acceptEdits`` → ``workspace-write`` (the agent must edit files in the cwd
    headlessly; exec's own default is read-only, where writes fail silently),
    ``plan``/``default``/``dontAsk`` → ``read-only``, ``bypassPermissions`` →
    ``danger-full-access``; a Codex sandbox name is accepted as is, anything else is refused
    (``InvalidInput``). ``request.model`` must pass ``base.check_model``. When ``extra_args``
    already choose a sandbox (``-s``, ``--sandbox``, ``--full-auto``, ``--dangerously-…``) or a
    model (``-m``, ``--model``), ours is left out: clap rejects a repeated option, and an
    explicit per-backend override is the user's decision. ``allowed_tools``, ``max_turns`` and
    ``max_budget_usd`` have no Codex equivalent and are not passed.

Parse contract (``CodexStreamParser``)
    - ``thread.started.thread_id`` is the session id (newest wins); text is the last
      ``agent_message``; ``command_execution``/``file_change``/``mcp_tool_call``/``web_search``
      items are tools; ``todo_list`` items become replacing ``TodoEvent``s (``{content,
      status}``), recorded whenever the list changes.
    - ``turn.completed.usage`` is cumulative for the thread (across resumes). ``request.state``
      carries ``{"thread_id", "cumulative_usage": {input_tokens, cached_input_tokens,
      output_tokens, reasoning_output_tokens, ...}}`` from the previous call; each snapshot
      adds ``snapshot - previous`` to this call's usage, and a decrease of any counter means
      the CLI reset it, so the snapshot is taken whole. A new thread starts from zero.
      ``result.state`` holds the new cumulative snapshot (unchanged when no turn completed, so
      a failed turn's tokens are counted with the next completed snapshot). A call that
      fails before ``thread.started`` keeps the resumed thread's snapshot too.
    - Normalised: ``input = Δinput_tokens - Δcached_input_tokens`` (input includes cached),
      ``cache_read = Δcached``, ``output = Δoutput_tokens`` (includes reasoning), ``reasoning =
      Δreasoning_output_tokens``. ``cache_write_input_tokens`` (newer builds) is kept in the
      state but not billed separately: OpenAI does not price cache writes. Codex reports no
      cost and no request count.
    - Model: the stream never names it. ``request.model``, else ``-m``/``--model``/``-c
      model=…`` in ``extra_args``, else ``model`` (or the active profile's) in
      ``$CODEX_HOME/config.toml`` (default ``~/.codex``), else ``"unknown"`` — never a guess
      such as ``gpt-5``, so an unknown model stays unpriced.
    - Outcome: ``turn.failed`` → api_error (auth / rate_limit by message); ``turn.completed`` →
      success even with exit 1 (seen after background TLS errors); top-level ``error`` events
      ("Reconnecting... 1/5") are transient and never decide alone. Without a terminal
      event: timeout ("timed out after N s") / interrupted only when the runner says *we*
      stopped it, "no rollout found for thread id" on stderr → session_lost, a signal → crash
      "killed by signal N", else auth / rate_limit by the last error text, else crash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from ai_orchestrator.agents._common import (
    as_dict,
    as_int,
    as_str,
    classify_error_text,
    flag_value,
    permission_mode,
    progress_tokens,
    stderr_tail,
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
from ai_orchestrator.agents.homes.agent_files import at, json_lines
from ai_orchestrator.agents.homes.locations import codex_home
from ai_orchestrator.agents.parser_base import StreamParserBase, Verdict
from ai_orchestrator.core.usage import ModelUsage

SANDBOXES = ("read-only", "workspace-write", "danger-full-access")
_SANDBOX_FOR_MODE = {
    "acceptEdits": "workspace-write",
    "plan": "read-only",
    "default": "read-only",
    "dontAsk": "read-only",
    "bypassPermissions": "danger-full-access",
}
MODES = (*_SANDBOX_FOR_MODE, *SANDBOXES)  # ours (mapped) or a Codex sandbox name
_SANDBOX_FLAGS = ("-s", "--sandbox", "--full-auto", "--dangerously-bypass-approvals-and-sandbox")
_STDERR_NOISE = ("Reading prompt from stdin", "Reading additional input from stdin", "WARNING:")
_USAGE_KEYS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")


def _has_flag(args: Sequence[str], names: Sequence[str]) -> bool:
    return any(a in names or any(a.startswith(n + "=") for n in names) for a in args)


def _todo_status(item: dict[str, Any]) -> str:
    return "completed" if item.get("completed") else "pending"


def sandbox_for(mode: str | None) -> str:
    if mode is None:
        return "workspace-write"
    mode = permission_mode(mode, "codex", MODES)
    return _SANDBOX_FOR_MODE.get(mode, mode)


def model_from_args(args: Sequence[str]) -> str | None:
    """The model chosen by ``-m X``, ``--model[=]X`` or ``-c model=X`` in ``args``."""
    found: str | None = None
    for i, arg in enumerate(args):
        nxt = args[i + 1] if i + 1 < len(args) else None
        if arg in ("-m", "--model") and nxt:
            found = nxt
        elif arg.startswith("--model="):
            found = arg.split("=", 1)[1]
        elif arg in ("-c", "--config") and nxt and nxt.replace(" ", "").startswith("model="):
            found = nxt.split("=", 1)[1].strip().strip("\"'")
    return found or None


def profile_from_args(args: Sequence[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg in ("-p", "--profile") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--profile="):
            return arg.split("=", 1)[1]
    return None


def model_from_config(profile: str | None) -> str | None:
    """``model`` from ``$CODEX_HOME/config.toml`` (profile first); ``None`` when unreadable."""
    home = codex_home()
    try:
        import tomllib  # only when a Codex home is read: ~3 ms we need not pay on every start

        config = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    profile = profile or as_str(config.get("profile"))
    if profile:
        chosen = as_str(as_dict(as_dict(config.get("profiles")).get(profile)).get("model"))
        if chosen:
            return chosen
    return as_str(config.get("model"))


def cumulative_snapshot(usage: dict[str, Any]) -> dict[str, int]:
    """A thread's cumulative usage counters (``turn.completed.usage``, rollout token_count)."""
    return {str(k): as_int(v) for k, v in usage.items() if isinstance(v, int | float)}


def usage_delta(snapshot: dict[str, int], previous: dict[str, int]) -> dict[str, int]:
    """What ``snapshot`` adds to ``previous``; a decrease of any counter means the CLI reset
    it, so the snapshot is taken whole."""
    reset = any(snapshot.get(k, 0) < v for k, v in previous.items() if k in snapshot)
    return {
        key: max(0, snapshot.get(key, 0) - (0 if reset else previous.get(key, 0)))
        for key in _USAGE_KEYS
    }


def usage_baseline(
    state: Mapping[str, Any], resume_id: str | None, thread_id: str | None
) -> dict[str, int]:
    """The thread's cumulative usage before this call: the stored snapshot when resuming the
    same thread, else zero (a new thread starts from nothing). Before ``thread.started``
    (``thread_id`` None: a call that died early) the thread is still the resumed one:
    forgetting its snapshot would count the whole thread again next time."""
    stored = state.get("thread_id")
    other_thread = thread_id is not None and stored not in (None, thread_id)
    if not resume_id or other_thread:
        return {}
    raw = as_dict(state.get("cumulative_usage"))
    return {str(k): as_int(v) for k, v in raw.items()}


def normalised_usage(delta: dict[str, int]) -> ModelUsage:
    """Codex counters → ``ModelUsage`` (``input_tokens`` includes the cached ones)."""
    return ModelUsage(
        input=max(0, delta.get("input_tokens", 0) - delta.get("cached_input_tokens", 0)),
        output=delta.get("output_tokens", 0),
        cache_read=delta.get("cached_input_tokens", 0),
        reasoning=delta.get("reasoning_output_tokens", 0),
    )


def _session_files() -> list[SessionFiles]:
    return [SessionFiles(codex_home() / sub, "codex", "rollout-*.jsonl")
            for sub in ("sessions", "archived_sessions")]


class CodexBackend:
    """Backend for the ``codex`` CLI (see module docstring)."""

    key = "codex"
    capabilities = Capabilities(
        label="Codex",
        mints_own_ids=True,  # thread.started names the thread; it takes no id of ours
        provider="openai",
        tested_version="0.169.0",
        session_files=_session_files,
    )

    def build(self, request: AgentRequest, executable: str) -> Invocation:
        extra = list(request.extra_args)
        argv = [executable, "exec", "--json", "--skip-git-repo-check"]
        if not _has_flag(extra, _SANDBOX_FLAGS):
            argv += ["--sandbox", sandbox_for(request.permission.mode)]
        if request.model and not _has_flag(extra, ("-m", "--model")):
            argv += ["-m", check_model(request.model)]
        argv += extra
        if request.resume_id:
            argv += ["resume", flag_value(request.resume_id, "resume id")]
        argv.append("-")
        return Invocation(argv=argv, cwd=request.cwd, stdin=request.prompt.encode("utf-8"))

    def parser(self, request: AgentRequest) -> CodexStreamParser:
        return CodexStreamParser(request)

    def read_back(
        self,
        session_id: str,
        cwd: Path,
        since: datetime,
        state: Mapping[str, Any],
        resume_id: str | None,
    ) -> FileUsage | None:
        """Every rollout ``sessions/YYYY/MM/DD/rollout-*-<thread id>.jsonl`` (a resume may
        write a second): the largest cumulative ``token_count`` snapshot minus the baseline
        the call started from (``usage_baseline``); the model is the last ``turn_context``'s."""
        try:
            files = sorted((codex_home() / "sessions").glob(f"*/*/*/rollout-*-{session_id}.jsonl"))
        except OSError:
            return None
        if not files:
            return None
        snapshot: dict[str, int] = {}
        model: str | None = None
        last_at: datetime | None = None
        for file in files:
            for entry in json_lines(file):
                payload = as_dict(entry.get("payload"))
                if entry.get("type") == "turn_context":
                    model = as_str(payload.get("model")) or model
                elif entry.get("type") == "event_msg" and payload.get("type") == "token_count":
                    total = cumulative_snapshot(
                        as_dict(as_dict(payload.get("info")).get("total_token_usage"))
                    )
                    if total.get("total_tokens", 0) >= snapshot.get("total_tokens", 0):
                        snapshot, last_at = total, at(entry)
        found = FileUsage("codex-rollout", files[-1], last_at=last_at)
        baseline = usage_baseline(state, resume_id, session_id)
        delta = usage_delta(snapshot, baseline) if snapshot else {}
        if any(delta.values()):
            found.usage[model or "unknown"] = normalised_usage(delta)
        found.state = {"thread_id": session_id, "cumulative_usage": snapshot or baseline}
        return found


class CodexStreamParser(StreamParserBase):
    """Incremental parser for one ``codex exec --json`` run."""

    agent = "codex"
    session_field = None  # the thread id arrives in ``thread.started`` only

    def __init__(self, request: AgentRequest) -> None:
        super().__init__(request)
        self._text = ""
        self._completed = 0
        self._terminal: str | None = None  # "completed" | "failed", the last terminal event
        self._failure: str | None = None
        self._errors: list[str] = []
        self._cumulative: dict[str, int] | None = None  # last snapshot seen (or the baseline)
        self._delta = {key: 0 for key in _USAGE_KEYS}
        self._last_started: str | None = None

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "thread.started":
            self.note_session(event.get("thread_id"))
        elif kind in ("item.started", "item.updated", "item.completed"):
            self._on_item(str(kind), as_dict(event.get("item")))
        elif kind == "turn.completed":
            self._terminal = "completed"
            self._completed += 1
            self._on_usage(as_dict(event.get("usage")))
        elif kind == "turn.failed":
            self._terminal = "failed"
            self._failure = as_str(as_dict(event.get("error")).get("message")) or "turn failed"
        elif kind == "error":
            self._errors.append(str(event.get("message") or ""))  # often transient

    def _on_item(self, kind: str, item: dict[str, Any]) -> None:
        item_type = str(item.get("type") or "")
        item_id = str(item.get("id") or "")
        if item_type == "agent_message" and kind == "item.completed":
            self._text = str(item.get("text") or "")
        elif item_type in ("command_execution", "file_change", "mcp_tool_call", "web_search"):
            name = item_type
            if item_type == "mcp_tool_call":
                name = f"mcp:{item.get('server')}/{item.get('tool')}"
            if kind == "item.completed":
                self.saw_tool(name)
                self.end_tool(item_id)
            else:
                self.start_tool(name, item_id)
                self._last_started = name
        elif item_type == "todo_list" and isinstance(item.get("items"), list):
            items = [
                {"content": t.get("text"), "status": _todo_status(t)}
                for t in item["items"]
                if isinstance(t, dict)
            ]
            if not self.todos or self.todos[-1].items != items:
                self.todos.append(TodoEvent(tool="todo_list", items=items, replaces=True))
        elif item_type == "error" and kind == "item.completed":
            self._errors.append(str(item.get("message") or ""))

    def _baseline(self) -> dict[str, int]:
        return usage_baseline(self.request.state, self.request.resume_id, self.session_id)

    def _on_usage(self, usage: dict[str, Any]) -> None:
        snapshot = cumulative_snapshot(usage)
        previous = self._baseline() if self._cumulative is None else self._cumulative
        for key, value in usage_delta(snapshot, previous).items():
            self._delta[key] += value
        self._cumulative = snapshot

    def _usage(self) -> ModelUsage:
        return normalised_usage(self._delta)

    def progress(self) -> Progress:
        usage = self._usage()  # known at each turn.completed
        return Progress(
            turns=self._completed,
            **progress_tokens(usage),
            # the newest running item, else the last one started
            tool=next(reversed(self.open_tools.values()), self._last_started),
            tool_running=bool(self.open_tools),
            usage={self._model or "unknown": usage} if self._completed else {},
            session_id=self.session_id,
        )

    @cached_property
    def _model(self) -> str | None:
        """The model of this call; cached: config.toml is read once per call, not per line."""
        extra = list(self.request.extra_args)
        return (
            self.request.model
            or model_from_args(extra)
            or model_from_config(profile_from_args(extra))
        )

    def finish(self, exit: ProcessExit) -> AgentResult:
        model = self._model
        usage = {model or "unknown": self._usage()} if self._completed else {}
        # Nothing completed: the old snapshot is still the right baseline for the next call.
        cumulative = self._baseline() if self._cumulative is None else self._cumulative
        thread_id = self.session_id or as_str(self.request.state.get("thread_id"))
        state: dict[str, Any] = {"thread_id": thread_id, "cumulative_usage": cumulative}
        return self.result(
            exit,
            self._classify(exit),
            text=self._text,
            model=model,
            usage=usage,
            turns=self._completed,
            state=state,
        )

    def _classify(self, exit: ProcessExit) -> Verdict:
        stderr = exit.stderr or ""
        if self._terminal == "completed":
            return Verdict("success")
        if self._terminal == "failed":
            message = self._failure or "turn failed"
            return Verdict(classify_error_text(message) or "api_error", message)
        last_error = next((e for e in reversed(self._errors) if e), "")
        tail = stderr_tail(stderr, noise=_STDERR_NOISE)
        lost = "no rollout found" in stderr
        return self.stopped_or_killed(
            exit,
            tail if lost else last_error or tail or f"no turn result (exit {exit.exit_code})",
            lost=lost,
            detail=last_error or tail,
            prose=f"{last_error}\n{stderr}",
        )

#!/usr/bin/env python3
"""A fake ``claude`` (Claude Code headless mode) that follows the real machine contract.

Driven by ``FAKE_AGENT_SCENARIO`` (see README.md); stdlib only. What it reproduces
(agent-clis.md §1, §8.2; real-cli-harness.md §1):

- argv as commander parses it: unknown options, invalid choices, variadic ``--allowedTools``
  (consumes following non-option tokens), ``--flag=value``; prompt from the positional
  argument or, when stdin is not a terminal, from stdin.
- Validation before anything else, each with stderr text and exit 1: stream-json without
  ``--verbose``; invalid/duplicate ``--session-id`` (``Session ID <id> is already in use.``);
  ``--session-id`` with ``--resume``/``--continue`` but no ``--fork-session``; unknown
  ``--resume`` id (``No conversation found with session ID: <id>``; in stream-json mode also a
  ``result/error_during_execution`` line on stdout). Sessions are looked up in the cwd's
  project dir only, like the real CLI.
- Transcripts in ``${CLAUDE_CONFIG_DIR:-$HOME/.claude}/projects/<sanitized cwd>/<id>.jsonl``;
  resume modes ``modern`` (same id, same file), ``legacy`` (new id, history copied) and
  ``--fork-session`` (new id, copy keeps uuids and timestamps).
- stream-json: ``system/init`` first; one ``assistant`` line per content block, sharing
  ``message.id``/``request_id`` and usage (first copy may carry a placeholder
  ``output_tokens``); ``user`` tool_result lines; ``result`` last with ``total_cost_usd``,
  ``usage`` and ``modelUsage`` per model. ``json`` prints the result only (an array of all
  messages with ``--verbose`` or scenario ``verbose_array``); ``text`` prints the answer.
- Permissions: in ``default``/``plan`` mode Write/Edit/Bash are denied unless allowed by
  ``--allowedTools``/``acceptEdits``/``bypassPermissions`` (denials land in
  ``permission_denials`` and the file is left alone).
- ``--input-format stream-json``: one turn per stdin user message, ``total_cost_usd``
  cumulative within the process.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fakecommon import (
    Fail,
    Out,
    Scenario,
    append_jsonl,
    die,
    dumps,
    failure_of,
    log_event,
    log_start,
    models_of,
    now_iso,
    perform_edit,
    plan_edit,
    read_jsonl,
    read_stdin,
    run_main,
    spawn_background,
    split,
)

AGENT = "claude"
DEFAULT_MODEL = "claude-sonnet-4-5-20250929"
ALIASES = {
    "sonnet": "claude-sonnet-4-5-20250929",
    "opus": "claude-opus-4-1-20250805",
    "haiku": "claude-haiku-4-5-20251001",
}
# (model prefix, $/Mtok: input, cache write 5m, cache write 1h, cache read, output)
PRICES = [
    ("claude-opus-4-0", 15, 18.75, 30, 1.5, 75),
    ("claude-opus-4-1", 15, 18.75, 30, 1.5, 75),
    ("claude-sonnet", 3, 3.75, 6, 0.3, 15),
    ("claude-haiku-4-5", 1, 1.25, 2, 0.1, 5),
    ("", 5, 6.25, 10, 0.5, 25),  # unknown models are priced at opus rates, like the CLI
]
TOOLS = ["Task", "Bash", "Glob", "Grep", "Read", "Edit", "Write", "TodoWrite", "WebFetch"]
GUARDED = {"Bash", "Write", "Edit", "MultiEdit", "NotebookEdit", "WebFetch"}
EDIT_TOOLS = {"Write", "Edit", "MultiEdit", "NotebookEdit"}

VALUE_OPTS = {
    "--output-format",
    "--input-format",
    "--resume",
    "--session-id",
    "--model",
    "--fallback-model",
    "--max-turns",
    "--max-budget-usd",
    "--permission-mode",
    "--append-system-prompt",
    "--system-prompt",
    "--system-prompt-file",
    "--settings",
    "--setting-sources",
    "--json-schema",
    "--effort",
    "--max-thinking-tokens",
    "--resume-session-at",
    "--agents",
    "--permission-prompt-tool",
}
VARIADIC_OPTS = {
    "--allowedTools",
    "--disallowedTools",
    "--tools",
    "--mcp-config",
    "--add-dir",
    "--betas",
    "--plugin-dir",
}
FLAG_OPTS = {
    "--print",
    "--verbose",
    "--continue",
    "--fork-session",
    "--no-session-persistence",
    "--include-partial-messages",
    "--replay-user-messages",
    "--strict-mcp-config",
    "--dangerously-skip-permissions",
    "--forward-subagent-text",
    "--include-hook-events",
    "--debug",
    "--version",
    "--help",
}
SHORT = {
    "-p": "--print",
    "-r": "--resume",
    "-c": "--continue",
    "-v": "--version",
    "-h": "--help",
    "-d": "--debug",
    "--allowed-tools": "--allowedTools",
    "--disallowed-tools": "--disallowedTools",
}
CHOICES = {
    "--output-format": ("text", "json", "stream-json"),
    "--input-format": ("text", "stream-json"),
    "--permission-mode": ("acceptEdits", "bypassPermissions", "default", "dontAsk", "plan"),
}
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def parse_args(argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Commander-like parsing: returns (options, positionals)."""
    opts: dict[str, Any] = {}
    positionals: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if token == "--":
            positionals += argv[i:]
            break
        if not token.startswith("-") or token == "-":
            positionals.append(token)
            continue
        name, eq, inline = token.partition("=")
        name = SHORT.get(name, name)
        if name in FLAG_OPTS and not eq:
            opts[name] = True
        elif name in VALUE_OPTS:
            if eq:
                value = inline
            elif i < len(argv):
                value, i = argv[i], i + 1
            else:
                raise Fail(1, f"error: option '{name} <value>' argument missing")
            if name in CHOICES and value not in CHOICES[name]:
                allowed = ", ".join(CHOICES[name])
                raise Fail(
                    1,
                    f"error: option '{name} <value>' argument '{value}' is invalid. "
                    f"Allowed choices are {allowed}.",
                )
            opts[name] = value
        elif name in VARIADIC_OPTS:
            values = [inline] if eq else []
            while not eq and i < len(argv) and not argv[i].startswith("-"):
                values.append(argv[i])
                i += 1
            if not values:
                raise Fail(1, f"error: option '{name} <values...>' argument missing")
            opts.setdefault(name, []).extend(values)
        else:
            raise Fail(1, f"error: unknown option '{token}'")
    return opts, positionals


def tool_rules(values: list[str]) -> list[str]:
    """``["Bash(git diff:*),Write", "Edit"]`` → ``["Bash(git diff:*)", "Write", "Edit"]``."""
    rules: list[str] = []
    for value in values:
        rules += re.findall(r"[^,\s()]+(?:\([^)]*\))?", value)
    return rules


def sanitize(cwd: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)[:200]


def price(model: str, usage: dict[str, Any]) -> float:
    if "cost" in usage:
        return float(usage["cost"])
    for prefix, p_in, p_w5, p_w1, p_read, p_out in PRICES:
        if model.startswith(prefix):
            total = (
                usage["input"] * p_in
                + usage["cache_write_5m"] * p_w5
                + usage["cache_write_1h"] * p_w1
                + usage["cache_read"] * p_read
                + usage["output"] * p_out
            )
            return round(total / 1_000_000, 10)
    return 0.0


def api_usage(u: dict[str, Any], output_tokens: int | None = None) -> dict[str, Any]:
    return {
        "input_tokens": u["input"],
        "cache_creation_input_tokens": u["cache_write_5m"] + u["cache_write_1h"],
        "cache_read_input_tokens": u["cache_read"],
        "output_tokens": u["output"] if output_tokens is None else output_tokens,
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
        "service_tier": "standard",
        "cache_creation": {
            "ephemeral_1h_input_tokens": u["cache_write_1h"],
            "ephemeral_5m_input_tokens": u["cache_write_5m"],
        },
    }


ZERO = {"input": 0, "output": 0, "cache_read": 0, "cache_write_5m": 0, "cache_write_1h": 0}


class Claude:
    """One invocation: session resolution, turn rendering, transcript, result."""

    def __init__(self, sc: Scenario, opts: dict[str, Any], prompt: str | None) -> None:
        self.sc = sc
        self.ids = sc.ids
        self.cfg = sc.settings
        self.opts = opts
        self.prompt = prompt
        self.cwd = Path.cwd()
        home = Path(os.environ.get("HOME") or Path.home())
        self.cfg_dir = Path(os.environ.get("CLAUDE_CONFIG_DIR") or home / ".claude")
        self.project_dir = self.cfg_dir / "projects" / sanitize(str(self.cwd))
        self.format = opts.get("--output-format", "text")
        self.stream = self.format == "stream-json"
        self.out = Out(self.cfg.get("event_delay", 0))
        self.events: list[dict[str, Any]] = []
        self.version = version_of(self.cfg)
        self.model = ALIASES.get(opts.get("--model", ""), opts.get("--model")) or self.cfg.get(
            "model", DEFAULT_MODEL
        )
        self.mode = opts.get("--permission-mode", "default")
        self.allowed = tool_rules(opts.get("--allowedTools", []))
        self.disallowed = tool_rules(opts.get("--disallowedTools", []))
        self.persist = not opts.get("--no-session-persistence")
        self.sid = ""
        self.source: Path | None = None  # transcript being resumed
        self.last_uuid: str | None = None
        self.baseline_cost = 0.0  # restored_on_resume: the session's earlier total
        self.process_cost = 0.0
        self.started = time.monotonic()

    # -- session -----------------------------------------------------------------------

    def check_session(self) -> None:
        """Validation that happens before any API call (no scenario turn is consumed)."""
        sid = self.opts.get("--session-id")
        resume = self.opts.get("--resume")
        cont = self.opts.get("--continue")
        if sid is not None and not UUID_RE.match(sid):
            raise Fail(1, "Error: Invalid session ID. Must be a valid UUID.")
        if sid and (resume or cont) and not self.opts.get("--fork-session"):
            raise Fail(
                1,
                "Error: --session-id can only be used with --continue or --resume "
                "if --fork-session is also specified.",
            )
        if sid and (self.project_dir / f"{sid}.jsonl").exists():
            raise Fail(1, f"Error: Session ID {sid} is already in use.")
        if resume:
            path = self.project_dir / f"{resume}.jsonl"
            if not path.exists():
                self.no_conversation(resume)
            self.source = path
        elif cont:
            found = sorted(self.project_dir.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
            if not found:
                raise Fail(1, "No conversation found to continue")
            self.source = found[-1]

    def no_conversation(self, sid: str) -> None:
        message = f"No conversation found with session ID: {sid}"
        lines = []
        if self.stream:
            result = self.result_line("error_during_execution", True, [], ok_text=None)
            result.update(session_id=self.ids.uuid4(), errors=[message], num_turns=0)
            lines.append(dumps(result))
        raise Fail(1, message, stdout_lines=lines)

    def open_session(self, turn: dict[str, Any]) -> None:
        forced = (failure_of(turn) or {}).get("kind")
        if forced == "already_in_use":
            raise Fail(
                1,
                f"Error: Session ID {self.opts.get('--session-id') or self.sid} is already in use.",
            )
        if forced == "session_not_found":
            self.no_conversation(self.opts.get("--resume") or self.ids.uuid4())
        if self.source is None:
            self.sid = self.opts.get("--session-id") or self.ids.uuid4()
            return
        source_id = self.source.stem
        if self.cfg.get("cost_mode") == "restored_on_resume":
            self.baseline_cost = self.stored_cost(source_id)
        mode = "fork" if self.opts.get("--fork-session") else None
        mode = mode or turn.get("resume_mode") or self.cfg.get("resume_mode", "modern")
        if mode in ("fork", "legacy"):
            self.sid = self.opts.get("--session-id") or self.ids.uuid4()
            copied = []
            for record in read_jsonl(self.source):
                if "sessionId" in record:
                    record["sessionId"] = self.sid
                copied.append(record)
            if self.persist:
                append_jsonl(self.transcript, copied)
        else:
            self.sid = source_id
        history = read_jsonl(self.source)
        self.last_uuid = next((r["uuid"] for r in reversed(history) if r.get("uuid")), None)

    @property
    def transcript(self) -> Path:
        return self.project_dir / f"{self.sid}.jsonl"

    def stored_cost(self, sid: str) -> float:
        path = self.cfg_dir / "fake-claude" / f"{sid}.json"
        try:
            return float(json.loads(path.read_text())["total_cost_usd"])
        except (OSError, ValueError, KeyError):
            return 0.0

    def store_cost(self, added: float) -> None:
        path = self.cfg_dir / "fake-claude" / f"{self.sid}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        total = self.stored_cost(self.sid) + added
        path.write_text(json.dumps({"total_cost_usd": total}))

    def record(self, kind: str, **fields: Any) -> str:
        """Append one transcript line; returns its uuid."""
        line_uuid = self.ids.uuid4()
        if self.persist:
            record = {
                "parentUuid": self.last_uuid,
                "isSidechain": False,
                "userType": "external",
                "cwd": str(self.cwd),
                "sessionId": self.sid,
                "version": self.version,
                "gitBranch": "",
                "type": kind,
                **fields,
                "uuid": line_uuid,
                "timestamp": now_iso(),
            }
            append_jsonl(self.transcript, [record])
        self.last_uuid = line_uuid
        return line_uuid

    # -- output ------------------------------------------------------------------------

    def emit(self, obj: dict[str, Any]) -> None:
        self.events.append(obj)
        if self.stream:
            self.out.line(obj)

    def init_line(self) -> None:
        self.emit(
            {
                "type": "system",
                "subtype": "init",
                "cwd": str(self.cwd),
                "session_id": self.sid,
                "tools": TOOLS,
                "mcp_servers": [],
                "model": self.model,
                "permissionMode": self.mode,
                "slash_commands": ["compact", "review"],
                "apiKeySource": "ANTHROPIC_API_KEY"
                if os.environ.get("ANTHROPIC_API_KEY")
                else "none",
                "claude_code_version": self.version,
                "output_style": "default",
                "agents": [],
                "skills": [],
                "plugins": [],
                "uuid": self.ids.uuid4(),
            }
        )

    # -- a turn ------------------------------------------------------------------------

    def permitted(self, tool: str) -> bool:
        if tool not in GUARDED or not self.cfg.get("enforce_permissions", True):
            return True
        matches = [r for r in self.disallowed if r == tool or r.startswith(tool + "(")]
        if matches:
            return False
        if self.opts.get("--dangerously-skip-permissions") or self.mode == "bypassPermissions":
            return True
        if self.mode == "plan":
            return False
        if self.mode == "acceptEdits" and tool in EDIT_TOOLS:
            return True
        return any(r == tool or r.startswith(tool + "(") for r in self.allowed)

    def planned_tools(self, turn: dict[str, Any]) -> list[dict[str, Any]]:
        tools: list[dict[str, Any]] = []
        todos = turn.get("todos")
        if todos:
            if self.cfg.get("todo_tool") == "TaskCreate":
                for item in todos:
                    text = item.get("content", "")
                    tools.append(
                        {
                            "name": "TaskCreate",
                            "input": {"subject": text, "description": text, "activeForm": text},
                        }
                    )
            else:
                items = [
                    {
                        "content": t.get("content", ""),
                        "status": t.get("status", "pending"),
                        "activeForm": t.get("activeForm", t.get("content", "")),
                    }
                    for t in todos
                ]
                tools.append({"name": "TodoWrite", "input": {"todos": items}})
        tools += [dict(t) for t in turn.get("tools", [])]
        tools += [{"edit": e} for e in turn.get("edits", [])]
        return tools

    def tool_block(self, tool: dict[str, Any], tool_id: str) -> tuple[dict[str, Any], Any]:
        """The ``tool_use`` block for a planned tool, plus the edit plan for edits."""
        if "edit" not in tool:
            name = tool.get("name", "Bash")
            block = {
                "type": "tool_use",
                "id": tool_id,
                "name": name,
                "input": tool.get("input", {}),
            }
            return block, None
        info = plan_edit(self.cwd, tool["edit"], AGENT)
        if info["op"] == "replace":
            name = "Edit"
            tool_input = {
                "file_path": info["path"],
                "old_string": info["old"],
                "new_string": info["new"],
            }
        elif info["op"] == "delete":
            name, tool_input = "Bash", {"command": f"rm {shlex.quote(info['path'])}"}
        else:
            name = "Write"
            tool_input = {"file_path": info["path"], "content": info["new_text"]}
        return {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}, info

    def run_tool(
        self, tool: dict[str, Any], block: dict[str, Any], info: Any
    ) -> tuple[dict[str, Any], bool]:
        """Perform a tool call after its tool_use was emitted: (tool_use_result, denied)."""
        name, tool_input = block["name"], block["input"]
        if tool.get("denied") or not self.permitted(name):
            return {}, True
        if info is not None:
            if info.get("error"):
                return {"error": info["error"], "is_error": True}, False
            perform_edit(info)
            verb = "created" if not info["existed"] else "updated"
            text = (
                f"File {verb} successfully at: {info['path']}"
                if name == "Write"
                else f"The file {info['path']} has been updated successfully."
            )
            return {"output": text, "filePath": info["path"], "type": verb}, False
        output = tool.get("output")
        if name == "TodoWrite":
            todo_file = self.cfg_dir / "todos" / f"{self.sid}-agent-{self.sid}.json"
            todo_file.parent.mkdir(parents=True, exist_ok=True)
            todo_file.write_text(json.dumps(tool_input.get("todos", [])))
            output = output or (
                "Todos have been modified successfully. Ensure that you continue "
                "to use the todo list to track your progress."
            )
        elif name == "TaskCreate":
            task_dir = self.cfg_dir / "tasks" / self.sid
            task_dir.mkdir(parents=True, exist_ok=True)
            number = len(list(task_dir.glob("*.json"))) + 1
            task = {
                "id": str(number),
                "subject": tool_input.get("subject", ""),
                "description": tool_input.get("description", ""),
                "status": "pending",
                "blocks": [],
                "blockedBy": [],
            }
            (task_dir / f"{number}.json").write_text(json.dumps(task))
            output = output or f"Task #{number} created successfully: {task['subject']}"
        return {
            "output": "ok" if output is None else output,
            "is_error": bool(tool.get("is_error")),
        }, False

    def run_turn(self, turn: dict[str, Any], prompt: str) -> int:
        """Render one turn after init; returns the exit code."""
        failure = failure_of(turn) or {}
        kind = failure.get("kind")
        self.record("user", message={"role": "user", "content": prompt}, permissionMode=self.mode)
        if turn.get("delay"):
            time.sleep(float(turn["delay"]))
        for raw in turn.get("raw_lines", []):
            if self.stream:
                self.out.raw(raw if isinstance(raw, str) else dumps(raw))
        spawn_background(AGENT, turn)
        if kind in ("api_error", "auth", "rate_limit"):
            return self.api_error(kind, failure)

        models = models_of(turn, self.model)
        main_model, main_usage = models[0]
        tools = self.planned_tools(turn)
        prefix: list[dict[str, Any]] = []
        if turn.get("thinking"):
            prefix.append(
                {
                    "type": "thinking",
                    "thinking": turn["thinking"],
                    "signature": self.ids.token("sig_", 32),
                }
            )
        if turn.get("preamble"):
            prefix.append({"type": "text", "text": turn["preamble"]})
        n_requests = len(tools) + 1
        stop_after = {
            "max_turns": 1,
            "budget": 1,
            "error": 1,
            "crash": 1,
            "sigterm": 1,
            "hang": 1,
        }.get(kind or "", n_requests)
        stop_after = min(n_requests, int(failure.get("after_requests", stop_after)))
        shares = {key: split(int(main_usage[key]), n_requests) for key in ZERO}
        billed = dict(ZERO)
        denials: list[dict[str, Any]] = list(turn.get("permission_denials", []))
        text = str(turn.get("text", "OK"))
        for index in range(stop_after):
            share = {key: shares[key][index] for key in ZERO}
            for key in ZERO:
                billed[key] += share[key]
            if index < len(tools):
                tool_id = self.ids.token("toolu_01", 22)
                block, info = self.tool_block(tools[index], tool_id)
                blocks = (prefix if index == 0 else []) + [block]
                self.assistant(main_model, blocks, share, "tool_use")
                if kind in ("max_turns", "budget") and index == stop_after - 1:
                    break  # the limit stops the run before this tool call is executed
                result, denied = self.run_tool(tools[index], block, info)
                if denied:
                    denials.append(
                        {
                            "tool_name": block["name"],
                            "tool_use_id": tool_id,
                            "tool_input": block["input"],
                        }
                    )
                    content = (
                        f"Claude requested permissions to use {block['name']}, "
                        "but you haven't granted it yet."
                    )
                    self.tool_result(tool_id, content, True, None)
                else:
                    content = result.get("output", result.get("error", ""))
                    self.tool_result(tool_id, content, bool(result.get("is_error")), result)
            else:
                blocks = ([] if tools else prefix) + [{"type": "text", "text": text}]
                self.assistant(main_model, blocks, share, "end_turn")
        if kind in ("crash", "sigterm", "hang"):
            die(kind, AGENT, failure)

        usage = {main_model: billed, **{m: u for m, u in models[1:]}}
        if kind == "max_turns":
            limit = self.opts.get("--max-turns") or failure.get("max_turns", 1)
            return self.finish(
                usage,
                denials,
                stop_after,
                "error_max_turns",
                [f"Reached maximum number of turns ({limit})"],
                "max_turns",
                turn,
            )
        if kind == "budget":
            limit = self.opts.get("--max-budget-usd") or failure.get("budget", 0.02)
            return self.finish(
                usage,
                denials,
                stop_after,
                "error_max_budget_usd",
                [f"Reached maximum budget (${limit})"],
                "budget_exhausted",
                turn,
            )
        if kind == "error":
            message = failure.get("message", "Execution error (injected by fake)")
            return self.finish(
                usage,
                denials,
                stop_after,
                "error_during_execution",
                [message],
                "aborted_tools",
                turn,
            )
        return self.finish(
            usage, denials, stop_after, "success", None, "completed", turn, text=text
        )

    def assistant(
        self, model: str, blocks: list[dict[str, Any]], share: dict[str, Any], stop_reason: str
    ) -> None:
        message_id = self.ids.token("msg_01", 22)
        request_id = self.ids.token("req_011C", 20)
        style = self.cfg.get("stream_usage", "first_partial")
        for position, block in enumerate(blocks):
            final = share["output"]
            shown = final
            if style == "placeholder" or (
                style == "first_partial" and position == 0 and len(blocks) > 1
            ):
                shown = min(1, final)
            message = {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [block],
                "stop_reason": stop_reason if position == len(blocks) - 1 else None,
                "stop_sequence": None,
            }
            line_uuid = self.record(
                "assistant", requestId=request_id, message={**message, "usage": api_usage(share)}
            )
            self.emit(
                {
                    "type": "assistant",
                    "message": {**message, "usage": api_usage(share, shown)},
                    "parent_tool_use_id": None,
                    "session_id": self.sid,
                    "uuid": line_uuid,
                    "request_id": request_id,
                }
            )

    def tool_result(self, tool_id: str, content: str, is_error: bool, extra: Any) -> None:
        block = {
            "tool_use_id": tool_id,
            "type": "tool_result",
            "content": content,
            "is_error": is_error,
        }
        use_result = extra if extra is not None else f"Error: {content}"
        line_uuid = self.record(
            "user", message={"role": "user", "content": [block]}, toolUseResult=use_result
        )
        self.emit(
            {
                "type": "user",
                "message": {"role": "user", "content": [block]},
                "parent_tool_use_id": None,
                "session_id": self.sid,
                "uuid": line_uuid,
                "tool_use_result": use_result,
            }
        )

    def api_error(self, kind: str, failure: dict[str, Any]) -> int:
        defaults = {
            "api_error": (
                "API Error: 500 Internal server error. This is a server-side issue, "
                "usually temporary — try again in a moment.",
                500,
            ),
            "auth": ("Invalid API key · Fix external API key", 401),
            "rate_limit": ("API Error: Request rejected (429) · slowdown", 429),
        }
        message, status = defaults[kind]
        message = failure.get("message", message)
        status = failure.get("status", status)
        result = self.result_line("success", True, [], ok_text=message)
        result.update(api_error_status=status, terminal_reason="api_error", num_turns=1)
        self.emit(result)
        self.print_final(result)
        return int(failure.get("exit_code", 1))

    def result_line(
        self, subtype: str, is_error: bool, denials: list[Any], ok_text: str | None
    ) -> dict[str, Any]:
        elapsed = int((time.monotonic() - self.started) * 1000)
        result: dict[str, Any] = {
            "type": "result",
            "subtype": subtype,
            "is_error": is_error,
            "api_error_status": None,
            "duration_ms": elapsed,
            "duration_api_ms": elapsed // 2,
            "num_turns": 0,
            "stop_reason": None,
            "session_id": self.sid,
            "total_cost_usd": self.baseline_cost + self.process_cost,
            "usage": api_usage(ZERO),
            "modelUsage": {},
            "permission_denials": denials,
            "terminal_reason": "completed",
            "uuid": self.ids.uuid4(),
        }
        if ok_text is not None:
            result["result"] = ok_text
        return result

    def finish(
        self,
        usage: dict[str, dict[str, Any]],
        denials: list[Any],
        requests: int,
        subtype: str,
        errors: list[str] | None,
        terminal: str,
        turn: dict[str, Any],
        text: str | None = None,
    ) -> int:
        costs = {model: price(model, u) for model, u in usage.items()}
        self.process_cost += sum(costs.values())
        if self.persist:
            self.store_cost(sum(costs.values()))
        is_error = subtype != "success"
        result = self.result_line(subtype, is_error, denials, ok_text=text)
        main_model = next(iter(usage))
        result.update(
            num_turns=int(turn.get("num_turns", requests)),
            stop_reason="end_turn" if not is_error else "tool_use",
            terminal_reason=terminal,
            usage=api_usage(usage[main_model]),
            modelUsage={
                model: {
                    "inputTokens": u["input"],
                    "outputTokens": u["output"],
                    "cacheReadInputTokens": u["cache_read"],
                    "cacheCreationInputTokens": u["cache_write_5m"] + u["cache_write_1h"],
                    "webSearchRequests": 0,
                    "costUSD": costs[model],
                    "contextWindow": 200000,
                    "maxOutputTokens": 64000,
                }
                for model, u in usage.items()
            },
        )
        if errors:
            result["errors"] = errors
        self.emit(result)
        self.print_final(result)
        return int(turn.get("exit_code", 1 if is_error else 0))

    def print_final(self, result: dict[str, Any]) -> None:
        if self.format == "json":
            verbose = self.opts.get("--verbose") or self.cfg.get("verbose_array")
            self.out.line(self.events if verbose else result)
        elif self.format == "text":
            text = result.get("result") or "; ".join(result.get("errors", []))
            self.out.raw(text)
        log_event(
            AGENT, "result", session_id=self.sid, subtype=result["subtype"], turn=self.sc.turn_index
        )


def version_of(cfg: dict[str, Any]) -> str:
    if cfg.get("version"):
        return str(cfg["version"])
    return "2.1.280" if cfg.get("cost_mode") == "restored_on_resume" else "2.1.240"


def stream_input_loop(claude: Claude) -> int:
    """``--input-format stream-json``: one turn per user message until stdin closes."""
    code = 0
    for raw in sys.stdin:
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if message.get("type") == "control_request":
            claude.out.line(
                {
                    "type": "control_response",
                    "response": {
                        "subtype": "success",
                        "request_id": message.get("request_id"),
                        "response": {},
                    },
                }
            )
            continue
        if message.get("type") != "user":
            continue
        content = message.get("message", {}).get("content", "")
        if isinstance(content, list):
            content = "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
        log_event(AGENT, "message", prompt=content)
        code = claude.run_turn(claude.sc.take_turn(), content)
    return code


def main() -> int:
    sc = Scenario(AGENT)
    argv = sys.argv[1:]
    try:
        opts, positionals = parse_args(argv)
    except Fail:
        log_start(AGENT, argv, None, None)
        raise
    if opts.get("--version"):
        log_start(AGENT, argv, None, None)
        print(f"{version_of(sc.settings)} (Claude Code)")
        return 0
    stream_input = opts.get("--input-format") == "stream-json"
    stdin_text = None if stream_input else read_stdin()
    parts = [p for p in (stdin_text, positionals[0] if positionals else None) if p]
    prompt = "\n\n".join(parts) if parts else None
    log_start(AGENT, argv, stdin_text, prompt)
    if not opts.get("--print"):
        raise Fail(2, "fake-claude: only print mode (-p) is supported")
    if opts.get("--output-format") == "stream-json" and not opts.get("--verbose"):
        raise Fail(1, "Error: When using --print, --output-format=stream-json requires --verbose")
    if stream_input and opts.get("--output-format") != "stream-json":
        raise Fail(1, "Error: --input-format=stream-json requires output-format=stream-json.")
    if not stream_input and not prompt:
        raise Fail(
            1,
            "Error: Input must be provided either through stdin or as a prompt argument "
            "when using --print",
        )
    claude = Claude(sc, opts, prompt)
    claude.check_session()
    if stream_input:
        claude.open_session({})
        claude.init_line()
        return stream_input_loop(claude)
    turn = sc.take_turn()
    for noise in turn.get("noise", []):
        claude.out.raw(str(noise))
    claude.open_session(turn)
    claude.model = models_of(turn, claude.model)[0][0]  # init names the model actually used
    claude.init_line()
    assert prompt is not None
    return claude.run_turn(turn, prompt)


if __name__ == "__main__":
    run_main(AGENT, main)

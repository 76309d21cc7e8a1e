#!/usr/bin/env python3
"""A fake ``codex`` (``codex exec``) that follows the real machine contract.

Driven by ``FAKE_AGENT_SCENARIO`` (see README.md); stdlib only. What it reproduces
(agent-clis.md §4, §8.2; real-cli-harness.md §3):

- clap-like argv: ``codex exec [OPTIONS] [PROMPT|-]`` and
  ``codex exec [OPTIONS] resume [OPTIONS] <ID>|--last [PROMPT|-]`` (options before or after
  ``resume``); unknown options and bad ``--sandbox`` values exit 2. The prompt ``-`` (or no
  prompt with a piped stdin) reads stdin and says ``Reading prompt from stdin...`` on stderr.
- Outside a git repository exec refuses to run without ``--skip-git-repo-check`` (exit 1).
- ``--json``: ``thread.started`` (UUIDv7-like id), ``turn.started``, ``item.*`` events
  (reasoning, command_execution started/completed, todo_list, mcp_tool_call, file_change,
  agent_message), then ``turn.completed`` whose usage is **cumulative for the thread across
  resumes** (``input_tokens`` includes ``cached_input_tokens``; ``output_tokens`` includes
  reasoning). Without ``--json`` stdout gets the final message only.
- Rollouts in ``${CODEX_HOME:-$HOME/.codex}/sessions/YYYY/MM/DD/rollout-<ts>-<id>.jsonl``,
  written only once the first turn completed (``--ephemeral`` writes none). ``exec resume``
  keeps the id from any cwd; an unknown id → ``no rollout found for thread id <id>``, exit 1.
- Sandbox: the default ``read-only`` makes file changes fail (status ``failed``, file
  untouched, exit 0); ``workspace-write``, ``danger-full-access``, ``--full-auto`` and
  ``--dangerously-bypass-approvals-and-sandbox`` let them through.
- Failures: ``turn.failed`` after an ``error`` event → exit 1; a transient
  ``{"type":"error","message":"Reconnecting... 1/5"}`` may precede a successful turn.
"""

from __future__ import annotations

import os
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
    now_utc,
    perform_edit,
    plan_edit,
    read_jsonl,
    read_stdin,
    run_main,
    spawn_background,
)

AGENT = "codex"
DEFAULT_MODEL = "gpt-5-codex"
VALUE_OPTS = {
    "--model",
    "--sandbox",
    "--cd",
    "--config",
    "--output-last-message",
    "--output-schema",
    "--color",
    "--image",
    "--profile",
    "--local-provider",
}
FLAG_OPTS = {
    "--json",
    "--experimental-json",
    "--full-auto",
    "--dangerously-bypass-approvals-and-sandbox",
    "--skip-git-repo-check",
    "--ephemeral",
    "--oss",
    "--last",
    "--help",
    "--version",
}
SHORT = {
    "-m": "--model",
    "-s": "--sandbox",
    "-C": "--cd",
    "-c": "--config",
    "-o": "--output-last-message",
    "-i": "--image",
    "-p": "--profile",
    "-h": "--help",
    "-V": "--version",
}
SANDBOXES = ("read-only", "workspace-write", "danger-full-access")
USAGE = "Usage: codex exec [OPTIONS] [PROMPT] [COMMAND]"
API_MESSAGES = {
    "api_error": "We’re currently experiencing high demand, which may cause temporary errors.",
    "rate_limit": "exceeded retry limit, last status: 429 Too Many Requests, request id: req_fake",
    "auth": "unexpected status 401 Unauthorized: invalid_api_key",
}


def parse_args(argv: list[str]) -> dict[str, Any]:
    """``{"options": {...}, "resume": bool, "positionals": [...]}`` for ``codex exec``."""
    if argv[:1] in (["--version"], ["-V"]):
        return {"options": {"--version": True}, "resume": False, "positionals": []}
    if not argv or argv[0] not in ("exec", "e"):
        raise Fail(2, "fake-codex: only `codex exec` is supported")
    opts: dict[str, Any] = {}
    positionals: list[str] = []
    resume = False
    i = 1
    while i < len(argv):
        token = argv[i]
        i += 1
        if token == "--":
            positionals += argv[i:]
            break
        if token == "resume" and not resume and not positionals:
            resume = True
            continue
        if not token.startswith("-") or token == "-":
            positionals.append(token)
            continue
        name, eq, inline = token.partition("=")
        name = SHORT.get(name, name)
        if name in FLAG_OPTS and not eq:
            if name == "--last" and not resume:
                raise Fail(2, f"error: unexpected argument '--last' found\n\n{USAGE}")
            opts[name] = True
        elif name in VALUE_OPTS:
            if eq:
                value = inline
            elif i < len(argv):
                value, i = argv[i], i + 1
            else:
                raise Fail(
                    2, f"error: a value is required for '{name} <VALUE>' but none was supplied"
                )
            if name == "--sandbox" and value not in SANDBOXES:
                raise Fail(
                    2,
                    f"error: invalid value '{value}' for '--sandbox <SANDBOX_MODE>'\n"
                    f"  [possible values: {', '.join(SANDBOXES)}]",
                )
            if name in ("--config", "--image"):
                opts.setdefault(name, []).append(value)
            else:
                opts[name] = value
        else:
            raise Fail(
                2,
                f"error: unexpected argument '{token}' found\n\n{USAGE}\n\n"
                "For more information, try '--help'.",
            )
    return {"options": opts, "resume": resume, "positionals": positionals}


def codex_home() -> Path:
    home = Path(os.environ.get("HOME") or Path.home())
    return Path(os.environ.get("CODEX_HOME") or home / ".codex")


def find_rollout(thread_id: str | None) -> Path | None:
    sessions = codex_home() / "sessions"
    if thread_id is None:  # --last: the most recently written rollout
        found = sorted(sessions.glob("*/*/*/rollout-*.jsonl"), key=lambda p: p.stat().st_mtime)
        return found[-1] if found else None
    found = sorted(sessions.glob(f"*/*/*/rollout-*-{thread_id}.jsonl"))
    return found[0] if found else None


def in_git_repo(cwd: Path) -> bool:
    return any((directory / ".git").exists() for directory in (cwd, *cwd.parents))


class Codex:
    """One ``codex exec`` invocation."""

    def __init__(self, sc: Scenario, parsed: dict[str, Any], prompt: str) -> None:
        self.sc = sc
        self.ids = sc.ids
        self.cfg = sc.settings
        self.opts = parsed["options"]
        self.prompt = prompt
        self.cwd = Path.cwd()
        self.json = bool(self.opts.get("--json") or self.opts.get("--experimental-json"))
        self.out = Out(self.cfg.get("event_delay", 0))
        self.model = self.opts.get("--model") or self.cfg.get("model") or DEFAULT_MODEL
        self.thread_id = ""
        self.rollout: Path | None = None
        self.previous = {
            "input_tokens": 0,
            "cached_input_tokens": 0,
            "output_tokens": 0,
            "reasoning_output_tokens": 0,
            "cache_write_input_tokens": 0,
        }
        self.items = 0

    def sandbox(self) -> str:
        if self.opts.get("--dangerously-bypass-approvals-and-sandbox"):
            return "danger-full-access"
        if self.opts.get("--full-auto"):
            return "workspace-write"
        for override in self.opts.get("--config", []):
            key, _, value = override.partition("=")
            if key.strip() == "sandbox_mode":
                return value.strip().strip("'\"")
        return str(self.opts.get("--sandbox", "read-only"))

    def version(self) -> tuple[int, ...]:
        text = str(self.cfg.get("version", "0.169.0"))
        return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())

    # -- session -----------------------------------------------------------------------

    def open_thread(self, parsed: dict[str, Any], turn: dict[str, Any]) -> None:
        kind = (failure_of(turn) or {}).get("kind")
        if parsed["resume"]:
            wanted = None if self.opts.get("--last") else parsed["thread_ref"]
            rollout = None if kind == "session_not_found" else find_rollout(wanted)
            if rollout is None:
                raise Fail(
                    1,
                    "Error: thread/resume: thread/resume failed: no rollout found for thread id "
                    f"{wanted or '--last'} (code -32600)",
                )
            self.rollout = rollout
            records = read_jsonl(rollout)
            meta = next((r for r in records if r.get("type") == "session_meta"), {})
            self.thread_id = meta.get("payload", {}).get("id") or rollout.stem[-36:]
            for record in records:
                payload = record.get("payload", {})
                if record.get("type") == "event_msg" and payload.get("type") == "token_count":
                    total = payload.get("info", {}).get("total_token_usage", {})
                    self.previous = {k: int(total.get(k, 0)) for k in self.previous}
        else:
            self.thread_id = self.ids.uuid7()

    def write_rollout(self, usage: dict[str, int], last: dict[str, int], text: str) -> None:
        if self.opts.get("--ephemeral"):
            return
        records = []
        if self.rollout is None:
            stamp = now_utc()
            day = codex_home() / "sessions" / stamp.strftime("%Y/%m/%d")
            self.rollout = (
                day / f"rollout-{stamp.strftime('%Y-%m-%dT%H-%M-%S')}-{self.thread_id}.jsonl"
            )
            records.append(
                self.rollout_line(
                    "session_meta",
                    {
                        "id": self.thread_id,
                        "timestamp": now_iso(),
                        "cwd": str(self.cwd),
                        "originator": "codex_exec",
                        "cli_version": self.cfg.get("version", "0.169.0"),
                        "source": "exec",
                        "model_provider": "openai",
                    },
                )
            )
        records += [
            self.rollout_line(
                "turn_context",
                {
                    "cwd": str(self.cwd),
                    "model": self.model,
                    "approval_policy": "never",
                    "sandbox_policy": {"mode": self.sandbox()},
                },
            ),
            self.rollout_line(
                "response_item",
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": self.prompt}],
                },
            ),
            self.rollout_line(
                "response_item",
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text}],
                },
            ),
            self.rollout_line(
                "event_msg",
                {
                    "type": "token_count",
                    "info": {
                        "total_token_usage": {
                            **usage,
                            "total_tokens": usage["input_tokens"] + usage["output_tokens"],
                        },
                        "last_token_usage": {
                            **last,
                            "total_tokens": last["input_tokens"] + last["output_tokens"],
                        },
                        "model_context_window": 272000,
                    },
                },
            ),
        ]
        append_jsonl(self.rollout, records)

    @staticmethod
    def rollout_line(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"timestamp": now_iso(), "type": kind, "payload": payload}

    # -- output ------------------------------------------------------------------------

    def event(self, obj: dict[str, Any]) -> None:
        if self.json:
            self.out.line(obj)

    def item(self, body: dict[str, Any], started: bool = False) -> dict[str, Any]:
        item = {"id": f"item_{self.items}", **body}
        self.items += 1
        if started:
            self.event({"type": "item.started", "item": {**item, **started_fields(item)}})
        self.event({"type": "item.completed", "item": item})
        return item

    def fail_turn(self, message: str, code: int = 1) -> int:
        self.event({"type": "error", "message": message})
        self.event({"type": "turn.failed", "error": {"message": message}})
        if not self.json:
            sys.stderr.write(f"ERROR: {message}\n")
        return code

    def run_turn(self, turn: dict[str, Any]) -> int:
        failure = failure_of(turn) or {}
        kind = failure.get("kind")
        if kind in ("crash", "sigterm", "hang") and failure.get("before_start"):
            die(kind, AGENT, failure)  # e.g. a config error: not even thread.started
        self.event({"type": "thread.started", "thread_id": self.thread_id})
        self.event({"type": "turn.started"})
        if turn.get("delay"):
            time.sleep(float(turn["delay"]))
        for raw in turn.get("raw_lines", []):
            if self.json:
                self.out.raw(raw if isinstance(raw, str) else dumps(raw))
        spawn_background(AGENT, turn)
        for attempt in range(int(turn.get("transient_errors", 0))):
            self.event({"type": "error", "message": f"Reconnecting... {attempt + 1}/5"})
        if kind in ("crash", "sigterm", "hang"):
            die(kind, AGENT, failure)
        if kind in API_MESSAGES:
            return self.fail_turn(failure.get("message", API_MESSAGES[kind]))
        if turn.get("thinking"):
            self.item({"type": "reasoning", "text": turn["thinking"]})
        self.run_tools(turn)
        if kind in ("error", "max_turns", "budget"):
            return self.fail_turn(failure.get("message", f"{kind} (injected by fake)"))
        text = str(turn.get("text", "OK"))
        self.item({"type": "agent_message", "text": text})
        last = self.turn_usage(turn)
        total = {key: self.previous[key] + last[key] for key in last}
        self.event({"type": "turn.completed", "usage": self.reported(total)})
        self.write_rollout(total, last, text)
        if not self.json:
            sys.stdout.write(text + "\n")
        if self.opts.get("--output-last-message"):
            Path(self.opts["--output-last-message"]).write_text(text)
        log_event(AGENT, "result", session_id=self.thread_id, turn=self.sc.turn_index)
        return int(turn.get("exit_code", 0))

    def turn_usage(self, turn: dict[str, Any]) -> dict[str, int]:
        usage = dict.fromkeys(self.previous, 0)
        for _model, u in models_of(turn, self.model):
            usage["input_tokens"] += int(u["input"]) + int(u["cache_read"])
            usage["cached_input_tokens"] += int(u["cache_read"])
            usage["output_tokens"] += int(u["output"])
            usage["reasoning_output_tokens"] += int(u["reasoning"])
            usage["cache_write_input_tokens"] += int(u["cache_write_5m"]) + int(u["cache_write_1h"])
        return usage

    def reported(self, total: dict[str, int]) -> dict[str, int]:
        """The usage fields this CLI version prints (newer versions add fields)."""
        keys = ["input_tokens", "cached_input_tokens"]
        if self.version() >= (0, 160, 0):
            keys.append("cache_write_input_tokens")
        keys.append("output_tokens")
        if self.version() >= (0, 125, 0):
            keys.append("reasoning_output_tokens")
        return {key: total[key] for key in keys}

    def run_tools(self, turn: dict[str, Any]) -> None:
        writable = self.sandbox() != "read-only"
        if turn.get("todos"):
            items = [
                {"text": t.get("content", ""), "completed": t.get("status") == "completed"}
                for t in turn["todos"]
            ]
            self.item({"type": "todo_list", "items": items}, started=True)
        for tool in turn.get("tools", []):
            name = tool.get("name", "command_execution")
            tool_input = tool.get("input", {})
            if name == "todo_list":
                self.item({"type": "todo_list", "items": tool_input.get("items", [])}, started=True)
            elif name in ("command_execution", "shell", "exec_command", "bash"):
                command = tool_input.get("command") or tool_input.get("cmd") or "true"
                failed = bool(tool.get("is_error"))
                self.item(
                    {
                        "type": "command_execution",
                        "command": f"/bin/bash -lc {command!r}",
                        "aggregated_output": str(tool.get("output", "")),
                        "exit_code": int(tool.get("exit_code", 1 if failed else 0)),
                        "status": "failed" if failed else "completed",
                    },
                    started=True,
                )
            else:
                self.item(
                    {
                        "type": "mcp_tool_call",
                        "server": tool.get("server", "fake"),
                        "tool": name,
                        "arguments": tool_input,
                        "result": {
                            "content": [{"type": "text", "text": str(tool.get("output", "ok"))}]
                        },
                        "error": None,
                        "status": "completed",
                    },
                    started=True,
                )
        for edit in turn.get("edits", []):
            info = plan_edit(self.cwd, edit, AGENT)
            ok = writable and not info.get("error")
            if ok:
                perform_edit(info)
            self.item(
                {
                    "type": "file_change",
                    "changes": [{"path": info["path"], "kind": info["kind"]}],
                    "status": "completed" if ok else "failed",
                }
            )


def started_fields(item: dict[str, Any]) -> dict[str, Any]:
    if item["type"] == "command_execution":
        return {"aggregated_output": "", "exit_code": None, "status": "in_progress"}
    if item["type"] == "mcp_tool_call":
        return {"result": None, "status": "in_progress"}
    return {}


def read_prompt(parsed: dict[str, Any]) -> tuple[str | None, str | None]:
    """(stdin text, effective prompt) following exec's rules for ``-`` and piped stdin."""
    positionals = list(parsed["positionals"])
    if parsed["resume"] and not parsed["options"].get("--last"):
        if not positionals:
            raise Fail(
                2, "error: the following required arguments were not provided:\n  <SESSION_ID>"
            )
        parsed["thread_ref"] = positionals.pop(0)
    if len(positionals) > 1:
        raise Fail(2, f"error: unexpected argument '{positionals[1]}' found\n\n{USAGE}")
    argument = positionals[0] if positionals else None
    if argument in (None, "-"):
        sys.stderr.write("Reading prompt from stdin...\n")
        stdin_text = read_stdin()
        return stdin_text, stdin_text
    stdin_text = read_stdin()
    if stdin_text:
        sys.stderr.write("Reading additional input from stdin...\n")
        return stdin_text, f"{argument}\n\n{stdin_text}"
    return stdin_text, argument


def main() -> int:
    sc = Scenario(AGENT)
    argv = sys.argv[1:]
    try:
        parsed = parse_args(argv)
        if parsed["options"].get("--version"):
            log_start(AGENT, argv, None, None)
            print(f"codex-cli {sc.settings.get('version', '0.169.0')}")
            return 0
        if parsed["options"].get("--cd"):
            os.chdir(parsed["options"]["--cd"])
        stdin_text, prompt = read_prompt(parsed)
    except Fail:
        log_start(AGENT, argv, None, None)
        raise
    log_start(AGENT, argv, stdin_text, prompt)
    if not prompt or not prompt.strip():
        raise Fail(
            1,
            "No prompt provided. Either specify one as an argument or pipe the prompt into stdin.",
        )
    if not parsed["options"].get("--skip-git-repo-check") and not in_git_repo(Path.cwd()):
        raise Fail(1, "Not inside a trusted directory and --skip-git-repo-check was not specified.")
    codex = Codex(sc, parsed, prompt)
    if (
        parsed["resume"]
        and find_rollout(None if parsed["options"].get("--last") else parsed["thread_ref"]) is None
    ):
        codex.open_thread(parsed, {})  # raises "no rollout found" before using a turn
    turn = sc.take_turn()
    for noise in turn.get("noise", []):
        codex.out.raw(str(noise))
    codex.open_thread(parsed, turn)
    return codex.run_turn(turn)


if __name__ == "__main__":
    run_main(AGENT, main)

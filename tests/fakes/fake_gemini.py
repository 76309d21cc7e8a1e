#!/usr/bin/env python3
"""A fake ``gemini`` (Gemini CLI headless mode) that follows the real machine contract.

Driven by ``FAKE_AGENT_SCENARIO`` (see README.md); stdlib only. What it reproduces
(agent-clis.md §3, §8.2; real-cli-harness.md §2):

- yargs-like argv (aliases, ``--opt=value``, array options, unknown options → exit 1) and the
  prompt: stdin (when not a terminal) followed by ``-p``/positional text.
- ``Loaded cached credentials.`` on stderr every time; an untrusted folder exits 55 unless
  ``--skip-trust`` or ``GEMINI_CLI_TRUST_WORKSPACE=true`` (scenario ``require_trust: false``
  turns the check off).
- Sessions in ``$HOME/.gemini/tmp/<project slug>/chats/session-<ts>-<id8>.jsonl`` scoped to
  the cwd (``projects.json`` maps cwd → slug). Only sessions with a model reply can be
  resumed (a failed first call leaves an unresumable one whose id still "already exists",
  as 0.61.0 does). ``-r <uuid|latest|N>`` keeps the id and appends;
  ``--session-id`` starts a session with that id (existing → exit 42); ``-r`` with
  ``--session-id`` → exit 42; unknown id → exit 42 with stdout empty in every format;
  ``--list-sessions`` prints the text list.
- ``-o json``: one pretty-printed object ``{session_id, response, stats{models, tools, files}}``
  with per-model ``tokens{input, prompt, candidates, total, cached, thoughts, tool}`` where
  ``prompt`` includes ``cached`` and ``thoughts`` are separate; ``-o stream-json``: init /
  message / tool_use / tool_result / result events, ``result.stats.output_tokens`` leaving
  out thoughts.
- Fatal errors: json mode writes ``[ERROR] {pretty json}`` to stderr with stdout empty;
  stream-json prints a ``result`` with ``status:"error"``; exit codes 1, 41, 42, 44, 52–55,
  130, or HTTP status mod 256 for API errors.
- Approval modes: ``default``/``plan`` offer no write/shell tools (a scripted call fails with
  "not found in registry" and the file is untouched); ``auto_edit`` adds write_file, replace
  and write_todos; ``yolo`` adds run_shell_command; ``--allowed-tools`` adds named tools.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
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
    failure_of,
    line_delta,
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

AGENT = "gemini"
DEFAULT_MODEL = "gemini-2.5-pro"
ERROR_TYPES = {
    1: "Error",
    41: "FatalAuthenticationError",
    42: "FatalInputError",
    44: "FatalSandboxError",
    52: "FatalConfigError",
    53: "FatalTurnLimitedError",
    54: "FatalToolExecutionError",
    55: "FatalUntrustedWorkspaceError",
    130: "FatalCancellationError",
}
KIND_CODES = {
    "error": 1,
    "budget": 1,
    "auth": 41,
    "input": 42,
    "sandbox": 44,
    "config": 52,
    "max_turns": 53,
    "tool_error": 54,
    "untrusted": 55,
    "cancelled": 130,
}
QUOTA_ADVICE = (
    "Please wait and try again later. To increase your limits, request a quota increase "
    "through AI Studio, or switch to another /auth method"
)
KIND_MESSAGES = {
    41: "Authentication failed: API key not valid. Please pass a valid API key.",
    53: "Reached max session turns for this session. Increase the number of turns by "
    "specifying maxSessionTurns in settings.json.",
    55: "Gemini CLI is not running in a trusted directory. To proceed, either use "
    "`--skip-trust`, set the `GEMINI_CLI_TRUST_WORKSPACE=true` environment variable, or trust "
    "this directory in interactive mode.",
}
GOOGLE_STATUS = {  # HTTP status → (message, google.rpc status) of an API error body
    400: ("Request contains an invalid argument.", "INVALID_ARGUMENT"),
    401: ("API key not valid. Please pass a valid API key.", "UNAUTHENTICATED"),
    403: ("The caller does not have permission", "PERMISSION_DENIED"),
    429: ("Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"),
    500: ("Internal error encountered.", "INTERNAL"),
    503: ("The model is overloaded. Please try again later.", "UNAVAILABLE"),
}
EDIT_TOOLS = {"write_file", "replace", "write_todos"}
SHELL_TOOLS = {"run_shell_command"}

VALUE_OPTS = {
    "--prompt",
    "--model",
    "--output-format",
    "--resume",
    "--session-id",
    "--approval-mode",
    "--delete-session",
    "--prompt-interactive",
}
ARRAY_OPTS = {
    "--extensions",
    "--allowed-tools",
    "--allowed-mcp-server-names",
    "--include-directories",
}
FLAG_OPTS = {
    "--yolo",
    "--sandbox",
    "--debug",
    "--version",
    "--help",
    "--list-sessions",
    "--skip-trust",
    "--screen-reader",
    "--list-extensions",
    "--experimental-acp",
}
SHORT = {
    "-p": "--prompt",
    "-m": "--model",
    "-o": "--output-format",
    "-r": "--resume",
    "-y": "--yolo",
    "-s": "--sandbox",
    "-d": "--debug",
    "-v": "--version",
    "-h": "--help",
    "-e": "--extensions",
    "-i": "--prompt-interactive",
    "-l": "--list-extensions",
}
CHOICES = {
    "--output-format": ("text", "json", "stream-json"),
    "--approval-mode": ("default", "auto_edit", "yolo", "plan"),
}


def parse_args(argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    opts: dict[str, Any] = {}
    positionals: list[str] = []
    unknown: list[str] = []
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
        if name in FLAG_OPTS:
            opts[name] = inline.lower() != "false" if eq else True
        elif name in VALUE_OPTS:
            if eq:
                opts[name] = inline
            elif i < len(argv) and not argv[i].startswith("-"):
                opts[name], i = argv[i], i + 1
            else:
                raise Fail(1, f"Not enough arguments following: {name.lstrip('-')}")
        elif name in ARRAY_OPTS:
            values = [inline] if eq else []
            while not eq and i < len(argv) and not argv[i].startswith("-"):
                values.append(argv[i])
                i += 1
            opts.setdefault(name, []).extend(values)
        else:
            unknown.append(name.lstrip("-"))
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise Fail(1, f"Unknown argument{plural}: {', '.join(unknown)}")
    for name, choices in CHOICES.items():
        if name in opts and opts[name] not in choices:
            listed = ", ".join(f'"{c}"' for c in choices)
            raise Fail(
                1,
                f'Invalid values:\n  Argument: {name.lstrip("-")}, Given: "{opts[name]}", '
                f"Choices: {listed}",
            )
    return opts, positionals


class Store:
    """``~/.gemini``: the cwd → project slug registry and the per-project chat files."""

    def __init__(self, cwd: Path) -> None:
        home = Path(os.environ.get("GEMINI_CLI_HOME") or os.environ.get("HOME") or Path.home())
        self.root = home / ".gemini"
        self.cwd = cwd
        self.slug = self._slug(create=False)

    def _slug(self, create: bool) -> str | None:
        registry = self.root / "projects.json"
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "projects.json.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                projects = json.loads(registry.read_text()).get("projects", {})
            except (OSError, ValueError):
                projects = {}
            slug = projects.get(str(self.cwd))
            if slug or not create:
                return slug
            base = re.sub(r"[^a-z0-9_-]", "-", self.cwd.name.lower()) or "project"
            slug, n = base, 1
            while slug in projects.values():
                slug, n = f"{base}-{n}", n + 1
            projects[str(self.cwd)] = slug
            registry.write_text(json.dumps({"projects": projects}, indent=2))
            history = self.root / "history" / slug
            history.mkdir(parents=True, exist_ok=True)
            (history / ".project_root").write_text(str(self.cwd))
            return slug

    @property
    def chats(self) -> Path:
        return self.root / "tmp" / (self.slug or "-") / "chats"

    def sessions(self) -> list[tuple[dict[str, Any], Path]]:
        """``[(header, path)]`` oldest first."""
        if self.slug is None or not self.chats.is_dir():
            return []
        found = []
        for path in self.chats.glob("session-*.jsonl"):
            records = read_jsonl(path)
            if records and records[0].get("sessionId"):
                found.append((records[0], path))
        return sorted(found, key=lambda item: (item[0].get("startTime", ""), item[1].name))

    def resumable(self) -> list[tuple[dict[str, Any], Path]]:
        """Sessions with at least one model reply: 0.61.0 does not resume the others (a first
        call that failed leaves a file whose id exists but cannot be resumed)."""
        return [
            (header, path)
            for header, path in self.sessions()
            if any(r.get("type") == "gemini" for r in read_jsonl(path))
        ]

    def find(self, ref: str) -> tuple[dict[str, Any], Path] | None:
        sessions = self.resumable()
        if not sessions:
            return None
        if ref == "latest":
            return max(sessions, key=lambda item: item[1].stat().st_mtime)
        if ref.isdigit():
            index = int(ref)
            return sessions[index - 1] if 1 <= index <= len(sessions) else None
        return next((s for s in sessions if s[0]["sessionId"] == ref), None)

    def create(self, sid: str) -> Path:
        self.slug = self._slug(create=True)
        stamp = now_utc().strftime("%Y-%m-%dT%H-%M")
        path = self.chats / f"session-{stamp}-{sid[:8]}.jsonl"
        header = {
            "sessionId": sid,
            "projectHash": hashlib.sha256(str(self.cwd).encode()).hexdigest(),
            "startTime": now_iso(),
            "lastUpdated": now_iso(),
            "kind": "main",
        }
        append_jsonl(path, [header])
        return path


class Gemini:
    """One invocation: session, tools, output in the chosen format."""

    def __init__(self, sc: Scenario, opts: dict[str, Any], prompt: str | None) -> None:
        self.sc = sc
        self.ids = sc.ids
        self.cfg = sc.settings
        self.opts = opts
        self.prompt = prompt
        self.cwd = Path.cwd()
        self.store = Store(self.cwd)
        self.format = opts.get("--output-format", "text")
        self.out = Out(self.cfg.get("event_delay", 0))
        self.requested_model = opts.get("--model") or self.cfg.get("model")
        self.approval = "yolo" if opts.get("--yolo") else opts.get("--approval-mode", "default")
        self.allowed = [t for v in opts.get("--allowed-tools", []) for t in v.split(",") if t]
        self.sid = ""
        self.path: Path | None = None
        self.started = time.monotonic()
        self.tool_calls = 0
        self.lines = (0, 0)  # lines added, removed by this turn's edits

    # -- sessions ----------------------------------------------------------------------

    def check_session(self) -> None:
        resume, wanted = self.opts.get("--resume"), self.opts.get("--session-id")
        if resume and wanted:
            raise Fail(42, "Cannot use both --resume and --session-id together.")
        if resume:
            found = self.store.find(resume)
            if found is None:
                if not self.store.resumable():
                    raise Fail(42, "No previous sessions found for this project.")
                raise Fail(
                    42,
                    f'Error resuming session: Invalid session identifier "{resume}". '
                    f"Searched for sessions in {self.store.chats}.",
                )
            header, self.path = found
            self.sid = header["sessionId"]
        elif wanted is not None:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", wanted):
                raise Fail(42, f'Invalid session ID "{wanted}": use letters, digits, - and _.')
            if any(h["sessionId"] == wanted for h, _ in self.store.sessions()):
                raise Fail(
                    42,
                    f'Error starting session: Session ID "{wanted}" already exists. '
                    "Use --resume to resume it.",
                )

    def open_session(self) -> None:
        if self.path is not None:  # resume: a new header line with the same id
            header = dict(read_jsonl(self.path)[0], lastUpdated=now_iso())
            append_jsonl(self.path, [header])
            return
        self.sid = self.opts.get("--session-id") or self.ids.uuid4()
        self.path = self.store.create(self.sid)

    def record(self, records: list[dict[str, Any]]) -> None:
        assert self.path is not None
        append_jsonl(self.path, [*records, {"$set": {"lastUpdated": now_iso()}}])

    # -- output ------------------------------------------------------------------------

    def event(self, obj: dict[str, Any]) -> None:
        if self.format == "stream-json":
            self.out.line({"type": obj.pop("type"), "timestamp": now_iso(), **obj})

    def fatal(self, code: int, message: str, error_type: str | None = None) -> int:
        error_type = error_type or ERROR_TYPES.get(code, "Error")
        if self.format == "json":
            body = {
                "session_id": self.sid,
                "error": {"type": error_type, "message": message, "code": code},
            }
            sys.stderr.write("[ERROR] " + json.dumps(body, indent=2) + "\n")
        elif self.format == "stream-json":
            self.event(
                {
                    "type": "result",
                    "status": "error",
                    "error": {"type": error_type, "message": message},
                    "stats": self.stream_stats([]),
                }
            )
            sys.stderr.write(message + "\n")
        else:
            sys.stderr.write(message + "\n")
        return code % 256

    def available(self, tool: str) -> bool:
        if not self.cfg.get("enforce_permissions", True):
            return True
        if any(a == tool or a.startswith(tool + "(") for a in self.allowed):
            return True
        if tool in EDIT_TOOLS:
            return self.approval in ("auto_edit", "yolo")
        if tool in SHELL_TOOLS:
            return self.approval == "yolo"
        return True

    # -- a turn ------------------------------------------------------------------------

    def run_turn(self, turn: dict[str, Any]) -> int:
        failure = failure_of(turn) or {}
        kind = failure.get("kind")
        models = models_of(turn, self.requested_model or DEFAULT_MODEL)
        self.event(
            {"type": "init", "session_id": self.sid, "model": self.requested_model or "auto"}
        )
        self.event({"type": "message", "role": "user", "content": self.prompt})
        self.record(
            [
                {
                    "id": self.ids.uuid4(),
                    "timestamp": now_iso(),
                    "type": "user",
                    "content": [{"text": self.prompt}],
                }
            ]
        )
        if turn.get("delay"):
            time.sleep(float(turn["delay"]))
        for raw in turn.get("raw_lines", []):
            if self.format == "stream-json":
                self.out.raw(raw if isinstance(raw, str) else json.dumps(raw))
        spawn_background(AGENT, turn)
        if kind in ("crash", "sigterm", "hang"):
            die(kind, AGENT, failure)
        if kind in ("api_error", "rate_limit"):
            status = int(failure.get("status", 429 if kind == "rate_limit" else 500))
            default_text, status_name = GOOGLE_STATUS.get(status, GOOGLE_STATUS[500])
            text = failure.get("message", default_text)
            api = json.dumps({"error": {"code": status, "message": text, "status": status_name}})
            if self.format == "stream-json":
                # 0.61.0 prints a quota error's text plus advice on a second line.
                detail = f"{text}]\n{QUOTA_ADVICE}" if status == 429 else f"{api}]"
                self.fatal(status, f"[API Error: {detail}", "unknown")
                return int(failure.get("exit_code", status % 256))
            self.fatal(status, api)
            return int(failure.get("exit_code", status % 256))

        if kind == "stream_error":  # the HTTP stream broke: 0.61.0 says so only in the stream
            partial = {"type": "message", "role": "assistant", "content": "partial "}
            self.event({**partial, "delta": True})
            message = failure.get("message", "Model stream ended without a finish reason.")
            self.event({"type": "error", "severity": "error", "message": message})
            self.event({"type": "result", "status": "error", "stats": self.stream_stats([])})
            return int(failure.get("exit_code", 0))

        calls = self.run_tools(turn)
        text = str(turn.get("text", "OK"))
        if kind in KIND_CODES:
            code = int(failure.get("exit_code", KIND_CODES[kind]))
            message = failure.get("message", KIND_MESSAGES.get(code, f"{kind} (injected by fake)"))
            return self.fatal(code, message)
        half = max(1, len(text) // 2)
        for chunk in (text[:half], text[half:]):
            if chunk:
                self.event(
                    {"type": "message", "role": "assistant", "content": chunk, "delta": True}
                )
        stats_models = self.model_stats(models, len(calls) + 1)
        main_model, main_tokens = next(iter(stats_models.items()))
        self.record(
            [
                {
                    "id": self.ids.uuid4(),
                    "timestamp": now_iso(),
                    "type": "gemini",
                    "content": text,
                    "thoughts": [],
                    "model": main_model,
                    "tokens": {
                        "input": main_tokens["tokens"]["prompt"],
                        "output": main_tokens["tokens"]["candidates"],
                        "cached": main_tokens["tokens"]["cached"],
                        "thoughts": main_tokens["tokens"]["thoughts"],
                        "tool": main_tokens["tokens"]["tool"],
                        "total": main_tokens["tokens"]["total"],
                    },
                    "toolCalls": calls,
                }
            ]
        )
        if self.format == "stream-json":
            self.event(
                {
                    "type": "result",
                    "status": "success",
                    "stats": self.stream_stats(list(stats_models.items())),
                }
            )
        elif self.format == "json":
            document = {
                "session_id": self.sid,
                "response": text,
                "stats": {
                    "models": stats_models,
                    "tools": self.tool_stats(calls),
                    "files": self.file_stats(),
                },
            }
            sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(text + "\n")
        sys.stdout.flush()
        log_event(AGENT, "result", session_id=self.sid, turn=self.sc.turn_index)
        return int(turn.get("exit_code", 0))

    def run_tools(self, turn: dict[str, Any]) -> list[dict[str, Any]]:
        planned: list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, Any]]] = []
        if turn.get("todos"):
            todos = [
                {"description": t.get("content", ""), "status": t.get("status", "pending")}
                for t in turn["todos"]
            ]
            planned.append(("write_todos", {"todos": todos}, None, {}))
        for tool in turn.get("tools", []):
            planned.append((tool.get("name", "read_file"), tool.get("input", {}), None, tool))
        for edit in turn.get("edits", []):
            info = plan_edit(self.cwd, edit, AGENT)
            if info["op"] == "replace":
                name, args = (
                    "replace",
                    {
                        "file_path": info["path"],
                        "old_string": info["old"],
                        "new_string": info["new"],
                    },
                )
            elif info["op"] == "delete":
                name, args = "run_shell_command", {"command": f"rm {shlex.quote(info['path'])}"}
            else:
                name, args = "write_file", {"file_path": info["path"], "content": info["new_text"]}
            planned.append((name, args, info, {}))
        calls = []
        for n, (name, args, info, tool) in enumerate(planned):
            tool_id = f"{name}__{name}_{1755000000000 + self.sc.invocation * 100 + n}_{n}"
            self.event(
                {"type": "tool_use", "tool_name": name, "tool_id": tool_id, "parameters": args}
            )
            status, output = "success", tool.get("output", "ok")
            if not self.available(name):
                status = "error"
                output = (
                    f'Tool "{name}" not found in registry. Tools must use the exact '
                    "names that are registered."
                )
            elif info is not None and info.get("error"):
                status, output = "error", info["error"]
            elif info is not None:
                perform_edit(info)
                output = {
                    "write_file": f"Successfully created and wrote to new file: {info['path']}."
                    if not info["existed"]
                    else f"Successfully overwrote file: {info['path']}.",
                    "replace": f"Successfully modified file: {info['path']} (1 replacements).",
                }.get(name, "")
            elif name == "write_todos":
                output = "Successfully updated the todo list."
            elif tool.get("is_error"):
                status = "error"
            self.event(
                {"type": "tool_result", "tool_id": tool_id, "status": status, "output": output}
            )
            call = {
                "id": tool_id,
                "name": name,
                "args": args,
                "status": status,
                "result": [
                    {
                        "functionResponse": {
                            "id": tool_id,
                            "name": name,
                            "response": {"output": output},
                        }
                    }
                ],
            }
            if info is not None and status == "success":
                added, removed = line_delta(info)
                self.lines = (self.lines[0] + added, self.lines[1] + removed)
            calls.append(call)
        self.tool_calls = len(calls)
        return calls

    def model_stats(
        self, models: list[tuple[str, dict[str, Any]]], requests: int
    ) -> dict[str, Any]:
        stats = {}
        for position, (model, u) in enumerate(models):
            cached = int(u["cache_read"])
            prompt = int(u["input"]) + cached
            thoughts = int(u["reasoning"])
            candidates = max(0, int(u["output"]) - thoughts)
            tool = int(u.get("tool", 0))
            tokens = {
                "input": prompt - cached,
                "prompt": prompt,
                "candidates": candidates,
                "total": prompt + candidates + thoughts + tool,
                "cached": cached,
                "thoughts": thoughts,
                "tool": tool,
            }
            count = requests if position == 0 else int(u.get("requests", 1))
            api = {"totalRequests": count, "totalErrors": 0, "totalLatencyMs": 40 * count}
            role = "main" if position == 0 else u.get("role", "utility_router")
            stats[model] = {
                "api": api,
                "tokens": tokens,
                "roles": {role: {**api, "tokens": tokens}},
            }
        return stats

    def stream_stats(self, models: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        per_model = {
            model: {
                "total_tokens": s["tokens"]["total"],
                "input_tokens": s["tokens"]["prompt"],
                "output_tokens": s["tokens"]["candidates"],
                "cached": s["tokens"]["cached"],
                "input": s["tokens"]["input"],
            }
            for model, s in models
        }
        totals = {
            key: sum(m[key] for m in per_model.values())
            for key in ("total_tokens", "input_tokens", "output_tokens", "cached", "input")
        }
        elapsed = int((time.monotonic() - self.started) * 1000)
        return {
            **totals,
            "duration_ms": elapsed,
            "tool_calls": self.tool_calls,
            "models": per_model,
        }

    def tool_stats(self, calls: list[dict[str, Any]]) -> dict[str, Any]:
        by_name: dict[str, Any] = {}
        for call in calls:
            entry = by_name.setdefault(
                call["name"],
                {
                    "count": 0,
                    "success": 0,
                    "fail": 0,
                    "durationMs": 0,
                    "decisions": {"accept": 0, "reject": 0, "modify": 0, "auto_accept": 0},
                },
            )
            entry["count"] += 1
            entry["success" if call["status"] == "success" else "fail"] += 1
            entry["decisions"]["auto_accept"] += 1
        ok = sum(e["success"] for e in by_name.values())
        return {
            "totalCalls": len(calls),
            "totalSuccess": ok,
            "totalFail": len(calls) - ok,
            "totalDurationMs": 0,
            "totalDecisions": {"accept": 0, "reject": 0, "modify": 0, "auto_accept": len(calls)},
            "byName": by_name,
        }

    def file_stats(self) -> dict[str, Any]:
        return {"totalLinesAdded": self.lines[0], "totalLinesRemoved": self.lines[1]}


def list_sessions(store: Store) -> int:
    sessions = store.sessions()
    if not sessions:
        print("No previous sessions found for this project.")
        return 0
    print(f"\nAvailable sessions for this project ({len(sessions)}):\n")
    for n, (header, path) in enumerate(sessions, 1):
        first = next((r for r in read_jsonl(path) if r.get("type") == "user"), {})
        text = "".join(p.get("text", "") for p in first.get("content", []))[:40].strip()
        print(f"  {n}. {text} (Just now) [{header['sessionId']}]")
    return 0


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
        print(sc.settings.get("version", "0.61.0"))
        return 0
    stdin_text = read_stdin()
    parts = [p for p in (stdin_text, opts.get("--prompt"), " ".join(positionals)) if p]
    prompt = "\n\n".join(parts) if parts else None
    log_start(AGENT, argv, stdin_text, prompt)
    sys.stderr.write("Loaded cached credentials.\n")
    gemini = Gemini(sc, opts, prompt)
    trusted = opts.get("--skip-trust") or os.environ.get("GEMINI_CLI_TRUST_WORKSPACE") == "true"
    if sc.settings.get("require_trust", True) and not trusted:
        return gemini.fatal(55, KIND_MESSAGES[55])
    if opts.get("--list-sessions"):
        return list_sessions(gemini.store)
    gemini.check_session()
    if not prompt:
        raise Fail(
            42,
            "No input provided via stdin. Input can be provided by piping data into gemini "
            "or using the --prompt option.",
        )
    turn = sc.take_turn()
    kind = (failure_of(turn) or {}).get("kind")
    if kind == "already_in_use":
        raise Fail(42, f'Error starting session: Session ID "{gemini.sid or "x"}" already exists.')
    if kind == "session_not_found":
        raise Fail(42, f'Error resuming session: Invalid session identifier "{gemini.sid}".')
    for noise in turn.get("noise", []):
        gemini.out.raw(str(noise))
    gemini.open_session()
    with contextlib.suppress(BrokenPipeError):
        return gemini.run_turn(turn)
    return 1


if __name__ == "__main__":
    run_main(AGENT, main)

"""The offline ``scripted`` agent: replays a scenario file as if it were an agent CLI.

Run as ``python -m ai_orchestrator.agents.scripted_cli [--scenario PATH]
[--session-id ID | --resume ID] [--model M]``; the prompt is read from stdin. It performs real
file edits in its cwd and prints a JSONL event stream, so the demo and the tests exercise the
same runner/parser/store path as the real CLIs — without a network or an account.

Scenario (YAML, or JSON when the name ends in ``.json``; path from ``--scenario`` or
``$AIO_SCRIPTED_SCENARIO``, relative to the cwd)::

    model: scripted-sonnet            # optional default model
    steps:                            # or the whole file is just this list
      - answer: "Created hello.txt"
        model: scripted-haiku         # optional, per step
        edits:                        # paths relative to the cwd, never outside it
          - {write: hello.txt, content: "hello\\n"}
          - {append: notes.md, content: "one more line\\n"}
          - {delete: old.txt}
        usage:                        # per model; a missing "scripted-" prefix is added
          scripted-sonnet: {input: 120, output: 30, cache_read: 0, cache_write: 0}
        todos: [{content: "Write hello.txt", status: completed}]
        outcome: success              # max_turns|budget|api_error|auth|rate_limit|crash
        error: "text for a simulated failure"
        delay: 0.5                    # seconds, before the result (timeout tests)
        exit_code: 1                  # optional; default 0 for success, else 1

Events (one JSON object per line; every one has ``"scripted": true``)::

    {"type":"init","session_id":…,"model":…,"resumed":bool,"scenario":path,"step":n}
    {"type":"tool","name":"write_file"|"append_file"|"delete_file","path":rel}
    {"type":"todo","items":[{"content":…,"status":…}]}
    {"type":"text","text":answer}
    {"type":"result","outcome":…,"is_error":bool,"text":…,"error":…,"session_id":…,
     "model":…,"turns":1,"step":n,"usage":{model:{input,output,cache_read,cache_write}}}

``outcome: crash`` prints no result (a message on stderr, exit 1). Models are always named
``scripted-*`` so that no price table mistakes them for a real model; no cost is reported.

State lives under ``$AIO_SCRIPTED_HOME`` (default ``~/.aio-scripted``): ``sessions/<id>.json``
(a resume of an unknown id prints ``No conversation found with session ID: <id>``, exit 1; a
``--session-id`` that exists prints ``Error: Session ID <id> is already in use.``, exit 1 —
the same contract as Claude Code) and ``cursors/<hash>.json``, the next step per scenario
path. Steps are consumed in order, failed ones included; when they run out the agent exits
1 with ``scenario exhausted`` on stderr. Cursor and session updates happen under an
exclusive ``flock`` and are written atomically (temp file + rename), so concurrent runs never
reuse a step.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ai_orchestrator.core import env
from ai_orchestrator.core.errors import ScenarioError, SessionRefused

DEFAULT_MODEL = "scripted-sonnet"
FAILURES = ("max_turns", "budget", "api_error", "auth", "rate_limit", "crash")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_OPS = (("write", "write_file"), ("append", "append_file"), ("delete", "delete_file"))


def home() -> Path:
    return Path(env.scripted_home())


def scripted_model(name: str | None) -> str:
    name = (name or DEFAULT_MODEL).strip()
    return name if name.startswith("scripted-") else f"scripted-{name}"


def load_scenario(path: Path) -> tuple[list[dict[str, Any]], str]:
    """The steps and the default model of the scenario at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(
            f"cannot read scenario {path}: {exc.strerror}", scenario=str(path)
        ) from exc
    import yaml  # lazy: only the scripted agent needs it

    try:
        data: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ScenarioError(f"scenario {path} does not parse: {exc}", scenario=str(path)) from exc
    model = DEFAULT_MODEL
    if isinstance(data, dict):
        model = scripted_model(data.get("model"))
        data = data.get("steps")
    if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
        raise ScenarioError(
            f"scenario {path}: expected a list of steps (mappings)", scenario=str(path)
        )
    for index, step in enumerate(data):
        outcome = step.get("outcome") or "success"
        if outcome != "success" and outcome not in FAILURES:
            raise ScenarioError(
                f"scenario {path}: step {index}: unknown outcome {outcome!r}", scenario=str(path)
            )
    return data, model


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(root / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        yield


def _safe_path(cwd: Path, rel: Any) -> Path:
    if not isinstance(rel, str) or not rel or Path(rel).is_absolute():
        raise ScenarioError(f"edit path must be relative to the cwd: {rel!r}", path=str(rel))
    target = (cwd / rel).resolve()
    if target != cwd and cwd not in target.parents:
        raise ScenarioError(f"edit path escapes the cwd: {rel!r}", path=str(rel))
    return target


def plan_edits(step: dict[str, Any], cwd: Path) -> list[tuple[str, str, Path, str]]:
    """Validated edits as ``(tool, rel_path, abs_path, content)``; nothing is touched yet."""
    planned = []
    for edit in step.get("edits") or []:
        if not isinstance(edit, dict):
            raise ScenarioError(f"edit must be a mapping: {edit!r}")
        for op, tool in _OPS:
            if op in edit:
                target = _safe_path(cwd, edit[op])
                planned.append((tool, str(edit[op]), target, str(edit.get("content", ""))))
                break
        else:
            raise ScenarioError(f"edit needs one of write/append/delete: {edit!r}")
    return planned


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps({**event, "scripted": True}) + "\n")
    sys.stdout.flush()


def _claim(args: argparse.Namespace, scenario: Path, steps: int, prompt: str) -> tuple[str, int]:
    """Check the session, take the next step; returns ``(session_id, step_index)``."""
    root = home()
    with _locked(root):
        key = hashlib.sha256(str(scenario).encode()).hexdigest()[:24]
        cursor_file = root / "cursors" / f"{key}.json"
        cursor = _read_json(cursor_file) or {}
        index = int(cursor.get("next", 0))
        session_id = args.resume or args.session_id or str(uuid.uuid4())
        if not _ID.match(session_id):
            raise ScenarioError(f"Error: Invalid session ID {session_id!r}", session_id=session_id)
        session_file = root / "sessions" / f"{session_id}.json"
        session = _read_json(session_file)
        if args.resume and session is None:
            raise SessionRefused(session_id, "unknown")
        if not args.resume and session_file.exists():
            raise SessionRefused(session_id, "in use")
        if index >= steps:
            raise SessionRefused(session_id, "exhausted", scenario=str(scenario), steps=steps)
        _write_json(cursor_file, {"scenario": str(scenario), "next": index + 1})
        now = time.time()
        session = session or {"session_id": session_id, "created_at": now, "history": []}
        session.update(scenario=str(scenario), updated_at=now, cwd=os.getcwd())
        session["history"].append({"step": index, "prompt": prompt[:200], "at": now})
        _write_json(session_file, session)
    return session_id, index


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripted-agent", description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default=env.get("AIO_SCRIPTED_SCENARIO") or None)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--session-id")
    group.add_argument("--resume")
    parser.add_argument("--model")
    args = parser.parse_args(argv)
    prompt = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    if not args.scenario:
        raise ScenarioError("no scenario: pass --scenario PATH or set AIO_SCRIPTED_SCENARIO")
    cwd = Path.cwd().resolve()
    scenario = (cwd / args.scenario).resolve()
    steps, default_model = load_scenario(scenario)
    edits = [plan_edits(s, cwd) for s in steps]  # a broken scenario never consumes a step
    session_id, index = _claim(args, scenario, len(steps), prompt)
    step = steps[index]
    model = scripted_model(step.get("model") or args.model or default_model)
    _emit(
        {
            "type": "init",
            "session_id": session_id,
            "model": model,
            "resumed": bool(args.resume),
            "scenario": str(scenario),
            "step": index,
        }
    )
    for tool, rel, target, content in edits[index]:
        if tool == "delete_file":
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w" if tool == "write_file" else "a", encoding="utf-8") as handle:
                handle.write(content)
        _emit({"type": "tool", "name": tool, "path": rel})
    if isinstance(step.get("todos"), list):
        _emit({"type": "todo", "items": step["todos"]})
    time.sleep(max(0.0, float(step.get("delay") or 0)))
    outcome = str(step.get("outcome") or "success")
    exit_code = int(step.get("exit_code", 0 if outcome == "success" else 1))
    error = str(step.get("error") or f"simulated {outcome}") if outcome != "success" else None
    if outcome == "crash":
        sys.stderr.write(f"scripted agent: {error}\n")
        return exit_code
    answer = str(step.get("answer") or "")
    if answer:
        _emit({"type": "text", "text": answer})
    usage = {
        scripted_model(str(name)): {
            key: max(0, int((counts or {}).get(key, 0)))
            for key in ("input", "output", "cache_read", "cache_write")
        }
        for name, counts in (step.get("usage") or {model: {}}).items()
    }
    _emit(
        {
            "type": "result",
            "outcome": outcome,
            "is_error": outcome != "success",
            "text": answer,
            "error": error,
            "session_id": session_id,
            "model": model,
            "turns": 1,
            "step": index,
            "usage": usage,
        }
    )
    return exit_code


def main() -> None:
    try:
        code = run(sys.argv[1:])
    except SessionRefused as exc:
        sys.stderr.write(f"{exc}\n")
        code = 1
    except (ScenarioError, ValueError, TypeError, AttributeError) as exc:
        sys.stderr.write(f"scripted agent: {exc}\n")
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()

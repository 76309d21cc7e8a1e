"""The todo log: one todo per agent call, stored as an append-only file of JSON lines.

``accounting.todos`` decides what a todo says (the estimate) and reports on them; this
module owns the file: where it is, its record format, appending under a lock, reading and
folding the records into each todo's current state.

Storage: ``$TODO_FILE``, default ``$SESSION_DIR/todos.jsonl``. The file is an append-only
event log of JSON lines, one per ``append_start`` / ``end`` / ``error``::

    {"type":"start","id":…,"timestamp":…,"session_name":…,"feature_id":…,"task_id":…,
     "agent":…,"model":…,"content":"🤖 AI Session: …","status":"in_progress",
     "priority":"medium","estimated_cost":0.2,"estimate_basis":"feature"}
    {"type":"end","id":…,"timestamp":…,"session_name":…,"status":"completed",
     "actual_cost":0.31,"unpriced":false,"tokens":{…}|null,"total_tokens":1500,"summary":…}
    {"type":"error","id":…,"timestamp":…,"session_name":…,"status":"failed",
     "error":…,"content":"❌ Session error: …","actual_cost":…|null,"unpriced":false}

``actual_cost`` is ``null`` with ``unpriced: true`` when the call's model has no price:
an unknown cost is never recorded as $0.

The current state of a todo is the fold of its records in file order (``fold``): start
sets the description, end and error set the outcome; a later record wins.

Invariants:

- **Valid JSONL.** Each record is one ``json.dumps`` line (so quotes, newlines and
  control characters in messages are escaped), secrets redacted (``infra.redact``) —
  except ids, names and timestamps, which are validated instead.
- **Never a torn or merged line.** Every append happens under an exclusive flock on the
  sidecar ``.<name>.lock`` (``infra.locks``) and is written with ``O_APPEND``; if a
  crashed writer left an unterminated last line, the next append first ends it with a
  newline, so the two never fuse. Readers skip (and count) unreadable lines.
- **Private.** The file and its lock are 0600 (tightened if looser), opened without
  following symlinks; the default location is inside the 0700 session store.
- **Unique ids.** ``todo-<UTC time>-<48 random bits>``: two starts in the same second
  (the seed's collision) still get different ids.
- Appends are O(1): ``append_start``/``end``/``error`` never read the file.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ai_orchestrator.core import env as aio_env
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.money import check_usd
from ai_orchestrator.core.names import SessionName, validate_id
from ai_orchestrator.core.schema import SCHEMA_KEY, versioned
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import (
    DIR_MODE,
    append_durably,
    ensure_private_dir,
    open_nofollow,
    read_bytes,
)
from ai_orchestrator.infra.redact import redact_value
from ai_orchestrator.infra.timeutil import now_iso
from ai_orchestrator.store.session_store import SessionStore

TODO_FILE_ENV = "TODO_FILE"
DEFAULT_NAME = "todos.jsonl"
RECORD_TYPES = ("start", "end", "error")
STATUSES = ("in_progress", "completed", "failed")
END_STATUSES = ("completed", "failed")


# --------------------------------------------------------------------------- the file


def todo_file(env: Mapping[str, str] | None = None) -> Path:
    """Where the todos live: ``$TODO_FILE``, else ``$SESSION_DIR/todos.jsonl``."""
    raw = aio_env.get(TODO_FILE_ENV, env=env).strip()
    if not raw:
        return SessionStore().root / DEFAULT_NAME
    path = Path(raw).expanduser()
    path = path if path.is_absolute() else Path.cwd() / path
    if path.is_dir():
        raise InvalidInput(f"{TODO_FILE_ENV}={raw} is a directory; it must name a file")
    return path


def _lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


def _prepare_dir(path: Path) -> None:
    store_root = SessionStore().root
    if path.parent == store_root:
        ensure_private_dir(store_root, what="session store")
    elif not path.parent.exists():
        # A custom TODO_FILE location: create what is missing privately, but never
        # change the mode of directories that already exist (they are not ours).
        os.makedirs(path.parent, DIR_MODE, exist_ok=True)


# Never redacted: validated instead (ids by ``names.validate_id``, the session name by
# ``parse_session_name``), so a todo's start and end records always meet.
_IDENTITY_FIELDS = (
    SCHEMA_KEY, "type", "id", "timestamp", "session_name", "feature_id", "task_id"
)  # fmt: skip


def _serialize(record: Mapping[str, Any]) -> bytes:
    clean = redact_value(record, keep=_IDENTITY_FIELDS)
    line = json.dumps(clean, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (line + "\n").encode("utf-8")


def append_record(record: Mapping[str, Any], *, path: Path | None = None) -> None:
    """Append one record as one line under the todo file's lock (see the invariants)."""
    target = path or todo_file()
    payload = _serialize(record)
    _prepare_dir(target)
    with locks.locked(_lock_path(target), timeout=None, what=f"todo file {target}"):
        fd = open_nofollow(target, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                payload = b"\n" + payload  # end a crashed writer's torn line first
            append_durably(fd, payload, target)  # all or nothing: exit 0 means stored
        finally:
            os.close(fd)


@dataclass
class TodoLog:
    """The records of the todo file, plus how many lines could not be read."""

    records: list[dict[str, Any]] = field(default_factory=list)
    unreadable_lines: int = 0


def _valid(record: object) -> bool:
    return (
        isinstance(record, dict)
        and record.get("type") in RECORD_TYPES
        and isinstance(record.get("id"), str)
        and bool(record["id"])
    )


def read_records(path: Path | None = None) -> TodoLog:
    """Every well-formed record in file order; a missing file is an empty log."""
    data = read_bytes(path or todo_file())
    log = TodoLog()
    if not data:
        return log
    lines = data.split(b"\n")
    if lines.pop().strip():
        log.unreadable_lines += 1  # a torn last line (a writer died mid-append)
    for raw in lines:
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            log.unreadable_lines += 1
            continue
        if _valid(record):
            log.records.append(record)
        else:
            log.unreadable_lines += 1
    return log


# --------------------------------------------------------------------------- writing


def check_money(value: float | None, what: str) -> float | None:
    """``None``, or ``value`` checked as an amount of USD (``core.money.check_usd``)."""
    return None if value is None else check_usd(value, what)


def _tokens(value: int | Mapping[str, int] | None) -> tuple[dict[str, int] | None, int]:
    """(per-kind tokens or None, total). A mapping's total is input + output + cache
    read + cache write (reasoning is already inside output), as everywhere else."""
    if value is None:
        return None, 0
    if isinstance(value, Mapping):
        kinds = {str(k): int(v) for k, v in value.items() if isinstance(v, int) and v >= 0}
        total = sum(kinds.get(k, 0) for k in ("input", "output", "cache_read", "cache_write"))
        return kinds, total
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"tokens must be a non-negative integer or a mapping, got {value!r}")
    return None, value


def new_todo_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"todo-{stamp}-{os.urandom(6).hex()}"


def _content(name: str, feature_id: str, task_id: str | None, estimate: float | None) -> str:
    parts = [f"🤖 AI Session: {name}", f"Feature: {feature_id}"]
    if task_id:
        parts.append(f"Task: {task_id}")
    parts.append(f"Est. cost: ${estimate:.2f}" if estimate is not None else "Est. cost: none")
    return " | ".join(parts)


def append_start(
    session: SessionName,
    task_id: str | None,
    agent: str | None,
    model: str | None,
    estimate: float | None,
    estimate_basis: str,
    *,
    path: Path | None = None,
) -> str:
    """Append the start record of a new todo (``estimate`` already checked); its id."""
    todo_id = new_todo_id()
    append_record(
        versioned({
            "type": "start",
            "id": todo_id,
            "timestamp": now_iso(),
            "session_name": session.name,
            "feature_id": session.feature_id,
            "task_id": None if task_id is None else validate_id(task_id, "task id"),
            "agent": agent,
            "model": model,
            "content": _content(session.name, session.feature_id, task_id, estimate),
            "status": "in_progress",
            "priority": "medium",
            "estimated_cost": estimate,
            "estimate_basis": estimate_basis,
        }),
        path=path,
    )
    return todo_id


def end(
    todo_id: str,
    session_name: str,
    actual_cost: float | None,
    tokens: int | Mapping[str, int] | None = None,
    status: str = "completed",
    summary: str | None = None,
    *,
    unpriced: bool = False,
    path: Path | None = None,
) -> None:
    """Record how the call of ``todo_id`` ended (``status``: completed or failed).

    ``unpriced``: the call's model has no price, so its cost is unknown — recorded as
    ``actual_cost: null, unpriced: true`` whatever ``actual_cost`` says, never as $0."""
    if status not in END_STATUSES:
        raise InvalidInput(f"todo status must be one of {', '.join(END_STATUSES)}, got {status!r}")
    kinds, total = _tokens(tokens)
    append_record(
        versioned({
            "type": "end",
            "id": _todo_id(todo_id),
            "timestamp": now_iso(),
            "session_name": session_name,
            "status": status,
            "actual_cost": None if unpriced else check_money(actual_cost, "actual_cost"),
            "unpriced": unpriced,
            "tokens": kinds,
            "total_tokens": total,
            "summary": summary,
        }),
        path=path,
    )


def error(
    todo_id: str,
    session_name: str,
    message: str,
    *,
    actual_cost: float | None = None,
    tokens: int | Mapping[str, int] | None = None,
    unpriced: bool = False,
    path: Path | None = None,
) -> None:
    """Record that the call of ``todo_id`` failed with ``message``. A failed call can still
    have cost money: pass ``actual_cost``/``tokens`` when they are known (``unpriced`` as
    in ``end``)."""
    kinds, total = _tokens(tokens)
    message = str(message) or "Unknown error"
    append_record(
        versioned({
            "type": "error",
            "id": _todo_id(todo_id),
            "timestamp": now_iso(),
            "session_name": session_name,
            "status": "failed",
            "priority": "high",
            "error": message,
            "content": f"❌ Session error: {session_name} - {message}",
            "actual_cost": None if unpriced else check_money(actual_cost, "actual_cost"),
            "unpriced": unpriced,
            "tokens": kinds,
            "total_tokens": total if tokens is not None else None,
        }),
        path=path,
    )


def _todo_id(value: str) -> str:
    return validate_id(value.strip() if isinstance(value, str) else value, "todo id")


# --------------------------------------------------------------------------- reading


def _blank(todo_id: str) -> dict[str, Any]:
    return {
        "id": todo_id,
        "session_name": None,
        "feature_id": None,
        "task_id": None,
        "agent": None,
        "model": None,
        "content": None,
        "status": "in_progress",
        "estimated_cost": None,
        "estimate_basis": None,
        "start_time": None,
        "end_time": None,
        "actual_cost": None,
        "tokens": None,
        "total_tokens": None,
        "summary": None,
        "error": None,
        "unpriced": False,
        "first_seen": None,
    }


def fold(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The current state of every todo, in the order each first appeared."""
    todos: dict[str, dict[str, Any]] = {}
    for record in records:
        todo = todos.setdefault(record["id"], _blank(record["id"]))
        stamp = record.get("timestamp")
        todo["first_seen"] = todo["first_seen"] or stamp
        if record.get("session_name"):
            todo["session_name"] = record["session_name"]
            if todo["feature_id"] is None:  # an end without its start: use the name
                name = str(record["session_name"])
                _, _, feature = name.partition("-")
                todo["feature_id"] = feature or None
        kind = record["type"]
        if kind == "start":
            for key in ("feature_id", "task_id", "agent", "model", "content"):
                todo[key] = record.get(key, todo[key])
            # a built-in guess of an earlier version is no estimate (accounting.todos)
            guessed = record.get("estimate_basis") == "constant"
            todo["estimated_cost"] = None if guessed else _number(record.get("estimated_cost"))
            todo["estimate_basis"] = record.get("estimate_basis")
            todo["start_time"] = stamp
            if todo["end_time"] is None:  # a start never reopens a todo that has ended
                todo["status"] = str(record.get("status") or "in_progress")
            continue
        todo["status"] = str(record.get("status") or ("failed" if kind == "error" else "completed"))
        todo["end_time"] = stamp
        cost = _number(record.get("actual_cost"))
        if cost is not None:
            todo["actual_cost"] = cost
        if record.get("unpriced") is True:
            todo["unpriced"], todo["actual_cost"] = True, None
        if record.get("total_tokens") is not None:
            todo["tokens"] = record.get("tokens")
            todo["total_tokens"] = record.get("total_tokens")
        if kind == "end":
            todo["summary"] = record.get("summary")
        else:
            todo["error"] = record.get("error")
    return list(todos.values())


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def list_todos(
    feature: str | None = None, status: str | None = None, *, path: Path | None = None
) -> list[dict[str, Any]]:
    """Current todos (oldest first), optionally only one feature's and/or one status."""
    todos = fold(read_records(path).records)
    if feature is not None:
        todos = [t for t in todos if t["feature_id"] == feature]
    if status is not None:
        todos = [t for t in todos if t["status"] == status]
    return todos

"""Session todos: one todo per agent call, with its estimated and actual cost.

This is the seed's ``track-session-todo`` done properly. ``start`` is called before an
agent call, ``end`` (or ``error``) after it; ``report`` and ``list_todos`` read them back.

Storage: ``$TODO_FILE``, default ``$SESSION_DIR/todos.jsonl``. The file is an append-only
event log of JSON lines, one per call of ``start`` / ``end`` / ``error``::

    {"type":"start","id":…,"timestamp":…,"session_name":…,"feature_id":…,"task_id":…,
     "agent":…,"model":…,"content":"🤖 AI Session: …","status":"in_progress",
     "priority":"medium","estimated_cost":0.2,"estimate_basis":"feature"}
    {"type":"end","id":…,"timestamp":…,"session_name":…,"status":"completed",
     "actual_cost":0.31,"unpriced":false,"tokens":{…}|null,"total_tokens":1500,"summary":…}
    {"type":"error","id":…,"timestamp":…,"session_name":…,"status":"failed",
     "error":…,"content":"❌ Session error: …","actual_cost":…|null,"unpriced":false}

``actual_cost`` is ``null`` with ``unpriced: true`` when the call's model has no price:
an unknown cost is never reported as $0 (``report`` counts such todos in ``unpriced`` and
leaves them out of the totals and the estimate accuracy).

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
- Appends are O(1): ``start``/``end``/``error`` never read the file.

Estimates (``estimate_cost``) are the median cost of earlier successful, priced calls of
the same phase (the session's command) — this feature's first, else every feature's —
then the caller's configured default, and only then a built-in constant (the seed's
plan $0.50, implement $0.20, otherwise $0.10). ``basis`` says which one was used.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ai_orchestrator import SCHEMA_VERSION
from ai_orchestrator.core.errors import InvalidInput, NotFound, StoreError
from ai_orchestrator.core.names import parse_session_name, validate_feature_id, validate_id
from ai_orchestrator.core.names import session_name as make_session_name
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import (
    DIR_MODE,
    append_durably,
    ensure_private_dir,
    open_nofollow,
    read_bytes,
)
from ai_orchestrator.infra.redact import redact_value
from ai_orchestrator.infra.timeutil import format_iso, now_iso, parse_iso
from ai_orchestrator.store import SessionStore

TODO_FILE_ENV = "TODO_FILE"
DEFAULT_NAME = "todos.jsonl"
RECORD_TYPES = ("start", "end", "error")
STATUSES = ("in_progress", "completed", "failed")
END_STATUSES = ("completed", "failed")
ESTIMATE_BASES = ("feature", "all_features", "config", "constant")
BUILTIN_ESTIMATES = {"plan": 0.50, "implement": 0.20}  # the seed's per-phase guesses
FALLBACK_ESTIMATE = 0.10  # the seed's default for anything else
TOP_FEATURES = 5


# --------------------------------------------------------------------------- the file


def todo_file(env: Mapping[str, str] | None = None) -> Path:
    """Where the todos live: ``$TODO_FILE``, else ``$SESSION_DIR/todos.jsonl``."""
    env = os.environ if env is None else env
    raw = env.get(TODO_FILE_ENV, "").strip()
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
    "schema_version", "type", "id", "timestamp", "session_name", "feature_id", "task_id"
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


def _money(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{what} must be a number of USD, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise InvalidInput(f"{what} must be a non-negative number of USD, got {value!r}")
    return number


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


def _content(name: str, feature_id: str, task_id: str | None, estimate: float) -> str:
    parts = [f"🤖 AI Session: {name}", f"Feature: {feature_id}"]
    if task_id:
        parts.append(f"Task: {task_id}")
    parts.append(f"Est. cost: ${estimate:.2f}")
    return " | ".join(parts)


def start(
    session_name: str,
    feature_id: str | None,
    task_id: str | None,
    estimated_cost: float | None,
    agent: str | None,
    model: str | None,
    *,
    estimate_basis: str | None = None,
    default_estimate: float | None = None,
    store: SessionStore | None = None,
    path: Path | None = None,
) -> str:
    """Record the start of an agent call in ``session_name``; returns the new todo id.

    ``feature_id`` may be ``None`` (taken from the session name); if given it must match
    it. ``estimated_cost=None`` estimates it with ``estimate_cost`` (for the session's
    command and feature, ``default_estimate`` as the configured default) and records the
    basis; an explicit estimate is recorded with ``estimate_basis`` (default "caller").
    """
    session = parse_session_name(session_name)
    if feature_id is not None and feature_id != session.feature_id:
        raise InvalidInput(
            f"feature {feature_id!r} does not match session {session.name} "
            f"(feature {session.feature_id!r})"
        )
    estimate = _money(estimated_cost, "estimated_cost")
    if estimate is None:
        estimate, estimate_basis = estimate_cost(
            store or SessionStore(), session.command, session.feature_id, default_estimate
        )
    todo_id = new_todo_id()
    append_record(
        {
            "schema_version": SCHEMA_VERSION,
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
            "estimate_basis": estimate_basis or "caller",
        },
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
        {
            "schema_version": SCHEMA_VERSION,
            "type": "end",
            "id": _todo_id(todo_id),
            "timestamp": now_iso(),
            "session_name": session_name,
            "status": status,
            "actual_cost": None if unpriced else _money(actual_cost, "actual_cost"),
            "unpriced": unpriced,
            "tokens": kinds,
            "total_tokens": total,
            "summary": summary,
        },
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
        {
            "schema_version": SCHEMA_VERSION,
            "type": "error",
            "id": _todo_id(todo_id),
            "timestamp": now_iso(),
            "session_name": session_name,
            "status": "failed",
            "priority": "high",
            "error": message,
            "content": f"❌ Session error: {session_name} - {message}",
            "actual_cost": None if unpriced else _money(actual_cost, "actual_cost"),
            "unpriced": unpriced,
            "tokens": kinds,
            "total_tokens": total if tokens is not None else None,
        },
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
            todo["estimated_cost"] = _number(record.get("estimated_cost"))
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


def parse_period(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``--since``/``--until`` as a half-open UTC range. A bare date ``YYYY-MM-DD`` means
    the whole day: ``until 2025-01-31`` includes everything on the 31st."""

    def one(value: str | None, what: str, *, end_of_day: bool) -> datetime | None:
        if value is None or not value.strip():
            return None
        moment = parse_iso(value)
        if moment is None:
            raise InvalidInput(f"{what} must be a date (YYYY-MM-DD) or ISO date-time: {value!r}")
        if end_of_day and len(value.strip()) == 10:
            moment += timedelta(days=1)
        return moment

    start_at = one(since, "--since", end_of_day=False)
    end_at = one(until, "--until", end_of_day=True)
    if start_at and end_at and end_at <= start_at:
        raise InvalidInput("--until must be later than --since")
    return start_at, end_at


def _in_period(todo: Mapping[str, Any], since: datetime | None, until: datetime | None) -> bool:
    if since is None and until is None:
        return True
    moment = parse_iso(todo["start_time"] or todo["first_seen"])
    if moment is None:
        return False
    return (since is None or moment >= since) and (until is None or moment < until)


def _accuracy(todos: list[dict[str, Any]]) -> dict[str, Any]:
    """How good the estimates were, over completed todos that have both figures.

    ``mape``: mean of |actual - estimate| / actual (calls that cost $0 are left out: the
    percentage is undefined). ``actual_to_estimate``: total actual / total estimate
    (above 1 means the estimates were too low).
    """
    from statistics import fmean  # lazily: ~5 ms to import, and only reports need it

    pairs = [
        (t["actual_cost"], t["estimated_cost"])
        for t in todos
        if t["status"] == "completed"
        and t["actual_cost"] is not None
        and t["estimated_cost"] is not None
    ]
    errors = [abs(actual - est) / actual for actual, est in pairs if actual > 0]
    total_est = sum(est for _, est in pairs)
    return {
        "todos": len(pairs),
        "mape": round(fmean(errors), 6) if errors else None,
        "mape_todos": len(errors),
        "actual_to_estimate": (
            round(sum(actual for actual, _ in pairs) / total_est, 6) if total_est > 0 else None
        ),
    }


def report(
    since: datetime | None = None, until: datetime | None = None, *, path: Path | None = None
) -> dict[str, Any]:
    """Totals over todos started in ``[since, until)`` (all when both are ``None``)."""
    target = path or todo_file()
    log = read_records(target)
    todos = [t for t in fold(log.records) if _in_period(t, since, until)]
    by_status: dict[str, int] = {}
    features: dict[str, dict[str, Any]] = {}
    for todo in todos:
        by_status[todo["status"]] = by_status.get(todo["status"], 0) + 1
        key = todo["feature_id"] or "(unknown)"
        entry = features.setdefault(
            key,
            {
                "feature_id": key,
                "todos": 0,
                "actual_cost": 0.0,
                "estimated_cost": 0.0,
                "unpriced": 0,
            },
        )
        entry["todos"] += 1
        entry["unpriced"] += bool(todo["unpriced"])
        entry["actual_cost"] = round(entry["actual_cost"] + (todo["actual_cost"] or 0.0), 10)
        entry["estimated_cost"] = round(
            entry["estimated_cost"] + (todo["estimated_cost"] or 0.0), 10
        )
    top = sorted(features.values(), key=lambda f: (-f["actual_cost"], -f["todos"], f["feature_id"]))
    return {
        "schema_version": SCHEMA_VERSION,
        "todo_file": str(target),
        "since": format_iso(since) if since else None,
        "until": format_iso(until) if until else None,
        "total": len(todos),
        "completed": by_status.get("completed", 0),
        "failed": by_status.get("failed", 0),
        "in_progress": by_status.get("in_progress", 0),
        "by_status": dict(sorted(by_status.items())),
        "total_actual_cost": round(sum(t["actual_cost"] or 0.0 for t in todos), 10),
        "unpriced": sum(1 for t in todos if t["unpriced"]),
        "total_estimated_cost": round(sum(t["estimated_cost"] or 0.0 for t in todos), 10),
        "estimate_accuracy": _accuracy(todos),
        "top_features": top[:TOP_FEATURES],
        "unreadable_lines": log.unreadable_lines,
    }


# --------------------------------------------------------------------------- estimates


def _phase_costs(store: SessionStore, names: Iterable[str]) -> list[float]:
    """Costs of the successful, priced calls recorded in sessions ``names``."""
    costs: list[float] = []
    for name in names:
        try:
            records = store.read_log(name).records
        except (StoreError, NotFound, InvalidInput, OSError):
            # an unreadable session contributes no sample; estimating must not fail on it
            continue
        costs.extend(
            float(r.cost) for r in records if r.outcome == "success" and r.cost_source != "unpriced"
        )
    return costs


def estimate_cost(
    store: SessionStore, command: str, feature_id: str, default: float | None = None
) -> tuple[float, str]:
    """``(estimate, basis)`` for the next ``command`` call of ``feature_id``.

    basis ``feature``: median of this feature's earlier successful priced calls of that
    phase; ``all_features``: the same over every feature; ``config``: ``default`` (the
    caller's configured value); ``constant``: the built-in guess, only when all else is
    missing.
    """
    from statistics import median  # lazily: ~5 ms to import

    own = make_session_name(command, validate_feature_id(feature_id)).name
    costs = _phase_costs(store, [own] if store.exists(own) else [])
    if costs:
        return round(median(costs), 10), "feature"
    from ai_orchestrator.store.index import SummaryIndex

    rows, _errors = SummaryIndex(store).rows()
    # The 20 most recently used sessions of this phase are history enough, and keep the
    # estimate cheap on a store of thousands of sessions.
    candidates = [
        r for r in rows if r.command == command and r.name != own and r.interactions > r.unpriced
    ]
    candidates.sort(key=lambda r: r.last_activity or "", reverse=True)
    others = [r.name for r in candidates[:20]]
    costs = _phase_costs(store, others)
    if costs:
        return round(median(costs), 10), "all_features"
    configured = _money(default, "default estimate")
    if configured is not None:
        return configured, "config"
    return BUILTIN_ESTIMATES.get(command, FALLBACK_ESTIMATE), "constant"

"""``history.jsonl``: the append-only event log of one feature.

Every workflow command that changes something (init, plan, implement, review, verify)
appends exactly one event when it ends — success, failure, timeout and Ctrl-C alike::

    {"schema_version": 1, "timestamp": "...Z", "command": "implement",
     "arguments": {...}, "agent": "claude", "model": "sonnet", "status": "success",
     "duration_ms": 1234, "task_id": "T1.1", "session": "implement-f", "error": null,
     "details": {...}}

``arguments`` holds the options given (``given_options``); ``status`` is one of
``success | failed | timeout | interrupted | budget_exceeded | error``;
``duration_ms`` is wall-clock milliseconds, rounded up (``elapsed_ms``: never 0 for a
command that ran). Each event is one line written with a single
``write`` on an ``O_APPEND`` descriptor (then fsync), so concurrent writers never interleave
and a crash can at worst leave a torn last line; readers skip (and count) unparseable lines.
Secrets in ``arguments``, ``error`` and ``details`` are redacted (``infra.redact``).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ai_orchestrator.core.schema import SCHEMA_KEY, versioned
from ai_orchestrator.infra.fsutil import fsync_fd, write_all
from ai_orchestrator.infra.redact import redact_value
from ai_orchestrator.infra.timeutil import now_iso
from ai_orchestrator.store.records import redact_lineage

STATUSES = ("success", "failed", "timeout", "interrupted", "budget_exceeded", "error")


def elapsed_ms(started: float) -> int:
    """Milliseconds since ``started`` (``time.monotonic()``), rounded up, at least 1."""
    return max(1, math.ceil((time.monotonic() - started) * 1000))


def given_options(**values: Any) -> dict[str, Any]:
    """The ``arguments`` of an event: the options given. Unset (None) and off (False) ones
    are left out; ``0`` and empty lists are values and kept."""
    return {k: v for k, v in values.items() if v is not None and v is not False}


def make_event(
    command: str,
    *,
    arguments: Mapping[str, Any] | None = None,
    status: str,
    duration_ms: int,
    agent: str | None = None,
    model: str | None = None,
    task_id: str | None = None,
    session: str | None = None,
    error: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    if status not in STATUSES:
        raise ValueError(f"unknown history status {status!r}")
    return versioned({
        "timestamp": now_iso(),
        "command": command,
        "arguments": dict(arguments or {}),
        "agent": agent,
        "model": model,
        "status": status,
        "duration_ms": int(duration_ms),
        "task_id": task_id,
        "session": session,
        "error": error,
        "details": dict(details or {}),
    })


# Never redacted: the event's identity and outcome (ids and names are validated upstream).
_IDENTITY_FIELDS = (
    SCHEMA_KEY,
    "timestamp",
    "command",
    "agent",
    "model",
    "status",
    "duration_ms",
    "task_id",
    "session",
)


def append_event(path: Path, event: Mapping[str, Any]) -> None:
    """Append ``event`` (secrets in its arguments, error and details redacted)."""
    plain = json.loads(json.dumps(event, default=str))
    clean = redact_value(plain, keep=_IDENTITY_FIELDS)
    details = plain.get("details")
    if isinstance(details, dict) and "escalation" in details:
        clean["details"]["escalation"] = redact_lineage(details["escalation"])
    line = (json.dumps(clean, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        # Terminate a torn last line left by a crash so it cannot fuse with this event.
        size = os.fstat(fd).st_size
        if size:
            with open(path, "rb") as reader:
                reader.seek(size - 1)
                if reader.read(1) != b"\n":
                    line = b"\n" + line
        write_all(fd, line)
        fsync_fd(fd)
    finally:
        os.close(fd)


def read_events(path: Path) -> tuple[list[dict[str, Any]], int]:
    """All well-formed events (oldest first) and the number of lines that were skipped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    events: list[dict[str, Any]] = []
    bad = 0
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except ValueError:
            bad += 1
            continue
        if isinstance(event, dict):
            events.append(event)
        else:
            bad += 1
    return events, bad


def filter_events(
    events: list[dict[str, Any]],
    *,
    command: str | None = None,
    limit: int | None = None,
    failed: bool = False,
) -> list[dict[str, Any]]:
    """The events of ``command`` (all if ``None``), only the failed ones (any status but
    ``success``) if ``failed``, the last ``limit`` of them if given."""
    selected = [e for e in events if command is None or e.get("command") == command]
    if failed:
        selected = [e for e in selected if e.get("status") != "success"]
    if limit is not None and limit >= 0:
        selected = selected[-limit:] if limit else []
    return selected

"""Log lines → rows of ``aio.interactions`` (``COLUMNS``), validated like the store reads them.

``parse_lines`` turns the complete lines of a log chunk into rows and counts the lines that
are not records. The door is the store's own (``store.records.normalize_interaction``, as
``store.logfile.parse_log`` uses it), with two differences:

- A stored line without an id gets the id of its content (``store.records.content_id``)
  rather than a fresh random one on every read: read again after a restore, it is the same
  row.
- **A fast path** for the common line, a first push of a million calls being CPU-bound on
  validation: ``fast_row`` accepts a line only when every field the store's validation checks
  is already in the exact, canonical form that validation would leave unchanged (the form
  aio itself writes: a canonical UTC time stamp, integer token counts, a known cost source,
  no ``usage_by_model``, …); anything else — odd, old, hostile or multi-model — returns
  ``None`` and takes the full validation. So the fast path never accepts a line the store
  would refuse, and gives the same row (``tests/team/test_rows.py`` checks both on every
  variation).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from ai_orchestrator.core.cost_split import reported_part
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.interaction import TOKEN_KEYS, Interaction
from ai_orchestrator.core.names import SessionName
from ai_orchestrator.infra.redact import redact
from ai_orchestrator.store.records import (
    COST_SOURCES,
    MAX_INT,
    MAX_USD,
    content_id,
    normalize_interaction,
)

COLUMNS = (
    "id", "machine_id", "user_name", "session_name", "command", "feature_id", "task_id",
    "branch", "agent", "model", "ts", "input", "output", "cache_read", "cache_write",
    "reasoning", "cost", "cost_source", "cost_reported", "savings", "outcome", "duration_ms",
    "agent_session_id", "prompt",
)  # fmt: skip
TS, COMMAND, FEATURE = COLUMNS.index("ts"), COLUMNS.index("command"), COLUMNS.index("feature_id")

_CANONICAL_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")
# Fields the store's validation checks or rewrites; every one must be in final form.
_OPT_TEXT = ("task_id", "agent", "agent_session_id", "model", "prompt_preview", "cwd",
             "session_action")  # fmt: skip
_SLOW_KEYS = ("usage_by_model",)


def row_of(record: Interaction, machine_id: str, user: str, with_prompts: bool) -> tuple[Any, ...]:
    """The ``COLUMNS`` of one validated interaction."""
    t = record.tokens
    prompt = redact(record.prompt) if with_prompts and record.prompt else None
    return (
        record.id, machine_id, user, record.session_name, record.command,
        record.feature_id, record.task_id, None, record.agent, record.model, record.timestamp,
        t.input, t.output, t.cache_read, t.cache_write, t.reasoning, repr(float(record.cost)),
        record.cost_source, repr(float(reported_part(record))),
        repr(float(record.savings or 0.0)), record.outcome, record.duration_ms,
        record.agent_session_id, prompt,
    )  # fmt: skip


def _count(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_INT


def _usd(value: object) -> bool:
    return ((type(value) is float and math.isfinite(value)) or type(value) is int) and (
        0 <= value <= MAX_USD
    )


def fast_row(
    d: dict[str, Any], session: SessionName, machine_id: str, user: str, with_prompts: bool
) -> tuple[Any, ...] | None:
    """The row of a line already in canonical form, else ``None`` (module doc)."""
    rid, ts, source = d.get("id"), d.get("timestamp"), d.get("cost_source")
    tokens = d.get("tokens")
    if (
        type(rid) is not str or not 1 <= len(rid) <= 128
        or type(ts) is not str or not _CANONICAL_TS.match(ts)
        or d.get("session_name") != session.name or d.get("command") != session.command
        or d.get("feature_id") != session.feature_id
        or source not in COST_SOURCES or source == "reported"
        or type(tokens) is not dict or not _usd(d.get("cost"))
        or any(key in d for key in _SLOW_KEYS)
    ):  # fmt: skip
        return None
    outcome, exit_code, duration = d.get("outcome"), d.get("exit_code"), d.get("duration_ms")
    prompt, response, savings = d.get("prompt"), d.get("response_preview"), d.get("savings")
    reported, state = d.get("reported_cost"), d.get("agent_state")
    if (
        type(outcome) is not str or not outcome
        or not (exit_code is None or (type(exit_code) is int and abs(exit_code) <= MAX_INT))
        or not _count(duration)
        or not (prompt is None or type(prompt) is str)
        or type(response) is not str
        or not (savings is None or _usd(savings))
        or not (reported is None or _usd(reported))
        or not (state is None or type(state) is dict)
        or any(not (d.get(k) is None or type(d.get(k)) is str) for k in _OPT_TEXT)
        or d.get("prompt_preview") is None
    ):  # fmt: skip
        return None
    counts = []
    for key in TOKEN_KEYS:
        value = tokens.get(key, 0)
        if not _count(value):
            return None
        counts.append(value)
    if any(key not in TOKEN_KEYS and key != "total" for key in tokens):
        return None
    try:  # the pattern lets 2026-13-45 through; the store's parse does not
        datetime.fromisoformat(ts[:-1])
    except ValueError:
        return None
    text = redact(prompt) if with_prompts and prompt else None
    return (
        rid, machine_id, user, session.name, session.command, session.feature_id,
        d.get("task_id"), None, d.get("agent"), d.get("model"), ts, *counts,
        repr(float(d["cost"])), source, "0.0", repr(float(savings or 0.0)), outcome, duration,
        d.get("agent_session_id"), text,
    )  # fmt: skip


def _encodable(value: Any) -> Any:
    """``value`` with lone surrogates (``"\\ud800"`` is valid JSON, not valid UTF-8) replaced,
    so the row can be sent; the store reads such a line as a record, so must the team."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    return value


def parse_lines(
    data: bytes, session: SessionName, machine_id: str, user: str, with_prompts: bool
) -> tuple[list[tuple[Any, ...]], int]:
    """The rows of the complete lines in ``data``, and how many lines were not records."""
    rows: list[tuple[Any, ...]] = []
    corrupt = 0
    lines: list[str] | list[bytes]
    try:  # text parses faster; a chunk with invalid UTF-8 goes line by line as bytes
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        lines = data.split(b"\n")
    for raw in lines:
        if not raw.strip():
            continue
        try:
            parsed = json.loads(raw)
            if ("\\u" in raw) if isinstance(raw, str) else (b"\\u" in raw):
                parsed = _encodable(parsed)
            if isinstance(parsed, dict):
                row = fast_row(parsed, session, machine_id, user, with_prompts)
                if row is not None:
                    rows.append(row)
                    continue
                if parsed.get("id") is None:
                    parsed["id"] = content_id(parsed)
            record = normalize_interaction(parsed, session, stored=True)
            rows.append(row_of(record, machine_id, user, with_prompts))
        except (ValueError, InvalidInput, RecursionError):
            corrupt += 1
    return rows, corrupt

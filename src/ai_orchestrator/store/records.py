"""Interaction records and the session summary derived from them.

An *interaction* is one agent call, stored as one JSON line in ``interactions.jsonl``.
``normalize_interaction`` turns caller input (ours, or the earlier shell version's
shape with ``tokens{input,output}``) into the stored shape, filling defaults and
refusing wrong types with ``InvalidInput`` naming the field. Unknown fields are kept.

The *summary* (``metadata.json``) is a pure fold over the log: ``empty_summary`` then
``apply_interaction`` for each record, in order. Appending uses the same step, so a
summary rebuilt from the log always equals one maintained incrementally; that is what
lets the store repair a stale or corrupt summary without losing anything.

Stored interaction fields: ``schema_version, id, timestamp, session_name, command,
feature_id, task_id, agent, agent_session_id, cwd, model, prompt, prompt_preview,
response_preview, tokens{input, output, cache_read, cache_write, reasoning}, cost,
cost_source, reported_cost, duration_ms, outcome, exit_code`` plus optional
``usage_by_model``, ``savings``, ``agent_state``, ``todos``, ``raw_events``.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ai_orchestrator import SCHEMA_VERSION
from ai_orchestrator.errors import InvalidInput
from ai_orchestrator.store.names import SessionName
from ai_orchestrator.store.redact import redact
from ai_orchestrator.store.timeutil import day_of, format_iso, now_iso, parse_iso

TOKEN_KEYS = ("input", "output", "cache_read", "cache_write", "reasoning")
COST_SOURCES = ("reported", "computed", "unpriced")
PREVIEW_CHARS = 100


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """First ``limit`` characters, with ``...`` when cut (the seed's prompt_preview)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


def _fail(field: str, expected: str, value: object) -> InvalidInput:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidInput(f"interaction field '{field}' must be {expected}, got {shown}")


def _int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(field, "a non-negative integer", value)
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise _fail(field, "a non-negative integer", value)
        value = int(value)
    if value < 0:
        raise _fail(field, "a non-negative integer", value)
    return value


def _money(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(field, "a non-negative number (USD)", value)
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise _fail(field, "a non-negative number (USD)", value)
    return number


def _opt_str(record: Mapping[str, Any], field: str) -> str | None:
    value = record.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _fail(field, "a string", value)
    return str(value)


def _tokens(value: object) -> dict[str, int]:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise _fail("tokens", "an object like {input, output, cache_read, cache_write}", value)
    out = {key: 0 for key in TOKEN_KEYS}
    for key, raw in value.items():
        if key in out:
            out[key] = _int(raw, f"tokens.{key}")
        elif key == "total":
            continue  # derived; recomputed on read
        else:
            raise _fail(f"tokens.{key}", f"one of {', '.join(TOKEN_KEYS)}", key)
    return out


def content_id(record: Mapping[str, Any]) -> str:
    """A stable id derived from a record's content (for imports of id-less records)."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return "c-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def normalize_interaction(raw: object, session: SessionName) -> dict[str, Any]:
    """Validate and complete one interaction for ``session``; raises ``InvalidInput``."""
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"an interaction must be a JSON object, got {type(raw).__name__}")
    record: dict[str, Any] = dict(raw)
    for bound in ("session_name", "feature_id", "command"):
        given = record.get(bound)
        expected = getattr(session, "name" if bound == "session_name" else bound)
        if given not in (None, expected):
            raise InvalidInput(
                f"interaction field '{bound}' is {given!r} but the session is {session.name}"
            )
    record_id = record.get("id")
    if record_id is None:
        record_id = uuid.uuid4().hex
    elif not isinstance(record_id, str) or not 1 <= len(record_id) <= 128:
        raise _fail("id", "a string of 1-128 characters", record_id)

    timestamp = record.get("timestamp")
    if timestamp is None:
        timestamp = now_iso()
    else:
        moment = parse_iso(timestamp)
        if moment is None:
            raise _fail("timestamp", "an ISO-8601 date-time", timestamp)
        timestamp = format_iso(moment)

    prompt = record.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise _fail("prompt", "a string", prompt)
    prompt_preview = _opt_str(record, "prompt_preview")
    if prompt_preview is None:
        prompt_preview = preview(prompt or "")
    response_preview = _opt_str(record, "response_preview") or ""

    cost = _money(record.get("cost", 0.0), "cost")
    reported = record.get("reported_cost")
    reported_cost = None if reported is None else _money(reported, "reported_cost")
    cost_source = record.get("cost_source")
    if cost_source is None:
        cost_source = "reported" if reported_cost is not None else "computed"
    if cost_source not in COST_SOURCES:
        raise _fail("cost_source", f"one of {', '.join(COST_SOURCES)}", cost_source)

    outcome = record.get("outcome", "success")
    if not isinstance(outcome, str) or not outcome:
        raise _fail("outcome", "a string such as success or error:<class>", outcome)
    exit_code = record.get("exit_code")
    if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
        raise _fail("exit_code", "an integer", exit_code)

    usage_by_model = record.get("usage_by_model")
    if usage_by_model is not None and not isinstance(usage_by_model, Mapping):
        raise _fail("usage_by_model", "an object keyed by model", usage_by_model)

    record.update(
        {
            "schema_version": SCHEMA_VERSION,
            "id": record_id,
            "timestamp": timestamp,
            "session_name": session.name,
            "command": session.command,
            "feature_id": session.feature_id,
            "task_id": _opt_str(record, "task_id"),
            "agent": _opt_str(record, "agent"),
            "agent_session_id": _opt_str(record, "agent_session_id"),
            "model": _opt_str(record, "model"),
            "prompt": prompt if prompt is not None else None,
            "prompt_preview": prompt_preview,
            "response_preview": response_preview,
            "tokens": _tokens(record.get("tokens")),
            "cost": cost,
            "cost_source": cost_source,
            "reported_cost": reported_cost,
            "duration_ms": _int(record.get("duration_ms", 0), "duration_ms"),
            "outcome": outcome,
            "exit_code": exit_code,
        }
    )
    return record


def serialize(record: Mapping[str, Any]) -> bytes:
    """One redacted JSON line (with trailing newline) for ``interactions.jsonl``."""
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (redact(line) + "\n").encode("utf-8")


# ---------------------------------------------------------------------------- summary


def _bucket() -> dict[str, Any]:
    return {"interactions": 0, "tokens": {k: 0 for k in TOKEN_KEYS}, "cost": 0.0}


def _add_to_bucket(bucket: dict[str, Any], tokens: Mapping[str, int], cost: float) -> None:
    bucket["interactions"] += 1
    for key in TOKEN_KEYS:
        bucket["tokens"][key] += int(tokens.get(key, 0))
    bucket["cost"] = round(bucket["cost"] + cost, 10)


def empty_summary(session: SessionName, created_at: str | None = None) -> dict[str, Any]:
    moment = parse_iso(created_at)
    created_at = format_iso(moment) if moment else None
    return {
        "schema_version": SCHEMA_VERSION,
        "session_name": session.name,
        "command": session.command,
        "feature_id": session.feature_id,
        "agent": None,
        "agent_session_id": None,
        "agent_cwd": None,
        "agent_state": {},
        "model": None,
        "status": "new",
        "last_outcome": None,
        "created_at": created_at or now_iso(),
        "last_used": None,
        "interaction_count": 0,
        "tokens": {k: 0 for k in TOKEN_KEYS},
        "cost": 0.0,
        "savings": 0.0,
        "unpriced_interactions": 0,
        "failed_interactions": 0,
        "by_model": {},
        "log_size": 0,
        "corrupt_lines": 0,
    }


def _status_for(outcome: str) -> str:
    if outcome == "success":
        return "active"
    if outcome.endswith("session_lost"):
        return "lost"
    return "failed"


def _models_of(record: Mapping[str, Any]) -> list[tuple[str, dict[str, int], float]]:
    """(model, tokens, cost) per model used in the call; one entry when not broken down."""
    per_model = record.get("usage_by_model")
    if isinstance(per_model, Mapping):  # an empty breakdown: a call that used no model
        parts = []
        for model, usage in per_model.items():
            if not isinstance(usage, Mapping):
                continue
            tokens = {
                "input": int(usage.get("input", 0) or 0),
                "output": int(usage.get("output", 0) or 0),
                "cache_read": int(usage.get("cache_read", 0) or 0),
                "cache_write": int(usage.get("cache_write", 0) or 0)
                or int(usage.get("cache_write_5m", 0) or 0)
                + int(usage.get("cache_write_1h", 0) or 0),
                "reasoning": int(usage.get("reasoning", 0) or 0),
            }
            parts.append((str(model), tokens, float(usage.get("cost", 0.0) or 0.0)))
        return parts
    return [(record.get("model") or "unknown", record["tokens"], float(record["cost"]))]


def apply_interaction(summary: dict[str, Any], record: Mapping[str, Any]) -> None:
    """Fold one stored interaction into ``summary`` (in place)."""
    summary["interaction_count"] += 1
    for key in TOKEN_KEYS:
        summary["tokens"][key] += int(record["tokens"].get(key, 0))
    summary["cost"] = round(summary["cost"] + float(record["cost"]), 10)
    savings = record.get("savings")
    if isinstance(savings, int | float) and not isinstance(savings, bool):
        summary["savings"] = round(summary["savings"] + float(savings), 10)
    if record.get("cost_source") == "unpriced":
        summary["unpriced_interactions"] += 1
    outcome = str(record.get("outcome", "success"))
    if outcome != "success":
        summary["failed_interactions"] += 1
    for field in ("agent", "model"):
        if record.get(field):
            summary[field] = record[field]
    if record.get("agent_session_id"):
        summary["agent_session_id"] = record["agent_session_id"]
    if record.get("cwd"):
        summary["agent_cwd"] = record["cwd"]
    state = record.get("agent_state")
    if isinstance(state, Mapping):
        summary["agent_state"] = dict(state)
    summary["status"] = _status_for(outcome)
    summary["last_outcome"] = outcome
    timestamp = record["timestamp"]
    if summary["last_used"] is None or timestamp > summary["last_used"]:
        summary["last_used"] = timestamp
    if timestamp < summary["created_at"]:
        summary["created_at"] = timestamp

    for model, tokens, cost in _models_of(record):
        _add_to_bucket(summary["by_model"].setdefault(model, _bucket()), tokens, cost)


def group_buckets(records: Iterable[Mapping[str, Any]], by: str) -> dict[str, dict[str, Any]]:
    """Per-``day`` (UTC) or per-``task`` buckets of interactions, tokens and cost.

    These are computed from the log on demand rather than kept in the summary, so the
    summary stays small (``list``/``stats`` read 10,000 of them in well under a second).
    """
    buckets: dict[str, dict[str, Any]] = {}
    for record in records:
        if by == "day":
            key = day_of(record["timestamp"]) or "unknown"
        elif by == "task":
            key = str(record.get("task_id") or "(no task)")
        else:
            raise ValueError(f"cannot group interactions by {by!r}")
        _add_to_bucket(buckets.setdefault(key, _bucket()), record["tokens"], record["cost"])
    return buckets


def build_summary(
    session: SessionName, records: Iterable[Mapping[str, Any]], created_at: str | None = None
) -> dict[str, Any]:
    summary = empty_summary(session, created_at)
    for record in records:
        apply_interaction(summary, record)
    return summary


_SUMMARY_TYPES: dict[str, type | tuple[type, ...]] = {
    "schema_version": int,
    "session_name": str,
    "command": str,
    "feature_id": str,
    "status": str,
    "created_at": str,
    "interaction_count": int,
    "tokens": dict,
    "cost": (int, float),
    "savings": (int, float),
    "unpriced_interactions": int,
    "failed_interactions": int,
    "by_model": dict,
    "log_size": int,
    "corrupt_lines": int,
    "agent_state": dict,
}


def summary_problem(summary: object, session: SessionName) -> str | None:
    """Why ``summary`` cannot be trusted, or ``None`` if it is well-formed."""
    if not isinstance(summary, dict):
        return f"metadata.json holds a {type(summary).__name__}, not an object"
    if isinstance(summary.get("interactions"), list):
        return "metadata.json is in the earlier shell version's format (run: aio session migrate)"
    for key, kind in _SUMMARY_TYPES.items():
        value = summary.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"metadata.json field '{key}' is missing or has the wrong type"
    if summary["session_name"] != session.name:
        return f"metadata.json names session {summary['session_name']!r}"
    tokens = summary["tokens"]
    if any(not isinstance(tokens.get(k), int) for k in TOKEN_KEYS):
        return "metadata.json field 'tokens' has the wrong shape"
    if summary["last_used"] is not None and not isinstance(summary["last_used"], str):
        return "metadata.json field 'last_used' has the wrong type"
    return None

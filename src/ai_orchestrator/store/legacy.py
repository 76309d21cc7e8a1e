"""Reading and converting what the earlier shell version (``ai-session.sh``) wrote.

That version kept every interaction inside ``metadata.json``::

    {"created_at", "last_used", "session_id", "command": "claude", "session_name",
     "interactions": [{"timestamp", "model", "prompt_preview",
                       "tokens": {"input", "output"}, "cost", "duration_ms"}]}

Without jq it wrote only the five top-level keys (no ``interactions``); ``bc`` wrote
costs below 1 without the leading zero (``"cost": .000048``), which strict JSON parsers
refuse. Both are recognised as the shell version's (``parse_legacy_metadata``): an object
without ``schema_version`` that has ``interactions`` or ``session_id``.

``legacy_records`` converts the interactions to our stored shape. Missing fields get
defaults; a cost written as a string such as ``".000048"`` is accepted. Each converted
record gets an id derived from its content and its occurrence (``content_ids``), so two
identical calls both survive and converting the same data twice yields the same ids.

``migrate_locked`` converts one session in place (the caller holds its write lock):
1. keep the original as ``metadata.legacy.json`` (never overwritten once written);
2. unusable interactions go to ``interactions.corrupt.jsonl`` (kept, reported);
3. the log becomes the converted records followed by whatever it already held (records
   already present by id are not added twice);
4. the summary is rebuilt from the log, keeping ``created_at`` (else the date reads
   showed: the directory's) and ``session_id``.
Each step is an atomic replacement or an idempotent append, so a rerun after a crash
converges to the same result and nothing is lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_orchestrator.errors import InvalidInput
from ai_orchestrator.store.fsutil import atomic_write, read_bytes
from ai_orchestrator.store.logfile import (
    LEGACY_BACKUP,
    LOG,
    METADATA,
    QUARANTINE,
    fallback_created,
    parse_log,
    quarantine,
    summary_of_log,
    write_summary,
)
from ai_orchestrator.store.names import SessionName
from ai_orchestrator.store.records import content_ids, normalize_interaction, serialize

_BC_NUMBER = re.compile(rb'("(?:total_)?cost"\s*:\s*)(-?)\.(\d)')


def _number(value: object) -> object:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


def is_legacy_metadata(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and "schema_version" not in obj
        and (isinstance(obj.get("interactions"), list) or "session_id" in obj)
    )


def parse_legacy_metadata(data: bytes, parsed: object = None) -> dict[str, Any] | None:
    """The shell version's metadata object in ``data``, or ``None`` if it is not one.

    ``parsed`` is ``json.loads(data)`` if the caller already has it (``None`` if that
    failed); costs written by ``bc`` (``.000048``) are accepted.
    """
    if parsed is None:
        try:
            parsed = json.loads(_BC_NUMBER.sub(rb"\g<1>\g<2>0.\g<3>", data))
        except (ValueError, RecursionError):
            return None
    return parsed if is_legacy_metadata(parsed) and isinstance(parsed, dict) else None


def is_legacy_interaction(item: Mapping[str, Any]) -> bool:
    """True for the shell version's record shape (no id, no schema_version)."""
    return "schema_version" not in item and "id" not in item


def convert_legacy_interaction(
    item: Mapping[str, Any],
    session: SessionName,
    agent_session_id: str | None,
    record_id: str,
) -> dict[str, Any]:
    """One shell-version interaction in our shape; raises ``InvalidInput`` if unusable."""
    tokens = item.get("tokens") or {}
    if not isinstance(tokens, Mapping):
        raise InvalidInput("legacy interaction 'tokens' must be an object")
    record: dict[str, Any] = {
        "id": record_id,
        "timestamp": item.get("timestamp"),
        "agent": "claude",
        "agent_session_id": agent_session_id or None,
        "model": item.get("model"),
        "prompt_preview": item.get("prompt_preview") or "",
        "tokens": {
            "input": _number(tokens.get("input", 0)),
            "output": _number(tokens.get("output", 0)),
        },
        "cost": _number(item.get("cost", 0.0)),
        "cost_source": "computed",
        "duration_ms": _number(item.get("duration_ms", 0)),
        "outcome": "success",
        "imported_from": "ai-session.sh",
    }
    return normalize_interaction(record, session)


def legacy_session_id(metadata: Mapping[str, Any]) -> str | None:
    sid = metadata.get("session_id")
    return sid if isinstance(sid, str) and sid else None


def legacy_records(
    metadata: Mapping[str, Any], session: SessionName
) -> tuple[list[dict[str, Any]], list[object]]:
    """Converted interactions of a shell-version metadata object, and the unusable ones."""
    agent_session_id = legacy_session_id(metadata)
    items = metadata.get("interactions") or []
    if not isinstance(items, list):
        return [], [items]
    usable = [item for item in items if isinstance(item, Mapping)]
    bad: list[object] = [item for item in items if not isinstance(item, Mapping)]
    records = []
    for item, record_id in zip(usable, content_ids(usable), strict=True):
        try:
            records.append(convert_legacy_interaction(item, session, agent_session_id, record_id))
        except InvalidInput:
            bad.append(item)
    return records, bad


def legacy_base(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Conversation fields of a shell-version session (it only ever ran claude)."""
    sid = legacy_session_id(metadata)
    return {"agent": "claude", "agent_session_id": sid} if sid else {}


def legacy_created(metadata: Mapping[str, Any]) -> str | None:
    created = metadata.get("created_at")
    return created if isinstance(created, str) else None


@dataclass
class Migrated:
    converted: int
    unusable: int
    summary: dict[str, Any]


def _quarantine(path: Path, items: list[object]) -> None:
    """Append unusable items to the quarantine file unless already there (reruns)."""
    present = set((read_bytes(path / QUARANTINE) or b"").splitlines())
    lines = [json.dumps(item, ensure_ascii=False, default=str).encode("utf-8") for item in items]
    fresh = [line for line in lines if line not in present]
    if fresh:
        quarantine(path, fresh)


def migrate_locked(path: Path, session: SessionName) -> Migrated | None:
    """Convert the shell-version session at ``path`` in place (write lock held by the
    caller); ``None`` if its ``metadata.json`` is not the shell version's."""
    data = read_bytes(path / METADATA)
    legacy = None if data is None else parse_legacy_metadata(data)
    if data is None or legacy is None:
        return None
    created = legacy_created(legacy) or fallback_created(path)  # before writing changes it
    backup = path / LEGACY_BACKUP
    if not backup.exists():
        atomic_write(backup, data)
    records, bad = legacy_records(legacy, session)
    if bad:
        _quarantine(path, bad)
    log = read_bytes(path / LOG) or b""
    known = {r["id"] for r in parse_log(log, session).records}
    new = [r for r in records if r["id"] not in known]
    if new:
        # Legacy calls are older than anything in the log: they go first. Existing lines
        # are kept byte for byte (a torn tail becomes a terminated, unreadable line).
        if log and not log.endswith(b"\n"):
            log += b"\n"
        log = b"".join(serialize(r) for r in new) + log
        atomic_write(path / LOG, log)
    summary = summary_of_log(path, session, parse_log(log, session), created, legacy_base(legacy))
    write_summary(path, summary)
    return Migrated(len(records), len(bad), summary)

"""Reading what the earlier shell version (``ai-session.sh``) wrote.

That version kept every interaction inside ``metadata.json``::

    {"created_at", "last_used", "session_id", "command": "claude", "session_name",
     "interactions": [{"timestamp", "model", "prompt_preview",
                       "tokens": {"input", "output"}, "cost", "duration_ms"}]}

``legacy_records`` converts those interactions to our stored shape. Missing fields get
defaults; a cost written by ``bc`` as a string such as ``".000048"`` is accepted. Each
converted record gets an id derived from its content, so converting or importing the
same data twice yields the same ids (and therefore adds nothing the second time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ai_orchestrator.errors import InvalidInput
from ai_orchestrator.store.names import SessionName
from ai_orchestrator.store.records import content_id, normalize_interaction


def _number(value: object) -> object:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


def is_legacy_interaction(item: Mapping[str, Any]) -> bool:
    """True for the shell version's record shape (no id, no schema_version)."""
    return "schema_version" not in item and "id" not in item


def convert_legacy_interaction(
    item: Mapping[str, Any], session: SessionName, agent_session_id: str | None
) -> dict[str, Any]:
    """One shell-version interaction in our shape; raises ``InvalidInput`` if unusable."""
    tokens = item.get("tokens") or {}
    if not isinstance(tokens, Mapping):
        raise InvalidInput("legacy interaction 'tokens' must be an object")
    record: dict[str, Any] = {
        "id": content_id(item),
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


def legacy_records(
    metadata: Mapping[str, Any], session: SessionName
) -> tuple[list[dict[str, Any]], int]:
    """Converted interactions of a shell-version metadata object and how many were unusable."""
    sid = metadata.get("session_id")
    agent_session_id = sid if isinstance(sid, str) else None
    records, bad = [], 0
    for item in metadata.get("interactions") or []:
        if not isinstance(item, Mapping):
            bad += 1
            continue
        try:
            records.append(convert_legacy_interaction(item, session, agent_session_id))
        except InvalidInput:
            bad += 1
    return records, bad

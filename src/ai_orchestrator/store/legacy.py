"""Reading and converting what the earlier shell version (``ai-session.sh``) wrote.

That version kept every interaction inside ``metadata.json``::

    {"created_at", "last_used", "session_id", "command": "claude", "session_name",
     "interactions": [{"timestamp", "model", "prompt_preview",
                       "tokens": {"input", "output"}, "cost", "duration_ms"}]}

Without jq it wrote only the five top-level keys (no ``interactions``); ``bc`` wrote
costs below 1 without the leading zero (``"cost": .000048``), which strict JSON parsers
refuse. Both are recognised as the shell version's (``parse_legacy_metadata``): an object
without ``schema_version`` that has ``interactions`` or ``session_id``.

**Which record is which** (``interaction_shape``), for imports and migration alike. A record
is *ours* if it has ``id`` or ``schema_version``; else it is the *shell version's* if every
field is one the shell wrote (``SHELL_INTERACTION_KEYS``, ``tokens`` with only ``input`` and
``output``); else it is ours (id-less) if every field is one aio writes
(``core.interaction.INTERACTION_FIELDS``); anything else fits neither and is refused, naming the
unknown fields. So a record is never converted as the shell's while dropping fields, and a
record of ours keeps every field (including ``session_name``, which must then name the
session it is imported into).

**Names** (``legacy_session_name``). The shell sanitised any ``--session-name`` into
``[A-Za-z0-9._-]{1,100}`` (``is_shell_name``), so many of its sessions are not
``<command>-<feature-id>``. Such a session is carried over as
``legacy-<slug>-<hash>``: ``slug`` is the name lowercased with every run of other
characters replaced by one hyphen (trimmed, at most 55 characters), ``hash`` the first 8 hex
digits of the SHA-256 of the exact original name. The mapping depends on the name alone (a
re-import or re-run lands in the same session) and two different names never share a
target (the hash); the original is kept as ``legacy_name`` in the summary and on every
converted record.

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

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.interaction import INTERACTION_FIELDS, Interaction
from ai_orchestrator.core.names import SessionName, is_session_name, session_name
from ai_orchestrator.core.schema import SCHEMA_KEY
from ai_orchestrator.infra.fsutil import atomic_write, read_bytes
from ai_orchestrator.store.legacy_format import parse_legacy_metadata
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
from ai_orchestrator.store.records import content_ids, normalize_interaction, serialize

SHELL_INTERACTION_KEYS = frozenset(
    {"timestamp", "model", "prompt_preview", "tokens", "cost", "duration_ms"}
)
SHELL_TOKEN_KEYS = frozenset({"input", "output"})
SHELL_NAME_RULE = "1-100 characters from A-Z, a-z, 0-9, '.', '_' and '-'"
_SHELL_NAME = re.compile(r"\A[A-Za-z0-9._-]{1,100}\Z")
LEGACY_COMMAND = "legacy"
_SLUG_CHARS = 55  # 55 + "-" + 8 hex digits = the 64 characters a feature id may have


def _number(value: object) -> object:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


def interaction_shape(item: Mapping[str, Any]) -> str:
    """``"ours"`` or ``"shell"`` (see the module docstring); ``InvalidInput`` for a record
    that fits neither, naming the fields no known shape has."""
    if "id" in item or SCHEMA_KEY in item:
        return "ours"
    keys = set(item)
    tokens = item.get("tokens")
    shell_tokens = tokens is None or (
        isinstance(tokens, Mapping) and set(tokens) <= SHELL_TOKEN_KEYS
    )
    if keys <= SHELL_INTERACTION_KEYS and shell_tokens:
        return "shell"
    unknown = sorted(str(k) for k in keys - INTERACTION_FIELDS)
    if not unknown:
        return "ours"
    shown = ", ".join(repr(k) for k in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
    raise InvalidInput(
        f"record fits neither aio's interaction format nor the shell version's "
        f"({', '.join(sorted(SHELL_INTERACTION_KEYS))}): unknown field(s) {shown}"
    )


def is_shell_name(name: object) -> bool:
    """A name the shell version's sanitiser could have produced."""
    return isinstance(name, str) and _SHELL_NAME.match(name) is not None


def legacy_session_name(original: str) -> SessionName:
    """The valid name a shell-version session called ``original`` is carried over as."""
    import hashlib  # lazily: only conversions need it

    digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", original.lower()).strip("-")[:_SLUG_CHARS].strip("-")
    return session_name(LEGACY_COMMAND, f"{slug}-{digest}" if slug else digest)


def convert_legacy_interaction(
    item: Mapping[str, Any],
    session: SessionName,
    agent_session_id: str | None,
    record_id: str,
    legacy_name: str | None = None,
) -> Interaction:
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
    if legacy_name is not None:
        record["legacy_name"] = legacy_name
    return normalize_interaction(record, session)


def carried_name(renamed_from: str | None) -> str | None:
    """The ``legacy_name`` to keep for a session renamed from ``renamed_from``: only a
    name that is not valid here (a shell-version one) is worth remembering."""
    return renamed_from if renamed_from and not is_session_name(renamed_from) else None


def convert_record(
    item: Mapping[str, Any],
    session: SessionName,
    agent_session_id: str | None,
    derived_id: str,
    renamed_from: str | None = None,
) -> Interaction:
    """Any importable record (ours or the shell's, ``interaction_shape``) in our stored
    shape for ``session``; ``derived_id`` is used when the record has no id. A session
    carried over from the name ``renamed_from`` accepts records naming that session.
    ``InvalidInput`` otherwise (also for a record naming any other session)."""
    legacy_name = carried_name(renamed_from)
    if interaction_shape(item) == "shell":
        return convert_legacy_interaction(item, session, agent_session_id, derived_id, legacy_name)
    record = dict(item)
    if record.get("id") is None:
        record["id"] = derived_id
    if renamed_from is not None and record.get("session_name") == renamed_from:
        for bound in ("session_name", "command", "feature_id"):
            record.pop(bound, None)  # they name the session it is carried over from
    if legacy_name is not None:
        record.setdefault("legacy_name", legacy_name)
    return normalize_interaction(record, session)


def legacy_session_id(metadata: Mapping[str, Any]) -> str | None:
    sid = metadata.get("session_id")
    return sid if isinstance(sid, str) and sid else None


def legacy_records(
    metadata: Mapping[str, Any], session: SessionName, renamed_from: str | None = None
) -> tuple[list[Interaction], list[object]]:
    """Converted interactions of a shell-version metadata object, and the unusable ones
    (records that fit no known shape among them: kept aside, never half-converted)."""
    agent_session_id = legacy_session_id(metadata)
    items = metadata.get("interactions") or []
    if not isinstance(items, list):
        return [], [items]
    usable = [item for item in items if isinstance(item, Mapping)]
    bad: list[object] = [item for item in items if not isinstance(item, Mapping)]
    records = []
    for item, record_id in zip(usable, content_ids(usable), strict=True):
        try:
            records.append(convert_record(item, session, agent_session_id, record_id, renamed_from))
        except InvalidInput:
            bad.append(item)
    return records, bad


def legacy_base(metadata: Mapping[str, Any], legacy_name: str | None = None) -> dict[str, Any]:
    """Carried fields of a shell-version session (it only ever ran claude)."""
    sid = legacy_session_id(metadata)
    base: dict[str, Any] = {"agent": "claude", "agent_session_id": sid} if sid else {}
    if legacy_name is not None:
        base["legacy_name"] = legacy_name
    return base


def legacy_created(metadata: Mapping[str, Any]) -> str | None:
    created = metadata.get("created_at")
    return created if isinstance(created, str) else None


@dataclass
class Migrated:
    converted: int
    unusable: int
    summary: dict[str, Any]


def quarantine_unusable(path: Path, items: list[object]) -> None:
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
        quarantine_unusable(path, bad)
    log = read_bytes(path / LOG) or b""
    known = {r.id for r in parse_log(log, session).records}
    new = [r for r in records if r.id not in known]
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

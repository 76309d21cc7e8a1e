"""Export, import and in-place migration of the session store.

Export format (JSON): an array of session objects; each has ``schema_version``,
``session_name``, the summary fields and ``interactions[]`` (every record, each with a
numeric ``cost``), so ``export | jq '[.[].interactions[].cost] | add'`` works. CSV
export is one row per interaction (for spreadsheets; not importable).

Import accepts that format, a single session object, and the earlier shell version's
export (sessions whose interactions have ``timestamp, model, prompt_preview,
tokens{input,output}, cost, duration_ms``). The whole input is validated before the
store is touched: one bad session or record refuses the import (``InvalidInput``).
Records are deduplicated by id (id-less records get an id derived from their content
and occurrence), so importing the same file twice adds nothing. A session's
``created_at`` is restored (the earlier of the store's and the file's), so an exported
session without interactions comes back as it was.

``migrate_store`` converts sessions written by the shell version (interactions inside
``metadata.json``) in place, keeping ``metadata.legacy.json`` as a backup (see
``legacy.migrate_locked``); interactions it cannot convert are kept in
``interactions.corrupt.jsonl`` and counted in the report.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ai_orchestrator import SCHEMA_VERSION
from ai_orchestrator.errors import AioError, InvalidInput
from ai_orchestrator.store.fsutil import read_bytes
from ai_orchestrator.store.legacy import (
    convert_legacy_interaction,
    is_legacy_interaction,
    parse_legacy_metadata,
)
from ai_orchestrator.store.logfile import METADATA
from ai_orchestrator.store.names import is_session_name, parse_session_name
from ai_orchestrator.store.records import content_ids, normalize_interaction
from ai_orchestrator.store.session_store import SessionStore, SessionView
from ai_orchestrator.store.summary import last_activity
from ai_orchestrator.store.timeutil import format_iso, parse_iso, within_days

# State of this machine's files, not of the session: never exported.
_LOCAL_FIELDS = ("log_size", "corrupt_lines", "torn_tail")
CSV_COLUMNS = (
    "session_name",
    "command",
    "feature_id",
    "id",
    "timestamp",
    "agent",
    "model",
    "task_id",
    "outcome",
    "input",
    "output",
    "cache_read",
    "cache_write",
    "reasoning",
    "cost",
    "cost_source",
    "duration_ms",
    "prompt_preview",
)


def _export_object(store: SessionStore, view: SessionView) -> dict[str, Any]:
    obj = {k: v for k, v in view.summary.items() if k not in _LOCAL_FIELDS}
    obj["schema_version"] = SCHEMA_VERSION
    obj["session_name"] = view.name
    obj["interactions"] = store.read_log(view.name).records
    return obj


def iter_export(
    store: SessionStore,
    *,
    active_days: float | None = None,
    unreadable: list[tuple[str, str]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Session objects in name order (only those used within ``active_days`` if given).

    A session that cannot be read is not exported; ``(name, error)`` is appended to
    ``unreadable`` so the caller can say so (an export must never shrink silently).
    """
    for item in store.iter_views():
        if not isinstance(item, SessionView):
            if unreadable is not None:
                unreadable.append(item)
            continue
        if active_days is not None and not within_days(last_activity(item.summary), active_days):
            continue
        try:
            obj = _export_object(store, item)
        except (AioError, OSError, ValueError) as exc:
            if unreadable is not None:
                unreadable.append((item.name, str(exc)))
            continue
        yield obj


def write_json_export(objects: Iterator[dict[str, Any]], out: IO[str]) -> int:
    """Stream a JSON array to ``out`` one session at a time; return the session count."""
    count = 0
    out.write("[")
    for obj in objects:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(obj, ensure_ascii=False, indent=2))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write_csv_export(objects: Iterator[dict[str, Any]], out: IO[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for obj in objects:
        count += 1
        for record in obj["interactions"]:
            tokens = record.get("tokens", {})
            row = dict(record, **{k: tokens.get(k, 0) for k in tokens})
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in CSV_COLUMNS])
    return count


# ----------------------------------------------------------------------------- import


@dataclass
class ImportPlan:
    """Validated import content: records per session, ready to append."""

    sessions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    created_at: dict[str, str] = field(default_factory=dict)  # earliest known, per session


@dataclass
class ImportReport:
    sessions: int = 0
    created: int = 0
    added: int = 0
    skipped: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "schema_version": SCHEMA_VERSION,
            "sessions": self.sessions,
            "sessions_created": self.created,
            "interactions_added": self.added,
            "interactions_already_present": self.skipped,
        }


def _session_records(obj: Mapping[str, Any], index: int) -> tuple[str, list[dict[str, Any]]]:
    name = obj.get("session_name")
    where = f"session #{index + 1}"
    if not isinstance(name, str):
        raise InvalidInput(f"{where}: 'session_name' is missing or not a string")
    try:
        session = parse_session_name(name)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    raw = obj.get("interactions", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise InvalidInput(f"{where} ({name}): 'interactions' must be an array")
    sid = obj.get("agent_session_id", obj.get("session_id"))
    agent_session_id = sid if isinstance(sid, str) and sid else None
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            raise InvalidInput(f"{where} ({name}), interaction #{number}: not a JSON object")
    # Records without an id get one from their content and occurrence: importing the
    # same file twice adds nothing, and two identical calls are still two.
    derived = iter(content_ids([item for item in raw if item.get("id") is None]))
    records = []
    for number, item in enumerate(raw, start=1):
        try:
            if is_legacy_interaction(item):
                records.append(
                    convert_legacy_interaction(item, session, agent_session_id, next(derived))
                )
            else:
                if item.get("id") is None:
                    item = {**item, "id": next(derived)}
                records.append(normalize_interaction(item, session))
        except InvalidInput as exc:
            raise InvalidInput(f"{where} ({name}), interaction #{number}: {exc}") from None
    return session.name, records


def plan_import(data: bytes | str) -> ImportPlan:
    """Parse and validate an export; raises ``InvalidInput`` without side effects."""
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"import file is not valid JSON: {exc}") from None
    if isinstance(parsed, Mapping):
        parsed = [parsed]
    if not isinstance(parsed, list):
        raise InvalidInput("import file must hold a JSON array of session objects")
    plan = ImportPlan()
    for index, obj in enumerate(parsed):
        if not isinstance(obj, Mapping):
            raise InvalidInput(f"session #{index + 1}: not a JSON object")
        name, records = _session_records(obj, index)
        plan.sessions.setdefault(name, []).extend(records)
        created = parse_iso(obj.get("created_at"))
        if created is not None:
            stamp = format_iso(created)
            plan.created_at[name] = min(stamp, plan.created_at.get(name, stamp))
    return plan


def apply_import(store: SessionStore, plan: ImportPlan) -> ImportReport:
    report = ImportReport(sessions=len(plan.sessions))
    for name, records in plan.sessions.items():
        existed = store.exists(name)
        added = store.record_unique(name, records, created_at=plan.created_at.get(name))
        report.created += 0 if existed else 1
        report.added += added
        report.skipped += len(records) - added
    return report


# ---------------------------------------------------------------------------- migrate


@dataclass
class MigrationReport:
    migrated: list[dict[str, Any]] = field(default_factory=list)
    already_current: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "migrated": [m["session_name"] for m in self.migrated],
            "sessions": self.migrated,
            "unusable_interactions": sum(m["unusable"] for m in self.migrated),
            "already_current": self.already_current,
            "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
        }


def _is_legacy_dir(path: Path) -> bool:
    data = read_bytes(path / METADATA)
    return data is not None and parse_legacy_metadata(data) is not None


def migrate_store(store: SessionStore) -> MigrationReport:
    """Convert every shell-version session in place (backups kept); report each one,
    with how many of its interactions could not be converted (kept, not dropped)."""
    report = MigrationReport()
    if not store.check_root():
        return report
    with os.scandir(store.root) as entries:
        names = sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
    for name in names:
        if name.startswith("."):
            continue
        if not is_session_name(name):
            if _is_legacy_dir(store.root / name):
                report.skipped.append(
                    (name, "not a valid session name (<command>-<feature-id>); rename it first")
                )
            continue
        try:
            migrated = store.migrate(name)
        except (AioError, OSError) as exc:
            report.skipped.append((name, str(exc)))
            continue
        if migrated is not None:
            report.migrated.append(migrated)
        else:
            report.already_current += 1
    return report


def export_text(store: SessionStore, fmt: str = "json", active_days: float | None = None) -> str:
    """The whole export as a string (convenience for tests and small stores)."""
    buffer = io.StringIO()
    objects = iter_export(store, active_days=active_days)
    if fmt == "csv":
        write_csv_export(objects, buffer)
    else:
        write_json_export(objects, buffer)
    return buffer.getvalue()

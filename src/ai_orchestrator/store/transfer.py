"""Export, import and in-place migration of the session store.

Export format (JSON): an array of session objects; each has ``schema_version``,
``session_name``, the summary fields and ``interactions[]`` (every record, each with a
numeric ``cost``), so ``export | jq '[.[].interactions[].cost] | add'`` works. CSV
export is one row per interaction (for spreadsheets; not importable).

Import accepts that format, a single session object, and the earlier shell version's
export (sessions whose interactions have ``timestamp, model, prompt_preview,
tokens{input,output}, cost, duration_ms``). The whole input is validated before the
store is touched: one bad session or record refuses the import (``InvalidInput``).
Records are deduplicated by id (id-less records get an id derived from their content),
so importing the same file twice adds nothing.

``migrate_store`` converts sessions written by the shell version (interactions inside
``metadata.json``) in place, keeping ``metadata.legacy.json`` as a backup. Each step is
an atomic file replacement, and a rerun after a crash converges to the same result.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from ai_orchestrator import SCHEMA_VERSION
from ai_orchestrator.errors import InvalidInput
from ai_orchestrator.store import locks
from ai_orchestrator.store.fsutil import atomic_write, read_bytes
from ai_orchestrator.store.legacy import (
    convert_legacy_interaction,
    is_legacy_interaction,
    legacy_records,
)
from ai_orchestrator.store.names import SessionName, is_session_name, parse_session_name
from ai_orchestrator.store.records import build_summary, normalize_interaction, serialize
from ai_orchestrator.store.session_store import (
    LOG,
    METADATA,
    SessionStore,
    SessionView,
    write_summary,
)
from ai_orchestrator.store.timeutil import parse_iso

_LOCAL_FIELDS = ("log_size", "corrupt_lines", "path")
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


def last_activity(summary: Mapping[str, Any]) -> datetime | None:
    return parse_iso(summary.get("last_used")) or parse_iso(summary.get("created_at"))


def is_active(summary: Mapping[str, Any], days: float, now: datetime | None = None) -> bool:
    """Used within the last ``days`` days."""
    moment = last_activity(summary)
    if moment is None:
        return False
    now = now or datetime.now(UTC)
    return now - moment < timedelta(days=days)


def _export_object(store: SessionStore, view: SessionView) -> dict[str, Any]:
    obj = {k: v for k, v in view.summary.items() if k not in _LOCAL_FIELDS}
    obj["schema_version"] = SCHEMA_VERSION
    obj["session_name"] = view.name
    obj["interactions"] = store.read_log(view.name).records
    return obj


def iter_export(
    store: SessionStore, *, active_days: float | None = None
) -> Iterator[dict[str, Any]]:
    """Session objects in name order (only those used within ``active_days`` if given)."""
    for item in store.iter_views():
        if not isinstance(item, SessionView):
            continue
        if active_days is not None and not is_active(item.summary, active_days):
            continue
        yield _export_object(store, item)


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


@dataclass
class ImportReport:
    sessions: int = 0
    created: int = 0
    added: int = 0
    skipped: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
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
    records = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            raise InvalidInput(f"{where} ({name}), interaction #{number}: not a JSON object")
        try:
            if is_legacy_interaction(item):
                records.append(convert_legacy_interaction(item, session, agent_session_id))
            else:
                records.append(normalize_interaction(item, session))
        except InvalidInput as exc:
            raise InvalidInput(f"{where} ({name}), interaction #{number}: {exc}") from None
    return session.name, records


def plan_import(data: bytes | str) -> ImportPlan:
    """Parse and validate an export; raises ``InvalidInput`` without side effects."""
    try:
        parsed = json.loads(data)
    except ValueError as exc:
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
    return plan


def apply_import(store: SessionStore, plan: ImportPlan) -> ImportReport:
    report = ImportReport(sessions=len(plan.sessions))
    for name, records in plan.sessions.items():
        existed = store.exists(name)
        added = store.record_unique(name, records)
        report.created += 0 if existed else 1
        report.added += added
        report.skipped += len(records) - added
    return report


# ---------------------------------------------------------------------------- migrate


@dataclass
class MigrationReport:
    migrated: list[str] = field(default_factory=list)
    already_current: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "migrated": self.migrated,
            "already_current": self.already_current,
            "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
        }


def _legacy_metadata(path: Path) -> dict[str, Any] | None:
    data = read_bytes(path)
    if data is None:
        return None
    try:
        obj = json.loads(data)
    except ValueError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("interactions"), list):
        return obj
    return None


def migrate_session(store: SessionStore, session: SessionName) -> bool:
    """Convert one shell-version session in place; False if it was already current."""
    path = store.path_of(session)
    with locks.locked(path / locks.WRITE_LOCK, timeout=None):
        legacy = _legacy_metadata(path / METADATA)
        if legacy is None:
            return False
        backup = path / "metadata.legacy.json"
        if not backup.exists():
            atomic_write(backup, read_bytes(path / METADATA) or b"")
        records, _bad = legacy_records(legacy, session)
        log = b"".join(serialize(r) for r in records)
        atomic_write(path / LOG, log)
        created = legacy.get("created_at") if isinstance(legacy.get("created_at"), str) else None
        summary = build_summary(session, records, created)
        summary["log_size"] = len(log)
        write_summary(path, summary)
    store.repair(session.name)  # tightens modes (the shell version left .lock at 0644)
    return True


def migrate_store(store: SessionStore) -> MigrationReport:
    report = MigrationReport()
    if not store.check_root():
        return report
    with os.scandir(store.root) as entries:
        names = sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
    for name in names:
        if name.startswith("."):
            continue
        if not is_session_name(name):
            if _legacy_metadata(store.root / name / METADATA) is not None:
                report.skipped.append(
                    (name, "not a valid session name (<command>-<feature-id>); rename it first")
                )
            continue
        if migrate_session(store, parse_session_name(name)):
            report.migrated.append(name)
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

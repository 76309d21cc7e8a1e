"""Export of the session store: every session, with all its interactions, as JSON or CSV.

Export format (JSON): an array of session objects; each has ``schema_version``,
``session_name``, the summary fields and ``interactions[]`` (every record, each with a
numeric ``cost``), then each session template as ``{"template": {...}, "interactions": []}``,
so ``export | jq '[.[].interactions[].cost] | add'`` works; ``aio
session import`` reads it back, every field included (``transfer``). CSV export is one row
per interaction (for spreadsheets; not importable); a text cell that a spreadsheet would
run as a formula gets a leading ``'`` (``csv_cell``, OWASP's CSV-injection rule).

Nothing is left out silently: a session that cannot be read is named (``unreadable``), and
a shell-version session whose name is not valid (not migrated yet, ``transfer.stray_sessions``)
is exported as ``migrate`` would carry it over (its new name, ``legacy_name`` kept).
``check_export_target`` refuses a target inside the store (resolved: symlinks and ``..``),
where the export would replace a store file without its lock.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ai_orchestrator import SCHEMA_VERSION
from ai_orchestrator.core.errors import AioError, InvalidInput
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.core.schema import SCHEMA_KEY
from ai_orchestrator.infra.timeutil import within_days
from ai_orchestrator.store.session_store import SessionStore, SessionView
from ai_orchestrator.store.templates import TemplateStore
from ai_orchestrator.store.transfer import stray_sessions

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


def _export_object(view: SessionView, records: list[Interaction]) -> dict[str, Any]:
    obj = {k: v for k, v in view.summary.to_json().items() if k not in _LOCAL_FIELDS}
    obj[SCHEMA_KEY] = SCHEMA_VERSION
    obj["session_name"] = view.name
    obj["interactions"] = [record.to_json() for record in records]
    return obj


def export_session(store: SessionStore, name: str) -> dict[str, Any]:
    """One session's export object (what ``aio session export`` writes for it), read
    without repairing: the caller may hold its locks (the retention archive)."""
    view = store.load(name, repair=False)
    return _export_object(view, store.read_log(name).records)


def iter_export(
    store: SessionStore,
    *,
    active_days: float | None = None,
    unreadable: list[tuple[str, str]] | None = None,
    templates: bool = True,
) -> Iterator[dict[str, Any]]:
    """Session objects in name order, then the shell-version sessions not migrated yet
    (only those used within ``active_days`` if given), then (``templates``) every session
    template as ``{"template": {...}, "interactions": []}`` (``store.templates``; the CSV
    writer skips them).

    A session that cannot be read is not exported; ``(name, error)`` is appended to
    ``unreadable`` so the caller can say so (an export must never shrink silently).
    """
    for item in store.iter_views():
        if not isinstance(item, SessionView):
            if unreadable is not None:
                unreadable.append(item)
            continue
        if active_days is not None and not within_days(item.summary.last_activity, active_days):
            continue
        try:
            obj = _export_object(item, store.read_log(item.name).records)
        except (AioError, OSError, ValueError) as exc:
            if unreadable is not None:
                unreadable.append((item.name, str(exc)))
            continue
        yield obj
    for stray in stray_sessions(store):
        view = stray.view(store.root)
        if active_days is None or within_days(view.summary.last_activity, active_days):
            yield _export_object(view, stray.records)
    if templates:
        kept = TemplateStore(store.root)
        for name in kept.names():
            try:
                # ``interactions: []`` keeps ``jq '[.[].interactions[].cost]'`` working
                yield {"template": kept.load(name), "interactions": []}
            except (AioError, OSError) as exc:
                if unreadable is not None:
                    unreadable.append((f"template {name}", str(exc)))


def write_json_export(objects: Iterator[dict[str, Any]], out: IO[str]) -> int:
    """Stream a JSON array to ``out`` one session at a time; return the session count
    (templates are written, not counted)."""
    count = written = 0
    out.write("[")
    for obj in objects:
        out.write(",\n" if written else "\n")
        out.write(json.dumps(obj, ensure_ascii=False, indent=2))
        written += 1
        count += 0 if "template" in obj else 1
    out.write("\n]\n" if written else "]\n")
    return count


# OWASP's CSV-injection rule: a cell starting with one of these is read as a formula by
# spreadsheets (``=HYPERLINK(…)``, ``@SUM(…)``, ``-2+3``); a leading ``'`` makes it text.
# Tab and CR are in OWASP's list; LF and NUL are added as ASVS 5 (1.2.10) and some
# spreadsheets strip a leading one before judging the rest.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def csv_cell(value: object) -> object:
    """One CSV cell: ``None`` empty, text neutralised (``FORMULA_STARTS``), numbers kept."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if not isinstance(value, str | int | float):
        return csv_cell(json.dumps(value, ensure_ascii=False))
    return value


def write_csv_export(objects: Iterator[dict[str, Any]], out: IO[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for obj in objects:
        if "template" in obj:
            continue  # a template has no interactions: the JSON export carries it
        count += 1
        for record in obj["interactions"]:
            tokens = record.get("tokens", {})
            row = dict(record, **{k: tokens.get(k, 0) for k in tokens})
            writer.writerow([csv_cell(row.get(c)) for c in CSV_COLUMNS])
    return count


def check_export_target(store: SessionStore, target: Path) -> None:
    """``InvalidInput`` when ``target`` (symlinks and ``..`` resolved) is inside the store:
    an export written there would replace a store file without its lock."""
    try:
        resolved = target.resolve()
        root = store.root.resolve()
    except (RuntimeError, OSError) as exc:
        raise InvalidInput(f"cannot write the export to {target}: {exc}") from None
    if resolved == root or root in resolved.parents:
        raise InvalidInput(
            f"refusing to write the export to {target}: it is inside the session store "
            f"{store.root} (choose a path outside SESSION_DIR)"
        )


def export_text(store: SessionStore, fmt: str = "json", active_days: float | None = None) -> str:
    """The whole export as a string (convenience for tests and small stores)."""
    buffer = io.StringIO()
    objects = iter_export(store, active_days=active_days)
    if fmt == "csv":
        write_csv_export(objects, buffer)
    else:
        write_json_export(objects, buffer)
    return buffer.getvalue()

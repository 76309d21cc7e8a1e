"""Import and in-place migration of the session store (export: ``store.export``).

Import accepts the export format, a single session object, and the earlier shell version's
export (sessions whose interactions have ``timestamp, model, prompt_preview,
tokens{input,output}, cost, duration_ms``). Which record is which is decided by its shape
alone (``legacy.interaction_shape``): nothing known is dropped, a record that fits no shape
or names another session is refused, as is a session object (ours) whose ``command`` or
``feature_id`` contradicts its ``session_name``. A shell-version session (no
``schema_version``) whose name is not valid here is imported as
``legacy.legacy_session_name(name)`` (or as given by ``--rename OLD=NEW``), keeping
``legacy_name``. The whole input is validated before the store is touched, as the store
would check it (every record validated, redacted, encoded and within
``core.limits.MAX_RECORD_BYTES``, every session's summary folded and encoded): one bad
session or record refuses the import (``InvalidInput``) and nothing is written. A
session's carried fields (``summary.CARRIED_FIELDS``: agent, conversation id, working
directory, backend state, model, ``legacy_name``) are restored where the store has none,
so a session without interactions round-trips too.
Records are deduplicated by id (id-less records get an id derived from their content
and occurrence), so importing the same file twice adds nothing. A session's
``created_at`` is restored (the earlier of the store's and the file's), so an exported
session without interactions comes back as it was.

``migrate_store`` converts sessions written by the shell version (interactions inside
``metadata.json``) in place, keeping ``metadata.legacy.json`` as a backup (see
``legacy.migrate_locked``); interactions it cannot convert are kept in
``interactions.corrupt.jsonl`` and counted in the report. A shell-version directory whose
name is not valid (including a dot-directory such as ``.notes``, and the store's root,
where the shell's ``--session-name .`` wrote, named ``.``) is carried over to its mapped (or
``--rename``d) name: copied with its backup, then removed (``_adopt``; at the root only the
shell's ``metadata.json`` and ``.lock``; a carry-over that fails part-way removes the target
it created, so a rerun completes it). ``stray_sessions`` finds such sessions (not
migrated yet): ``list`` names them (``legacy_strays``), ``stats`` and ``export`` include
them under the name ``migrate`` will give them.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_orchestrator.core.errors import AioError, InvalidInput, SessionBusy, TemplateExists
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.core.limits import MAX_IMPORT_BYTES, check_size
from ai_orchestrator.core.names import (
    SessionName,
    is_session_name,
    parse_session_name,
    validate_id,
)
from ai_orchestrator.core.schema import SCHEMA_KEY, versioned
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import atomic_write, read_bytes
from ai_orchestrator.infra.timeutil import format_iso, parse_iso
from ai_orchestrator.store.discovery import Discovery
from ai_orchestrator.store.legacy import (
    SHELL_NAME_RULE,
    carried_name,
    convert_record,
    interaction_shape,
    is_shell_name,
    legacy_base,
    legacy_created,
    legacy_records,
    legacy_session_name,
    quarantine_unusable,
)
from ai_orchestrator.store.legacy_format import parse_legacy_metadata
from ai_orchestrator.store.lifecycle import delete_session, migrate_session
from ai_orchestrator.store.logfile import LEGACY_BACKUP, METADATA, fallback_created, summary_bytes
from ai_orchestrator.store.maintenance import fix_modes
from ai_orchestrator.store.records import check_record_size, content_ids, stored_form
from ai_orchestrator.store.session_store import SessionStore, SessionView
from ai_orchestrator.store.summary import SessionSummary, build_summary, carried
from ai_orchestrator.store.templates import TemplateStore, check_template, same_template
from ai_orchestrator.store.trash import empty_trash, to_trash

# ----------------------------------------------------------------------------- import


@dataclass
class ImportPlan:
    """Validated import content: records per session, ready to append."""

    sessions: dict[str, list[Interaction]] = field(default_factory=dict)
    created_at: dict[str, str] = field(default_factory=dict)  # earliest known, per session
    renamed: dict[str, str] = field(default_factory=dict)  # target -> name in the file
    explicit: dict[str, bool] = field(default_factory=dict)  # target came from --rename
    base: dict[str, dict[str, Any]] = field(default_factory=dict)  # carried fields
    templates: list[dict[str, Any]] = field(default_factory=list)  # ``{"template": …}``


@dataclass
class ImportReport:
    sessions: int = 0
    created: int = 0
    added: int = 0
    skipped: int = 0
    renamed: dict[str, str] = field(default_factory=dict)  # name in the file -> stored as
    templates_added: list[str] = field(default_factory=list)
    templates_present: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        templates = {}
        if self.templates_added or self.templates_present:  # only an export that had any
            templates = {
                "templates_added": self.templates_added,
                "templates_already_present": self.templates_present,
            }
        return versioned({
            "sessions": self.sessions,
            "sessions_created": self.created,
            "interactions_added": self.added,
            "interactions_already_present": self.skipped,
            "renamed": [{"legacy_name": k, "session_name": v} for k, v in self.renamed.items()],
            **templates,
        })


def parse_renames(pairs: Iterable[str]) -> dict[str, str]:
    """``OLD=NEW`` pairs as a mapping; ``InvalidInput`` for a malformed pair, an invalid
    NEW or an OLD given twice."""
    renames: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old:
            raise InvalidInput(f"--rename {pair!r}: use OLD=NEW")
        try:
            parse_session_name(new)
        except InvalidInput as exc:
            raise InvalidInput(f"--rename {pair!r}: {exc}") from None
        if old in renames and renames[old] != new:
            raise InvalidInput(f"--rename: {old!r} is renamed twice")
        renames[old] = new
    return renames


def target_name(
    name: object, shell: bool, renames: Mapping[str, str], where: str
) -> tuple[SessionName, str | None]:
    """Where a session called ``name`` goes, and ``name`` if that is another name.

    An explicit rename wins; a valid name stays; a shell-version session (``shell``) with
    a name its sanitiser could produce gets ``legacy_session_name``; anything else is
    ``InvalidInput``.
    """
    if not isinstance(name, str):
        raise InvalidInput(f"{where}: 'session_name' is missing or not a string")
    if name in renames:
        return parse_session_name(renames[name]), name
    if is_session_name(name):
        return parse_session_name(name), None
    if shell and is_shell_name(name):
        return legacy_session_name(name), name
    rule = f" (a shell-version name is {SHELL_NAME_RULE})" if shell else ""
    try:
        parse_session_name(name)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}{rule}; or give --rename OLD=NEW") from None
    raise AssertionError("unreachable: is_session_name and parse_session_name disagree")


def _session_records(
    obj: Mapping[str, Any], index: int, renames: Mapping[str, str]
) -> tuple[SessionName, str | None, list[Interaction]]:
    where = f"session #{index + 1}"
    # Our exports carry schema_version on every session object; the shell's never did.
    shell = SCHEMA_KEY not in obj
    session, renamed_from = target_name(obj.get("session_name"), shell, renames, where)
    name = obj.get("session_name")
    # The shell's "command" was the agent CLI; an object with feature_id is ours anyway.
    if (not shell or "feature_id" in obj) and isinstance(name, str) and is_session_name(name):
        named = parse_session_name(name)  # the name in the file, before any --rename
        for key, value in (("command", named.command), ("feature_id", named.feature_id)):
            if key in obj and obj[key] != value:
                raise InvalidInput(
                    f"{where} ({name}): {key} {obj[key]!r} contradicts its session_name"
                )
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
        record_id = next(derived) if item.get("id") is None else ""
        try:
            if not shell and interaction_shape(item) == "shell":
                raise InvalidInput(
                    "a session with schema_version holds aio's records, not the shell "
                    "version's (give them an id, or drop the session's schema_version)"
                )
            records.append(convert_record(item, session, agent_session_id, record_id, renamed_from))
        except InvalidInput as exc:
            raise InvalidInput(f"{where} ({name}), interaction #{number}: {exc}") from None
    return session, renamed_from, records


def read_import_file(path: Path) -> bytes:
    """The file to import, at most ``MAX_IMPORT_BYTES`` (``InvalidInput`` otherwise, or
    when it cannot be read)."""
    try:
        with path.open("rb") as source:
            data = source.read(MAX_IMPORT_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    check_size(len(data), MAX_IMPORT_BYTES, f"import file {path}")
    return data


def plan_import(data: bytes | str, renames: Mapping[str, str] | None = None) -> ImportPlan:
    """Parse and validate an export; raises ``InvalidInput`` without side effects.

    ``renames`` maps session names in the file to the names to import them as.
    """
    renames = renames or {}
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"import file is not valid JSON: {exc}") from None
    if isinstance(parsed, Mapping):
        parsed = [parsed]
    if not isinstance(parsed, list):
        raise InvalidInput("import file must hold a JSON array of session objects")
    plan = ImportPlan()
    used: set[str] = set()
    for index, obj in enumerate(parsed):
        if not isinstance(obj, Mapping):
            raise InvalidInput(f"session #{index + 1}: not a JSON object")
        if "template" in obj and "session_name" not in obj:  # ``export.iter_export``
            if obj.get("interactions"):
                raise InvalidInput(f"entry #{index + 1}: a template holds no interactions")
            try:
                plan.templates.append(check_template(obj["template"]))
            except InvalidInput as exc:
                raise InvalidInput(f"entry #{index + 1}: {exc}") from None
            continue
        session, renamed_from, records = _session_records(obj, index, renames)
        name = session.name
        plan.sessions.setdefault(name, []).extend(records)
        legacy_name = carried_name(renamed_from)
        if renamed_from is not None:
            used.add(renamed_from)
            plan.renamed[name] = renamed_from
            plan.explicit[name] = renamed_from in renames
        if SCHEMA_KEY not in obj:
            if legacy_name is not None:
                plan.base[name] = legacy_base(obj, legacy_name)
        else:
            base = _carried_fields(obj, f"session #{index + 1} ({obj.get('session_name')})")
            if legacy_name is not None:
                base.setdefault("legacy_name", legacy_name)
            plan.base[name] = {**base, **plan.base.get(name, {})}
        created = parse_iso(obj.get("created_at"))
        if created is not None:
            stamp = format_iso(created)
            plan.created_at[name] = min(stamp, plan.created_at.get(name, stamp))
    unused = sorted(set(renames) - used)
    if unused:
        raise InvalidInput(f"--rename: no session named {', '.join(map(repr, unused))} in the file")
    for name, records in plan.sessions.items():
        _check_storable(name, records, plan.created_at.get(name), plan.base.get(name))
    return plan


def _carried_fields(obj: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The carried fields of one of our session objects (``summary.carried``), checked:
    a conversation id follows the id rule, like every id aio stores."""
    base = carried(obj)
    sid = base.get("agent_session_id")
    if sid is not None:
        try:
            validate_id(sid, "agent_session_id")
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: {exc}") from None
    return base


def _check_storable(
    name: str, records: list[Interaction], created_at: str | None, base: Mapping[str, Any] | None
) -> None:
    """``InvalidInput`` unless the store would accept every record of session ``name`` and
    its summary (what ``SessionStore._append_locked`` checks before writing): so an import
    that fails does so before its first session is written."""
    session = parse_session_name(name)
    stored = []
    for number, record in enumerate(records, start=1):
        try:
            shown, line = stored_form(record)
            check_record_size(line)
        except InvalidInput as exc:
            raise InvalidInput(f"session {name}, interaction #{number}: {exc}") from None
        stored.append(shown)
    try:
        summary_bytes(build_summary(session, stored, created_at, base))
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as exc:
        raise InvalidInput(f"session {name} cannot be stored: {exc}") from None


def check_targets(store: SessionStore, plan: ImportPlan) -> None:
    """Refuse (``InvalidInput``, nothing written) to put a renamed shell-version session
    into an existing session that holds something else: an automatic name is taken only
    by the same shell-version session (a re-import), an explicit ``--rename`` anywhere;
    nor replace a template that holds something else (``TemplateExists``)."""
    kept = TemplateStore(store.root)
    for template in plan.templates:
        name = template["name"]
        if kept.exists(name) and not same_template(kept.load(name), template):
            raise TemplateExists(
                f"template {name!r} exists with other content; delete it first "
                "(aio template delete) or keep yours: nothing was imported",
                template=name,
            )
    for name, original in plan.renamed.items():
        if plan.explicit.get(name) or not store.exists(name):
            continue
        holder = store.load(name, repair=False).summary.legacy_name
        if holder != original:
            raise InvalidInput(
                f"shell-version session {original!r} would be imported as {name}, which "
                "already holds another session: give --rename OLD=NEW"
            )


def apply_import(store: SessionStore, plan: ImportPlan) -> ImportReport:
    check_targets(store, plan)
    report = ImportReport(sessions=len(plan.sessions))
    for name, records in plan.sessions.items():
        existed = store.exists(name)
        added = store.record_unique(
            name, records, created_at=plan.created_at.get(name), base=plan.base.get(name)
        )
        report.created += 0 if existed else 1
        report.added += added
        report.skipped += len(records) - added
        if name in plan.renamed:
            report.renamed[plan.renamed[name]] = name
    kept = TemplateStore(store.root)
    for template in plan.templates:
        if kept.exists(template["name"]):
            report.templates_present.append(template["name"])
        else:
            kept.save(template)
            report.templates_added.append(template["name"])
    return report


# ---------------------------------------------------------------------------- migrate


@dataclass
class MigrationReport:
    migrated: list[dict[str, Any]] = field(default_factory=list)
    already_current: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return versioned({
            "migrated": [m["session_name"] for m in self.migrated],
            "sessions": self.migrated,
            "unusable_interactions": sum(m["unusable"] for m in self.migrated),
            "already_current": self.already_current,
            "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
        })


def _legacy_metadata(path: Path) -> tuple[bytes, dict[str, Any]] | None:
    """The shell version's ``metadata.json`` in ``path`` (raw and parsed), else ``None``."""
    try:
        data = read_bytes(path / METADATA)
    except (AioError, OSError):
        return None
    legacy = None if data is None else parse_legacy_metadata(data)
    return None if data is None or legacy is None else (data, legacy)


# The shell version's ``--session-name .`` wrote its metadata.json at the store's root.
ROOT_SESSION = "."


def _stray_names(store: SessionStore, found: Discovery | None = None) -> list[str]:
    """Candidates for shell-version sessions with names that are not valid session names
    (sorted): those ``store.discover()`` found (``found``, if the caller has it) and
    ``ROOT_SESSION`` (the root itself). The caller keeps only those holding a
    shell-format ``metadata.json``."""
    return sorted([ROOT_SESSION, *(store.discover() if found is None else found).strays])


@dataclass(frozen=True)
class Stray:
    """A shell-version session whose name is not valid, not migrated yet: read as
    ``migrate`` would carry it over (to ``target``, keeping ``legacy_name``)."""

    legacy_name: str
    target: SessionName
    records: list[Interaction]
    unusable: int
    summary: dict[str, Any]

    def view(self, root: Path) -> SessionView:
        where = root if self.legacy_name == ROOT_SESSION else root / self.legacy_name
        problem = (
            f"not migrated: shell-version session {self.legacy_name!r} "
            "(run: aio session migrate)"
        )
        summary = SessionSummary.from_json(self.summary, self.target)
        return SessionView(self.target.name, where, summary, [problem], legacy=True)


def stray_sessions(store: SessionStore, found: Discovery | None = None) -> list[Stray]:
    """Every shell-version session whose name is not ``<command>-<feature-id>`` (name
    order): what ``list`` cannot show as sessions and ``stats``/``export`` must not leave
    out."""
    if not store.check_root():
        return []
    strays = []
    for name in _stray_names(store, found):
        legacy = _legacy_metadata(store.root / name)
        if legacy is None:
            continue
        target = legacy_session_name(name)
        records, bad = legacy_records(legacy[1], target, name)
        base = legacy_base(legacy[1], carried_name(name))
        summary = build_summary(target, records, legacy_created(legacy[1]), base)
        strays.append(Stray(name, target, records, len(bad), summary))
    return strays


def legacy_strays(store: SessionStore, found: Discovery | None = None) -> list[dict[str, Any]]:
    """``stray_sessions`` for ``list``: with the reason and what ``migrate`` makes of them."""
    return [
        {
            "legacy_name": stray.legacy_name,
            "reason": "shell-version session written at the store's root (--session-name .)"
            if stray.legacy_name == ROOT_SESSION
            else "shell-version session whose name is not <command>-<feature-id>",
            "migrates_to": stray.target.name,
            "interactions": stray.summary["interaction_count"],
            "unusable_interactions": stray.unusable,
            "cost": stray.summary["cost"],
            "last_used": stray.summary["last_used"],
        }
        for stray in stray_sessions(store, found)
    ]


def _adopt(
    store: SessionStore, name: str, target: SessionName, explicit: bool
) -> dict[str, Any] | str:
    """Carry the shell-version session in directory ``name`` over into ``target``;
    the report, or why not (a string; nothing changed then).

    Copy first, remove last: the records go in with ids from their content (a rerun after
    a crash adds nothing twice), the original ``metadata.json`` is kept byte for byte as
    the target's ``metadata.legacy.json``, and only then is the old directory removed.
    """
    source = store.root / name
    found = _legacy_metadata(source)
    if found is None:
        return "its metadata.json is no longer the shell version's"
    data, legacy = found
    if store.exists(target.name) and not explicit:
        holder = store.load(target.name, repair=False).summary.legacy_name
        if holder != name:
            return f"{target.name} already holds another session: give --rename {name}=NEW"
    try:
        source_lock = locks.acquire(
            source / locks.WRITE_LOCK, timeout=0, what=f"shell-version session {name}"
        )
    except SessionBusy as exc:
        return str(exc)
    fresh = not store.exists(target.name)
    with source_lock:
        records, bad = legacy_records(legacy, target, name)
        created = legacy_created(legacy) or fallback_created(source)
        try:
            store.record_unique(
                target.name, records, created_at=created, base=legacy_base(legacy, name)
            )
            path = store.path_of(target)
            backup = path / LEGACY_BACKUP
            if backup.exists() and read_bytes(backup) != data:
                backup = path / f"metadata.legacy.{name}.json"  # an explicit merge of two
            if not backup.exists():
                atomic_write(backup, data)
            if bad:
                quarantine_unusable(path, bad)
            fix_modes(path)
            if name == ROOT_SESSION:
                # Never move the store itself: only the shell's files of that session go.
                os.unlink(source / METADATA)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(source / locks.WRITE_LOCK)
                trash = None
            else:
                trash = to_trash(store.root, source, "legacy")
        except BaseException:
            if fresh:
                # Undo a half-done copy (the source is intact): a rerun starts afresh
                # instead of finding a target it cannot tell from another session.
                with contextlib.suppress(AioError, OSError):
                    delete_session(store, target.name)
            raise
    if trash is not None:
        empty_trash(trash, restore_to=source)
    return {
        "session_name": target.name,
        "legacy_name": name,
        "interactions": len(records),
        "unusable": len(bad),
        "backup": backup.name,
    }


def migrate_store(store: SessionStore, renames: Mapping[str, str] | None = None) -> MigrationReport:
    """Convert every shell-version session (backups kept); report each one, with how many
    of its interactions could not be converted (kept, not dropped).

    A session whose name is valid is converted in place; one whose name is not is carried
    over to ``renames[name]`` or else ``legacy_session_name(name)`` (see ``_adopt``).
    ``InvalidInput`` (nothing changed) for a rename of a directory that is not such a
    session.
    """
    renames = renames or {}
    report = MigrationReport()
    if not store.check_root():
        if renames:
            raise InvalidInput(f"--rename: no session store at {store.root}")
        return report
    strays = {
        n: legacy_session_name(n) for n in _stray_names(store) if _legacy_metadata(store.root / n)
    }
    unknown = sorted(set(renames) - set(strays))
    if unknown:
        raise InvalidInput(
            "--rename: no shell-version session with an invalid name called "
            + ", ".join(map(repr, unknown))
        )
    for name in store.names():
        try:
            migrated = migrate_session(store, name)
        except (AioError, OSError) as exc:
            report.skipped.append((name, str(exc)))
            continue
        if migrated is not None:
            report.migrated.append(migrated)
        else:
            report.already_current += 1
    for name, automatic in strays.items():
        target = parse_session_name(renames[name]) if name in renames else automatic
        try:
            adopted = _adopt(store, name, target, explicit=name in renames)
        except (AioError, OSError) as exc:
            adopted = str(exc)
        if isinstance(adopted, str):
            report.skipped.append((name, adopted))
        else:
            report.migrated.append(adopted)
    return report

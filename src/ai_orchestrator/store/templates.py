"""Session templates: one JSON file per template under ``SESSION_DIR/templates/``.

Layout: ``SESSION_DIR/templates/<name>.json`` (directory 0700, files 0600, written atomically:
a temp file then a rename, or a hard link when the name must not exist yet, so a crash leaves
the old template, the new one or none — never half of one). A name follows the feature-id rule
(``core.names.validate_template_name``), so it is one plain path component.

A template (``check_template`` is the one door; everything read or imported passes it)::

    {"schema_version": 1, "name": "py-service", "created_at": ISO,
     "description": "...", "preamble": "conventions, architecture notes",
     "phases": {"plan": {"agent": "claude", "model": "opus",
                         "permission_mode": "default", "allowed_tools": ["Read"]}, ...},
     "budget_usd": 10.0 | null,
     "seed": null | {"session": "implement-auth", "agent": "claude", "model": "sonnet",
                     "agent_session_id": ID, "cwd": "/repo", "agent_state": {},
                     "interactions": 4, "record_id": ID | null, "summary": "..."}}

``seed`` is the *seed conversation*: the conversation session ``session`` held when the
template was saved. What uses it (``workflow.phases.lineage``) forks it where the agent can,
and otherwise starts a fresh conversation primed with ``summary``. Agent names and models are
checked by the workflow when a template is saved or used; here only shapes and sizes.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ai_orchestrator.core.errors import (
    InvalidInput,
    StoreError,
    TemplateExists,
    TemplateNotFound,
)
from ai_orchestrator.core.limits import MAX_PROMPT_BYTES, MAX_TEMPLATE_BYTES, check_size
from ai_orchestrator.core.names import parse_session_name, validate_id, validate_template_name
from ai_orchestrator.core.schema import SCHEMA_KEY
from ai_orchestrator.infra.fsutil import (
    atomic_write,
    ensure_private_dir,
    file_error,
    fsync_dir,
    fsync_fd,
    open_nofollow,
    read_bytes,
    unique_suffix,
    write_all,
)
from ai_orchestrator.infra.redact import redact
from ai_orchestrator.infra.timeutil import now_iso
from ai_orchestrator.store.discovery import TEMPLATES_DIR

TEMPLATE_SCHEMA = 1
PHASE_NAMES = ("plan", "implement", "review", "verify")
PHASE_FIELDS = ("agent", "model", "permission_mode", "allowed_tools")
_TOP = (SCHEMA_KEY, "name", "created_at", "description", "preamble", "phases",
        "budget_usd", "seed")  # fmt: skip
_SEED = ("session", "agent", "model", "agent_session_id", "cwd", "agent_state", "interactions",
         "record_id", "summary")  # fmt: skip


def _bad(where: str, what: str) -> InvalidInput:
    return InvalidInput(f"template {where}: {what}")


def _text(value: object, where: str, *, limit: int = MAX_PROMPT_BYTES) -> str:
    if not isinstance(value, str):
        raise _bad(where, "must be text")
    check_size(len(value.encode("utf-8", "surrogatepass")), limit, f"template {where}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(where, "holds text that is not valid Unicode") from None
    return value


def _opt_text(value: object, where: str) -> str | None:
    return None if value is None else _text(value, where, limit=4096)


def _phases(value: object) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _bad("phases", "must be a table of phases")
    out: dict[str, dict[str, Any]] = {}
    for phase, settings in value.items():
        if phase not in PHASE_NAMES:
            raise _bad("phases", f"unknown phase {phase!r}; use {', '.join(PHASE_NAMES)}")
        if not isinstance(settings, Mapping):
            raise _bad(f"phases.{phase}", "must be a table")
        unknown = sorted(set(settings) - set(PHASE_FIELDS))
        if unknown:
            raise _bad(
                f"phases.{phase}", f"unknown key {unknown[0]!r}; use {', '.join(PHASE_FIELDS)}"
            )
        entry: dict[str, Any] = {}
        for key in ("agent", "model", "permission_mode"):
            text = _opt_text(settings.get(key), f"phases.{phase}.{key}")
            if text is not None:
                if not text.strip():
                    raise _bad(f"phases.{phase}.{key}", "is empty")
                entry[key] = text
        tools = settings.get("allowed_tools")
        if tools is not None:
            if not isinstance(tools, list) or not all(isinstance(t, str) and t for t in tools):
                raise _bad(f"phases.{phase}.allowed_tools", "must be a list of tool names")
            entry["allowed_tools"] = [_text(t, f"phases.{phase}.allowed_tools", limit=4096)
                                      for t in tools]  # fmt: skip
        out[str(phase)] = entry
    return out


def _budget(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad("budget_usd", "must be a number of USD")
    number = float(value)
    if not number == number or not 0 < number <= 1e9:  # NaN, Infinity, 0 or less
        raise _bad("budget_usd", "must be above 0 and at most 1e9 USD")
    return number


def _seed(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _bad("seed", "must be an object")
    unknown = sorted(set(value) - set(_SEED))
    if unknown:
        raise _bad("seed", f"unknown key {unknown[0]!r}")
    session = value.get("session")
    if not isinstance(session, str):
        raise _bad("seed.session", "must be a session name")
    parse_session_name(session)
    agent = _opt_text(value.get("agent"), "seed.agent")
    conversation = value.get("agent_session_id")
    if agent is None or conversation is None:
        raise _bad("seed", "names no conversation (agent and agent_session_id)")
    validate_id(conversation, "seed.agent_session_id")
    record_id = value.get("record_id")
    if record_id is not None:
        validate_id(record_id, "seed.record_id")
    state = value.get("agent_state") or {}
    if not isinstance(state, Mapping):
        raise _bad("seed.agent_state", "must be an object")
    count = value.get("interactions", 0)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 2**53:
        raise _bad("seed.interactions", "must be a count")
    return {
        "session": session,
        "agent": agent,
        "model": _opt_text(value.get("model"), "seed.model"),
        "agent_session_id": conversation,
        "cwd": _opt_text(value.get("cwd"), "seed.cwd"),
        "agent_state": dict(state),
        "interactions": count,
        "record_id": record_id,
        "summary": _text(value.get("summary") or "", "seed.summary"),
    }


def check_template(data: object, name: str | None = None) -> dict[str, Any]:
    """The template in its stored shape, or ``InvalidInput`` naming the first problem."""
    if not isinstance(data, Mapping):
        raise InvalidInput("a template must be a JSON object")
    unknown = sorted(set(data) - set(_TOP))
    if unknown:
        raise _bad("", f"unknown key {unknown[0]!r}; use {', '.join(_TOP[3:])}")
    given = data.get("name", name)
    template_name = validate_template_name(given)
    if name is not None and template_name != name:
        raise _bad(name, f"the file names template {template_name!r}")
    version = data.get(SCHEMA_KEY, TEMPLATE_SCHEMA)
    if version != TEMPLATE_SCHEMA:
        raise _bad(template_name, f"{SCHEMA_KEY} {version!r} is not {TEMPLATE_SCHEMA}")
    created = data.get("created_at") or now_iso()
    return {
        SCHEMA_KEY: TEMPLATE_SCHEMA,
        "name": template_name,
        "created_at": _text(created, "created_at", limit=64),
        "description": _text(data.get("description") or "", "description", limit=4096),
        "preamble": _text(data.get("preamble") or "", "preamble"),
        "phases": _phases(data.get("phases")),
        "budget_usd": _budget(data.get("budget_usd")),
        "seed": _seed(data.get("seed")),
    }


def same_template(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """The same template (an import of what is stored adds nothing)."""
    return bool(json.loads(template_bytes(a)) == json.loads(template_bytes(b)))


def template_bytes(template: Mapping[str, Any]) -> bytes:
    """The stored file: free text redacted like every record (a preamble may quote a key)."""
    stored = dict(template)
    for key in ("description", "preamble"):
        stored[key] = redact(stored[key])
    if stored.get("seed"):
        stored["seed"] = {**stored["seed"], "summary": redact(stored["seed"]["summary"])}
    text = json.dumps(stored, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    data = text.encode("utf-8")
    check_size(len(data), MAX_TEMPLATE_BYTES, f"template {template['name']}")
    return data


class TemplateStore:
    """The templates of the store at ``root`` (``SessionStore.root``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = root / TEMPLATES_DIR

    def path_of(self, name: str) -> Path:
        return self.dir / f"{validate_template_name(name)}.json"

    def exists(self, name: str) -> bool:
        return os.path.lexists(self.path_of(name))

    def names(self) -> list[str]:
        """Every template name, sorted (other files in the directory are not templates)."""
        try:
            entries = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise file_error(self.dir, exc, action="list") from None
        out = []
        for entry in entries:
            stem, dot, ext = entry.partition(".")
            if dot and ext == "json":
                with contextlib.suppress(InvalidInput):
                    out.append(validate_template_name(stem))
        return sorted(out)

    def load(self, name: str) -> dict[str, Any]:
        path = self.path_of(name)
        data = read_bytes(path)
        if data is None:
            raise TemplateNotFound(name)
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise StoreError(f"template file {path} is not valid JSON: {exc}") from None
        try:
            return check_template(parsed, name)
        except InvalidInput as exc:
            raise StoreError(f"template file {path} is not usable: {exc}") from None

    def save(self, template: Mapping[str, Any], *, replace: bool = False) -> Path:
        """Store ``template`` (checked); an existing name needs ``replace``."""
        checked = check_template(template)
        data = template_bytes(checked)
        ensure_private_dir(self.root, what="session store")
        ensure_private_dir(self.dir, what="templates directory")
        path = self.path_of(checked["name"])
        if replace:
            atomic_write(path, data)
            return path
        tmp = self.dir / f".{path.name}.tmp-{unique_suffix()}"
        try:
            fd = open_nofollow(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            try:
                write_all(fd, data)
                fsync_fd(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)  # never replaces: an existing name fails here
            except FileExistsError:
                raise TemplateExists(
                    f"template {checked['name']!r} exists already (--force replaces it)",
                    template=checked["name"],
                ) from None
        except OSError as exc:
            raise file_error(path, exc, action="write") from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        fsync_dir(self.dir)
        return path

    def delete(self, name: str) -> None:
        path = self.path_of(name)
        try:
            os.unlink(path)
        except FileNotFoundError:
            raise TemplateNotFound(name) from None
        except OSError as exc:
            raise file_error(path, exc, action="delete") from None
        fsync_dir(self.dir)

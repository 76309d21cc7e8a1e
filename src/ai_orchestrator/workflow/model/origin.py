"""Where a feature starts from: a session template and/or another feature (a link).

A feature's origin is kept in its ``feature.yaml`` under ``origin`` (absent: none)::

    origin: {template: {…the template as it was at ``aio init --template``…},
             linked_from: other-feature, at: ISO}

The template is copied in, so editing or deleting it later changes no feature made from it;
its seed conversation is checked again when it is used (``check_seed``). What the origin does
to a feature's calls:

- **settings** (``apply_template``): the template's per-phase ``agent``, ``model``,
  ``permission_mode`` and ``allowed_tools`` override ``.aio/config.toml``'s for this feature
  (command-line flags still win), and its ``budget_usd`` is the feature's budget unless
  ``[budgets]`` names the feature;
- **conversations**: the first call of each new plan or implement conversation starts from
  the link's or the template's conversation (``workflow.phases.lineage``).

Links: ``check_link`` refuses a link to itself, a link that closes a cycle (following
``linked_from`` through the workspace and, for features elsewhere, the ``lineage`` the
store's sessions record), and a feature with no conversation to start from (``LinkRefused``,
exit 2). ``sessions_started`` names the feature's plan/implement sessions that hold a
conversation already (``aio link`` refuses those without ``--force``: ``FeatureInUse``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ai_orchestrator.core.errors import (
    InvalidInput,
    LinkRefused,
    NotFound,
    StoreError,
    TemplateSeedMissing,
)
from ai_orchestrator.core.names import validate_feature_id
from ai_orchestrator.infra.timeutil import now_iso
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.templates import check_template
from ai_orchestrator.workflow.model.feature import load_feature, update_feature
from ai_orchestrator.workflow.project.config import Config
from ai_orchestrator.workflow.project.workspace import FeaturePaths, Workspace

LINKED_PHASES = ("plan", "implement")
MAX_CHAIN = 1000  # a longer chain of links is a cycle nobody made on purpose


def feature_origin(paths: FeaturePaths) -> dict[str, Any]:
    """The feature's ``origin`` (``{}``: none); ``StoreError`` when it is malformed."""
    try:
        origin = load_feature(paths).get("origin") or {}
    except (StoreError, OSError):
        return {}
    if not isinstance(origin, Mapping):
        raise StoreError(f"{paths.feature_file}: 'origin' is not a mapping")
    out = dict(origin)
    if out.get("template") is not None:
        try:
            out["template"] = check_template(out["template"])
        except InvalidInput as exc:  # a hand edit: name the file, not just the field
            raise StoreError(
                f"{paths.feature_file}: 'origin.template' is not usable: {exc}"
            ) from None
    if "linked_from" in out and not isinstance(out["linked_from"], str):
        raise StoreError(f"{paths.feature_file}: 'origin.linked_from' is not a feature id")
    return out


def set_origin(
    paths: FeaturePaths,
    *,
    template: Mapping[str, Any] | None = None,
    linked_from: str | None = None,
) -> dict[str, Any]:
    """Record the origin (a given part replaces that part; the other is kept)."""
    origin = feature_origin(paths)
    if template is not None:
        origin["template"] = dict(template)
    if linked_from is not None:
        origin["linked_from"] = linked_from
    origin["at"] = now_iso()
    update_feature(paths, origin=origin)
    return origin


def apply_template(config: Config, feature_id: str, template: Mapping[str, Any]) -> Config:
    """``config`` with the template's phase settings and budget for ``feature_id``."""
    for phase, settings in (template.get("phases") or {}).items():
        if phase not in config.phases:
            continue
        changes = {k: v for k, v in settings.items() if v is not None}
        if "agent" in changes and "model" not in changes:
            changes["model"] = None  # another agent: the configured model was the other's
        config.phases[phase] = replace(config.phases[phase], **changes)
    budget = template.get("budget_usd")
    if budget and feature_id not in config.budgets:
        config.budgets = {**config.budgets, feature_id: float(budget)}
    return config


def conversation_of(store: SessionStore, name: str) -> dict[str, Any] | None:
    """Session ``name``'s stored conversation (agent, id, cwd, state, model, interactions,
    last record id), or ``None`` when it has none."""
    if not store.exists(name):
        return None
    summary = store.load(name).summary
    if not summary.agent_session_id or not summary.agent:
        return None
    records = store.read_log(name).records
    return {
        "session": name,
        "agent": summary.agent,
        "model": summary.model,
        "agent_session_id": summary.agent_session_id,
        "cwd": summary.agent_cwd,
        "agent_state": dict(summary.agent_state),
        "interactions": len(records),
        "record_id": records[-1].id if records else None,
    }


def parent_session(store: SessionStore, other: str, phase: str) -> dict[str, Any] | None:
    """The conversation of ``other`` that ``phase`` starts from: ``<phase>-<other>``, else
    the other linked phase's (a feature planned elsewhere still has its implementation)."""
    order = [phase, *(p for p in LINKED_PHASES if p != phase)]
    for candidate in order:
        found = conversation_of(store, f"{candidate}-{other}")
        if found is not None:
            return found
    return None


def sessions_started(store: SessionStore, feature_id: str) -> list[str]:
    return [
        f"{phase}-{feature_id}"
        for phase in LINKED_PHASES
        if conversation_of(store, f"{phase}-{feature_id}") is not None
    ]


def _parent_feature(ws: Workspace, store: SessionStore, feature_id: str) -> str | None:
    """The feature ``feature_id`` was linked from: its feature.yaml when it is in this
    workspace, else the lineage its sessions recorded."""
    paths = ws.feature(feature_id)
    if paths.feature_file.is_file():
        linked = feature_origin(paths).get("linked_from")
        return linked if isinstance(linked, str) else None
    for phase in LINKED_PHASES:
        name = f"{phase}-{feature_id}"
        if store.exists(name):
            lineage = store.load(name).summary.lineage or {}
            parent = lineage.get("feature")
            if isinstance(parent, str) and parent != feature_id:
                return parent
    return None


def check_link(ws: Workspace, store: SessionStore, feature_id: str, other: str) -> None:
    """``LinkRefused`` (exit 2) for a link of ``feature_id`` to ``other`` that cannot be made
    (see the module docstring); ``InvalidInput`` for an invalid id."""
    validate_feature_id(other)
    if other == feature_id:
        raise LinkRefused(
            f"cannot link feature {feature_id} to itself", feature_id, other, reason="self"
        )
    chain, current = [other], other
    for _ in range(MAX_CHAIN):
        parent = _parent_feature(ws, store, current)
        if parent is None:
            break
        chain.append(parent)
        if parent == feature_id:
            raise LinkRefused(
                f"cannot link {feature_id} to {other}: {' → '.join(chain)} already starts "
                f"from {feature_id} (a cycle)",
                feature_id, other, reason="cycle",
            )  # fmt: skip
        current = parent
    if all(parent_session(store, other, phase) is None for phase in LINKED_PHASES):
        raise LinkRefused(
            f"cannot link {feature_id} to {other}: feature {other} has no plan or implement "
            "conversation to start from (no session plan-{0} or implement-{0} holds "
            "one)".format(other),
            feature_id, other, reason="empty",
        )  # fmt: skip


def check_seed(store: SessionStore, template: Mapping[str, Any]) -> None:
    """``TemplateSeedMissing`` unless the template's seed session still exists and still
    names its seed conversation (aio's own record that the conversation is this one)."""
    seed = template.get("seed")
    if not seed:
        return
    name, wanted = seed["session"], seed["agent_session_id"]
    fix = (
        f"save it again from another session (aio template save {template['name']} --from "
        "SESSION --force) or drop the seed (aio template save … --file F --force)"
    )
    if not store.exists(name):
        raise TemplateSeedMissing(
            f"template {template['name']}: its seed session {name} was deleted; {fix}",
            template=template["name"], session=name,
        )  # fmt: skip
    ids = {r.agent_session_id for r in store.read_log(name).records}
    if wanted not in ids:
        raise TemplateSeedMissing(
            f"template {template['name']}: session {name} no longer holds its seed "
            f"conversation {wanted}; {fix}",
            template=template["name"], session=name,
        )  # fmt: skip


def session_digest(store: SessionStore, name: str, limit: int = 20) -> str:
    """aio's own account of session ``name``'s conversation (its last ``limit`` calls: the
    prompt, cut, and the answer's preview): the summary a template carries by default."""
    records = [r for r in store.read_log(name).records if not r.fresh][-limit:]
    lines = [f"Earlier conversation (aio session {name}, its last {len(records)} call(s)):"]
    for record in records:
        asked = " ".join((record.prompt or record.prompt_preview or "").split())
        asked = asked if len(asked) <= 600 else asked[:600] + "…"
        answer = record.response_preview or "(no answer recorded)"
        lines.append(f"- asked: {asked}\n  answered: {answer} [{record.outcome}]")
    return "\n".join(lines)


def read_template_file(text: str, suffix: str) -> dict[str, Any]:
    """A template file (TOML for ``.toml``, else JSON) as a mapping; ``InvalidInput``."""
    import json
    import tomllib


    try:
        data = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"the template file does not parse: {exc}") from None
    if not isinstance(data, Mapping):
        raise InvalidInput("the template file must hold a table (an object) of settings")
    return dict(data)


def check_phase_agents(template: Mapping[str, Any]) -> None:
    """``InvalidInput`` for an unknown agent or a malformed model in the template's phases."""
    from ai_orchestrator.agents.base import check_model
    from ai_orchestrator.agents.registry import KNOWN_KEYS

    for phase, settings in (template.get("phases") or {}).items():
        agent = settings.get("agent")
        if agent is not None and agent not in (*KNOWN_KEYS, "auto"):
            raise InvalidInput(
                f"template phases.{phase}.agent: unknown agent {agent!r}; known agents: "
                f"{', '.join(KNOWN_KEYS)}"
            )
        if settings.get("model") is not None:
            check_model(settings["model"])


def build_template(
    store: SessionStore,
    name: str,
    *,
    from_session: str | None = None,
    given: Mapping[str, Any] | None = None,
    summary: str | None = None,
) -> dict[str, Any]:
    """The template ``name`` from a file's settings (``given``) and/or the conversation of
    session ``from_session`` (its seed; its agent and model become that phase's settings
    unless ``given`` sets them). Checked; nothing is written."""
    from ai_orchestrator.core.names import parse_session_name

    data = dict(given or {})
    seed_name = data.pop("seed_session", None) or from_session
    if from_session and data.get("seed"):
        raise InvalidInput("--from names the seed conversation: the file must not set one")
    if seed_name is not None:
        if not isinstance(seed_name, str):
            raise InvalidInput("seed_session must be a session name")
        session = parse_session_name(seed_name)
        conversation = conversation_of(store, session.name)
        if conversation is None:
            what = "does not exist" if not store.exists(session.name) else "holds no conversation"
            raise NotFound(f"session {session.name} {what}: nothing to seed the template from")
        conversation["summary"] = summary or session_digest(store, session.name)
        data["seed"] = conversation
        phases = {k: dict(v) for k, v in (data.get("phases") or {}).items()}
        if session.command in ("plan", "implement", "review", "verify"):
            own = phases.setdefault(session.command, {})
            own.setdefault("agent", conversation["agent"])
            if conversation.get("model") and own["agent"] == conversation["agent"]:
                own.setdefault("model", conversation["model"])
        data["phases"] = phases
    elif summary is not None:
        raise InvalidInput("--summary goes with a seed conversation (--from SESSION)")
    data.setdefault("name", name)  # a file naming another template is refused
    template = check_template(data, name)
    check_phase_agents(template)
    return template


def link_feature(
    ws: Workspace,
    store: SessionStore,
    paths: FeaturePaths,
    feature_id: str,
    other: str,
    *,
    force: bool = False,
) -> dict[str, Any]:
    """``aio link``: record that ``feature_id`` starts from ``other`` (the caller holds the
    feature lock). Refused for a link ``check_link`` refuses, and (``FeatureInUse``) when
    the feature's conversations have started, unless ``force``."""
    from ai_orchestrator.core.errors import FeatureInUse
    from ai_orchestrator.workflow.project.history import append_event, make_event

    check_link(ws, store, feature_id, other)
    started = sessions_started(store, feature_id)
    if started and not force:
        raise FeatureInUse(
            f"feature {feature_id} is in use: {', '.join(started)} already hold a conversation "
            "(a link changes only new ones: --force links anyway, for the next --new-session)",
            feature_id, started,
        )  # fmt: skip
    origin = set_origin(paths, linked_from=other)
    append_event(
        paths.history_file,
        make_event("link", arguments={"other": other, "force": force}, status="success",
                   duration_ms=0, details={"linked_from": other}),
    )  # fmt: skip
    return origin


def prepare_origin(
    ws: Workspace, store: SessionStore, feature_id: str, template: str | None, other: str | None
) -> dict[str, Any] | None:
    """``aio init --template/--from``: the template to copy in (checked, its seed too) and the
    link checked, before the feature exists (``None``: no template)."""
    from ai_orchestrator.store.templates import TemplateStore

    validate_feature_id(feature_id)
    found = None
    if template is not None:
        found = TemplateStore(store.root).load(template)
        if other is None:
            check_seed(store, found)
    if other is not None:
        check_link(ws, store, feature_id, other)
    return found

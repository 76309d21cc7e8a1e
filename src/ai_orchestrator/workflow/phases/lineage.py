"""The first call of a linked or templated feature's conversation: fork, summary or template.

``check_origin`` (before a command changes anything) and ``start_options`` (right before the
phase's first call) apply a feature's origin (``workflow.model.origin``) to its ``plan`` and
``implement`` conversations. Nothing happens when the call resumes a conversation the
session already holds: only a call that starts one (the first, or ``--new-session``) starts
from the origin. How (the ``method`` of its lineage):

- ``fork`` — the parent conversation (the linked feature's ``<phase>-<other>``, else its
  other phase's; or the template's seed) is of the call's agent, the agent can fork
  (``agents.registry.can_fork``: Claude Code's ``--resume ID --fork-session``) and it was
  made in this project: the new conversation is a real copy of it under a new id.
- ``summary`` — otherwise: a fresh conversation primed with a summary of the parent, and aio
  says so. For a link, aio asks the parent conversation for a hand-over summary
  (``handover.ask_summary``: the call is recorded in the parent's session, against the
  parent feature's budget); if that cannot run (another project, the call failed) or for a
  template, the summary is aio's own digest of the parent's calls (a template stores it when
  saved).
- ``template`` — a template without a seed conversation: the preamble only.

The template's preamble (conventions, architecture notes) comes first in every case. With
sessions off every call is a fresh conversation and gets the preamble, never a fork. The
lineage (``method, via, session, feature, agent, model, agent_session_id, fork_record_id,
fork_interactions, template, at``) is stored on the first record (``Interaction.lineage``)
and becomes the session summary's ``lineage`` (``ai-session show``, ``stats --by lineage``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ai_orchestrator.calls.conversation import Conversation
from ai_orchestrator.calls.options import CallOptions
from ai_orchestrator.calls.resume import plan_session
from ai_orchestrator.core.errors import AioError, BudgetExceeded
from ai_orchestrator.infra.timeutil import now_iso
from ai_orchestrator.workflow.model.origin import (
    LINKED_PHASES,
    check_seed,
    feature_origin,
    parent_session,
    session_digest,
)
from ai_orchestrator.workflow.phases.handover import ask_summary
from ai_orchestrator.workflow.runctx import FeatureContext


@dataclass
class Start:
    """The options of the phase's calls and the calls made to get there (a summary)."""

    options: CallOptions
    steps: list[dict[str, Any]] = field(default_factory=list)


def check_origin(ctx: FeatureContext) -> None:
    """Refuse before anything changes when the origin cannot be used (a template's seed
    session was deleted: ``TemplateSeedMissing``)."""
    origin = feature_origin(ctx.paths)
    if origin.get("template") and not origin.get("linked_from"):  # a link wins over the seed
        check_seed(ctx.store, origin["template"])


def _starts_new(ctx: FeatureContext, name: str, options: CallOptions) -> bool:
    exists = ctx.store.exists(name)
    summary = ctx.store.load(name).summary if exists else None

    def history() -> list[Any]:
        return list(ctx.store.read_log(name).records) if exists else []

    action = plan_session(summary, options, history, name).action
    return action in ("started", "replaced")


def _here(ctx: FeatureContext, cwd: object) -> bool:
    if not isinstance(cwd, str) or not cwd:
        return True
    return Path(cwd).resolve() == ctx.ws.project_root.resolve()


def _preamble(template: Mapping[str, Any] | None) -> str:
    text = str((template or {}).get("preamble") or "").strip()
    if not text:
        return ""
    return f"[aio] Conventions and notes for this feature (template {template['name']}):\n{text}"  # type: ignore[index]


def start_options(ctx: FeatureContext, phase: str, options: CallOptions) -> Start:
    """``options`` for the phase's calls, starting from the feature's origin when the first
    call starts a conversation (see the module docstring)."""
    origin = feature_origin(ctx.paths)
    template, linked = origin.get("template"), origin.get("linked_from")
    if phase not in LINKED_PHASES or not (template or linked):
        return Start(options)
    name = ctx.session_name(phase)
    preamble = _preamble(template)
    if not options.use_session:
        return Start(replace(options, preface=preamble or None))
    if not _starts_new(ctx, name, options):
        return Start(options)
    parent: dict[str, Any] | None = None
    via = "link" if linked else "template"
    if linked:
        parent = parent_session(ctx.store, str(linked), phase)
    elif template and template.get("seed"):
        check_seed(ctx.store, template)
        parent = dict(template["seed"])
    lineage: dict[str, Any] = {"method": "template", "via": via, "at": now_iso()}
    if template:
        lineage["template"] = template["name"]
    if parent is None:
        if not preamble:
            return Start(options)
        ctx.hooks.info(f"{name}: starts a new conversation primed with template {template['name']}")  # type: ignore[index]
        return Start(replace(options, preface=preamble, lineage=lineage))
    from ai_orchestrator.agents.registry import can_fork
    from ai_orchestrator.core.names import parse_session_name

    lineage.update(
        session=parent["session"],
        feature=parse_session_name(parent["session"]).feature_id,
        agent=parent["agent"],
        model=parent.get("model"),
        agent_session_id=parent["agent_session_id"],
        fork_record_id=parent.get("record_id"),
        fork_interactions=parent.get("interactions"),
    )
    if (
        parent["agent"] == options.agent
        and can_fork(options.agent)
        and _here(ctx, parent.get("cwd"))
    ):
        lineage["method"] = "fork"
        note = (f"[aio] This conversation is a fork of {parent['session']} (feature "
                f"{lineage['feature']}): you have its history above. This is feature "
                f"{ctx.feature_id} now.")  # fmt: skip
        ctx.hooks.info(f"{name}: forking the {parent['agent']} conversation of {parent['session']}")
        preface = "\n\n".join(p for p in (note, preamble) if p)
        return Start(replace(options, fork_from=parent, preface=preface, lineage=lineage))
    lineage["method"] = "summary"
    why = (
        f"{options.agent} cannot fork a conversation"
        if not can_fork(options.agent)
        else f"the parent is a {parent['agent']} conversation"
        if parent["agent"] != options.agent
        else "the parent conversation belongs to another project"
    )
    ctx.hooks.info(
        f"{name}: {why}; starting a fresh {options.agent} conversation primed with a summary "
        f"of {parent['session']}"
    )
    steps: list[dict[str, Any]] = []
    summary = str(parent.get("summary") or "") if via == "template" else ""
    if via == "link" and _here(ctx, parent.get("cwd")):
        summary, steps = _ask_parent(ctx, phase, parent)
    if not summary.strip():
        summary = session_digest(ctx.store, parent["session"])
    intro = (f"[aio] This feature ({ctx.feature_id}) starts from the work of "
             f"{parent['session']} ({parent['agent']}). You do not have that conversation; "
             f"its summary:\n<summary>\n{summary.strip()}\n</summary>")  # fmt: skip
    preface = "\n\n".join(p for p in (preamble, intro) if p)
    return Start(replace(options, preface=preface, lineage=lineage), steps)


def _ask_parent(
    ctx: FeatureContext, phase: str, parent: Mapping[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    """The parent conversation's own hand-over summary (recorded in its session, against
    its feature's budget); ``""`` when it cannot be had."""
    from ai_orchestrator.workflow.runctx import call_options

    feature = parse_feature(parent["session"])
    try:
        settings = call_options(ctx, phase, agent=parent["agent"], model=parent.get("model"))
    except AioError as exc:
        ctx.hooks.warn(f"cannot ask {parent['session']} for a summary ({exc})")
        return "", []
    settings = replace(settings, budget_usd=ctx.config.budget_for(feature), new_session=False)
    asked = Conversation(ctx.store, parent["session"], settings, hooks=ctx.hooks)
    try:
        text = ask_summary(
            ctx, asked, str(parent["session"]), f"feature {ctx.feature_id}",
            f"feature {ctx.feature_id} starts from this work",
        )  # fmt: skip
    except BudgetExceeded as exc:  # the parent's budget never blocks the child's work
        ctx.hooks.warn(f"cannot ask {parent['session']} for a summary ({exc}); using aio's digest")
        return "", list(asked.steps)
    return text, list(asked.steps)


def parse_feature(session: str) -> str:
    from ai_orchestrator.core.names import parse_session_name

    return parse_session_name(session).feature_id

"""``aio review --architecture --compare A B``: two reviewers, the same review, side by side.

``A`` and ``B`` are reviewers: an agent (``claude``, ``gemini``, ``codex``, ``scripted``), a
model whose name picks its agent (``opus``, ``gemini-2.5-pro``, ``gpt-5-codex``; as in
``aio escalate --to``) or ``agent:model``. Both get the same architecture review prompt
(``review.review_prompt``: the architecture documents, the focus) in a **fresh**
conversation each (recorded in ``review-<feature>`` with ``session_action: fresh``, so the
stored review conversation is never replaced).

**Fallback, like the planner's**: a reviewer that is unavailable — its CLI is not installed,
it cannot be launched, it fails or times out, or its answer stays unusable after the one
correction — is replaced by the next candidate not already taken by the other side: the
review phase's agent (with its model), then claude with opus (the seed's "falling back to
Opus"). Each fallback is announced (``hooks.warn``) and recorded on its side
(``fallback_from``). Interrupted and budget stop the command at once. A side with no
candidate left is reported as failed (``error``), the other side is still shown.

The result is saved as ``artifacts/review-compare-<stamp>.json`` (``sides``: reviewer,
agent, model, fallback_from, summary, findings, counts, error). The caller exits 1 when a
side failed or found something critical.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_orchestrator.agents import registry
from ai_orchestrator.calls.conversation import Conversation
from ai_orchestrator.core.errors import (
    AgentFailed,
    AgentLaunchError,
    AgentNotFound,
    AgentTimeout,
    InvalidInput,
    InvalidReview,
)
from ai_orchestrator.infra.timeutil import now_iso
from ai_orchestrator.workflow.model.feature import write_artifact
from ai_orchestrator.workflow.phases.review import (
    FOCUS,
    ask_review,
    review_material,
    review_prompt,
    severity_counts,
)
from ai_orchestrator.workflow.project.history import given_options
from ai_orchestrator.workflow.runctx import (
    FeatureContext,
    Recorder,
    agent_installed,
    call_options,
    check_budget,
)

UNAVAILABLE = (AgentFailed, AgentTimeout, AgentLaunchError, AgentNotFound, InvalidReview)


@dataclass
class Side:
    reviewer: str
    agent: str | None = None
    model: str | None = None
    fallback_from: list[str] = field(default_factory=list)
    summary: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class CompareOutcome:
    sides: list[Side]
    artifact: Path

    @property
    def failed(self) -> bool:
        return any(s.error or s.counts.get("critical") for s in self.sides)


def parse_reviewer(ctx: FeatureContext, spec: str) -> tuple[str, str | None]:
    """``(agent, model)`` of a reviewer spec (see the module docstring)."""
    from ai_orchestrator.agents.base import check_model
    from ai_orchestrator.agents.registry import KNOWN_KEYS
    from ai_orchestrator.workflow.phases.handover import agent_of

    name, sep, model = spec.strip().partition(":")
    if sep and name in KNOWN_KEYS:
        if not model:
            raise InvalidInput(f"--compare {spec!r}: the model after ':' is empty")
        return name, check_model(model)
    configured = ctx.config.phase("review").agent
    return agent_of(spec, None if configured == "auto" else configured)


def _candidates(ctx: FeatureContext, spec: str) -> list[tuple[str, str | None]]:
    from ai_orchestrator.workflow.project.config import resolve_model

    phase = ctx.config.phase("review")
    agent, model = parse_reviewer(ctx, spec)
    entries = [(agent, resolve_model(agent, model, phase))]
    default = registry.DEFAULT_AGENT
    configured = default if phase.agent == "auto" else phase.agent
    entries.append((configured, resolve_model(configured, None, phase)))
    entries.append((default, registry.capabilities(default).strong_model))
    return list(dict.fromkeys(entries))


def _label(agent: str, model: str | None) -> str:
    return f"{agent}:{model}" if model else agent


def run_compare(
    ctx: FeatureContext, first: str, second: str, *, focus: str | None, max_cost: float | None
) -> CompareOutcome:
    if focus is not None and focus not in FOCUS:
        raise InvalidInput(f"--focus must be one of {', '.join(FOCUS)}")
    plans = [_candidates(ctx, first), _candidates(ctx, second)]
    arguments = given_options(architecture=True, compare=[first, second], focus=focus)
    arguments.update(given_options(max_cost=max_cost))
    with Recorder(ctx.paths, "review", arguments) as rec:
        rec.session = ctx.session_name("review")
        rec.agent, rec.model = plans[0][0]
        with ctx.ws.lock_feature(ctx.feature_id, timeout=ctx.config.lock_timeout):
            with rec.refusals():
                probe = call_options(ctx, "review", agent=plans[0][0][0], max_cost=max_cost)
                check_budget(ctx, probe, "nothing was reviewed")
                material, names = review_material(ctx, [], True)
            prompt = review_prompt(ctx, material, names, True, focus)
            steps: list[dict[str, Any]] = []
            sides: list[Side] = []
            try:
                for spec, candidates in zip((first, second), plans, strict=True):
                    taken = {(s.agent, s.model) for s in sides}
                    sides.append(
                        _review_side(ctx, spec, candidates, taken, prompt, max_cost, steps)
                    )
            finally:
                rec.details["steps"] = steps
            outcome = CompareOutcome(sides, _save(ctx, sides, focus, names))
            rec.details.update(
                sides=[{k: v for k, v in s.to_dict().items() if k != "findings"} for s in sides],
                artifact=str(outcome.artifact.relative_to(ctx.ws.project_root)),
            )
            if outcome.failed:
                rec.status = "failed"
                rec.error = "; ".join(
                    f"{s.reviewer}: {s.error or str(s.counts.get('critical')) + ' critical'}"
                    for s in sides
                    if s.error or s.counts.get("critical")
                )
    return outcome


def _review_side(
    ctx: FeatureContext,
    spec: str,
    candidates: list[tuple[str, str | None]],
    taken: set[tuple[str | None, str | None]],
    prompt: str,
    max_cost: float | None,
    steps: list[dict[str, Any]],
) -> Side:
    side = Side(spec)
    # The reviewer asked for is always tried; a fallback never duplicates the other side.
    for agent, model in [c for i, c in enumerate(candidates) if i == 0 or c not in taken]:
        label = _label(agent, model)
        if side.fallback_from:
            ctx.hooks.warn(f"{spec}: falling back to {label}")
        if not agent_installed(agent):
            ctx.hooks.warn(f"{label} is unavailable: its CLI is not installed")
            side.fallback_from.append(label)
            continue
        settings = call_options(
            ctx, "review", agent=agent, model=model, no_session=True, max_cost=max_cost
        )
        conv = Conversation(ctx.store, ctx.session_name("review"), settings, hooks=ctx.hooks)
        try:
            review = ask_review(conv, prompt, f"review-{len(steps) + 1}")
        except UNAVAILABLE as exc:
            ctx.hooks.warn(f"{label} is unavailable: {exc}")
            side.fallback_from.append(label)
            side.error = f"{label}: {exc}"
            continue
        finally:
            steps.extend({**s, "reviewer": spec} for s in conv.steps)
        counts = severity_counts(review["findings"])
        side.agent, side.model, side.error = agent, settings.model, None
        side.summary, side.findings, side.counts = review["summary"], review["findings"], counts
        return side
    side.error = side.error or "no reviewer available"
    side.error = f"every candidate failed (last: {side.error})"
    return side


def _save(ctx: FeatureContext, sides: list[Side], focus: str | None, names: list[str]) -> Path:
    stamp = now_iso().replace("-", "").replace(":", "")[:15]
    artifact = ctx.paths.artifacts / f"review-compare-{stamp}.json"
    number = 1
    while artifact.exists():
        number += 1
        artifact = artifact.with_name(f"review-compare-{stamp}-{number}.json")
    doc = {
        "schema_version": 1,
        "feature": ctx.feature_id,
        "created_at": now_iso(),
        "architecture": True,
        "focus": focus,
        "files": names,
        "sides": [s.to_dict() for s in sides],
    }
    write_artifact(artifact, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode())
    return artifact

"""``aio plan``: ask a planner agent for a JSON plan in session ``plan-<feature>``.

Planner order: ``--agent`` alone when given (an unknown name is ``InvalidInput``, exit 2,
before anything runs); otherwise the plan phase's ``agent`` then its ``fallback`` entries
(``agent`` or ``agent:model``). ``agent = "auto"`` means gemini when its CLI can be
resolved, then claude with opus (the backends declaring ``Capabilities.auto_planner``, in
that order, the last one always, with its ``strong_model``). Each planner's model follows
``config.pick_model``:
``--model`` (first planner only) > ``$AI_MODEL`` (when it applies to that agent) > the
configured model (phase ``model``, the ``:model`` of a fallback entry, opus for auto's
claude) > the CLI's default. A planner that cannot be launched or fails (any outcome except
interrupted, budget or session_lost, which stop at once) is retried ``--retry`` times, then
the next planner is tried, and the fallback is announced through ``hooks.warn``.
``--max-cost`` (else the feature's configured budget) is checked before every call: at the
budget the command stops with ``BudgetExceeded`` (exit 3) and no agent process starts.

The answer is parsed (``jsontext.extract_json``) and validated (``plan.validate``); an
invalid answer gets exactly ONE corrective follow-up in the same conversation listing the
problems, and if that answer is invalid too the command fails (``InvalidPlan``, exit 1)
without touching ``plan.yaml``; the planner's raw answers (redacted) are kept in
``artifacts/plan-rejected-<time>.txt``, which the error names. A valid plan keeps the status
of every task id that still exists (``plan.merge_statuses``) and is saved atomically under
the feature lock.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ai_orchestrator.agents import registry
from ai_orchestrator.calls.conversation import Conversation
from ai_orchestrator.calls.options import CallOptions
from ai_orchestrator.core.errors import (
    AgentFailed,
    AgentLaunchError,
    AgentTimeout,
    AioError,
    InvalidPlan,
    PlannersFailed,
)
from ai_orchestrator.infra.redact import redact
from ai_orchestrator.infra.timeutil import now_iso
from ai_orchestrator.workflow import prompts
from ai_orchestrator.workflow.jsontext import extract_json
from ai_orchestrator.workflow.model.feature import (
    load_feature,
    load_plan,
    reported_model,
    save_plan,
    update_feature,
)
from ai_orchestrator.workflow.model.plan import Plan, merge_statuses, plan_from_data, validate
from ai_orchestrator.workflow.phases.lineage import check_origin, start_options
from ai_orchestrator.workflow.project.config import pick_model, resolve_model
from ai_orchestrator.workflow.project.history import given_options
from ai_orchestrator.workflow.runctx import (
    FeatureContext,
    Recorder,
    agent_installed,
    call_options,
    check_agent,
    check_budget,
    check_model,
)

CONTEXT_BUDGET = 150_000  # characters of repository context for --full-context


@dataclass
class PlanOutcome:
    plan: Plan
    agent: str
    model: str | None
    kept_statuses: list[str]
    steps: list[dict[str, Any]] = field(default_factory=list)


def planner_candidates(
    ctx: FeatureContext, agent: str | None, model: str | None
) -> list[tuple[str, str | None]]:
    """``[(agent, model)]`` in the order they are tried (see the module docstring)."""
    phase = ctx.config.phase("plan")
    if agent:
        return [(agent, resolve_model(agent, model, phase))]
    entries: list[tuple[str, str | None]] = []
    if phase.agent == "auto":
        # Every auto planner whose CLI is installed, in the declared order; the last one is
        # always tried (its launch says what is missing).
        order = registry.auto_planners()
        chosen = [a for a in order[:-1] if agent_installed(a)] + order[-1:]
        for i, planner in enumerate(chosen):
            strong = registry.capabilities(planner).strong_model
            wanted = (model, phase.model or strong) if i == 0 else (None, strong)
            entries.append((planner, pick_model(planner, *wanted)))
        skipped = [a for a in order if a not in chosen]
        if skipped and chosen:
            ctx.hooks.info(
                f"Planning with {registry.label(chosen[0])}: the plan phase's agent is "
                f"\"auto\", which prefers {registry.label(skipped[0])}, and the {skipped[0]} "
                "CLI is not installed (`aio doctor` shows the agents)"
            )
    else:
        entries.append((phase.agent, resolve_model(phase.agent, model, phase)))
    for spec in phase.fallback:
        name, _, fallback_model = spec.partition(":")
        name = name.strip()
        entries.append((name, pick_model(name, None, fallback_model.strip() or None)))
    result: list[tuple[str, str | None]] = []
    for entry in entries:
        if entry not in result:
            result.append(entry)
    return result


def repository_context(ctx: FeatureContext) -> str:
    """Tracked files (git ls-files) and the content of small text files, within a budget."""
    root = ctx.ws.project_root
    try:
        listing = subprocess.run(
            ["git", "ls-files"], cwd=root, capture_output=True, text=True, timeout=30
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        listing = []
    files = [f for f in listing if f and not f.startswith(".aio/")]
    if not files:
        files = sorted(
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )[:2000]
    parts = ["Files:\n" + "\n".join(files[:2000])]
    used = len(parts[0])
    for rel in files:
        path = root / rel
        try:
            if path.stat().st_size > 40_000:
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        block = f"=== {rel} ===\n{text}"
        if used + len(block) > CONTEXT_BUDGET:
            break
        parts.append(block)
        used += len(block)
    return "\n\n".join(parts)


def parse_plan_answer(text: str, default_agent: str | None) -> tuple[Plan | None, list[str]]:
    try:
        data = extract_json(text, want=lambda v: isinstance(v, dict | list))
        plan = plan_from_data(data, default_agent)
    except ValueError as exc:
        return None, [str(exc)]
    problems = validate(plan)
    return (plan, []) if not problems else (None, problems)


def _keep_rejected(artifacts: Path, answers: list[str]) -> Path | None:
    """The rejected answers in ``artifacts/plan-rejected-<time>.txt`` (None if unwritable)."""
    stamp = now_iso().replace(":", "").replace("-", "").replace(".", "")
    path = artifacts / f"plan-rejected-{stamp}.txt"
    text = "\n\n----- the corrected answer -----\n\n".join(redact(a) for a in answers)
    try:
        artifacts.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    except OSError:
        return None
    return path


def _ask_planner(
    conv: Conversation, prompt: str, default_agent: str | None, artifacts: Path
) -> Plan:
    answers: list[str] = []

    def parse(text: str) -> tuple[Plan | None, list[str]]:
        answers.append(text)
        return parse_plan_answer(text, default_agent)

    def rejected(why: str) -> InvalidPlan:
        kept = _keep_rejected(artifacts, answers)
        return InvalidPlan(why, str(kept) if kept else "")

    return conv.ask_usable(
        prompt, "plan", parse, correction=prompts.plan_correction, what="plan", error=rejected
    )


@dataclass
class PlanOptions:
    agent: str | None = None
    model: str | None = None
    full_context: bool = False
    retry: int = 0
    no_session: bool = False
    new_session: bool = False
    max_cost: float | None = None


def run_plan(ctx: FeatureContext, request: str, opts: PlanOptions | None = None) -> PlanOutcome:
    """Create or refine the plan of ``ctx.feature_id`` (see the module docstring)."""
    opts = opts or PlanOptions()
    check_agent(opts.agent)
    check_model(opts.model)
    arguments = given_options(prompt=request, **vars(opts))
    with Recorder(ctx.paths, "plan", arguments) as rec:
        with rec.refusals():  # a bad model in the config or AI_MODEL: nothing was started
            candidates = planner_candidates(ctx, opts.agent, opts.model)
        rec.session = ctx.session_name("plan")
        rec.agent, rec.model = candidates[0]
        with ctx.lock():
            outcome = _plan_locked(ctx, request, candidates, rec, opts)
    return outcome


def _planner_settings(
    ctx: FeatureContext, opts: PlanOptions, planner: str, planner_model: str | None
) -> CallOptions:
    settings = call_options(
        ctx,
        "plan",
        agent=planner,
        no_session=opts.no_session,
        new_session=opts.new_session,
        max_cost=opts.max_cost,
    )
    return replace(settings, model=planner_model)  # resolved per planner by planner_candidates


def _plan_locked(
    ctx: FeatureContext,
    request: str,
    candidates: list[tuple[str, str | None]],
    rec: Recorder,
    opts: PlanOptions,
) -> PlanOutcome:
    name = ctx.session_name("plan")
    with rec.refusals():
        feature = load_feature(ctx.paths)
        previous = load_plan(ctx.paths, required=False)
        first = _planner_settings(ctx, opts, *candidates[0])
        Conversation(
            ctx.store, name, first, hooks=ctx.hooks
        ).check_location()
        check_origin(ctx)  # a template whose seed session is gone: refused here
        check_budget(ctx, first, "no plan was made")
    context = repository_context(ctx) if opts.full_context else None
    prompt = prompts.plan_prompt(
        ctx.feature_id,
        str(feature.get("description") or ""),
        request,
        active_task=feature.get("active_task"),
        previous=previous,
        context=context,
        agents=[k for k in registry.KNOWN_KEYS if not registry.declared(k).built_in],
    )
    implement_agent = ctx.config.phase("implement").agent
    steps: list[dict[str, Any]] = []
    last_error: AioError | None = None
    for index, (planner, planner_model) in enumerate(candidates):
        start = start_options(ctx, "plan", _planner_settings(ctx, opts, planner, planner_model))
        settings = start.options
        steps.extend(start.steps)  # a linked feature's summary, asked of the parent
        rec.agent, rec.model = planner, planner_model
        conv = Conversation(ctx.store, name, settings, hooks=ctx.hooks)
        conv.check_location()
        label = f"{planner} ({planner_model})" if planner_model else planner
        ctx.hooks.info(f"Creating plan with {label}...")
        for attempt in range(opts.retry + 1):
            if attempt:
                ctx.hooks.info(f"Retrying {planner} (attempt {attempt + 1}/{opts.retry + 1})...")
            try:
                plan = _ask_planner(conv, prompt, implement_agent, ctx.paths.artifacts)
            except (AgentFailed, AgentTimeout, AgentLaunchError) as exc:
                last_error = exc
                continue
            finally:
                steps.extend(conv.steps)
                conv.steps = []
                rec.details["steps"] = steps
            kept = merge_statuses(plan, previous)
            plan.meta = {
                "feature": ctx.feature_id,
                "description": feature.get("description") or "",
                "request": request,
                "planner": {"agent": planner, "model": planner_model},
                "created_at": (previous.meta.get("created_at") if previous else None) or now_iso(),
            }
            save_plan(ctx.paths, plan)
            update_feature(
                ctx.paths, agent_in_use=planner, model_in_use=planner_model or reported_model(steps)
            )
            rec.details.update(tasks=len(plan.tasks()), kept_statuses=kept)
            return PlanOutcome(plan, planner, planner_model, kept, steps)
        if index + 1 < len(candidates):
            nxt, nxt_model = candidates[index + 1]
            ctx.hooks.warn(
                f"{planner} unavailable ({last_error}); falling back to "
                f"{nxt}{f' ({nxt_model})' if nxt_model else ''}..."
            )
    assert last_error is not None  # every candidate failed, so one error was kept
    raise PlannersFailed(tuple(planner for planner, _ in candidates), last_error)

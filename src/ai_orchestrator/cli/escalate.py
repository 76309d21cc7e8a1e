"""``aio escalate``: parse, call ``workflow.phases.escalate.run_escalate``, render.

Under ``--json`` stdout carries one JSON document (target, lineage, steps, cost, and the task
when one was continued); messages and progress go to stderr.
"""

from __future__ import annotations

import click

from ai_orchestrator.agents.registry import KNOWN_KEYS
from ai_orchestrator.cli import output
from ai_orchestrator.cli.render_workflow import calls_summary, hooks
from ai_orchestrator.cli.workflow import timeout_option
from ai_orchestrator.core.schema import versioned


@output.writes
@click.command("escalate")
@click.argument("feature", required=False)
@click.option(
    "--to",
    "to",
    required=True,
    help=f"Agent ({', '.join(KNOWN_KEYS)}) or model (opus, gemini-2.5-pro, …) to hand over to.",
)
@click.option("--task", "task_id", default=None, help="Continue this task (implement phase).")
@click.option(
    "--phase",
    type=click.Choice(["plan", "implement", "review"]),
    default="implement",
    show_default=True,
    help="Whose conversation to escalate.",
)
@click.option("--reason", default=None, help="Why (stored with the lineage).")
@click.option("--prompt", default=None, help="What to ask the new conversation (without --task).")
@click.option(
    "--fix-rounds",
    type=click.IntRange(min=0),
    default=None,
    help="Fix rounds for the continued task (default: config).",
)
@click.option(
    "--max-turns",
    type=click.IntRange(min=1),
    default=None,
    help="Per call (agents whose CLI has a turn limit; the others have none).",
)
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Budget in USD for the feature (exit 3 when reached; default: config).",
)
@timeout_option
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
def escalate_cmd(
    feature: str | None,
    to: str,
    task_id: str | None,
    phase: str,
    reason: str | None,
    prompt: str | None,
    fix_rounds: int | None,
    max_turns: int | None,
    max_cost: float | None,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Hand FEATURE's conversation to a stronger model or another agent, with its context."""
    from ai_orchestrator.core.errors import InvalidInput
    from ai_orchestrator.workflow.phases.escalate import EscalateOptions, run_escalate
    from ai_orchestrator.workflow.runctx import open_feature

    if task_id is not None and prompt is not None:
        raise InvalidInput("--prompt is for a phase's conversation; with --task the task goes on")
    if task_id is None and fix_rounds is not None:
        raise InvalidInput("--fix-rounds only applies with --task")
    ctx = open_feature(feature, hooks(live=not as_json), timeout=timeout)
    opts = EscalateOptions(
        to=to,
        phase=phase,
        task_id=task_id,
        reason=reason,
        prompt=prompt,
        fix_rounds=fix_rounds,
        max_turns=max_turns,
        max_cost=max_cost,
    )
    outcome = run_escalate(ctx, opts)
    lineage = outcome.lineage
    if as_json:
        task = outcome.task
        output.emit_json(
            versioned({
                "feature_id": ctx.feature_id,
                "to": {"agent": outcome.target.agent, "model": outcome.target.model},
                "escalated_from": lineage,
                "text": outcome.text,
                "steps": outcome.steps,
                "cost": round(outcome.cost, 6),
                "task": task.task.to_dict() if task is not None else None,
                "test_runs": [r.to_dict() for r in task.test_runs] if task is not None else [],
            })
        )
        return
    if outcome.text:
        output.out().print(outcome.text, markup=False)
    output.info(
        f"Escalated {lineage.get('session')} from {lineage.get('agent') or '-'}"
        f" ({lineage.get('model') or 'default model'}) to {outcome.target.label()}"
        f" by {lineage.get('method')} · {calls_summary(outcome.steps)}"
    )
    if outcome.task is not None:
        output.info(f"Task {outcome.task.task.id}: {outcome.task.task.status}")

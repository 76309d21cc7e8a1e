"""Workflow commands: ``aio init | plan | tasks | next | implement | review | verify``.

Parsing and rendering only; the logic is in ``ai_orchestrator.workflow``. FEATURE may be
omitted when a current feature is set (``aio switch``). Under ``--json`` stdout carries one
JSON document; messages and progress always go to stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from ai_orchestrator.cli import output
from ai_orchestrator.cli.render_workflow import hooks, plan_json, print_plan
from ai_orchestrator.core.errors import EXIT_FAILURE, InvalidInput

_F = TypeVar("_F", bound=Callable[..., Any])
json_option = click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
session_options = [
    click.option("--no-session", is_flag=True, help="Fresh conversation per call (recorded)."),
    click.option("--new-session", is_flag=True, help="Replace the stored conversation."),
]


def max_cost_option(
    help: str = "Budget in USD for the feature (exit 3 when reached; default: config).",
) -> Callable[[_F], _F]:
    return click.option(
        "--max-cost", type=click.FloatRange(min=0, min_open=True), default=None, help=help
    )


def with_session_options(func: Any) -> Any:
    for option in reversed(session_options):
        func = option(func)
    return func


def _check_session_flags(no_session: bool, new_session: bool) -> None:
    if no_session and new_session:
        raise InvalidInput("--no-session and --new-session cannot be combined")


@click.command("init")
@click.argument("feature")
@click.argument("description", required=False, default="")
@click.option("--no-switch", is_flag=True, help="Do not make FEATURE the current feature.")
def init_cmd(feature: str, description: str, no_switch: bool) -> None:
    """Create FEATURE in the project's .aio/ workspace (and the workspace on first use)."""
    from ai_orchestrator.workflow.model.feature import init_feature
    from ai_orchestrator.workflow.project.workspace import Workspace

    ws = Workspace.find(for_init=True)
    result = init_feature(ws, feature, description)
    if not no_switch:
        ws.set_current(feature)
    if result.config_written:
        output.info(f"Wrote {ws.config_file} (commented defaults; review the test command)")
    output.info(f"Feature initialized: {feature}")
    _report_test_command(ws.project_root)
    click.echo(str(result.paths.root))


def _report_test_command(root: Path) -> None:
    """Say whether the test command can run (a dry run); never fails ``aio init``."""
    from ai_orchestrator.workflow.project.testcheck import check_project

    check = check_project(root)
    if check.status == "failed":
        output.warn(check.line())
    else:
        output.info(check.line())


@click.command("plan")
@click.argument("args", nargs=-1, required=True)
@click.option(
    "--agent", "-a", default=None, help="Planner agent (default: config, gemini → claude)."
)
@click.option("--model", "-m", default=None, help="Model for the planner.")
@click.option("--full-context", is_flag=True, help="Include the repository's files in the prompt.")
@click.option(
    "--retry",
    type=click.IntRange(min=0, max=10),
    default=0,
    show_default=True,
    help="Retries per planner before falling back.",
)
@max_cost_option()
@with_session_options
@json_option
def plan_cmd(
    args: tuple[str, ...],
    agent: str | None,
    model: str | None,
    full_context: bool,
    retry: int,
    max_cost: float | None,
    no_session: bool,
    new_session: bool,
    as_json: bool,
) -> None:
    """[FEATURE] PROMPT: create or refine the plan in session plan-FEATURE."""
    from ai_orchestrator.workflow.phases.plan import PlanOptions, run_plan
    from ai_orchestrator.workflow.project.workspace import Workspace
    from ai_orchestrator.workflow.runctx import open_feature

    if len(args) > 2:
        raise InvalidInput("expected [FEATURE] PROMPT (quote the prompt)")
    feature, prompt = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    if feature is None and prompt in Workspace.find().feature_ids():
        raise InvalidInput(f'planning prompt required: aio plan {prompt} "PROMPT"')
    if not prompt.strip():
        raise InvalidInput("the planning prompt is empty")
    _check_session_flags(no_session, new_session)
    ctx = open_feature(feature, hooks(live=not as_json))
    opts = PlanOptions(
        agent=agent,
        model=model,
        full_context=full_context,
        retry=retry,
        no_session=no_session,
        new_session=new_session,
        max_cost=max_cost,
    )
    outcome = run_plan(ctx, prompt, opts)
    if outcome.kept_statuses:
        output.info(f"Kept the status of {len(outcome.kept_statuses)} existing task(s)")
    output.info(f"Plan saved to: {ctx.paths.plan_file}")
    if as_json:
        output.emit_json(plan_json(outcome.plan, ctx.feature_id))
    else:
        print_plan(outcome.plan, f"Plan for {ctx.feature_id}")


@click.command("tasks")
@click.argument("feature", required=False)
@json_option
def tasks_cmd(feature: str | None, as_json: bool) -> None:
    """List the tasks of FEATURE's plan with their status."""
    from ai_orchestrator.workflow.model.feature import load_plan
    from ai_orchestrator.workflow.runctx import open_feature

    ctx = open_feature(feature)
    plan = load_plan(ctx.paths)
    assert plan is not None
    if as_json:
        output.emit_json(plan_json(plan, ctx.feature_id))
    else:
        print_plan(plan, f"Tasks of {ctx.feature_id}")


@click.command("next")
@click.argument("feature", required=False)
@json_option
def next_cmd(feature: str | None, as_json: bool) -> int:
    """The next ready task of FEATURE (all its dependencies completed)."""
    from ai_orchestrator.workflow.model.feature import load_plan
    from ai_orchestrator.workflow.runctx import open_feature

    ctx = open_feature(feature)
    plan = load_plan(ctx.paths)
    assert plan is not None
    task = plan.next_task()
    if as_json:
        output.emit_json(
            {
                "schema_version": 1,
                "feature_id": ctx.feature_id,
                "task": task.to_dict() if task else None,
                "all_completed": plan.counts()["completed"] == plan.counts()["total"],
            }
        )
    elif task is None:
        done = plan.counts()["completed"] == plan.counts()["total"]
        output.info("All tasks are completed." if done else "No task is ready (blocked).")
    else:
        click.echo(f"{task.id}  {task.title}  [{task.status}]")
        output.info(f"Run: aio implement {ctx.feature_id} --task {task.id}")
    return 0


@click.command("implement")
@click.argument("feature", required=False)
@click.option("--task", "task_id", required=True, help="Task id, e.g. T1.1.")
@click.option("--tdd", is_flag=True, help="Red → green → refactor.")
@click.option("--no-tests", is_flag=True, help="Implement only (not recommended).")
@click.option("--atdd", is_flag=True, hidden=True, help="Acceptance tests first (the default).")
@click.option("--agent", "-a", default=None, help="Agent (default: config, claude).")
@click.option("--model", "-m", default=None, help="Model (default: $AI_MODEL, else config).")
@click.option(
    "--max-turns",
    type=click.IntRange(min=1),
    default=None,
    help="Limit on agent turns per call (default: config; claude only).",
)
@click.option(
    "--fix-rounds",
    type=click.IntRange(min=0),
    default=None,
    help="Follow-ups with failing output (default: config, 2).",
)
@click.option("--force", is_flag=True, help="Ignore unmet dependencies / rerun a completed task.")
@max_cost_option()
@with_session_options
@json_option
def implement_cmd(
    feature: str | None,
    task_id: str,
    tdd: bool,
    no_tests: bool,
    atdd: bool,
    agent: str | None,
    model: str | None,
    max_turns: int | None,
    fix_rounds: int | None,
    force: bool,
    max_cost: float | None,
    no_session: bool,
    new_session: bool,
    as_json: bool,
) -> None:
    """Implement one task test-first in session implement-FEATURE."""
    from ai_orchestrator.workflow.phases.implement import ImplementOptions, Mode, run_implement
    from ai_orchestrator.workflow.runctx import open_feature

    chosen = [name for name, flag in (("atdd", atdd), ("tdd", tdd), ("no-tests", no_tests)) if flag]
    if len(chosen) > 1:
        raise InvalidInput(" and ".join(f"--{m}" for m in chosen) + " cannot be combined")
    _check_session_flags(no_session, new_session)
    ctx = open_feature(feature, hooks(live=not as_json))
    opts = ImplementOptions(
        mode=cast(Mode, chosen[0] if chosen else "atdd"),
        agent=agent,
        model=model,
        max_turns=max_turns,
        fix_rounds=fix_rounds,
        force=force,
        max_cost=max_cost,
        no_session=no_session,
        new_session=new_session,
    )
    outcome = run_implement(ctx, task_id, opts)
    summary = {
        "schema_version": 1,
        "feature_id": ctx.feature_id,
        "task": outcome.task.to_dict(),
        "mode": outcome.mode,
        "cost": round(outcome.cost, 6),
        "steps": outcome.steps,
        "test_runs": [r.to_dict() for r in outcome.test_runs],
    }
    if as_json:
        output.emit_json(summary)
    else:
        output.info(
            f"Session summary: {len(outcome.steps)} agent call(s) · ${outcome.cost:.4f} · "
            f"{len(outcome.test_runs)} test run(s)"
        )


@click.command("review")
@click.argument("args", nargs=-1)
@click.option("--architecture", is_flag=True, help="Review the architecture documents.")
@click.option(
    "--focus", type=click.Choice(["security", "performance", "scalability"]), default=None
)
@click.option("--agent", "-a", default=None, help="Reviewer agent (default: config, claude).")
@click.option("--model", "-m", default=None, help="Model (default: $AI_MODEL, else config).")
@max_cost_option()
@with_session_options
@json_option
def review_cmd(
    args: tuple[str, ...],
    architecture: bool,
    focus: str | None,
    agent: str | None,
    model: str | None,
    max_cost: float | None,
    no_session: bool,
    new_session: bool,
    as_json: bool,
) -> int:
    """[FEATURE] [FILES…]: review files (default: the uncommitted change) in review-FEATURE."""
    from ai_orchestrator.workflow.phases.review import run_review
    from ai_orchestrator.workflow.project.workspace import Workspace
    from ai_orchestrator.workflow.runctx import open_feature

    _check_session_flags(no_session, new_session)
    files = list(args)
    if "" in files:
        raise InvalidInput("invalid FEATURE or FILE '': leave it out or name one")
    feature = None
    if files and files[0] in Workspace.find().feature_ids():
        feature = files.pop(0)
    ctx = open_feature(feature, hooks(live=not as_json))
    outcome = run_review(
        ctx,
        files,
        architecture=architecture,
        focus=focus,
        agent=agent,
        model=model,
        no_session=no_session,
        new_session=new_session,
        max_cost=max_cost,
    )
    if as_json:
        output.emit_json(
            {
                "schema_version": 1,
                "feature_id": ctx.feature_id,
                "summary": outcome.summary,
                "counts": outcome.counts,
                "findings": outcome.findings,
                "artifact": str(outcome.artifact),
            }
        )
    else:
        from rich.table import Table

        if outcome.summary:
            output.out().print(outcome.summary)
        table = Table(title=f"Review of {ctx.feature_id}", title_justify="left")
        for column in ("Severity", "File", "Line", "Message"):
            table.add_column(column, overflow="fold")
        for f in outcome.findings:
            table.add_row(f["severity"], f["file"] or "-", str(f["line"] or "-"), f["message"])
        output.out().print(table)
        output.out().print(" · ".join(f"{k}: {v}" for k, v in outcome.counts.items()))
        output.info(f"Review saved to: {outcome.artifact}")
    if outcome.critical:
        output.warn(f"{outcome.critical} critical finding(s)")
        return EXIT_FAILURE
    return 0


@click.command("verify")
@click.argument("feature", required=False)
@click.option("--ci", is_flag=True, help="Write artifacts/test-results.xml (JUnit).")
@click.option(
    "--agent",
    "with_agent",
    is_flag=True,
    help="Also let a fresh agent check the acceptance criteria against the diff.",
)
@click.option("--agent-name", default=None, help="Agent for --agent (default: config).")
@click.option("--model", "-m", default=None, help="Model for --agent.")
@max_cost_option("Budget in USD for the feature, for --agent (exit 3 when reached).")
@json_option
def verify_cmd(
    feature: str | None,
    ci: bool,
    with_agent: bool,
    agent_name: str | None,
    model: str | None,
    max_cost: float | None,
    as_json: bool,
) -> int:
    """Run the tests in a fresh context (never a resumed session) and report."""
    from ai_orchestrator.workflow.phases.verify import run_verify
    from ai_orchestrator.workflow.runctx import open_feature

    for flag, value in (("--agent-name", agent_name), ("--model", model), ("--max-cost", max_cost)):
        if value is not None and not with_agent:
            raise InvalidInput(f"{flag} only applies to the agent check: add --agent")
    ctx = open_feature(feature, hooks(live=not as_json))
    outcome = run_verify(
        ctx, ci=ci, with_agent=with_agent, agent=agent_name, model=model, max_cost=max_cost
    )
    run = outcome.run
    if as_json:
        output.emit_json(
            {
                "schema_version": 1,
                "feature_id": ctx.feature_id,
                "ok": outcome.ok,
                "tests": run.to_dict(),
                "ci_xml": str(outcome.ci_path or "") or None,
                "agent_check": outcome.agent_check,
            }
        )
    else:
        click.echo(f"Tests:    {run.total} total")
        click.echo(f"Passed:   {run.passed}")
        click.echo(f"Failed:   {run.failed}")
        if run.errors:  # pytest's errors (a broken fixture, a collection error) are not failures
            click.echo(f"Errors:   {run.errors}")
        click.echo(f"Skipped:  {run.skipped}")
        click.echo(f"Duration: {run.duration_ms / 1000:.2f}s")
        result = "PASS" if outcome.ok else "FAIL" if run.evidence().ran else "COULD NOT RUN"
        click.echo(f"Result:   {result} ({run.summary()})")
        if outcome.agent_check is not None:
            click.echo(f"Agent verdict: {outcome.agent_check.get('verdict')}")
            for item in outcome.agent_check.get("criteria") or []:
                if isinstance(item, dict):
                    mark = "ok " if item.get("met") else "NOT"
                    click.echo(f"  [{mark}] {item.get('task', '')} {item.get('criterion', '')}")
        if outcome.ci_path:
            output.info(f"Test results written to: {outcome.ci_path}")
        if not run.evidence().ran:
            from ai_orchestrator.workflow.project.evidence import FIX

            output.warn(f"the tests could not run: {FIX}")
        output.info(f"Log: {run.log_path}")
    return 0 if outcome.ok else EXIT_FAILURE

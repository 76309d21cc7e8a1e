"""Workflow commands: ``aio init | plan | tasks | next | implement | review``
(``verify`` is ``cli.verify``).

Parsing and rendering only; the logic is in ``ai_orchestrator.workflow``. FEATURE may be
omitted when a current feature is set (``aio switch``). Under ``--json`` stdout carries one
JSON document; messages and progress always go to stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ai_orchestrator.agents.registry import DEFAULT_AGENT
from ai_orchestrator.cli import output
from ai_orchestrator.cli.render_workflow import calls_summary, hooks, plan_json, print_plan
from ai_orchestrator.cli.tables import plural
from ai_orchestrator.core.errors import AlreadyReported, InvalidInput
from ai_orchestrator.core.schema import versioned

if TYPE_CHECKING:
    from ai_orchestrator.workflow.testing.tasktests import PinnedReport

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


timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    metavar="S",
    help="Seconds per agent call (0: none; default: the phase's timeout in config.toml).",
)


def with_session_options(func: Any) -> Any:
    for option in reversed(session_options):
        func = option(func)
    return func


def _check_session_flags(no_session: bool, new_session: bool) -> None:
    if no_session and new_session:
        raise InvalidInput("--no-session and --new-session cannot be combined")


@output.writes
@click.command("init")
@click.argument("feature")
@click.argument("description", required=False, default="")
@click.option("--no-switch", is_flag=True, help="Do not make FEATURE the current feature.")
@click.option("--template", "template", default=None, metavar="NAME",
              help="Start from session template NAME (aio template list).")
@click.option("--from", "other", default=None, metavar="OTHER",
              help="Its plan/implement conversations start from feature OTHER's.")
def init_cmd(
    feature: str, description: str, no_switch: bool, template: str | None, other: str | None
) -> None:
    """Create FEATURE in the project's .aio/ workspace (and the workspace on first use)."""
    from ai_orchestrator.store import SessionStore
    from ai_orchestrator.workflow.model.feature import init_feature
    from ai_orchestrator.workflow.model.origin import prepare_origin, set_origin
    from ai_orchestrator.workflow.project.workspace import Workspace

    ws = Workspace.find(for_init=True)
    found = None
    if template is not None or other is not None:  # refused before anything is created
        found = prepare_origin(ws, SessionStore(), feature, template, other)
    result = init_feature(ws, feature, description)
    if found is not None or other is not None:
        set_origin(result.paths, template=found, linked_from=other)
    if not no_switch:
        ws.set_current(feature)
    if result.config_written:
        output.info(f"Wrote {ws.config_file} (commented defaults; review the test command)")
    output.info(f"Feature initialized: {feature}")
    if found is not None:
        output.info(f"From template {found['name']}: its settings, budget and preamble apply")
    if other is not None:
        output.info(f"Linked to {other}: new plan/implement conversations start from its")
    _report_test_command(ws.project_root)
    output.info(f'Next: aio plan {feature} "PROMPT"')
    click.echo(str(result.paths.root))


def _report_test_command(root: Path) -> None:
    """Say whether the test command can run (a dry run); never fails ``aio init``."""
    from ai_orchestrator.workflow.project.configcheck import check_project

    check = check_project(root)
    if check.status == "failed":
        output.warn(check.line())
    else:
        output.info(check.line())


@output.writes
@click.command("plan")
@click.argument("args", nargs=-1, required=True)
@click.option(
    "--agent",
    "-a",
    default=None,
    help=f"Planner agent (default: config, else `auto`: the first installed of the planners the "
    f"backends rank, then {DEFAULT_AGENT}).",
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
@timeout_option
@with_session_options
@json_option
def plan_cmd(
    args: tuple[str, ...],
    agent: str | None,
    model: str | None,
    full_context: bool,
    retry: int,
    max_cost: float | None,
    timeout: float | None,
    no_session: bool,
    new_session: bool,
    as_json: bool,
) -> None:
    """[FEATURE] PROMPT: create or refine the plan in session plan-FEATURE."""
    from ai_orchestrator.workflow.hints import next_step
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
    ctx = open_feature(feature, hooks(live=not as_json), timeout=timeout)
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
        output.info(next_step(ctx.feature_id, outcome.plan, ctx.config))


@output.reads
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


@output.reads
@click.command("next")
@click.argument("feature", required=False)
@json_option
def next_cmd(feature: str | None, as_json: bool) -> int:
    """The next ready task of FEATURE (all its dependencies completed)."""
    from ai_orchestrator.workflow.hints import next_step
    from ai_orchestrator.workflow.model.feature import load_plan
    from ai_orchestrator.workflow.runctx import open_feature

    ctx = open_feature(feature)
    plan = load_plan(ctx.paths)
    assert plan is not None
    task = plan.next_task()
    if as_json:
        output.emit_json(
            versioned({
                "feature_id": ctx.feature_id,
                "task": task.to_dict() if task else None,
                "all_completed": plan.counts()["completed"] == plan.counts()["total"],
            })
        )
    elif task is None:
        done = plan.counts()["completed"] == plan.counts()["total"]
        output.info("All tasks are completed." if done else "No task is ready (blocked).")
    else:
        click.echo(f"{task.id}  {task.title}  [{task.status}]")
        output.info(next_step(ctx.feature_id, plan, ctx.config))
    return 0


@output.writes
@click.command("implement")
@click.argument("feature", required=False)
@click.option("--task", "task_id", required=True, help="Task id, e.g. T1.1.")
@click.option("--tdd", is_flag=True, help="Red → green → refactor.")
@click.option("--no-tests", is_flag=True, help="Implement only (not recommended).")
@click.option("--atdd", is_flag=True, hidden=True, help="Acceptance tests first (the default).")
@click.option("--agent", "-a", default=None, help=f"Agent (default: config, {DEFAULT_AGENT}).")
@click.option("--model", "-m", default=None, help="Model (default: $AI_MODEL, else config).")
@click.option(
    "--max-turns",
    type=click.IntRange(min=1),
    default=None,
    help="Limit on agent turns per call (default: config; agents whose CLI has a turn limit).",
)
@click.option(
    "--fix-rounds",
    type=click.IntRange(min=0),
    default=None,
    help="Follow-ups with failing output (default: config, 2).",
)
@click.option("--force", is_flag=True, help="Ignore unmet dependencies / rerun a completed task.")
@click.option(
    "--escalate-to",
    default=None,
    help="When the fix rounds run out, hand over to this agent or model and go on.",
)
@click.option(
    "--accept-test-changes",
    is_flag=True,
    help="Accept edits to the tests pinned at red as deliberate (recorded in the history).",
)
@max_cost_option()
@timeout_option
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
    escalate_to: str | None,
    accept_test_changes: bool,
    max_cost: float | None,
    timeout: float | None,
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
    if accept_test_changes and no_tests:
        raise InvalidInput("--accept-test-changes is about the pinned tests: not with --no-tests")
    if escalate_to is not None and no_tests:
        raise InvalidInput("--escalate-to acts when the fix rounds run out: not with --no-tests")
    ctx = open_feature(feature, hooks(live=not as_json), timeout=timeout)
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
        escalate_to=escalate_to,
        accept_test_changes=accept_test_changes,
    )
    outcome = run_implement(ctx, task_id, opts)
    summary = versioned({
        "feature_id": ctx.feature_id,
        "task": outcome.task.to_dict(),
        "mode": outcome.mode,
        "cost": round(outcome.cost, 6),
        "steps": outcome.steps,
        "test_runs": [r.to_dict() for r in outcome.test_runs],
        "escalated_from": outcome.escalation,
        "pinned": outcome.pinned,
        "accepted_test_changes": outcome.accepted,
    })
    if as_json:
        output.emit_json(summary)
    else:
        output.info(
            f"Session summary: {calls_summary(outcome.steps)} · "
            f"{plural(len(outcome.test_runs), 'test run')}"
        )


@output.writes
@click.command("review")
@click.argument("args", nargs=-1)
@click.option("--architecture", is_flag=True, help="Review the architecture documents.")
@click.option(
    "--focus", type=click.Choice(["security", "performance", "scalability"]), default=None
)
@click.option(
    "--agent", "-a", default=None, help=f"Reviewer agent (default: config, {DEFAULT_AGENT})."
)
@click.option("--model", "-m", default=None, help="Model (default: $AI_MODEL, else config).")
@click.option(
    "--compare",
    nargs=2,
    default=None,
    metavar="A B",
    help="With --architecture: two reviewers (agent, model or agent:model), side by side.",
)
@max_cost_option()
@timeout_option
@with_session_options
@json_option
def review_cmd(
    args: tuple[str, ...],
    architecture: bool,
    focus: str | None,
    agent: str | None,
    model: str | None,
    compare: tuple[str, str] | None,
    max_cost: float | None,
    timeout: float | None,
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
    if compare is not None:
        from ai_orchestrator.cli.render_compare import review_compare

        flags: dict[str, object] = {"FILES": files, "--agent": agent, "--model": model}
        flags.update({"--no-session": no_session, "--new-session": new_session})
        given = [name for name, value in flags.items() if value]
        if not architecture or given:
            raise InvalidInput(
                "--compare A B goes with --architecture"
                + (f", not with {', '.join(given)}" if given else "")
            )
        ctx = open_feature(feature, hooks(live=not as_json), timeout=timeout)
        return review_compare(ctx, compare, focus, max_cost, as_json)
    ctx = open_feature(feature, hooks(live=not as_json), timeout=timeout)
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
            versioned({
                "feature_id": ctx.feature_id,
                "summary": outcome.summary,
                "counts": outcome.counts,
                "findings": outcome.findings,
                "artifact": str(outcome.artifact),
                "pinned": [p.to_dict() for p in outcome.pinned],
            })
        )
    else:
        from rich.table import Table

        if outcome.summary:
            output.out().print(outcome.summary)
        # The title on its own line: rich pads a table's title to the table's width.
        table_title = f"Review of {ctx.feature_id}"
        table = Table()
        for column in ("Severity", "File", "Line", "Message"):
            table.add_column(column, overflow="fold")
        for f in outcome.findings:
            table.add_row(f["severity"], f["file"] or "-", str(f["line"] or "-"), f["message"])
        output.out().print(table_title, markup=False)
        output.out().print(table)
        output.out().print(" · ".join(f"{k}: {v}" for k, v in outcome.counts.items()))
        _pinned_line(outcome.pinned)
        output.info(f"Review saved to: {outcome.artifact}")
    if outcome.critical:
        output.warn(f"{outcome.critical} critical finding(s)")
        raise AlreadyReported("critical findings")
    return 0



def _pinned_line(pinned: list[PinnedReport]) -> None:
    """The tests pinned at red the reviewer was shown, and any changed since red."""
    if not pinned:
        return
    count = sum(len(p.tests) for p in pinned)
    tasks = ", ".join(f"{p.task}: {len(p.tests)}" for p in pinned)
    output.info(f"Pinned tests shown to the reviewer: {count} ({tasks})")
    for report in pinned:
        for change in report.changes:
            output.warn(f"{report.task}: {change}")

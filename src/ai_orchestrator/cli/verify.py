"""``aio verify``: run the tests in a fresh context, select them, measure coverage, watch.

Parsing and rendering only: the run is ``workflow.phases.verify``, the selection
``workflow.project.testselect``, discovery ``workflow.project.discover`` and the polling
``workflow.phases.watch``. Under ``--json`` stdout carries one JSON document per run (one
per line with ``--watch``); messages go to stderr. ``--watch`` runs until Ctrl-C (exit 130).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ai_orchestrator.cli import output
from ai_orchestrator.cli.render_workflow import hooks
from ai_orchestrator.cli.workflow import json_option, max_cost_option, timeout_option
from ai_orchestrator.core.errors import AlreadyReported, CoverageTooLow, InvalidInput
from ai_orchestrator.core.schema import versioned

# ``--agent`` alone: the agent the config names for verify (``--agent NAME`` names one).
CONFIGURED = "\x00configured"

if TYPE_CHECKING:
    from ai_orchestrator.workflow.phases.verify import VerifyOutcome
    from ai_orchestrator.workflow.runctx import FeatureContext
    from ai_orchestrator.workflow.testing.testselect import Selection


@output.writes
@click.command("verify")
@click.argument("feature", required=False)
@click.option("--unit", "kind", flag_value="unit", help="Only the unit tests.")
@click.option("--integration", "kind", flag_value="integration", help="Only integration tests.")
@click.option("--acceptance", "kind", flag_value="acceptance", help="Only acceptance tests.")
@click.option("--all", "kind", flag_value="", help="Every test (the default).")
@click.option("--filter", "pattern", default=None, help="Only tests whose name matches.")
@click.option("--exclude", default=None, help="Leave out tests whose name matches.")
@click.option("--parallel", is_flag=True, help="Run tests in parallel (pytest-xdist, …).")
@click.option("--coverage", is_flag=True, help="Measure coverage (coverage.py, or the config).")
@click.option(
    "--check-coverage",
    type=click.FloatRange(min=0, max=100),
    default=None,
    metavar="PERCENT",
    help="Measure coverage and fail (exit 1) under PERCENT, or when no figure comes out.",
)
@click.option("--discover-only", "--discover", is_flag=True, help="List the tests; run nothing.")
@click.option("--watch", is_flag=True, help="Run again on every file change (Ctrl-C stops).")
@click.option("--ci", is_flag=True, help="Write artifacts/test-results.xml (JUnit).")
@click.option(
    "--agent",
    "-a",
    "agent_choice",
    is_flag=False,
    flag_value=CONFIGURED,
    default=None,
    metavar="[NAME]",
    help="Also let a fresh agent (NAME, as everywhere; alone: the configured one) check the "
    "acceptance criteria against the diff.",
)
@click.option("--agent-name", default=None, hidden=True, help="The same as --agent NAME.")
@click.option("--model", "-m", default=None, help="Model for --agent.")
@max_cost_option("Budget in USD for the feature, for --agent (exit 3 when reached).")
@timeout_option
@json_option
def verify_cmd(
    feature: str | None,
    kind: str | None,
    pattern: str | None,
    exclude: str | None,
    parallel: bool,
    coverage: bool,
    check_coverage: float | None,
    discover_only: bool,
    watch: bool,
    ci: bool,
    agent_choice: str | None,
    agent_name: str | None,
    model: str | None,
    max_cost: float | None,
    timeout: float | None,
    as_json: bool,
) -> int:
    """Run the tests in a fresh context (never a resumed session) and report."""
    from ai_orchestrator.workflow.runctx import open_feature
    from ai_orchestrator.workflow.testing.testselect import Selection

    if agent_name is not None and agent_choice not in (None, CONFIGURED, agent_name):
        raise InvalidInput(f"--agent {agent_choice} and --agent-name {agent_name}: name one agent")
    with_agent = agent_choice is not None or agent_name is not None
    if agent_choice not in (None, CONFIGURED):
        agent_name = agent_choice
    for flag, value in (("--model", model), ("--max-cost", max_cost), ("--timeout", timeout)):
        if value is not None and not with_agent:
            raise InvalidInput(f"{flag} only applies to the agent check: add --agent [NAME]")
    for name, value in (("--filter", pattern), ("--exclude", exclude)):
        if value is not None and not value.strip():
            raise InvalidInput(f"{name}: the pattern is empty")
    coverage = coverage or check_coverage is not None
    selection = Selection(kind or None, pattern, exclude, parallel, coverage)
    if discover_only:
        extra = [f for f, v in (("--watch", watch), ("--ci", ci), ("--agent", with_agent)) if v]
        extra += [f for f, v in (("--parallel", parallel), ("--coverage", coverage)) if v]
        if extra:
            raise InvalidInput(f"--discover-only runs nothing: drop {', '.join(extra)}")
        ctx = open_feature(feature, hooks(live=False))
        return _discover(ctx, selection, as_json)
    ctx = open_feature(feature, hooks(live=not as_json), timeout=timeout)

    def once() -> bool:
        from ai_orchestrator.workflow.phases.verify import run_verify

        outcome = run_verify(
            ctx,
            ci=ci,
            with_agent=with_agent,
            agent=agent_name,
            model=model,
            max_cost=max_cost,
            selection=selection,
        )
        short = coverage_shortfall(outcome.coverage, check_coverage)
        if short:
            outcome.ok = False
            outcome.notes.append(str(short))
        _render(ctx.feature_id, outcome, as_json, compact=watch)
        if short and not watch:
            raise short
        if short:
            output.warn(str(short))
        return outcome.ok

    if not watch:
        if not once():
            raise AlreadyReported("verification failed")
        return 0
    from ai_orchestrator.workflow.phases.watch import snapshot, wait_for_change

    while True:
        before = snapshot(ctx.ws.project_root)  # before the run: edits made during it count
        once()
        output.info("Waiting for file changes... (Ctrl-C to stop)")
        paths, _ = wait_for_change(ctx.ws.project_root, before)
        shown = ", ".join(paths[:3]) + (f" (+{len(paths) - 3} more)" if len(paths) > 3 else "")
        output.info(f"Changed: {shown}")


def coverage_shortfall(
    coverage: dict[str, object] | None, required: float | None
) -> CoverageTooLow | None:
    """How the run misses ``--check-coverage`` (``None`` when it meets it or none was asked)."""
    if required is None:
        return None
    percent = (coverage or {}).get("percent")
    if not isinstance(percent, int | float):
        return CoverageTooLow(required, None)
    if percent < required:
        return CoverageTooLow(required, percent)
    return None


def _discover(ctx: FeatureContext, selection: Selection, as_json: bool) -> int:
    from ai_orchestrator.workflow.testing.discover import discover

    command = ctx.config.test_command
    if not command:
        raise InvalidInput("no test_command in .aio/config.toml: set one to verify")
    found = discover(
        command, ctx.config.tests, selection, ctx.ws.project_root, ctx.config.test_timeout
    )
    if as_json:
        output.emit_json(
            versioned(feature_id=ctx.feature_id, selection=selection.to_dict())
            | found.to_dict()
        )
    else:
        for item in found.items:
            click.echo(item)
        unit = "test(s)" if found.granularity == "test" else "test file(s)"
        output.info(f"{len(found.items)} {unit} would run")
    if found.problem:
        output.warn(f"the tests could not be listed: {found.problem}")
        raise AlreadyReported("the tests could not be listed")
    return 0


def _render(feature_id: str, outcome: VerifyOutcome, as_json: bool, *, compact: bool) -> None:
    run = outcome.run
    if as_json:
        output.emit_json(
            versioned({
                "feature_id": feature_id,
                "ok": outcome.ok,
                "tests": run.to_dict(),
                "coverage": outcome.coverage,
                "notes": outcome.notes,
                "ci_xml": str(outcome.ci_path or "") or None,
                "agent_check": outcome.agent_check,
                "pinned": [p.to_dict() for p in outcome.pinned],
            }),
            compact=compact,
        )
        return
    click.echo(f"Tests:    {run.total} total")
    click.echo(f"Passed:   {run.passed}")
    click.echo(f"Failed:   {run.failed}")
    if run.errors:  # pytest's errors (a broken fixture, a collection error) are not failures
        click.echo(f"Errors:   {run.errors}")
    click.echo(f"Skipped:  {run.skipped}")
    if outcome.coverage is not None:
        percent = outcome.coverage.get("percent")
        click.echo(f"Coverage: {'unknown' if percent is None else f'{percent:.2f}%'}")
    click.echo(f"Duration: {run.duration_ms / 1000:.2f}s")
    _render_pinned(outcome)
    result = "PASS" if outcome.ok else "FAIL" if run.evidence().ran else "COULD NOT RUN"
    detail = run.summary()
    if run.green and not outcome.ok and outcome.agent_check is None:
        from ai_orchestrator.workflow.phases.verify import failure_reason

        detail = failure_reason(outcome)
    click.echo(f"Result:   {result} ({detail})")
    if outcome.agent_check is not None:
        click.echo(f"Agent verdict: {outcome.agent_check.get('verdict')}")
        for item in outcome.agent_check.get("criteria") or []:
            if isinstance(item, dict):
                mark = "ok " if item.get("met") else "NOT"
                click.echo(f"  [{mark}] {item.get('task', '')} {item.get('criterion', '')}")
    if outcome.ci_path:
        output.info(f"Test results written to: {outcome.ci_path}")
    if not run.evidence().ran:
        from ai_orchestrator.workflow.phases.verify import cannot_run_fix

        output.warn(f"the tests could not run: {cannot_run_fix(outcome)}")
    output.info(f"Log: {run.log_path}")


def _render_pinned(outcome: VerifyOutcome) -> None:
    """The tests pinned at red, per task: how many passed, which did not, what changed."""
    if not outcome.pinned:
        return
    rows = [t for p in outcome.pinned for t in p.tests]
    passed = sum(1 for t in rows if t["outcome"] == "passed")
    known = any(t["outcome"] for t in rows)
    tasks = ", ".join(f"{p.task}: {len(p.tests)}" for p in outcome.pinned)
    shown = f"{passed} of {len(rows)} passed" if known else f"{len(rows)} (no per-test results)"
    click.echo(f"Pinned:   {shown} ({tasks})")
    for report in outcome.pinned:
        for test in report.tests:
            if test["outcome"] and test["outcome"] != "passed":
                click.echo(f"  {report.task} {test['test']}: {test['outcome']}")
        for change in report.changes:
            output.warn(f"{report.task}: {change}")

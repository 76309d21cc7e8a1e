"""``aio features [clean]`` and ``aio task set``: parsing and rendering only.

``aio features`` alone still lists the features (``cli.features.features_cmd``); the
logic of ``clean`` and ``task set`` is ``workflow.model.housekeeping``.
"""

from __future__ import annotations

import click

from ai_orchestrator.cli import output
from ai_orchestrator.cli.features import features_cmd, json_option
from ai_orchestrator.core.errors import AlreadyReported, InvalidInput
from ai_orchestrator.core.schema import versioned


@click.group("features", invoke_without_command=True)
@output.wide_option
@json_option
@output.color_option
@click.pass_context
def features_group(ctx: click.Context, wide: bool, as_json: bool) -> None:
    """All features with progress, cost and last activity; `clean` removes or archives."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(features_cmd, wide=wide, as_json=as_json)


@output.writes
@features_group.command("clean")
@click.option("--completed", is_flag=True, help="Features whose tasks are all completed.")
@click.option(
    "--stale",
    "stale_days",
    type=click.FloatRange(min=0),
    default=None,
    metavar="DAYS",
    help="Features without activity for DAYS days.",
)
@click.option("--empty", is_flag=True, help="Features with no tasks, artifacts or history.")
@click.option("--pattern", default=None, metavar="GLOB", help="Feature ids matching GLOB.")
@click.option("--archive", is_flag=True, help="Move to .aio/archive/ instead of deleting.")
@click.option(
    "--preserve-artifacts", is_flag=True, help="Keep artifacts/ (moved to .aio/archive/)."
)
@click.option("--dry-run", is_flag=True, help="Only say what would be done.")
@json_option
def clean_cmd(
    completed: bool,
    stale_days: float | None,
    empty: bool,
    pattern: str | None,
    archive: bool,
    preserve_artifacts: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Delete or archive the features matching every criterion given (at least one).
    Exit 1 when a matching feature was skipped (a run in progress holds its lock)."""
    from ai_orchestrator.workflow.model.housekeeping import CleanCriteria, Mode, clean_features
    from ai_orchestrator.workflow.project.workspace import Workspace

    if archive and preserve_artifacts:
        raise InvalidInput("--archive keeps the artifacts already: drop --preserve-artifacts")
    if pattern is not None and not pattern.strip():
        raise InvalidInput("--pattern: the pattern is empty")
    mode: Mode = "archive" if archive else "preserve-artifacts" if preserve_artifacts else "delete"
    report = clean_features(
        Workspace.find(),
        CleanCriteria(completed, stale_days, empty, pattern),
        mode=mode,
        dry_run=dry_run,
    )
    for item in report.unreadable:
        output.warn(f"feature {item['feature_id']} skipped: {item['error']}")
    skipped = any(entry.skipped_because for entry in report.items)
    if as_json:
        output.emit_json(report.to_dict())
        return _skipped(skipped)
    if not report.items:
        output.info("No feature matches.")
    for entry in report.items:
        if entry.skipped_because:
            output.warn(f"{entry.feature_id}: skipped, {entry.skipped_because}")
            continue
        where = f" → {entry.destination}" if entry.destination else ""
        action = entry.action.replace("_", " ")
        click.echo(f"{entry.feature_id}: {action}{where} ({', '.join(entry.reasons)})")
    return _skipped(skipped)


def _skipped(skipped: bool) -> int:
    if skipped:
        raise AlreadyReported("features were skipped")
    return 0


@click.group("task")
def task_group() -> None:
    """Change a task of a feature's plan by hand."""


@output.writes
@task_group.command("set")
@click.argument("args", nargs=-1, required=True)
@click.option("--status", default=None, help="pending | in_progress | completed | failed")
@click.option(
    "--model",
    default=None,
    metavar="MODEL",
    help="the model implement uses for this task (its --model still wins)",
)
@click.option("--clear-model", is_flag=True, help="drop the task's model (back to the phase's)")
@json_option
def task_set_cmd(
    args: tuple[str, ...], status: str | None, model: str | None, clear_model: bool, as_json: bool
) -> None:
    """[FEATURE] ID [--status S] [--model M]: change a task by hand (recorded in the history)."""
    from ai_orchestrator.workflow.model.housekeeping import TaskEdit, set_task
    from ai_orchestrator.workflow.runctx import open_feature

    if len(args) > 2:
        raise InvalidInput("expected [FEATURE] TASK_ID")
    edit = TaskEdit(status=status, model=model, clear_model=clear_model)
    edit.check()  # before the feature is opened: a bad option is the first thing said
    feature, task_id = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    ctx = open_feature(feature)
    task, previous = set_task(
        ctx.ws, ctx.feature_id, task_id, edit, lock_timeout=ctx.config.lock_timeout
    )
    if as_json:
        output.emit_json(
            versioned({
                "feature_id": ctx.feature_id,
                "task": task.to_dict(),
                **{f"previous_{field}": value for field, value in previous.items()},
            })
        )
        return
    for field, before in previous.items():
        after = getattr(task, field)
        change = f"{before or '(none)'} → {after or '(none)'}"
        output.info(f"{ctx.feature_id} {task.id}: {field} {change}")

"""``aio session clean`` (by age, or by the retention policy), ``pin``/``unpin``, ``compact``,
and the daily automatic policy run every aio command may start (``auto_retention``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ai_orchestrator.cli import output
from ai_orchestrator.cli.session_opts import Days, confirm, json_option
from ai_orchestrator.cli.session_rows import warn_unreadable
from ai_orchestrator.core.errors import InvalidInput, StoreError
from ai_orchestrator.infra.timeutil import parse_iso

if TYPE_CHECKING:  # the store loads in the commands: `session` is imported to complete words
    from ai_orchestrator.store import SessionStore
    from ai_orchestrator.store.lifecycle import CleanPlan, CleanReport
    from ai_orchestrator.store.retention import RetentionPolicy


def _size(value: str | None) -> int | None:
    from ai_orchestrator.store.retention import parse_size

    return None if value is None else parse_size(value, "--max-size")


def _policy(
    max_age: float | None, max_count: int | None, max_size: str | None, archive: bool | None
) -> RetentionPolicy:
    """The configured policy with the flags given on top of it."""
    from ai_orchestrator.store.retention import RetentionPolicy, load_policy

    base = load_policy()
    return RetentionPolicy(
        max_age_days=base.max_age_days if max_age is None else max_age,
        max_count=base.max_count if max_count is None else max_count,
        max_total_bytes=base.max_total_bytes if max_size is None else _size(max_size),
        archive=base.archive if archive is None else archive,
        auto=base.auto,
    )


@output.writes
@click.command("clean")
@click.option(
    "--older-than",
    "older_than",
    type=Days(allow_zero=True),
    help="Remove sessions last used at least this many days ago.",
)
@click.option("--policy", is_flag=True, help="Apply the retention policy ([retention] in config).")
@click.option("--max-age", type=Days(allow_zero=True), help="Policy: override max_age_days.")
@click.option(
    "--max-count", type=click.IntRange(0, 10**9), help="Policy: override max_count."
)
@click.option("--max-size", help='Policy: override max_total_size (bytes, or e.g. "2GB").')
@click.option(
    "--archive/--no-archive",
    default=None,
    help="Policy: export each removed session into SESSION_DIR/archive/<date>/ first.",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("--yes", "-y", "--force", "yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def clean_cmd(
    older_than: float | None,
    policy: bool,
    max_age: float | None,
    max_count: int | None,
    max_size: str | None,
    archive: bool | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Remove sessions not used for DAYS days, or those the retention policy removes
    (--policy); never one that is in use or pinned.

    Without --yes it asks; with stdin not a terminal and no answer on it, nothing is
    removed.
    """
    overrides = (max_age, max_count, max_size, archive)
    if policy == (older_than is not None):
        raise InvalidInput("name either --older-than DAYS or --policy")
    if not policy and any(v is not None for v in overrides):
        raise InvalidInput("--max-age, --max-count, --max-size and --archive go with --policy")
    from ai_orchestrator.store import SessionStore
    from ai_orchestrator.store.lifecycle import clean, plan_clean
    from ai_orchestrator.store.retention import PinGuard, apply_policy, plan_policy

    store = SessionStore()
    rules: RetentionPolicy | None = None
    if policy:
        rules = _policy(*overrides)
        if not rules.limits():
            raise InvalidInput(
                "the retention policy sets no limit: set max_age_days, max_count or "
                "max_total_size under [retention] in the config file, or give --max-age, "
                "--max-count or --max-size"
            )
        plan = plan_policy(store, rules)
    else:
        assert older_than is not None
        plan = plan_clean(store, older_than)
    warn_unreadable(plan.errors)
    if not as_json:
        _print_plan(plan)
    if dry_run:
        if as_json:
            output.emit_json(plan.report(dry_run=True).to_dict())
        elif plan.candidates:
            output.info(
                f"Would remove: {len(plan.candidates)} session(s) (dry run, nothing removed)"
            )
        return
    count = len(plan.candidates)
    if count and not yes and not confirm(f"Remove {count} session(s)?"):
        output.info("Cancelled: nothing removed.")
        if as_json:
            output.emit_json(plan.report(dry_run=False).to_dict())
        return
    from ai_orchestrator.calls.repair import settle_pending

    progress = None if as_json else _print_cleaned
    settle = lambda session_name: settle_pending(store, session_name)  # noqa: E731
    if rules is not None:
        report = apply_policy(store, plan, rules, progress=progress, settle=settle)
    else:
        report = clean(store, plan, progress=progress, settle=settle, guard=PinGuard(store))
    if as_json:
        output.emit_json(report.to_dict())
    else:
        for item in report.recovered:
            output.info(f"{item['session_name']}: {item['note']}")
        for item in report.archived:
            output.info(f"archived {item['session_name']} in {item['path']}")
        output.info(f"Removed: {len(report.removed)} session(s)")
    if report.failed:
        raise StoreError(
            f"clean incomplete: {len(report.failed)} session(s) could not be removed "
            f"({', '.join(report.failed)}); fix the cause and run clean again"
        )


def _print_plan(plan: CleanPlan) -> None:
    for item in plan.not_aio:
        output.info(f"Not aio's, left alone: {item['name']} ({item['reason']})")
    if plan.policy is None:
        output.info(f"Sessions last used {plan.older_than:g}+ days ago: {len(plan.candidates)}")
        for row in plan.candidates:
            output.info(
                f"  - {row.name} (last used {output.age(parse_iso(row.last_activity), plan.now)})"
            )
        return
    for item in plan.exempt:
        output.info(f"Exempt: {item['session_name']} ({item['reason']})")
    output.info(f"Sessions the retention policy removes: {len(plan.candidates)}")
    for row in plan.candidates:
        output.info(f"  - {row.name}: {plan.reasons[row.name]}")


def _print_cleaned(name: str, reason: str) -> None:
    if reason:
        output.warn(f"kept {name}: {reason}")
    else:
        click.echo(f"removed {name}")


@output.writes
@click.command("pin")
@click.argument("name", required=False)
@json_option
def pin_cmd(name: str | None, as_json: bool) -> None:
    """Exempt session NAME from retention policies and delete; without NAME, list pins."""
    from ai_orchestrator.store import SessionStore
    from ai_orchestrator.store.retention import pins

    store = SessionStore()
    if name is None:
        found = pins(store)
        if as_json:
            output.emit_json({"pins": [{"session_name": n, "pinned_at": at}
                                        for n, at in found.items()]})  # fmt: skip
        else:
            for pinned, at in found.items():
                click.echo(f"{pinned}\t(pinned {at})")
        return
    _pinned(store, name, True, as_json)


@output.writes
@click.command("unpin")
@click.argument("name")
@json_option
def unpin_cmd(name: str, as_json: bool) -> None:
    """Let retention policies and delete remove session NAME again."""
    from ai_orchestrator.store import SessionStore

    _pinned(SessionStore(), name, False, as_json)


def _pinned(store: SessionStore, name: str, pinned: bool, as_json: bool) -> None:
    from ai_orchestrator.store.retention import set_pin

    changed = set_pin(store, name, pinned)
    word = "pinned" if pinned else "unpinned"
    if as_json:
        output.emit_json({"session_name": name, "pinned": pinned, "changed": changed})
    else:
        output.info(f"{name}: {word}" if changed else f"{name}: already {word}")


def auto_retention() -> None:
    """The daily automatic policy run (``store.retention.apply_auto``), if due: says what
    it removed on stderr; a failure is one warning line, never the command's failure."""
    from ai_orchestrator.store import SessionStore
    from ai_orchestrator.store.retention import apply_auto

    store = SessionStore()
    try:
        from ai_orchestrator.calls.repair import settle_pending

        report = apply_auto(store, settle=lambda n: settle_pending(store, n))
    except Exception as exc:  # housekeeping must never fail the command
        output.warn(f"the automatic retention policy did not run: {exc}")
        return
    if report is not None:
        _say_auto(report)


def _say_auto(report: CleanReport) -> None:
    if not report.candidates:
        return
    removed = ", ".join(report.removed) or "none"
    line = f"retention policy (daily): removed {len(report.removed)} session(s): {removed}"
    if report.archived:
        line += f" (archived under {report.archived[0]['path'].rsplit('/', 2)[0]})"
    output.info(line)
    for item in report.skipped:
        output.warn(f"retention policy kept {item['session_name']}: {item['reason']}")


@output.writes
@click.command("compact")
@click.argument("name")
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds each call may take.")
@json_option
def compact_cmd(name: str, timeout: float | None, as_json: bool) -> None:
    """Compact session NAME's conversation now: the agent's own compaction (Claude:
    /compact), else a new conversation primed with a hand-over the agent writes."""
    from pathlib import Path

    from ai_orchestrator.calls.compaction import compact
    from ai_orchestrator.calls.options import CallOptions
    from ai_orchestrator.calls.session_call import Notice
    from ai_orchestrator.core.names import parse_session_name
    from ai_orchestrator.store import SessionStore

    session = parse_session_name(name)
    store = SessionStore()
    summary = store.load(session).summary
    options = CallOptions(
        agent=summary.agent or "",
        cwd=Path(summary.agent_cwd or Path.cwd()),
        model=summary.model,
        timeout=timeout,
    )

    def notice(item: Notice) -> None:
        (output.warn if item.warning else output.info)(f"{session.name}: {item.text}")

    done = compact(store, session, options, trigger="manual", notify=output.info,
                   on_notice=notice)  # fmt: skip
    if as_json:
        output.emit_json(done.to_dict())

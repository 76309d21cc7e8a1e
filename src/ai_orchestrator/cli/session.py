"""``aio session …`` (also installed as ``ai-session``): manage the stored sessions."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ai_orchestrator.cli import output
from ai_orchestrator.cli.render import (
    print_list,
    print_show,
    print_stats,
)
from ai_orchestrator.errors import InvalidInput, NotFound, SessionBusy
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.index import SessionRow, SummaryIndex
from ai_orchestrator.store.stats import (
    GROUP_KEYS,
    SORT_KEYS,
    active_cutoff,
    compute_stats,
    sort_rows,
)
from ai_orchestrator.store.timeutil import parse_iso
from ai_orchestrator.store.transfer import (
    apply_import,
    iter_export,
    migrate_store,
    plan_import,
    write_csv_export,
    write_json_export,
)

json_option = click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
days_option = click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True),
    default=30,
    show_default=True,
    help="Window for 'active': used within this many days.",
)


def _store() -> SessionStore:
    return SessionStore()


def _rows(store: SessionStore) -> list[SessionRow]:
    rows, errors = SummaryIndex(store).rows()
    for name, problem in errors:
        output.warn(f"{name}: skipped: {problem}")
    return rows


def _warn_problems(rows: list[SessionRow]) -> None:
    for row in rows:
        for problem in row.problems:
            output.warn(f"{row.name}: {problem}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def session() -> None:
    """Manage stored agent sessions (SESSION_DIR, default ~/.ai-sessions)."""


@session.command("list")
@click.option("--active", is_flag=True, help="Only sessions used within --days days.")
@days_option
@click.option("--sort", "sort_key", type=click.Choice(SORT_KEYS), default="date", show_default=True)
@json_option
def list_cmd(active: bool, days: float, sort_key: str, as_json: bool) -> None:
    """List sessions with their age, tokens and cost."""
    store = _store()
    rows = _rows(store)
    now = datetime.now(UTC)
    cutoff = active_cutoff(days, now)
    active_rows = [r for r in rows if (r.last_activity or "") > cutoff]
    active_count = len(active_rows)
    shown = active_rows if active else rows
    shown = sort_rows(shown, sort_key)
    if as_json:
        header = json.dumps(
            {
                "schema_version": 1,
                "session_dir": str(store.root),
                "total_sessions": len(rows),
                "active_sessions": active_count,
                "active_days": days,
            },
            ensure_ascii=False,
        )
        # The rows already hold each session's JSON document: splice, don't re-encode.
        sessions = ",\n".join(r.doc for r in shown)
        sys.stdout.write(f'{header[:-1]}, "sessions": [{sessions}]}}\n')
        sys.stdout.flush()
        return
    _warn_problems(shown)
    if not rows:
        output.info(f"No sessions found in {store.root}.")
        return
    print_list(shown, store.root, len(rows), active_count, days, now)


@session.command("show")
@click.argument("name")
@click.option("--last", type=click.IntRange(min=0), default=5, show_default=True)
@json_option
def show_cmd(name: str, last: int, as_json: bool) -> None:
    """Show one session: summary, token breakdown, cost, recent interactions, lock holder."""
    from ai_orchestrator.accounting.savings import session_accounting

    store = _store()
    view = store.load(name)
    log = store.read_log(name)
    recent = log.records[-last:] if last else []
    holder = store.holder(name)
    accounting = session_accounting(view.summary, log.records)
    if as_json:
        data = view.to_dict()
        data["busy"] = holder is not None
        data["holder"] = holder.to_dict() if holder else None
        data["cache_read_share"] = accounting["cache_read_share"]
        data["cost_mismatches"] = accounting["cost_mismatches"]
        data["recent_interactions"] = recent
        output.emit_json(data)
        return
    for problem in view.problems:
        output.warn(f"{view.name}: {problem}")
    print_show(view, recent, holder, accounting)


@session.command("stats")
@click.option("--session", "name", help="Statistics of one session only.")
@click.option("--by", type=click.Choice(GROUP_KEYS), help="Break totals down by this key.")
@days_option
@json_option
def stats_cmd(name: str | None, by: str | None, days: float, as_json: bool) -> None:
    """Totals across sessions: tokens (incl. cache), cost, activity, top sessions."""
    store = _store()
    rows = [SessionRow.from_view(store.load(name))] if name else _rows(store)
    stats = compute_stats(
        rows, active_days=days, by=by, records_of=lambda n: store.read_log(n).records
    )
    if name:
        stats["session_name"] = name
    if as_json:
        output.emit_json(stats)
        return
    _warn_problems(rows)
    print_stats(stats, store.root)


@session.command("clean")
@click.option(
    "--older-than",
    "older_than",
    type=click.FloatRange(min=0),
    required=True,
    help="Remove sessions last used at least this many days ago.",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("--yes", "-y", "--force", "yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def clean_cmd(older_than: float, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Remove sessions not used for DAYS days (never one that is in use)."""
    store = _store()
    now = datetime.now(UTC)
    candidates = []
    for row in _rows(store):
        moment = parse_iso(row.last_activity)
        if moment is None or (now - moment).total_seconds() >= older_than * 86400:
            candidates.append(row)
    candidates.sort(key=lambda r: r.name)
    report: dict[str, Any] = {
        "older_than_days": older_than,
        "dry_run": dry_run,
        "candidates": [r.name for r in candidates],
        "removed": [],
        "skipped": [],
    }
    if not as_json:
        output.info(f"Sessions last used {older_than:g}+ days ago: {len(candidates)}")
        for row in candidates:
            output.info(
                f"  - {row.name} (last used {output.age(parse_iso(row.last_activity), now)})"
            )
    if not candidates or dry_run:
        if as_json:
            output.emit_json(report)
        elif dry_run and candidates:
            output.info(f"Would remove: {len(candidates)} session(s) (dry run, nothing removed)")
        return
    if not yes and not click.confirm(f"Remove {len(candidates)} session(s)?", err=True):
        output.info("Cancelled: nothing removed.")
        if as_json:
            output.emit_json(report)
        return
    for row in candidates:
        try:
            store.delete(row.name)
        except (SessionBusy, NotFound) as exc:
            report["skipped"].append({"session_name": row.name, "reason": str(exc)})
            if not as_json:
                output.warn(f"kept {row.name}: {exc}")
            continue
        report["removed"].append(row.name)
        if not as_json:
            click.echo(f"removed {row.name}")
    store.purge_trash()
    if as_json:
        output.emit_json(report)
    else:
        output.info(f"Removed: {len(report['removed'])} session(s)")


@session.command("export")
@click.option("--output", "-o", "target", help="File to write, or - for stdout.")
@click.option("--active", is_flag=True, help="Only sessions used within --days days.")
@days_option
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
def export_cmd(target: str | None, active: bool, days: float, fmt: str) -> None:
    """Export sessions with all interactions (JSON array, or CSV rows)."""
    store = _store()
    objects = iter_export(store, active_days=days if active else None)
    writer = write_csv_export if fmt == "csv" else write_json_export
    if target is None and not output.stdout_is_terminal():
        target = "-"
    if target == "-":
        writer(objects, sys.stdout)
        sys.stdout.flush()
        return
    if target is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = f"sessions-export-{stamp}.{fmt}"
    path = Path(target)
    import io

    from ai_orchestrator.store.fsutil import atomic_write

    buffer = io.StringIO()
    count = writer(objects, buffer)
    atomic_write(path, buffer.getvalue().encode("utf-8"))  # 0600: prompts are private
    output.info(f"Exported {count} session(s) to {path}")


@session.command("import")
@click.argument("source")
@json_option
def import_cmd(source: str, as_json: bool) -> None:
    """Import an export (ours or the earlier shell version's); duplicates are skipped."""
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
    plan = plan_import(data)
    report = apply_import(_store(), plan)
    if as_json:
        output.emit_json(report.to_dict())
        return
    output.info(
        f"Imported {report.added} interaction(s) into {report.sessions} session(s) "
        f"({report.created} new); {report.skipped} already present"
    )


@session.command("migrate")
@json_option
def migrate_cmd(as_json: bool) -> None:
    """Convert a store written by the earlier shell version, in place (with backups)."""
    report = migrate_store(_store())
    if as_json:
        output.emit_json(report.to_dict())
        return
    for name in report.migrated:
        click.echo(f"migrated {name} (backup: {name}/metadata.legacy.json)")
    for name, reason in report.skipped:
        output.warn(f"skipped {name}: {reason}")
    output.info(
        f"Migrated {len(report.migrated)} session(s); {report.already_current} already current"
    )


@session.command("record")
@click.argument("name")
def record_cmd(name: str) -> None:
    """Append one interaction read as JSON from stdin (plumbing for scripts and hooks)."""
    raw = sys.stdin.read()
    try:
        interaction = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"stdin is not valid JSON: {exc}") from None
    store = _store()
    if isinstance(interaction, dict) and "id" in interaction:
        added = store.record_unique(name, [interaction])
        output.emit_json({"id": interaction["id"], "added": bool(added)})
        return
    stored = store.record(name, interaction)
    output.emit_json({"id": stored["id"], "added": True})


@session.command("delete")
@click.argument("name")
@click.option("--yes", "-y", "--force", "yes", is_flag=True, help="Do not ask for confirmation.")
def delete_cmd(name: str, yes: bool) -> None:
    """Delete one session (refused while it is in use)."""
    store = _store()
    view = store.load(name, repair=False)
    count = view.summary["interaction_count"]
    if not yes and not click.confirm(
        f"Delete session {view.name} ({count} interactions)?", err=True
    ):
        output.info("Cancelled: nothing deleted.")
        return
    store.delete(name)
    output.info(f"Deleted {view.name}")


@session.command("repair")
@click.argument("name")
@json_option
def repair_cmd(name: str, as_json: bool) -> None:
    """Rebuild a session's summary from its log; quarantine unreadable lines; fix modes."""
    report = _store().repair(name)
    if as_json:
        output.emit_json(report)
        return
    output.info(
        f"{report['session_name']}: {report['interactions']} interaction(s); summary was "
        f"{report['summary_was']}; {report['quarantined_lines']} line(s) moved to "
        f"interactions.corrupt.jsonl; {report['modes_fixed']} mode(s) fixed"
    )


@session.command("path")
@click.argument("name", required=False)
def path_cmd(name: str | None) -> None:
    """Print SESSION_DIR, or the directory of session NAME."""
    store = _store()
    click.echo(str(store.path_of(name) if name else store.root))

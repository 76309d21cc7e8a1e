"""``aio session …`` (also installed as ``ai-session``): manage the stored sessions."""

from __future__ import annotations

import errno
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ai_orchestrator import __version__
from ai_orchestrator.cli import output, streams
from ai_orchestrator.cli.render_sessions import (
    print_list,
    print_not_aio,
    print_show,
    print_stats,
    print_strays,
)
from ai_orchestrator.cli.session_help import help_cmd
from ai_orchestrator.cli.session_opts import confirm, days_option, json_option, rescan_option
from ai_orchestrator.cli.session_repair import repair_cmd
from ai_orchestrator.cli.session_rows import list_json, store_rows, totals_json
from ai_orchestrator.cli.session_upkeep import clean_cmd, compact_cmd, pin_cmd, unpin_cmd
from ai_orchestrator.cli.team import list_team_sessions, team_list_options
from ai_orchestrator.core.errors import InvalidInput, StoreError, StoreFileError
from ai_orchestrator.core.limits import MAX_IMPORT_BYTES, MAX_RECORD_BYTES
from ai_orchestrator.core.names import parse_session_name
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.store.stats import (
    DOCS,
    GROUP_KEYS,
    SORT_KEYS,
    active_cutoff,
    compute_stats,
    sort_rows,
)

if TYPE_CHECKING:  # the store's modules load in the commands: completing a word needs none
    from ai_orchestrator.store import SessionStore
    from ai_orchestrator.store.index import SessionRow
    from ai_orchestrator.store.transfer import Stray


def _store() -> SessionStore:
    from ai_orchestrator.store import SessionStore

    return SessionStore()


def _warn_problems(rows: list[SessionRow]) -> None:
    for row in rows:
        for problem in row.problems:
            output.warn(f"{row.name}: {problem}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", message="%(prog)s %(version)s")
@output.color_option
def session() -> None:
    """Manage stored agent sessions (SESSION_DIR, default ~/.ai-sessions)."""


session.add_command(help_cmd)
for _command in (clean_cmd, pin_cmd, unpin_cmd, compact_cmd, repair_cmd):
    session.add_command(_command)


@output.reads
@session.command("list")
@click.option("--active", is_flag=True, help="Only sessions used within --days days.")
@days_option
@click.option("--sort", "sort_key", type=click.Choice(SORT_KEYS), default="date", show_default=True)
@output.wide_option
@json_option
@rescan_option
@output.color_option
@team_list_options
def list_cmd(active: bool, days: float, sort_key: str, wide: bool, as_json: bool,
             rescan: bool, team: bool, db: str | None) -> None:  # fmt: skip
    """List sessions with their age, tokens and cost (--team: every machine's)."""
    from ai_orchestrator.store.transfer import legacy_strays

    if team or db:
        return list_team_sessions(db, sort_key, days if active else None, wide, as_json)
    store = _store()
    now = datetime.now(UTC)
    cutoff = active_cutoff(days, now)
    if as_json:
        return list_json(store, sort_key, cutoff, active, days, rescan)
    rows, unreadable, foreign, found = store_rows(store, rescan=rescan)
    strays = legacy_strays(store, found)
    active_rows = [r for r in rows if (r.last_activity or "") > cutoff]
    active_count = len(active_rows)
    shown = sort_rows(active_rows if active else rows, sort_key)
    _warn_problems(shown)
    if not rows:
        output.info(f"No {'readable ' if unreadable else ''}sessions found in {store.root}.")
    else:
        print_list(shown, store.root, len(rows), active_count, days, now, wide=wide)
    print_strays(strays)
    print_not_aio(foreign)


@output.reads
@session.command("show")
@click.argument("name")
@click.option(
    "--last",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="How many recent interactions to show (0: none).",
)
@output.wide_option
@json_option
@output.color_option
def show_cmd(name: str, last: int, wide: bool, as_json: bool) -> None:
    """Show one session: summary, token breakdown, cost, recent interactions, lock holder."""
    from ai_orchestrator.accounting.savings import session_accounting
    from ai_orchestrator.store.retention import pins

    store = _store()
    session = parse_session_name(name)  # once: every read below takes it parsed
    view = store.load(session)
    log = store.read_log(session)
    recent = log.records[-last:] if last else []
    try:
        holder = store.holder(session)
    except StoreFileError as exc:  # e.g. a FIFO as .lock: still show what is readable
        holder = None
        view.problems.append(f"who holds the session is unknown: {exc}")
    accounting = session_accounting(view.summary, log.records)
    pinned_at = pins(store).get(view.name)
    if as_json:
        data = view.to_dict()
        if pinned_at:
            data["pinned_at"] = pinned_at  # only when pinned: other documents keep their shape
        data["busy"] = holder is not None
        data["holder"] = holder.to_dict() if holder else None
        data["cache_read_share"] = accounting["cache_read_share"]
        data["cost_mismatches"] = accounting["cost_mismatches"]
        data["recent_interactions"] = [record.to_json() for record in recent]
        output.emit_json(data)
        return
    for problem in view.problems:
        output.warn(f"{view.name}: {problem}")
    print_show(view, recent, holder, accounting, wide=wide)
    if pinned_at:
        click.echo(f"Pinned: since {pinned_at} (kept by retention policies and delete)")


@output.reads
@session.command("stats")
@click.option("--session", "name", help="Statistics of one session only.")
@click.option(
    "--by",
    type=click.Choice([*GROUP_KEYS, "branch"]),
    help="Break totals down by this key (feature, branch: interactive sessions too).",
)
@days_option
@output.wide_option
@json_option
@rescan_option
@output.color_option
def stats_cmd(
    name: str | None, by: str | None, days: float, wide: bool, as_json: bool, rescan: bool
) -> None:
    """Totals across sessions: tokens (incl. cache), cost, activity, top sessions."""
    from ai_orchestrator.store.index import SessionRow
    from ai_orchestrator.store.transfer import stray_sessions

    store = _store()
    foreign: list[dict[str, str]] = []
    if name is None and by is None:  # plain totals: summed by SQLite over the index
        stats, rows, foreign = totals_json(store, days, rescan)
    else:
        unreadable: list[dict[str, str]] = []
        strays: dict[str, Stray] = {}
        if name is not None:
            rows = [SessionRow.from_view(store.load(name))]
        else:
            rows, unreadable, foreign, found = store_rows(store, rescan=rescan, docs=by in DOCS)
            strays = {s.target.name: s for s in stray_sessions(store, found)}
            # shell-version sessions not migrated yet count too, under their future names
            rows += [SessionRow.from_view(s.view(store.root)) for s in strays.values()]
        stats = compute_stats(
            rows,
            active_days=days,
            by=None if by == "branch" else by,  # aio's sessions have no branch: index only
            records_of=lambda n: strays[n].records if n in strays else store.read_log(n).records,
        )
        stats["unreadable"] = unreadable
        stats["not_aio"] = foreign
    interactive = {}
    if by in ("feature", "branch"):
        from ai_orchestrator.cli.usage import interactive_figures, print_interactive

        features = sorted({r.feature_id for r in rows}) if by == "feature" else None
        interactive = interactive_figures(by, features)
        if interactive or by == "branch":
            stats["interactive"] = {"by": by, "groups": interactive}
    if name is not None:
        stats["session_name"] = name
    if as_json:
        output.emit_json(stats)
        return
    _warn_problems(rows)
    print_stats(stats, store.root, wide=wide)
    print_not_aio(foreign)
    if interactive:
        print_interactive(interactive, by or "")


@output.reads
@session.command("export")
@click.option("--output", "-o", "target", help="File to write, or - for stdout.")
@click.option("--active", is_flag=True, help="Only sessions used within --days days.")
@days_option
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option(
    "--skip-unreadable",
    is_flag=True,
    help="Export the readable sessions and exit 0 even if some cannot be read.",
)
def export_cmd(
    target: str | None, active: bool, days: float, fmt: str, skip_unreadable: bool
) -> None:
    """Export sessions with all interactions (JSON array, or CSV rows).

    A session that cannot be read is named on stderr and makes the exit code 1 (the
    output still holds every readable session) unless --skip-unreadable is given.
    """
    from ai_orchestrator.store.export import (
        check_export_target,
        iter_export,
        write_csv_export,
        write_json_export,
    )

    store = _store()
    store.check_root()  # an unusable SESSION_DIR fails before any output is written
    unreadable: list[tuple[str, str]] = []
    objects = iter_export(store, active_days=days if active else None, unreadable=unreadable)
    writer = write_csv_export if fmt == "csv" else write_json_export
    if target is None and not output.stdout_is_terminal():
        target = "-"
    if target == "-":
        writer(objects, sys.stdout)
        sys.stdout.flush()
    else:
        if target is None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            target = f"sessions-export-{stamp}.{fmt}"
        import io

        check_export_target(store, Path(target))
        buffer = io.StringIO()
        count = writer(objects, buffer)
        _write_export(Path(target), buffer.getvalue().encode("utf-8"))
        output.info(f"Exported {count} session(s) to {target}")
    for name, problem in unreadable:
        output.warn(f"{name}: not exported: {problem}")
    if unreadable and not skip_unreadable:
        raise StoreError(
            f"export incomplete: {len(unreadable)} session(s) could not be read "
            "(--skip-unreadable accepts that)"
        )


# The user's path is unusable (exit 2); anything else is the system failing (exit 1).
_PATH_ERRORS = (
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EACCES,
    errno.EPERM,
    errno.ENAMETOOLONG,
)


def _write_export(path: Path, data: bytes) -> None:
    """Write the export privately (0600: prompts are private), all or nothing."""
    from ai_orchestrator.infra.fsutil import atomic_write

    if path.is_dir():
        raise InvalidInput(f"cannot write the export to {path}: it is a directory")
    try:
        if path.exists() and not path.is_file():
            # A device or a pipe (-o /dev/stdout, a FIFO): write into it; replacing it with
            # a file (the atomic rename) would destroy it — as root even /dev/null.
            with path.open("wb") as target:
                target.write(data)
            return
        atomic_write(path, data)
    except OSError as exc:
        # Name the target the user gave, not our temp file next to it.
        error = InvalidInput if exc.errno in _PATH_ERRORS else StoreError
        raise error(f"cannot write the export to {path}: {exc.strerror or exc}") from None


rename_option = click.option(
    "--rename",
    "renames",
    multiple=True,
    metavar="OLD=NEW",
    help="Store session OLD as NEW (repeatable); for shell-version names that are not valid.",
)


@output.writes
@session.command("import")
@click.argument("source")
@rename_option
@json_option
def import_cmd(source: str, renames: tuple[str, ...], as_json: bool) -> None:
    """Import an export (ours or the earlier shell version's); duplicates are skipped.

    A shell-version session whose name is not <command>-<feature-id> is imported as
    legacy-<slug>-<hash> (its original name kept as legacy_name) unless --rename says
    otherwise.
    """
    from ai_orchestrator.store.transfer import (
        apply_import,
        parse_renames,
        plan_import,
        read_import_file,
    )

    mapping = parse_renames(renames)
    if source == "-":
        data = streams.stdin_bytes(MAX_IMPORT_BYTES)
    else:
        data = read_import_file(Path(source))
    plan = plan_import(data, mapping)
    try:
        report = apply_import(_store(), plan)
    except StoreFileError as exc:
        raise exc.with_outcome(
            f"{exc.outcome or 'nothing was recorded in that session'}; sessions before it in "
            "the file may be imported already (importing the file again adds only what is "
            "missing)",
            replace=True,
        ) from None
    if as_json:
        output.emit_json(report.to_dict())
        return
    for old, new in report.renamed.items():
        output.info(f"imported {old} as {new}")
    output.info(
        f"Imported {report.added} interaction(s) into {report.sessions} session(s) "
        f"({report.created} new); {report.skipped} already present"
    )


@output.writes
@session.command("migrate")
@rename_option
@json_option
def migrate_cmd(renames: tuple[str, ...], as_json: bool) -> None:
    """Convert a store written by the earlier shell version, in place (with backups).

    A session whose name is not <command>-<feature-id> is carried over as
    legacy-<slug>-<hash> (original name kept as legacy_name) unless --rename says
    otherwise.
    """
    from ai_orchestrator.store.transfer import migrate_store, parse_renames

    report = migrate_store(_store(), parse_renames(renames))
    if as_json:
        output.emit_json(report.to_dict())
        _fail_if_skipped(report.skipped)
        return
    for item in report.migrated:
        name = item["session_name"]
        source = f"{item['legacy_name']} as {name}" if "legacy_name" in item else name
        backup = item.get("backup", "metadata.legacy.json")
        line = f"migrated {source}: {item['interactions']} interaction(s) (backup: {name}/{backup})"
        if item["unusable"]:
            line += f"; {item['unusable']} unusable, kept in {name}/interactions.corrupt.jsonl"
        click.echo(line)
    for name, reason in report.skipped:
        output.warn(f"skipped {name}: {reason}")
    output.info(
        f"Migrated {len(report.migrated)} session(s); {report.already_current} already current"
    )
    _fail_if_skipped(report.skipped)


def _fail_if_skipped(skipped: list[tuple[str, str]]) -> None:
    """A session that could not be migrated makes the exit code 1 (a rerun completes it)."""
    if skipped:
        raise StoreError(
            f"migration incomplete: {len(skipped)} session(s) skipped "
            f"({', '.join(n for n, _ in skipped)}); fix the cause and run migrate again"
        )


@output.writes
@session.command("record")
@click.argument("name")
def record_cmd(name: str) -> None:
    """Append one interaction read as JSON from stdin (plumbing for scripts and hooks).

    Without a cost it is priced from its model and tokens like ``aio run`` (``unpriced``
    when the model has no price; the agent's ``reported_cost`` then, if given).
    """
    session = parse_session_name(name)  # a bad name is refused before stdin is read
    raw = streams.decode_text(streams.stdin_bytes(MAX_RECORD_BYTES), "stdin")
    try:
        interaction = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"stdin is not valid JSON: {exc}") from None
    # Lazily: pricing is the bulk of the imports, and list/stats never need it.
    from ai_orchestrator.calls.given_record import record_given

    stored = record_given(_store(), session, interaction)
    output.emit_json(versioned({"id": stored.id, "added": stored.added}))


@output.writes
@session.command("delete")
@click.argument("name")
@click.option("--yes", "-y", "--force", "yes", is_flag=True, help="Do not ask for confirmation.")
def delete_cmd(name: str, yes: bool) -> None:
    """Delete one session (refused while it is in use or pinned).

    Without --yes it asks; with stdin not a terminal and no answer on it, nothing is
    deleted.
    """
    from ai_orchestrator.store.lifecycle import delete_session
    from ai_orchestrator.store.retention import PinGuard

    store = _store()
    view = store.load(name, repair=False)
    count = view.summary.interaction_count
    if not yes and not confirm(f"Delete session {view.name} ({count} interactions)?"):
        output.info("Cancelled: nothing deleted.")
        return
    delete_session(store, name, guard=PinGuard(store))
    output.info(f"Deleted {view.name}")


@output.reads
@session.command("path")
@click.argument("name", required=False)
@json_option
def path_cmd(name: str | None, as_json: bool) -> None:
    """Print SESSION_DIR, or the directory of session NAME."""
    store = _store()
    path = store.path_of(name) if name is not None else store.root
    if as_json:
        data: dict[str, Any] = versioned({"session_dir": str(store.root)})
        if name is not None:
            data.update(session_name=name, path=str(path), exists=store.exists(name))
        output.emit_json(data)
        return
    click.echo(str(path))

"""``aio usage``: usage of every agent session on this machine (the usage index).

``aio usage sync`` updates the index; ``daily|weekly|monthly|session|blocks`` sync first,
then report (``usage.reports``). ``--json`` writes the report document unchanged; ``--csv``
one line per row. A cost that is not a complete computed figure is flagged: ``+?`` when some
requests are unpriced, ``*`` when part of it is only the agent's own figure.
"""

from __future__ import annotations

import csv
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import click

from ai_orchestrator.cli import output
from ai_orchestrator.cli.tables import Column, print_table, short_count
from ai_orchestrator.core.errors import AioError, InvalidInput, StoreError
from ai_orchestrator.usage.reports import BY, Filters, parse_day, report
from ai_orchestrator.usage.sync import SyncReport, open_index, sync

_CTX = {"help_option_names": ["-h", "--help"]}


def day_option(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return parse_day(value)
    except ValueError:
        raise InvalidInput(
            f"invalid {param.opts[0]} {value!r}: use YYYY-MM-DD or YYYYMMDD"
        ) from None


class _Bar:
    """The progress bar of a long first sync (stderr, terminals only): files, bytes, rate."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.shown = 0.0
        self.drawn = False

    def __call__(self, done: int, files: int, done_bytes: int, total: int) -> None:
        now = time.monotonic()
        if now - self.shown < 0.2 or total < 64 * 1024 * 1024:
            return
        self.shown = now
        rate = done_bytes / max(now - self.started, 1e-6) / 2**20
        width = 24
        filled = int(width * done_bytes / total) if total else width
        line = (
            f"\rindexing [{'#' * filled}{'.' * (width - filled)}] {done}/{files} files, "
            f"{done_bytes / 2**20:.0f}/{total / 2**20:.0f} MiB, {rate:.0f} MiB/s"
        )
        sys.stderr.write(line)
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def open_synced_index(sync_first: bool) -> sqlite3.Connection:
    """The usage index for a report: synced first (unless ``--no-sync``), then opened."""
    if sync_first:
        _sync()
    try:
        return open_index()
    except sqlite3.Error as exc:
        raise StoreError(f"usage index: {exc}") from None


def sync_quietly() -> None:
    """Bring the usage index up to date before it is read elsewhere (``team push``): a
    progress bar on a terminal, and a problem with the index only warned about."""
    try:
        _sync()
    except AioError as exc:
        output.warn(f"usage index not synced: {exc}")


def _sync(rescan: bool = False) -> SyncReport:
    bar = _Bar() if sys.stderr.isatty() else None
    try:
        return sync(progress=bar, rescan=rescan)
    except sqlite3.Error as exc:
        raise StoreError(
            f"usage index: {exc} (remove SESSION_DIR/usage/usage.sqlite to rebuild)"
        ) from None
    finally:
        if bar is not None:
            bar.close()


@click.group("usage", context_settings=_CTX)
def usage() -> None:
    """Usage and cost of every agent session on this machine (interactive ones too)."""


@output.writes
@usage.command("sync", context_settings=_CTX)
@click.option("--rescan", is_flag=True, help="Read every file again from its start.")
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
def sync_cmd(rescan: bool, as_json: bool) -> None:
    """Update the usage index from the agents' files, aio's sessions and the hook spool."""
    done = _sync(rescan)
    if as_json:
        output.emit_json(done.to_json())
        return
    click.echo(
        f"indexed {done.requests} requests from {done.files_read} of {done.files} files "
        f"({done.bytes_read / 2**20:.1f} MiB) in {done.seconds:.2f} s"
    )
    for line in done.skipped:
        output.warn(f"skipped {line}")


def _money(row: dict[str, Any]) -> str:
    text = f"${row['cost']:.2f}"
    if row["reported_cost"]:
        text += "*"
    if row["unpriced_requests"]:
        text += " +?"
    return text


def _render(doc: dict[str, Any], as_csv: bool) -> None:
    kind, by = doc["report"], doc["by"]
    label = {"daily": "date", "weekly": "week", "monthly": "month", "blocks": "start"}.get(
        kind, "session"
    )
    keys = ([label] if kind != "session" else ["agent", "session"]) + ([by] if by else [])
    figures = ["input", "output", "cache_read", "cache_write", "reasoning", "requests", "cost"]
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([*keys, *figures, "unpriced_requests", "reported_cost", "models"])
        for row in doc["rows"]:
            writer.writerow(
                [row.get(k) if row.get(k) is not None else "" for k in keys]
                + [row[f] for f in figures]
                + [row["unpriced_requests"], row["reported_cost"], " ".join(row["models"])]
            )
        sys.stdout.flush()
        return
    columns = [Column(k.capitalize(), ident=True) for k in keys] + [
        Column("Input", justify="right"),
        Column("Output", justify="right"),
        Column("Cache read", justify="right", drop=2),
        Column("Cache write", justify="right", drop=2),
        Column("Reasoning", justify="right", drop=3),
        Column("Requests", justify="right", drop=1),
        Column("Cost", justify="right"),
    ]

    def cells(row: dict[str, Any]) -> list[str]:
        head = [str(row.get(k) or "-") for k in keys]
        return head + [short_count(row[f]) for f in figures[:6]] + [_money(row)]

    total = doc["totals"]
    total_row = ["Total"] + [""] * (len(keys) - 1) + cells(total)[len(keys) :]
    print_table(f"Usage ({kind})", columns, [cells(r) for r in doc["rows"]], totals=total_row)
    if not total["cost_complete"]:
        notes = []
        if total["unpriced_requests"]:
            notes.append(f"+? {total['unpriced_requests']} requests unpriced (not in the cost)")
        if total["reported_cost"]:
            notes.append(f"* ${total['reported_cost']:.2f} is only the agents' own figure")
        output.info("; ".join(notes))


def _report_command(kind: str) -> Callable[..., None]:
    @click.option("--since", callback=day_option, help="First local date (YYYY-MM-DD), inclusive.")
    @click.option("--until", callback=day_option, help="Last local date (YYYY-MM-DD), inclusive.")
    @click.option("--agent", help="Only this agent (named as `--by agent` shows it).")
    @click.option("--project", help="Only this project (path, or its last component).")
    @click.option("--by", type=click.Choice(BY), help="Split each row by this dimension.")
    @click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
    @click.option("--csv", "as_csv", is_flag=True, help="Write CSV to stdout.")
    @click.option("--no-sync", is_flag=True, help="Report from the index as it is.")
    @click.option("--team", is_flag=True, help="Every machine's pushed usage (aio team push).")
    @click.option("--db", metavar="URL", help="The team database (as in aio team; implies --team).")
    def command(
        since: date | None, until: date | None, agent: str | None, project: str | None,
        by: str | None, as_json: bool, as_csv: bool, no_sync: bool, team: bool, db: str | None,
    ) -> None:  # fmt: skip
        if as_json and as_csv:
            raise InvalidInput("--json and --csv exclude each other")
        if since and until and since > until:
            raise InvalidInput(f"--since {since} is after --until {until}")
        filters = Filters(since, until, agent, project)
        if team or db:  # --db names the team database: it means --team
            from ai_orchestrator.team.config import resolve
            from ai_orchestrator.team.usage_reports import team_usage_report

            doc = team_usage_report(resolve(db), kind, filters, by)
        else:
            conn = open_synced_index(not no_sync)
            try:
                doc = report(conn, kind, filters, by)
            finally:
                conn.close()
        if as_json:
            output.emit_json(doc)
        else:
            _render(doc, as_csv)

    return command


for _kind, _help in (
    ("daily", "Usage per local day."),
    ("weekly", "Usage per ISO week (Monday first)."),
    ("monthly", "Usage per month."),
    ("session", "Usage per agent session (subagents inside their parent)."),
    ("blocks", "Usage per 5-hour block (Claude's billing windows)."),
):
    output.reads(usage.command(_kind, context_settings=_CTX, help=_help)(_report_command(_kind)))


def interactive_figures(
    column: str, features: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The agents' own sessions (outside aio's calls) per ``feature`` or ``branch``, as the
    usage index holds them (no sync: ``aio usage sync`` updates it); ``{}`` without an index.
    What ``aio status`` and ``aio session stats --by feature|branch`` add."""
    from ai_orchestrator.store.session_store import default_store_root
    from ai_orchestrator.usage import db as usage_db
    from ai_orchestrator.usage.reports import cost_by

    path = usage_db.index_path(default_store_root().expanduser())
    if not path.exists():
        return {}
    try:
        conn = usage_db.connect(path, create=False, timeout=2.0)
        try:
            return cost_by(conn, column, features)
        finally:
            conn.close()
    except (sqlite3.Error, OSError) as exc:
        output.warn(f"usage index not read: {exc}")
        return {}


def print_interactive(figures: dict[str, dict[str, Any]], label: str) -> None:
    """The interactive figures as a small table (nothing when there are none)."""
    if not figures:
        return
    columns = [
        Column(label.capitalize(), ident=True),
        Column("Requests", justify="right"),
        Column("Tokens", justify="right"),
        Column("Cost", justify="right"),
    ]
    rows = [
        [key, str(f["requests"]),
         short_count(f["input"] + f["output"] + f["cache_read"] + f["cache_write"]), _money(f)]
        for key, f in sorted(figures.items())
    ]  # fmt: skip
    print_table("Interactive agent sessions (usage index, as of its last sync)", columns, rows)

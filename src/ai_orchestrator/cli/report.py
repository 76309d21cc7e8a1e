"""``aio report``: one self-contained HTML page of cost, tokens, cache and workflow progress.

Parses the options, syncs the usage index (unless ``--no-sync``), builds the figures with
``report.data.build`` and writes ``report.html.render`` atomically to ``--html FILE``
(default ``aio-report.html``; ``-`` for stdout). ``--json`` writes the figures instead.
``--team`` (or ``--db URL``): the team's page instead — aio's calls from the team
database's rollup and sessions (``team.reports``), the usage section from the team's
requests loaded into an in-memory usage index (``team.usage_reports.load_team_index``), read
here and handed to ``report.data.build_team`` as plain data. Team database errors: one line,
exit 1.
"""

from __future__ import annotations

import sys
import webbrowser
from datetime import date
from pathlib import Path
from typing import Any

import click

from ai_orchestrator.cli import output
from ai_orchestrator.cli.usage import day_option, open_synced_index
from ai_orchestrator.core.errors import InvalidInput, NotFound, StoreError
from ai_orchestrator.core.names import validate_feature_id
from ai_orchestrator.infra.fsutil import atomic_write
from ai_orchestrator.report.data import (
    ReportFilters,
    ReportInputs,
    TeamInputs,
    build,
    build_team,
)
from ai_orchestrator.report.html import render
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.index import SummaryIndex
from ai_orchestrator.workflow.project.config import load_config
from ai_orchestrator.workflow.project.workspace import Workspace

DEFAULT_FILE = "aio-report.html"


def _local_doc(filters: ReportFilters, no_sync: bool) -> dict[str, Any]:
    store = SessionStore()
    rows, errors = SummaryIndex(store).rows()
    for name, problem in errors:
        output.warn(f"{name}: skipped: {problem}")
    try:
        workspace: Workspace | None = Workspace.find()
    except NotFound:
        workspace = None
    config = load_config(workspace.config_file) if workspace else None
    conn = open_synced_index(not no_sync)
    try:
        return build(ReportInputs(
            rows=rows, records_of=lambda n: store.read_log(n).records, conn=conn,
            workspace=workspace, config=config, filters=filters,
        ))  # fmt: skip
    finally:
        conn.close()


def _team_doc(db: str | None, filters: ReportFilters) -> dict[str, Any]:
    """The team's sources read here (``report`` does not reach the team store), then built
    by the same page code as this machine's."""
    from ai_orchestrator.team import schema
    from ai_orchestrator.team.config import resolve
    from ai_orchestrator.team.reports import team_report_stats, team_sessions
    from ai_orchestrator.team.usage_reports import load_team_index

    settings = resolve(db)
    with schema.connect(settings) as conn:
        schema.check(conn, settings)
        stats = team_report_stats(
            conn, since=filters.since, until=filters.until, feature=filters.feature
        )
        sessions = team_sessions(conn)["sessions"]
        loaded = load_team_index(conn, filters.usage_filters())
    try:
        return build_team(TeamInputs(
            stats=stats, sessions=sessions, team=loaded.header(settings), conn=loaded.index,
            filters=filters,
        ))  # fmt: skip
    finally:
        loaded.index.close()


@output.writes
@click.command("report", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--html", "html_file", default=DEFAULT_FILE, show_default=True,
              help="Write the page here ('-': stdout).")  # fmt: skip
@click.option("--open", "open_it", is_flag=True, help="Open the page in the default browser.")
@click.option("--since", callback=day_option, help="First local date (YYYY-MM-DD), inclusive.")
@click.option("--until", callback=day_option, help="Last local date (YYYY-MM-DD), inclusive.")
@click.option("--feature", help="Only this feature.")
@click.option("--team", is_flag=True, help="The team's figures (what aio team push sent).")
@click.option("--db", metavar="URL", help="The team database (as in aio team; implies --team).")
@click.option("--no-sync", is_flag=True, help="Use the usage index as it is.")
@click.option("--json", "as_json", is_flag=True, help="Write the report's figures as JSON.")
def report_cmd(
    html_file: str, open_it: bool, since: date | None, until: date | None,
    feature: str | None, team: bool, db: str | None, no_sync: bool, as_json: bool,
) -> None:  # fmt: skip
    """Write one offline HTML report: cost per day, features, tasks, sessions, budgets."""
    if since and until and since > until:
        raise InvalidInput(f"--since {since} is after --until {until}")
    if feature is not None:
        validate_feature_id(feature)
    filters = ReportFilters(since=since, until=until, feature=feature)
    doc = _team_doc(db, filters) if team or db else _local_doc(filters, no_sync)
    for problem in doc["problems"]:
        output.warn(problem)
    if as_json:
        output.emit_json(doc)
        return
    page = render(doc).encode("utf-8")
    if html_file == "-":
        sys.stdout.buffer.write(page)
        sys.stdout.flush()
        return
    path = Path(html_file).expanduser().absolute()
    try:
        atomic_write(path, page)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
    output.info(f"report written to {path} ({len(page) / 1024:.0f} KiB)")
    if open_it and not webbrowser.open(path.as_uri()):
        output.warn(f"no browser could be opened: open {path} yourself")

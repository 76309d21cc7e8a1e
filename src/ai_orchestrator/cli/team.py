"""``aio team``: the team database on PostgreSQL (docs/team.md).

``init`` creates or migrates the schema; ``push`` sends this store's recorded interactions
(``--watch``: keeps pushing as calls land); ``status`` shows this machine as the server sees
it; ``stats`` is ``aio session stats`` for the whole team. Every command takes ``--db``
(else ``AIO_TEAM_DB``, the ``[team]`` table of the user config file, or libpq's environment)
and prints the target with its password masked. Exit codes: 1 server unreachable or not set
up, 2 bad option or configuration, 5 a schema newer than this aio.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from ai_orchestrator.cli import output
from ai_orchestrator.cli.tables import Column, plural, print_table, short_count, when
from ai_orchestrator.core import env
from ai_orchestrator.core.errors import AioError, InvalidInput
from ai_orchestrator.core.names import validate_feature_id
from ai_orchestrator.core.schema import SCHEMA_KEY

if TYPE_CHECKING:  # loaded by the commands: `aio session` imports this module for its options
    from ai_orchestrator.store.session_store import SessionStore
    from ai_orchestrator.team import config

_CTX = {"help_option_names": ["-h", "--help"]}
json_option = click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
db_option = click.option(
    "--db",
    metavar="URL",
    help="libpq connection string or postgresql:// URL (else AIO_TEAM_DB, the [team] db of "
    "~/.config/aio/config.toml, or PGSERVICE/PGHOST…). Keep the password in ~/.pgpass.",
)


@click.group("team", context_settings=_CTX)
def team() -> None:
    """Share session usage with a team through a PostgreSQL database."""


@output.writes
@team.command("init")
@db_option
@json_option
def init_cmd(db: str | None, as_json: bool) -> None:
    """Create or upgrade aio's schema in the team database (safe to run again)."""
    from ai_orchestrator.team import config, schema

    settings = config.resolve(db)
    with schema.connect(settings) as conn:
        applied = schema.migrate(conn, settings)
        version = schema.current_version(conn)
    if as_json:
        output.emit_json({"target": settings.target, "applied": applied, "version": version})
        return
    what = f"applied migration(s) {', '.join(map(str, applied))}" if applied else "up to date"
    output.info(f"team database {settings.target}: schema version {version} ({what})")


class _Bar:
    """A first push's progress on stderr (terminals only, pushes over 8 MiB)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.shown = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int, added: int) -> None:
        now = time.monotonic()
        if total < 8 * 1024 * 1024 or now - self.shown < 0.2 or not sys.stderr.isatty():
            return
        self.shown = now
        width = 24
        filled = int(width * done / total) if total else width
        rate = added / max(now - self.started, 1e-6)
        sys.stderr.write(
            f"\rpushing [{'#' * filled}{'.' * (width - filled)}] "
            f"{done / 2**20:.0f}/{total / 2**20:.0f} MiB, {added:,} rows, {rate:,.0f} rows/s"
        )
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.drawn = False


def _batch_rows() -> int:
    """``AIO_TEAM_BATCH_ROWS``: rows per transaction (default 10,000)."""
    from ai_orchestrator.team.push import BATCH_ROWS

    raw = env.get("AIO_TEAM_BATCH_ROWS")
    if not raw:
        return BATCH_ROWS
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise InvalidInput(f"AIO_TEAM_BATCH_ROWS={raw!r}: use a whole number from 1 to 1000000")
    return int(raw)


def _said(report: Any) -> str:
    extra = (
        f", {plural(report.corrupt_lines, 'corrupt line')} skipped" if report.corrupt_lines else ""
    )
    if report.usage is not None and (report.usage.added or report.usage.updated):
        extra += (
            f"; interactive usage: {plural(report.usage.added, 'request')} added, "
            f"{report.usage.updated:,} updated"
        )
    return (
        f"pushed {plural(report.added, 'interaction')} to {report.target} "
        f"({report.already:,} already there, {plural(report.sessions, 'session')}, "
        f"{report.seconds:.1f}s){extra}"
    )


@output.writes
@team.command("push")
@db_option
@click.option("--user", help="User name recorded on each row (default: AIO_TEAM_USER, the "
              "[team] user, else your login name).")  # fmt: skip
@click.option("--with-prompts", is_flag=True, help="Also send prompt texts (redacted).")
@click.option(
    "--watch", is_flag=True, help="Keep pushing as new calls are recorded (Ctrl-C stops)."
)
@click.option("--debounce", type=click.FloatRange(0.1, 3600), default=5.0, show_default=True,
              help="--watch: seconds without a change before pushing.")  # fmt: skip
@click.option("--no-usage", is_flag=True, help="Only aio's calls, not the interactive agent "
              "sessions of the usage index.")  # fmt: skip
@json_option
def push_cmd(
    db: str | None, user: str | None, with_prompts: bool, watch: bool, debounce: float,
    no_usage: bool, as_json: bool,
) -> None:  # fmt: skip
    """Push this machine's recorded interactions and interactive usage (only what is new;
    never twice)."""
    from ai_orchestrator.store.session_store import SessionStore
    from ai_orchestrator.team import config
    from ai_orchestrator.team.push import push

    settings = config.resolve(db, user)
    store = SessionStore()
    if watch:
        _watch(store, settings, with_prompts, debounce, as_json)
        return
    if not no_usage:
        from ai_orchestrator.cli.usage import sync_quietly

        sync_quietly()
    bar = _Bar()
    try:
        report = push(
            store, settings, with_prompts=with_prompts, progress=bar, batch_rows=_batch_rows(),
            with_usage=not no_usage,
        )  # fmt: skip
    finally:
        bar.close()
    if report.usage is not None and report.usage.skipped:
        output.warn(f"interactive usage not pushed: {report.usage.skipped}")
    if as_json:
        output.emit_json(report.to_dict())
    else:
        output.info(_said(report))


def _watch(
    store: SessionStore, settings: config.TeamSettings, with_prompts: bool, debounce: float,
    as_json: bool,
) -> None:  # fmt: skip
    from ai_orchestrator.team.watch import watch

    def pushed(report: Any) -> None:
        if as_json:
            output.emit_json(report.to_dict(), compact=True)
        elif report.added or report.corrupt_lines:
            output.info(_said(report))

    def failed(exc: AioError) -> None:
        output.warn(f"{exc} (retrying)")

    if not as_json:
        output.info(f"watching {store.root}; pushing to {settings.target} (Ctrl-C stops)")
    try:
        watch(store, settings, on_push=pushed, on_error=failed, with_prompts=with_prompts,
              debounce=debounce)  # fmt: skip
    except KeyboardInterrupt:
        if not as_json:
            output.info("stopped; everything committed so far is on the server")


@output.reads
@team.command("status")
@db_option
@json_option
def status_cmd(db: str | None, as_json: bool) -> None:
    """This machine: its id, what it pushed, what is waiting."""
    from ai_orchestrator.store.session_store import SessionStore
    from ai_orchestrator.team import config, reports, schema
    from ai_orchestrator.team.push import pending_work, server_marks

    settings = config.resolve(db)
    store = SessionStore()
    who = config.machine(store.root)
    with schema.connect(settings) as conn:
        version = schema.check(conn, settings)
        marks = server_marks(conn, who)
        work = pending_work(store, marks)
        data = reports.team_status(conn, who.machine_id)
    data = {
        "target": settings.target,
        "source": settings.source,
        "user": settings.user,
        "machine_id": who.machine_id,
        "hostname": who.hostname,
        SCHEMA_KEY: version,
        "pending_sessions": len(work),
        "pending_bytes": sum(w.size - w.start for w in work),
        **data,
    }
    if as_json:
        output.emit_json(data)
        return
    for key, value in data.items():
        output.out().print(f"{key.replace('_', ' ')}: {value}", highlight=False)


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    from ai_orchestrator.usage.reports import parse_day  # the usage reports' date rule

    try:
        return None if value is None else parse_day(value)
    except ValueError:
        raise InvalidInput(
            f"invalid --{param.name} {value!r}: use YYYY-MM-DD or YYYYMMDD"
        ) from None


@output.reads
@team.command("stats")
@db_option
@click.option("--by", type=click.Choice(["user", "machine", "feature", "branch", "task", "model",
              "agent", "day", "session"]), help="Break the totals down by this key.")  # fmt: skip
@click.option("--since", callback=_since, metavar="DATE", help="Only calls on or after DATE (UTC).")
@click.option("--until", callback=_since, metavar="DATE", help="Only calls up to DATE (UTC).")
@click.option("--feature", help="Only the calls of this feature.")
@output.wide_option
@json_option
def stats_cmd(
    db: str | None, by: str | None, since: date | None, until: date | None,
    feature: str | None, wide: bool, as_json: bool,
) -> None:  # fmt: skip
    """Totals across every machine of the team (computed in the database)."""
    from ai_orchestrator.team import config, reports, schema

    if since and until and since > until:
        raise InvalidInput(f"--since {since} is after --until {until}")
    if feature is not None:
        validate_feature_id(feature)
    settings = config.resolve(db)
    with schema.connect(settings) as conn:
        schema.check(conn, settings)
        stats = reports.team_stats(conn, by=by, since=since, until=until, feature=feature)
    stats["target"] = settings.target
    if as_json:
        output.emit_json(stats)
        return
    t = stats["tokens"]
    output.out().print(
        f"Team statistics ({settings.target}{', since ' + stats['since'] if since else ''}"
        f"{', until ' + stats['until'] if until else ''}"
        f"{', feature ' + feature if feature else ''}): "
        f"{plural(stats['total_sessions'], 'session')}, "
        f"{plural(stats['interactions'], 'interaction')} on "
        f"{plural(len(stats['machines']), 'machine')}, "
        f"{short_count(t['total'])} tokens, "
        f"{output.money(stats['cost'], unpriced=bool(stats['unpriced_interactions']))}",
        highlight=False,
    )
    if by:
        columns = [Column(by, ident=True), Column("sessions", "right"), Column("calls", "right"),
                   Column("tokens", "right"), Column("cost", "right")]  # fmt: skip
        rows = [
            [key, f"{g['sessions']:,}", f"{g['interactions']:,}",
             short_count(sum(g["tokens"].values())),
             output.money(g["cost"], unpriced=bool(g["unpriced_interactions"]))]
            for key, g in stats["groups"].items()
        ]  # fmt: skip
        print_table(None, columns, rows, wide=wide)


def team_list_options(command: Any) -> Any:
    """``--team`` and ``--db`` of ``aio session list``."""
    command = click.option(
        "--db", metavar="URL", help="The team database (as in aio team; implies --team)."
    )(command)
    return click.option(
        "--team", is_flag=True, help="Every machine's pushed sessions (aio team push)."
    )(command)


def list_team_sessions(
    db: str | None, sort: str, active_days: float | None, wide: bool, as_json: bool
) -> None:
    """``aio session list --team``: the team's sessions, newest first (or by ``sort``)."""
    from datetime import datetime

    from ai_orchestrator.team import config, reports, schema

    settings = config.resolve(db)
    with schema.connect(settings) as conn:
        schema.check(conn, settings)
        doc = reports.team_sessions(conn, sort=sort, active_days=active_days)
    doc["target"] = settings.target
    if as_json:
        output.emit_json(doc)
        return
    columns = [Column("session", ident=True, name=True), Column("user@host", ident=True, drop=2),
               Column("calls", "right"), Column("tokens", "right", drop=1),
               Column("cost", "right"), Column("last active", "right")]  # fmt: skip
    rows = [
        [s["session_name"], f"{s['user']}@{s['hostname'] or s['machine_id']}",
         f"{s['interactions']:,}", short_count(sum(s["tokens"].values())),
         output.money(s["cost"], unpriced=bool(s["unpriced_interactions"])),
         when(datetime.fromisoformat(s["last_activity"]) if s["last_activity"] else None)]
        for s in doc["sessions"]
    ]  # fmt: skip
    title = f"Team sessions ({settings.target}): {plural(doc['total_sessions'], 'session')}"
    print_table(title, columns, rows, wide=wide)

"""Feature overview commands: ``aio status | history | switch | features``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ai_orchestrator.cli import output, tables
from ai_orchestrator.cli.render_sessions import cost_text, savings_text
from ai_orchestrator.cli.tables import Cell, Column, plural
from ai_orchestrator.core.causes import failure_cause
from ai_orchestrator.core.figures import duration, token_line
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra.timeutil import parse_iso

json_option = click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")


def _print_agent_todos(todos: dict[str, Any], feature_id: str) -> None:
    from ai_orchestrator.cli.todo import print_agent_todo_list

    for problem in todos.get("problems") or []:
        output.warn(problem)
    if not todos.get("task"):
        return
    others = len(todos["by_task"]) - 1
    more = f" (+{others} more: aio todo list --feature {feature_id})" if others > 0 else ""
    print_agent_todo_list(todos["task"], todos["items"], more)


SESSION_COLUMNS = (
    Column("Phase", drop=7),
    Column("Session", ident=True),
    Column("Calls", justify="right", drop=3),
    Column("Tokens in/out", justify="right", drop=2, layout="wide"),
    Column("Cache read/write", justify="right", drop=6, layout="wide"),
    Column("Tokens", justify="right", drop=2, layout="compact"),
    Column("From cache", justify="right", drop=4),
    Column("Cost", justify="right"),
    Column("Saved", justify="right", drop=5),
    Column("Last used"),
)


def _session_cells(row: dict[str, Any], now: datetime) -> list[Cell]:
    t = row["tokens"]
    return [
        row.get("phase", ""),
        row["session"],
        output.count(row["interactions"]),
        f"{output.count(t['input'])}/{output.count(t['output'])}",
        f"{output.count(t['cache_read'])}/{output.count(t['cache_write'])}",
        tables.short_count(sum(t.values())),
        f"{row['cache_read_share']:.0%}",
        cost_text(row["cost"], row["unpriced"], row["interactions"]),
        savings_text(row["savings"], row["unpriced"], row["interactions"]),
        tables.when(parse_iso(row.get("last_activity")), now),
    ]


def _in_use(s: dict[str, Any]) -> str:
    """``claude-sonnet-4-5 (claude)``; ``scripted's default`` before it reported one."""
    model, agent = s.get("model"), s.get("agent")
    if model:
        return f"{model} ({agent})" if agent else str(model)
    return f"{agent}'s default" if agent else "-"


def print_status(s: dict[str, Any], *, wide: bool = False) -> None:
    from rich.markup import escape

    con = output.out()
    now = datetime.now(UTC)
    t = s["tasks"]
    con.print(f"[bold cyan]Feature:[/bold cyan] {escape(s['feature_id'])}  ({s['status']})")
    if s["description"]:
        con.print(f"Description: {s['description']}", markup=False)
    con.print(
        f"Active task: {s['active_task'] or 'none'} · next: {s['next_task'] or '-'}"
        f" · model: {_in_use(s)}",
        markup=False,
    )
    last = tables.when(parse_iso(s["last_activity"]), now)
    con.print(f"Health: {s['health']} · last activity: {last}", markup=False)
    started = parse_iso(s.get("created_at"))
    if started is not None:
        age = (now - started).total_seconds()
        # within a week how long ago ("5m ago", "3d ago"); older, the date says it
        since = f" · {output.age(started, now)}" if age < 7 * 86400 else ""
        con.print(
            f"Started: {tables.local_time(started, now)}{since} · "
            f"artifacts: {plural(int(s.get('artifacts') or 0), 'file')}",
            markup=False,
        )
    con.print(
        f"Tasks: {t['completed']}/{t['total']} completed ({t['progress_percent']}%) · "
        f"{t['in_progress']} in progress · {t['failed']} failed · {t['pending']} pending"
    )
    totals = s["totals"]
    if s["sessions"]:
        rows = [
            _session_cells({**row, "phase": phase}, now)
            for phase, row in sorted(s["sessions"].items())
        ]
        total_row = None
        if len(rows) > 1:
            total_row = _session_cells(
                {
                    **totals,
                    "session": "Total",
                    "last_activity": s["last_activity"],
                },
                now,
            )
        tables.print_table("Sessions by phase", SESSION_COLUMNS, rows, totals=total_row, wide=wide)
    con.print(
        f"Total: {plural(totals['interactions'], 'agent call')} · "
        f"{cost_text(totals['cost'], totals['unpriced'], totals['interactions'])} · saved "
        f"{savings_text(totals['savings'], totals['unpriced'], totals['interactions'])}"
        f" · {totals['cache_read_share']:.0%} of input from cache",
        markup=False,
    )
    if totals["interactions"]:
        con.print(f"Tokens: {token_line(totals['tokens'])}", markup=False)
    if totals["unpriced"]:
        con.print(
            f"Unpriced: {plural(totals['unpriced'], 'call')} without a price (a model the price "
            "table does not know, or usage the agent never reported); their cost is not "
            "included (aio session show NAME)",
            markup=False,
        )
    _print_agent_todos(s["agent_todos"], s["feature_id"])
    origin = s.get("origin") or {}
    if origin.get("linked_from") or origin.get("template"):
        parts = [f"feature {origin['linked_from']}" if origin.get("linked_from") else "",
                 f"template {origin['template']}" if origin.get("template") else ""]  # fmt: skip
        con.print(f"Starts from: {', '.join(p for p in parts if p)}", markup=False)
    for e in s.get("escalations") or []:
        source = f"{e.get('agent') or '-'} ({e.get('model') or 'default'})"
        target = f"{e.get('to_agent')} ({e.get('to_model') or 'default'})"
        task = f" {e['task_id']}" if e.get("task_id") else ""
        con.print(
            f"Escalated{task}: {e.get('session')} {source} → {target} by {e.get('method')} "
            f"{tables.when(parse_iso(e.get('at')), now)} ({e.get('status')}): {e.get('reason')}",
            markup=False,
        )
    c = s["commands"]
    by = ", ".join(f"{k} {v}" for k, v in sorted(c["by_command"].items()))
    con.print(f"Commands: {c['total']} ({by or 'none'}) · failures: {c['failures']}", markup=False)
    for event in s["recent"]:
        task = f" {event['task_id']}" if event["task_id"] else ""
        con.print(
            f"  {tables.local_time(parse_iso(event['timestamp']), now)}  {event['command']}"
            f"{task} ({event['status']})",
            markup=False,
        )


def _warn_config(path: Path) -> None:
    """A read command still shows what it can with a broken config, but says so: the
    commands that run agents refuse that file (exit 2)."""
    from ai_orchestrator.core.errors import InvalidInput
    from ai_orchestrator.workflow.project.config import load_config

    try:
        load_config(path)
    except InvalidInput as exc:
        output.warn(f"{exc} (aio config check lists every problem)")


def _warn_unreadable(unreadable: list[dict[str, str]]) -> None:
    for item in unreadable:
        output.warn(f"feature {item['feature_id']} skipped: {item['error']}")


@output.reads
@click.command("status")
@click.argument("feature", required=False)
@click.option("--all", "show_all", is_flag=True, help="Every feature (the default without one).")
@output.wide_option
@json_option
@output.color_option
def status_cmd(feature: str | None, show_all: bool, wide: bool, as_json: bool) -> None:
    """Progress, tasks, tokens, cost and savings per phase; all features when none given."""
    from ai_orchestrator.cli.usage import interactive_figures, print_interactive
    from ai_orchestrator.workflow.project.workspace import Workspace
    from ai_orchestrator.workflow.status import all_features, feature_status

    ws = Workspace.find()
    _warn_config(ws.config_file)
    if feature is not None and not show_all:  # '' is refused, never "all features"
        status = feature_status(ws, ws.resolve_feature(feature))
        # the agents' own sessions of this feature (usage index, no sync)
        interactive = interactive_figures("feature", [status["feature_id"]])
        if status["feature_id"] in interactive:
            status["interactive"] = interactive[status["feature_id"]]
        if as_json:
            output.emit_json(status)
        else:
            print_status(status, wide=wide)
            if "interactive" in status:
                print_interactive({status["feature_id"]: status["interactive"]}, "feature")
        return
    features, unreadable = all_features(ws)
    interactive = interactive_figures("feature", [s["feature_id"] for s in features])
    for status in features:
        if status["feature_id"] in interactive:
            status["interactive"] = interactive[status["feature_id"]]
    _warn_unreadable(unreadable)
    if as_json:
        output.emit_json(
            versioned({
                "current": ws.current(),
                "features": features,
                "unreadable": unreadable,
            })
        )
        return
    if not features:
        output.info("No features yet (aio init FEATURE).")
    for index, status in enumerate(features):
        if index:
            output.out().print()
        print_status(status, wide=wide)
    print_interactive(
        {s["feature_id"]: s["interactive"] for s in features if "interactive" in s}, "feature"
    )


@output.writes
@click.command("features")
@output.wide_option
@json_option
@output.color_option
def features_cmd(wide: bool, as_json: bool) -> None:
    """All features with progress, cost and last activity."""
    from ai_orchestrator.workflow.project.workspace import Workspace
    from ai_orchestrator.workflow.status import all_features

    ws = Workspace.find()
    _warn_config(ws.config_file)
    features, unreadable = all_features(ws)
    _warn_unreadable(unreadable)
    if as_json:
        output.emit_json(
            versioned({
                "current": ws.current(),
                "unreadable": unreadable,
                "features": [
                    {
                        k: f[k]
                        for k in (
                            "feature_id",
                            "description",
                            "status",
                            "current",
                            "last_activity",
                            "next_task",
                        )
                    }
                    | {"tasks": f["tasks"], "cost": f["totals"]["cost"]}
                    for f in features
                ],
            })
        )
        return
    now = datetime.now(UTC)
    rows: list[list[Cell]] = []
    for f in features:
        t = f["tasks"]
        rows.append(
            [
                "*" if f["current"] else "",
                f["feature_id"],
                str(f["status"]),
                f"{t['completed']}/{t['total']} ({t['progress_percent']}%)",
                f["next_task"] or "-",
                cost_text(
                    f["totals"]["cost"], f["totals"]["unpriced"], f["totals"]["interactions"]
                ),
                tables.when(parse_iso(f["last_activity"]), now),
            ]
        )
    totals: list[Cell] | None = None
    if len(features) > 1:
        cost = sum(f["totals"]["cost"] for f in features)
        unpriced = sum(f["totals"]["unpriced"] for f in features)
        calls = sum(f["totals"]["interactions"] for f in features)
        totals = ["", "Total", "", "", "", cost_text(cost, unpriced, calls), ""]
    tables.print_table("Features", FEATURE_COLUMNS, rows, totals=totals, wide=wide)
    if any(f["current"] for f in features):
        output.out().print("* the current feature (aio switch)", markup=False)


FEATURE_COLUMNS = (
    Column(""),
    Column("Feature", ident=True),
    Column("Status", drop=2),
    Column("Progress"),
    Column("Next", ident=True, drop=1),
    Column("Cost", justify="right"),
    Column("Last activity", drop=3),
)


@output.reads
@click.command("history")
@click.argument("feature", required=False)
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Only the last N events.")
@click.option("--command", "command", default=None, help="Only events of this command.")
@click.option("--model", "model", default=None, help="Only events and calls of models matching M.")
@click.option("--stats", is_flag=True, help="Also calls, tokens, cost, outcomes by phase/model.")
@click.option("--failed", is_flag=True, help="Only the events that failed, with their cause.")
@output.wide_option
@json_option
@output.color_option
def history_cmd(
    feature: str | None,
    limit: int | None,
    command: str | None,
    model: str | None,
    stats: bool,
    failed: bool,
    wide: bool,
    as_json: bool,
) -> None:
    """The command history of FEATURE (history.jsonl)."""
    from ai_orchestrator.workflow.history_stats import call_stats, events_for_model
    from ai_orchestrator.workflow.project.history import filter_events, read_events
    from ai_orchestrator.workflow.project.workspace import Workspace

    if model is not None and not model.strip():
        from ai_orchestrator.core.errors import InvalidInput

        raise InvalidInput("--model: name a model (or part of one, e.g. opus)")
    ws = Workspace.find()
    feature_id = ws.resolve_feature(feature)
    events, bad = read_events(ws.feature(feature_id).history_file)
    if bad:
        output.warn(f"{bad} unreadable line(s) in history.jsonl were skipped")
    if model is not None:
        events = events_for_model(events, model)
    events = filter_events(events, command=command, limit=limit, failed=failed)
    figures = None
    if stats:
        from ai_orchestrator.store import SessionStore

        figures = call_stats(SessionStore(), feature_id, model)
        for problem in figures["problems"]:
            output.warn(problem)
    if as_json:
        document: dict[str, Any] = versioned(feature_id=feature_id, events=events)
        if figures is not None:
            document["stats"] = figures
        output.emit_json(document)
        return
    now = datetime.now(UTC)
    rows: list[list[Cell]] = []
    for e in events:
        agent, shown = str(e.get("agent") or "-"), event_model(e) or "-"
        rows.append(
            [
                tables.local_time(parse_iso(e.get("timestamp")), now),
                str(e.get("command")),
                str(e.get("task_id") or "-"),
                agent,
                shown,
                f"{agent}/{shown}",
                (str(e.get("status")), "" if e.get("status") == "success" else "red"),
                duration(int(e.get("duration_ms") or 0) / 1000),
                failure_cause(str(e.get("status") or ""), str(e.get("error") or "")),
            ]
        )
    tables.print_table(f"History of {feature_id}", HISTORY_COLUMNS, rows, wide=wide)
    if figures is not None:
        _print_call_stats(feature_id, figures, wide)


STATS_COLUMNS = (
    Column("Phase", ident=True),
    Column("Model", ident=True),
    Column("Calls", justify="right"),
    Column("Tokens", justify="right", drop=2),
    Column("Cost", justify="right"),
    Column("Outcomes", max_width=40, drop=1),
)


def _print_call_stats(feature_id: str, figures: dict[str, Any], wide: bool) -> None:
    def cells(row: dict[str, Any], phase: str, model: str) -> list[Cell]:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(row["outcomes"].items()))
        return [
            phase,
            model,
            f"{row['calls']:,}",
            (
                "unknown"
                if row["usage_unknown"] == row["calls"]
                else token_line(row["tokens"])
                + (f" + {row['usage_unknown']} unknown" if row["usage_unknown"] else "")
            ),
            cost_text(row["cost"], row["unpriced"], row["calls"]),
            outcomes or "-",
        ]

    rows = [cells(r, r["phase"], r["model"] or "-") for r in figures["rows"]]
    total = cells(figures["totals"], "Total", "")
    tables.print_table(
        f"Agent calls of {feature_id} by phase and model", STATS_COLUMNS, rows, totals=total,
        wide=wide,
    )  # fmt: skip


HISTORY_COLUMNS = (
    Column("Time"),
    Column("Command", ident=True),
    Column("Task", ident=True),
    Column("Agent", drop=3, layout="wide"),
    Column("Model", ident=True, drop=2, layout="wide"),
    Column("Agent/model", drop=2, layout="compact"),
    Column("Status", ident=True),
    Column("Duration", justify="right", drop=1),
    Column("Cause", max_width=60),
)


def event_model(event: dict[str, Any]) -> str | None:
    """The model an event's calls ran on as the agent reported it (the id, e.g.
    ``claude-opus-4-1``), else the one asked for (which may be an alias such as ``opus``)."""
    details = event.get("details")
    steps = details.get("steps") if isinstance(details, dict) else None
    reported = [
        s["model"] for s in steps or [] if isinstance(s, dict) and isinstance(s.get("model"), str)
    ]
    model = event.get("model")
    return reported[-1] if reported else model if isinstance(model, str) else None


@output.writes
@click.command("switch")
@click.argument("feature", required=False)
@click.option("--list", "list_only", is_flag=True, help="Show the features and the current one.")
@click.option("--status", "show_status", is_flag=True, help="Then show the feature's status.")
@json_option
def switch_cmd(feature: str | None, list_only: bool, show_status: bool, as_json: bool) -> None:
    """Make FEATURE the default for commands that omit it (stored in .aio/current)."""
    from ai_orchestrator.core.errors import InvalidInput
    from ai_orchestrator.workflow.project.workspace import Workspace

    if list_only and feature:
        raise InvalidInput("give FEATURE or --list, not both")
    if show_status and (list_only or not feature):
        raise InvalidInput("--status shows the feature switched to: aio switch FEATURE --status")
    if not list_only and not feature:
        raise InvalidInput("expected FEATURE (or --list)")
    ws = Workspace.find()
    if feature:
        ws.set_current(feature)
        output.info(f"Current feature: {feature}")
    current = ws.current()
    if as_json:
        output.emit_json(versioned(current=current, features=ws.feature_ids()))
    elif list_only:
        for name in ws.feature_ids():
            click.echo(f"{'*' if name == current else ' '} {name}")
    elif show_status and feature:
        from ai_orchestrator.workflow.status import feature_status

        print_status(feature_status(ws, ws.resolve_feature(feature)))

"""Feature overview commands: ``aio status | history | switch | features``."""

from __future__ import annotations

from typing import Any

import click

from ai_orchestrator.cli import output

json_option = click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")


def _tokens(tokens: dict[str, int]) -> str:
    return (
        f"{tokens.get('input', 0):,} in / {tokens.get('output', 0):,} out / "
        f"{tokens.get('cache_read', 0):,} cache read / {tokens.get('cache_write', 0):,} cache write"
    )


def _cost(cost: float, unpriced: int) -> str:
    """The cost, marked when some calls could not be priced (their cost is unknown)."""
    text = output.money(cost)
    return f"{text} + {unpriced} unpriced" if unpriced else text


def _print_agent_todos(todos: dict[str, Any]) -> None:
    from ai_orchestrator.cli.todo import print_agent_todo_list

    for problem in todos.get("problems") or []:
        output.warn(problem)
    if not todos.get("task"):
        return
    others = len(todos["by_task"]) - 1
    more = f" (lists of {others} other task(s): aio todo list --feature …)" if others > 0 else ""
    print_agent_todo_list(todos["task"], todos["items"], more)


def print_status(s: dict[str, Any]) -> None:
    con = output.out()
    t = s["tasks"]
    con.print(f"[bold cyan]Feature:[/bold cyan] {s['feature_id']}  ({s['status']})")
    if s["description"]:
        con.print(f"Description: {s['description']}")
    con.print(
        f"Active task: {s['active_task'] or 'none'} · next: {s['next_task'] or '-'}"
        f" · model: {s['model'] or '-'}"
    )
    con.print(f"Health: {s['health']} · last activity: {s['last_activity'] or 'never'}")
    con.print(
        f"Tasks: {t['completed']}/{t['total']} completed ({t['progress_percent']}%) · "
        f"{t['in_progress']} in progress · {t['failed']} failed · {t['pending']} pending"
    )
    if s["sessions"]:
        from rich.table import Table

        table = Table(title="Sessions by phase", title_justify="left")
        columns = ("Phase", "Session", "Calls", "Tokens", "Cache", "Cost", "Saved", "Last used")
        for column in columns:
            table.add_column(column)
        for phase, row in sorted(s["sessions"].items()):
            table.add_row(
                phase,
                row["session"],
                str(row["interactions"]),
                _tokens(row["tokens"]),
                f"{row['cache_read_share']:.0%}",
                _cost(row["cost"], row["unpriced"]),
                output.money(row["savings"]),
                row["last_activity"] or "-",
            )
        con.print(table)
    totals = s["totals"]
    con.print(
        f"Total: {totals['interactions']} agent call(s) · {_tokens(totals['tokens'])} · "
        f"{totals['cache_read_share']:.0%} of input from cache · "
        f"{_cost(totals['cost'], totals['unpriced'])} · saved {output.money(totals['savings'])}"
    )
    if totals["unpriced"]:
        con.print(
            f"Unpriced: {totals['unpriced']} call(s) used a model the price table does not "
            "know; their cost is not included (aio session show NAME)",
            markup=False,
        )
    _print_agent_todos(s["agent_todos"])
    for e in s.get("escalations") or []:
        source = f"{e.get('agent') or '-'} ({e.get('model') or 'default'})"
        target = f"{e.get('to_agent')} ({e.get('to_model') or 'default'})"
        task = f" {e['task_id']}" if e.get("task_id") else ""
        con.print(
            f"Escalated{task}: {e.get('session')} {source} → {target} by {e.get('method')} "
            f"at {e.get('at')} ({e.get('status')}): {e.get('reason')}",
            markup=False,
        )
    c = s["commands"]
    by = ", ".join(f"{k} {v}" for k, v in sorted(c["by_command"].items()))
    con.print(f"Commands: {c['total']} ({by or 'none'}) · failures: {c['failures']}")
    for event in s["recent"]:
        con.print(
            f"  {event['timestamp']} - {event['command']}"
            f"{' ' + event['task_id'] if event['task_id'] else ''} ({event['status']})"
        )


def _warn_unreadable(unreadable: list[dict[str, str]]) -> None:
    for item in unreadable:
        output.warn(f"feature {item['feature_id']} skipped: {item['error']}")


@click.command("status")
@click.argument("feature", required=False)
@click.option("--all", "show_all", is_flag=True, help="Every feature (the default without one).")
@json_option
def status_cmd(feature: str | None, show_all: bool, as_json: bool) -> None:
    """Progress, tasks, tokens, cost and savings per phase; all features when none given."""
    from ai_orchestrator.workflow.project.workspace import Workspace
    from ai_orchestrator.workflow.status import all_features, feature_status

    ws = Workspace.find()
    if feature is not None and not show_all:  # '' is refused, never "all features"
        status = feature_status(ws, ws.resolve_feature(feature))
        if as_json:
            output.emit_json(status)
        else:
            print_status(status)
        return
    features, unreadable = all_features(ws)
    _warn_unreadable(unreadable)
    if as_json:
        output.emit_json(
            {
                "schema_version": 1,
                "current": ws.current(),
                "features": features,
                "unreadable": unreadable,
            }
        )
        return
    if not features:
        output.info("No features yet (aio init FEATURE).")
    for index, status in enumerate(features):
        if index:
            output.out().print()
        print_status(status)


@click.command("features")
@json_option
def features_cmd(as_json: bool) -> None:
    """All features with progress, cost and last activity."""
    from ai_orchestrator.workflow.project.workspace import Workspace
    from ai_orchestrator.workflow.status import all_features

    ws = Workspace.find()
    features, unreadable = all_features(ws)
    _warn_unreadable(unreadable)
    if as_json:
        output.emit_json(
            {
                "schema_version": 1,
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
            }
        )
        return
    from rich.table import Table

    table = Table(title="Features", title_justify="left")
    for column in ("", "Feature", "Status", "Progress", "Next", "Cost", "Last activity"):
        table.add_column(column)
    for f in features:
        t = f["tasks"]
        table.add_row(
            "*" if f["current"] else "",
            f["feature_id"],
            str(f["status"]),
            f"{t['completed']}/{t['total']} ({t['progress_percent']}%)",
            f["next_task"] or "-",
            output.money(f["totals"]["cost"]),
            f["last_activity"] or "-",
        )
    output.out().print(table)


@click.command("history")
@click.argument("feature", required=False)
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Only the last N events.")
@click.option("--command", "command", default=None, help="Only events of this command.")
@click.option("--model", "model", default=None, help="Only events and calls of models matching M.")
@click.option("--stats", is_flag=True, help="Also calls, tokens, cost, outcomes by phase/model.")
@json_option
def history_cmd(
    feature: str | None,
    limit: int | None,
    command: str | None,
    model: str | None,
    stats: bool,
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
    events = filter_events(events, command=command, limit=limit)
    figures = None
    if stats:
        from ai_orchestrator.store import SessionStore

        figures = call_stats(SessionStore(), feature_id, model)
        for problem in figures["problems"]:
            output.warn(problem)
    if as_json:
        document: dict[str, Any] = {"schema_version": 1, "feature_id": feature_id, "events": events}
        if figures is not None:
            document["stats"] = figures
        output.emit_json(document)
        return
    from rich.table import Table

    table = Table(title=f"History of {feature_id}", title_justify="left")
    for column in ("Time", "Command", "Task", "Agent", "Model", "Status", "Duration", "Error"):
        table.add_column(column, overflow="fold")
    for e in events:
        table.add_row(
            str(e.get("timestamp")),
            str(e.get("command")),
            e.get("task_id") or "-",
            e.get("agent") or "-",
            e.get("model") or "-",
            str(e.get("status")),
            f"{int(e.get('duration_ms') or 0) / 1000:.1f}s",
            (e.get("error") or "")[:80],
        )
    output.out().print(table)
    if figures is not None:
        _print_call_stats(feature_id, figures)


def _print_call_stats(feature_id: str, figures: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"Agent calls of {feature_id} by phase and model", title_justify="left")
    for column in ("Phase", "Model", "Calls", "Tokens", "Cost", "Outcomes"):
        table.add_column(column, overflow="fold")
    for row in [*figures["rows"], figures["totals"]]:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(row["outcomes"].items()))
        table.add_row(
            "total" if row is figures["totals"] else row["phase"],
            "" if row is figures["totals"] else row["model"] or "-",
            str(row["calls"]),
            _tokens(row["tokens"]),
            _cost(row["cost"], row["unpriced"]),
            outcomes or "-",
        )
    output.out().print(table)


@click.command("switch")
@click.argument("feature", required=False)
@click.option("--list", "list_only", is_flag=True, help="Show the features and the current one.")
@json_option
def switch_cmd(feature: str | None, list_only: bool, as_json: bool) -> None:
    """Make FEATURE the default for commands that omit it (stored in .aio/current)."""
    from ai_orchestrator.core.errors import InvalidInput
    from ai_orchestrator.workflow.project.workspace import Workspace

    if list_only and feature:
        raise InvalidInput("give FEATURE or --list, not both")
    if not list_only and not feature:
        raise InvalidInput("expected FEATURE (or --list)")
    ws = Workspace.find()
    if feature:
        ws.set_current(feature)
        output.info(f"Current feature: {feature}")
    current = ws.current()
    if as_json:
        output.emit_json({"schema_version": 1, "current": current, "features": ws.feature_ids()})
    elif list_only:
        for name in ws.feature_ids():
            click.echo(f"{'*' if name == current else ' '} {name}")

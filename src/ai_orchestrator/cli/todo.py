"""``aio todo …``: session todos (estimated vs actual cost) and the agents' own todo lists.

``report`` totals the todos started in a period; ``list`` shows them and, with
``--feature``, the agent's current todo list per task (folded from the stored todo tool
calls). Under ``--json`` each writes exactly one JSON document to stdout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import click

from ai_orchestrator.accounting import todos as session_todos
from ai_orchestrator.cli import output, tables
from ai_orchestrator.cli.tables import Cell, Column
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra.timeutil import parse_iso
from ai_orchestrator.store import todo_log

STATUS_MARKS = {"completed": "✓", "in_progress": "▶", "pending": "○", "failed": "✗"}


@click.group("todo", context_settings={"help_option_names": ["-h", "--help"]})
@output.color_option
def todo() -> None:
    """Session todos ($TODO_FILE, default $SESSION_DIR/todos.jsonl)."""


@output.reads
@todo.command("report")
@click.option("--since", help="Only todos started on/after this date (YYYY-MM-DD or ISO).")
@click.option("--until", help="Only todos started up to this date (a date includes the day).")
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
@output.color_option
def report_cmd(since: str | None, until: str | None, as_json: bool) -> None:
    """Totals: completed, failed, in progress, actual vs estimated cost, top features."""
    start_at, end_at = session_todos.parse_period(since, until)
    data = session_todos.report(start_at, end_at)
    if as_json:
        output.emit_json(data)
        return
    if data["unreadable_lines"]:
        output.warn(f"{data['todo_file']}: {data['unreadable_lines']} unreadable line(s) skipped")
    _print_report(data, since, until)


@output.reads
@todo.command("list")
@click.option("--feature", help="Only this feature's todos, plus the agent's todo list per task.")
@click.option("--status", type=click.Choice(todo_log.STATUSES), help="Only this status.")
@output.wide_option
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
@output.color_option
def list_cmd(feature: str | None, status: str | None, wide: bool, as_json: bool) -> None:
    """List session todos (oldest first)."""
    agent_todos: dict[str, list[dict[str, Any]]] | None = None
    problems: list[str] = []
    if feature is not None:
        from ai_orchestrator.accounting.agent_todos import agent_todos_by_task
        from ai_orchestrator.store import SessionStore

        agent_todos = agent_todos_by_task(SessionStore(), feature, problems=problems)
    items = todo_log.list_todos(feature, status)
    for problem in problems:
        output.warn(problem)
    if as_json:
        output.emit_json(
            versioned({
                "todo_file": str(todo_log.todo_file()),
                "feature": feature,
                "status": status,
                "todos": items,
                "agent_todos": agent_todos,
            })
        )
        return
    _print_list(items, agent_todos, wide=wide)


def _print_report(data: Mapping[str, Any], since: str | None, until: str | None) -> None:
    console = output.out()
    accuracy = data["estimate_accuracy"]
    lines = [
        "AI Session Report",
        f"Todo file: {data['todo_file']}",
        f"Period: {since or 'beginning'} to {until or 'now'}",
        f"Total todos: {data['total']}",
        f"Completed: {data['completed']}",
        f"Failed: {data['failed']}",
        f"In progress: {data['in_progress']}",
        f"Total cost: {output.money(data['total_actual_cost'])} ({_estimated(data)})",
    ]
    if data["unpriced"]:
        lines.append(
            f"Unpriced: {tables.plural(data['unpriced'], 'todo')} (a model without a price, or "
            "usage the agent never reported; not in the total)"
        )
    if accuracy["todos"]:
        parts = []
        if accuracy["mape"] is not None:
            parts.append(f"mean absolute error {accuracy['mape']:.0%}")
        if accuracy["actual_to_estimate"] is not None:
            parts.append(f"actual/estimate {accuracy['actual_to_estimate']:.2f}x")
        lines.append(
            f"Estimate accuracy ({accuracy['todos']} completed): " + (", ".join(parts) or "-")
        )
    if data["top_features"]:
        lines.append("Top features:")
        lines.extend(
            f"  - {f['feature_id']}: {output.money(f['actual_cost'])} "
            f"({tables.plural(f['todos'], 'todo')}"
            + (f", {f['unpriced']} unpriced)" if f["unpriced"] else ")")
            for f in data["top_features"]
        )
    for line in lines:
        console.print(line, markup=False)


def _estimated(data: Mapping[str, Any]) -> str:
    """What the estimates add up to, and over how many of the todos (some have none)."""
    have, total = data["estimated_todos"], data["total"]
    if not have:
        return "no estimates"
    of = "" if have == total else f" for {have} of {total} todos"
    return f"estimated {output.money(data['total_estimated_cost'])}{of}"


TODO_COLUMNS = (
    Column("Started"),
    Column("Todo", ident=True, drop=3),
    Column("Session", ident=True),
    Column("Task", ident=True, drop=1),
    Column("Status", ident=True),
    Column("Estimate", justify="right", drop=2),
    Column("Actual", justify="right"),
    Column("Tokens", justify="right", drop=4),
)


def _print_list(
    items: Sequence[Mapping[str, Any]],
    agent_todos: Mapping[str, Sequence[Mapping[str, Any]]] | None,
    *,
    wide: bool = False,
) -> None:
    if items:
        now = datetime.now(UTC)
        rows: list[list[Cell]] = [
            [
                tables.when(parse_iso(t["start_time"] or t["first_seen"]), now),
                t["id"],
                t["session_name"] or "-",
                t["task_id"] or "-",
                t["status"],
                output.money(t["estimated_cost"]),
                output.money(t["actual_cost"], unpriced=t["unpriced"]),
                output.count(t["total_tokens"]) if t["total_tokens"] is not None else "-",
            ]
            for t in items
        ]
        tables.print_table("Session todos (oldest first)", TODO_COLUMNS, rows, wide=wide)
    else:
        output.info("No session todos found.")
    if agent_todos is None:
        return
    if not agent_todos:
        output.info("No agent todo lists recorded for this feature.")
        return
    for task, task_items in agent_todos.items():
        print_agent_todo_list(task, task_items)


def print_agent_todo_list(task: str, items: Sequence[Mapping[str, Any]], note: str = "") -> None:
    """One task's agent todo list (``aio todo list`` and ``aio status``)."""
    console = output.out()
    console.print(f"Agent todo list — task {task}{note}:", markup=False)
    if not items:
        console.print("  (empty)", markup=False)
    for item in items:
        status = str(item.get("status") or "pending")
        mark = STATUS_MARKS.get(status, "·")
        ident = f"#{item['id']} " if item.get("id") else ""
        content = item.get("content") or "(no description)"
        console.print(f"  {mark} {ident}{content} [{status}]", markup=False)

"""Rendering and glue shared by the workflow commands (tables on stdout, hooks to stderr)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from ai_orchestrator.cli import output
from ai_orchestrator.core.schema import versioned

if TYPE_CHECKING:  # the agent-call machinery loads when a command calls an agent
    from ai_orchestrator.agents.base import Progress
    from ai_orchestrator.calls.conversation import Hooks
    from ai_orchestrator.infra.locks import WaitReport
    from ai_orchestrator.workflow.model.plan import Plan

STATUS_STYLE = {
    "completed": "green",
    "in_progress": "yellow",
    "failed": "red",
    "pending": "dim",
}


def hooks(*, live: bool = True) -> Hooks:
    """Hooks that print to stderr and show a live progress line on a terminal."""
    from ai_orchestrator.calls.conversation import Hooks
    from ai_orchestrator.cli.progress import ProgressLine

    active: list[ProgressLine] = []

    def progress(label: str) -> AbstractContextManager[Callable[[Progress], None] | None]:
        @contextmanager
        def manager() -> Iterator[Callable[[Progress], None] | None]:
            enabled = live and output.stdout_is_terminal()
            with ProgressLine(enabled=enabled, label=label) as line:
                active.append(line)
                try:
                    yield line.update if enabled else None
                finally:
                    active.remove(line)

        return manager()

    def lock_wait(name: str, what: str = "the session") -> WaitReport:
        line = active[-1] if active else ProgressLine(enabled=False, label=name)
        return line.wait_reporter(name, output.info, what)

    return Hooks(info=output.info, warn=output.warn, progress=progress, lock_wait=lock_wait)


def calls_summary(steps: list[dict[str, Any]]) -> str:
    """A command's agent calls in one line: how many, their tokens (all four kinds, as a
    call's own line), their cost; calls without a price or without usage are said, never
    counted as $0 or 0 tokens."""
    from ai_orchestrator.cli.tables import plural
    from ai_orchestrator.core.figures import token_line

    known = [s for s in steps if not s.get("usage_unknown")]
    unpriced = sum(1 for s in known if s.get("cost_source") == "unpriced")
    tokens = {
        key: sum(int((s.get("tokens") or {}).get(key) or 0) for s in known)
        for key in ("input", "output", "cache_read", "cache_write")
    }
    parts = [plural(len(steps), "agent call")]
    if known:
        parts.append(token_line(tokens))
        priced = len(known) - unpriced
        cost = sum(float(s.get("cost") or 0.0) for s in known if s.get("cost_source") != "unpriced")
        parts.append(
            "unpriced"
            if not priced
            else output.money(cost) + (f" + {unpriced} unpriced" if unpriced else "")
        )
    if len(known) < len(steps):
        parts.append(f"{len(steps) - len(known)} with usage unknown")
    return " · ".join(parts)


def plan_json(plan: Plan, feature_id: str) -> dict[str, Any]:
    nxt = plan.next_task()
    return versioned({
        "feature_id": feature_id,
        "counts": plan.counts(),
        "next_task": nxt.id if nxt else None,
        "phases": [p.to_dict() for p in plan.phases],
    })


def print_plan(plan: Plan, title: str) -> None:
    from rich.table import Table

    # The title on its own line: rich pads a table's title to the table's width.
    table_title = title
    table = Table()
    for column in ("Task", "Title", "Status", "Depends on", "Agent"):
        table.add_column(column, overflow="fold")
    for phase in plan.phases:
        table.add_row(
            f"[bold]Phase {phase.number}[/bold]", f"[bold]{phase.name}[/bold]", "", "", ""
        )
        for task in phase.tasks:
            style = STATUS_STYLE.get(task.status, "")
            status = f"[{style}]{task.status}[/{style}]" if style else task.status
            if task.failure_reason:
                status += f" ({task.failure_reason[:60]})"
            table.add_row(
                task.id, task.title, status, ", ".join(task.dependencies) or "-", task.agent or "-"
            )
    output.out().print(table_title, markup=False)
    output.out().print(table)
    counts = plan.counts()
    output.out().print(
        f"{counts['completed']}/{counts['total']} completed · {counts['in_progress']} in progress"
        f" · {counts['failed']} failed · {counts['pending']} pending"
    )

"""Options and the confirmation question shared by the ``aio session`` commands."""

from __future__ import annotations

import sys
from typing import Any

import click

from ai_orchestrator.cli import output
from ai_orchestrator.core.errors import InvalidInput


class Days(click.ParamType[float, Any]):
    """A number of days: finite, within a century (``nan``, ``inf``, ``1e10`` are refused)."""

    name = "days"

    def __init__(self, *, allow_zero: bool = False) -> None:
        self.allow_zero = allow_zero

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        from ai_orchestrator.store.stats import check_days, days_rule

        try:
            return check_days(float(value), allow_zero=self.allow_zero)
        except (TypeError, ValueError, InvalidInput):
            self.fail(f"{value!r} is not {days_rule(self.allow_zero)}", param, ctx)


json_option = click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
days_option = click.option(
    "--days",
    type=Days(),
    default=30,
    show_default=True,
    help="Window for 'active': used within this many days.",
)


def confirm(question: str) -> bool:
    """Ask on stderr. Off a terminal an answer is read from stdin; no answer (EOF) is
    "no", so a script without ``--yes`` deletes nothing (exit 0) instead of hanging."""
    if sys.stdin is not None and sys.stdin.isatty():
        return click.confirm(question, err=True)  # Ctrl-C: Abort, exit 130
    click.echo(f"{question} [y/N]: ", err=True, nl=False)
    answer = sys.stdin.readline() if sys.stdin is not None else ""
    if not answer:
        click.echo("", err=True)
        output.info("No answer on stdin (use --yes to skip the question).")
        return False
    return answer.strip().lower() in ("y", "yes")
rescan_option = click.option(
    "--rescan",
    is_flag=True,
    help="Start the index over from the files (a plain listing already sees hand edits).",
)

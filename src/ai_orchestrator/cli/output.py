"""The one module that owns the consoles: stdout carries data, stderr carries messages.

Colour only on a terminal (rich decides; ``NO_COLOR`` is honoured). Under ``--json``
commands write exactly one JSON document to stdout and nothing else.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console


@cache
def out() -> Console:
    from rich.console import Console

    # Off a terminal (pipes, files) rich would wrap at 80 columns; keep rows whole.
    width = None if sys.stdout.isatty() else 200
    return Console(soft_wrap=False, highlight=False, width=width)


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


_emitted: list[bool] = []  # a JSON document went to stdout (at most one per run)


def emit_json(obj: Any, *, compact: bool = False) -> None:
    # indent forces json's pure-Python encoder; large listings use the C one.
    text = json.dumps(obj, ensure_ascii=False, default=str, indent=None if compact else 2)
    _emitted.append(True)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def json_emitted() -> bool:
    return bool(_emitted)


def info(message: str) -> None:
    # sys.stderr, looked up now: while a live line shows, rich swaps it for a proxy that
    # prints above the line (click's cached stderr would write into the line).
    click.echo(message, file=sys.stderr)


def warn(message: str) -> None:
    click.echo(f"warning: {message}", file=sys.stderr)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def money(value: float | None, *, unpriced: bool = False) -> str:
    if unpriced:
        return "unpriced"
    if value is None:
        return "-"
    return f"${value:,.4f}" if value < 100 else f"${value:,.2f}"


def count(value: int) -> str:
    return f"{value:,}"


def age(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "never"
    seconds = max(0.0, ((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    return f"{int(seconds // 86400)}d ago"

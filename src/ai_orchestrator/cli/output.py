"""The one module that owns the consoles: stdout carries data, stderr carries messages.

Colour: ``--color auto`` (the default) colours only a terminal and honours ``NO_COLOR``;
``--color always`` colours pipes too (and overrides ``NO_COLOR``); ``--color never`` never
colours. Colour only decorates: every table says what it means in words or symbols with a
legend. Under ``--json`` commands write exactly one JSON document to stdout and nothing else.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from ai_orchestrator.cli.streams import echo
from ai_orchestrator.core import env
from ai_orchestrator.core.figures import usd

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol, TypeVar

    import click
    from rich.console import Console

    _F = TypeVar("_F", bound="Callable[..., Any]")

    class _Decorator(Protocol):
        def __call__(self, f: _F, /) -> _F: ...

    color_option: _Decorator  # made by ``__getattr__`` below
    wide_option: _Decorator

COLOR_MODES = ("auto", "always", "never")
_color = {"mode": "auto"}


# What a command's stdout is, declared on the command itself (``cli.main`` reads it before
# running the command; ``tests/cli/test_command_kinds.py`` fails on a command that declares
# neither). A reader's stdout is its result: a failed write stops it (exit 1; 0 when the
# reader went away). A writer's stdout is a report of work already done: losing it never
# changes the exit code, so 0 still means stored and nobody retries what is stored.
STDOUT_IS_RESULT = "aio_stdout_is_result"


def reads(command: click.Command) -> click.Command:
    """Declare ``command`` a read command: its stdout is its result."""
    setattr(command, STDOUT_IS_RESULT, True)
    return command


def writes(command: click.Command) -> click.Command:
    """Declare ``command`` a writing command: its stdout is a report of work done."""
    setattr(command, STDOUT_IS_RESULT, False)
    return command


def declared_reader(command: click.Command) -> bool | None:
    """``True`` for ``reads``, ``False`` for ``writes``, ``None`` when undeclared."""
    value = getattr(command, STDOUT_IS_RESULT, None)
    return value if isinstance(value, bool) else None


def set_color(mode: str) -> None:
    """Choose ``auto``, ``always`` or ``never`` before the first output (``--color``)."""
    _color["mode"] = mode
    out.cache_clear()
    err.cache_clear()


def _color_options() -> dict[str, Any]:
    mode = _color["mode"]
    if mode == "always":
        return {"force_terminal": True, "no_color": False}
    if mode == "never" or env.get("NO_COLOR"):
        # no escape sequence at all (rich's own NO_COLOR handling would still print bold)
        return {"no_color": True, "color_system": None}
    return {}  # rich: colour on a terminal only


def _set_color_option(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        set_color(value)


# ``color_option`` and ``wide_option`` are made on first use (``__getattr__``): this module
# is imported without click by ``aio run``'s fast path (``cli.run_argv``).
@cache
def _options() -> dict[str, Any]:
    import click

    return {
        "color_option": click.option(
            "--color",
            type=click.Choice(COLOR_MODES),
            default=None,
            expose_value=False,
            is_eager=True,
            callback=_set_color_option,
            help="Colour: auto (terminal only, honours NO_COLOR), always, never.",
        ),
        "wide_option": click.option(
            "--wide", is_flag=True, help="Every column, however wide (default: fit the terminal)."
        ),
    }


def __getattr__(name: str) -> Any:
    if name in ("color_option", "wide_option"):
        return _options()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def out() -> Console:
    from rich.console import Console

    # Off a terminal (pipes, files) rich would wrap at 80 columns; keep rows whole.
    width = None if sys.stdout.isatty() else 200
    return Console(soft_wrap=False, highlight=False, width=width, **_color_options())


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, **_color_options())


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
    echo(message, file=sys.stderr)


def warn(message: str) -> None:
    echo(f"warning: {message}", file=sys.stderr)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def money(value: float | None, *, unpriced: bool = False) -> str:
    if unpriced:
        return "unpriced"
    if value is None:
        return "-"
    return usd(value)


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

"""The ``aio`` click group (``cli``) and its lazily imported subcommands (``LazyGroup``).

Kept apart from ``cli.main`` (the entry points and the one place errors
become exit codes) because it needs click at import, which ``aio run``'s fast path
(``cli.main.run_fast``) does without.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from ai_orchestrator import __version__
from ai_orchestrator.cli import output
from ai_orchestrator.cli.commands import COMMANDS, SECTIONS
from ai_orchestrator.core import env


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        ordered = [name for _, names in SECTIONS for name in names]
        rest = sorted((set(super().list_commands(ctx)) | set(self.lazy)) - set(ordered))
        return ordered + rest

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attr, _ = self.lazy[cmd_name]
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            from ai_orchestrator.cli.examples import add_examples

            add_examples(command, cmd_name)
            if env.is_set("_AIO_COMPLETE") or env.is_set("_AI_SESSION_COMPLETE"):
                from ai_orchestrator.cli.complete import add_completion

                add_completion(command)
            return command
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        unknown = name and not name.startswith("-") and not ctx.resilient_parsing
        if unknown and self.get_command(ctx, name) is None:
            # click suggests only from commands already imported; ours are lazy
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3)
            said = ", ".join(repr(c) for c in close)
            hint = f" Did you mean {said}?" if len(close) == 1 else (
                f" (Did you mean one of: {said}?)" if close else ""
            )
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        listed = set()
        for title, names in SECTIONS:
            rows = [(name, self.lazy[name][2]) for name in names if name in self.lazy]
            listed |= set(names)
            with formatter.section(title):
                formatter.write_dl(rows)
        rest = [(n, self.lazy[n][2]) for n in self.list_commands(ctx) if n not in listed]
        if rest:
            with formatter.section("Other"):
                formatter.write_dl(rest)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "-V", "--version", prog_name="aio", message="%(prog)s %(version)s"
)
@output.color_option
def cli() -> None:
    """aio — drive AI coding agents through a feature workflow with persistent sessions.

    \b
    Examples:
      aio init auth-service "Login with sessions"
      aio plan "Design the login flow"
      aio implement --task T1.1
      aio review && aio verify
      aio run "explain this repository"
      aio session list
    """

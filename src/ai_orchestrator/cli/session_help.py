"""``ai-session help [COMMAND]`` (= ``aio session help``): the shell version's help command.

Without COMMAND: the group's help (every command with its one-line summary); with one: that
command's full help. An unknown COMMAND is ``InvalidInput`` (exit 2) naming the known ones.
The texts are click's own, so they can never drift from the options the commands accept.
"""

from __future__ import annotations

import click

from ai_orchestrator.cli import output
from ai_orchestrator.core.errors import InvalidInput


@output.reads
@click.command("help")
@click.argument("command", required=False)
@click.pass_context
def help_cmd(ctx: click.Context, command: str | None) -> None:
    """Show the help of every command, or of COMMAND."""
    parent = ctx.parent
    assert parent is not None and isinstance(parent.command, click.Group)
    group = parent.command
    if command is None:
        click.echo(parent.get_help())
        return
    sub = group.get_command(parent, command)
    if sub is None:
        known = ", ".join(group.list_commands(parent))
        raise InvalidInput(f"Unknown command: {command!r}; commands: {known}")
    with click.Context(sub, info_name=command, parent=parent) as sub_ctx:
        click.echo(sub.get_help(sub_ctx))

"""``aio install claude-commands`` / ``aio uninstall claude-commands``: parse, call, render.

The logic (which files, the manifest, what is ours) is ``agents.claude_commands``. The
project scope's directory is the project root (``.aio/`` or ``.git`` upwards, or
``AIO_PROJECT_DIR``), else the current directory.
"""

from __future__ import annotations

from pathlib import Path

import click

from ai_orchestrator.cli import output
from ai_orchestrator.core.schema import versioned

scope_option = click.option(
    "--scope",
    type=click.Choice(["user", "project"]),
    default="user",
    show_default=True,
    help="user: ~/.claude/commands ($CLAUDE_CONFIG_DIR/commands); project: ./.claude/commands.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")


def _directory(scope: str) -> Path:
    from ai_orchestrator.agents.homes.claude_commands import commands_dir
    from ai_orchestrator.workflow.project.workspace import find_project_root

    return commands_dir(scope, find_project_root() if scope == "project" else None)


def _run(scope: str, remove: bool, as_json: bool) -> None:
    from ai_orchestrator.agents.homes import claude_commands

    directory = _directory(scope)
    run = claude_commands.uninstall if remove else claude_commands.install
    report = run(directory)
    if as_json:
        output.emit_json(
            versioned({
                "scope": scope,
                "directory": str(report.directory),
                "written": report.written,
                "removed": report.removed,
                "kept": report.kept,
            })
        )
        return
    for name in report.written:
        click.echo(str(report.directory / name))
    if not remove:
        output.info(
            f"Installed {len(report.written)} slash command(s) in {report.directory}: "
            + " ".join("/" + n.removesuffix(".md") for n in report.written)
        )
        return
    output.info(f"Removed {len(report.removed)} aio command(s) from {report.directory}")
    for name in report.kept:
        output.warn(f"kept {report.directory / name}: changed since aio installed it")


@click.group("install")
def install_group() -> None:
    """Install integrations (Claude Code slash commands)."""


@output.writes
@install_group.command("claude-commands")
@scope_option
@click.option("--remove", is_flag=True, help="Remove them instead (as aio uninstall does).")
@json_option
def install_claude_commands(scope: str, remove: bool, as_json: bool) -> None:
    """Slash commands /aio-status, /aio-plan, /aio-implement … for Claude Code."""
    _run(scope, remove, as_json)


@click.group("uninstall")
def uninstall_group() -> None:
    """Remove integrations that aio installed."""


@output.writes
@uninstall_group.command("claude-commands")
@scope_option
@json_option
def uninstall_claude_commands(scope: str, as_json: bool) -> None:
    """Remove aio's slash commands (only aio's, never the user's own)."""
    _run(scope, True, as_json)

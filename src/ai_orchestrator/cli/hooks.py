"""``aio hooks install|uninstall|status``, ``aio hook AGENT`` and ``aio statusline``.

The library is ``usage.hooks`` (settings files), ``usage.spool`` (the hook) and
``usage.statusline``. ``aio hook`` and ``aio statusline`` normally never reach this module:
the ``aio`` launcher (``cli.launch``) runs them before click is imported; these commands are
the same functions for ``python -m ai_orchestrator`` and ``--help``.
"""

from __future__ import annotations

from pathlib import Path

import click

from ai_orchestrator.cli import output
from ai_orchestrator.usage import hooks as lib
from ai_orchestrator.usage.spool import run_hook
from ai_orchestrator.usage.statusline import run_statusline

_CTX = {"help_option_names": ["-h", "--help"]}
_AGENT = click.option(
    "--agent", type=click.Choice([*lib.AGENTS, "all"]), default="all", show_default=True,
    help="Which agent's settings.",
)  # fmt: skip
_PROJECT_DIRS = ", ".join(f"./{lib.settings_file(a, 'project', Path()).parent}" for a in lib.AGENTS)
_SCOPE = click.option(
    "--scope", type=click.Choice(["user", "project"]), default="user", show_default=True,
    help=f"User settings (home) or this project's ({_PROJECT_DIRS}).",
)  # fmt: skip
_JSON = click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")


def _agents(agent: str) -> list[str]:
    return list(lib.AGENTS) if agent == "all" else [agent]


def _show(states: list[lib.HookState], as_json: bool, verb: str) -> None:
    if as_json:
        output.emit_json({"hooks": [s.to_json() for s in states]})
        return
    for s in states:
        what = ", ".join(s.installed) if s.installed else "nothing"
        line = f"{s.agent} ({s.scope}): {verb} {what} in {s.path}"
        if s.note:
            line += f" — {s.note}"
        click.echo(line)


@click.group("hooks", context_settings=_CTX)
def hooks_group() -> None:
    """aio's hook entries in the agents' own settings (interactive sessions → usage index)."""


@output.writes
@hooks_group.command("install", context_settings=_CTX)
@_AGENT
@_SCOPE
@_JSON
def install_cmd(agent: str, scope: str, as_json: bool) -> None:
    """Merge aio's hooks into the agent's settings (a backup of the file is kept)."""
    _show([lib.install(a, scope) for a in _agents(agent)], as_json, "installed")


@output.writes
@hooks_group.command("uninstall", context_settings=_CTX)
@_AGENT
@_SCOPE
@_JSON
def uninstall_cmd(agent: str, scope: str, as_json: bool) -> None:
    """Remove exactly aio's hooks (the file as it was when nothing else changed)."""
    _show([lib.uninstall(a, scope) for a in _agents(agent)], as_json, "left")


@output.reads
@hooks_group.command("status", context_settings=_CTX)
@_AGENT
@_SCOPE
@_JSON
def status_cmd(agent: str, scope: str, as_json: bool) -> None:
    """Say what of aio's hooks is installed where."""
    _show([lib.status(a, scope) for a in _agents(agent)], as_json, "installed")


@output.writes
@click.command("hook", context_settings={**_CTX, "ignore_unknown_options": True})
@click.argument("agent")
@click.argument("event", nargs=-1)
def hook_cmd(agent: str, event: tuple[str, ...]) -> int:
    """Spool one hook event of AGENT (JSON on stdin, or Codex's JSON argument); exit 0."""
    return run_hook(agent, list(event))


@output.writes
@click.command("statusline", context_settings=_CTX)
def statusline_cmd() -> int:
    """Print Claude Code's status line (its JSON on stdin): model, costs, feature, limits."""
    return run_statusline([])

"""``aio run [SESSION] PROMPT``: one agent call inside a named session (the successor of
the shell version's ``ai-command-wrapper.sh``)."""

from __future__ import annotations

from pathlib import Path

import click

from ai_orchestrator.agents.registry import DEFAULT_AGENT, KNOWN_KEYS
from ai_orchestrator.cli import output
from ai_orchestrator.cli.run_call import RunArgs, call
from ai_orchestrator.core import env


@output.writes
@click.command("run")
@click.argument("args", nargs=-1, required=True)
@click.option(
    "--agent",
    "-a",
    default=lambda: env.get("AIO_AGENT", DEFAULT_AGENT),
    show_default=f"{DEFAULT_AGENT} (or $AIO_AGENT)",
    help=f"{', '.join(KNOWN_KEYS[:-1])} or {KNOWN_KEYS[-1]}.",
)
@click.option(
    "--model",
    "-m",
    default=lambda: env.get("AI_MODEL") or None,
    help="Model alias or id (default: $AI_MODEL, else the agent's default).",
)
@click.option(
    "--new-session", is_flag=True, help="Start a new agent conversation, replacing the stored one."
)
@click.option(
    "--continue",
    "must_continue",
    is_flag=True,
    help="Resume the conversation stored in SESSION; refuse (exit 2) when there is none.",
)
@click.option(
    "--resume",
    "resume_id",
    metavar="AGENT_SESSION_ID",
    default=None,
    help="Resume this conversation of SESSION (one its records name); exit 2 if it is not.",
)
@click.option(
    "--no-session",
    is_flag=True,
    help="Fresh conversation for this call (still recorded); also USE_SESSIONS=false.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Wall-clock limit in seconds (exit 124 when reached).",
)
@click.option("--max-turns", type=click.IntRange(min=1), default=None)
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Budget in USD for this session's feature (exit 3 when reached).",
)
@click.option("--permission-mode", default=None, help="e.g. acceptEdits, plan, default.")
@click.option("--allowed-tools", default=None, help="Comma-separated tool list.")
@click.option("--task", "task_id", default=None, help="Task id to attribute the call to.")
@click.option(
    "--cwd",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Working directory for the agent (default: here).",
)
@click.option(
    "--compact-at",
    default=None,
    metavar="THRESHOLD",
    help="Compact the conversation first when its context is past this share of the "
    'window (0.8, "80%", "off"); overrides AIO_COMPACT_THRESHOLD and the config.',
)
@click.option("--json", "as_json", is_flag=True, help="Print the normalised result as JSON.")
def run_cmd(
    args: tuple[str, ...],
    agent: str,
    model: str | None,
    new_session: bool,
    must_continue: bool,
    resume_id: str | None,
    no_session: bool,
    timeout: float | None,
    max_turns: int | None,
    max_cost: float | None,
    permission_mode: str | None,
    allowed_tools: str | None,
    task_id: str | None,
    cwd: Path | None,
    compact_at: str | None,
    as_json: bool,
) -> int:
    """Run PROMPT in SESSION (default: run-<directory>); PROMPT '-' reads stdin."""
    params = RunArgs(
        args, agent, model, new_session, must_continue, resume_id, no_session, timeout,
        max_turns, max_cost, permission_mode, allowed_tools, task_id, cwd, compact_at, as_json,
    )  # fmt: skip
    return call(params)

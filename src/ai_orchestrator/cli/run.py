"""``aio run [SESSION] PROMPT``: one agent call inside a named session (the successor of
the shell version's ``ai-command-wrapper.sh``)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from ai_orchestrator.cli import output
from ai_orchestrator.core.errors import InvalidInput


def default_session_name(cwd: Path) -> str:
    """``run-<directory name>``, squeezed into the feature-id alphabet."""
    slug = re.sub(r"[^a-z0-9]+", "-", cwd.name.lower()).strip("-")[:64].strip("-")
    return f"run-{slug or 'default'}"


def read_prompt(value: str) -> str:
    prompt = sys.stdin.read() if value == "-" else value
    if not prompt.strip():
        raise InvalidInput("the prompt is empty")
    return prompt


def result_json(run: Any) -> dict[str, Any]:
    result = run.result
    record = run.record.to_json()  # the stored JSON view
    return {
        "schema_version": 1,
        "session_name": record["session_name"],
        "session_action": run.action,
        "interaction_id": record["id"],
        "agent": result.agent,
        "agent_session_id": record["agent_session_id"],
        "model": record["model"],
        "outcome": result.outcome,
        "ok": result.ok,
        "text": result.text,
        "error": result.error,
        "exit_code": result.exit_code,
        "turns": result.turns,
        "duration_ms": result.duration_ms,
        "tokens": record["tokens"],
        "usage_by_model": record["usage_by_model"],
        "cost": record["cost"],
        "cost_source": record["cost_source"],
        "reported_cost": record["reported_cost"],
        "savings": record["savings"],
        "todos": record["todos"],
        "tools_used": result.tools_used,
        "cli_version": result.cli_version,
        "cwd": record.get("cwd"),
        "budget_usd": record.get("budget_usd"),
        "spent_before": record.get("spent_before"),
        "over_budget": run.over_budget,
        "notices": [n.text for n in run.notices],
    }


@click.command("run")
@click.argument("args", nargs=-1, required=True)
@click.option(
    "--agent",
    "-a",
    default=lambda: os.environ.get("AIO_AGENT", "claude"),
    show_default="claude (or $AIO_AGENT)",
    help="claude, gemini, codex or scripted.",
)
@click.option(
    "--model",
    "-m",
    default=lambda: os.environ.get("AI_MODEL") or None,
    help="Model alias or id (default: $AI_MODEL, else the agent's default).",
)
@click.option(
    "--new-session", is_flag=True, help="Start a new agent conversation, replacing the stored one."
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
@click.option("--json", "as_json", is_flag=True, help="Print the normalised result as JSON.")
def run_cmd(
    args: tuple[str, ...],
    agent: str,
    model: str | None,
    new_session: bool,
    no_session: bool,
    timeout: float | None,
    max_turns: int | None,
    max_cost: float | None,
    permission_mode: str | None,
    allowed_tools: str | None,
    task_id: str | None,
    cwd: Path | None,
    as_json: bool,
) -> int:
    """Run PROMPT in SESSION (default: run-<directory>); PROMPT '-' reads stdin."""
    from ai_orchestrator.agents.base import Permission, check_model
    from ai_orchestrator.calls.outcomes import ACTION_MESSAGES, outcome_error, sessions_enabled
    from ai_orchestrator.calls.session_call import Notice, RunOptions, run_in_session
    from ai_orchestrator.core.names import parse_session_name
    from ai_orchestrator.store import SessionStore

    if len(args) > 2:
        raise InvalidInput("expected [SESSION] PROMPT (quote the prompt)")
    workdir = (cwd or Path.cwd()).resolve()
    session = parse_session_name(args[0] if len(args) == 2 else default_session_name(workdir))
    name = session.name
    prompt = read_prompt(args[-1])
    if no_session and new_session:
        raise InvalidInput("--no-session and --new-session cannot be combined")
    if model is not None:
        check_model(model)  # '' too: it would silently mean "the CLI's default"
    if permission_mode is not None and not permission_mode.strip():
        raise InvalidInput("invalid permission mode '': leave it out for the agent's default")
    options = RunOptions(
        agent=agent,
        cwd=workdir,
        model=model,
        use_session=sessions_enabled() and not no_session,
        new_session=new_session,
        timeout=timeout,
        max_turns=max_turns,
        budget_usd=max_cost,
        permission=Permission(
            mode=permission_mode,
            allowed_tools=[t.strip() for t in (allowed_tools or "").split(",") if t.strip()],
        ),
        task_id=task_id,
    )
    show_progress = output.stdout_is_terminal() and not as_json
    from ai_orchestrator.cli.progress import ProgressLine

    def notice(item: Notice) -> None:
        (output.warn if item.warning else output.info)(f"{name}: {item.text}")

    with ProgressLine(enabled=show_progress, label=f"{agent} · {name}") as progress:
        run = run_in_session(
            SessionStore(),
            session,
            prompt,
            options,
            on_progress=progress.update if show_progress else None,
            on_start=lambda action: output.info(f"{name}: {ACTION_MESSAGES[action]}"),
            on_notice=notice,
        )
    result = run.result
    if as_json:
        output.emit_json(result_json(run))
    elif result.ok and result.text:
        click.echo(result.text)  # stdout is the answer; a failure's text is its error
    record = run.record
    tokens = record.tokens
    cost = output.money(record.cost, unpriced=record.cost_source == "unpriced")
    output.info(
        f"{name}: {result.outcome} · {tokens.input:,} in / "
        f"{tokens.output:,} out / {tokens.cache_read:,} cache read"
        f" · {cost} · {result.duration_ms / 1000:.1f}s"
    )
    if run.over_budget:
        output.warn(
            f"this call took the feature over its ${run.budget_usd:.4f} budget "
            f"(spent ${run.spent_before + record.cost:.4f})"
        )
    error = outcome_error(result, name, record.agent_session_id)
    if error is not None:
        raise error  # the last line: `aio: error: …` and the outcome's exit code (cli.main)
    return 0

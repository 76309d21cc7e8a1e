"""``aio run [SESSION] PROMPT``: one agent call inside a named session (the successor of
the shell version's ``ai-command-wrapper.sh``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import click

from ai_orchestrator.agents.registry import DEFAULT_AGENT, KNOWN_KEYS
from ai_orchestrator.cli import output
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.figures import exact_usd, token_line


def default_session_name(cwd: Path) -> str:
    """``run-<directory name>``, squeezed into the feature-id alphabet."""
    slug = re.sub(r"[^a-z0-9]+", "-", cwd.name.lower()).strip("-")[:64].strip("-")
    return f"run-{slug or 'default'}"


def read_prompt(value: str) -> str:
    """The prompt (``-``: stdin), at most ``MAX_PROMPT_BYTES`` (exit 2 before any call)."""
    from ai_orchestrator.cli import streams
    from ai_orchestrator.core.limits import MAX_PROMPT_BYTES, check_size

    if value == "-":
        data = streams.stdin_bytes(MAX_PROMPT_BYTES, "the prompt")
        prompt = streams.decode_text(data, "the prompt")
    else:  # argv: bytes that are not UTF-8 arrive as lone surrogates
        prompt = streams.decode_text(value.encode("utf-8", "surrogateescape"), "the prompt")
        check_size(len(value.encode("utf-8")), MAX_PROMPT_BYTES, "the prompt")
    if not prompt.strip():
        raise InvalidInput("the prompt is empty")
    return prompt


def result_json(run: Any) -> dict[str, Any]:
    """The ``--json`` document; ``exit_code`` is the agent process's own exit status. A call
    whose agent reported no usage has ``usage_unknown: true`` and null ``tokens``/``cost``."""
    result = run.result
    record = run.record.to_json()  # the stored JSON view
    unknown = bool(record.get("usage_unknown"))
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
        "tokens": None if unknown else record["tokens"],
        "usage_unknown": unknown,
        "usage_by_model": record["usage_by_model"],
        "cost": None if unknown else record["cost"],
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


def _conversation_flags(
    no_session: bool, new_session: bool, must_continue: bool, resume_id: str | None
) -> list[tuple[str, bool]]:
    """The flags that each decide which conversation the call uses: at most one is given."""
    return [
        ("--no-session", no_session),
        ("--new-session", new_session),
        ("--continue", must_continue),
        ("--resume", resume_id is not None),
    ]


@click.command("run")
@click.argument("args", nargs=-1, required=True)
@click.option(
    "--agent",
    "-a",
    default=lambda: os.environ.get("AIO_AGENT", DEFAULT_AGENT),
    show_default=f"{DEFAULT_AGENT} (or $AIO_AGENT)",
    help=f"{', '.join(KNOWN_KEYS[:-1])} or {KNOWN_KEYS[-1]}.",
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
    as_json: bool,
) -> int:
    """Run PROMPT in SESSION (default: run-<directory>); PROMPT '-' reads stdin."""
    from ai_orchestrator.agents.base import Permission, check_model
    from ai_orchestrator.calls.options import CallOptions
    from ai_orchestrator.calls.outcomes import action_message, outcome_error, sessions_enabled
    from ai_orchestrator.calls.session_call import Notice, run_in_session
    from ai_orchestrator.core.names import parse_session_name, validate_id
    from ai_orchestrator.store import SessionStore

    if len(args) > 2:
        raise InvalidInput("expected [SESSION] PROMPT (quote the prompt)")
    workdir = (cwd or Path.cwd()).resolve()
    session = parse_session_name(args[0] if len(args) == 2 else default_session_name(workdir))
    name = session.name
    prompt = read_prompt(args[-1])
    flags = _conversation_flags(no_session, new_session, must_continue, resume_id)
    chosen = [flag for flag, given in flags if given]
    if len(chosen) > 1:
        raise InvalidInput(f"{' and '.join(chosen)} cannot be combined")
    if resume_id is not None:
        validate_id(resume_id, "--resume")
    if model is not None:
        check_model(model)  # '' too: it would silently mean "the CLI's default"
    if permission_mode is not None and not permission_mode.strip():
        raise InvalidInput("invalid permission mode '': leave it out for the agent's default")
    options = CallOptions(
        agent=agent,
        cwd=workdir,
        model=model,
        # --continue / --resume are explicit: they resume even with USE_SESSIONS=false
        use_session=(sessions_enabled() and not no_session) or must_continue or bool(resume_id),
        new_session=new_session,
        resume_id=resume_id,
        must_continue=must_continue,
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
    from ai_orchestrator.cli.progress import ProgressLine, seconds_text

    def notice(item: Notice) -> None:
        (output.warn if item.warning else output.info)(f"{name}: {item.text}")

    with ProgressLine(enabled=show_progress, label=f"{agent} · {name}") as progress:
        run = run_in_session(
            SessionStore(),
            session,
            prompt,
            options,
            on_progress=progress.update if show_progress else None,
            on_start=lambda action: output.info(f"{name}: {action_message(action)}"),
            on_notice=notice,
            on_wait=progress.wait_reporter(name, output.info),
        )
    result = run.result
    if as_json:
        output.emit_json(result_json(run))
    elif result.ok and result.text:
        click.echo(result.text)  # stdout is the answer; a failure's text is its error
    record = run.record
    cost = output.money(record.cost, unpriced=record.cost_source == "unpriced")
    usage = (
        "usage unknown"
        if record.usage_unknown
        else f"{token_line(record.tokens.to_json())} · {cost}"
    )
    output.info(f"{name}: {result.outcome} · {usage} · {seconds_text(result.duration_ms / 1000)}")
    if run.over_budget:
        output.warn(
            f"this call took the feature over its {exact_usd(run.budget_usd)} budget "
            f"(spent {output.money(run.spent_before + record.cost)})"
        )
    error = outcome_error(result, name, record.agent_session_id)
    if error is not None:
        raise error  # the last line: `aio: error: …` and the outcome's exit code (cli.main)
    return 0

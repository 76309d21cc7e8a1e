"""``aio run``'s work, without click: the arguments parsed by hand for the common command
lines (``parse``), and the call itself (``call``), which ``cli.run.run_cmd`` also runs.

Why: importing click and the command table is ~25 ms of every ``aio run`` (twice that on a
loaded machine), a share of the ≤ 15% target (issue 24). ``cli.launch`` gives ``aio run
ARGS`` to ``parse`` first; ``parse`` returns ``None`` for anything it does not read exactly
as click would (help, ``--``, ``--opt=value``, a repeated or unknown option, a value that
click would refuse or convert differently, completion), and click then runs the command as
always. For what it accepts, the parameters are the ones click would pass to ``run_cmd``,
and ``cli.main.run_fast`` runs ``call`` under the same error handling and exit codes as
``cli.main.run``: ``tests/cli/test_run_fast_path.py`` runs both paths on a set of command
lines (errors, ``--json``, stdin) and compares stdout, stderr and the exit code.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from ai_orchestrator.cli import output, streams
from ai_orchestrator.core import env
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.figures import exact_usd, token_line
from ai_orchestrator.core.schema import versioned


class RunArgs(NamedTuple):
    """``run_cmd``'s parameters, as click passes them."""

    args: tuple[str, ...]
    agent: str
    model: str | None
    new_session: bool
    must_continue: bool
    resume_id: str | None
    no_session: bool
    timeout: float | None
    max_turns: int | None
    max_cost: float | None
    permission_mode: str | None
    allowed_tools: str | None
    task_id: str | None
    cwd: Path | None
    compact_at: str | None
    as_json: bool


FLAGS = {
    "--new-session": "new_session",
    "--continue": "must_continue",
    "--no-session": "no_session",
    "--json": "as_json",
}
VALUES = {
    "--agent": "agent",
    "-a": "agent",
    "--model": "model",
    "-m": "model",
    "--resume": "resume_id",
    "--timeout": "timeout",
    "--max-turns": "max_turns",
    "--max-cost": "max_cost",
    "--permission-mode": "permission_mode",
    "--allowed-tools": "allowed_tools",
    "--task": "task_id",
    "--cwd": "cwd",
    "--compact-at": "compact_at",
}


def parse(argv: list[str]) -> RunArgs | None:
    """The parameters of ``aio run ARGV`` when the command line is a plain one (module
    docstring), else ``None`` (click parses it)."""
    if env.is_set("_AIO_COMPLETE"):
        return None
    given: dict[str, Any] = {}
    positional: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "-" or not token.startswith("-"):
            positional.append(token)
        elif token in FLAGS and FLAGS[token] not in given:
            given[FLAGS[token]] = True
        elif token in VALUES and VALUES[token] not in given and i + 1 < len(argv):
            value = argv[i + 1]
            if value.startswith("-"):
                return None  # click's reading of an option-like value: leave it to click
            converted = _convert(VALUES[token], value)
            if converted is None:
                return None
            given[VALUES[token]] = converted
            i += 1
        else:
            return None  # help, --, --opt=value, -aX, unknown, repeated or missing a value
        i += 1
    if not positional:
        return None  # click's "missing argument" error
    from ai_orchestrator.agents.registry import DEFAULT_AGENT

    defaults: dict[str, Any] = dict.fromkeys(RunArgs._fields)
    defaults.update(dict.fromkeys(FLAGS.values(), False))
    defaults["agent"] = env.get("AIO_AGENT", DEFAULT_AGENT)
    defaults["model"] = env.get("AI_MODEL") or None
    defaults.update(given, args=tuple(positional))
    return RunArgs(**defaults)


def _convert(field: str, value: str) -> object | None:
    """``value`` as click's type for ``field`` converts it, or ``None`` when click would
    refuse it (or when it is not worth reading here: a FIFO as ``--cwd``)."""
    try:
        if field in ("timeout", "max_cost"):
            number = float(value)
            return number if number > 0 else None  # FloatRange(min=0, min_open=True)
        if field == "max_turns":
            count = int(value)
            return count if count >= 1 else None  # IntRange(min=1)
    except ValueError:
        return None
    if field == "cwd":  # click.Path(file_okay=False, exists=True, readable=True)
        return Path(value) if os.path.isdir(value) and os.access(value, os.R_OK) else None
    return value


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
    record = run.record  # the stored record: its attributes are its stored JSON values
    unknown = bool(record.usage_unknown)
    parts = record.usage_by_model
    return versioned({
        "session_name": record.session_name,
        "session_action": run.action,
        "interaction_id": record.id,
        "agent": result.agent,
        "agent_session_id": record.agent_session_id,
        "model": record.model,
        "outcome": result.outcome,
        "ok": result.ok,
        "text": result.text,
        "error": result.error,
        "exit_code": result.exit_code,
        "turns": result.turns,
        "duration_ms": result.duration_ms,
        "tokens": None if unknown else record.tokens.to_json(),
        "usage_unknown": unknown,
        "usage_by_model": None if parts is None else {m: p.to_json() for m, p in parts.items()},
        "cost": None if unknown else record.cost,
        "cost_source": record.cost_source,
        "reported_cost": record.reported_cost,
        "savings": record.savings,
        "todos": record.todos,
        "tools_used": result.tools_used,
        "cli_version": result.cli_version,
        "cwd": record.cwd,
        "budget_usd": record.budget_usd,
        "spent_before": record.spent_before,
        "over_budget": run.over_budget,
        "notices": [n.text for n in run.notices],
    })


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


def call(params: RunArgs) -> int:
    """Run PROMPT in SESSION (``aio run``; see ``cli.run.run_cmd``)."""
    (
        args, agent, model, new_session, must_continue, resume_id, no_session, timeout,
        max_turns, max_cost, permission_mode, allowed_tools, task_id, cwd, compact_at, as_json,
    ) = params  # fmt: skip
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

    from ai_orchestrator.calls.compaction import before_call, load_settings, parse_threshold

    settings = load_settings()
    if compact_at is not None:
        settings = replace(settings, threshold=parse_threshold(compact_at, "--compact-at"))
    before_call(SessionStore(), name, options, output.info, output.warn, settings=settings)
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
        streams.echo(result.text)  # stdout is the answer; a failure's text is its error
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

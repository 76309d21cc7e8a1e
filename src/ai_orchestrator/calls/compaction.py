"""Automated session optimisation: compact a conversation whose context nears the model's window.

aio tracks each session's context size (``calls.context``: the last request's input + cache
read + cache write tokens, kept as ``context`` in the session summary). ``before_call``
runs before every call that resumes a session's conversation (``aio run`` and every
workflow phase, through ``Conversation.ask``): when the context is at or past
``threshold`` × the model's context window, it compacts first and says so (``notify``),
then the call runs in the compacted conversation. ``compact`` is ``aio session compact NAME``.

Settings (``CompactionSettings``): ``aio run --compact-at`` (the caller's ``settings``),
else ``AIO_COMPACT_THRESHOLD`` (environment), else
``[compaction] threshold`` in the user config file (``infra.user_config``), else
``DEFAULT_THRESHOLD``: a fraction of the window (``0.8``), a percentage (``"80%"``), or
``"off"``/``false``. ``[compaction] windows = {"model" = tokens}`` gives a model's window
(before genai-prices and ``accounting.context_windows``); a model with no known window is
never compacted automatically (``aio session compact`` still works).

How (``compacts_headlessly``: what the backend declares, ``Capabilities.compacts_headlessly``):

- **agent**: the agent's own compaction, driven headlessly — Claude Code's ``/compact`` as
  the prompt of a resumed ``-p`` call. The same conversation continues; its record carries
  the CLI's own before/after sizes (``compact_boundary``). A call that ends without the CLI
  saying it compacted fails (``CompactionFailed``), nothing is claimed.
- **summary**: every other agent. aio asks the conversation for a hand-over (the summary
  hand-over of escalation, ``calls.handoff``), then starts a new conversation of the same
  agent primed with it; the new conversation replaces the stored one (the old one stays in
  the agent's own store; its id is in the record's ``compaction.replaced``). An empty
  hand-over fails (``CompactionFailed``) before anything is replaced.

Every compaction is recorded as calls of the session (their tokens and cost count like any
other), the last one carrying ``compaction`` {method, trigger, before, after, …}; the
session summary lists them under ``compactions`` (``ai-session show`` and ``--json``).

Concurrency: the check reads the summary without the run lock; two runs that both find the
context too large may both compact (the second compacts an already small conversation:
wasted tokens, nothing lost). Each call still runs under the run lock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ai_orchestrator.accounting.context_windows import context_window
from ai_orchestrator.calls.handoff import handed_block, handoff_request
from ai_orchestrator.calls.options import CallOptions
from ai_orchestrator.calls.outcomes import outcome_error
from ai_orchestrator.calls.session_call import Notice, SessionRun, run_in_session
from ai_orchestrator.core import env as aio_env
from ai_orchestrator.core.errors import (
    AgentFailed,
    CompactionFailed,
    InvalidInput,
    SessionLost,
)
from ai_orchestrator.core.names import SessionName, as_session_name
from ai_orchestrator.infra.user_config import config_path, read_table
from ai_orchestrator.store import SessionStore

ENV_THRESHOLD = "AIO_COMPACT_THRESHOLD"
DEFAULT_THRESHOLD = 0.8
COMPACT_COMMAND = "/compact"
SETTING_KEYS = ("threshold", "windows")
REASON = "its context is too large"

Notify = Callable[[str], None]


@dataclass(frozen=True)
class CompactionSettings:
    """``threshold``: fraction of the window (``None``: automatic compaction off)."""

    threshold: float | None = DEFAULT_THRESHOLD
    windows: Mapping[str, int] | None = None


@dataclass(frozen=True)
class Compaction:
    """What one compaction did (its last call's record carries the same)."""

    session: str
    method: str  # "agent" | "summary"
    trigger: str  # "auto" | "manual"
    before: int | None
    after: int | None
    runs: tuple[SessionRun, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_name": self.session,
            "method": self.method,
            "trigger": self.trigger,
            "before": self.before,
            "after": self.after,
            "calls": len(self.runs),
            "cost": round(sum(float(r.record.cost) for r in self.runs), 10),
        }


def compacts_headlessly(agent: str) -> bool:
    """Whether ``agent`` compacts its own conversation in a headless call (``/compact``):
    what its backend declares."""
    from ai_orchestrator.agents.registry import declared

    return declared(agent).compacts_headlessly


def parse_threshold(value: object, where: str) -> float | None:
    """A fraction in (0, 1], ``"NN%"``, or off (``"off"``, ``false``) → ``None``."""
    if value is False or (isinstance(value, str) and value.strip().lower() in ("off", "none")):
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or not 0 < number <= 1:
        raise InvalidInput(
            f"{where}: expected a fraction of the context window above 0 and at most 1 "
            f'(0.8), a percentage ("80%") or "off", got {value!r}'
        )
    return number


def _windows(value: object, where: str) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: expected a table of model = tokens, got {value!r}")
    out: dict[str, int] = {}
    for model, tokens in value.items():
        if isinstance(tokens, bool) or not isinstance(tokens, int) or not 0 < tokens <= 10**9:
            raise InvalidInput(
                f"{where}.{model}: expected a whole number of tokens from 1 to 10**9, "
                f"got {tokens!r}"
            )
        out[str(model)] = tokens
    return out


def load_settings(env: Mapping[str, str] | None = None) -> CompactionSettings:
    """The settings from the environment and the user config (module docstring)."""
    table = read_table("compaction", env)
    where = f"{config_path(env)}: [compaction]"
    unknown = sorted(set(table) - set(SETTING_KEYS))
    if unknown:
        known = ", ".join(SETTING_KEYS)
        raise InvalidInput(f"{where}: unknown key {unknown[0]!r} (known: {known})")
    threshold: float | None = DEFAULT_THRESHOLD
    if "threshold" in table:
        threshold = parse_threshold(table["threshold"], f"{where} threshold")
    given = aio_env.get(ENV_THRESHOLD, env=env)
    if given.strip():
        threshold = parse_threshold(given, ENV_THRESHOLD)
    windows = _windows(table["windows"], f"{where} windows") if "windows" in table else None
    return CompactionSettings(threshold, windows)


def window_for(
    agent: str, model: str | None, settings: CompactionSettings
) -> tuple[int | None, str]:
    """The model's context window and where it came from (the override first)."""
    if not model:
        return None, "the conversation's model is not known"
    if settings.windows and model in settings.windows:
        return settings.windows[model], "[compaction] windows"
    from ai_orchestrator.agents.registry import declared, label

    caps = declared(agent)
    return context_window(
        agent, model, limit=caps.context_limit, long_mark=caps.long_context_mark,
        label=label(agent),
    )  # fmt: skip


@dataclass(frozen=True)
class Size:
    """The stored conversation's tracked size against its window."""

    agent: str
    model: str | None
    tokens: int
    window: int | None
    source: str


def tracked_size(store: SessionStore, name: str, settings: CompactionSettings) -> Size | None:
    """The session's tracked context, or ``None`` when it has no conversation or no size."""
    if not store.exists(name):
        return None
    summary = store.load(name).summary
    context, agent = summary.context, summary.agent
    if context is None or not summary.agent_session_id or not agent:
        return None
    model = context.model or summary.model
    window, source = window_for(agent, model, settings)
    return Size(agent, model, context.tokens, window, source)


def before_call(
    store: SessionStore,
    name: str,
    options: CallOptions,
    notify: Notify,
    warn: Notify,
    *,
    settings: CompactionSettings | None = None,
) -> Compaction | None:
    """Compact the stored conversation first if the next call resumes it and its context
    is past the threshold (module docstring); ``None`` when nothing was needed or it
    failed. A compaction that fails (the agent failed, gave no hand-over, lost the
    conversation) is a warning and the call goes on in the conversation as it is; running
    out of budget or time, or an interrupt, stops the command as for any call."""
    if (
        not options.use_session
        or options.new_session
        or options.fork
        or options.resume_id
        or options.compaction is not None
    ):
        return None  # the call does not continue the stored conversation as it is
    settings = settings or load_settings()
    if settings.threshold is None:
        return None
    size = tracked_size(store, as_session_name(name).name, settings)
    if size is None or size.agent != options.agent or size.window is None:
        return None
    if size.tokens < settings.threshold * size.window:
        return None
    notify(
        f"{name}: context {size.tokens:,} of {size.window:,} tokens "
        f"({size.tokens / size.window:.0%}, threshold {settings.threshold:.0%}): "
        "compacting the conversation before the next call"
    )
    try:
        return compact(store, name, options, trigger="auto", notify=notify)
    except (AgentFailed, CompactionFailed, SessionLost) as exc:
        warn(f"{name}: the compaction failed ({exc}); the call goes on in the conversation "
             "as it is")  # fmt: skip
        return None


def compact(
    store: SessionStore,
    name: str | SessionName,
    options: CallOptions,
    *,
    trigger: str = "manual",
    notify: Notify,
    on_notice: Callable[[Notice], None] | None = None,
) -> Compaction:
    """Compact session ``name``'s conversation now (module docstring). ``options`` are the
    calls' settings; the agent is the stored conversation's."""
    session = as_session_name(name)
    summary = store.load(session).summary if store.exists(session) else None
    if summary is None or not summary.agent or not summary.agent_session_id:
        raise InvalidInput(f"session {session.name} holds no conversation to compact")
    agent, old_id = summary.agent, summary.agent_session_id
    before = summary.context.tokens if summary.context is not None else None
    base = replace(
        options, agent=agent, use_session=True, new_session=False, fork=False,
        resume_id=None, must_continue=True, escalated_from=None,
    )  # fmt: skip
    marker: dict[str, Any] = {"trigger": trigger, "before": before}

    def call(prompt: str, opts: CallOptions) -> SessionRun:
        run = run_in_session(store, session, prompt, opts, on_notice=on_notice)
        error = outcome_error(run.result, session.name, run.record.agent_session_id)
        if error is not None:
            raise error
        return run

    if compacts_headlessly(agent):
        method = "agent"
        run = call(COMPACT_COMMAND, replace(base, compaction={"method": method, **marker}))
        if run.result.compaction is None:
            raise CompactionFailed(
                f"{agent} ended the {COMPACT_COMMAND} call without compacting the conversation "
                f"of {session.name}; nothing changed",
                session.name,
                method,
            )
        runs: tuple[SessionRun, ...] = (run,)
    else:
        method = "summary"
        asked = call(handoff_request(f"a new {agent} conversation", REASON), base)
        handed = asked.result.text.strip()
        if not handed:
            raise CompactionFailed(
                f"{agent} gave an empty hand-over for {session.name}; the conversation was "
                "not replaced",
                session.name,
                method,
            )
        primed = (
            f"[aio] This conversation continues an earlier one of session {session.name}, "
            f"which aio compacted ({REASON}). You do not have it.\n\n{handed_block(handed)}\n\n"
            "Reply with one short sentence saying you have the context; change nothing."
        )
        opts = replace(
            base, must_continue=False, new_session=True,
            compaction={"method": method, **marker, "replaced": old_id},
        )  # fmt: skip
        runs = (asked, call(primed, opts))
    last = runs[-1].record
    stored = last.compaction or {}
    done = Compaction(
        session=session.name,
        method=method,
        trigger=trigger,
        before=stored.get("before", before),
        after=last.context_tokens,
        runs=runs,
    )
    notify(f"{session.name}: compacted ({method}): context {_tokens(done.before)} → "
           f"{_tokens(done.after)} tokens")  # fmt: skip
    return done


def _tokens(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"

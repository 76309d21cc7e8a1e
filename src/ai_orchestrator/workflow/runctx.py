"""What every workflow command needs: workspace + config + feature, call options, history.

- ``open_feature`` finds the workspace, loads the config and resolves the feature (the
  current one when omitted); a feature made from a template gets the template's phase
  settings and budget over the config's (``workflow.model.origin.apply_template``).
- ``call_options`` turns a phase's config plus command-line flags into the one
  ``calls.options.CallOptions`` every workflow command passes down unchanged (the agent
  works in the project root, the call is attributed to ``task_id``): agent ``--agent`` >
  phase config; model per ``config.resolve_model``; sessions on unless ``USE_SESSIONS`` is
  false or ``--no-session``; budget ``--max-cost`` > per-feature budget >
  default budget; the session-todo estimate default from ``default_estimate_usd``;
  permission mode/tools/extra argv from the phase config. Values the agent's backend would
  refuse (model, permission mode, extra argv) raise ``InvalidInput`` here, before any work.
- ``check_agent`` validates an agent name and ``check_model`` a model's syntax
  (``InvalidInput``, exit 2) so commands can refuse a bad ``--agent`` / ``--model`` before
  doing any work; ``agent_installed`` says whether its CLI exists, ``check_installed``
  refuses when it does not.
- ``Recorder`` is a context manager that appends exactly one history event when the command
  ends, whatever happens — unless the command was **refused**: an ``AioError`` raised inside
  ``rec.refusals()`` (the checks a command makes before it changes or runs anything: unknown
  task, unmet dependency, no plan, a conversation of another project, the budget, an agent
  that is not installed, a file to review that does not exist) writes no event, like bad
  input refused before the ``Recorder`` is entered. Otherwise the status follows the
  exception (``BudgetExceeded`` → ``budget_exceeded``, ``AgentTimeout`` → ``timeout``,
  ``Interrupted``/``KeyboardInterrupt`` → ``interrupted``, other ``AioError`` → ``failed``,
  anything else → ``error``) unless the command set ``status`` itself (e.g. verify: tests
  failed). Exceptions are never swallowed. A busy feature is not a refusal: its event is kept.
  Commands fill ``agent``/``model``/``task_id``/``session`` *before* taking the feature lock,
  so even a "busy" event says what was attempted; a model left unset is taken from the last
  agent call that reported one (``details.steps``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from ai_orchestrator.agents import base, registry
from ai_orchestrator.agents.base import Permission
from ai_orchestrator.calls.conversation import Hooks
from ai_orchestrator.calls.options import CallOptions, check_options
from ai_orchestrator.calls.outcomes import sessions_enabled
from ai_orchestrator.core.errors import (
    AioError,
    BudgetExceeded,
    InvalidInput,
)
from ai_orchestrator.core.outcomes import history_status
from ai_orchestrator.infra.locks import HeldLock
from ai_orchestrator.store import SessionStore
from ai_orchestrator.workflow.model.origin import apply_template, feature_origin
from ai_orchestrator.workflow.project.config import Config, load_config, resolve_model
from ai_orchestrator.workflow.project.history import append_event, elapsed_ms, make_event
from ai_orchestrator.workflow.project.workspace import FeaturePaths, Workspace


@dataclass
class FeatureContext:
    ws: Workspace
    config: Config
    feature_id: str
    paths: FeaturePaths
    hooks: Hooks = field(default_factory=Hooks)
    store: SessionStore = field(default_factory=SessionStore)
    # ``--timeout S`` of the command: seconds per agent call for every phase it runs (0:
    # none), over the phases' ``timeout`` in config.toml; None: the config's
    timeout: float | None = None

    def session_name(self, command: str) -> str:
        return f"{command}-{self.feature_id}"

    def lock(self) -> HeldLock:
        """The feature's lock for a changing command; a wait for it is reported."""
        return self.ws.lock_feature(
            self.feature_id,
            timeout=self.config.lock_timeout,
            on_wait=self.hooks.lock_wait(self.feature_id, "the feature"),
        )


def open_feature(
    feature_id: str | None, hooks: Hooks | None = None, *, timeout: float | None = None
) -> FeatureContext:
    ws = Workspace.find()
    config = load_config(ws.config_file)
    hooks = hooks or Hooks()
    for key in config.unknown_keys:
        hooks.warn(f".aio/config.toml: unknown key {key!r} is ignored (see `aio config check`)")
    resolved = ws.resolve_feature(feature_id)
    paths = ws.existing_feature(resolved)
    template = feature_origin(paths).get("template")
    if template:  # a templated feature: its phase settings and budget (``model.origin``)
        config = apply_template(config, resolved, template)
    return FeatureContext(ws, config, resolved, paths, hooks, timeout=timeout)


def call_options(
    ctx: FeatureContext,
    phase_name: str,
    *,
    agent: str | None = None,
    model: str | None = None,
    no_session: bool = False,
    new_session: bool = False,
    max_turns: int | None = None,
    max_cost: float | None = None,
    default_tools: list[str] | None = None,
    task_id: str | None = None,
) -> CallOptions:
    phase = ctx.config.phase(phase_name)
    chosen = agent or phase.agent
    if chosen == "auto":
        chosen = registry.DEFAULT_AGENT
    same_agent = chosen == phase.agent
    tools = list(phase.allowed_tools) if phase.allowed_tools else list(default_tools or [])
    options = CallOptions(
        agent=chosen,
        cwd=ctx.ws.project_root,
        model=resolve_model(chosen, model, phase),
        use_session=sessions_enabled() and not no_session,
        new_session=new_session,
        timeout=phase.timeout if ctx.timeout is None else (ctx.timeout or None),
        max_turns=max_turns or phase.max_turns,
        budget_usd=max_cost or ctx.config.budget_for(ctx.feature_id),
        estimate_usd=ctx.config.default_estimate_usd,
        permission=Permission(mode=phase.permission_mode, allowed_tools=tools),
        task_id=task_id,
        extra_args=tuple(phase.extra_args) if same_agent else (),
        lock_timeout=ctx.config.lock_timeout,
    )
    # The configured permission mode, $AI_MODEL …: refused before the command changes anything.
    check_options(options)
    return options


def check_agent(agent: str | None, what: str = "--agent") -> None:
    """``InvalidInput`` (exit 2) unless ``agent`` is None or a known agent name."""
    if agent is None:
        return
    from ai_orchestrator.agents.registry import KNOWN_KEYS

    if agent not in KNOWN_KEYS:
        known = ", ".join(KNOWN_KEYS)
        raise InvalidInput(f"{what}: unknown agent {agent!r}; known agents: {known}")


def check_model(model: str | None) -> None:
    """``InvalidInput`` (exit 2) unless ``model`` is None or a model alias or id (the syntax
    every backend checks again before launch), so a bad ``--model`` is refused up front."""
    if model is not None:
        base.check_model(model)


def agent_installed(agent: str) -> bool:
    """Whether the CLI of ``agent`` can be found (as the call would resolve it)."""
    try:
        check_installed(agent, "")
    except AioError:
        return False
    return True


def check_installed(agent: str, nothing_done: str) -> None:
    """``AgentNotFound`` (exit 1) when the CLI of ``agent`` cannot be found, so a command
    can refuse before it runs anything (``nothing_done`` says what)."""
    from ai_orchestrator.agents import registry
    from ai_orchestrator.core.errors import AgentNotFound

    try:
        registry.resolve_executable(agent)
    except AgentNotFound as exc:
        raise exc.noting(nothing_done) from None


def check_budget(ctx: FeatureContext, options: CallOptions, nothing_done: str) -> None:
    """``BudgetExceeded`` (exit 3) when the feature's spend has reached ``options.budget_usd``.

    ``run_in_session`` checks this before every call anyway; commands call it earlier so a
    refusal happens before they change or run anything (``nothing_done`` says what).
    """
    if options.budget_usd is None:
        return
    from ai_orchestrator.accounting import budget
    from ai_orchestrator.accounting.spend import feature_spend

    spent = feature_spend(ctx.store, ctx.feature_id).cost
    try:
        budget.check_budget(spent, options.budget_usd, subject=f"feature {ctx.feature_id}")
    except BudgetExceeded as exc:
        raise BudgetExceeded(
            f"{exc} ({nothing_done})", subject=exc.subject, spent=exc.spent, limit=exc.limit
        ) from None


class Recorder:
    """Appends one history event for a command when the ``with`` block ends."""

    def __init__(self, paths: FeaturePaths, command: str, arguments: dict[str, Any]) -> None:
        self.paths = paths
        self.command = command
        self.arguments = arguments
        self.started = time.monotonic()
        self.agent: str | None = None
        self.model: str | None = None
        self.task_id: str | None = None
        self.session: str | None = None
        self.status: str | None = None
        self.error: str | None = None
        self.details: dict[str, Any] = {}
        self.event: dict[str, Any] | None = None
        self.refused = False

    def __enter__(self) -> Recorder:
        return self

    @contextmanager
    def refusals(self) -> Iterator[None]:
        """Checks made before the command changes or runs anything: an ``AioError`` raised
        inside refuses the command, and a refused command writes no history event."""
        try:
            yield
        except AioError:
            self.refused = True
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.refused and isinstance(exc, AioError):
            return
        status = history_status(exc) if exc is not None else (self.status or "success")
        error = self.error
        if exc is not None:
            error = str(exc) or type(exc).__name__
        if self.model is None:
            # No model was chosen (the backend's default): the one the agent reported.
            steps = self.details.get("steps") or []
            reported = [s.get("model") for s in steps if isinstance(s, dict) and s.get("model")]
            self.model = reported[-1] if reported else None
        self.event = make_event(
            self.command,
            arguments=self.arguments,
            status=status,
            duration_ms=elapsed_ms(self.started),
            agent=self.agent,
            model=self.model,
            task_id=self.task_id,
            session=self.session,
            error=error,
            details=self.details,
        )
        append_event(self.paths.history_file, self.event)

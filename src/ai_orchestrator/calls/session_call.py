"""One agent call inside a named session: resume, run, price, record — under the run lock.

``run_in_session`` is what ``aio run`` and every workflow phase use. Contract:

- **Nothing is created for a call that cannot start**: the agent key, executable, extra
  arguments, budget and every value the backend puts on argv (``Backend.build``: model,
  permission mode, root + bypassPermissions …) are checked before the run lock is taken, so
  a refused call leaves no session directory, no todo and no interaction.
- The session's **run lock** is held for the whole call, so two runs never resume the same
  agent conversation at once (the second waits ``lock_timeout`` seconds, then
  ``SessionBusy`` names the holder). Recording uses the short write lock as usual. The
  agent's watchdog (``agents.watchdog``) shares the lock's open file description: if aio
  dies mid-call, the lock stays held until the agent's whole process tree is gone.
- **Resume**: with sessions on, the call resumes the agent conversation stored in the
  session (same agent) from the working directory it was created in (Claude and Gemini
  only find a conversation from its own cwd; when that differs from ``options.cwd`` a notice
  says where it runs). Otherwise a new conversation is started — with an id we mint where
  the CLI accepts one. ``new_session=True`` replaces a stored conversation explicitly;
  ``use_session=False`` runs a fresh conversation every time. ``fork=True`` (backends that
  ``registry.can_fork``; others get ``InvalidInput`` before anything starts) continues a
  copy of the stored conversation under an id we mint, which becomes the session's
  conversation; the source conversation stays untouched in the agent's store. The action
  taken is reported (``started`` / ``resumed`` / ``replaced`` / ``forked`` / ``fresh``).
- ``escalated_from`` (optional) is stored on the call's record as is: where the
  conversation this call starts came from and why (``workflow.phases.escalate``); so is
  ``lineage`` when the call starts a conversation, whose prompt then begins with
  ``preface`` (``options.starting_prompt``); ``fork_from`` forks another session's one.
- **Explicit resume** (``aio run --continue`` / ``--resume ID``, ``CallOptions.must_continue``
  / ``resume_id``): ``--continue`` resumes the conversation stored in the session,
  ``--resume ID`` any conversation the session's records name (the one the store holds, or
  an earlier one a ``--new-session`` replaced), from the directory and with the backend
  state of its last record; it then becomes the stored one. Checked against the store
  before anything is created: no conversation to continue, an id the session never
  recorded, or one of another agent → ``UnknownConversation`` (exit 2). Never replaced
  silently, not even a conversation that never completed a call.
- A conversation the CLI cannot find is **never** silently replaced: the call is recorded
  with outcome ``error:session_lost`` and the stored id is kept, so the user decides
  (``--new-session``). One exception, announced: a conversation that never completed a
  call (``agent_state.conversation_confirmed`` is false: its first call failed, and Gemini
  saves nothing then) and that the CLI does not know is started anew with a new id, since
  there is no context to lose; the record notes the dropped id. A conversation is
  confirmed once a call in it succeeds or the CLI accepts a resume of it; records from
  before this flag existed count as confirmed. "Already in use" for an id we minted
  switches to resume once.
- **Every call that started is recorded** — success, failure, timeout and Ctrl-C alike —
  with exact tokens per model, cost (computed from the price table with per-request usage
  where the stream has it; the CLI's own figure kept as ``reported_cost``), savings, duration,
  outcome and the CLI version (from the stream, else from ``aio doctor``'s cache). A call
  that did not succeed (timeout, Ctrl-C/SIGTERM/SIGHUP, the agent killed, an error) takes its
  usage from the agent's own files (``readback``, the path recovery takes too), so its turns
  are neither lost nor billed to a later call; a new conversation whose file was found is
  stored even when the stream never named it. A launch
  that fails after the lock (e.g. a non-executable agent) is recorded as ``error:crash`` and
  re-raised. Every session todo started here ends with an ``end`` or ``error`` record, even
  when an exception escapes.
- **A call whose aio died is recorded on the next use**: right after the run lock is taken,
  before this call is planned, a pending-call marker left by a killed run is turned into an
  ``interrupted`` record (``recover``), so its spend counts toward the budget and its state
  (the Codex usage baseline, the conversation) is what this call continues from. Every
  launch (re)writes this call's marker first; it goes once the record is stored and the
  todo closed, and stays when an exception escapes (recovery is idempotent: the record
  carries the marker's id).
- **Budget**: with ``budget_usd`` the feature's spend is checked before anything starts and
  again once the run lock is held (a run that waited for the lock sees the spend of the run
  it waited for): at or over budget (or less than $0.000001 left) → ``BudgetExceeded``
  (exit 3), no process launched. Calls that could not be priced count as $0 and are
  announced. Claude gets ``--max-budget-usd`` with what remains, rounded down to whole
  micro-dollars. The record carries ``budget_usd``, ``spent_before`` and ``over_budget``
  (``SessionRun`` reads them from there).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ai_orchestrator.accounting import todos
from ai_orchestrator.accounting.budget import check_budget
from ai_orchestrator.accounting.call_cost import BudgetCheck, live_cost, max_budget_flag
from ai_orchestrator.agents import registry
from ai_orchestrator.agents.base import (
    AgentRequest,
    AgentResult,
    Backend,
    Invocation,
    Progress,
    StreamParser,
)
from ai_orchestrator.agents.process import runner
from ai_orchestrator.calls.options import CallOptions, agent_request, starting_prompt
from ai_orchestrator.calls.outcomes import recovered_notice, switch_notice
from ai_orchestrator.calls.readback import adopt, read_call_usage
from ai_orchestrator.calls.recording import build_record, declared_pricing
from ai_orchestrator.calls.recover import (
    CONFIRMED,
    finished_note,
    pending_marker,
    recover_pending,
)
from ai_orchestrator.calls.resume import (
    Plan,
    SessionAction,
    plan_session,
)
from ai_orchestrator.calls.trace import log_launch
from ai_orchestrator.core.errors import AgentLaunchError, InvalidInput, StoreFileError
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.core.names import SessionName, as_session_name
from ai_orchestrator.infra.locks import WaitReport, current_command
from ai_orchestrator.store import SessionStore, todo_log
from ai_orchestrator.store.creation import discard_new_run_session
from ai_orchestrator.store.pending import finish_pending, remove_pending, write_pending
from ai_orchestrator.store.records import new_record_id

if TYPE_CHECKING:
    from ai_orchestrator.agents.homes.agent_files import FileUsage

__all__ = [
    "CallOptions",
    "Notice",
    "SessionRun",
    "run_in_session",
]

LIVE_COST_INTERVAL = 0.5  # seconds between re-pricings of the running usage


class Launcher(Protocol):
    """Runs one built invocation to its result: ``agents.runner.run``'s signature."""

    def __call__(
        self,
        invocation: Invocation,
        parser: StreamParser,
        *,
        timeout: float | None,
        on_progress: Callable[[Progress], None] | None = None,
        hold_fds: Sequence[int] = (),
    ) -> AgentResult: ...


# The one seam between this use case and the process layer: every agent launch goes through
# ``launch`` (looked up at call time). Production never changes it; tests swap in an
# in-process fake (tests/fakes/inprocess.py) to test the call's logic without a process.
launch: Launcher = runner.run


@dataclass(frozen=True)
class Notice:
    """Something the user should know about this call (shown on stderr by the CLI)."""

    text: str
    warning: bool = False


@dataclass
class SessionRun:
    """What happened: the normalised result, the stored record and the session action."""

    result: AgentResult
    record: Interaction
    action: SessionAction
    cwd: Path | None = None  # where the agent ran (the stored cwd when resuming)
    notices: list[Notice] = field(default_factory=list)

    # The budget state is the record's (``recording.build_record``): one source of truth.
    @property
    def budget_usd(self) -> float | None:
        value = self.record.budget_usd
        return None if value is None else float(value)

    @property
    def spent_before(self) -> float:
        return float(self.record.spent_before or 0.0)

    @property
    def over_budget(self) -> bool:
        return bool(self.record.over_budget)


def _new_id() -> str:
    """A new conversation id (we mint it so that it is known before the CLI runs)."""
    import uuid  # lazily: a resumed call (the common case) never needs it

    return str(uuid.uuid4())


def _request(
    prompt: str, plan: Plan, options: CallOptions, remaining: float | None
) -> AgentRequest:
    return agent_request(
        options,
        starting_prompt(prompt, plan.action, options),
        cwd=plan.cwd,
        resume_id=plan.resume_id,
        # A fork names its copy with an id we mint, like a new conversation.
        new_session_id=None if plan.resume_id and plan.action != "forked" else _new_id(),
        max_budget_usd=remaining,
        state=plan.state,
        fork=plan.action == "forked",
    )


class _Budget:
    """The feature budget: checked before the lock and again under it."""

    def __init__(self, store: SessionStore, feature_id: str, budget: float | None) -> None:
        self.store, self.feature_id, self.budget = store, feature_id, budget
        self.check: BudgetCheck | None = None

    def remaining(self) -> float | None:
        """What the next call may spend (rounded for argv); ``BudgetExceeded`` when used up."""
        if self.budget is None:
            return None
        # here, not at import: it loads the summary index (SQLite), which a call without a
        # budget never reads
        from ai_orchestrator.accounting.spend import feature_spend

        spend = feature_spend(self.store, self.feature_id)
        left = check_budget(spend.cost, self.budget, subject=f"feature {self.feature_id}")
        self.check = BudgetCheck(self.budget, spend.cost, spend.unpriced)
        return max_budget_flag(left or 0.0)  # at least MIN_CALL_USD is left here


class _LiveCost:
    """Adds "cost so far" to progress snapshots: re-priced at most every LIVE_COST_INTERVAL."""

    def __init__(self, agent: str, forward: Callable[[Progress], None]) -> None:
        self.agent, self.forward = agent, forward
        self.cost: float | None = None
        self.priced_at = float("-inf")

    def __call__(self, progress: Progress) -> None:
        if progress.cost is None and progress.usage:
            now = time.monotonic()
            if now - self.priced_at >= LIVE_COST_INTERVAL:
                self.priced_at = now
                try:
                    self.cost = live_cost(self.agent, progress.usage, declared_pricing(self.agent))
                except Exception:  # a display nicety must never break the call
                    self.cost = None
            progress = replace(progress, cost=self.cost)
        self.forward(progress)


def run_in_session(
    store: SessionStore,
    name: str | SessionName,
    prompt: str,
    options: CallOptions,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_start: Callable[[SessionAction], None] | None = None,
    on_notice: Callable[[Notice], None] | None = None,
    on_wait: WaitReport | None = None,
) -> SessionRun:
    """Run ``prompt`` in session ``name`` (see the module docstring for the contract);
    ``on_wait`` hears about a wait for another run of the session (``locks.acquire``)."""
    session = as_session_name(name)
    name = session.name  # the todo log and the messages take the name as text
    if (options.fork or options.fork_from) and not registry.can_fork(options.agent):
        raise InvalidInput(f"agent {options.agent!r} cannot fork a conversation")
    call = _Call(
        store=store,
        name=session,
        prompt=prompt,
        options=options,
        backend=registry.get_backend(options.agent),
        executable=registry.resolve_executable(options.agent),
        on_progress=None if on_progress is None else _LiveCost(options.agent, on_progress),
        on_notice=on_notice,
    )
    budget = _Budget(store, session.feature_id, options.budget_usd)
    # Everything that can refuse the call, before anything exists: a bad --model used to
    # leave a session directory and an in-progress todo behind.
    call.build(call.request(call.plan(), budget.remaining()))

    created = not store.exists(session)
    lock = store.run_lock(
        session, timeout=options.lock_timeout, command=current_command(), on_wait=on_wait
    )
    call.hold_fds = (lock.fd,)  # the agent's watchdog keeps the lock while the agent lives
    try:
        # A call whose aio died is recorded first: its spend counts toward the budget and
        # its state (the Codex usage baseline, the conversation) is what this call resumes.
        recovered = recover_pending(store, session)
        if recovered is not None and recovered.added:
            call.notify(recovered_notice(recovered.record), warning=True)
        remaining = budget.remaining()  # again: the run we waited for may have spent it
        plan = call.plan()
        request = call.request(plan, remaining)
        invocation = call.build(request)
        if budget.check is not None and budget.check.unpriced_before:
            call.notify(
                f"{budget.check.unpriced_before} earlier call(s) of feature "
                f"{session.feature_id} could not be priced and count as $0 toward its budget",
                warning=True,
            )
        if plan.switched_from is not None:
            call.notify(switch_notice(plan.switched_from, plan.resume_id, options.agent))
        if plan.action == "resumed" and plan.cwd.resolve() != options.cwd.resolve():
            call.notify(f"(running in {plan.cwd}, where this conversation was started)")
        if on_start is not None:
            on_start(plan.action)
        todo_id = todos.start(
            session,
            None,
            options.task_id,
            None,
            options.agent,
            options.model,
            default_estimate=options.estimate_usd,
            store=store,
        )
        call.todo_id, call.action = todo_id, plan.action
        try:
            run = call.run_and_record(plan, request, invocation, budget.check)
        except BaseException as exc:  # whatever escapes, the todo must not stay in progress
            # (on a full disk this fails too: recovery closes the todo; the cause is raised)
            with contextlib.suppress(OSError):
                todo_log.error(todo_id, name, _describe(exc))
            raise  # the marker stays: the next use of the session records what is missing
        _close_todo(todo_id, name, run)
        remove_pending(store.path_of(session))
    except BaseException:
        if created:  # a first call that wrote nothing (a full disk) leaves no empty session
            discard_new_run_session(store.root, session, store.path_of(session), lock)
        raise
    finally:
        lock.release()
    run.notices = call.notices
    return run


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted before the call was recorded"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _close_todo(todo_id: str, name: str, run: SessionRun) -> None:
    stored = run.record
    unpriced = stored.cost_source == "unpriced"
    if run.result.ok:
        todo_log.end(
            todo_id,
            name,
            stored.cost,
            stored.tokens.to_json(),
            "completed",
            stored.response_preview,
            unpriced=unpriced,
        )
    else:
        todo_log.error(
            todo_id,
            name,
            f"{run.result.outcome}: {run.result.error or 'no detail'}",
            actual_cost=stored.cost,
            tokens=stored.tokens.to_json(),
            unpriced=unpriced,
        )


@dataclass
class _Call:
    """One ``run_in_session`` call: what it runs, and the steps that need all of it."""

    store: SessionStore
    name: SessionName
    prompt: str
    options: CallOptions
    backend: Backend
    executable: str
    on_progress: Callable[[Progress], None] | None
    on_notice: Callable[[Notice], None] | None
    notices: list[Notice] = field(default_factory=list)
    # The pending-call marker (``recover``): this call's record id, todo and start.
    record_id: str = field(default_factory=new_record_id)  # the store's ids (no uuid import)
    todo_id: str | None = None
    action: str = "started"
    started_at: datetime | None = None
    marked_session: str | None = None
    hold_fds: tuple[int, ...] = ()  # kept open by the agent's watchdog (runner.run)

    def notify(self, text: str, warning: bool = False) -> None:
        notice = Notice(text, warning)
        self.notices.append(notice)
        if self.on_notice is not None:
            self.on_notice(notice)

    def plan(self) -> Plan:
        exists = self.store.exists(self.name)
        summary = self.store.load(self.name).summary if exists else None
        def history() -> list[Interaction]:
            return self.store.read_log(self.name).records if exists else []

        return plan_session(summary, self.options, history, self.name.name)

    def request(self, plan: Plan, remaining: float | None) -> AgentRequest:
        return _request(self.prompt, plan, self.options, remaining)

    def build(self, request: AgentRequest) -> Invocation:
        return self.backend.build(request, self.executable)

    def execute(self, request: AgentRequest, invocation: Invocation | None = None) -> AgentResult:
        invocation = invocation or self.build(request)
        # An id we minted names the conversation only where the CLI takes it (not where it
        # mints its own: the id then arrives in the stream, ``Progress.session_id``).
        own = self.backend.capabilities.mints_own_ids
        self.mark(request, None if own else request.new_session_id)
        log_launch(invocation)  # AIO_DEBUG=1: argv and env names, never a secret
        return launch(
            invocation,
            self.backend.parser(request),
            timeout=self.options.timeout,
            on_progress=lambda progress: self.progressed(request, progress),
            hold_fds=self.hold_fds,
        )

    def mark(self, request: AgentRequest, session_id: str | None) -> None:
        """(Re)write the pending-call marker for the launch of ``request`` in a conversation
        known as ``session_id`` (else the resumed one)."""
        if self.todo_id is None:
            return  # not a call of run_in_session
        if self.started_at is None:
            self.started_at = datetime.now(UTC)
        marker = pending_marker(
            record_id=self.record_id,
            todo_id=self.todo_id,
            request=request,
            agent=self.options.agent,
            started_at=self.started_at,
            task_id=self.options.task_id,
            action=self.action,
            session_id=session_id,
        )
        self.marked_session = marker["session_id"]
        write_pending(self.store.path_of(self.name), marker)

    def progressed(self, request: AgentRequest, progress: Progress) -> None:
        if progress.session_id and progress.session_id != self.marked_session:
            # A new Codex thread names itself only in the stream. If the marker cannot be
            # rewritten it keeps what it had: recovery then finds less, never more.
            with contextlib.suppress(OSError):
                self.mark(request, progress.session_id)
        if self.on_progress is not None:
            self.on_progress(progress)

    def run_and_record(
        self,
        plan: Plan,
        request: AgentRequest,
        invocation: Invocation,
        budget: BudgetCheck | None,
    ) -> SessionRun:
        options = self.options
        action = plan.action
        note: str | None = None
        minted = request.new_session_id
        try:
            result = self.execute(request, invocation)
        except AgentLaunchError as exc:
            failed = AgentResult(agent=options.agent, outcome="crash", error=str(exc))
            kept = dict(request.state)
            # Nothing ran, so nothing was spent: its zero usage is known, not unknown.
            self.record(failed, request, request.resume_id, action, kept, budget, known=True)
            raise
        if result.session_in_use and minted and not request.resume_id:
            # The CLI already has a conversation with the id we minted (a previous run
            # died after creating it): continue that conversation instead.
            request.resume_id, request.new_session_id = minted, None
            action = self.action = "resumed"
            result = self.execute(request)
        elif (
            result.outcome == "session_lost"
            and action == "resumed"
            and plan.state.get(CONFIRMED, True) is False
            and not (options.resume_id or options.must_continue)  # explicit: never replaced
        ):
            note = (
                f"conversation {request.resume_id} never completed a call and "
                f"{options.agent} has no record of it; started a new conversation instead"
            )
            self.notify(note, warning=True)
            request.resume_id, request.new_session_id = None, _new_id()
            request.state, request.cwd, action = {}, options.cwd, "started"
            self.action = action
            result = self.execute(request)
        # The newest id the CLI printed wins. Without one, a resumed conversation keeps its
        # id (even when lost: the user decides), and a new one that never reported an id is
        # not stored. A lost conversation keeps its stored id whatever the error output
        # carried (the CLI may print a throwaway id there).
        if result.outcome == "session_lost" and request.resume_id:
            # a lost fork of another session's conversation must not store that one's id
            session_id: str | None = None if options.fork_from else request.resume_id
        else:
            session_id = result.session_id or request.resume_id
        if result.cli_version is None:
            from ai_orchestrator.agents.doctor import installed_version

            result.cli_version = installed_version(self.executable)
        found, known = self.read_back(result, request, session_id)
        if found is not None and session_id is None:
            session_id = self.marked_session  # its file proves the conversation exists
        state = _state_after(result, request, action, session_id)
        try:
            stored = self.record(result, request, session_id, action, state, budget, note,
                                 known=known, found=found)
        except StoreFileError as exc:
            # The agent finished; only its record could not be written (a full disk): the
            # marker says so, so that recovery records what happened, not "killed?".
            finish_pending(
                self.store.path_of(self.name),
                finished_note(result, session_id, state, str(exc)),
            )
            raise
        if stored.usage_unknown:
            counts = "; it counts as $0 toward the budget" if budget is not None else ""
            self.notify(f"{options.agent} reported no usage: tokens and cost unknown{counts}", True)
        elif budget is not None and stored.cost_source == "unpriced":
            self.notify("this call could not be priced: it counts as $0 toward the budget", True)
        return SessionRun(result, stored, action, cwd=request.cwd)

    def read_back(
        self, result: AgentResult, request: AgentRequest, session_id: str | None
    ) -> tuple[FileUsage | None, bool]:
        """A call that did not succeed takes its usage from the agent's own files, as a
        recovered one does (``readback``); ``(found, usage known)``."""
        if result.ok or result.outcome == "session_lost" or self.started_at is None:
            return None, False  # a lost conversation ran nothing
        found = read_call_usage(
            self.options.agent,
            session_id or self.marked_session,
            request.cwd,
            self.started_at,
            request.state,
            request.resume_id,
        )
        return found, adopt(result, found)

    def record(
        self,
        result: AgentResult,
        request: AgentRequest,
        session_id: str | None,
        action: SessionAction,
        state: dict[str, Any] | None,
        budget: BudgetCheck | None,
        note: str | None = None,
        known: bool = False,
        found: FileUsage | None = None,
    ) -> Interaction:
        return self.store.record(
            build_record(
                starting_prompt(self.prompt, action, self.options),
                result,
                session=self.name,
                record_id=self.record_id,  # the marker's id: recovery never adds it twice
                task_id=self.options.task_id,
                model=self.options.model,
                cwd=request.cwd,
                session_id=session_id,
                action=action,
                state=state,
                keep_raw_events=self.options.keep_raw_events,
                budget=budget,
                note=note,
                usage_known=known,
                found=found,
                escalated_from=self.options.escalated_from,
                lineage=self.options.lineage if action != "resumed" else None,
                compaction=self.options.compaction,
            )
        )


def _state_after(
    result: AgentResult, request: AgentRequest, action: str, session_id: str | None
) -> dict[str, Any] | None:
    """The backend state to store, with whether the conversation is known to exist."""
    if session_id is None:
        return None  # no conversation to attach it to (keeps a replaced one's state intact)
    if result.outcome == "session_lost":
        return dict(request.state)  # nothing changed in a conversation the CLI lacks
    state = dict(result.state)
    before = request.state.get(CONFIRMED, True) if action == "resumed" else False
    # A resume the CLI accepted proves the conversation exists; so does any success.
    state[CONFIRMED] = bool(before) or result.ok or action == "resumed"
    return state

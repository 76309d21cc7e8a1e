"""Typed errors of the library and the exit code each one maps to.

The library raises these; only ``ai_orchestrator.cli`` turns them into a one-line
message on stderr and a process exit code (see ``exit_code``). Exit codes:

====  =====================================================
0     ok
1     failure (domain error, tests failed, not found, busy)
2     usage / invalid input
3     budget exceeded
5     the team database has a newer schema than this aio knows (``aio team``)
124   agent timed out
130   interrupted (Ctrl-C)
====  =====================================================
"""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BUDGET = 3
EXIT_TEAM_SCHEMA = 5
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130


class AioError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code = EXIT_FAILURE


class InvalidInput(AioError):
    """The caller gave a value that is not allowed (bad name, bad JSON, bad option)."""

    exit_code = EXIT_USAGE


class NotFound(AioError):
    """A named thing does not exist. A session, a feature, its plan or a task raise the
    subclass that names it in a field; a bare ``NotFound`` is the rest (the workspace, a
    file the user named, a program the project lacks)."""


class SessionNotFound(NotFound):
    """Session ``session`` does not exist; ``detail`` says what was found instead (no
    store, an entry that is not aio's, removed meanwhile), when anything was."""

    def __init__(self, session: str, detail: str = "") -> None:
        super().__init__(f"session not found: {session}" + (f" ({detail})" if detail else ""))
        self.session, self.detail = session, detail


class FeatureNotFound(NotFound):
    """Feature ``feature`` does not exist in the workspace."""

    def __init__(self, feature: str) -> None:
        super().__init__(f"feature {feature!r} does not exist (run `aio init {feature}`)")
        self.feature = feature


class PlanNotFound(NotFound):
    """Feature ``feature`` has no plan yet."""

    def __init__(self, feature: str) -> None:
        super().__init__(f'feature {feature!r} has no plan yet (run `aio plan {feature} "PROMPT"`)')
        self.feature = feature


class TaskNotFound(NotFound):
    """Task ``task_id`` is not in the plan of ``feature`` (whose tasks are ``tasks``)."""

    def __init__(self, task_id: str, feature: str, tasks: Iterable[str]) -> None:
        self.task_id, self.feature, self.tasks = task_id, feature, tuple(tasks)
        known = ", ".join(self.tasks) or "none"
        super().__init__(f"task {task_id!r} is not in the plan of {feature} (tasks: {known})")


class AlreadyReported(AioError):
    """The command has said what failed in its own output (tests that failed, findings,
    skipped features): it ends with exit 1 and ``cli.main`` prints nothing more.
    ``what`` names the failure in words (``critical findings``)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Unpriced(NotFound):
    """``aio prices MODEL``: no rates are known for ``model`` (``reason`` says why)."""

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"{model}: unpriced ({reason})")
        self.model = model
        self.reason = reason


class StoreError(AioError):
    """The store cannot be used safely (unsafe directory, unreadable files)."""


class StoreFileError(StoreError, OSError):
    """An operating-system error on a file of the store, as one line a user can act on.

    Carries ``errno`` and ``filename`` like the ``OSError`` it replaces (so existing
    ``except OSError`` handlers still apply); ``str()`` names the file, the cause and
    what to do, then ``outcome``: what happened to the data (e.g. "nothing was
    recorded"). Built by ``ai_orchestrator.infra.fsutil.file_error``.
    """

    def __init__(self, message: str, errno_: int | None, path: str, outcome: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.errno = errno_
        self.filename = path
        self.outcome = outcome

    def with_outcome(self, outcome: str, *, replace: bool = False) -> StoreFileError:
        """This error with ``outcome`` stated, unless it states one already (``replace``
        overrides it: a later step changed what happened to the data)."""
        if self.outcome and not replace:
            return self
        return StoreFileError(self.message, self.errno, self.filename, outcome)

    def __str__(self) -> str:
        return f"{self.message}; {self.outcome}" if self.outcome else self.message


class OutputLost(AioError):
    """A write to stdout or stderr failed (full disk, closed, reader gone) while the output
    was the command's result (``cli.streams``); ``errno`` and ``cause`` say why."""

    def __init__(self, stream: str, errno_: int | None, cause: str) -> None:
        super().__init__(f"cannot write the output to {stream}: {cause}")
        self.stream = stream
        self.errno = errno_
        self.cause = cause


class UnsafeStore(StoreError):
    """SESSION_DIR (or a directory or file in it) at ``path`` is a symlink or owned by another
    user: ``reason`` says which; ``what`` names the kind of place (``session directory``)."""

    def __init__(self, path: str, reason: str, what: str = "") -> None:
        super().__init__(f"refusing {what + ' ' if what else ''}{path}: {reason}")
        self.path, self.reason, self.what = path, reason, what


class SessionBusy(AioError):
    """Another live process holds ``what`` (a session's run lock, the store's write lock):
    ``holder`` describes it; ``waited`` is how long aio waited, in seconds (0: it did not)."""

    def __init__(self, what: str, holder: str, waited: float = 0.0) -> None:
        gave_up = f"; gave up after waiting {waited:g}s" if waited > 0 else ""
        super().__init__(f"{what} is busy: held by {holder}{gave_up}")
        self.what, self.holder, self.waited = what, holder, waited


class SessionPinned(AioError):
    """The session is pinned (``aio session pin``): neither a retention policy nor ``delete``
    removes it until ``aio session unpin``. ``session`` names it."""

    def __init__(self, session: str) -> None:
        super().__init__(f"{session} is pinned; kept (run: aio session unpin {session})")
        self.session = session


class BudgetExceeded(AioError):
    """A spending limit has been reached. ``over`` builds it from the figures (``subject``
    spent ``spent`` of ``limit`` USD; no agent call was made); an agent that stopped itself
    at its budget carries only the message (its figures are in the record)."""

    exit_code = EXIT_BUDGET

    def __init__(
        self,
        message: str,
        *,
        subject: str | None = None,
        spent: float | None = None,
        limit: float | None = None,
    ) -> None:
        super().__init__(message)
        self.subject, self.spent, self.limit = subject, spent, limit

    @classmethod
    def over(cls, subject: str, spent: float, limit: float) -> BudgetExceeded:
        from ai_orchestrator.core.figures import exact_usd

        return cls(
            f"{subject} has spent ${spent:.4f} of its {exact_usd(limit)} budget; "
            "no agent call was made",
            subject=subject,
            spent=spent,
            limit=limit,
        )


class AgentTimeout(AioError):
    """The agent did not finish within its wall-clock limit."""

    exit_code = EXIT_TIMEOUT

    def __init__(self, agent: str, session: str, detail: str) -> None:
        super().__init__(f"{agent} timed out in session {session}: {detail}")
        self.agent, self.session, self.detail = agent, session, detail


class PlannersFailed(AioError):
    """Every planner (and every retry) failed; ``last_error`` is the final attempt's error.

    The exit code is the last error's: all planners timing out exits 124 like any timeout.
    """

    def __init__(self, planners: tuple[str, ...], last_error: AioError) -> None:
        super().__init__(f"all planners failed to produce a plan; last error: {last_error}")
        self.planners = planners
        self.last_error = last_error
        self.exit_code = last_error.exit_code


class Interrupted(AioError):
    """The user pressed Ctrl-C; the run was stopped and recorded: the ``agent`` call in
    ``session``, or (``task_id``) the task of ``aio implement``, marked failed."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, *, agent: str = "", session: str = "", task_id: str | None = None) -> None:
        if task_id is not None:
            message = f"interrupted: task {task_id} marked failed"
        else:
            message = f"interrupted: the {agent} run in {session} was stopped"
        super().__init__(message)
        self.agent, self.session, self.task_id = agent, session, task_id

class AgentLaunchError(AioError):
    """The agent process could not be started (bad working directory, OS refused the exec):
    ``executable`` (``None``: the command line was empty) and ``reason``."""

    def __init__(self, executable: str | None, reason: str) -> None:
        agent = f"agent {executable!r}" if executable is not None else "agent"
        super().__init__(f"cannot start {agent}: {reason}")
        self.executable, self.reason = executable, reason


class AgentNotFound(AgentLaunchError):
    """The agent executable does not exist, is not on PATH, or is not executable.

    ``executable`` is what was looked for and ``reason`` what is wrong with it; ``agent``
    and ``variable`` (the variable that sets its path) when the registry looked it up;
    ``notes`` what the command did not do because of it."""

    def __init__(
        self,
        executable: str,
        reason: str,
        *,
        agent: str | None = None,
        variable: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        if agent is not None:
            message = (
                f"agent {agent!r}: {executable!r} {reason}; install it or set {variable} to "
                "its path"
            )
        else:
            message = f"agent executable {executable!r} {reason}"
        AioError.__init__(self, message + "".join(f" ({note})" for note in notes))
        self.executable, self.reason = executable, reason
        self.agent, self.variable, self.notes = agent, variable, notes

    def noting(self, note: str) -> AgentNotFound:
        """This error, also saying ``note`` (what was not done because of it)."""
        return AgentNotFound(
            self.executable or "",
            self.reason,
            agent=self.agent,
            variable=self.variable,
            notes=(*self.notes, note),
        )


# The failed agent call (``calls.outcomes.outcome_error`` chooses among these).


class AgentFailed(AioError):
    """The agent call ended with an error outcome (``outcome`` names it)."""

    def __init__(self, agent: str, session: str, outcome: str, detail: str) -> None:
        super().__init__(f"{agent} failed in session {session} ({outcome}): {detail}")
        self.agent, self.session, self.outcome, self.detail = agent, session, outcome, detail


class CompactionFailed(AioError):
    """A compaction (``calls.compaction``) did not happen although its calls ran: the agent
    did not say it compacted, or gave an empty hand-over. ``session`` and ``method`` name
    it; the conversation is left as it was."""

    def __init__(self, message: str, session: str, method: str) -> None:
        super().__init__(message)
        self.session = session
        self.method = method


class SessionLost(AioError):
    """The agent CLI no longer has the stored conversation ``stored_id`` of ``session``."""

    def __init__(self, session: str, stored_id: str | None) -> None:
        super().__init__(
            f"the agent no longer has the conversation stored in session {session} "
            f"({stored_id}); rerun with --new-session to start a new one (the old context "
            "is gone)"
        )
        self.session, self.stored_id = session, stored_id


class SessionElsewhere(AioError):
    """The stored conversation belongs to another project directory (``stored_cwd``)."""

    def __init__(self, session: str, agent: str, stored_cwd: str, cwd: str) -> None:
        super().__init__(
            f"session {session} holds a {agent} conversation started in {stored_cwd}, "
            f"not in this project ({cwd}); refusing to resume it here. Use --new-session "
            "to start a new conversation for this project (replacing the stored one), or use "
            "another feature id"
        )
        self.session, self.agent, self.stored_cwd, self.cwd = session, agent, stored_cwd, cwd


class UnknownConversation(InvalidInput):
    """``aio run --resume ID`` names no conversation of the session, or ``--continue`` finds
    none to continue (exit 2). ``flag`` is the option as given (``--resume ID``,
    ``--continue``), ``session`` the session; ``known`` the session's conversations when
    the id is not one of them; ``agent`` the conversation's agent when it is not
    ``asked_agent``'s."""

    def __init__(
        self,
        flag: str,
        session: str,
        *,
        known: Iterable[str] | None = None,
        agent: str | None = None,
        asked_agent: str | None = None,
    ) -> None:
        self.flag, self.session = flag, session
        self.known = tuple(sorted(known)) if known is not None else None
        self.agent, self.asked_agent = agent, asked_agent
        where = f"session {session}"
        if agent is not None:
            message = (
                f"{flag}: the conversation in {where} is a {agent} conversation, not "
                f"{asked_agent}; add --agent {agent}"
            )
        elif self.known is not None:
            listed = ", ".join(self.known) or "none"
            message = f"{flag}: not a conversation of {where} (its conversations: {listed})"
        else:
            message = f"{flag}: {where} has no agent conversation to continue"
        super().__init__(message)


# The workflow's answers and tests (the phases in ``workflow.phases``).


class InvalidPlan(AioError):
    """The planner's answer was not a usable plan, even after one correction: ``reason``;
    ``kept`` is where its raw answer was kept, if it was."""

    def __init__(self, reason: str, kept: str = "") -> None:
        where = f" (the planner's raw answer: {kept})" if kept else ""
        super().__init__(f"the planner's answer is not a valid plan: {reason}{where}")
        self.reason, self.kept = reason, kept


class InvalidReview(AioError):
    """The reviewer's answer was not usable, even after one correction: ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the review answer is not usable: {reason}")
        self.reason = reason


class InvalidVerdict(AioError):
    """The verifier agent's answer was not usable, even after one correction (exit 1):
    ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the verifier's answer is not usable: {reason}")
        self.reason = reason


class TestsNotRed(AioError):
    """The tests written for ``task_id`` did not fail before the implementation existed
    (``reason``; the run's log at ``log``)."""

    __test__ = False

    def __init__(self, task_id: str, reason: str, log: str) -> None:
        super().__init__(
            f"task {task_id}: the task's tests did not fail before the implementation "
            f"({reason}); see {log}"
        )
        self.task_id, self.reason, self.log = task_id, reason, log


class TestsFailed(AioError):
    """The tests of ``task_id`` did not pass after the implementation and ``rounds`` fix
    rounds (``reason``; the last run's log at ``log``)."""

    __test__ = False

    def __init__(self, task_id: str, rounds: int, reason: str, log: str) -> None:
        super().__init__(
            f"task {task_id}: not green after {rounds} fix round(s): {reason}; see {log}"
        )
        self.task_id, self.rounds, self.reason, self.log = task_id, rounds, reason, log


class CoverageTooLow(AioError):
    """``verify --check-coverage N``: the coverage ``percent`` is under ``required`` (N), or
    no figure came out (``percent`` is ``None``)."""

    def __init__(self, required: float, percent: float | None) -> None:
        if percent is None:
            message = f"no coverage figure came out of the run (--check-coverage {required:g})"
        else:
            message = f"coverage {percent:.2f}% is under the required {required:g}%"
        super().__init__(message)
        self.required, self.percent = required, percent


class TestRunnerError(AioError):
    """The test command gave no evidence (the tests never ran); editing tests cannot fix it.

    ``task_id``'s tests never ran at ``step`` (``red``, ``green``; the run's log at ``log``),
    or, with ``step`` ``None``, the task was not started because the command cannot run.
    ``detail`` says why, ``fix`` what to do."""

    __test__ = False

    def __init__(
        self, task_id: str, detail: str, fix: str, *, step: str | None = None, log: str = ""
    ) -> None:
        if step is None:
            message = (
                f"task {task_id} was not started: the test command cannot run — {detail}; {fix}"
            )
        else:
            message = (
                f"task {task_id}: the tests never ran, so {step} cannot be judged — "
                f"{detail}; {fix}; log: {log}"
            )
        super().__init__(message)
        self.task_id, self.detail, self.fix, self.step, self.log = task_id, detail, fix, step, log


class DependencyNotMet(AioError):
    """Dependencies (``unmet``) of ``task_id`` are not completed (``--force`` overrides)."""

    def __init__(self, task_id: str, unmet: list[str]) -> None:
        super().__init__(
            f"task {task_id} depends on {', '.join(unmet)}, not completed yet "
            f"(implement those first, or: aio implement --task {task_id} --force)"
        )
        self.task_id, self.unmet = task_id, list(unmet)


class BadPriceCard(AioError):
    """A cached price card that does not decode (``accounting.price_cards``): the card is
    ignored and priced afresh, never shown to a user (a signal without data: the caller
    knows which card it was decoding)."""


class ScenarioError(InvalidInput):
    """The offline ``scripted`` agent: its scenario or invocation is unusable (its own
    program prints it and exits 2, like an agent CLI given bad flags). The message is the
    program's own line; ``scenario`` (the scenario file), ``path`` (an edit's path) or
    ``session_id`` names what is wrong, when a thing is."""

    def __init__(
        self,
        message: str,
        *,
        scenario: str | None = None,
        path: str | None = None,
        session_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.scenario, self.path, self.session_id = scenario, path, session_id


class SessionRefused(AioError):
    """The offline ``scripted`` agent refuses a session as a real CLI would: ``session_id``
    is unknown (``reason`` ``unknown``) or in use (``in use``), or the ``steps`` steps of
    ``scenario`` are used up (``exhausted``). Its own program prints it and exits 1."""

    def __init__(self, session_id: str, reason: str, *, scenario: str = "", steps: int = 0) -> None:
        if reason == "unknown":
            message = f"No conversation found with session ID: {session_id}"
        elif reason == "in use":
            message = f"Error: Session ID {session_id} is already in use."
        else:
            message = f"scenario exhausted: all {steps} steps of {scenario} used"
        super().__init__(message)
        self.session_id, self.reason = session_id, reason
        self.scenario, self.steps = scenario, steps


class CommandConflict(AioError):
    """A command name aio wants (``aio install claude-commands``) is taken by a file that is
    not aio's: ``conflicts`` holds each ``(path, problem)``; ``installing``: the install was
    refused as a whole (nothing was written)."""

    def __init__(self, conflicts: Iterable[tuple[str, str]], *, installing: bool) -> None:
        self.conflicts, self.installing = tuple(conflicts), installing
        listed = "; ".join(f"{path} {problem}" for path, problem in self.conflicts)
        if installing:
            listed = (
                f"not installing (nothing was written): {listed} — rename your command, or "
                "remove it if it is an old copy of aio's"
            )
        super().__init__(listed)


class TeamError(AioError):
    """The team database (``aio team``) cannot be used: unreachable, refused, not set up.

    ``target`` is the connection target with any password masked: safe to print."""

    def __init__(self, message: str, target: str = "") -> None:
        super().__init__(message)
        self.target = target


class TeamSchemaTooNew(TeamError):
    """The team database was migrated by a newer aio (``found`` > ``known``): refused."""

    exit_code = EXIT_TEAM_SCHEMA

    def __init__(self, message: str, target: str, found: int, known: int) -> None:
        super().__init__(message, target)
        self.found = found
        self.known = known


# Session templates and cross-feature links (``store.templates``, ``workflow.model.origin``).


class TemplateNotFound(NotFound):
    """``aio template show|delete NAME`` or ``aio init --template NAME``: no such template."""

    def __init__(self, template: str) -> None:
        super().__init__(f"no template named {template!r} (see `aio template list`)")
        self.template = template


class TemplateExists(AioError):
    """``aio template save NAME`` when NAME exists (``--force`` replaces it), or an import
    that would replace a template holding something else."""

    def __init__(self, message: str, template: str) -> None:
        super().__init__(message)
        self.template = template


class TemplateSeedMissing(AioError):
    """The template's seed conversation cannot be used: its session was deleted, or no
    longer holds that conversation."""

    def __init__(self, message: str, template: str, session: str) -> None:
        super().__init__(message)
        self.template = template
        self.session = session


class LinkRefused(InvalidInput):
    """``aio link``/``aio init --from``: a link to itself, a cycle, or a feature with nothing
    to link to (exit 2). ``reason`` is ``self``, ``cycle`` or ``empty``."""

    def __init__(self, message: str, feature: str, other: str, reason: str) -> None:
        super().__init__(message)
        self.feature = feature
        self.other = other
        self.reason = reason


class FeatureInUse(AioError):
    """``aio link``: the feature's plan or implement conversation has started already
    (``sessions`` names them); ``--force`` links it anyway (for its next new conversation)."""

    def __init__(self, message: str, feature: str, sessions: list[str]) -> None:
        super().__init__(message)
        self.feature = feature
        self.sessions = sessions

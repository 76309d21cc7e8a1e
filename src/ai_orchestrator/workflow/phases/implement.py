"""``aio implement``: one task, test first, with red and green checked by running the tests.

Preconditions (checked under the feature lock, before any agent call): a plan exists; the
task exists (``InvalidInput``, exit 2, listing the ids); it is not completed and its
dependencies are completed (``--force`` overrides both, with a warning); a test command is
configured unless ``--no-tests``; the stored conversation is not another project's
(``SessionElsewhere``); the budget allows a call; the test command can start
(``testcheck.cannot_start``: its program exists, ``python -m X`` has X — else
``TestRunnerError``, exit 1, the task untouched).

Agent: ``--agent``, else the task's ``agent`` from the plan when that agent is known and its
CLI is installed (otherwise a warning says so and the config is used), else the implement
phase's ``agent``.

Modes (all in session ``implement-<feature>``, resumed across tasks):

- **atdd** (default): the agent writes the task's acceptance tests → ``aio`` runs the test
  command and requires **red on the task's own tests** (``workflow.project.tasktests``: the test
  files the agent added or changed, and with JUnit XML at least one failing test in them;
  one corrective follow-up, then ``TestsNotRed``) → the agent implements → ``aio`` requires
  **green**: the tests pinned at red (``workflow.project.testpin``) are unchanged — else
  NOT GREEN naming the test, unless ``--accept-test-changes`` (recorded) — ran and passed,
  and no test fails that did not already fail at red (without JUnit: the whole run passes),
  giving up to ``fix_rounds`` follow-ups with the reason and the tail of the output, then
  ``TestsFailed``. ``artifacts/<task>/task-tests.json`` keeps the pin (a rerun and every
  fix round judge against it and skip to the implementation); until red is confirmed,
  ``tests-step.json`` keeps the snapshot the tests step began with, so a rerun after any
  interruption takes the tests an earlier call wrote as this task's. A red run whose tests
  never ran (``workflow.project.evidence``) stops at once with ``TestRunnerError`` (exit 1,
  the cause and its fix): no follow-up, no implement call. At green only a runner that did
  not start stops at once; other causes get the fix rounds like any other failure.
- **tdd**: as atdd (unit tests), then a refactor step after which the same green check
  must hold again (same fix rounds).
- **no-tests**: one implement call, no test runs, with a warning.

Escalation (``workflow.phases.escalate``): with ``escalate_to`` (``--escalate-to M``), when
the fix rounds run out the conversation is handed to M (a fork, or a new conversation primed
with a summary the current one writes), which gets the failing output and a fresh set of
fix rounds; ``TestsFailed`` only when those run out too. ``escalate_now`` (``aio escalate
--task``) hands over before the task's first call and then continues the task as usual
(straight to the implementation when its red was confirmed earlier); the history event is
then ``escalate``. Either way ``details.escalation`` of the event holds the lineage.

Task state: ``pending|failed`` → ``in_progress`` (saved before the first call) →
``completed``; any failure → ``failed`` with ``failure_reason``, and the feature's
``active_task`` is cleared either way. **Ctrl-C** (the runner stops the agent and reports
``interrupted``; a test run is killed with its process group) leaves the task ``failed``
with reason ``interrupted`` — a consistent, visible state that a plain rerun picks up — and
raises ``Interrupted`` (exit 130). Agent timeout → 124, budget → 3, other agent errors → 1;
every case is recorded in the session store (by ``run_in_session``) and in
``history.jsonl`` (by ``Recorder``), and both locks are released. Every test run's log (and
JUnit XML for pytest) is kept as ``artifacts/<task>/<step>-<n>``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ai_orchestrator.calls.conversation import Conversation
from ai_orchestrator.core.errors import (
    AioError,
    DependencyNotMet,
    Interrupted,
    InvalidInput,
    TestRunnerError,
    TestsFailed,
    TestsNotRed,
)
from ai_orchestrator.workflow import prompts
from ai_orchestrator.workflow.model.feature import (
    load_feature,
    load_plan,
    reported_model,
    save_plan,
    update_feature,
)
from ai_orchestrator.workflow.model.plan import Plan, Task
from ai_orchestrator.workflow.phases.assign import choose_agent, choose_model
from ai_orchestrator.workflow.phases.handover import Target
from ai_orchestrator.workflow.phases.lineage import check_origin, start_options
from ai_orchestrator.workflow.project.config import resolve_model
from ai_orchestrator.workflow.project.history import given_options
from ai_orchestrator.workflow.runctx import (
    FeatureContext,
    Recorder,
    call_options,
    check_agent,
    check_budget,
    check_model,
)
from ai_orchestrator.workflow.testing.evidence import FIX, TestRun
from ai_orchestrator.workflow.testing.tasktests import (
    TaskTests,
    TestsAttempt,
    Verdict,
    earlier_pins,
    green_verdict,
    pinned_outcomes,
    red_verdict,
)
from ai_orchestrator.workflow.testing.testrun import run_tests

Mode = Literal["atdd", "tdd", "no-tests"]
MODES: tuple[str, ...] = ("atdd", "tdd", "no-tests")


@dataclass
class ImplementOptions:
    mode: Mode = "atdd"
    agent: str | None = None
    model: str | None = None
    max_turns: int | None = None
    fix_rounds: int | None = None
    force: bool = False
    max_cost: float | None = None
    no_session: bool = False
    new_session: bool = False
    escalate_to: str | None = None  # agent or model to hand over to (see the docstring)
    escalate_now: bool = False  # hand over before the first call (``aio escalate --task``)
    escalate_reason: str | None = None
    accept_test_changes: bool = False  # take changed pinned tests as the new pin (recorded)


@dataclass
class ImplementOutcome:
    task: Task
    mode: Mode
    test_runs: list[TestRun] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    cost: float = 0.0
    escalation: dict[str, Any] | None = None  # the lineage when the task was escalated
    pinned: list[dict[str, str]] = field(default_factory=list)  # the last green's pinned tests
    accepted: list[dict[str, Any]] = field(default_factory=list)  # --accept-test-changes


def command_text(command: str | list[str]) -> str:
    return command if isinstance(command, str) else shlex.join(command)


def default_tools(command: str | list[str] | None) -> list[str]:
    """Claude's allowed tools for the implement phase: running the test command."""
    return [f"Bash({command_text(command)}:*)"] if command else []


class _Loop:
    """The red/green/refactor steps of one task (state for numbering and bookkeeping)."""

    def __init__(self, ctx: FeatureContext, conv: Conversation, task: Task, rounds: int) -> None:
        self.ctx = ctx
        self.conv = conv
        self.task = task
        self.rounds = rounds
        self.command = ctx.config.test_command or ""
        self.text = command_text(self.command)
        self.dir = ctx.paths.artifacts / task.id
        self.runs: list[TestRun] = []
        self.tests: TaskTests | None = TaskTests.load(self.dir)
        self.accept, self.accepted = False, list[dict[str, Any]]()  # --accept-test-changes
        self.earlier: list[tuple[str, TaskTests]] = []  # completed tasks' pins: must still pass
        self.pinned: list[dict[str, str]] = []  # the pinned tests' outcomes at the last check
        self.context = ""  # the task's context (set by _run_mode), for an escalated conversation
        # Called once when the fix rounds run out: hands the work over (replacing ``conv``)
        # and returns the preface for the new conversation; None: no escalation.
        self.escalate: Callable[[_Loop, str], str] | None = None
        self.earlier_steps: list[dict[str, Any]] = []  # of conversations handed over
        self.escalated_from: dict[str, Any] | None = None

    def _label(self, step: str) -> str:
        numbers = [0]
        if self.dir.is_dir():
            pattern = re.compile(rf"^{re.escape(step)}-(\d+)\.log$")
            numbers += [int(m.group(1)) for p in self.dir.iterdir() if (m := pattern.match(p.name))]
        return f"{step}-{max(numbers) + 1}"

    def run(self, step: str) -> TestRun:
        label = self._label(step)
        self.ctx.hooks.info(f"[{self.task.id}] running the tests ({step}): {self.text}")
        result = run_tests(
            self.command,
            cwd=self.ctx.ws.project_root,
            label=label,
            artifacts=self.dir,
            timeout=self.ctx.config.test_timeout,
        )
        result.own_files = self.tests.files if self.tests is not None else None
        self.runs.append(result)
        return result

    def _report(self, step: str, result: TestRun, verdict: Verdict) -> None:
        if step == "red":
            text = "RED (as required)" if verdict.ok else f"NOT RED: {verdict.reason}"
        else:
            text = "GREEN" if verdict.ok else f"NOT GREEN: {verdict.reason}"
            if verdict.ok and self.pinned:
                text += f" ({len(self.pinned)} pinned test(s) passed)"
        # A reason that already gives the counts (``the tests fail (…)``) is not followed
        # by the same counts again.
        summary = result.summary()
        counts = "" if summary in text else f" — {summary}"
        self.ctx.hooks.info(
            f"[{self.task.id}] {step}: {text}{counts} (log: {self._rel(result.log_path)})"
        )
        if verdict.note:
            self.ctx.hooks.warn(f"[{self.task.id}] {step}: {verdict.note}")

    def _stop_without_evidence(self, step: str, result: TestRun, verdict: Verdict) -> None:
        """Raise ``TestRunnerError`` when the runner, not the code, kept the tests from running.

        At red every runner fault stops (before any further agent call); at green only a
        runner that did not start does — anything else may be the agent's doing and gets the
        fix rounds.
        """
        evidence = verdict.evidence
        if evidence is None or not evidence.runner_fault:
            return
        if step != "red" and evidence.cause != "not_started":
            return
        fix = f"{FIX} (now: {self.text})" if evidence.fix == FIX else evidence.fix
        raise TestRunnerError(
            self.task.id, evidence.detail, fix, step=step, log=self._rel(result.log_path)
        )

    def _rel(self, path: str | None) -> str:
        if not path:
            return "-"
        try:
            return str(Path(path).relative_to(self.ctx.ws.project_root))
        except ValueError:
            return path

    def _red(self, attempt: TestsAttempt) -> tuple[bool, str, TestRun, TaskTests]:
        root = self.ctx.ws.project_root
        files = attempt.task_files(root)
        result = self.run("red")
        result.own_files = files
        verdict, tests = red_verdict(result, files, root)
        self._report("red", result, verdict)
        self._stop_without_evidence("red", result, verdict)
        return verdict.ok, verdict.reason, result, tests

    def write_tests(self, context: str, tdd: bool) -> None:
        """The tests step and red, judged against the snapshot taken before the step's first
        call even on a rerun (``TestsAttempt``): an earlier call's tests are this task's."""
        self.ctx.hooks.info(f"=== RED: writing {'unit' if tdd else 'acceptance'} tests first ===")
        prompt = prompts.tests_prompt(context, self.text, tdd=tdd)
        attempt, earlier = TestsAttempt.begin(self.dir, self.ctx.ws.project_root)
        if earlier is not None:
            self.ctx.hooks.info(
                f"[{self.task.id}] continuing the tests step of an earlier run "
                f"(test files written for this task since: {', '.join(earlier) or 'none'})"
            )
            prompt += "\n\n" + prompts.tests_resume_note(earlier)
        self.conv.ask(prompt, "tests")
        ok, reason, result, tests = self._red(attempt)
        if not ok:
            correction = prompts.tests_pass_correction(reason, result.summary(), self.text)
            self.conv.followup(correction, "tests-fix")
            ok, reason, result, tests = self._red(attempt)
            if not ok:
                raise TestsNotRed(self.task.id, reason, self._rel(result.log_path))
        tests.save(self.dir)
        TestsAttempt.clear(self.dir)
        self.tests = tests
        if tests.pin is not None and tests.pin.tests:
            self.ctx.hooks.info(f"[{self.task.id}] pinned at red: {tests.pin.names()}")

    def _accept_changes(self) -> None:
        """``--accept-test-changes``: take the pinned tests as they are now (recorded)."""
        found = self.tests.accept_changes(self.ctx.ws.project_root, self.dir) if self.tests else []
        if found:
            assert self.tests is not None and self.tests.pin is not None
            self.accepted.append(self.tests.pin.accepted[-1])
            changes = "; ".join(str(c) for c in found[:3])
            self.ctx.hooks.warn(f"[{self.task.id}] --accept-test-changes: accepted {changes}")

    def _check_green(self, step: str) -> tuple[TestRun, Verdict]:
        if self.accept:
            self._accept_changes()
        result = self.run(step)
        verdict = green_verdict(result, self.tests, self.ctx.ws.project_root, self.earlier)
        self.pinned = pinned_outcomes(result, self.tests) or self.pinned
        self._report(step, result, verdict)
        self._stop_without_evidence(step, result, verdict)
        return result, verdict

    def _fix_rounds(self, step: str, result: TestRun, verdict: Verdict) -> tuple[TestRun, Verdict]:
        for round_no in range(1, self.rounds + 1):
            if verdict.ok:
                break
            self.conv.followup(
                prompts.fix_prompt(self.text, verdict.reason, result.tail, round_no, self.rounds),
                f"fix-{round_no}",
            )
            result, verdict = self._check_green(step)
        return result, verdict

    def make_green(self, step: str) -> TestRun:
        result, verdict = self._fix_rounds(step, *self._check_green(step))
        if not verdict.ok and self.escalate is not None:
            escalate, self.escalate = self.escalate, None
            self.ctx.hooks.warn(
                f"[{self.task.id}] not green after {self.rounds} fix round(s): escalating"
            )
            preface = escalate(self, verdict.reason)
            fix = (
                f"`{self.text}` is not green: {verdict.reason}. Make every test pass (never "
                f"delete or skip the task's tests). The end of the output:\n```\n{result.tail}\n```"
            )
            self.conv.ask(f"{preface}\n\n{self.context}\n\n{fix}", "escalated-fix")
            result, verdict = self._fix_rounds(step, *self._check_green(step))
        if not verdict.ok:
            raise TestsFailed(
                self.task.id, self.rounds, verdict.reason, self._rel(result.log_path)
            )
        return result


def _check_task(ctx: FeatureContext, plan: Plan, task_id: str, opts: ImplementOptions) -> Task:
    task = plan.task(task_id)
    if task is None:
        known = ", ".join(t.id for t in plan.tasks()) or "none"
        raise InvalidInput(f"unknown task {task_id!r} in feature {ctx.feature_id}; tasks: {known}")
    if task.status == "completed" and not opts.force:
        raise AioError(
            f"task {task_id} is already completed "
            f"(aio implement --task {task_id} --force runs it again)"
        )
    unmet = plan.unmet_dependencies(task)
    if unmet and not opts.force:
        raise DependencyNotMet(task_id, list(unmet))
    if unmet:
        ctx.hooks.warn(f"--force: ignoring unmet dependencies {', '.join(unmet)}")
    if opts.mode != "no-tests" and not ctx.config.test_command:
        raise InvalidInput("no test_command in .aio/config.toml: set one, or run with --no-tests")
    return task


def _check_runner_starts(ctx: FeatureContext, task_id: str) -> None:
    """Refuse (before any agent call, the task untouched) a test command that cannot start."""
    from ai_orchestrator.workflow.testing.testcheck import cannot_start

    command = ctx.config.test_command or ""
    problem = cannot_start(command, ctx.ws.project_root)
    if problem:
        raise TestRunnerError(task_id, problem, f"{FIX} (now: {command_text(command)})")


def run_implement(ctx: FeatureContext, task_id: str, opts: ImplementOptions) -> ImplementOutcome:
    """Implement ``task_id`` of ``ctx.feature_id`` (see the module docstring)."""
    if opts.mode not in MODES:
        raise InvalidInput(f"unknown mode {opts.mode!r}; use one of {', '.join(MODES)}")
    check_agent(opts.agent)
    check_model(opts.model)
    phase = ctx.config.phase("implement")
    command = "escalate" if opts.escalate_now else "implement"
    with Recorder(ctx.paths, command, given_options(**vars(opts))) as rec:
        # Filled before the lock, so an event of a command that found the feature busy
        # still says what was attempted; refined below once the task is known.
        rec.task_id, rec.session = task_id, ctx.session_name("implement")
        rec.agent = opts.agent or phase.agent
        rec.model = resolve_model(rec.agent, opts.model, phase)
        with ctx.lock():
            outcome = _implement_locked(ctx, task_id, opts, rec)
    return outcome


def _implement_locked(
    ctx: FeatureContext, task_id: str, opts: ImplementOptions, rec: Recorder
) -> ImplementOutcome:
    with rec.refusals():  # before the task is touched: refusing must change nothing
        plan = load_plan(ctx.paths)
        assert plan is not None
        task = _check_task(ctx, plan, task_id, opts)
        agent = choose_agent(ctx, task, opts.agent)
        settings = call_options(
            ctx,
            "implement",
            agent=agent,
            model=choose_model(ctx, task, agent, opts.model),
            no_session=opts.no_session,
            new_session=opts.new_session,
            max_turns=opts.max_turns,
            max_cost=opts.max_cost,
            default_tools=default_tools(ctx.config.test_command),
            task_id=task_id,
        )
        rec.agent, rec.model = settings.agent, settings.model
        target = _escalation_target(ctx, opts)
        if target is not None and opts.escalate_now:
            probe = call_options(ctx, "implement", agent=target.agent, model=target.model)
            check_budget(ctx, probe, f"task {task_id} was not escalated")
            rec.agent, rec.model = target.agent, target.model
        conv = Conversation(
            ctx.store,
            ctx.session_name("implement"),
            settings,
            hooks=ctx.hooks,
        )
        if not opts.escalate_now:
            conv.check_location()
            check_origin(ctx)  # a template whose seed session is gone: refused here
            check_budget(ctx, settings, f"task {task_id} was not started")
            _note_escalated_conversation(ctx, settings.agent, settings.use_session)
        if opts.mode != "no-tests":
            _check_runner_starts(ctx, task_id)
        feature = load_feature(ctx.paths)
    plan.set_status(task_id, "in_progress")
    save_plan(ctx.paths, plan)
    # the model chosen, else (the agent's default) the one it reports once it has answered
    update_feature(
        ctx.paths, active_task=task_id, agent_in_use=settings.agent, model_in_use=settings.model
    )
    rounds = ctx.config.fix_rounds if opts.fix_rounds is None else opts.fix_rounds
    loop = _Loop(ctx, conv, task, rounds)
    loop.accept, loop.earlier = opts.accept_test_changes, earlier_pins(ctx.paths.artifacts, plan)
    outcome = ImplementOutcome(task, opts.mode)
    settings_options: dict[str, Any] = {
        "max_turns": opts.max_turns,
        "max_cost": opts.max_cost,
        "default_tools": default_tools(ctx.config.test_command),
    }
    try:
        if not opts.escalate_now:  # a linked or templated feature's new conversation
            start = start_options(ctx, "implement", settings)
            conv.options, loop.earlier_steps = start.options, start.steps
        preface = ""
        if target is not None and opts.escalate_now:
            preface = _hand_over(ctx, loop, target, opts.escalate_reason or "", settings_options)
            outcome.escalation = rec.details["escalation"] = loop.escalated_from
        elif target is not None:
            loop.escalate = _on_exhausted(ctx, target, settings_options, rec, outcome)
        description = str(feature.get("description") or "")
        _run_mode(ctx, loop, plan, task, opts.mode, description, preface)
    except BaseException as exc:
        interrupted = isinstance(exc, Interrupted | KeyboardInterrupt)
        reason = "interrupted" if interrupted else (str(exc) or type(exc).__name__)
        plan.set_status(task_id, "failed", reason)
        save_plan(ctx.paths, plan)
        update_feature(ctx.paths, active_task=None)
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted(task_id=task_id) from exc
        raise
    finally:
        steps = [*loop.earlier_steps, *loop.conv.steps]
        if settings.model is None and reported_model(steps):
            update_feature(ctx.paths, model_in_use=reported_model(steps))
        outcome.test_runs, outcome.steps = loop.runs, steps
        outcome.cost = float(sum(s["cost"] or 0.0 for s in steps))
        outcome.pinned, outcome.accepted = loop.pinned, loop.accepted
        rec.details.update(
            mode=opts.mode,
            steps=steps,
            cost=outcome.cost,
            test_runs=[r.to_dict() for r in loop.runs],
            task_tests=loop.tests.to_dict() if loop.tests else None,
            pinned=loop.pinned,
        )
        if loop.accepted:
            rec.details["accepted_test_changes"] = loop.accepted
    plan.set_status(task_id, "completed")
    save_plan(ctx.paths, plan)
    update_feature(ctx.paths, active_task=None)
    ctx.hooks.info(f"Task {task_id} completed successfully")
    return outcome


def _note_escalated_conversation(ctx: FeatureContext, agent: str, use_session: bool) -> None:
    """Warn when the stored conversation was escalated to another agent: this call starts a
    new conversation of ``agent`` in its place (``--agent`` keeps the escalated one)."""
    from ai_orchestrator.workflow.phases.handover import stored_source

    source = stored_source(ctx, "implement")
    if use_session and source.agent_session_id and source.agent not in (None, agent):
        ctx.hooks.warn(
            f"{source.session} holds a {source.label()} conversation; this call starts a new "
            f"{agent} conversation in its place (use --agent {source.agent} to continue it)"
        )


def _escalation_target(ctx: FeatureContext, opts: ImplementOptions) -> Target | None:
    """The target of ``escalate_to`` (checked before the task is touched), else None."""
    if opts.escalate_to is None:
        return None
    from ai_orchestrator.workflow.phases.handover import resolve_target, stored_source

    return resolve_target(ctx, "implement", opts.escalate_to, stored_source(ctx, "implement"))


def _hand_over(
    ctx: FeatureContext, loop: _Loop, target: Target, reason: str, options: dict[str, Any]
) -> str:
    """Hand ``loop``'s work to ``target`` (replacing ``loop.conv``); returns the preface."""
    from ai_orchestrator.workflow.phases.handover import hand_over

    handover = hand_over(
        ctx,
        "implement",
        target,
        reason,
        source_conversation=loop.conv,
        task_id=loop.task.id,
        settings_options=options,
    )
    loop.earlier_steps += [*loop.conv.steps, *handover.summary_steps]
    loop.conv = handover.conversation
    loop.escalated_from = handover.lineage
    return handover.preface


def _on_exhausted(
    ctx: FeatureContext,
    target: Target,
    options: dict[str, Any],
    rec: Recorder,
    outcome: ImplementOutcome,
) -> Callable[[_Loop, str], str]:
    def escalate(loop: _Loop, reason: str) -> str:
        why = f"not green after {loop.rounds} fix round(s): {reason}"
        preface = _hand_over(ctx, loop, target, why, options)
        outcome.escalation = rec.details["escalation"] = loop.escalated_from
        return preface

    return escalate


def _run_mode(
    ctx: FeatureContext,
    loop: _Loop,
    plan: Plan,
    task: Task,
    mode: Mode,
    description: str,
    preface: str = "",
) -> None:
    loop.context = prompts.task_context(plan, task, description)
    # An escalated conversation starts with the hand-over, then the task as usual.
    context = f"{preface}\n\n{loop.context}" if preface else loop.context
    if mode == "no-tests":
        ctx.hooks.warn("skipping test-first enforcement (--no-tests): no tests will be run")
        loop.conv.ask(prompts.implement_only_prompt(context), "implement")
        return
    if loop.tests is not None:
        ctx.hooks.info(
            f"[{task.id}] tests already written (red confirmed earlier: "
            f"{', '.join(loop.tests.files)}); going straight to the implementation"
        )
        loop.conv.ask(f"{context}\n\n{prompts.implement_prompt(loop.text)}", "implement")
    else:
        loop.write_tests(context, tdd=mode == "tdd")
        ctx.hooks.info("=== GREEN: implementing ===")
        loop.conv.followup(prompts.implement_prompt(loop.text), "implement")
    loop.make_green("green")
    if mode == "tdd":
        ctx.hooks.info("=== REFACTOR ===")
        loop.conv.followup(prompts.refactor_prompt(loop.text), "refactor")
        loop.make_green("refactor")

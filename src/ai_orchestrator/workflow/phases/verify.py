"""``aio verify``: run the tests ourselves in a fresh context; optionally a fresh agent check.

- The test command runs as in ``testrun`` (JUnit XML for pytest), logged to
  ``artifacts/verify/verify-<n>.log``; the result is passed/failed/errors/skipped/duration.
- ``ci=True`` writes ``artifacts/test-results.xml``: the runner's own JUnit XML when there is
  one, otherwise a synthesised ``<testsuites><testsuite name tests failures errors skipped
  time/></testsuites>`` from the counts.
- ``agent_check=True`` asks an agent — **never** a resumed conversation: session
  ``verify-<feature>`` with ``use_session=False`` — to judge every task's acceptance criteria
  against ``git diff HEAD`` (+ untracked files), answering JSON ``{"verdict": "pass"|"fail",
  "criteria": [{"task", "criterion", "met", "evidence"}]}`` (one corrective follow-up, then
  ``InvalidVerdict``, exit 1).
- ``ok`` is true only when the tests are green with at least one test that passed (a run
  whose every test was skipped is not a pass: ``passed_verdict``) and (when asked) the
  agent's verdict is pass.
  The history event's status is ``success`` or ``failed`` accordingly. A run whose tests
  never ran (``workflow.project.evidence``: runner not started, crashed, nothing collected, only
  collection errors, no readable result) is neither passed nor failed: ``ok`` is false and
  the error says the tests could not run, naming the cause and ``test_command``.
- ``selection`` (``workflow.project.testselect.Selection``: ``--unit/--integration/
  --acceptance``, ``--filter/--exclude``, ``--parallel``, ``--coverage``) changes only this
  run's argv; an option that cannot be honoured is refused before the lock is taken (exit 2,
  or 1 when coverage.py is missing), with no history event. The coverage figure
  (``coverage``: ``{"tool", "percent", "report"}``; ``percent`` None when no figure could be
  read) and the selection's notes go into the outcome and the history event's details.
- Verify holds the feature lock for its whole run, so its test run never sees the half-made
  change of an ``implement`` in progress (a second command waits ``lock_timeout``, then
  ``SessionBusy``). Bad input (``--agent-name`` unknown) is refused before the tests run;
  with the agent check, the agent's CLI must be installed and the budget (``max_cost``, else
  the feature's) not reached before the tests run too, so a command that would stop there
  does not run the suite first (a refusal: no history event).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from ai_orchestrator.calls.conversation import Conversation
from ai_orchestrator.calls.options import CallOptions
from ai_orchestrator.core import env as aio_env
from ai_orchestrator.core.errors import InvalidInput, InvalidVerdict
from ai_orchestrator.infra.fsutil import write_artifact
from ai_orchestrator.workflow.jsontext import extract_json
from ai_orchestrator.workflow.model.feature import load_feature, load_plan
from ai_orchestrator.workflow.project.history import given_options
from ai_orchestrator.workflow.runctx import (
    FeatureContext,
    Recorder,
    call_options,
    check_agent,
    check_budget,
    check_installed,
    check_model,
)
from ai_orchestrator.workflow.testing.evidence import FIX, TestRun
from ai_orchestrator.workflow.testing.tasktests import PinnedReport, pinned_reports
from ai_orchestrator.workflow.testing.testrun import run_tests
from ai_orchestrator.workflow.testing.testselect import (
    PlannedRun,
    Selection,
    coverage_from_output,
    plan_selection,
)

DIFF_BUDGET = 120_000


@dataclass
class VerifyOutcome:
    run: TestRun
    ok: bool
    ci_path: Path | None = None
    agent_check: dict[str, Any] | None = None
    coverage: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)  # the selection's options, e.g. --unit
    pinned: list[PinnedReport] = field(default_factory=list)  # each task's pinned tests


def _next_label(directory: Path) -> str:
    numbers = [0]
    if directory.is_dir():
        numbers += [
            int(m.group(1))
            for p in directory.iterdir()
            if (m := re.match(r"^verify-(\d+)\.log$", p.name))
        ]
    return f"verify-{max(numbers) + 1}"


def write_ci_xml(run: TestRun, target: Path, suite: str) -> None:
    if run.xml_path and Path(run.xml_path).is_file():
        write_artifact(target, Path(run.xml_path).read_bytes())
        return
    root = ElementTree.Element("testsuites")
    ElementTree.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(run.total),
        failures=str(run.failed),
        errors=str(run.errors + (0 if run.counts_known or run.green else 1)),
        skipped=str(run.skipped),
        time=f"{run.duration_ms / 1000:.3f}",
    )
    write_artifact(target, ElementTree.tostring(root, encoding="utf-8", xml_declaration=True))


def git_diff(root: Path) -> str:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=60
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    diff = git("diff", "HEAD") or git("diff")
    untracked = [
        f
        for f in git("ls-files", "--others", "--exclude-standard").splitlines()
        if f and not f.startswith(".aio/")
    ]
    parts = [diff]
    for rel in untracked:
        try:
            parts.append(f"=== new file {rel} ===\n{(root / rel).read_text(encoding='utf-8')}")
        except (OSError, UnicodeDecodeError):
            parts.append(f"=== new file {rel} (binary or unreadable) ===")
    text = "\n".join(p for p in parts if p)
    return text[:DIFF_BUDGET] + ("\n[diff truncated]" if len(text) > DIFF_BUDGET else "")


def _valid_check(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return ["the answer is not a JSON object"]
    problems = []
    if value.get("verdict") not in ("pass", "fail"):
        problems.append('"verdict" must be "pass" or "fail"')
    if not isinstance(value.get("criteria"), list):
        problems.append('"criteria" must be a list')
    return problems


def agent_check(
    ctx: FeatureContext, run: TestRun, settings: CallOptions, rec: Recorder
) -> dict[str, Any]:
    plan = load_plan(ctx.paths)
    assert plan is not None
    feature = load_feature(ctx.paths)
    criteria = "\n".join(
        f"- {t.id} {t.title} [{t.status}]: " + "; ".join(t.acceptance_criteria)
        for t in plan.tasks()
    )
    prompt = (
        f"You are an independent verifier with no prior context for feature "
        f"`{ctx.feature_id}`: {feature.get('description') or ''}\n\n"
        f"Acceptance criteria per task:\n{criteria}\n\n"
        f"The test run by aio: {run.summary()}.\n\n"
        "The change (git diff against HEAD, plus new files):\n"
        f"```\n{git_diff(ctx.ws.project_root)}\n```\n\n"
        "Check every acceptance criterion against the change. Do not modify files. Answer "
        'with ONLY one JSON object: {"verdict": "pass" | "fail", "criteria": [{"task": "T1.1", '
        '"criterion": "...", "met": true, "evidence": "file:line or reason"}]}'
    )
    conv = Conversation(
        ctx.store, ctx.session_name("verify"), settings, hooks=ctx.hooks
    )
    try:
        return conv.ask_usable(
            prompt,
            "verify",
            _parse_verdict,
            correction=lambda problems: (
                f"Your answer could not be used ({'; '.join(problems)}). Answer again with ONLY "
                'the JSON object of the requested shape ("verdict" pass|fail and a "criteria" '
                "list)."
            ),
            what="verdict",
            error=InvalidVerdict,
        )
    finally:
        rec.details["steps"] = conv.steps


def _parse_verdict(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        value = extract_json(text, want=lambda v: not _valid_check(v))
    except ValueError as exc:
        return None, [str(exc)]
    return value, []


def run_verify(
    ctx: FeatureContext,
    *,
    ci: bool = False,
    with_agent: bool = False,
    agent: str | None = None,
    model: str | None = None,
    max_cost: float | None = None,
    selection: Selection | None = None,
) -> VerifyOutcome:
    check_agent(agent, "--agent")
    check_model(model)
    command = ctx.config.test_command
    if not command:
        raise InvalidInput("no test_command in .aio/config.toml: set one to verify")
    selection = selection or Selection()
    planned = plan_run(ctx, command, selection)
    arguments = given_options(
        ci=ci, agent=with_agent, agent_name=agent, model=model, max_cost=max_cost
    ) | selection.to_dict()
    with Recorder(ctx.paths, "verify", arguments) as rec:
        settings: CallOptions | None = None
        if with_agent:
            # sessions off: the verifier never resumes a conversation
            with rec.refusals():  # a value the backend would refuse (config, AI_MODEL)
                settings = call_options(
                    ctx, "verify", agent=agent, model=model, no_session=True, max_cost=max_cost
                )
            rec.agent, rec.model = settings.agent, settings.model
            rec.session = ctx.session_name("verify")
        with ctx.lock():
            if settings is not None:
                with rec.refusals():
                    check_installed(settings.agent, "no tests were run")
                    check_budget(ctx, settings, "no tests were run")
            outcome = _verify_locked(ctx, planned, ci, rec, narrowed=bool(selection.flags()))
            outcome.selected = selection.flags()
            if settings is not None:
                outcome.agent_check = agent_check(ctx, outcome.run, settings, rec)
                rec.details["agent_verdict"] = outcome.agent_check.get("verdict")
                outcome.ok = outcome.ok and outcome.agent_check.get("verdict") == "pass"
        rec.status = "success" if outcome.ok else "failed"
        evidence = outcome.run.evidence()
        if not evidence.ran:
            rec.error = f"the tests could not run: {evidence.detail}; {cannot_run_fix(outcome)}"
        elif not outcome.ok:
            rec.error = f"verification failed: {failure_reason(outcome)}"
    return outcome


def passed_verdict(run: TestRun) -> bool:
    """The tests' PASS: a green run in which at least one test passed (every test skipped,
    or deselected, proves nothing)."""
    return run.green and run.passed > 0


def failure_reason(outcome: VerifyOutcome) -> str:
    """Why a verify whose tests ran did not pass, in one phrase."""
    run = outcome.run
    problems = [f"{p.task}: {x}" for p in outcome.pinned for x in p.problems()]
    if problems and run.green and run.passed:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return f"pinned test {problems[0]} did not pass{more}"
    if run.green and run.passed == 0:
        return f"no test passed ({run.summary()})"
    if run.green and outcome.agent_check is not None:
        return "the agent's verdict is fail"
    return run.summary()


def cannot_run_fix(outcome: VerifyOutcome) -> str:
    """What to change when the run is not evidence: a selection that matched no test is the
    selection's fault, not ``test_command``'s."""
    evidence = outcome.run.evidence()
    shown = ", ".join(outcome.selected)
    if outcome.selected and evidence.cause == "no_tests":
        return f"no test matches the selection ({shown})"
    if outcome.selected and "refused its command line" in evidence.detail:
        return f"the test runner refused the selection ({shown}): check it"
    return FIX


def plan_run(ctx: FeatureContext, command: str | list[str], selection: Selection) -> PlannedRun:
    """The run ``selection`` asks for (``InvalidInput``/``NotFound`` before anything runs)."""
    from ai_orchestrator.workflow.testing.testcheck import has_module

    root = ctx.ws.project_root
    return plan_selection(
        command,
        ctx.config.tests,
        selection,
        root,
        lambda python, module: has_module([python], module, root) is True,
        ctx.paths.artifacts / "verify" / ".coverage",
    )


def _verify_locked(
    ctx: FeatureContext, planned: PlannedRun, ci: bool, rec: Recorder, *, narrowed: bool
) -> VerifyOutcome:
    directory = ctx.paths.artifacts / "verify"
    ctx.hooks.info("Running the tests in a fresh context...")
    for note in planned.notes:
        ctx.hooks.info(note)
    label = _next_label(directory)
    env = dict(planned.env)
    if "COVERAGE_FILE" in env:
        env["COVERAGE_FILE"] = str(directory / f"{label}.coverage")
    run = run_tests(
        planned.command,
        cwd=ctx.ws.project_root,
        label=label,
        artifacts=directory,
        timeout=ctx.config.test_timeout,
        env=env,
    )
    outcome = VerifyOutcome(run, passed_verdict(run), notes=list(planned.notes))
    plan = load_plan(ctx.paths, required=False)
    tasks = [(t.id, t.status) for t in plan.tasks()] if plan else []
    outcome.pinned = pinned_reports(ctx.paths.artifacts, tasks, ctx.ws.project_root, run)
    if narrowed:  # a selection may leave pinned tests out on purpose
        outcome.pinned = [PinnedReport(p.task, False, p.tests, p.changes) for p in outcome.pinned]
    if any(p.problems() for p in outcome.pinned):
        outcome.ok = False
    rec.details["pinned"] = [p.to_dict() for p in outcome.pinned]
    if planned.coverage_tool:
        outcome.coverage = _coverage(ctx, planned, run, env, directory / f"{label}.coverage.json")
        rec.details["coverage"] = outcome.coverage
    if ci:
        outcome.ci_path = ctx.paths.artifacts / "test-results.xml"
        write_ci_xml(run, outcome.ci_path, ctx.feature_id)
    rec.details["tests"] = run.to_dict()
    if planned.notes:
        rec.details["notes"] = planned.notes
    return outcome


def _coverage(
    ctx: FeatureContext, planned: PlannedRun, run: TestRun, env: dict[str, str], report: Path
) -> dict[str, Any]:
    """The coverage figure of ``run``: coverage.py's JSON report, or the configured tool's
    output read with ``tests.coverage_regex`` (``percent`` None when there is none)."""
    result: dict[str, Any] = {"tool": planned.coverage_tool, "percent": None, "report": None}
    if planned.coverage_tool == "configured":
        text = Path(run.log_path).read_text("utf-8", "replace") if run.log_path else run.tail
        result["percent"] = coverage_from_output(text, planned.coverage_regex)
        return result
    assert planned.python is not None
    if not Path(env["COVERAGE_FILE"]).is_file():
        return result  # nothing was measured (the runner did not start)
    try:
        subprocess.run(
            [planned.python, "-m", "coverage", "json", "-q", "-o", str(report)],
            cwd=ctx.ws.project_root,
            env={**aio_env.environ(), **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=300,
        )
        data = json.loads(report.read_text(encoding="utf-8"))
        result["percent"] = round(float(data["totals"]["percent_covered"]), 2)
        result["report"] = str(report)
    except (OSError, ValueError, KeyError, TypeError, subprocess.SubprocessError):
        pass  # no readable report: the figure stays unknown, never a made-up 0
    return result

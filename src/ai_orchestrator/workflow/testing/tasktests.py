"""The task's own tests: which files the agent wrote at red, and the red/green verdicts on them.

Judging red and green on the whole suite is not enough: a failure that existed before the
task counts as "red" although the task's test never ran, and an agent that deletes its tests
still gets "green". So the verdicts look at the tests *of the task*:

- **Task test files.** ``snapshot`` records every project file (``git ls-files --cached
  --others --exclude-standard``; without git a directory walk that skips hidden, cache,
  dependency and build directories) with its size and mtime before the agent writes the
  tests; ``changed_files`` lists what is new or different afterwards. The task test files
  are the changed files that look like tests (``is_test_file``: ``test_*.py``,
  ``*_test.go``, ``*.test.ts``, ``*.spec.js``, ``*Test.java``, anything under ``tests/``,
  ``test/``, ``__tests__/`` or ``spec/`` …); when none does, every changed file (the agent
  was asked to write only tests in that step). ``.aio/`` and caches never count.
- **Evidence first** (``workflow.project.evidence``): a run whose tests never ran — runner not
  started, crashed, nothing collected, a collection error outside the task's files that kept
  the task's tests from running, no readable result, timeout — is neither red nor green;
  the verdict carries that ``Evidence`` so the caller can stop instead of asking the agent.
- **Red with per-test results** (JUnit XML; ``aio`` writes it for pytest): at least one
  test case *of the task files* fails or errors (a collection error of a new test file,
  e.g. the ``ImportError`` of code that does not exist yet, counts). Those failing ids are
  recorded; failures elsewhere do not count for red and are recorded as *pre-existing*.
- **Red without per-test results** (other runners; the fallback): tests ran (a summary
  line aio reads) and the command failed, and at least one task test file was written. A
  pre-existing failure cannot be told apart here; that is the documented limit of the
  fallback.
- **The pin** (``workflow.project.testpin``): a confirmed red pins the tests it proved and
  fingerprints everything that decides their outcome. Green first checks that nothing
  pinned changed (the reason names the test: edited, removed or renamed, its conftest or
  the pytest configuration changed …); ``TaskTests.accept_changes`` takes the current
  content as the pin for ``--accept-test-changes``, recorded in ``pin.accepted``.
- **Green with per-test results** (and after refactor): tests ran and nothing timed out;
  every task test file still exists; nothing pinned changed; every pinned test ran and
  passed (not run, skipped or xfailed is not passed — from the JUnit results, never the
  exit status), and so did every test pinned by a completed task (``earlier_pins``) but
  those failing at this red; and no test fails except the pre-existing failures recorded
  at red (no new failure anywhere — a test that did not run at red must pass).
  Pre-existing failures are reported, not blamed on the task. A task saved by an aio
  without pins is judged on its ``red_ids`` as before.
- **Green without per-test results** (the fallback): nothing pinned changed (files only),
  the whole run is green (exit 0, tests ran, one passed) and every task test file exists.

``TaskTests`` is saved as ``artifacts/<task>/task-tests.json`` once red is confirmed; a
rerun of the task skips the test-writing step and judges green against it. Until then
``TestsAttempt`` (``tests-step.json``) keeps the snapshot the tests step began with, so a
rerun after an interruption judges the files an earlier call wrote as the task's. With no
test file written, the reason says that tests already in the project are not the task's
and names the failing ones. ``pinned_reports`` gives every task's pinned tests (their
outcome in a run, what changed since red) to verify and review.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra.fsutil import write_artifact
from ai_orchestrator.workflow.testing.evidence import (
    Evidence,
    TestCase,
    TestRun,
    case_file,
    is_file_level,
)
from ai_orchestrator.workflow.testing.testpin import (
    Change,
    Pin,
    changes,
    describe,
    is_test_file,
    make_pin,
    outcome_problem,
    outcomes,
    repin,
)

__all__ = [
    "TaskTests",
    "Verdict",
    "case_file",
    "green_verdict",
    "is_test_file",
    "red_verdict",
    "snapshot",
]

TASK_TESTS_FILE = "task-tests.json"
ATTEMPT_FILE = "tests-step.json"
MAX_FILES = 200_000  # a walk of a huge tree stops here (git is used when available)
SKIP_DIRS = frozenset(
    {
        "node_modules",
        "__pycache__",
        "venv",
        "env",
        "target",
        "build",
        "dist",
        "vendor",
        "site-packages",
    }
)
_CACHE_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".aio"})

Snapshot = dict[str, tuple[int, int]]


def _ignored(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return any(p in _CACHE_PARTS for p in parts) or rel.endswith((".pyc", ".pyo"))


def _git_files(root: Path) -> list[str] | None:
    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def _walk_files(root: Path) -> list[str]:
    found: list[str] = []
    for current, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS]
        base = Path(current).relative_to(root)
        for name in files:
            found.append((base / name).as_posix())
            if len(found) >= MAX_FILES:
                return found
    return found


def snapshot(root: Path) -> Snapshot:
    """``{relative path: (size, mtime_ns)}`` of the project's files (see the docstring)."""
    listing = _git_files(root)
    if listing is None:
        listing = _walk_files(root)
    result: Snapshot = {}
    for rel in listing:
        if _ignored(rel):
            continue
        try:
            st = os.stat(root / rel)
        except OSError:
            continue  # tracked but deleted from the work tree
        result[rel] = (st.st_size, st.st_mtime_ns)
    return result


def changed_files(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(rel for rel, sig in after.items() if before.get(rel) != sig)


def task_test_files(changed: list[str]) -> list[str]:
    tests = [rel for rel in changed if is_test_file(rel)]
    return tests or list(changed)


@dataclass
class TaskTests:
    """What red established for a task (saved as ``task-tests.json``)."""

    files: list[str]
    red_ids: list[str] = field(default_factory=list)  # failing task tests at red (JUnit)
    preexisting: list[str] = field(default_factory=list)  # other tests failing at red (JUnit)
    source: str = "exit_code"  # junit | summary | exit_code: what the red run could tell
    pin: Pin | None = None  # the tests pinned at red (None: saved by an aio without pins)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pin"] = self.pin.to_dict() if self.pin is not None else None
        return versioned(data, version=2)

    def save(self, directory: Path) -> None:
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        write_artifact(directory / TASK_TESTS_FILE, text.encode())

    @classmethod
    def load(cls, directory: Path) -> TaskTests | None:
        try:
            data = json.loads((directory / TASK_TESTS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("files"), list):
            return None
        return cls(
            files=[str(f) for f in data["files"]],
            red_ids=[str(i) for i in data.get("red_ids") or []],
            preexisting=[str(i) for i in data.get("preexisting") or []],
            source=str(data.get("source") or "exit_code"),
            pin=Pin.from_dict(data.get("pin")),
        )

    def pin_changes(self, root: Path) -> list[Change]:
        """What differs from the pin now (nothing without a pin)."""
        return changes(root, self.pin, self.files) if self.pin is not None else []

    def accept_changes(self, root: Path, directory: Path) -> list[Change]:
        """``--accept-test-changes``: the current content becomes the pin, saved with a
        record of what was accepted and when (``pin.accepted``); returns the changes."""
        found = self.pin_changes(root)
        if found and self.pin is not None:
            from ai_orchestrator.infra.timeutil import now_iso

            self.pin = repin(root, self.pin, found, now_iso())
            self.save(directory)
        return found


@dataclass
class TestsAttempt:
    """The tests step under way (``tests-step.json``): the snapshot taken before its first
    call, kept until red is confirmed, so a rerun after an interruption judges the task's
    test files against it — the files an earlier call wrote are this task's."""

    baseline: Snapshot

    __test__ = False  # not a pytest test class

    def save(self, directory: Path) -> None:
        data = versioned(baseline={k: list(v) for k, v in self.baseline.items()})
        write_artifact(directory / ATTEMPT_FILE, json.dumps(data, separators=(",", ":")).encode())

    @classmethod
    def load(cls, directory: Path) -> TestsAttempt | None:
        try:
            data = json.loads((directory / ATTEMPT_FILE).read_text(encoding="utf-8"))
            baseline = {str(k): (int(v[0]), int(v[1])) for k, v in data["baseline"].items()}
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None
        return cls(baseline)

    @classmethod
    def begin(cls, directory: Path, root: Path) -> tuple[TestsAttempt, list[str] | None]:
        """The attempt under way and the task test files written since it began, or a new
        attempt (saved before the step's first call) and None."""
        attempt = cls.load(directory)
        if attempt is not None:
            return attempt, attempt.task_files(root)
        attempt = cls(snapshot(root))
        attempt.save(directory)
        return attempt, None

    def task_files(self, root: Path) -> list[str]:
        """The task's test files: those written or changed since the attempt began."""
        return task_test_files(changed_files(self.baseline, snapshot(root)))

    @staticmethod
    def clear(directory: Path) -> None:
        (directory / ATTEMPT_FILE).unlink(missing_ok=True)


@dataclass
class Verdict:
    ok: bool
    reason: str = ""  # why not (empty when ok)
    note: str = ""  # something worth saying even when ok (pre-existing failures)
    evidence: Evidence | None = None  # set when not ok because the tests never ran


def _short(ids: list[str], limit: int = 5) -> str:
    more = f" (+{len(ids) - limit} more)" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def red_verdict(run: TestRun, files: list[str], root: Path) -> tuple[Verdict, TaskTests]:
    """Is ``run`` a red for the task whose test files are ``files``? (see the docstring)"""
    tests = TaskTests(files=list(files), source=run.source)
    if not files:
        reason = (
            "no test file was added or changed by the tests step (tests already in the project "
            "are not taken as this task's: write or change the task's own tests)"
        )
        failing = run.failing_ids()  # per-test results only: never the exit status
        if failing:
            reason += f"; failing tests already there: {_short(failing)}"
        return Verdict(False, reason), tests
    missing = [f for f in files if not (root / f).exists()]
    if missing:
        return Verdict(False, f"the test files were removed again: {_short(missing)}"), tests
    evidence = run.evidence(files)
    if not evidence.ran:
        return Verdict(False, evidence.detail, evidence=evidence), tests
    if not run.cases:
        if run.fails:
            tests.pin = make_pin(run, [], files, root)  # the files only: no per-test results
            return Verdict(True), tests
        return Verdict(False, f"the tests did not fail ({run.summary()})"), tests
    mine = [c for c in run.cases if case_file(c, files) is not None]
    tests.red_ids = [c.id for c in mine if c.failing]
    others = [i for i in run.failing_ids() if i not in tests.red_ids]
    tests.preexisting = others
    if tests.red_ids:
        tests.pin = make_pin(run, tests.red_ids, files, root)
        note = f"{len(others)} other failing test(s), not the task's: {_short(others)}"
        return Verdict(True, note=note if others else ""), tests
    if not mine:
        reason = f"none of the tests in {_short(files)} ran"
        if others:
            reason += f"; only other tests failed: {_short(others)}"
        return Verdict(False, reason), tests
    reason = (
        f"the task's tests do not fail before the implementation exists "
        f"({len(mine)} ran, none failed)"
    )
    if others:
        reason += f"; the failures are in other tests: {_short(others)}"
    return Verdict(False, reason), tests


def earlier_pins(artifacts: Path, plan: Any) -> list[tuple[str, TaskTests]]:
    """The pins of the plan's completed tasks (``plan``: a ``model.plan.Plan``)."""
    found = [(t.id, TaskTests.load(artifacts / t.id)) for t in plan.tasks()]
    done = {t.id for t in plan.tasks() if t.status == "completed"}
    return [(i, t) for i, t in found if i in done and t is not None and t.pin is not None]


def pinned_outcomes(run: TestRun, tests: TaskTests | None) -> list[dict[str, str]]:
    """How each pinned test of ``tests`` fared in ``run`` (empty without per-test results)."""
    if tests is None or tests.pin is None or not run.cases:
        return []
    return [o.to_dict() for o in outcomes(run, tests.pin)]


def _earlier_problem(
    run: TestRun, earlier: list[tuple[str, TaskTests]], skip: list[str]
) -> str | None:
    """A completed task's pinned test that no longer ran and passed (a later task deleted,
    renamed, skipped or deselected it) — but for ``skip``, the failures this task's red
    found already there; needs per-test results."""
    if not run.cases:
        return None
    failing_at_red = set(skip)
    for task_id, tests in earlier:
        assert tests.pin is not None
        results = [r for r in outcomes(run, tests.pin) if r.test.id not in failing_at_red]
        problem = outcome_problem(results)
        if problem:
            return f"{problem} — it was pinned at red by the completed task {task_id}"
    return None


def green_verdict(
    run: TestRun,
    tests: TaskTests | None,
    root: Path,
    earlier: list[tuple[str, TaskTests]] | None = None,
) -> Verdict:
    """Is ``run`` a green that still includes the task's tests (and the pinned tests of the
    completed tasks ``earlier``)? (see the docstring)"""
    if tests is not None:
        missing = [f for f in tests.files if not (root / f).exists()]
        if missing:
            return Verdict(False, f"task test file(s) deleted or missing: {_short(missing)}")
    evidence = run.evidence(tests.files if tests is not None else None)
    found = tests.pin_changes(root) if tests is not None else []
    if found:  # the cause first; what the run then showed, when it is not evidence
        shown = "" if evidence.ran else f"; the run: {evidence.detail}"
        return Verdict(False, describe(found) + shown)
    if not evidence.ran:
        return Verdict(False, evidence.detail, evidence=evidence)
    if tests is None or tests.source != "junit":
        if run.fails:
            return Verdict(False, f"the tests fail ({run.summary()})")
        if run.passed == 0:
            return Verdict(False, f"no test passed ({run.summary()})")
        return Verdict(True)
    if not run.cases:  # red had per-test results: a green without them proves nothing
        return Verdict(
            False,
            f"the run gave no per-test results (JUnit XML) to check the task's tests "
            f"against ({run.summary()})",
        )
    failing = run.failing_ids()
    new = [i for i in failing if i not in tests.preexisting]
    if new:
        return Verdict(False, f"the tests fail ({run.summary()}): {_short(new)}")
    if run.exit_code != 0 and not failing:
        return Verdict(False, f"the test command failed ({run.summary()})")
    problem = _task_problem(run, tests) or _earlier_problem(
        run, earlier or [], tests.preexisting
    )
    if problem:
        return Verdict(False, problem)
    note = f"{len(failing)} pre-existing failure(s) ignored: {_short(failing)}" if failing else ""
    return Verdict(True, note=note)


def _task_problem(run: TestRun, tests: TaskTests) -> str | None:
    if tests.pin is not None and tests.pin.tests:
        return outcome_problem(outcomes(run, tests.pin))
    by_id = {c.id: c for c in run.cases}
    absent: list[str] = []
    not_passed: list[str] = []
    for red_id in tests.red_ids:
        if is_file_level(red_id):
            rel = case_file(TestCase("", red_id, "error"), tests.files)
            of_file = [c for c in run.cases if rel and case_file(c, [rel]) and c.id != red_id]
            if not of_file:
                absent.append(f"tests of {rel or red_id}")
            not_passed += [f"{c.id} ({c.outcome})" for c in of_file if c.outcome != "passed"]
        elif red_id not in by_id:
            absent.append(red_id)
        elif by_id[red_id].outcome != "passed":
            not_passed.append(f"{red_id} ({by_id[red_id].outcome})")
    if absent:
        return f"task tests recorded at red are missing: {_short(absent)}"
    if not_passed:
        return f"task tests did not pass: {_short(not_passed)}"
    return None


@dataclass
class PinnedReport:
    """One task's pinned tests, as verify and review show them."""

    task: str
    completed: bool
    tests: list[dict[str, str]]  # {test, id, outcome}; outcome "" when the run did not say
    changes: list[str]  # what differs from the pin now (a later task may have changed it)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def problems(self) -> list[str]:
        """The pinned tests of a completed task that did not pass in the run."""
        if not self.completed:
            return []
        return [f"{t['test']} ({t['outcome']})" for t in self.tests if t["outcome"] != "passed"]


def pinned_reports(
    artifacts: Path, tasks: list[tuple[str, str]], root: Path, run: TestRun | None
) -> list[PinnedReport]:
    """The pinned tests of every task (``(id, status)``) that has a pin, with their outcome in
    ``run`` when it gave per-test results, and what changed since red."""
    reports: list[PinnedReport] = []
    for task_id, status in tasks:
        tests = TaskTests.load(artifacts / task_id)
        if tests is None or tests.pin is None or not tests.pin.tests:
            continue
        results = {id(o.test): o.outcome for o in outcomes(run, tests.pin)} if run else {}
        if run is None or not run.cases:
            results = {}
        rows = [
            {"test": t.name, "id": t.id, "outcome": results.get(id(t), "")}
            for t in tests.pin.tests
        ]
        changed = [str(c) for c in tests.pin_changes(root)]
        reports.append(PinnedReport(task_id, status == "completed", rows, changed))
    return reports

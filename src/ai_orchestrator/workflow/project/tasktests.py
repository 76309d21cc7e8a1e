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
- **Green with per-test results** (and after refactor): tests ran and nothing timed out;
  every task test file still exists; every test id recorded at red is present and passed
  (skipped is not passed); for a file whose collection failed at red, at least one of its
  tests ran and all of them passed; and no test fails except the pre-existing failures
  recorded at red (no new failure anywhere — a test that did not run at red must pass).
  Pre-existing failures are reported, not blamed on the task. A deleted or missing task
  test is a failure whose reason names it.
- **Green without per-test results** (the fallback): the whole run is green
  (exit 0 and tests ran) and every task test file still exists.

``TaskTests`` is saved as ``artifacts/<task>/task-tests.json`` once red is confirmed; a
rerun of the task skips the test-writing step and judges green against it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ai_orchestrator.workflow.project.evidence import (
    Evidence,
    TestCase,
    TestRun,
    case_file,
    is_file_level,
)

__all__ = ["TaskTests", "Verdict", "case_file", "green_verdict", "red_verdict", "snapshot"]

TASK_TESTS_FILE = "task-tests.json"
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
TEST_DIRS = frozenset({"tests", "test", "__tests__", "spec", "specs", "testing"})
_TEST_NAME = re.compile(
    r"^(test_.*\.py|.*_tests?\.py|tests?\.py|conftest\.py|.*_test\.go|.*_spec\.rb"
    r"|.*\.(test|spec)\.[cm]?[jt]sx?|.*Tests?\.(java|kt|cs)|.*_test\.(exs?|dart|cc|cpp|c))$"
)
_CACHE_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".aio"})

Snapshot = dict[str, tuple[int, int]]


def is_test_file(rel: str) -> bool:
    path = PurePosixPath(rel)
    return bool(_TEST_NAME.match(path.name)) or any(p in TEST_DIRS for p in path.parts[:-1])


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

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": 1, **asdict(self)}

    def save(self, directory: Path) -> None:
        from ai_orchestrator.workflow.model.feature import write_artifact

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
        )


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
        return Verdict(False, "no test file was added or changed"), tests
    missing = [f for f in files if not (root / f).exists()]
    if missing:
        return Verdict(False, f"the test files were removed again: {_short(missing)}"), tests
    evidence = run.evidence(files)
    if not evidence.ran:
        return Verdict(False, evidence.detail, evidence=evidence), tests
    if not run.cases:
        if run.fails:
            return Verdict(True), tests
        return Verdict(False, f"the tests did not fail ({run.summary()})"), tests
    mine = [c for c in run.cases if case_file(c, files) is not None]
    tests.red_ids = [c.id for c in mine if c.failing]
    others = [i for i in run.failing_ids() if i not in tests.red_ids]
    tests.preexisting = others
    if tests.red_ids:
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


def green_verdict(run: TestRun, tests: TaskTests | None, root: Path) -> Verdict:
    """Is ``run`` a green that still includes the task's tests? (see the docstring)"""
    if tests is not None:
        missing = [f for f in tests.files if not (root / f).exists()]
        if missing:
            return Verdict(False, f"task test file(s) deleted or missing: {_short(missing)}")
    evidence = run.evidence(tests.files if tests is not None else None)
    if not evidence.ran:
        return Verdict(False, evidence.detail, evidence=evidence)
    if tests is None or tests.source != "junit" or not run.cases:
        if run.fails:
            return Verdict(False, f"the tests fail ({run.summary()})")
        return Verdict(True)
    failing = run.failing_ids()
    new = [i for i in failing if i not in tests.preexisting]
    if new:
        return Verdict(False, f"the tests fail ({run.summary()}): {_short(new)}")
    if run.exit_code != 0 and not failing:
        return Verdict(False, f"the test command failed ({run.summary()})")
    problem = _task_problem(run, tests)
    if problem:
        return Verdict(False, problem)
    note = f"{len(failing)} pre-existing failure(s) ignored: {_short(failing)}" if failing else ""
    return Verdict(True, note=note)


def _task_problem(run: TestRun, tests: TaskTests) -> str | None:
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

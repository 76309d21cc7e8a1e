"""Test run results and their evidence: did the tests actually run, and when not, why not.

``TestRun`` (with its ``TestCase`` list) is the result record of one run of the project's
tests — ``testrun`` runs the command and fills it in; its verdicts (``green``, ``red``,
``summary``) ask ``classify`` here, which is why record and classification live together.

Red needs the task's own tests to have run and failed, green needs them to have run and
passed, and ``aio verify`` calls a run "passed" or "failed" only when tests ran. All three ask
``classify(run, own_files)``, which gives one ``Evidence`` with one cause:

- ``ran`` — tests ran and their result is readable (JUnit XML or a recognised summary line).
- ``timed_out`` — killed at ``test_timeout`` (possibly the tests' own fault: a test that hangs).
- ``not_started`` — the runner did not start: command not found or not executable (exit
  127/126, or it could not be launched), a shell command whose shell reported an error before
  any result (``cd nowhere && pytest``: the shell's own line is the detail, never "pytest was
  interrupted"), ``python -m X`` without module X ("No module named
  X", e.g. pytest not installed), pytest refusing its command line (exit 4, usage error).
- ``crashed`` — killed by a signal, pytest's internal error (exit 3), or pytest interrupted
  (exit 2) with no collection error to explain it.
- ``collection_error`` — a conftest could not be imported (pytest exit 4), or a test module
  *outside the task's tests* could not be collected ("ERROR collecting <path>", e.g. a
  ``ModuleNotFoundError``) and none of the task's tests ran. A collection error *in* the
  task's test files is the usual first red of ATDD (the code under test does not exist yet):
  those tests ran and failed. Without ``own_files`` (verify) collection errors stop the
  evidence only when no other test ran.
- ``no_tests`` — nothing collected (pytest exit 5, "no tests ran", zero tests counted).
- ``no_result`` — no result aio can read: no JUnit XML and no summary line it recognises
  (e.g. the command printed nothing and exited 1). Exit status alone is never evidence.

Every cause but ``ran`` and ``timed_out`` is the runner's, not the tests' (``runner_fault``):
no agent can fix it by editing tests or code, so ``aio implement`` stops before the
implement call and names the fix (``Evidence.fix``): ``test_command`` in
``.aio/config.toml``, except for a collection error, whose fix is the module or conftest
that cannot be imported (named, with the task's own test files).

``case_file`` maps a JUnit test case to the task file it belongs to (pytest ids, or the
``file`` attribute); ``tasktests`` uses it too.
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

Cause = Literal[
    "ran", "timed_out", "not_started", "crashed", "collection_error", "no_tests", "no_result"
]
FIX = "fix test_command in .aio/config.toml"

_CONFTEST = re.compile(r"ImportError while loading conftest '([^']+)'")
_ERROR_LINE = re.compile(r"^E\s+(\S.*)$", re.M)
_USAGE_LINE = re.compile(r"^\S.*: error: (.+)$", re.M)
_NO_MODULE = re.compile(r"No module named '?([\w.]+)'?")


@dataclass(frozen=True)
class Evidence:
    """Whether a test run is evidence (``cause == "ran"``) and, when not, why (``detail``)."""

    cause: Cause
    detail: str = ""
    fix: str = FIX  # what to change: test_command, unless the cause lies elsewhere

    @property
    def ran(self) -> bool:
        return self.cause == "ran"

    @property
    def runner_fault(self) -> bool:
        """The test command, not the tests, is at fault: editing tests or code cannot help."""
        return self.cause not in ("ran", "timed_out")

    def to_dict(self) -> dict[str, str]:
        return {"cause": self.cause, "detail": self.detail}


def module_names(rel: str) -> list[str]:
    """Dotted module names under which a runner may report ``rel`` (full path first)."""
    path = PurePosixPath(rel)
    parts = [*path.parts[:-1], path.stem]
    return [".".join(parts[i:]) for i in range(len(parts))]


def case_file(case: TestCase, files: list[str]) -> str | None:
    """The task file ``case`` belongs to, or None (pytest ids, or the ``file`` attribute)."""
    for rel in files:
        if case.file and (case.file == rel or case.file.endswith("/" + rel)):
            return rel
        for module in module_names(rel):
            if case.classname == module or case.classname.startswith(module + "."):
                return rel
            if not case.classname and case.name == module:  # collection error of the file
                return rel
    return None


def is_file_level(case_id: str) -> bool:
    """A JUnit case standing for a whole file (pytest's collection error of that file)."""
    return "::" not in case_id


def _same_file(reported: str, rel: str) -> bool:
    """``reported`` (relative to the runner's rootdir) and ``rel`` (to the project) match."""
    return reported == rel or reported.endswith("/" + rel) or rel.endswith("/" + reported)


def _first(pattern: re.Pattern[str], text: str) -> str:
    found = pattern.search(text)
    return found.group(1).strip() if found else ""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


_SHELL_LINE = re.compile(r"^(?:/bin/)?(?:sh|bash|dash): (.+)$", re.M)


def _shell_error(run: TestRun) -> str:
    """The shell's own error line when a shell command failed before its runner reported
    anything (``cd nowhere && pytest``: ``sh: 1: cd: can't cd to nowhere``), else ''."""
    if not run.shell or run.counts_known or run.exit_code in (0, None) or run.exit_code < 0:
        return ""
    found = _SHELL_LINE.findall(run.tail)
    return f"sh: {found[-1].strip()[:200]}" if found else ""


def _missing_runner_module(run: TestRun) -> str | None:
    """``X`` when the command is ``… -m X …`` and the output says there is no module X."""
    argv = run.command
    if run.shell:
        try:
            argv = shlex.split(run.command[-1])
        except ValueError:
            return None
    wanted = {b for a, b in itertools.pairwise(argv) if a == "-m"}
    if run.counts_known or not wanted:
        return None
    for found in _NO_MODULE.finditer(run.tail):
        if found.group(1) in wanted:
            return found.group(1)
    return None


def _collection_problem(run: TestRun, own_files: list[str] | None) -> Evidence | None:
    own = own_files or []
    outside = [p for p in run.collection_errors if not any(_same_file(p, f) for f in own)]
    if not outside:
        return None
    if run.cases:
        if own_files is not None:
            others_ran = any(case_file(c, own) for c in run.cases)
        else:
            others_ran = any(not is_file_level(c.id) for c in run.cases)
    else:
        # a summary only: the task's tests cannot be told apart, so only a run where
        # something besides the collection errors ran (verify) is still evidence
        others_ran = own_files is None and run.total > run.errors
    if others_ran:
        return None
    marker = run.tail.find(f"ERROR collecting {outside[0]}")
    error = _first(_ERROR_LINE, run.tail[marker:]) if marker >= 0 else ""
    more = f" (+{len(outside) - 3} more)" if len(outside) > 3 else ""
    where = ", ".join(outside[:3]) + more
    whose = "test module(s) outside the task's tests" if own_files else "test module(s)"
    fix = "fix or remove that module: the test command is not at fault"
    if own_files:
        fix = (
            f"fix or remove that module (the task's test files are {', '.join(own[:3])}); "
            "the test command is not at fault"
        )
    return Evidence(
        "collection_error",
        f"{whose} could not be collected: {where}" + (f" ({error})" if error else ""),
        fix,
    )


def classify(run: TestRun, own_files: list[str] | None = None) -> Evidence:
    """The evidence ``run`` gives (see the module docstring); ``own_files``: the task's tests."""
    code = run.exit_code
    if run.timed_out:
        return Evidence("timed_out", "the test run timed out")
    program = PurePosixPath(run.command[0]).name if run.command else "the test command"
    shell_said = _shell_error(run)
    if shell_said:
        return Evidence(
            "not_started",
            f"the shell stopped before the tests ran: {shell_said} (exit code {code})",
        )
    if code in (126, 127) and not run.counts_known:
        what = "not found" if code == 127 else "not executable"
        return Evidence(
            "not_started", f"the test runner did not start: {program} {what} (exit code {code})"
        )
    module = _missing_runner_module(run)
    if module:
        return Evidence(
            "not_started",
            f"the test runner did not start: {program} has no module {module!r} "
            f"(not installed for this interpreter)",
        )
    if code is not None and code < 0:
        return Evidence("crashed", f"the test runner was killed by signal {-code}")
    if run.pytest and code == 4:
        conftest = _first(_CONFTEST, run.tail)
        if conftest:
            error = _first(_ERROR_LINE, run.tail)
            return Evidence(
                "collection_error",
                f"conftest {conftest} cannot be imported" + (f" ({error})" if error else ""),
                "fix that conftest: the test command is not at fault",
            )
        usage = _first(_USAGE_LINE, run.tail) or _last_line(run.tail)
        return Evidence(
            "not_started", f"pytest refused its command line (exit code 4, usage error: {usage})"
        )
    if run.pytest and code == 3:
        return Evidence("crashed", "pytest stopped with an internal error (exit code 3)")
    if run.pytest and code == 5:
        return Evidence("no_tests", "no tests ran: the runner collected nothing (exit code 5)")
    problem = _collection_problem(run, own_files)
    if problem is not None:
        return problem
    if run.pytest and code == 2 and not run.collection_errors:
        return Evidence("crashed", "pytest was interrupted (exit code 2) before any result")
    if not run.counts_known:
        shown = _last_line(run.tail)
        said = f"last line: {shown!r}" if shown else "no output"
        return Evidence(
            "no_result",
            f"the test command reported no result aio can read (exit code {code}, {said})",
        )
    if run.total == 0 and not run.errors:
        return Evidence("no_tests", "no tests ran: the runner collected nothing")
    return Evidence("ran")


MAX_FAILING_IDS = 20  # ids kept in ``to_dict`` (history, --json); the XML has all of them


@dataclass(frozen=True)
class TestCase:
    """One test case from JUnit XML; ``id`` is ``classname::name`` (or ``name`` alone)."""

    classname: str
    name: str
    outcome: str
    file: str | None = None

    __test__ = False

    @property
    def id(self) -> str:
        return f"{self.classname}::{self.name}" if self.classname else self.name

    @property
    def failing(self) -> bool:
        return self.outcome in ("failed", "error")


@dataclass
class TestRun:
    label: str
    command: list[str]
    shell: bool
    exit_code: int | None
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    total: int = 0
    duration_ms: int = 0
    source: str = "exit_code"  # junit | summary | exit_code
    timed_out: bool = False
    log_path: str | None = None
    xml_path: str | None = None
    tail: str = ""
    cases: list[TestCase] = field(default_factory=list)
    pytest: bool = False
    collection_errors: list[str] = field(default_factory=list)
    own_files: list[str] | None = None  # the task's test files, once judged for a task

    __test__ = False  # not a pytest test class

    @property
    def counts_known(self) -> bool:
        return self.source != "exit_code"

    def evidence(self, own_files: list[str] | None = None) -> Evidence:
        """Did tests run? ``own_files``: the task's test files (default ``self.own_files``)."""
        return classify(self, self.own_files if own_files is None else own_files)

    @property
    def no_tests(self) -> bool:
        return self.evidence().cause == "no_tests"

    @property
    def fails(self) -> bool:
        """Whether tests failed: the counts the runner reported when it reported any (a
        shell command can hide pytest's exit status — ``pytest | tee log`` exits 0 with
        failures — or keep it: ``pytest && echo``), else the exit status."""
        if self.counts_known:
            return self.failed + self.errors > 0
        return self.exit_code not in (0, None)

    @property
    def green(self) -> bool:
        return not self.fails and self.exit_code is not None and self.evidence().ran

    @property
    def red(self) -> bool:
        return self.fails and self.evidence().ran

    def summary(self) -> str:
        if self.timed_out:
            return "timed out"
        evidence = self.evidence()
        # a collection error may be the task's own red (``evidence(own_files)``): keep counts
        if not evidence.ran and not (self.counts_known and evidence.cause == "collection_error"):
            return evidence.detail
        parts = [f"{self.passed} passed", f"{self.failed} failed"]
        if self.errors:
            parts.append(f"{self.errors} error{'' if self.errors == 1 else 's'}")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return ", ".join(parts) + f" in {self.duration_ms / 1000:.1f}s"

    def failing_ids(self) -> list[str]:
        return [c.id for c in self.cases if c.failing]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("tail")
        data.pop("cases")
        data.update(
            green=self.green,
            red=self.red,
            no_tests=self.no_tests,
            evidence=self.evidence().to_dict(),
            failing_ids=self.failing_ids()[:MAX_FAILING_IDS],
        )
        return data

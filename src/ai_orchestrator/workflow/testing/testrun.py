"""Run the project's test command ourselves and read the result.

``run_tests`` runs the configured command in the project root, output (stdout+stderr)
to a log file, in its own process group (timeout and Ctrl-C kill the whole group: TERM, a
grace period, KILL; ``KeyboardInterrupt`` is re-raised after the cleanup). The command
runs under the same watchdog as an agent CLI (``agents.runner.spawn``,
``agents.watchdog``): if aio dies without any cleanup (SIGKILL, the OOM killer), the
watchdog sees its lifeline close and stops the whole test tree (TERM, ``KILL_GRACE``
seconds, KILL) — tests that left the group (``setsid``) included; no test process outlives
aio by more than that grace.

How the command is run (documented in config.toml too):

- a list is an argv, run without a shell;
- a string is split with ``shlex`` and run without a shell, unless it contains shell syntax
  (``| & ; < > $ ` * ? ( ) { } ~`` or a newline); then it runs as ``/bin/sh -c STRING``;
- ``python`` as the program falls back to ``python3`` when only that is on PATH;
- for pytest (``pytest …`` or ``… -m pytest …``, no shell) ``--junitxml=<artifact>.xml`` and
  ``--continue-on-collection-errors`` are appended: the counts and per-test results come
  from JUnit XML, and a test file that cannot be imported (the usual red of a new test)
  does not stop the other tests from running, so every run gives a complete picture.
  Otherwise the counts come from the runner's summary line (pytest, unittest, go test -v,
  cargo test, jest/vitest, node --test's TAP summary), else only the exit status is known
  (``source = "exit_code"``).

The result is a ``TestRun`` (``workflow.project.evidence``, with the verdicts that need the
evidence). With JUnit XML, ``TestRun.cases`` also lists every test case (``TestCase``: id,
classname, name, file, outcome ``passed|failed|error|skipped|xfailed``) so
``workflow.project.tasktests`` can judge the task's own tests rather than the whole suite.
Without it ``cases`` is empty.

``TestRun.pytest`` says the runner is pytest (from the command, or pytest's own output under
a shell), so its exit codes 2–5 can be read; ``collection_errors`` lists the paths of every
"ERROR collecting <path>" in the output.

Suite verdicts need evidence (``workflow.project.evidence``: tests ran and their result is readable;
exit status alone never is): **red** = evidence and a non-zero exit; **green** = evidence
and exit 0. ``evidence(own_files)`` gives the cause when a run is not evidence (runner not
started, crashed, collection error outside ``own_files``, nothing collected, no readable
result, timeout). A collection error of a new test file (e.g. ``ImportError`` because the
code does not exist yet) is red: that is what ATDD's first step looks like.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path
from xml.etree import ElementTree

from ai_orchestrator.agents.process import proctree
from ai_orchestrator.agents.process.runner import spawn
from ai_orchestrator.core import env as aio_env
from ai_orchestrator.workflow.testing.evidence import TestCase, TestRun

SHELL_CHARS = set("|&;<>$`*?(){}~\n")
TAIL_CHARS = 4000
KILL_GRACE = 3.0


CASE_OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed")


def is_pytest(argv: list[str]) -> bool:
    if not argv:
        return False
    if os.path.basename(argv[0]).startswith(("pytest", "py.test")):
        return True
    return any(a == "-m" and b == "pytest" for a, b in itertools.pairwise(argv))


def build_command(command: str | list[str], junit: Path | None) -> tuple[list[str], bool, bool]:
    """``(argv, uses_shell, writes_junit)`` for ``command`` (see the module docstring)."""
    if isinstance(command, str):
        if SHELL_CHARS & set(command):
            return ["/bin/sh", "-c", command], True, False
        argv = shlex.split(command)
    else:
        argv = list(command)
    if argv and argv[0] == "python" and shutil.which("python") is None and shutil.which("python3"):
        argv[0] = "python3"
    if junit is not None and is_pytest(argv):
        return [*argv, f"--junitxml={junit}", "--continue-on-collection-errors"], False, True
    return argv, False, False


def parse_junit(path: Path) -> tuple[dict[str, int], list[TestCase]] | None:
    """The counts and every ``<testcase>`` of a JUnit XML file (None when unreadable)."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return None
    if root.tag not in ("testsuite", "testsuites"):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    totals = {"total": 0, "failed": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        totals["total"] += int(suite.get("tests", 0) or 0)
        totals["failed"] += int(suite.get("failures", 0) or 0)
        totals["errors"] += int(suite.get("errors", 0) or 0)
        totals["skipped"] += int(suite.get("skipped", 0) or 0)
    totals["total"] = max(totals["total"], totals["failed"] + totals["errors"] + totals["skipped"])
    totals["passed"] = max(
        0, totals["total"] - totals["failed"] - totals["errors"] - totals["skipped"]
    )
    return totals, [_junit_case(case) for case in root.iter("testcase")]


def _junit_case(case: ElementTree.Element) -> TestCase:
    outcome = "passed"
    for child, kind in (("error", "error"), ("failure", "failed"), ("skipped", "skipped")):
        found = case.find(child)
        if found is not None:
            outcome = kind
            if kind == "skipped" and found.get("type") == "pytest.xfail":
                outcome = "xfailed"  # counted as skipped; named apart in verdicts
            break
    return TestCase(
        classname=case.get("classname") or "",
        name=case.get("name") or "",
        outcome=outcome,
        file=case.get("file") or None,
    )


_PYTEST_PART = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")
_PYTEST_LINE = re.compile(
    r"^(?:=+ .*\b(?:passed|failed|errors?|skipped|no tests ran)\b.* =+"
    r"|(?:\d+ \w+, )*\d+ \w+ in [\d.]+s\b.*|no tests ran in [\d.]+s\b.*)$",  # -q: no rules
    re.M,
)
_PYTEST_OUTPUT = re.compile(r"^(=+ test session starts =+|ERROR collecting \S+)", re.M)
_COLLECTING = re.compile(r"ERROR collecting (\S+)")
_CARGO = re.compile(r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored")
_JEST = re.compile(r"^Tests:\s+(.*\d+ total)", re.M)
_GO_OK = re.compile(r"^ok\s+\S+\s+(?:[\d.]+s|\(cached\))(?!.*\[no tests to run\])", re.M)
_MOCHA = re.compile(r"^\s*(\d+) (passing|failing|pending)\b", re.M)
_TAP_TOTALS = re.compile(r"^# (tests|pass|fail|cancelled|skipped|todo) (\d+)\s*$", re.M)
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in", re.M)
_UNITTEST_END = re.compile(r"^(OK|FAILED)(?: \((.*)\))?\s*$", re.M)


def parse_summary(text: str) -> dict[str, int] | None:
    """Counts from the runner's own summary line(s), or None when none is recognised."""
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    if _PYTEST_LINE.search(text):
        last = [m for m in _PYTEST_LINE.finditer(text)][-1].group(0)
        for number, kind in _PYTEST_PART.findall(last):
            key = {"error": "errors", "xfailed": "skipped", "xpassed": "passed"}.get(kind, kind)
            counts[key] += int(number)
    elif (ran := _UNITTEST_RAN.findall(text)) and (end := _UNITTEST_END.findall(text)):
        total = int(ran[-1])
        details = dict((k.strip(), int(v)) for k, v in re.findall(r"(\w+)=(\d+)", end[-1][1] or ""))
        counts["failed"] = details.get("failures", 0)
        counts["errors"] = details.get("errors", 0)
        counts["skipped"] = details.get("skipped", 0)
        counts["passed"] = total - counts["failed"] - counts["errors"] - counts["skipped"]
    elif cargo := _CARGO.findall(text):
        for passed, failed, ignored in cargo:
            counts["passed"] += int(passed)
            counts["failed"] += int(failed)
            counts["skipped"] += int(ignored)
    elif jest := _JEST.findall(text):
        for number, kind in re.findall(r"(\d+) (failed|skipped|passed|todo)", jest[-1]):
            counts["skipped" if kind == "todo" else kind] += int(number)
    elif (tap := dict(_TAP_TOTALS.findall(text))) and "tests" in tap and "pass" in tap:
        # node --test's TAP summary (``# tests 3``, ``# pass 1``, ``# skipped 2`` …)
        counts["passed"] = int(tap["pass"])
        counts["failed"] = int(tap.get("fail", 0))
        counts["errors"] = int(tap.get("cancelled", 0))
        counts["skipped"] = int(tap.get("skipped", 0)) + int(tap.get("todo", 0))
    elif re.search(r"^--- (PASS|FAIL|SKIP):", text, re.M):
        counts["passed"] = len(re.findall(r"^\s*--- PASS:", text, re.M))
        counts["failed"] = len(re.findall(r"^\s*--- FAIL:", text, re.M))
        counts["skipped"] = len(re.findall(r"^\s*--- SKIP:", text, re.M))
    elif packages := _GO_OK.findall(text):
        counts["passed"] = len(packages)  # go test without -v: passing packages, not tests
    elif (mocha := _MOCHA.findall(text)) and any(kind == "passing" for _, kind in mocha):
        for number, kind in mocha:
            key = {"passing": "passed", "failing": "failed", "pending": "skipped"}[kind]
            counts[key] += int(number)
    else:
        return None
    counts["total"] = sum(counts[k] for k in ("passed", "failed", "errors", "skipped"))
    return counts


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """TERM to the run's group; after ``KILL_GRACE``, KILL to every process below ``proc``
    (under a watchdog, it then kills and reaps the rest of the tree — processes that left
    the group included — and exits), and last KILL to the group itself."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=KILL_GRACE)
        return
    for info in proctree.descendants(proc.pid) or ():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(info.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=2.0)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5.0)


def _redacted_tail(text: str) -> str:
    """The last ``TAIL_CHARS`` of ``text`` with its secrets redacted (the whole text is
    redacted first, so a secret cut in two by the tail's start is still found)."""
    from ai_orchestrator.infra.redact import redact

    return redact(text)[-TAIL_CHARS:]


def _redact_file(path: Path) -> None:
    """Redact secrets the tests printed (their output is written by the child directly)."""
    from ai_orchestrator.infra.fsutil import atomic_write
    from ai_orchestrator.infra.redact import redact_bytes

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    cleaned = redact_bytes(data)
    if cleaned != data:
        atomic_write(path, cleaned, mode=0o644)


def run_tests(
    command: str | list[str],
    *,
    cwd: Path,
    label: str,
    artifacts: Path,
    timeout: float | None,
    env: dict[str, str] | None = None,
) -> TestRun:
    """Run the tests once; log to ``artifacts/<label>.log`` (+ ``.xml`` for pytest).
    ``env``: variables added to aio's environment for this run (e.g. ``COVERAGE_FILE``)."""
    artifacts.mkdir(parents=True, exist_ok=True)
    log_path = artifacts / f"{label}.log"
    xml_path = artifacts / f"{label}.xml"
    xml_path.unlink(missing_ok=True)
    argv, shell, junit = build_command(command, xml_path)
    started = time.monotonic()
    timed_out = False
    with open(log_path, "wb") as log:
        log.write(f"$ {shlex.join(argv)}\n".encode())
        log.flush()
        try:
            proc, lifeline = spawn(
                argv,
                cwd=cwd,
                env={**aio_env.environ(), **env} if env else None,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                grace=KILL_GRACE,
            )
        except OSError as exc:
            log.write(f"cannot run the test command: {exc.strerror or exc}\n".encode())
            denied = exc.errno in (errno.EACCES, errno.EPERM)
            return TestRun(
                label,
                argv,
                shell,
                126 if denied else 127,
                log_path=str(log_path),
                tail=f"cannot run the test command {argv[0]!r}: {exc.strerror or exc}",
            )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # strays the watchdog did not reach
            if lifeline is not None:  # reaped (or given up on): nothing left to guard
                os.close(lifeline)
    duration_ms = int((time.monotonic() - started) * 1000)
    text = log_path.read_text(encoding="utf-8", errors="replace").partition("\n")[2]  # no "$ …"
    run = TestRun(
        label,
        argv,
        shell,
        proc.returncode,
        duration_ms=duration_ms,
        timed_out=timed_out,
        log_path=str(log_path),
        tail=text[-TAIL_CHARS:],
        pytest=junit
        or is_pytest(argv)
        or _PYTEST_OUTPUT.search(text) is not None
        or (shell and re.search(r"\bpy\.?test\b", argv[-1]) is not None),
        collection_errors=list(dict.fromkeys(_COLLECTING.findall(text))),
    )
    parsed = parse_junit(xml_path) if junit else None
    counts: dict[str, int] | None = None
    if parsed is not None:
        counts, run.cases = parsed
        run.source, run.xml_path = "junit", str(xml_path)
    else:
        counts = parse_summary(text)
        if counts is not None:
            run.source = "summary"
    if counts is not None:
        for key in ("passed", "failed", "errors", "skipped", "total"):
            setattr(run, key, counts[key])
    # Judged first, then redacted (the files on disk and the tail shown and kept in the
    # history): a rule must never change what the evidence (test ids, counts) is read from.
    _redact_file(log_path)
    _redact_file(xml_path)
    run.tail = _redacted_tail(text)
    return run

"""Can the project's test command run? The dry run behind ``aio init`` and ``aio doctor``.

``check_test_command(command, root)`` never raises for a bad command; it answers a
``CommandCheck`` whose ``status`` is:

- ``ok`` — the runner started and its dry run worked: pytest ``--collect-only -q`` (with
  the number of tests collected; none yet is fine for a new project), ``go test -run '^$'``
  (compiles, runs nothing), ``cargo test --no-run``.
- ``failed`` — the program is not found or not executable, ``python -m X`` has no module X
  (``cannot_start``, also asked by ``aio implement`` before any agent call), or the dry run
  failed; ``detail`` is the cause in one line (the ``workflow.project.evidence``
  wording for a runner that did not start, the first collection error, …).
- ``unchecked`` — no dry run is known for this runner (``npm test``, ``make test``,
  ``python -m unittest``, a shell command …): the program was found, nothing more is said.

The dry run is run like a test run (``testrun.run_tests``: no shell unless the command needs
one, its own process group, killed at ``timeout``), with its log in a temporary directory.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ai_orchestrator.workflow.testing.evidence import FIX
from ai_orchestrator.workflow.testing.testrun import build_command, is_pytest, run_tests

Status = Literal["ok", "failed", "unchecked"]
CHECK_TIMEOUT = 60.0
_COLLECTED = re.compile(r"\b(\d+) tests? collected\b")
_COLLECTED_PER_FILE = re.compile(r"^\S+: (\d+)$", re.M)  # pytest -qq --collect-only
_FIND_SPEC = (
    "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 3)"
)


@dataclass(frozen=True)
class CommandCheck:
    command: str | list[str] | None
    status: Status
    detail: str
    source: str = "config"  # config | detected | none: where the command came from

    def to_dict(self) -> dict[str, object]:
        return {
            "command": self.command,
            "source": self.source,
            "status": self.status,
            "detail": self.detail,
        }

    def line(self) -> str:
        """One line for humans: the command, where it came from and the answer."""
        if self.command is None:
            return f"Test command: none ({self.detail})"
        shown = self.command if isinstance(self.command, str) else shlex.join(self.command)
        verdict = {"ok": "runs", "failed": "CANNOT RUN", "unchecked": "not checked"}
        text = f"Test command: {shown} ({self.source}) — {verdict[self.status]}: {self.detail}"
        return text + (f"; {FIX}" if self.status == "failed" else "")


def _dry_run_argv(argv: list[str]) -> list[str] | None:
    """The command with its runner's "collect, don't run" flags, or None when none is known."""
    if is_pytest(argv):
        quiet = any(a == "--quiet" or re.fullmatch(r"-q+", a) for a in argv)
        return [*argv, "--collect-only", *([] if quiet else ["-q"])]
    name = os.path.basename(argv[0])
    if name == "go" and argv[1:2] == ["test"]:
        return [*argv, "-run", "^$"]
    if name == "cargo" and argv[1:2] == ["test"]:
        return [*argv, "--no-run"]
    return None


def _program_found(program: str, root: Path) -> bool:
    if os.sep in program:
        path = Path(program) if os.path.isabs(program) else root / program
        return path.is_file() and os.access(path, os.X_OK)
    return shutil.which(program) is not None


def _python_module(argv: list[str]) -> tuple[list[str], str] | None:
    """``(interpreter with its options, X)`` for ``python… [options] -m X …``, else None."""
    if not re.fullmatch(r"python[\d.]*", os.path.basename(argv[0])):
        return None
    for index, (flag, value) in enumerate(itertools.pairwise(argv)):
        if flag == "-m":
            return argv[:index], value
    return None


def cannot_start(command: str | list[str], root: Path) -> str | None:
    """Why ``command`` cannot even start (program not found, ``python -m X`` without X), or
    None. Cheap (no test is collected): ``aio implement`` asks it before any agent call."""
    argv, shell, _ = build_command(command, None)
    if shell or not argv:
        return None
    if not _program_found(argv[0], root):
        return f"{argv[0]}: command not found"
    found = _python_module(argv)
    if found is None:
        return None
    interpreter, module = found
    if has_module(interpreter, module, root) is False:
        return f"{argv[0]} has no module {module!r} (not installed for this interpreter)"
    return None


def has_module(interpreter: list[str], module: str, root: Path) -> bool | None:
    """Whether ``interpreter`` (argv, e.g. ``["python3"]``) can import ``module``; None when
    the question could not be asked (the interpreter did not run)."""
    try:
        proc = subprocess.run(
            [*interpreter, "-c", _FIND_SPEC, module],
            cwd=root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=CHECK_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # not known to be broken: the test run will tell
    return {0: True, 3: False}.get(proc.returncode)


def check_test_command(
    command: str | list[str], root: Path, *, timeout: float = CHECK_TIMEOUT
) -> CommandCheck:
    """Whether ``command`` can run in ``root`` (see the module docstring)."""
    argv, shell, _ = build_command(command, None)
    if shell:
        return CommandCheck(command, "unchecked", "runs through /bin/sh; aio cannot dry-run it")
    if not argv:
        return CommandCheck(command, "failed", "the test command is empty")
    problem = cannot_start(command, root)
    if problem:
        return CommandCheck(command, "failed", problem)
    dry = _dry_run_argv(argv)
    if dry is None:
        found = _python_module(argv)
        what = f"{argv[0]} has module {found[1]!r}" if found else f"{argv[0]} found"
        return CommandCheck(command, "unchecked", f"{what}; no dry run is known for this runner")
    with tempfile.TemporaryDirectory(prefix="aio-check-") as tmp:
        run = run_tests(dry, cwd=root, label="check", artifacts=Path(tmp), timeout=timeout)
        text = Path(tmp, "check.log").read_text(encoding="utf-8", errors="replace")
    if run.timed_out:
        return CommandCheck(command, "failed", f"the dry run did not finish in {timeout:g}s")
    evidence = run.evidence()
    if evidence.cause in ("not_started", "crashed", "collection_error"):
        return CommandCheck(command, "failed", evidence.detail)
    if run.pytest:
        if run.collection_errors:
            return CommandCheck(
                command,
                "failed",
                f"pytest cannot collect {', '.join(run.collection_errors[:3])}",
            )
        collected = _COLLECTED.search(text)
        count = int(collected.group(1)) if collected else None
        if count is None and (per_file := _COLLECTED_PER_FILE.findall(text)):
            count = sum(int(n) for n in per_file)
        if run.exit_code == 0 and count:
            return CommandCheck(command, "ok", f"pytest collects {count} test(s)")
        if run.exit_code in (0, 5):
            return CommandCheck(command, "ok", "pytest runs; it collects no tests yet")
    elif run.exit_code == 0:
        return CommandCheck(command, "ok", f"dry run passed: {' '.join(dry[len(argv) :])}")
    return CommandCheck(
        command, "failed", f"the dry run failed: {run.summary()} (exit code {run.exit_code})"
    )

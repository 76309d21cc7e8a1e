"""``aio verify --discover-only``: the tests a verify run would run, without running them.

- **pytest**: the selected argv (``testselect.plan_selection`` without parallel/coverage)
  with ``--collect-only -q``, run like a test run (own process group, timeout, log in a
  temporary directory); ``items`` are pytest's test ids (``granularity = "test"``). A run
  that could not collect (``workflow.project.evidence``: runner not started, collection
  errors, …) is reported in ``problem`` — never as "no tests".
- **any other runner**: test *files* by name (``granularity = "file"``) — Go ``*_test.go``,
  Python ``test_*.py``/``*_test.py``, JS/TS ``*.test.*``/``*.spec.*``, Ruby
  ``*_spec.rb``/``*_test.rb``, Rust ``tests/*.rs`` — under the kind's paths when a kind is
  given (``[tests.<kind>] paths``, else ``tests|test|spec/<kind>``), skipping dependency and
  build directories; ``--filter``/``--exclude`` are regular expressions searched in the path.

No agent is called and nothing is recorded in the feature's history.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.workflow.testing.testselect import (
    Selection,
    TestsConfig,
    argv_of,
    plan_selection,
    runner_of,
)

SKIP_DIRS = frozenset(
    {".git", ".aio", ".venv", "venv", "node_modules", "target", "vendor", "__pycache__"}
    | {".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist"}
)
FILE_PATTERNS = re.compile(
    r"(?:^|/)(?:[^/]+_test\.go|test_[^/]+\.py|[^/]+_test\.py|[^/]+\.(?:test|spec)\.[cm]?[jt]sx?"
    r"|[^/]+_spec\.rb|[^/]+_test\.rb|tests/[^/]+\.rs)$"
)
_TEST_ID = re.compile(r"^(\S+\.py::\S.*)$", re.M)


@dataclass
class Discovery:
    granularity: str  # test | file
    items: list[str] = field(default_factory=list)
    command: list[str] | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "granularity": self.granularity,
            "tests": self.items,
            "total": len(self.items),
            "command": self.command,
            "problem": self.problem,
        }


def discover(
    command: str | list[str], config: TestsConfig, selection: Selection, root: Path, timeout: float
) -> Discovery:
    argv = argv_of(command)
    if argv and runner_of(argv, root) == "pytest":
        return _pytest(command, config, selection, root, timeout)
    return _by_name(config, selection, root)


def _pytest(
    command: str | list[str], config: TestsConfig, selection: Selection, root: Path, timeout: float
) -> Discovery:
    from ai_orchestrator.workflow.testing.testrun import run_tests

    listing = replace(selection, parallel=False, coverage=False)
    planned = plan_selection(command, config, listing, root, lambda *_: False, root)
    argv = argv_of(planned.command) or []
    argv += ["--collect-only", "--verbosity=-1"]  # absolute: one id per line
    with tempfile.TemporaryDirectory(prefix="aio-discover-") as tmp:
        run = run_tests(argv, cwd=root, label="discover", artifacts=Path(tmp), timeout=timeout)
        text = Path(run.log_path or "").read_text("utf-8", "replace") if run.log_path else ""
    found = Discovery("test", _TEST_ID.findall(text), argv)
    evidence = run.evidence()
    if run.exit_code not in (0, 5) or (not found.items and evidence.cause != "no_tests"):
        found.problem = evidence.detail or f"pytest --collect-only exited {run.exit_code}"
    return found


def _by_name(config: TestsConfig, selection: Selection, root: Path) -> Discovery:
    bases: list[Path] = [root]
    if selection.kind:
        kind = config.kinds.get(selection.kind)
        if kind is not None and kind.paths:
            bases = [root / p for p in kind.paths]
        else:
            bases = [root / b / selection.kind for b in ("tests", "test", "spec")]
            bases = [b for b in bases if b.is_dir()]
            if not bases:
                raise InvalidInput(
                    f"--{selection.kind}: no tests/{selection.kind} directory; set "
                    f"[tests.{selection.kind}] paths in .aio/config.toml"
                )
    try:
        wanted = re.compile(selection.filter) if selection.filter else None
        unwanted = re.compile(selection.exclude) if selection.exclude else None
    except re.error as exc:
        raise InvalidInput(f"--filter/--exclude: not a regular expression: {exc}") from None
    items: set[str] = set()
    for base in bases:
        for directory, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            for name in files:
                rel = Path(directory, name).relative_to(root).as_posix()
                if not FILE_PATTERNS.search(rel):
                    continue
                if (wanted and not wanted.search(rel)) or (unwanted and unwanted.search(rel)):
                    continue
                items.add(rel)
    return Discovery("file", sorted(items))

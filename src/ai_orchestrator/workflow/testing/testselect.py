"""Test selection for ``aio verify``: kinds, filters, parallel runs and coverage → one argv.

``[tests]`` in ``.aio/config.toml`` (every key optional; ``TestsConfig``)::

    [tests.unit]            # also [tests.integration], [tests.acceptance]
    paths = ["tests/unit"]  # handed to the runner as positional arguments
    marker = "unit"         # pytest: -m MARKER
    args = ["-short"]       # any runner: appended as they are
    [tests]
    filter_args = ["-k", "{pattern}"]     # how --filter / --exclude reach the runner
    exclude_args = ["-k", "not {pattern}"]
    parallel_args = ["-n", "auto"]        # how --parallel does
    coverage_command = "go test -cover ./..."   # --coverage with the project's own tool
    coverage_regex = 'total:\\s+\\(statements\\)\\s+([\\d.]+)%'  # the figure in its output

``plan_selection(command, config, selection, root, python_has)`` answers a ``PlannedRun``:
the command to run, environment additions, notes for the user (e.g. "pytest-xdist is not
installed: the tests ran one at a time") and how the coverage figure is read.

Defaults per runner (``runner_of``):

- **pytest**: kind → its ``paths`` when configured, else ``tests/<kind>`` when that directory
  exists, else ``-m <kind>`` (the marker convention); ``--filter P`` / ``--exclude E`` →
  ``-k "(P) and not (E)"``; ``--parallel`` → ``-n auto`` when pytest-xdist is importable by
  the project's interpreter, else a note and a serial run; ``--coverage`` → ``python -m
  coverage run -m pytest …`` (``COVERAGE_FILE`` in the verify artifacts) when coverage.py is
  importable, else ``NotFound`` naming the interpreter — with ``--parallel`` coverage wins and
  the run is serial (coverage.py measures one process).
- **go**: unit → ``-short``, integration/acceptance → ``-tags <kind>``; ``-run P``, ``-skip E``.
- **cargo**: unit → ``--lib``, integration → ``--test '*'``; ``cargo test P -- --skip E``.
- **npm** (the ``test`` script of ``package.json``): after ``--``: kind paths; jest/vitest
  ``-t``, ``node --test`` ``--test-name-pattern`` (one regular expression, the exclusion
  as a negative look-ahead: ``--test-skip-pattern`` needs Node 22), mocha ``--grep`` (no
  exclusion).
- **rspec**: kind paths (``spec/<kind>``), ``-e P``.
- anything else: only what ``[tests]`` configures; an option with no known translation is
  refused (``InvalidInput``, exit 2) naming the key to set — never silently ignored. A
  shell ``test_command`` (a string with shell syntax) cannot be extended: refused likewise.

Invariants: the selection never changes ``test_command`` itself, only this run's argv; an
option that cannot be honoured is refused before anything runs, except ``--parallel``, which
degrades to a serial run with a note saying so.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_orchestrator.core.errors import InvalidInput, NotFound

KINDS = ("unit", "integration", "acceptance")
SHELL_CHARS = set("|&;<>$`*?(){}~\n")
COVERAGE_PATTERNS = (
    r"^TOTAL\s.*?([\d.]+)%\s*$",  # coverage.py / pytest-cov report
    r"total:\s+\(statements\)\s+([\d.]+)%",  # go tool cover -func
    r"^All files\s*\|\s*([\d.]+)",  # istanbul (jest/nyc) text report
    r"([\d.]+)% coverage,",  # cargo tarpaulin
    r"coverage: ([\d.]+)% of statements",  # go test -cover (one package)
)


@dataclass
class KindConfig:
    paths: list[str] | None = None
    marker: str | None = None
    args: list[str] | None = None


@dataclass
class TestsConfig:
    """The ``[tests]`` table (see the module docstring)."""

    kinds: dict[str, KindConfig] = field(default_factory=dict)
    filter_args: list[str] | None = None
    exclude_args: list[str] | None = None
    parallel_args: list[str] | None = None
    coverage_command: str | list[str] | None = None
    coverage_regex: str | None = None

    __test__ = False


@dataclass(frozen=True)
class Selection:
    """What the user asked ``aio verify`` for (all optional)."""

    kind: str | None = None
    filter: str | None = None
    exclude: str | None = None
    parallel: bool = False
    coverage: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v not in (None, False)}

    def flags(self) -> list[str]:
        """The options that narrow the run, as typed: ``--unit``, ``--filter P`` …"""
        named = [f"--{self.kind}"] if self.kind else []
        named += [f"--filter {self.filter}"] if self.filter else []
        return named + ([f"--exclude {self.exclude}"] if self.exclude else [])


@dataclass
class PlannedRun:
    command: str | list[str]
    env: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    coverage_tool: str | None = None  # "coverage.py" | "configured"
    coverage_regex: str | None = None
    python: str | None = None  # the interpreter that runs coverage.py


def type_error(key: str, expected: str, value: object) -> InvalidInput:
    """The one-line refusal of a config value of the wrong type (exit 2), naming the key."""
    return InvalidInput(f".aio/config.toml: {key} must be {expected}, got {value!r}")


def command_value(value: object, key: str) -> str | list[str] | None:
    """A command key (``test_command``, ``tests.coverage_command``): a string (blank =
    unset) or a non-empty list of strings (an argv)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list) and value and all(isinstance(c, str) for c in value):
        return list(value)
    raise type_error(key, "a string or a non-empty list of strings", value)


def str_list(raw: dict[str, Any], key: str, prefix: str) -> list[str] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise type_error(prefix + key, "a list of strings", value)
    return list(value)


def parse_tests_config(raw: object) -> TestsConfig:
    """``[tests]`` → ``TestsConfig``; ``InvalidInput`` naming the key for a wrong value."""
    if raw is None:
        return TestsConfig()
    if not isinstance(raw, dict):
        raise type_error("tests", "a table", raw)
    config = TestsConfig()
    known = {*KINDS, "filter_args", "exclude_args", "parallel_args"}
    known |= {"coverage_command", "coverage_regex"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidInput(f".aio/config.toml: unknown key tests.{unknown[0]}")
    for kind in KINDS:
        table = raw.get(kind)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise type_error(f"tests.{kind}", "a table", table)
        marker = table.get("marker")
        if marker is not None and (not isinstance(marker, str) or not marker.strip()):
            raise type_error(f"tests.{kind}.marker", "a non-empty string", marker)
        config.kinds[kind] = KindConfig(
            paths=str_list(table, "paths", f"tests.{kind}."),
            marker=marker,
            args=str_list(table, "args", f"tests.{kind}."),
        )
    for key in ("filter_args", "exclude_args", "parallel_args"):
        setattr(config, key, str_list(raw, key, "tests."))
    config.coverage_command = command_value(raw.get("coverage_command"), "tests.coverage_command")
    regex = raw.get("coverage_regex")
    if regex is not None:
        if not isinstance(regex, str):
            raise type_error("tests.coverage_regex", "a string", regex)
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise InvalidInput(f".aio/config.toml: tests.coverage_regex: {exc}") from None
        if compiled.groups < 1:
            raise InvalidInput(".aio/config.toml: tests.coverage_regex needs one (group)")
        config.coverage_regex = regex
    return config


# -- which runner ------------------------------------------------------------------------


def argv_of(command: str | list[str]) -> list[str] | None:
    """The argv of ``command``, or None for a shell command (it cannot be extended)."""
    if isinstance(command, list):
        return list(command)
    if SHELL_CHARS & set(command):
        return None
    return shlex.split(command)


def runner_of(argv: list[str], root: Path) -> str:
    """``pytest | go | cargo | npm | rspec | other`` for the argv of a test command."""
    from ai_orchestrator.workflow.testing.testrun import is_pytest

    if is_pytest(argv):
        return "pytest"
    program = os.path.basename(argv[0]) if argv else ""
    rest = argv[1:]
    if program == "go" and rest[:1] == ["test"]:
        return "go"
    if program == "cargo" and rest[:1] == ["test"]:
        return "cargo"
    if program in ("npm", "pnpm", "yarn") and rest[:1] in (["test"], ["t"]):
        return "npm"
    if "rspec" in (program, *rest[:2]):
        return "rspec"
    return "other"


def npm_flavour(root: Path) -> str:
    """The runner of ``package.json``'s test script: jest | node | mocha | other."""
    try:
        data = json.loads((root / "package.json").read_text(encoding="utf-8"))
        script = str(data["scripts"]["test"])
    except (OSError, ValueError, KeyError, TypeError):
        return "other"
    for name in ("jest", "vitest", "mocha"):
        if re.search(rf"\b{name}\b", script):
            return "jest" if name == "vitest" else name
    return "node" if re.search(r"\bnode\b.*--test\b", script) else "other"


def _module_flag(argv: list[str], module: str) -> int | None:
    """The index of ``-m`` in ``… -m MODULE …``, or None."""
    pairs = itertools.pairwise(argv)
    return next((i for i, (a, b) in enumerate(pairs) if a == "-m" and b == module), None)


def python_of(argv: list[str]) -> str | None:
    """The interpreter that runs pytest for ``argv``: ``python -m pytest`` → that python;
    a ``pytest`` executable → its shebang's interpreter (or a sibling ``python``)."""
    import shutil

    program = argv[0]
    if _module_flag(argv, "pytest") is not None:
        return shutil.which(program) or program
    found = shutil.which(program)
    if not found:
        return None
    try:
        with open(found, "rb") as handle:
            first = handle.readline(512).decode("utf-8", "replace")
    except OSError:
        return None
    if first.startswith("#!"):
        parts = first[2:].split()
        if parts and os.path.basename(parts[0]) != "env":
            return parts[0]
        if len(parts) > 1:
            return shutil.which(parts[1])
    sibling = Path(found).parent / "python"
    return str(sibling) if sibling.exists() else None


# -- building the argv -------------------------------------------------------------------


def _fill(template: list[str], pattern: str) -> list[str]:
    return [part.replace("{pattern}", pattern) for part in template]


def _refuse(option: str, runner: str, key: str) -> InvalidInput:
    return InvalidInput(
        f"{option}: aio does not know how to pass it to this test runner ({runner}); "
        f"set {key} in .aio/config.toml"
    )


def _kind_args(runner: str, kind: str, conf: KindConfig | None, root: Path) -> list[str]:
    if conf is not None and (conf.paths or conf.marker or conf.args):
        args = list(conf.paths or [])
        if conf.marker:
            if runner != "pytest":
                raise InvalidInput(
                    f".aio/config.toml: tests.{kind}.marker is for pytest; use tests.{kind}.args"
                )
            args += ["-m", conf.marker]
        return args + list(conf.args or [])
    if runner == "pytest":
        return [f"tests/{kind}"] if (root / "tests" / kind).is_dir() else ["-m", kind]
    if runner == "go":
        return ["-short"] if kind == "unit" else ["-tags", kind]
    if runner == "cargo" and kind in ("unit", "integration"):
        return ["--lib"] if kind == "unit" else ["--test", "*"]
    for base in ("tests", "test", "spec"):
        if runner in ("npm", "rspec") and (root / base / kind).is_dir():
            return [f"{base}/{kind}"]
    raise _refuse(f"--{kind}", runner, f"[tests.{kind}] paths or args")


def _name_args(
    runner: str, flavour: str, selection: Selection, config: TestsConfig
) -> tuple[list[str], list[str], list[str]]:
    """--filter / --exclude as (cargo's name filter, runner options, cargo's ``--`` options)."""
    pattern, exclude = selection.filter, selection.exclude
    configured = (pattern and config.filter_args) or (exclude and config.exclude_args)
    if configured or runner == "other":
        args: list[str] = []
        for option, value, template, key in (
            ("--filter", pattern, config.filter_args, "tests.filter_args"),
            ("--exclude", exclude, config.exclude_args, "tests.exclude_args"),
        ):
            if value:
                if template is None:
                    raise _refuse(option, runner, key)
                args += _fill(template, value)
        return [], args, []
    if runner == "pytest":
        parts = ([f"({pattern})"] if pattern else []) + ([f"not ({exclude})"] if exclude else [])
        return [], ["-k", " and ".join(parts)], []
    if runner == "go":
        return (
            [],
            (["-run", pattern] if pattern else []) + (["-skip", exclude] if exclude else []),
            [],
        )
    if runner == "cargo":
        return ([pattern] if pattern else []), [], (["--skip", exclude] if exclude else [])
    if flavour in ("jest", "node"):  # one JS regular expression: the exclusion a look-ahead
        guard = f"(?!.*(?:{exclude}))" if exclude else ""
        regex = f"^{guard}.*{pattern or ''}"
        return [], (["-t", regex] if flavour == "jest" else [f"--test-name-pattern={regex}"]), []
    if flavour in ("mocha", "rspec") and not exclude:
        return [], ["--grep" if flavour == "mocha" else "-e", pattern or ""], []
    option, key = ("--exclude", "exclude_args") if exclude else ("--filter", "filter_args")
    raise _refuse(option, f"{runner} {flavour}".strip(), f"tests.{key}")


def plan_selection(
    command: str | list[str],
    config: TestsConfig,
    selection: Selection,
    root: Path,
    python_has: Callable[[str, str], bool],
    coverage_file: Path,
) -> PlannedRun:
    """The run ``selection`` asks for (see the module docstring); ``python_has(python,
    module)`` says whether an interpreter can import a module (asked for xdist, coverage)."""
    wants_args = selection.kind or selection.filter or selection.exclude or selection.parallel
    plain = not wants_args and not selection.coverage
    if plain:
        return PlannedRun(command)
    argv = argv_of(command)
    if argv is None or not argv:
        if selection.coverage and config.coverage_command and not wants_args:
            return _configured_coverage(config, PlannedRun(command))
        raise InvalidInput(
            "test selection options need a test_command aio can extend: a list, or a string "
            "without shell syntax (| & ; < > $ ` * ? ( ) { } ~)"
        )
    runner = runner_of(argv, root)
    flavour = npm_flavour(root) if runner == "npm" else ("rspec" if runner == "rspec" else "")
    planned = PlannedRun(command)
    head: list[str] = []
    tail: list[str] = []
    after: list[str] = []
    if selection.kind:
        tail += _kind_args(runner, selection.kind, config.kinds.get(selection.kind), root)
    if selection.filter or selection.exclude:
        name_head, names, name_after = _name_args(runner, flavour, selection, config)
        head += name_head
        tail += names
        after += name_after
    python = python_of(argv) if runner == "pytest" else None
    parallel = selection.parallel
    if parallel and selection.coverage and runner == "pytest" and config.parallel_args is None:
        planned.notes.append("--parallel ignored: coverage.py measures one process (serial run)")
        parallel = False
    if parallel:
        tail += _parallel_args(runner, flavour, config, python, python_has, planned.notes)
    new = _assemble(runner, argv, head, tail, after)
    if selection.coverage:
        if config.coverage_command is not None:
            if wants_args:
                raise InvalidInput(
                    "--coverage with tests.coverage_command runs that command as it is: "
                    "it cannot be combined with --unit/--filter/--parallel…"
                )
            return _configured_coverage(config, planned)
        if runner != "pytest":
            raise InvalidInput(
                f"--coverage: aio measures Python projects with coverage.py; for this runner "
                f"({runner}) set tests.coverage_command (and tests.coverage_regex) in "
                ".aio/config.toml"
            )
        if not python or not python_has(python, "coverage"):
            raise NotFound(
                f"--coverage: coverage.py is not installed for {python or argv[0]} "
                "(install it in the project's environment: pip install coverage)"
            )
        at = _module_flag(new, "pytest")
        rest = new[at + 2 :] if at is not None else new[1:]
        new = [python, "-m", "coverage", "run", "-m", "pytest", *rest]
        planned.env["COVERAGE_FILE"] = str(coverage_file)
        planned.coverage_tool, planned.python = "coverage.py", python
    planned.command = new
    return planned


def _parallel_args(
    runner: str,
    flavour: str,
    config: TestsConfig,
    python: str | None,
    python_has: Callable[[str, str], bool],
    notes: list[str],
) -> list[str]:
    """The options for ``--parallel``; a note instead when the runner cannot take any."""
    if config.parallel_args is not None:
        return list(config.parallel_args)
    if runner == "pytest":
        if python and python_has(python, "xdist"):
            return ["-n", "auto"]
        notes.append(
            f"--parallel: pytest-xdist is not installed for {python or 'pytest'}; "
            "the tests ran one at a time"
        )
    elif runner in ("go", "cargo") or flavour in ("jest", "node"):
        notes.append(f"--parallel: {runner} runs tests in parallel already")
    else:
        notes.append(
            "--parallel: no parallel option known for this runner; the tests ran as usual "
            "(set tests.parallel_args in .aio/config.toml)"
        )
    return []


def _assemble(
    runner: str, argv: list[str], head: list[str], tail: list[str], after: list[str]
) -> list[str]:
    if runner == "cargo":
        cut = argv.index("--") if "--" in argv else len(argv)
        rest = [*argv[cut + 1 :], *after]
        return [*argv[:cut], *head, *tail, *(["--", *rest] if rest else [])]
    if runner == "npm" and tail:
        return [*argv, *([] if "--" in argv else ["--"]), *tail]
    return [*argv, *head, *tail]


def _configured_coverage(config: TestsConfig, planned: PlannedRun) -> PlannedRun:
    assert config.coverage_command is not None
    planned.command = config.coverage_command
    planned.coverage_tool = "configured"
    planned.coverage_regex = config.coverage_regex
    return planned


def coverage_from_output(text: str, regex: str | None) -> float | None:
    """The coverage figure in a tool's output: ``regex`` (its group 1), else the last match
    of the first of ``COVERAGE_PATTERNS`` that matches."""
    for pattern in [regex] if regex else COVERAGE_PATTERNS:
        found = re.findall(pattern, text, re.M)
        if found:
            value = found[-1] if isinstance(found[-1], str) else found[-1][0]
            try:
                return float(value)
            except ValueError:
                return None
    return None

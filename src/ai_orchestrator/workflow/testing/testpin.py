"""Tests pinned at red: which tests proved red, and everything that decides their outcome.

Green is only worth something if it is green *on the tests that were proven red*. An agent
asked to make them pass can instead weaken them: rewrite the assertion to ``assert True``,
catch its own ``AssertionError``, add ``@pytest.mark.skip``/``xfail``, delete or rename the
test, deselect it through configuration (``addopts = --deselect …``, ``-k``, ``-p no:…``,
``collect_ignore``), or change a ``conftest.py`` that alters outcomes
(``pytest_runtest_makereport``, ``pytest_collection_modifyitems``, ``pytest.exit(0)``, a
monkeypatched helper). So when red is confirmed, ``make_pin`` records a ``Pin``:

- **the pinned tests** (``PinnedTest``): every failing test of the task's files at red, by
  its JUnit id; a test file whose *collection* failed at red (the usual ATDD red: the code
  does not exist yet) pins every test function its source defines (found with ``ast``:
  ``test*`` functions, ``test*`` methods of ``Test*`` classes), by name — so renaming one is
  a missing pinned test, not a new passing one;
- **fingerprints** of every file that decides what those tests check and whether they run:
  the task's test files; every ``conftest.py`` from the project root down to each test
  file's directory, and the ``__init__.py`` of those directories (run on import); the
  pytest configuration in those directories (``pytest.ini``, ``.pytest.ini``, the
  ``[tool.pytest…]`` tables of ``pyproject.toml``, ``[pytest]`` of ``tox.ini``,
  ``[tool:pytest]`` of ``setup.cfg`` — only those sections: a new dependency in
  ``pyproject.toml`` is not a test change); the project's own test helper modules the test
  files and conftests import (test-looking files, recursively) and the plugins a conftest
  names in ``pytest_plugins``; and ``pytest.py``/``pytest/``/``_pytest/`` at the root,
  which would shadow the runner under ``python -m pytest``. A file that did not exist at
  red is pinned as absent: a new ``conftest.py`` or ``pytest.ini`` is a change too.

**Why whole files, normalised, and not just each test function's source.** What a test
checks depends on more than its own body: the helpers it calls, its fixtures, the module's
imports (``from calc import add`` versus a local ``def add``), module-level marks
(``pytestmark = pytest.mark.skip``), code run at import. A function-only fingerprint misses
all of them; a file fingerprint catches them. Python files are fingerprinted as their
syntax tree (``ast.dump`` without positions), so a formatter run or an edited comment is
not a change, while every edit that can change behaviour is. Other files (and Python that
does not parse) are fingerprinted by their bytes with line endings normalised. Each pinned
test also keeps the fingerprint of its own function, only to say precisely *what* changed:
"pinned test X was edited" versus "its file changed outside it".

``changes(root, pin)`` lists what differs now; ``outcomes(run, pin)`` how each pinned test
fared in a run, from the runner's own per-test results (JUnit XML), never from the exit
status: a pinned test absent from the results did not run (removed, renamed, deselected, or
the run stopped before it: ``pytest.exit`` in a conftest), one reported ``skipped`` or
``xfailed`` did not pass. ``repin`` takes the current content as the new pin — only for an
explicit ``--accept-test-changes``, which the caller records.
"""

from __future__ import annotations

import ast
import configparser
import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ai_orchestrator.workflow.testing.evidence import (
    TestCase,
    TestRun,
    case_file,
    is_file_level,
    module_names,
)

ABSENT = "absent"
TEST_DIRS = frozenset({"tests", "test", "__tests__", "spec", "specs", "testing"})
_TEST_NAME = re.compile(
    r"^(test_.*\.py|.*_tests?\.py|tests?\.py|conftest\.py|.*_test\.go|.*_spec\.rb"
    r"|.*\.(test|spec)\.[cm]?[jt]sx?|.*Tests?\.(java|kt|cs)|.*_test\.(exs?|dart|cc|cpp|c))$"
)
INI_FILES = ("pytest.ini", ".pytest.ini")
SECTIONS = (("pyproject.toml", "tool.pytest"), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))
SHADOWS = ("pytest.py", "pytest/__init__.py", "_pytest/__init__.py")
MAX_HELPERS = 200  # a bound on the import walk of test helper modules


@dataclass
class PinnedTest:
    """One test proven red. ``exact``: ``id`` is a JUnit case id; otherwise every case of
    ``function`` in ``file`` counts (a file that could not be collected at red)."""

    id: str
    file: str
    function: str  # "test_add", "TestAdd::test_add"; "" when the source gave no names
    exact: bool = True
    fingerprint: str = ""  # the function's own syntax tree ("" when unknown)

    @property
    def name(self) -> str:
        """``tests/test_add.py::test_add[1-2]``: what messages call it."""
        if not self.function:
            return f"the tests of {self.file}"
        suffix = self.id[self.id.index("[") :] if self.exact and "[" in self.id else ""
        return f"{self.file}::{self.function}{suffix}"


@dataclass
class Pin:
    tests: list[PinnedTest] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # key (path or path#section) -> fp
    accepted: list[dict[str, Any]] = field(default_factory=list)  # --accept-test-changes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def names(self) -> str:
        return _name_list(self.tests, 5)

    @classmethod
    def from_dict(cls, data: Any) -> Pin | None:
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            return None
        tests = [
            PinnedTest(
                str(t.get("id", "")),
                str(t.get("file", "")),
                str(t.get("function", "")),
                bool(t.get("exact", True)),
                str(t.get("fingerprint", "")),
            )
            for t in data.get("tests") or []
            if isinstance(t, dict)
        ]
        files = {str(k): str(v) for k, v in data["files"].items()}
        accepted = [a for a in data.get("accepted") or [] if isinstance(a, dict)]
        return cls(tests, files, accepted)


@dataclass(frozen=True)
class Change:
    key: str  # a pinned file (or file#section)
    what: str  # one phrase naming the pinned test it affects

    def __str__(self) -> str:
        return self.what


def is_test_file(rel: str) -> bool:
    """Whether ``rel`` looks like a test (or test support) file by its name or directory."""
    path = PurePosixPath(rel)
    return bool(_TEST_NAME.match(path.name)) or any(p in TEST_DIRS for p in path.parts[:-1])


# -- fingerprints ----------------------------------------------------------------------------


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tree(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def file_fingerprint(path: Path) -> str:
    """The syntax tree of a Python file, else its bytes (see the module docstring)."""
    data = _read(path)
    if data is None:
        return ABSENT
    if path.suffix == ".py":
        tree = _tree(data.decode("utf-8", "replace"))
        if tree is not None:
            return _digest(ast.dump(tree, include_attributes=False).encode())
    return _digest(data.replace(b"\r\n", b"\n"))


def _section(path: Path, section: str) -> str:
    """The fingerprint of pytest's section of an ini/toml file (``absent`` when none)."""
    data = _read(path)
    if data is None:
        return ABSENT
    text = data.decode("utf-8", "replace")
    value: Any
    if path.suffix == ".toml":
        try:
            value = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return _digest(data)  # pytest cannot read it either: any edit counts
        for part in section.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    else:
        parser = configparser.RawConfigParser()
        try:
            parser.read_string(text)
        except configparser.Error:
            return _digest(data)
        value = dict(parser.items(section)) if parser.has_section(section) else None
    if value is None:
        return ABSENT
    return _digest(json.dumps(value, sort_keys=True, default=str).encode())


def key_fingerprint(root: Path, key: str) -> str:
    rel, _, section = key.partition("#")
    return _section(root / rel, section) if section else file_fingerprint(root / rel)


def defined_tests(path: Path) -> dict[str, str]:
    """``{qualname: fingerprint}`` of the test functions pytest would collect by default."""
    data = _read(path)
    tree = _tree(data.decode("utf-8", "replace")) if data is not None else None
    if tree is None:
        return {}
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            found[node.name] = _node_fingerprint(node)
        elif isinstance(node, ast.ClassDef) and _collected_class(node):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and (
                    item.name.startswith("test")
                ):
                    found[f"{node.name}::{item.name}"] = _node_fingerprint(item)
    return found


def _collected_class(node: ast.ClassDef) -> bool:
    """A class pytest collects by default: ``Test*``, or a ``unittest.TestCase``."""
    bases = [ast.unparse(b) for b in node.bases]
    return node.name.startswith("Test") or any(b.endswith("TestCase") for b in bases)


def _node_fingerprint(node: ast.AST) -> str:
    return _digest(ast.dump(node, include_attributes=False).encode())


# -- what is pinned ----------------------------------------------------------------------------


def case_function(case: TestCase, rel: str) -> str:
    """The qualname (``TestAdd::test_add``) of the function ``case`` ran in file ``rel``."""
    base = case.name.split("[", 1)[0]
    for module in module_names(rel):
        if case.classname == module:
            return base
        if case.classname.startswith(module + "."):
            classes = case.classname[len(module) + 1 :].split(".")
            return "::".join([*classes, base])
    return base


def _dirs_on_path(root: Path, files: list[str]) -> list[str]:
    """Every directory from the root down to each file's directory ("" is the root)."""
    dirs = {""}
    for rel in files:
        parts = PurePosixPath(rel).parts[:-1]
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return sorted(dirs)


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _imported_modules(path: Path) -> tuple[list[tuple[int, str]], list[str]]:
    """``([(level, dotted name)], pytest_plugins)`` of a Python file's imports."""
    data = _read(path)
    tree = _tree(data.decode("utf-8", "replace")) if data is not None else None
    if tree is None:
        return [], []
    imports: list[tuple[int, str]] = []
    plugins: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            imports.append((node.level, base))
            imports += [(node.level, f"{base}.{a.name}" if base else a.name) for a in node.names]
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets
        ):
            value = node.value
            items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
            plugins += [
                i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)
            ]
    return imports, plugins


def _resolve(root: Path, rel: str, level: int, dotted: str) -> str | None:
    """The project file a (relative, ``level`` > 0) import of ``dotted`` in ``rel`` names."""
    parts = [p for p in dotted.split(".") if p]
    here = list(PurePosixPath(rel).parts[:-1])
    if level:
        if level - 1 > len(here):
            return None
        bases = ["/".join(here[: len(here) - (level - 1)])]
    else:  # the file's directory and its ancestors (pytest's rootdir insertion), the root
        bases = ["/".join(here[:i]) for i in range(len(here), -1, -1)]
    for base in bases:
        stem = "/".join([*([base] if base else []), *parts])
        if not stem:
            continue
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if (root / candidate).is_file():
                return candidate
    return None


def _helpers(root: Path, starts: list[str]) -> list[str]:
    """The project's test helper modules and plugins ``starts`` import, recursively."""
    seen: set[str] = set(starts)
    queue = [rel for rel in starts if rel.endswith(".py")]
    found: list[str] = []
    while queue and len(found) < MAX_HELPERS:
        rel = queue.pop(0)
        imports, plugins = _imported_modules(root / rel)
        wanted = [(level, dotted, False) for level, dotted in imports]
        wanted += [(0, name, True) for name in plugins]
        for level, dotted, plugin in wanted:
            target = _resolve(root, rel, level, dotted)
            if target is None or target in seen or not (plugin or is_test_file(target)):
                continue
            seen.add(target)
            found.append(target)
            queue.append(target)
    return found


def _support_keys(root: Path, files: list[str]) -> list[str]:
    keys: list[str] = []
    for directory in _dirs_on_path(root, files):
        keys.append(_join(directory, "conftest.py"))
        if directory:  # a package's __init__ runs when its tests are imported
            keys.append(_join(directory, "__init__.py"))
        keys += [_join(directory, name) for name in INI_FILES]
        keys += [f"{_join(directory, name)}#{section}" for name, section in SECTIONS]
    keys += list(SHADOWS)
    conftests = [k for k in keys if k.endswith("conftest.py") and (root / k).is_file()]
    keys += _helpers(root, [*files, *conftests])
    return keys


def pinned_tests(
    run: TestRun, red_ids: list[str], files: list[str], root: Path
) -> list[PinnedTest]:
    """The tests red proved: ``red_ids`` (failing cases of the task's files), with a file
    that could not be collected expanded into the test functions its source defines."""
    by_id = {c.id: c for c in run.cases}
    pinned: list[PinnedTest] = []
    for red_id in red_ids:
        case = by_id.get(red_id) or TestCase("", red_id, "error")
        rel = case_file(case, files)
        if rel is None:
            continue
        functions = defined_tests(root / rel)
        if is_file_level(red_id):
            if not functions:
                pinned.append(PinnedTest(red_id, rel, "", exact=False))
            module = module_names(rel)[0]
            pinned += [
                PinnedTest(f"{module}::{name}", rel, name, exact=False, fingerprint=fp)
                for name, fp in functions.items()
            ]
            continue
        name = case_function(case, rel)
        pinned.append(PinnedTest(red_id, rel, name, True, functions.get(name, "")))
    return pinned


def make_pin(run: TestRun, red_ids: list[str], files: list[str], root: Path) -> Pin:
    """The pin of a confirmed red (see the module docstring)."""
    keys = [*files, *_support_keys(root, files)]
    fingerprints = {key: key_fingerprint(root, key) for key in dict.fromkeys(keys)}
    return Pin(pinned_tests(run, red_ids, files, root), fingerprints)


# -- checks ------------------------------------------------------------------------------------


def _kind(key: str) -> str:
    rel, _, section = key.partition("#")
    name = PurePosixPath(rel).name
    if section:
        return f"the pytest configuration [{section}] of {rel}"
    if name in INI_FILES:
        return f"the pytest configuration {rel}"
    if name == "conftest.py":
        return f"conftest {rel}"
    if key in SHADOWS:
        return f"{rel} (it would shadow pytest)"
    if name == "__init__.py":
        return f"package file {rel}"
    return f"test helper {rel}"


def _name_list(tests: list[PinnedTest], limit: int = 3) -> str:
    names = [t.name for t in tests]
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def changes(root: Path, pin: Pin, task_files: list[str]) -> list[Change]:
    """What differs from the pin now, each naming the pinned test(s) it affects."""
    found: list[Change] = []
    for key, pinned_fp in pin.files.items():
        now = key_fingerprint(root, key)
        if now == pinned_fp:
            continue
        verb = "appeared" if pinned_fp == ABSENT else "was removed" if now == ABSENT else "changed"
        if key in task_files:
            found += _test_file_changes(root, pin, key, verb)
            continue
        affected = pin.tests or []
        whose = f" (pinned: {_name_list(affected)})" if affected else ""
        found.append(Change(key, f"{_kind(key)} {verb} since red{whose}"))
    return found


def _test_file_changes(root: Path, pin: Pin, rel: str, verb: str) -> list[Change]:
    mine = [t for t in pin.tests if t.file == rel]
    if verb == "was removed":
        return [
            Change(
                rel,
                f"test file {rel} {verb} since red"
                + (f" (pinned: {_name_list(mine)})" if mine else ""),
            )
        ]
    now = defined_tests(root / rel)
    found: list[Change] = []
    for test in mine:
        if not test.fingerprint:  # its source was not found at red: the run will tell
            continue
        if test.function not in now:
            found.append(Change(rel, f"pinned test {test.name} was removed or renamed since red"))
        elif test.fingerprint and now[test.function] != test.fingerprint:
            found.append(Change(rel, f"pinned test {test.name} was edited since red"))
    if found:
        return found
    if not mine:  # written with the task's tests: a helper, a conftest, data
        whose = f" (pinned: {_name_list(pin.tests)})" if pin.tests else ""
        return [Change(rel, f"test file {rel} {verb} since red{whose}")]
    return [
        Change(
            rel,
            f"{rel} changed outside its pinned test(s) since red — imports, helpers, fixtures "
            f"or marks (pinned: {_name_list(mine)})",
        )
    ]


def describe(found: list[Change]) -> str:
    """One line for a verdict: the first change, how many more, and the only way out."""
    more = f" (+{len(found) - 1} more change(s))" if len(found) > 1 else ""
    return (
        f"{found[0]}{more}; the tests pinned at red must stay as they were "
        "(only `--accept-test-changes` accepts a deliberate change)"
    )


@dataclass(frozen=True)
class Outcome:
    test: PinnedTest
    outcome: str  # passed | failed | error | skipped | xfailed | not run

    def to_dict(self) -> dict[str, str]:
        return {"test": self.test.name, "id": self.test.id, "outcome": self.outcome}


def outcomes(run: TestRun, pin: Pin) -> list[Outcome]:
    """How each pinned test fared in ``run``, from its per-test results (JUnit)."""
    by_id = {c.id: c for c in run.cases}
    found: list[Outcome] = []
    for test in pin.tests:
        if test.exact:
            case = by_id.get(test.id)
            found.append(Outcome(test, case.outcome if case else "not run"))
            continue
        cases = [c for c in run.cases if case_file(c, [test.file]) and not is_file_level(c.id)]
        if test.function:
            cases = [c for c in cases if case_function(c, test.file) == test.function]
        if not cases:
            found.append(Outcome(test, "not run"))
            continue
        bad = [c.outcome for c in cases if c.outcome != "passed"]
        found.append(Outcome(test, bad[0] if bad else "passed"))
    return found


def outcome_problem(results: list[Outcome]) -> str | None:
    """The first pinned test that did not pass, as a verdict's reason (None: all passed)."""
    not_run = [r.test for r in results if r.outcome == "not run"]
    if not_run:
        return (
            f"pinned test {_name_list(not_run)} did not run (removed, renamed, deselected, or "
            "the run stopped before it)"
        )
    others = [r for r in results if r.outcome != "passed"]
    if others:
        first = others[0]
        more = f" (+{len(others) - 1} more)" if len(others) > 1 else ""
        how = _HOW.get(first.outcome, first.outcome)
        return f"pinned test {first.test.name} did not pass, it {how}{more}"
    return None


_HOW = {"skipped": "was skipped", "xfailed": "was xfailed", "error": "errored"}


def repin(root: Path, pin: Pin, found: list[Change], at: str) -> Pin:
    """The pin with the current content accepted (``--accept-test-changes``)."""
    files = {key: key_fingerprint(root, key) for key in pin.files}
    tests: list[PinnedTest] = []
    cache: dict[str, dict[str, str]] = {}
    for test in pin.tests:
        functions = cache.setdefault(test.file, defined_tests(root / test.file))
        tests.append(
            PinnedTest(
                test.id,
                test.file,
                test.function,
                test.exact,
                functions.get(test.function, test.fingerprint),
            )
        )
    record = {"at": at, "changes": [str(c) for c in found]}
    return Pin(tests, files, [*pin.accepted, record])

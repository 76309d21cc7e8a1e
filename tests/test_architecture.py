"""The architecture rules, enforced by parsing ``src/`` with ``ast`` (no import is executed).

Rules (docs/architecture.md explains them):

(a) direction: a module may import from its own room and from the rooms listed for it in
    ``ALLOWED`` (the root package, holding ``__version__`` and ``SCHEMA_VERSION``, is open to all);
(b) no import cycle between the modules of one package (module- and function-level imports,
    and imports through a package ``__init__`` re-export, all count);
(c) no click/rich import outside ``cli/``;
(d) every module is at most ``MAX_LINES`` lines;
(e) every module has a docstring;
(f) one place each: exception classes only in ``core/errors.py``; exit codes (``sys.exit``,
    ``ctx.exit(N)``, ``SystemExit``, ``EXIT_*``) only in ``cli/main.py``; ``os.environ`` only in
    ``core/env.py``; the ``"schema_version"`` key only in ``core/schema.py`` (each with an
    explicit allow-list below, every entry with its reason).

Each failure message names the offending module and the import (or figure) that breaks the rule.
"""

from __future__ import annotations

import ast
import builtins
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "ai_orchestrator"
SRC = Path(__file__).resolve().parent.parent / "src" / PACKAGE
MAX_LINES = 600

_BELOW_CALLS = {"core", "infra", "store", "accounting", "agents"}
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "infra": {"core"},
    "store": {"core", "infra"},
    "accounting": {"core", "infra", "store"},
    "agents": {"core", "infra"},
    "calls": _BELOW_CALLS,
    "workflow": _BELOW_CALLS | {"calls"},
    "usage": {"core", "infra", "store", "accounting", "agents"},
    # a renderer like cli: reads the library's figures (usage, stats, workflow history)
    "report": {"core", "infra", "store", "accounting", "usage", "workflow"},
    "team": {"core", "infra", "store", "accounting", "usage"},
    "cli": _BELOW_CALLS | {"calls", "workflow", "cli", "usage", "report", "team"},
}
"""Room -> the other rooms it may import from. ``cli`` may import anything."""

UI_LIBRARIES = ("click", "rich")


@dataclass(frozen=True)
class Import:
    """One import statement found in a module: the module imported and its line."""

    importer: str
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer} (line {self.line}) imports {self.target}"


def module_name(path: Path) -> str:
    """The dotted module name of a file under ``src/``."""
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules(root: Path = SRC) -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted(root.rglob("*.py"))}


@functools.cache
def _parsed(text: str, filename: str) -> tuple[ast.Module, tuple[ast.AST, ...]]:
    tree = ast.parse(text, filename=filename)
    return tree, tuple(ast.walk(tree))


def tree_of(path: Path) -> ast.Module:
    """``path`` parsed; parsed once per content and process (every rule reads every module:
    parsing them once instead of once per rule is most of this file's run time)."""
    return _parsed(path.read_text(encoding="utf-8"), str(path))[0]


def nodes_of(path: Path) -> tuple[ast.AST, ...]:
    """Every node of ``path`` in ``ast.walk`` order (the tree of ``tree_of``)."""
    return _parsed(path.read_text(encoding="utf-8"), str(path))[1]


def _resolve_relative(importer: str, is_package: bool, level: int, module: str | None) -> str:
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: -(level - 1)]
    return ".".join([*base, module] if module else base)


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[Import]:
    """Every import in a module, at any depth (function-level imports count too).

    ``from pkg import mod`` yields ``pkg.mod`` when that is a module of the package, else ``pkg``.
    """
    is_package = path.name == "__init__.py"
    for node in nodes_of(path):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = (
                _resolve_relative(name, is_package, node.level, node.module)
                if node.level
                else (node.module or "")
            )
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield Import(name, candidate if candidate in known else base, node.lineno)


ENTRY_POINTS = {f"{PACKAGE}.__main__"}
"""Root-level modules that start the program: like ``cli``, they may import anything."""


def room_of(module: str) -> str | None:
    """The room (first sub-package) of a package module; None for the root package itself."""
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    if module in ENTRY_POINTS:
        return "cli"
    return parts[1]


def internal_graph(modules: dict[str, Path]) -> dict[str, list[Import]]:
    """Module -> its imports of other package modules (an import of a package counts
    as an import of its ``__init__``)."""
    known = set(modules)
    graph: dict[str, list[Import]] = {}
    for name, path in modules.items():
        found = imports_of(name, path, known)
        graph[name] = [imp for imp in found if imp.target in known and imp.target != name]
    return graph


def direction_violations(modules: dict[str, Path]) -> list[str]:
    """Imports that go from a room to a room not in its ``ALLOWED`` set."""
    problems = []
    for name, imps in internal_graph(modules).items():
        room = room_of(name)
        if room is None or room == "cli":
            continue
        allowed = ALLOWED.get(room)
        if allowed is None:
            problems.append(f"{name}: room {room!r} has no entry in ALLOWED (add it on purpose)")
            continue
        for imp in imps:
            target_room = room_of(imp.target)
            if target_room is None or target_room == room or target_room in allowed:
                continue
            problems.append(f"{imp}: room {room!r} may not import from {target_room!r}")
    return problems


def package_cycles(modules: dict[str, Path]) -> list[str]:
    """Import cycles among the modules of one room — its sub-packages included (``workflow``
    with ``phases``, ``model``, ``project``) — each shown as a chain of imports. (Between
    rooms the direction rule already forbids every cycle.)"""
    graph = internal_graph(modules)
    problems: list[str] = []
    seen_cycles: set[frozenset[str]] = set()
    for package in sorted({room_of(m) or PACKAGE for m in modules}):
        members = {m for m in modules if (room_of(m) or PACKAGE) == package}
        edges = {
            m: [imp for imp in graph[m] if imp.target in members and imp.target != m]
            for m in members
        }
        for cycle in _cycles(edges):
            key = frozenset(imp.importer for imp in cycle)
            if key in seen_cycles:
                continue
            seen_cycles.add(key)
            problems.append(f"import cycle in {package}: " + "; ".join(str(imp) for imp in cycle))
    return problems


def _cycles(edges: dict[str, list[Import]]) -> Iterator[list[Import]]:
    """One cycle per back edge found by a depth-first search."""
    state: dict[str, int] = {}
    stack: list[Import] = []

    def visit(node: str) -> Iterator[list[Import]]:
        state[node] = 1
        for imp in edges[node]:
            if state.get(imp.target) == 1:
                start = next(
                    (i for i, e in enumerate(stack) if e.importer == imp.target), len(stack)
                )
                yield [*stack[start:], imp]
            elif imp.target not in state:
                stack.append(imp)
                yield from visit(imp.target)
                stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            yield from visit(node)


def ui_imports(modules: dict[str, Path]) -> list[str]:
    """click/rich imports outside ``cli/``."""
    known = set(modules)
    problems = []
    for name, path in modules.items():
        if room_of(name) == "cli":
            continue
        for imp in imports_of(name, path, known):
            if imp.target.split(".")[0] in UI_LIBRARIES:
                problems.append(f"{imp}: click/rich belong in cli/ only")
    return problems


def oversized(modules: dict[str, Path]) -> list[str]:
    """Modules over ``MAX_LINES`` lines."""
    problems = []
    for name, path in modules.items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            problems.append(f"{name}: {lines} lines (at most {MAX_LINES}; split along a seam)")
    return problems


def missing_docstrings(modules: dict[str, Path]) -> list[str]:
    """Modules without a module docstring."""
    problems = []
    for name, path in modules.items():
        if not ast.get_docstring(tree_of(path)):
            problems.append(f"{name}: no module docstring (state its contract and invariants)")
    return problems


def root_imports(modules: dict[str, Path]) -> list[str]:
    """The root package holds ``__version__`` and ``SCHEMA_VERSION`` only: it imports no room
    (everything may import it, so anything it imported would be imported everywhere)."""
    graph = internal_graph(modules)
    return [f"{imp}: the root package imports nothing of ours" for imp in graph.get(PACKAGE, [])]


def _unit(module: str, modules: dict[str, Path]) -> str:
    """A module's sub-package inside its room (``workflow.model``), else the module itself."""
    parts = module.split(".")
    if len(parts) > 3 and modules.get(".".join(parts[:3]), Path()).name == "__init__.py":
        return ".".join(parts[:3])
    return module


def subpackage_cycles(modules: dict[str, Path]) -> list[str]:
    """Import cycles between the sub-packages of a room (``workflow.model`` ->
    ``workflow.project`` -> ``workflow.model``), even when no two modules form one: the
    shared piece belongs lower down."""
    edges: dict[str, list[Import]] = {}
    for name, imps in internal_graph(modules).items():
        here = _unit(name, modules)
        edges.setdefault(here, [])
        for imp in imps:
            there = _unit(imp.target, modules)
            same_room = room_of(imp.target) == room_of(name)
            if there != here and same_room and (here != name or there != imp.target):
                edges[here].append(Import(f"{here} ({name})", there, imp.line))
    for node in list(edges):
        for imp in edges[node]:
            edges.setdefault(imp.target, [])
    fixed = {
        node: [Import(node, imp.target, imp.line) for imp in imps] for node, imps in edges.items()
    }
    shown = {(node, imp.target): str(imp) for node, imps in edges.items() for imp in imps}
    problems = []
    for cycle in _cycles(fixed):
        chain = "; ".join(shown[(imp.importer, imp.target)] for imp in cycle)
        problems.append(f"sub-packages import each other: {chain}")
    return problems


ERRORS_MODULE = f"{PACKAGE}.core.errors"
EXIT_MODULE = f"{PACKAGE}.cli.main"
ENV_MODULE = f"{PACKAGE}.core.env"
SCHEMA_MODULE = f"{PACKAGE}.core.schema"

EXIT_ALLOWED = {
    f"{PACKAGE}.agents.process.watchdog": "the watchdog is its own process (forked from aio, or "
    "python -I -S): it "
    "exits with the agent's status and never returns to aio",
    f"{PACKAGE}.agents.scripted_cli": "the offline scripted agent is its own program (an agent "
    "CLI's exit codes), not aio",
    f"{PACKAGE}.cli.launch": "the `aio` entry point: hands `aio hook`/`aio statusline` their "
    "exit code without click, else calls cli.main (run_fast for a plain `aio run`)",
}
"""Modules that may end a process themselves, and why."""

_BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _error_names(modules: dict[str, Path]) -> set[str]:
    path = modules.get(ERRORS_MODULE)
    if path is None:
        return set()
    return {node.name for node in tree_of(path).body if isinstance(node, ast.ClassDef)}


def stray_error_classes(modules: dict[str, Path]) -> list[str]:
    """Exception classes defined outside ``core/errors.py``."""
    known = _BUILTIN_EXCEPTIONS | _error_names(modules)
    problems = []
    for name, path in modules.items():
        if name == ERRORS_MODULE:
            continue
        local = set(known)
        for node in nodes_of(path):
            if isinstance(node, ast.ClassDef) and any(
                _base_name(b) in local or _base_name(b).endswith(("Error", "Exception"))
                for b in node.bases
            ):
                local.add(node.name)
                problems.append(
                    f"{name} (line {node.lineno}) defines exception class {node.name}: "
                    "every error class lives in core/errors.py"
                )
    return problems


def _is_exit(node: ast.AST) -> str | None:
    """What ends a process (or names an exit code) in ``node``, if anything."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner = _base_name(node.func.value)
        if node.func.attr == "exit" and owner == "sys":
            return "sys.exit"
        if node.func.attr == "_exit" and owner == "os":
            return "os._exit"
        if node.func.attr == "exit" and owner == "ctx" and node.args:
            return "ctx.exit(code)"
    if isinstance(node, ast.Name) and node.id == "SystemExit":
        return "SystemExit"
    name = _base_name(node) if isinstance(node, ast.Name | ast.Attribute) else ""
    if name.startswith("EXIT_") and name.isupper():
        return name
    if isinstance(node, ast.alias) and node.name.startswith("EXIT_"):
        return node.name
    return None


def stray_exits(modules: dict[str, Path]) -> list[str]:
    """Exit codes set outside ``cli/main.py`` (the library raises typed errors instead)."""
    problems = []
    for name, path in modules.items():
        if name in (EXIT_MODULE, ERRORS_MODULE) or name in EXIT_ALLOWED:
            continue
        for node in nodes_of(path):
            found = _is_exit(node)
            if found:
                line = getattr(node, "lineno", 0)
                problems.append(
                    f"{name} (line {line}) uses {found}: exit codes are set in cli/main.py only "
                    "(raise a typed error from core/errors.py)"
                )
    return problems


def stray_environ(modules: dict[str, Path]) -> list[str]:
    """Reads of the environment outside ``core/env.py`` (``os.environ``, ``os.getenv``)."""
    problems = []
    for name, path in modules.items():
        if name == ENV_MODULE:
            continue
        for node in nodes_of(path):
            hit = (
                isinstance(node, ast.Attribute)
                and _base_name(node.value) == "os"
                and node.attr in ("environ", "environb", "getenv", "putenv", "unsetenv")
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module == "os"
                and any(a.name in ("environ", "getenv") for a in node.names)
            )
            if hit:
                problems.append(
                    f"{name} (line {node.lineno}) reads the environment: use core/env.py "
                    "(declare the variable in env.VARIABLES)"
                )
    return problems


def stray_schema_version(modules: dict[str, Path]) -> list[str]:
    """The ``"schema_version"`` key spelled outside ``core/schema.py``."""
    problems = []
    for name, path in modules.items():
        if name == SCHEMA_MODULE:
            continue
        docstrings = {
            id(n.body[0].value)
            for n in nodes_of(path)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and n.body
            and isinstance(n.body[0], ast.Expr)
        }
        for node in nodes_of(path):
            if (
                isinstance(node, ast.Constant)
                and node.value == "schema_version"
                and id(node) not in docstrings
            ):
                problems.append(
                    f"{name} (line {node.lineno}) spells \"schema_version\": use "
                    "core.schema (versioned, SCHEMA_KEY)"
                )
    return problems


RULES = {
    "direction": direction_violations,
    "root package imports nothing": root_imports,
    "no cycle inside a package": package_cycles,
    "no cycle between sub-packages": subpackage_cycles,
    "click/rich only in cli": ui_imports,
    "module size": oversized,
    "module docstring": missing_docstrings,
    "error classes only in core/errors": stray_error_classes,
    "exit codes only in cli/main": stray_exits,
    "environment only in core/env": stray_environ,
    "schema_version only in core/schema": stray_schema_version,
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_architecture_rule(rule: str) -> None:
    problems = RULES[rule](all_modules())
    assert not problems, f"architecture rule {rule!r} broken:\n" + "\n".join(problems)


def test_every_room_is_in_the_table() -> None:
    rooms = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    assert rooms == set(ALLOWED), f"rooms without a direction entry: {rooms ^ set(ALLOWED)}"


# The checker itself must catch what it claims to: each rule is run on a small fake package.


def _fake_package(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    root = tmp_path / PACKAGE
    for rel, text in {"__init__.py": '"""root."""\n', **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not (path.parent / "__init__.py").exists() and path.name != "__init__.py":
            (path.parent / "__init__.py").write_text('"""pkg."""\n', encoding="utf-8")
        path.write_text(text, encoding="utf-8")
    return {_fake_name(p, tmp_path): p for p in sorted(root.rglob("*.py"))}


def _fake_name(path: Path, tmp_path: Path) -> str:
    parts = list(path.relative_to(tmp_path).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_checker_catches_an_upward_import(tmp_path: Path) -> None:
    modules = _fake_package(
        tmp_path,
        {
            "store/a.py": '"""a."""\ndef f():\n    from ai_orchestrator.calls import b\n',
            "calls/b.py": '"""b."""\n',
            "store/ok.py": '"""ok."""\nfrom ai_orchestrator import SCHEMA_VERSION\n'
            "from ai_orchestrator.core import e\n",
            "core/e.py": '"""e."""\n',
        },
    )
    problems = direction_violations(modules)
    assert problems == [
        "ai_orchestrator.store.a (line 3) imports ai_orchestrator.calls.b: "
        "room 'store' may not import from 'calls'"
    ]


def test_checker_catches_a_cycle_through_a_package_init(tmp_path: Path) -> None:
    modules = _fake_package(
        tmp_path,
        {
            "store/__init__.py": '"""s."""\nfrom ai_orchestrator.store.a import X\n',
            "store/a.py": '"""a."""\nfrom .b import Y\nX = 1\n',
            "store/b.py": '"""b."""\ndef g():\n    from ai_orchestrator.store import X\n',
        },
    )
    problems = package_cycles(modules)
    assert len(problems) == 1
    assert "ai_orchestrator.store.b (line 3) imports ai_orchestrator.store" in problems[0]


def test_checker_catches_a_cycle_between_sub_packages_of_a_room(tmp_path: Path) -> None:
    modules = _fake_package(
        tmp_path,
        {
            "workflow/__init__.py": '"""w."""\n',
            "workflow/runctx.py": '"""r."""\nfrom .project.history import H\n',
            "workflow/project/__init__.py": '"""p."""\n',
            "workflow/project/history.py": '"""h."""\nfrom ..runctx import R\n',
        },
    )
    problems = package_cycles(modules)
    assert len(problems) == 1 and "ai_orchestrator.workflow.project.history" in problems[0]


def test_checker_catches_an_import_in_the_root_package(tmp_path: Path) -> None:
    modules = _fake_package(
        tmp_path,
        {
            "__init__.py": '"""root."""\nfrom ai_orchestrator.calls import options\n',
            "calls/__init__.py": '"""c."""\n',
            "calls/options.py": '"""o."""\n',
        },
    )
    assert root_imports(modules) == [
        "ai_orchestrator (line 2) imports ai_orchestrator.calls.options: "
        "the root package imports nothing of ours"
    ]


def test_checker_catches_ui_size_and_docstring(tmp_path: Path) -> None:
    modules = _fake_package(
        tmp_path,
        {
            "store/ui.py": '"""ui."""\nimport rich.console\n',
            "cli/ok.py": '"""ok."""\nimport click\n',
            "store/big.py": '"""big."""\n' + "x = 1\n" * MAX_LINES,
            "store/bare.py": "x = 1\n",
        },
    )
    assert ui_imports(modules) == [
        "ai_orchestrator.store.ui (line 2) imports rich.console: click/rich belong in cli/ only"
    ]
    big = f"ai_orchestrator.store.big: {MAX_LINES + 1} lines"
    assert oversized(modules) == [f"{big} (at most {MAX_LINES}; split along a seam)"]
    assert missing_docstrings(modules) == [
        "ai_orchestrator.store.bare: no module docstring (state its contract and invariants)"
    ]


def test_checker_catches_the_one_place_rules(tmp_path: Path) -> None:
    modules = _fake_package(
        tmp_path,
        {
            "core/errors.py": '"""e."""\nclass AioError(Exception):\n    pass\n',
            "core/env.py": '"""env."""\nimport os\nX = os.environ.get("A")\n',
            "core/schema.py": '"""s."""\nKEY = "schema_version"\n',
            "cli/main.py": '"""m."""\nimport sys\nsys.exit(EXIT_USAGE)\n',
            "store/bad.py": (
                '"""Docstring may say "schema_version"."""\n'
                "import os, sys\n"
                "from ai_orchestrator.core.errors import AioError\n"
                "class Oops(AioError):\n    pass\n"
                "class Local(ValueError):\n    pass\n"
                'home = os.environ["HOME"]\n'
                'doc = {"schema_version": 1}\n'
                "def f(ctx):\n    ctx.exit(3)\n    sys.exit(1)\n    return EXIT_FAILURE\n"
            ),
        },
    )
    assert [p.split(":")[0] for p in stray_error_classes(modules)] == [
        "ai_orchestrator.store.bad (line 4) defines exception class Oops",
        "ai_orchestrator.store.bad (line 6) defines exception class Local",
    ]
    exits = stray_exits(modules)
    assert len(exits) == 3 and all(e.startswith("ai_orchestrator.store.bad") for e in exits)
    assert [e.split(" reads")[0] for e in stray_environ(modules)] == [
        "ai_orchestrator.store.bad (line 8)"
    ]
    assert [s.split(" spells")[0] for s in stray_schema_version(modules)] == [
        "ai_orchestrator.store.bad (line 9)"
    ]


def test_checker_catches_a_cycle_between_sub_packages(tmp_path: Path) -> None:
    modules = _fake_package(
        tmp_path,
        {
            "workflow/__init__.py": '"""w."""\n',
            "workflow/model/__init__.py": '"""m."""\n',
            "workflow/model/feature.py": '"""f."""\n'
            "from ai_orchestrator.workflow.project import a\n",
            "workflow/project/__init__.py": '"""p."""\n',
            "workflow/project/a.py": '"""a."""\n',
            "workflow/project/b.py": '"""b."""\nfrom ai_orchestrator.workflow.model import plan\n',
            "workflow/model/plan.py": '"""p."""\n',
        },
    )
    assert package_cycles(modules) == []  # no two modules form a loop ...
    problems = subpackage_cycles(modules)  # ... but the sub-packages do
    assert len(problems) == 1 and "workflow.model" in problems[0]


def _figures(root: Path) -> None:
    """Print lines per room, the largest modules and the number of problems per rule."""
    modules = {
        ".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in sorted(root.rglob("*.py"))
    }
    size = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules.items()
    }
    rooms: dict[str, int] = {}
    for name, lines in size.items():
        room = room_of(name) or "(root)"
        rooms[room] = rooms.get(room, 0) + lines
    print(f"{len(modules)} modules, {sum(size.values())} lines")
    print("lines per room: " + ", ".join(f"{r} {n}" for r, n in sorted(rooms.items())))
    largest = sorted(size.items(), key=lambda item: -item[1])[:5]
    print("largest: " + ", ".join(f"{n.removeprefix(PACKAGE + '.')} {c}" for n, c in largest))
    for rule, check in RULES.items():
        print(f"{rule}: {len(check(modules))} problem(s)")


if __name__ == "__main__":  # python tests/test_architecture.py [path/to/src/ai_orchestrator]
    import sys

    _figures(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else SRC)

"""Parse once at the edge, typed inside: record and summary keys are read only where they
are serialised.

The interaction record is an ``Interaction`` (``core/interaction.py``) and a session's
summary a ``SessionSummary`` (``store/summary.py``): both typed and frozen, read through
attributes. Their JSON form — ``to_json()``, ``SessionView.to_dict()``, the index row's
``SessionRow.document`` — exists to be written (a file, ``--json``, an export, the index) or
validated on the way in. Reading a field back out of it by key is reading the record as a
dict again, which this test forbids outside ``SERIALISATION_MODULES``.

The rule, checked by parsing ``src/`` with ``ast`` (nothing of ours is imported beyond the
two field lists): in each function (and at module level) a *serialised value* is

- a call of ``.to_json()`` or ``.to_dict()`` (any receiver), or an attribute ``.document``
  or ``.summary`` (a typed ``SessionSummary`` cannot be read by key: mypy would fail first);
- a name assigned from one of those (``s = view.summary.to_json()``), or from a subscript
  or ``.get()`` of one (``bucket = s["by_model"][m]``);
- a parameter named ``summary``, ``record``, ``interaction`` or ``document`` annotated as
  a ``dict``/``Mapping`` (a serialised value handed down);

and a *key read* is ``value["key"]``, ``value.get("key")``, ``.pop`` or ``.setdefault`` of
a serialised value with a string constant that names a field of the record or the summary
(``KEYS``). Writes (``data["path"] = …``) are serialisation and are not reads.

``python tests/test_architecture_keys.py`` prints the modules that read keys and the keys
they read (``benchmarks/measure_typing.py`` reports the count with the other typing figures).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from pathlib import Path

from ai_orchestrator.core.interaction import INTERACTION_FIELDS
from ai_orchestrator.core.names import SessionName
from ai_orchestrator.store.summary import BUCKET_KEYS, empty_summary
from tests.test_architecture import tree_of

PACKAGE = "ai_orchestrator"
SRC = Path(__file__).resolve().parent.parent / "src" / PACKAGE

# Keys a summary may hold beyond the empty one's (present once a call said them).
_SUMMARY_EXTRA = ("failed_by_outcome", "lineage", "context", "compactions", "legacy_name")
KEYS = frozenset(
    {
        *INTERACTION_FIELDS,
        *empty_summary(SessionName("run", "x")),
        *_SUMMARY_EXTRA,
        *BUCKET_KEYS,
    }
)
"""Every field of the stored record, the stored summary and a summary's model bucket."""

SERIALISATION_MODULES: dict[str, str] = {
    "core/interaction.py": "the record's JSON form (to_json/from_json)",
    "store/records.py": "the one door for record JSON from outside (normalize_interaction)",
    "store/summary.py": "the summary's JSON form: the fold writing it, SessionSummary.from_json",
    "store/summary_view.py": "the few summary fields stats and the report read of every index "
    "row, decoded from its stored document (SummaryView)",
    "store/index_row.py": "the summary index's row: the stored summary as columns",
    "store/session_store.py": "writes metadata.json (log size, corrupt lines) under the lock",
    "store/maintenance.py": "repairs metadata.json against the log's size under the lock",
    "store/logfile.py": "reads and writes metadata.json and the log's accounting fields",
    "store/legacy.py": "converts shell-version records and summaries (their JSON) into ours",
    "store/transfer.py": "export/import files: the records' and summaries' JSON",
    "store/export.py": "export rows built from the stored JSON",
}
"""Modules (relative to the package) that may read record or summary keys, and why."""

NOT_YET: dict[str, str] = {}
"""Modules that still read keys outside the serialisation modules, each with what is left.
One that no longer reads keys fails the test, so the list stays exact."""

_SOURCES = ("to_json", "to_dict")
_PARAMS = frozenset({"summary", "record", "interaction", "document"})


def _serialised(node: ast.expr, names: set[str]) -> bool:
    """``node`` is (part of) a serialised record or summary in a scope where ``names`` are."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in _SOURCES and not node.args:
            return True
        if node.func.attr == "get" and node.args:
            return _serialised(node.func.value, names)
        return False
    if isinstance(node, ast.Attribute):
        return node.attr in ("document", "summary")
    if isinstance(node, ast.Subscript):
        return _serialised(node.value, names)
    if isinstance(node, ast.BoolOp):
        return any(_serialised(v, names) for v in node.values)
    if isinstance(node, ast.IfExp):
        return _serialised(node.body, names) or _serialised(node.orelse, names)
    return isinstance(node, ast.Name) and node.id in names


def key_of(node: ast.AST) -> tuple[ast.expr, str] | None:
    """(receiver, key) of a key read: ``x["k"]`` (loaded), ``x.get/pop/setdefault("k")``."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.ctx, ast.Load)
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    ):
        return node.value, node.slice.value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("get", "pop", "setdefault")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.func.value, node.args[0].value
    return None


def _is_mapping(annotation: ast.expr | None) -> bool:
    text = ast.unparse(annotation) if annotation is not None else ""
    return text.startswith(("dict", "Mapping", "MutableMapping", "typing.Mapping"))


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_ASSIGNS = (ast.Assign, ast.AnnAssign, ast.NamedExpr)


@dataclass
class _Scope:
    """A function (or the module): its tainted parameters, and the assignments and key
    reads of its own body (nested functions are scopes of their own)."""

    names: set[str] = field(default_factory=set)
    assigns: list[ast.Assign | ast.AnnAssign | ast.NamedExpr] = field(default_factory=list)
    reads: list[tuple[ast.AST, ast.expr, str]] = field(default_factory=list)


def _scopes(tree: ast.Module) -> list[_Scope]:
    """Every scope of ``tree`` in one pass over its nodes."""
    scopes = [_Scope()]
    stack: list[tuple[ast.AST, _Scope]] = [(tree, scopes[0])]
    while stack:
        node, scope = stack.pop()
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, _FUNCTIONS):
                inner = _Scope()
                scopes.append(inner)
                args = child.args
                for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
                    if arg.arg in _PARAMS and _is_mapping(arg.annotation):
                        inner.names.add(arg.arg)
            elif isinstance(child, _ASSIGNS):
                scope.assigns.append(child)
            else:
                hit = key_of(child)
                if hit is not None and hit[1] in KEYS:
                    scope.reads.append((child, *hit))
            stack.append((child, inner))
    return scopes


def key_reads(path: Path) -> list[tuple[int, str]]:
    """(line, key) of every read of a record or summary key from a serialised value."""
    found = []
    for scope in _scopes(tree_of(path)):
        if not scope.reads:
            continue
        names = scope.names
        # Assignments in source order, twice: a name tainted late in a loop body counts
        # for the reads before it on the next pass.
        assigns = sorted(scope.assigns, key=lambda n: (n.lineno, n.col_offset))
        for _ in range(2):
            for node in assigns:
                value = node.value
                if value is None or not _serialised(value, names):
                    continue
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
        for node, receiver, key in scope.reads:
            if _serialised(receiver, names):
                found.append((getattr(node, "lineno", 0), key))
    return sorted(set(found))


@functools.cache
def readers(root: Path = SRC) -> dict[str, list[tuple[int, str]]]:
    """Module (relative to ``root``) -> its key reads, for every module that has one."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        reads = key_reads(path)
        if reads:
            out[str(path.relative_to(root))] = reads
    return out


def test_record_and_summary_keys_are_read_only_where_they_are_serialised() -> None:
    found = readers()
    stray = {m: r for m, r in found.items() if m not in SERIALISATION_MODULES | NOT_YET.keys()}
    assert not stray, (
        "record/summary keys read from their JSON form outside the serialisation modules "
        "(read the Interaction's / SessionSummary's attributes instead):\n"
        + "\n".join(
            f"  {m}: " + ", ".join(f"line {line} {key!r}" for line, key in r)
            for m, r in stray.items()
        )
    )


def test_every_allowed_module_exists_and_the_not_yet_list_is_exact() -> None:
    missing = [m for m in SERIALISATION_MODULES if not (SRC / m).is_file()]
    assert not missing, f"SERIALISATION_MODULES names modules that are gone: {missing}"
    done = sorted(set(NOT_YET) - set(readers()))
    assert not done, f"these modules no longer read keys: remove them from NOT_YET: {done}"


def test_the_checker_catches_each_way_of_reading_a_key(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        '"""m."""\n'
        "from typing import Any, Mapping\n"
        "def a(view):\n"
        '    return view.summary.to_json()["agent_cwd"]\n'  # 4: direct
        "def b(store, name):\n"
        "    s = store.load(name).summary.to_json()\n"
        '    return s.get("lineage")\n'  # 7: through a name
        "def c(row):\n"
        '    bucket = row.document["by_model"]["m"]\n'  # 9: the index row's document
        '    return bucket["cost_reported"]\n'  # 10: through a part of it
        "def d(summary: Mapping[str, Any]):\n"
        '    return summary.get("last_outcome")\n'  # 12: a serialised parameter
        "def e(record):\n"
        '    data = record.to_json()\n'
        '    data["path"] = "x"\n'  # a write: serialisation, not a read
        '    return data\n'
        "def f(config: dict[str, Any], plan):\n"
        '    return config.get("agent"), plan.to_dict().get("tasks")\n'  # neither a record
    )
    assert key_reads(module) == [
        (4, "agent_cwd"),
        (7, "lineage"),
        (9, "by_model"),
        (10, "cost_reported"),
        (12, "last_outcome"),
    ]


def _main() -> None:
    found = readers()
    outside = {m: r for m, r in found.items() if m not in SERIALISATION_MODULES}
    print("(! outside the serialisation modules; ? of those, listed in NOT_YET)")
    print(f"modules reading record/summary keys: {len(found)} ({len(outside)} outside the "
          f"serialisation modules)")  # fmt: skip
    for module, reads in found.items():
        mark = " " if module in SERIALISATION_MODULES else "?" if module in NOT_YET else "!"
        keys = sorted({key for _, key in reads})
        print(f" {mark} {module}: {len(reads)} read(s): {', '.join(keys)}")


if __name__ == "__main__":  # python tests/test_architecture_keys.py
    _main()

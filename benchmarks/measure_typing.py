"""How typed the record path is (issue 19, "parse once"): three figures, reproducible.

1. **Shape changes per call**: one ``aio run --json`` (an instant fake Claude Code,
   ``benchmarks/instant_claude.py``, resuming a session) run in this process under a
   profiler that counts the calls of every function that turns the interaction record from
   one representation into another: the draft built from the ``AgentResult``
   (``calls.recording.build_record``), dict → ``Interaction`` (``Interaction.from_json``)
   and ``Interaction`` → dict (``Interaction.to_json``). ``normalize_interaction`` (the
   validation door) and the session-name parses (``parse_session_name``) are counted too.
   The first run creates the session; the figures are those of the second (a resume).
   Conversions inside ``parse_log`` (earlier records read back from the store's files,
   e.g. for the cost estimate) are listed apart and not counted as the call's.
2. **Modules reading record or summary keys** (``ast``): the rule of
   ``tests/test_architecture_keys.py`` — a field of the record, the summary or a model
   bucket read by key from their JSON form (``to_json()``, ``to_dict()``,
   ``SessionRow.document``, a ``summary``/``record`` mapping parameter) — counted over all
   modules and outside the serialisation modules that test allows. The older, coarser
   keyword count is printed too: modules of ``src/`` that subscript or ``.get()`` a string
   literal only an interaction record has (``RECORD_ONLY_KEYS``), whatever the value read
   (it also counts same-named keys of other documents: templates' ``budget_usd``, the
   workflow history's ``duration_ms``, the usage index's ``reported_cost``).
3. **Functions with ``dict[str, Any]``** (``ast``): functions of ``src/`` with
   ``dict[str, Any]`` in a parameter or return annotation.

Usage: ``.venv/bin/python benchmarks/measure_typing.py [--json]`` (from the repository root)
"""

from __future__ import annotations

import ast
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "ai_orchestrator"

# Stored fields only an interaction record has (not a summary, bucket, export row or index
# row): reading one of these by key is reading a record as a dict.
RECORD_ONLY_KEYS = frozenset(
    {
        "prompt_preview", "response_preview", "duration_ms", "exit_code", "session_action",
        "cli_version", "tools_used", "agent_session_ref", "session_note", "usage_by_model",
        "cost_source", "reported_cost", "budget_usd", "spent_before", "over_budget",
        "raw_events", "usage_source", "usage_unknown", "imported_from", "escalated_from",
    }
)  # fmt: skip


def _annotation_has_dict_any(node: ast.expr | None) -> bool:
    return node is not None and "dict[str,Any]" in ast.unparse(node).replace(" ", "")


def dict_any_functions() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            args = node.args
            params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
            params += [a for a in (args.vararg, args.kwarg) if a is not None]
            if _annotation_has_dict_any(node.returns) or any(
                _annotation_has_dict_any(p.annotation) for p in params
            ):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}:{node.name}")
    return found


def record_key_readers() -> dict[str, list[str]]:
    sys.path.insert(0, str(ROOT))
    from tests.test_architecture_keys import key_of

    readers: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        keys = sorted(
            {
                hit[1]
                for node in ast.walk(ast.parse(path.read_text()))
                if (hit := key_of(node)) is not None and hit[1] in RECORD_ONLY_KEYS
            }
        )
        if keys:
            readers[str(path.relative_to(SRC))] = keys
    return readers


READING = " [reading the store's files]"


def records_reader() -> Any:
    from ai_orchestrator.store.logfile import parse_log

    return parse_log.__code__


def reading(frame: Any, reader: Any) -> str:
    """``READING`` when ``frame`` is inside ``parse_log`` (a record read from a log, not
    the call's own record), else ``""``."""
    while frame is not None:
        if frame.f_code is reader:
            return READING
        frame = frame.f_back
    return ""


def shape_changes() -> dict[str, int]:
    """The counted calls of one resuming ``aio run --json`` (see the module docstring)."""
    sys.path.insert(0, str(ROOT))
    from ai_orchestrator.calls import recording
    from ai_orchestrator.cli.main import cli, run
    from ai_orchestrator.core import interaction, names
    from ai_orchestrator.store import records

    watched = {
        recording.build_record.__code__: "build_record (AgentResult -> record)",
        interaction.Interaction.from_json.__func__.__code__: "Interaction.from_json (dict -> Interaction)",  # noqa: E501
        interaction.Interaction.to_json.__code__: "Interaction.to_json (Interaction -> dict)",
        records.normalize_interaction.__code__: "normalize_interaction (validation)",
        names.parse_session_name.__code__: "parse_session_name (text -> SessionName)",
    }
    counts: Counter[str] = Counter()

    log_reader = records_reader()

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            label = watched.get(frame.f_code)
            if label is not None:
                counts[label + reading(frame.f_back, log_reader)] += 1

    from click.testing import CliRunner

    work = Path(tempfile.mkdtemp(prefix="aio-measure-"))
    fake = ROOT / "benchmarks" / "instant_claude.py"
    env = {
        "SESSION_DIR": str(work / "sessions"),
        "XDG_CACHE_HOME": str(work / "cache"),
        "AIO_AGENT_CLAUDE_EXECUTABLE": str(fake),
        "AIO_DEBUG": "1",
    }
    argv = ["run", "--json", "measure-shapes", "hello"]
    saved = os.getcwd()
    os.chdir(work)
    try:
        for attempt in range(2):
            with CliRunner().isolation(env=env) as (_out, err, _):
                if attempt == 1:
                    sys.setprofile(profile)
                try:
                    code = run(cli, argv, "aio")
                finally:
                    sys.setprofile(None)
            if code != 0:
                raise SystemExit(f"aio run failed ({code}): {err.getvalue().decode()[-500:]}")
    finally:
        os.chdir(saved)
    labels = sorted({*watched.values(), *counts})
    return {label: counts.get(label, 0) for label in labels}


def key_readers() -> tuple[dict[str, list[str]], list[str]]:
    """Modules reading record/summary keys (``tests/test_architecture_keys.py``) -> their
    keys, and those of them outside the serialisation modules."""
    sys.path.insert(0, str(ROOT))
    from tests.test_architecture_keys import SERIALISATION_MODULES, readers

    found = {m: sorted({key for _, key in reads}) for m, reads in readers().items()}
    return found, [m for m in found if m not in SERIALISATION_MODULES]


def main() -> None:
    shapes = shape_changes()
    conversions = sum(
        n
        for label, n in shapes.items()
        if "->" in label and "SessionName" not in label and READING not in label
    )
    readers = record_key_readers()
    key_reading, outside = key_readers()
    dict_any = dict_any_functions()
    result = {
        "shape_changes_per_call": conversions,
        "calls": shapes,
        "modules_reading_record_or_summary_keys": len(key_reading),
        "outside_the_serialisation_modules": outside,
        "key_readers": key_reading,
        "modules_with_record_only_key_literals": len(readers),
        "record_key_readers": readers,
        "functions_with_dict_str_any": len(dict_any),
    }
    if "--json" in sys.argv:
        print(json.dumps({**result, "dict_any": dict_any}, indent=2))
        return
    print(f"shape changes of the call's record per aio run: {conversions}")
    for label, n in shapes.items():
        print(f"  {n:3d}  {label}")
    print(
        f"modules reading record/summary keys: {len(key_reading)}, "
        f"{len(outside)} outside the serialisation modules"
    )
    for module, keys in key_reading.items():
        print(f"  {'!' if module in outside else ' '} {module}: {', '.join(keys)}")
    print(f"modules with a record-only key literal (coarse, any document): {len(readers)}")
    for module, keys in readers.items():
        print(f"  {module}: {', '.join(keys)}")
    print(f"functions with dict[str, Any] in a signature: {len(dict_any)}")


if __name__ == "__main__":
    main()

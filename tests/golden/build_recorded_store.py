"""Build the recorded store under ``tests/golden/recorded/`` and capture its goldens.

Run once, with the code of the day, to freeze what the read commands print::

    .venv/bin/python tests/golden/build_recorded_store.py

It records through the public CLI only (``aio demo``, ``aio session record``,
``aio session import``), plus one store directory as the earlier shell version left it, then
writes the ``--json`` output of every read command to ``goldens/`` (see ``golden_cases``).
``test_recorded_store.py`` re-runs those commands over a copy and demands byte-identical
output: a refactoring of the record types must not change a single byte any command prints.

Do not re-run it to make a failing golden test pass: a diff there is a change of output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORDED = HERE / "recorded"
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tests.golden.golden_cases import CASES, capture  # noqa: E402
from tests.helpers import LEGACY_METADATA  # noqa: E402

AIO = [sys.executable, "-m", "ai_orchestrator"]

# A shell-version ``metadata.json`` (interactions inside it; no schema_version): the one
# the store's own tests use.
LEGACY = LEGACY_METADATA

# Interactions of varied shapes, recorded with ``aio session record`` (priced by it).
RECORDS: list[tuple[str, dict[str, object]]] = [
    (
        "review-calc-basics",
        {
            "timestamp": "2026-11-20T09:00:00.000Z",
            "agent": "claude",
            "agent_session_id": "5d1c0e7a-1111-4222-8333-944455556666",
            "model": "claude-sonnet-4-5",
            "task_id": "T1.1",
            "prompt": "Review the calculator module",
            "response_preview": "Looks fine",
            "tokens": {"input": 1200, "output": 300, "cache_read": 5000, "cache_write": 800},
            "duration_ms": 8100,
        },
    ),
    (
        "review-calc-basics",
        {
            "timestamp": "2026-11-20T09:05:00.000Z",
            "agent": "claude",
            "model": "mystery-model-x",
            "prompt": "Again, with an unknown model",
            "tokens": {"input": 10, "output": 5},
            "duration_ms": 900,
        },
    ),
    (
        "review-calc-basics",
        {
            "timestamp": "2026-11-21T10:00:00.000Z",
            "agent": "gemini",
            "prompt": "Only the agent's own figure",
            "reported_cost": 0.0123,
            "tokens": {"input": 100, "output": 20, "reasoning": 7},
            "duration_ms": 1500,
        },
    ),
    (
        "run-multi-model",
        {
            "timestamp": "2026-11-22T08:00:00.000Z",
            "agent": "claude",
            "agent_session_id": "sess-multi-1",
            "model": "claude-opus-4-1",
            "prompt": "Two models in one call",
            "usage_by_model": {
                "claude-opus-4-1": {"input": 2000, "output": 400, "cache_read": 1000},
                "claude-haiku-4-5": {"input": 300, "output": 60, "cache_write_5m": 50},
            },
            "tokens": {"input": 2300, "output": 460, "cache_read": 1000, "cache_write": 50},
            "duration_ms": 12000,
            "turns": 3,
            "tools_used": ["Read", "Edit"],
        },
    ),
    (
        "run-multi-model",
        {
            "timestamp": "2026-11-22T08:10:00.000Z",
            "agent": "gemini",
            "model": "gemini-2.5-pro",
            "prompt": "Priced model beside one without a price, with the CLI's total",
            "reported_cost": 0.05,
            "usage_by_model": {
                "gemini-2.5-pro": {"input": 1000, "output": 100},
                "gemini-unknown-9": {"input": 500, "output": 50},
            },
            "tokens": {"input": 1500, "output": 150},
            "duration_ms": 4000,
        },
    ),
    (
        "run-multi-model",
        {
            "timestamp": "2026-11-22T08:20:00.000Z",
            "agent": "claude",
            "agent_session_id": "sess-multi-1",
            "model": "claude-sonnet-4-5",
            "prompt": "Interrupted before the agent said what it used",
            "outcome": "interrupted",
            "exit_code": 130,
            "usage_unknown": True,
            "usage_source": "none",
            "tokens": {},
            "cost": 0,
            "cost_source": "unpriced",
            "duration_ms": 700,
            "x_custom_field": {"kept": [1, 2, 3]},
        },
    ),
    (
        "run-multi-model",
        {
            "timestamp": "2026-11-22T08:30:00.000Z",
            "agent": "claude",
            "agent_session_id": "sess-multi-1",
            "model": "claude-sonnet-4-5",
            "prompt": "Recovered from the transcript",
            "outcome": "error:crash",
            "error": "aio was killed; usage read back from the agent's transcript",
            "usage_source": "transcript",
            "tokens": {"input": 40, "output": 900, "cache_read": 7000, "cache_write": 0},
            "cost": 0.0156,
            "cost_source": "transcript",
            "duration_ms": 30000,
        },
    ),
    (
        "run-multi-model",
        {
            "timestamp": "2026-11-23T12:00:00.000Z",
            "agent": "codex",
            "agent_session_id": "codex-thread-7",
            "model": "gpt-5-codex",
            "prompt": "A one-off call that must not replace the conversation",
            "session_action": "fresh",
            "outcome": "error:api_error",
            "exit_code": 1,
            "error": "API error 500",
            "tokens": {"input": 50, "output": 0, "reasoning": 0},
            "duration_ms": 300,
        },
    ),
]

# An export of ours with a field aio does not know: an import must keep it.
IMPORTED = [
    {
        "schema_version": 1,
        "session_name": "plan-imported-thing",
        "created_at": "2026-09-01T00:00:00.000Z",
        "interactions": [
            {
                "schema_version": 1,
                "id": "imported-record-1",
                "timestamp": "2026-09-01T00:01:00.000Z",
                "session_name": "plan-imported-thing",
                "command": "plan",
                "feature_id": "imported-thing",
                "agent": "claude",
                "model": "claude-sonnet-4-5",
                "prompt_preview": "Imported",
                "tokens": {"input": 5, "output": 6, "cache_read": 0, "cache_write": 0},
                "cost": 0.000105,
                "cost_source": "computed",
                "duration_ms": 42,
                "outcome": "success",
                "team_label": "kept-on-import",
            }
        ],
    }
]


def run(args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None) -> str:
    done = subprocess.run(
        [*AIO, *args], env=env, cwd=cwd, input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"aio {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def build() -> None:
    if RECORDED.exists():
        shutil.rmtree(RECORDED)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store, project = work / "store", work / "proj"
        env = {**os.environ, "SESSION_DIR": str(store), "NO_COLOR": "1", "AIO_FSYNC": "0"}
        env.pop("TODO_FILE", None)
        run(["demo", "--dir", str(project), "--session-dir", str(store)], env, work)
        for name, record in RECORDS:
            run(["session", "record", name], env, work, json.dumps(record))
        export = work / "import.json"
        export.write_text(json.dumps(IMPORTED))
        run(["session", "import", str(export)], env, work)
        legacy = store / "implement-payment-gateway"
        legacy.mkdir(mode=0o700)
        (legacy / "metadata.json").write_text(json.dumps(LEGACY))
        os.chmod(legacy / "metadata.json", 0o600)
        (store / "index.sqlite").unlink(missing_ok=True)  # derived; rebuilt on read
        RECORDED.mkdir(parents=True)
        shutil.copytree(store, RECORDED / "store")
        shutil.copytree(project / ".aio", RECORDED / "project" / ".aio",
                        ignore=shutil.ignore_patterns("demo"))  # fmt: skip
    goldens = HERE / "goldens"
    if goldens.exists():
        shutil.rmtree(goldens)
    goldens.mkdir()
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            (goldens / f"{case.name}.out").write_bytes(capture(case, Path(tmp)))


if __name__ == "__main__":
    build()

"""The read commands whose output over the recorded store is frozen in ``goldens/``.

``capture`` copies ``recorded/`` (the session store and a project's ``.aio``) into a fresh
directory, runs one command there and returns its exit code and stdout, with the copy's
path replaced by ``<ROOT>`` (the only thing that differs between runs).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RECORDED = Path(__file__).resolve().parent / "recorded"

SESSIONS = (
    "implement-calc-basics",
    "implement-payment-gateway",
    "plan-calc-basics",
    "plan-imported-thing",
    "review-calc-basics",
    "run-multi-model",
)


SHOWN = "run-multi-model"  # the session with the most varied records
# Every session counts as active for a century: "active" is relative to today's date.
DAYS = ("--days", "36500")


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]


CASES: tuple[Case, ...] = (
    Case("session-list", ("session", "list", "--json", *DAYS)),
    Case("session-list-cost", ("session", "list", "--json", "--sort", "cost", *DAYS)),
    *(
        Case(f"session-show-{s}", ("session", "show", s, "--json", "--last", "50"))
        for s in SESSIONS
    ),
    Case("session-show-last2", ("session", "show", SHOWN, "--json", "--last", "2")),
    Case("session-stats", ("session", "stats", "--json", *DAYS)),
    *(
        Case(f"session-stats-by-{by}", ("session", "stats", "--json", "--by", by, *DAYS))
        for by in ("model", "command", "feature", "day", "task")
    ),
    Case("session-stats-one", ("session", "stats", "--json", "--session", SHOWN, *DAYS)),
    Case(
        "session-stats-one-task",
        ("session", "stats", "--json", "--session", "implement-calc-basics", "--by", "task", *DAYS),
    ),
    Case("session-export", ("session", "export", "--output", "-")),
    Case("session-export-csv", ("session", "export", "--output", "-", "--format", "csv")),
    Case("status", ("status", "--json")),
    Case("status-all", ("status", "--all", "--json")),
    Case("history", ("history", "--json")),
    Case("features", ("features", "--json")),
    Case("tasks", ("tasks", "--json")),
    Case("next", ("next", "--json")),
    Case("todo-list", ("todo", "list", "--json")),
    Case("todo-report", ("todo", "report", "--json")),
)


def capture(case: Case, tmp: Path, *, inprocess: bool = False) -> bytes:
    """``exit=<code>\\n`` then the command's stdout, run over a fresh copy of the store (as a
    process, or in this process with ``inprocess``: the tests, whose autouse fixture has
    already removed the variables dropped here)."""
    root = tmp / f"copy-{case.name}"
    shutil.copytree(RECORDED, root, symlinks=True)
    os.chmod(root / "store", 0o700)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIO_", "CLAUDE", "GEMINI_", "CODEX_", "OPENAI_", "ANTHROPIC_"))
        and key not in ("USE_SESSIONS", "AI_MODEL", "TODO_FILE")
    }
    env.update(
        SESSION_DIR=str(root / "store"),
        AIO_PROJECT_DIR=str(root / "project"),
        HOME=str(root),
        NO_COLOR="1",
        COLUMNS="200",
        AIO_FSYNC="0",
    )
    if inprocess:
        from tests.helpers import aio_inprocess

        overrides = {key: env[key] for key in env if os.environ.get(key) != env[key]}
        ran = aio_inprocess(*case.args, cwd=root / "project", env=overrides, debug=False)
        code, stdout = ran.code, ran.out.encode()
    else:
        done = subprocess.run(
            [sys.executable, "-m", "ai_orchestrator", *case.args],
            env=env,
            cwd=root / "project",
            capture_output=True,
            check=False,
        )
        code, stdout = done.returncode, done.stdout
    out = stdout.replace(str(root).encode(), b"<ROOT>")
    # A feature's health is its age now (active < 1 h, idle < 1 day, then stale): not a shape.
    out = re.sub(rb'"health": "(active|idle|stale)"', b'"health": "<by age>"', out)
    return b"exit=%d\n" % code + out

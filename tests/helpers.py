"""Shared helpers for tests: run the real CLI in a subprocess; sample interactions and a
store written by the earlier shell version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def aio(*args: str, input: str | None = None, timeout: float = 60, prog: str = "aio") -> Result:
    """Run ``aio`` (or ``ai-session`` with prog="ai-session") as a real process."""
    if prog == "ai-session":
        code = "from ai_orchestrator.cli.main import session_main; session_main()"
    else:
        code = "from ai_orchestrator.cli.main import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def interaction(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "agent": "claude",
        "model": "claude-sonnet-4-5",
        "prompt": "implement the thing",
        "tokens": {"input": 100, "output": 50, "cache_read": 1000, "cache_write": 200},
        "cost": 0.0125,
        "duration_ms": 1500,
        "outcome": "success",
    }
    record.update(overrides)
    return record


# A session as the earlier shell version (ai-session.sh) stored it: every interaction
# inside metadata.json.
LEGACY_METADATA: dict[str, Any] = {
    "created_at": "2026-10-01T10:00:00Z",
    "last_used": "2026-10-02T11:00:00Z",
    "session_id": "9b1f3c2e-5d4a-4e8b-9a61-2f0c7d3e1a55",
    "command": "claude",
    "session_name": "implement-payment-gateway",
    "interactions": [
        {
            "timestamp": "2026-10-01T10:00:00Z",
            "model": "claude-3-sonnet",
            "prompt_preview": "Task: T1.1...",
            "tokens": {"input": 150, "output": 50},
            "cost": 0.0012,
            "duration_ms": 3000,
        },
        {
            "timestamp": "2026-10-02T11:00:00Z",
            "model": "claude-3-opus",
            "prompt_preview": "Task: T1.2",
            "tokens": {"input": 1, "output": 3},
            "cost": 0.000048,
            "duration_ms": 1200,
        },
    ],
}


def write_legacy_store(root: Path) -> None:
    """A store under ``root`` as the shell version left it (loose modes included)."""
    session = root / "implement-payment-gateway"
    session.mkdir(parents=True)
    os.chmod(root, 0o755)
    (session / "metadata.json").write_text(json.dumps(LEGACY_METADATA))
    (session / ".lock").write_text("")
    os.chmod(session / ".lock", 0o644)

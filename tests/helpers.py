"""Shared helpers for tests: run the real CLI in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
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

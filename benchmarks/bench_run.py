"""``aio run`` overhead over the bare agent CLI (issue: agent backends).

Target: with an instant fake agent, the median of ``aio run`` minus the median of the fake
agent alone, measured in the same run with the calls interleaved, is at most 50 ms.

The fake agent is ``benchmarks/instant_claude.py``: a minimal stand-in that prints a
Claude Code stream (init + result with usage) and exits. ``aio run`` resumes the session
each time, prices the usage (model ``claude-sonnet-4-5``) and records the interaction.

The same loop also times ``python -c "import click"`` with aio's interpreter: the floor any
click-based ``aio`` command pays (interpreter start-up + click) before aio's own code runs.

Usage: ``python benchmarks/bench_run.py [--runs N]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import aio_bin, median, write_result

HERE = Path(__file__).resolve().parent


def timed(argv: list[str], env: dict[str, str], cwd: Path, stdin: bytes) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, input=stdin, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed: {proc.stderr.decode()[-400:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=31)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aio-bench-run-"))
    try:
        fake = HERE / "instant_claude.py"
        env = {
            **os.environ,
            "SESSION_DIR": str(work / "sessions"),
            "XDG_CACHE_HOME": str(work / "cache"),
            "AIO_AGENT_CLAUDE_EXECUTABLE": str(fake),
        }
        fake_argv = [
            str(fake),
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--resume=11111111-1111-4111-8111-111111111111",
        ]
        aio_argv = [*aio_bin(), "run", "run-bench", "hello"]
        # Warm up: first call creates the session (and the price cache), then interleave.
        timed(aio_argv, env, work, b"")
        timed(fake_argv, env, work, b"hello")
        floor_argv = [sys.executable, "-c", "import click"]
        alone, wrapped, floor = [], [], []
        for _ in range(args.runs):
            alone.append(timed(fake_argv, env, work, b"hello"))
            wrapped.append(timed(aio_argv, env, work, b""))
            floor.append(timed(floor_argv, env, work, b""))
        overhead = median(wrapped) - median(alone)
        result = {
            "runs": args.runs,
            "agent_alone_median_ms": round(median(alone) * 1000, 1),
            "aio_run_median_ms": round(median(wrapped) * 1000, 1),
            "overhead_median_ms": round(overhead * 1000, 1),
            "python_and_click_median_ms": round(median(floor) * 1000, 1),
            "paired_overhead_median_ms": round(
                median([w - a for w, a in zip(wrapped, alone, strict=True)]) * 1000, 1
            ),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    path = write_result("run_overhead", result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()

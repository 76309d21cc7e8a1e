"""``aio run`` overhead over the bare agent CLI, against the quickest real ``claude -p`` call.

Target (decision recorded in the developers' guide; it replaced the old "≤ 50 ms"): with an
instant fake agent, the median of ``aio run`` minus the median of the fake agent alone,
measured in the same run with the calls interleaved, is at most 15% of the quickest real
``claude -p`` call (the pinned Claude Code CLI from ``make agent-clis``) against the loopback
fake model API (``tests/fakeapi``), timed in the same run. Without the real CLI the script
stops with a message (the ratio would mean nothing).

The fake agent is ``benchmarks/instant_claude.py``: a minimal stand-in that prints a
Claude Code stream (init + result with usage) and exits. ``aio run`` resumes the session
each time, prices the usage (model ``claude-sonnet-4-5``) and records the interaction.

The same loop also times ``python -c "import click"`` with aio's interpreter: the floor any
click-based ``aio`` command pays (interpreter start-up + click) before aio's own code runs.

End to end with the real CLI (issue 24): in the same run, ``aio run --agent claude``
driving the real ``claude`` against the same fake API, resuming one session and starting
a new one, interleaved with ``claude -p`` alone; their difference of medians, as a
share of the ``claude -p`` median, is aio's whole cost around a real call (start-up,
imports, watchdog, reading the transcript back, pricing, recording).

Usage: ``python benchmarks/bench_run.py [--runs N] [--claude-runs N]``
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakeapi
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS, find_cli, offline_cli

from common import aio_bin, median, write_result

HERE = Path(__file__).resolve().parent
TARGET_SHARE = 0.15  # overhead / quickest real claude -p call


def timed(argv: list[str], env: dict[str, str], cwd: Path, stdin: bytes) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, input=stdin, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed: {proc.stderr.decode()[-400:]}")
    return elapsed


def real_claude_samples(work: Path, runs: int) -> dict[str, list[float]]:
    """Wall-clock seconds of ``runs`` real ``claude -p`` calls against the loopback fake API,
    interleaved with ``aio run`` driving the same CLI: resuming one session, and a new
    session each time (``alone``, ``aio_resumed``, ``aio_new``)."""
    exe = find_cli("claude")
    if exe is None:
        raise SystemExit("the real claude CLI is not installed: run `make agent-clis` first")
    home, cwd = work / "claude-home", work / "claude-cwd"
    cwd.mkdir(parents=True)
    samples: dict[str, list[float]] = {"alone": [], "aio_resumed": [], "aio_new": []}
    with FakeAPIServer() as api:
        argv, env = offline_cli("claude", api.url, home, exe=exe, inherit=os.environ)
        argv = [
            *argv,
            "-p",
            "say hello",
            "--output-format",
            "stream-json",
            "--verbose",
            "--model",
            MODELS["claude"],
        ]
        aio_env = {
            **env,
            "SESSION_DIR": str(work / "real-sessions"),
            "XDG_CACHE_HOME": str(work / "cache"),
            "AIO_AGENT_CLAUDE_EXECUTABLE": str(exe),
        }
        aio_run = [*aio_bin(), "run", "--agent", "claude", "--model", MODELS["claude"]]
        timed(argv, env, cwd, b"")  # warm-up: first start writes the CLI's config files
        timed([*aio_run, "run-real", "say hello"], aio_env, cwd, b"")
        for i in range(runs):
            samples["alone"].append(timed(argv, env, cwd, b""))
            samples["aio_resumed"].append(
                timed([*aio_run, "run-real", "say hello"], aio_env, cwd, b"")
            )
            samples["aio_new"].append(
                timed([*aio_run, f"run-new{i}", "say hello"], aio_env, cwd, b"")
            )
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--claude-runs", type=int, default=7)
    parser.add_argument("--label", default="after", help="names the result file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aio-bench-run-"))
    try:
        real = real_claude_samples(work, args.claude_runs)
        claude = real["alone"]
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
        quickest = min(claude)
        result = {
            "runs": args.runs,
            "claude_runs": args.claude_runs,
            "real_claude_quickest_ms": round(quickest * 1000, 1),
            "real_claude_median_ms": round(median(claude) * 1000, 1),
            "overhead_share_of_quickest_claude": round(overhead / quickest, 4),
            "target_share": TARGET_SHARE,
            "agent_alone_median_ms": round(median(alone) * 1000, 1),
            "aio_run_median_ms": round(median(wrapped) * 1000, 1),
            "overhead_median_ms": round(overhead * 1000, 1),
            "python_and_click_median_ms": round(median(floor) * 1000, 1),
            "real_aio_run_resumed_median_ms": round(median(real["aio_resumed"]) * 1000, 1),
            "real_aio_run_new_median_ms": round(median(real["aio_new"]) * 1000, 1),
            "real_overhead_resumed_share_of_claude_median": round(
                (median(real["aio_resumed"]) - median(claude)) / median(claude), 4
            ),
            "real_overhead_new_share_of_claude_median": round(
                (median(real["aio_new"]) - median(claude)) / median(claude), 4
            ),
            "paired_overhead_median_ms": round(
                median([w - a for w, a in zip(wrapped, alone, strict=True)]) * 1000, 1
            ),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    path = write_result(
        "run_overhead" if args.label == "after" else f"run_overhead-{args.label}", result
    )
    print(json.dumps(result, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()

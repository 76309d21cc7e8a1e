"""Shared helpers for the benchmark scripts: timing, medians, running aio."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AIO = [sys.executable, "-m", "ai_orchestrator"]


def aio_bin() -> list[str]:
    """The installed ``aio`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("aio")
    return [str(script)] if script.exists() else AIO


def time_command(argv: list[str], env: Mapping[str, str], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` executions (output discarded; must exit 0)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            argv, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        samples.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{argv} failed: {proc.stderr.decode()[-500:]}")
    return samples


def time_with_cpu(argv: list[str], env: Mapping[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system of the child) of one execution."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time_command(argv, env, 1)[0]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def time_call(fn: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def write_result(name: str, payload: dict[str, object]) -> Path:
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"{name}.json"
    payload = {
        "benchmark": name,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path

"""Tab completion latency: the time the shell waits for the values of one word.

Builds a store of ``--sessions`` sessions (each with one call, models varied, the index
built by one ``aio session list``) and a project with a planned feature, then times whole
``aio`` processes as bash runs them (``_AIO_COMPLETE=bash_complete``) completing an agent,
a model (from the store's index), a session name, a feature id and a task id: wall time and
the process's CPU time (user + system), the figure that a loaded machine distorts least.
Writes ``benchmarks/results/complete.json``; the target is 150 ms for the slowest of them.

``--compare-with LABEL=OTHER/src`` (repeatable) also times the code at ``OTHER/src`` (run
with ``PYTHONPATH``; byte-compile it first, as ``make venv`` does ours), interleaved sample
by sample with this tree so both see the same load; it then also times the start of
``aio --version`` and ``aio run --help`` of each.

    .venv/bin/python benchmarks/bench_complete.py [--sessions 10000] [--runs 9]
        [--compare-with before=/tmp/old/src]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from common import aio_bin, time_command, time_with_cpu

HERE = Path(__file__).resolve().parent
LINES = {
    "agent": "aio verify --agent ",
    "model": "aio run --model ",
    "session": "aio session show implement-",
    "feature": "aio status ",
    "task": "aio implement --task T",
}
STARTS = {"version": ["--version"], "run_help": ["run", "--help"]}
PLAN = """schema_version: 1
phases:
- number: 1
  name: Core
  tasks:
""" + "".join(f"  - {{id: T1.{n}, title: task {n}, status: pending}}\n" for n in range(1, 30))


def build(work: Path, sessions: int) -> dict[str, str]:
    env = {**os.environ, "SESSION_DIR": str(work / "store"), "AIO_FSYNC": "0"}
    objects = [
        {
            "session_name": f"implement-feature-{n:05d}",
            "interactions": [
                {
                    "id": f"bench-{n}",
                    "timestamp": "2026-12-01T00:00:00Z",
                    "agent": "claude",
                    "model": f"claude-model-{n % 40}",
                    "prompt": "p",
                    "tokens": {"input": 1, "output": 1, "cache_read": 0, "cache_write": 0},
                    "cost": 0.001,
                    "duration_ms": 10,
                    "outcome": "success",
                }
            ],
        }
        for n in range(sessions)
    ]
    export = work / "export.json"
    export.write_text(json.dumps(objects))
    subprocess.run([*aio_bin(), "session", "import", str(export)], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    subprocess.run([*aio_bin(), "session", "list", "--json"], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    project = work / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    for feature in ("calc", "search-service"):
        subprocess.run([*aio_bin(), "init", feature], cwd=project, env=env, check=True,
                       capture_output=True)  # fmt: skip
    (project / ".aio" / "features" / "search-service" / "plan.yaml").write_text(PLAN)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--compare-with", action="append", default=[], metavar="LABEL=SRC")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aio-bench-complete-"))
    try:
        env = build(work, args.sessions)
        os.chdir(work / "project")
        result: dict[str, object] = {"sessions": args.sessions}
        for what, line in LINES.items():
            words = line.split()
            index = len(words) if line.endswith(" ") else len(words) - 1
            call = {**env, "_AIO_COMPLETE": "bash_complete", "COMP_WORDS": line,
                    "COMP_CWORD": str(index)}  # fmt: skip
            cpu = []
            samples = []
            for _ in range(args.runs):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                samples += time_command(aio_bin(), call, 1)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            result[f"{what}_median_s"] = statistics.median(samples)
            result[f"{what}_cpu_median_s"] = statistics.median(cpu)
        walls = [v for k, v in result.items() if k.endswith("_median_s") and "cpu" not in k]
        cpus = [v for k, v in result.items() if k.endswith("_cpu_median_s")]
        result["slowest_median_s"] = max(float(v) for v in walls if isinstance(v, float))
        result["slowest_cpu_median_s"] = max(float(v) for v in cpus if isinstance(v, float))
        if args.compare_with:
            others = dict(c.split("=", 1) if "=" in c else ("before", c) for c in args.compare_with)
            result["compare"] = compare(env, others, args.runs)
        result["load_average_1m"] = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = HERE / "results" / "complete.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def compare(env: dict[str, str], others: dict[str, str], runs: int) -> dict[str, object]:
    """Each completion and each start (``STARTS``) of every tree in ``others`` (label → its
    ``src``) and of this one (``after``), interleaved sample by sample: medians of wall
    and CPU time, and each tree's CPU median over ``after``'s."""
    trees = {label: {**env, "PYTHONPATH": src} for label, src in others.items()}
    trees["after"] = env
    argvs: dict[str, tuple[list[str], dict[str, str]]] = {}
    for what, line in LINES.items():
        words = line.split()
        index = len(words) if line.endswith(" ") else len(words) - 1
        argvs[what] = (aio_bin(), {"_AIO_COMPLETE": "bash_complete", "COMP_WORDS": line,
                                   "COMP_CWORD": str(index)})  # fmt: skip
    for what, start in STARTS.items():
        argvs[what] = ([*aio_bin(), *start], {})
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for _ in range(runs):
        for what, (argv, extra) in argvs.items():
            for label, tree in trees.items():
                w, c = time_with_cpu(argv, {**tree, **extra})
                wall.setdefault(f"{label}_{what}", []).append(w)
                cpu.setdefault(f"{label}_{what}", []).append(c)
    result: dict[str, object] = {"runs": runs}
    for key in wall:
        result[f"{key}_median_s"] = round(statistics.median(wall[key]), 4)
        result[f"{key}_cpu_median_s"] = round(statistics.median(cpu[key]), 4)
    for label in others:
        for what in argvs:
            ratio = statistics.median(cpu[f"after_{what}"]) / statistics.median(
                cpu[f"{label}_{what}"]
            )
            result[f"{what}_cpu_after_over_{label}"] = round(ratio, 3)
    return result


if __name__ == "__main__":
    main()

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

Before/after (issue 24): ``--compare-with before=<old checkout>/src`` times that tree's
``aio run`` too, interleaved call by call with this tree's (each tree its own session store
and price cache), in both the fake-agent and the real-CLI loops; CPU time (user + system of
the process and its children: the agent's share is the same for both) is kept beside wall
time, and the result holds each tree's figures under ``trees`` (this tree: ``after``).
Byte-compile the old tree first (``python -m compileall -q <it>/src``).

Usage: ``python benchmarks/bench_run.py [--runs N] [--claude-runs N]
[--compare-with LABEL=SRC ...]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
    return timed_cpu(argv, env, cwd, stdin)[0]


def timed_cpu(
    argv: list[str], env: dict[str, str], cwd: Path, stdin: bytes
) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the process and its waited-for children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, input=stdin, capture_output=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed: {proc.stderr.decode()[-400:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu


def launchers(work: Path, compare: list[str]) -> dict[str, list[str]]:
    """``after``: this tree's ``aio``; each ``LABEL=SRC``: a script that runs ``aio`` from SRC
    with this interpreter (what the console script does, from another tree)."""
    trees = {"after": aio_bin()}
    for item in compare:
        label, _, src = item.partition("=")
        if not label or label == "after" or not (Path(src) / "ai_orchestrator").is_dir():
            raise SystemExit(f"--compare-with wants LABEL=SRC (a tree's src), not {item!r}")
        script = work / f"aio-{label}"
        script.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(Path(src).resolve())!r})\n"
            "from ai_orchestrator.cli.launch import main\nmain()\n"
        )
        script.chmod(0o755)
        trees[label] = [str(script)]
    return trees


Samples = dict[str, list[tuple[float, float]]]


def real_claude_samples(work: Path, runs: int, trees: dict[str, list[str]]) -> Samples:
    """Wall and CPU seconds of ``runs`` real ``claude -p`` calls against the loopback fake API
    (``alone``), interleaved with ``aio run`` of each tree driving the same CLI: resuming one
    session (``<tree>:resumed``), and a new session each time (``<tree>:new``)."""
    exe = find_cli("claude")
    if exe is None:
        raise SystemExit("the real claude CLI is not installed: run `make agent-clis` first")
    home, cwd = work / "claude-home", work / "claude-cwd"
    cwd.mkdir(parents=True)
    samples: Samples = {"alone": []}
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
        envs = {
            label: {
                **env,
                "SESSION_DIR": str(work / label / "real-sessions"),
                "XDG_CACHE_HOME": str(work / label / "cache"),
                "AIO_AGENT_CLAUDE_EXECUTABLE": str(exe),
            }
            for label in trees
        }
        options = ["run", "--agent", "claude", "--model", MODELS["claude"]]
        timed(argv, env, cwd, b"")  # warm-up: first start writes the CLI's config files
        for label, aio in trees.items():
            samples[f"{label}:resumed"], samples[f"{label}:new"] = [], []
            timed([*aio, *options, "run-real", "say hello"], envs[label], cwd, b"")
        for i in range(runs):
            samples["alone"].append(timed_cpu(argv, env, cwd, b""))
            for label, aio in trees.items():
                samples[f"{label}:resumed"].append(
                    timed_cpu([*aio, *options, "run-real", "say hello"], envs[label], cwd, b"")
                )
                samples[f"{label}:new"].append(
                    timed_cpu([*aio, *options, f"run-new{i}", "say hello"], envs[label], cwd, b"")
                )
    return samples


def _ms(samples: list[tuple[float, float]], which: int = 0) -> float:
    return round(median([s[which] for s in samples]) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--claude-runs", type=int, default=7)
    parser.add_argument("--label", default="after", help="names the result file")
    parser.add_argument("--compare-with", nargs="*", default=[], metavar="LABEL=SRC")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aio-bench-run-"))
    try:
        trees = launchers(work, args.compare_with)
        real = real_claude_samples(work, args.claude_runs, trees)
        claude = [wall for wall, _ in real["alone"]]
        fake = HERE / "instant_claude.py"
        envs = {
            label: {
                **os.environ,
                "SESSION_DIR": str(work / label / "sessions"),
                "XDG_CACHE_HOME": str(work / label / "cache"),
                "AIO_AGENT_CLAUDE_EXECUTABLE": str(fake),
            }
            for label in trees
        }
        fake_argv = [
            str(fake),
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--resume=11111111-1111-4111-8111-111111111111",
        ]
        run_args = ["run", "run-bench", "hello"]
        # Warm up: first call creates the session (and the price cache), then interleave.
        for label, aio in trees.items():
            timed([*aio, *run_args], envs[label], work, b"")
        timed(fake_argv, envs["after"], work, b"hello")
        floor_argv = [sys.executable, "-c", "import click"]
        alone: list[tuple[float, float]] = []
        floor: list[tuple[float, float]] = []
        wrapped: Samples = {label: [] for label in trees}
        for _ in range(args.runs):
            alone.append(timed_cpu(fake_argv, envs["after"], work, b"hello"))
            for label, aio in trees.items():
                wrapped[label].append(timed_cpu([*aio, *run_args], envs[label], work, b""))
            floor.append(timed_cpu(floor_argv, envs["after"], work, b""))
        quickest = min(claude)
        per_tree = {}
        for label in trees:
            overhead = median([w for w, _ in wrapped[label]]) - median([w for w, _ in alone])
            resumed, new = real[f"{label}:resumed"], real[f"{label}:new"]
            per_tree[label] = {
                "overhead_share_of_quickest_claude": round(overhead / quickest, 4),
                "aio_run_median_ms": _ms(wrapped[label]),
                "aio_run_cpu_median_ms": _ms(wrapped[label], 1),
                "overhead_median_ms": round(overhead * 1000, 1),
                "overhead_cpu_median_ms": round(_ms(wrapped[label], 1) - _ms(alone, 1), 1),
                "paired_overhead_median_ms": round(
                    median([w[0] - a[0] for w, a in zip(wrapped[label], alone, strict=True)])
                    * 1000,
                    1,
                ),
                "real_aio_run_resumed_median_ms": _ms(resumed),
                "real_aio_run_new_median_ms": _ms(new),
                "real_aio_run_resumed_cpu_median_ms": _ms(resumed, 1),
                "real_aio_run_new_cpu_median_ms": _ms(new, 1),
                "real_overhead_resumed_share_of_claude_median": round(
                    (median([w for w, _ in resumed]) - median(claude)) / median(claude), 4
                ),
                "real_overhead_new_share_of_claude_median": round(
                    (median([w for w, _ in new]) - median(claude)) / median(claude), 4
                ),
                "real_overhead_resumed_share_of_quickest_claude": round(
                    (median([w for w, _ in resumed]) - median(claude)) / quickest, 4
                ),
            }
        result = {
            "runs": args.runs,
            "claude_runs": args.claude_runs,
            "load_average_1m": round(os.getloadavg()[0], 2),
            "real_claude_quickest_ms": round(quickest * 1000, 1),
            "real_claude_median_ms": round(median(claude) * 1000, 1),
            "real_claude_cpu_median_ms": _ms(real["alone"], 1),
            "target_share": TARGET_SHARE,
            "agent_alone_median_ms": _ms(alone),
            "agent_alone_cpu_median_ms": _ms(alone, 1),
            "python_and_click_median_ms": _ms(floor),
            "python_and_click_cpu_median_ms": _ms(floor, 1),
            **per_tree["after"],
            "trees": per_tree,
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

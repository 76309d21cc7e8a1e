"""Run every benchmark, then write ``benchmarks/RESULTS.md`` from their JSON results.

Each benchmark script writes ``benchmarks/results/<name>.json`` (ignored by git); this script
runs them in turn and renders the figures, the targets and whether each is met into
``RESULTS.md`` together with the command that reproduces them. ``--render-only`` re-renders
from the JSON files already there.

Usage: ``python benchmarks/run_all.py [--render-only] [--sessions N]``
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"


def _run(script: str, *args: str) -> None:
    print(f"== {script} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *args], check=True)


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RESULTS_DIR / f"{name}.json").read_text())
    return data


def _row(what: str, measured: str, target: str, met: bool) -> str:
    return f"| {what} | {measured} | {target} | {'yes' if met else '**no**'} |"


def render() -> str:
    store = _load("store")
    run = _load("run_overhead")
    listing, growth = store["list_stats"], store["record_growth"]
    conc, version = store["concurrent_writers"], store["aio_version"]
    rows = [
        _row(
            f"`aio session list --json`, {listing['sessions']:,} sessions × 20 interactions",
            f"{listing['list_json_median_s'] * 1000:.0f} ms",
            "≤ 500 ms",
            listing["list_json_median_s"] <= 0.5,
        ),
        _row(
            f"`aio session stats --json`, {listing['sessions']:,} sessions × 20 interactions",
            f"{listing['stats_json_median_s'] * 1000:.0f} ms",
            "≤ 500 ms",
            listing["stats_json_median_s"] <= 0.5,
        ),
        _row(
            "recording interaction #10,000 vs #1 of one session (median time ratio)",
            f"{growth['ratio_late_over_early']:.2f}× "
            f"({growth['median_record_near_10000_s'] * 1e3:.2f} ms vs "
            f"{growth['median_record_near_1_s'] * 1e3:.2f} ms)",
            "≤ 1.5×",
            growth["ratio_late_over_early"] <= 1.5,
        ),
        _row(
            f"{conc['writers']} concurrent writer processes, one session",
            f"{conc['interactions_per_s']:,.0f} interactions/s, {conc['lost']} lost "
            f"({conc['interactions_recorded']:,}/{conc['interactions_expected']:,})",
            "≥ 300/s, 0 lost",
            conc["interactions_per_s"] >= 300 and conc["lost"] == 0,
        ),
        _row(
            "`aio --version`",
            f"{version['median_s'] * 1000:.0f} ms",
            "≤ 150 ms",
            version["median_s"] <= 0.15,
        ),
        _row(
            "`aio run` overhead over the instant fake agent alone (difference of medians, "
            "same run, interleaved)",
            f"{run['overhead_median_ms']:.0f} ms (aio run {run['aio_run_median_ms']:.0f} ms, "
            f"agent alone {run['agent_alone_median_ms']:.0f} ms; paired median "
            f"{run['paired_overhead_median_ms']:.0f} ms; of which Python start-up + `import "
            f"click` alone: {run['python_and_click_median_ms']:.0f} ms)",
            "≤ 50 ms",
            run["overhead_median_ms"] <= 50,
        ),
    ]
    return "\n".join(
        [
            "# Benchmark results",
            "",
            "Written by `benchmarks/run_all.py` from `benchmarks/results/*.json`. Reproduce with",
            "",
            "```bash",
            "make bench        # = .venv/bin/python benchmarks/run_all.py",
            "```",
            "",
            f"Measured {store['when']} on {platform.machine()}, {store['cpus']} CPUs, "
            f"Python {store['python']} (a shared, noisy machine: every figure is a median of "
            f"several runs; the `aio run` overhead compares two medians taken in the same run).",
            "",
            "| What | Measured (median) | Target | Met |",
            "|---|---|---|---|",
            *rows,
            "",
            "Method:",
            "",
            "- `bench_store.py`: builds the store through `aio session import` of a generated",
            "  export, then times `list --json` / `stats --json` as whole processes "
            f"({len(listing['list_json_samples_s'])} runs each, after one warm-up run).",
            "  Recording growth times `SessionStore.record` (with fsync) 200 times near the start",
            "  and 200 times near interaction #10,000 of one session. The writers are started",
            "  first and released together; each appends "
            f"{conc['interactions_expected'] // conc['writers']} interactions, and the",
            "  session's count is checked afterwards.",
            f"- `bench_run.py`: {run['runs']} interleaved pairs of (fake agent alone, `aio run`",
            "  resuming a session with the same fake agent); `aio run` also prices the usage and",
            "  records the interaction.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--sessions", default="10000")
    args = parser.parse_args()
    if not args.render_only:
        _run("bench_store.py", "--sessions", args.sessions)
        _run("bench_run.py")
    (HERE / "RESULTS.md").write_text(render())
    print(f"written {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()

"""Run every benchmark several times, then write ``benchmarks/RESULTS.md`` from the results.

Each benchmark script writes ``benchmarks/results/<name>.json`` (ignored by git). This script
runs them ``--repeat`` times in turn (the 10,000-session store is built once and reused),
keeps each run as ``<name>-run<i>.json``, and renders into ``RESULTS.md`` the median over the
runs of every figure (each run's figure is itself a median of many samples), the per-run
figures, the targets and whether each is met, with the command that reproduces them.
``--render-only`` re-renders from the JSON files already there.

Usage: ``python benchmarks/run_all.py [--repeat N] [--render-only] [--sessions N]``
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"


def _run(script: str, *args: str) -> None:
    print(f"== {script} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *args], check=True)


def _runs(name: str) -> list[dict[str, Any]]:
    """Every kept run of benchmark ``name``, oldest first."""
    paths = sorted(
        RESULTS_DIR.glob(f"{name}-run*.json"), key=lambda p: int(p.stem.rsplit("run")[-1])
    )
    return [json.loads(p.read_text()) for p in paths]


def _median_of(runs: list[Any]) -> Any:
    """The runs merged: numbers become their median over the runs, mappings are merged key by
    key, anything else (samples, labels) is the first run's."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: _median_of([r[k] for r in runs]) for k in first}
    if all(isinstance(r, int | float) and not isinstance(r, bool) for r in runs):
        return statistics.median(runs)
    return first


def _per_run(runs: list[dict[str, Any]], *keys: str, scale: float = 1.0, fmt: str = ".0f") -> str:
    values = []
    for run in runs:
        value: Any = run
        for key in keys:
            value = value[key]
        values.append(format(value * scale, fmt))
    return ", ".join(values)


def _row(what: str, measured: str, runs: str, target: str, met: bool) -> str:
    return f"| {what} | {measured} | {runs} | {target} | {'yes' if met else '**no**'} |"


def _corpus_rows(corpus: dict[str, Any]) -> list[str]:
    """The secrets corpus: aio (targets) and detect-secrets beside it (no target)."""
    aio, shapes, looks = corpus["aio"], corpus["secret_shapes"], corpus["look_alikes"]
    rows = [
        _row(
            f"secrets corpus (`benchmarks/secret_corpus.txt`: {shapes} shapes, {looks} "
            "look-alikes), aio: secrets left / false positives",
            f"{len(aio['leaks'])} leaks ({aio['found']}/{shapes} found), "
            f"{len(aio['false_positives'])}/{looks} false positives; "
            f"{aio['cpu_s_per_mb']:.2f} s CPU per MB (each entry a call)",
            "1 run",
            "0 leaks, false positives ≤ 2%",
            not aio["leaks"] and len(aio["false_positives"]) <= 0.02 * looks,
        )
    ]
    if "detect_secrets" in corpus:
        other = corpus["detect_secrets"]
        rows.append(
            f"| the same corpus, detect-secrets {other['version']} (default plugins and "
            f"filters; an entry counts as found when anything in it is reported) | "
            f"{other['found']}/{shapes} found, {len(other['false_positives'])}/{looks} false "
            f"positives; {other['cpu_s_per_mb']:.2f} s CPU per MB | 1 run | (comparison) | — |"
        )
    return rows


# Profiles of what is left, taken by hand (cProfile; on 2026-12-07 at load average 6-11 on
# the 2-core machine, so the absolute times are inflated several-fold: read the shares).
REMAINS = [
    "## What remains (profiles)",
    "",
    "Taken with cProfile on 2026-12-07 while the machine ran at load average 6-11 (other "
    "sessions' test suites): absolute times are inflated several-fold, the shares are what "
    'counts. Reproduce: `python -c \'import cProfile, sys; sys.argv = ["aio", "session", '
    '"stats", "--json"]; from ai_orchestrator.cli.main import main; '
    'cProfile.run("main()", sort="tottime")\'` with `SESSION_DIR` on the bench store.',
    "",
    "- **CPU time instead of wall time** (user + system of the process, medians of 5 "
    "interleaved runs by hand at load ~6-8, when `aio --version` took 113 ms of CPU against "
    "~55 ms unloaded): 10,000 sessions `list --json` 901 ms before, 395 ms after; `stats "
    "--json` 723 ms before, 282 ms after; 100,000 sessions after: `list` 2,678 ms, `stats` "
    "1,469 ms.",
    "- **Warm `stats --json`, 100,000 sessions** (2.6 s profiled): the index read into Python "
    "(`fetchall` of 100,000 rows × 19 columns, documents left out) 42%; transposing the rows "
    "into columns 13%; comparing the store's names after its mtime moved 12% (only on the "
    "first listing after sessions were added); per-row `problems`/`reported_by` checks 10%; "
    "start-up and imports the rest. No session file is opened. What would meet 500 ms: "
    "totals computed by SQLite (`SUM` over the numeric columns in C) instead of rows "
    "materialised in Python.",
    "- **Warm `list --json`, 100,000 sessions**: as `stats`, plus 168 MB of JSON documents "
    "(1.7 kB a session with 4 models) fetched, joined and written; the output alone is "
    "what makes 500 ms out of reach by reading rows. What would meet it: the documents kept "
    "as one pre-sorted blob per sort order, written with one `write`.",
    "- **First listing without an index**: 100,000 sessions took 630 s wall and 100 s CPU "
    "(one run by hand at load ~10, page cache cold; target 30 s: **not met** here). Its "
    "profile on 10,000 sessions: `read` of the summaries 37%, `lstat` 13% (14 per session: "
    "validation, mode tightening, odd-file checks, signature), JSON 7%, SQLite inserts 3%: "
    "file I/O, so a machine with the store in its page cache does it many times faster.",
    "- **`aio run` with the instant fake** (3.2-4.1 s profiled): imports 51-58% (of "
    "which compiling the redaction rules' regular expressions ~15% and building dataclasses "
    "~8-14%; click and its `inspect`/`uuid`/`platform` imports most of the rest), the agent "
    "process itself (the runner waiting on it, incl. the watchdog's start) 35-42%, recording "
    "7%, pricing 4%. The 15% target leaves ~66 ms for all of aio when `claude -p` takes "
    "440 ms; Python and click alone take 44 ms of it. Not met: it needs a `run` entry that "
    "imports neither click nor the redaction rules up front, or a resident process.",
    "",
]


def _size(key: str) -> int:
    return int(key.rsplit("_", 1)[-1]) if key.startswith("list_stats_") else 0


def _before_after(store: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """Issue 24's before/after table: ``list``/``stats`` of the older commit and of this tree
    interleaved in one run (``bench_store.py --label compare --compare-with OLD/src``), and
    the ``aio run`` figures of ``bench_run.py --label before`` run on the older code."""
    path = RESULTS_DIR / "store-compare.json"
    if not path.exists():
        return []
    compare = json.loads(path.read_text())
    lines = [
        "## Before and after issue 24 (the warm path through the change journal)",
        "",
        "Before: `main` at 0e641fe (discovery scan + three `lstat` per session, no journal); "
        "`speed`: the journal branch alone (no per-session check: misses hand edits inside "
        "a session); after: this tree (journal + the discovery scan's `lstat` of each log + "
        "`lstat` of each session directory and `metadata.json`). Interleaved run by run in "
        f"one run ({compare['when']}), each on its own hard-linked copy of the same store "
        "(`bench_store.py --sessions 10000 --runs 9 --label compare --only-list "
        "--compare-with before=<0e641fe>/src speed=<speed>/src`). Medians; CPU = user + "
        "system time of the process (less sensitive to the load than wall time).",
        "",
        "| What | Before | `speed` | After | After / before |",
        "|---|---|---|---|---|",
    ]
    for key in sorted((k for k in compare if k.startswith("compare_")), key=_size):
        item = compare[key]
        for what in ("list", "stats"):
            for kind, suffix in (("wall", ""), ("CPU", "_cpu")):
                old = item.get(f"before_{what}{suffix}_median_s")
                new = item.get(f"after_{what}{suffix}_median_s")
                mid = item.get(f"speed_{what}{suffix}_median_s")
                if old is None or new is None:
                    continue
                middle = f"{mid * 1000:,.0f} ms" if mid is not None else "—"
                lines.append(
                    f"| `{what} --json`, {item['sessions']:,} sessions, {kind} | "
                    f"{old * 1000:,.0f} ms | {middle} | {new * 1000:,.0f} ms | {new / old:.2f}× |"
                )
    run_path = RESULTS_DIR / "run_overhead-before.json"
    if run_path.exists():  # separate runs: only each run's own ratio compares
        old = json.loads(run_path.read_text())
        field = "overhead_share_of_quickest_claude"
        lines.append(
            "| `aio run` overhead over the instant fake, as a share of the quickest "
            "`claude -p` of the same run (separate runs for before and after) | "
            f"{old[field] * 100:.1f}% | — | {run[field] * 100:.1f}% | |"
        )
    return [*lines, ""]


def render() -> str:
    store_runs, run_runs = _runs("store"), _runs("run_overhead")
    store, run = _median_of(store_runs), _median_of(run_runs)
    redact_runs = _runs("redact")
    redaction = _median_of(redact_runs)
    growth = store["record_growth"]
    conc, version = store["concurrent_writers"], store["aio_version"]
    listings = [store[k] for k in sorted(store, key=_size) if k.startswith("list_stats_")]
    listing = listings[0]
    rows = []
    for item in listings:
        n = item["sessions"]
        target = 0.15 if n <= 10_000 else 0.5
        key = f"list_stats_{n}"
        for what, field in (("list", "list_json_median_s"), ("stats", "stats_json_median_s")):
            rows.append(
                _row(
                    f"`aio session {what} --json`, {n:,} sessions × 20 interactions, warm",
                    f"{item[field] * 1000:.0f} ms",
                    _per_run(store_runs, key, field, scale=1000),
                    f"≤ {target * 1000:.0f} ms",
                    item[field] <= target,
                )
            )
        if "cold_list_json_s" in item:
            rows.append(
                _row(
                    f"first `aio session list --json` of {n:,} sessions (no index yet)",
                    f"{item['cold_list_json_s']:.1f} s",
                    _per_run(
                        [r for r in store_runs if "cold_list_json_s" in r[key]],
                        key,
                        "cold_list_json_s",
                        fmt=".1f",
                    ),
                    "≤ 30 s",
                    item["cold_list_json_s"] <= 30,
                )
            )
    first = store.get("first_record")
    if first:
        rows.append(
            _row(
                f"recording interaction #1 into a store of {first['sessions_in_big_store']:,} "
                "entries vs an empty one (median time ratio)",
                f"{first['ratio_big_over_empty']:.2f}× "
                f"({first['median_first_record_big_s'] * 1e3:.2f} ms vs "
                f"{first['median_first_record_empty_s'] * 1e3:.2f} ms)",
                _per_run(store_runs, "first_record", "ratio_big_over_empty", fmt=".2f"),
                "≤ 1.2×",
                first["ratio_big_over_empty"] <= 1.2,
            )
        )
    rows += [
        _row(
            "recording interaction #10,000 vs #1 of one session (median time ratio)",
            f"{growth['ratio_late_over_early']:.2f}× "
            f"({growth['median_record_near_10000_s'] * 1e3:.2f} ms vs "
            f"{growth['median_record_near_1_s'] * 1e3:.2f} ms)",
            _per_run(store_runs, "record_growth", "ratio_late_over_early", fmt=".2f"),
            "≤ 1.5×",
            growth["ratio_late_over_early"] <= 1.5,
        ),
        _row(
            f"{conc['writers']} concurrent writer processes, one session",
            f"{conc['interactions_per_s']:,.0f} interactions/s, {conc['lost']} lost "
            f"({conc['interactions_recorded']:,}/{conc['interactions_expected']:,})",
            _per_run(store_runs, "concurrent_writers", "interactions_per_s"),
            "≥ 300/s, 0 lost",
            conc["interactions_per_s"] >= 300 and conc["lost"] == 0,
        ),
        _row(
            "`aio --version`",
            f"{version['median_s'] * 1000:.0f} ms",
            _per_run(store_runs, "aio_version", "median_s", scale=1000),
            "≤ 150 ms",
            version["median_s"] <= 0.15,
        ),
        _row(
            f"redacting a 1 MB prompt ({redaction['planted_secrets']} planted secrets, all "
            "removed), rules compiled: CPU time of the call",
            f"{redaction['cpu_median_s'] * 1000:.0f} ms CPU (wall "
            f"{redaction['median_s'] * 1000:.0f} ms at load average "
            f"{redaction['load_average_1m']:.1f}; first call in a new process, import and "
            f"compile included: {redaction['cold_median_s'] * 1000:.0f} ms wall)",
            _per_run(redact_runs, "cpu_median_s", scale=1000),
            "≤ 50 ms",
            redaction["cpu_median_s"] <= 0.05,
        ),
        *(_corpus_rows(redaction["corpus"]) if "corpus" in redaction else []),
        _row(
            "`aio run` overhead over the instant fake agent alone (difference of medians, "
            "same run, interleaved), as a share of the quickest real `claude -p` call against "
            "the loopback fake API (same run)",
            f"{run['overhead_share_of_quickest_claude'] * 100:.1f}% "
            f"({run['overhead_median_ms']:.0f} ms of {run['real_claude_quickest_ms']:.0f} ms; "
            f"aio run {run['aio_run_median_ms']:.0f} ms, agent alone "
            f"{run['agent_alone_median_ms']:.0f} ms, paired median "
            f"{run['paired_overhead_median_ms']:.0f} ms; Python start-up + `import click` "
            f"alone: {run['python_and_click_median_ms']:.0f} ms; real `claude -p` median "
            f"{run['real_claude_median_ms']:.0f} ms)",
            _per_run(run_runs, "overhead_share_of_quickest_claude", scale=100, fmt=".1f") + " (%)",
            f"≤ {run['target_share'] * 100:.0f}%",
            run["overhead_share_of_quickest_claude"] <= run["target_share"],
        ),
        _row(
            "`aio run --agent claude` with the real Claude Code CLI against the loopback fake "
            "API, over `claude -p` alone (difference of medians, same run, interleaved), as a "
            "share of the `claude -p` median: resuming a session / a new session",
            f"{run['real_overhead_resumed_share_of_claude_median'] * 100:.1f}% / "
            f"{run['real_overhead_new_share_of_claude_median'] * 100:.1f}% (aio run "
            f"{run['real_aio_run_resumed_median_ms']:.0f} / "
            f"{run['real_aio_run_new_median_ms']:.0f} ms, claude -p "
            f"{run['real_claude_median_ms']:.0f} ms)"
            + (
                "; at this load `claude -p` itself was slowed far more than aio, so this "
                "share is no evidence either way"
                if run["real_claude_median_ms"] >= 1000
                else ""
            ),
            _per_run(run_runs, "real_overhead_resumed_share_of_claude_median", scale=100, fmt=".1f")
            + " (%)",
            f"≤ {run['target_share'] * 100:.0f}%",
            # A loaded machine slows the node CLI more than aio: no evidence then.
            run["real_overhead_resumed_share_of_claude_median"] <= run["target_share"]
            and run["real_claude_median_ms"] < 1000,
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
            f"Python {store['python']}. This is a shared, noisy machine: each figure is the "
            f"median over {len(store_runs)} runs of the benchmark (the per-run figures are "
            "listed), and each run's figure is itself a median of many samples; the `aio run` "
            "overhead compares two medians taken in the same run.",
            "",
            *(
                [
                    f"**This run's machine was heavily loaded** (other sessions' test suites, "
                    f"load average ~10 on 2 cores): `aio --version` took "
                    f"{version['median_s'] * 1000:.0f} ms against 58 ms on 2026-12-02. Every "
                    "absolute time below is inflated accordingly, so a target missed here says "
                    "little; the before/after table, measured interleaved, is the comparison "
                    "to read.",
                    "",
                ]
                if version["median_s"] > 0.15
                else []
            ),
            "| What | Measured (median of runs) | Per run | Target | Met |",
            "|---|---|---|---|---|",
            *rows,
            "",
            *_before_after(store, run),
            "The `aio run` target compares two things measured in the same run: aio's "
            "overhead and the quickest real `claude -p` call, the pinned Claude Code CLI "
            "answering from the loopback fake API. "
            + (
                ""
                if run["overhead_share_of_quickest_claude"] <= run["target_share"]
                else "It is not met. Where aio's part goes: the interpreter start-up and "
                f"`import click` ({run['python_and_click_median_ms']:.0f} ms, listed beside it), "
                "the agent's watchdog (a second, minimal Python process that outlives aio to "
                "kill the agent's tree and hold the run lock if aio dies; measured apart, not "
                "by this script: +15-17 ms, median of 30 `runner.run` calls of `/bin/true` with "
                "and without it), aio's "
                "own imports (store, adapter, pricing, redaction rules) and its work for the "
                "call (run lock, recovery check and pending-call marker, session todos, "
                "pricing, the record and the summary, with fsyncs). Meeting it would take a "
                "`run` path that starts without click and a watchdog that is forked rather "
                "than started anew. "
            )
            + "`python -X importtime -m ai_orchestrator run …` shows where the imports go.",
            "",
            *REMAINS,
            "Method:",
            "",
            "- `bench_store.py`: the stores of 10,000 and 100,000 sessions × 20 interactions are",
            "  written once by `store_fixture.py` (the store's own record and summary code for 84",
            "  template sessions, then copies with names substituted) and hard-linked per label;",
            "  `list --json` / `stats --json` are timed as whole processes "
            f"({len(listing['list_json_samples_s'])} runs each, after one warm-up run), the",
            "  first listing without an index once (`--cold`). Recording #1 times",
            "  `SessionStore.record` of a new session into the big store and into an empty one,",
            "  interleaved, 30 each.",
            "  Recording growth times `SessionStore.record` (with fsync) 200 times near the start",
            "  and 200 times near interaction #10,000 of one session. The writers are started",
            "  first and released together; each appends "
            f"{conc['interactions_expected'] // conc['writers']} interactions, and the",
            "  session's count is checked afterwards.",
            f"- `bench_redact.py`: `redact` on 1 MB of this repository's source and docs with "
            f"{redaction['planted_secrets']} secrets planted (the run fails if one survives); "
            f"median of {len(redaction['samples_s'])} calls in one process (CPU time: on this "
            "shared machine the wall time also counts other processes' turns), and of "
            f"{len(redaction['cold_samples_s'])} fresh processes for the first call.",
            f"- `bench_run.py`: {run['runs']} interleaved pairs of (fake agent alone, `aio run`",
            "  resuming a session with the same fake agent); `aio run` also prices the usage and",
            "  records the interaction. Then the real `claude -p` (from `make agent-clis`) is",
            f"  timed {run['claude_runs']} times against `tests/fakeapi` on 127.0.0.1; its "
            "quickest call is the yardstick.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sessions", default="10000,100000")
    args = parser.parse_args()
    if not args.render_only:
        for old in RESULTS_DIR.glob("*-run*.json"):
            old.unlink()
        work = Path(tempfile.mkdtemp(prefix="aio-bench-all-"))
        try:
            for i in range(1, args.repeat + 1):
                cold = ["--cold"] if i == 1 else []
                _run("bench_store.py", "--sessions", *args.sessions.split(","), *cold)
                shutil.copy(RESULTS_DIR / "store.json", RESULTS_DIR / f"store-run{i}.json")
                _run("bench_run.py")
                _run("bench_redact.py")
                shutil.copy(RESULTS_DIR / "redact.json", RESULTS_DIR / f"redact-run{i}.json")
                shutil.copy(
                    RESULTS_DIR / "run_overhead.json", RESULTS_DIR / f"run_overhead-run{i}.json"
                )
        finally:
            shutil.rmtree(work, ignore_errors=True)
    results = HERE / "RESULTS.md"
    old = results.read_text() if results.exists() else ""
    # bench_usage.py's, bench_report.py's, bench_team.py's, bench_complete.py's and
    # bench_sessions.py's sections, the quiet-machine table (written by hand),
    # bench_run.py's before/after and issue 24's list/stats
    # section (each run on its own: a 1 GiB corpus and ccusage; a 10,000-session store; a
    # PostgreSQL server; a 10,000-session store and an older tree to compare with; the real
    # Claude CLI through whole features, ~30 min; an older tree to compare with;
    # bench_store.py --compare-with, run by hand at 100,000; make test-fast timed by hand)
    # are kept
    kept = ""
    for name in (
        "quiet",
        "usage-index",
        "report",
        "team",
        "complete",
        "sessions",
        "run-overhead",
        "issue24-list",
        "test-fast",
    ):
        start, end = old.find(f"<!-- {name} -->"), old.find(f"<!-- /{name} -->")
        if 0 <= start < end:
            kept += "\n" + old[start : end + len(f"<!-- /{name} -->")] + "\n"
    results.write_text(render().rstrip("\n") + "\n" + kept)
    print(f"written {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()

"""``aio report`` benchmark (issue 23).

Targets (medians, this 2-core machine):
- generating the report over 10,000 sessions × 20 interactions ≤ 3 s (the whole command,
  ``aio report --no-sync --html FILE``, after the usage index is synced; also the library
  alone: ``report.data.build`` + ``report.html.render``);
- the file for a year of data ≤ 2 MB (the same store, its interactions spread over 365 days:
  10,000 sessions of 3,334 features, 4 models, 15 tasks per feature).

The store is built once through ``aio session import`` and ``aio usage sync`` (not timed;
the sync also builds the usage index's per-day rollup the report reads, ``usage.rollup``).
What keeping that rollup costs a sync is measured on a copy of the index: building it from
scratch, and bringing it up to date after one more session (20 requests over 3 days).
The command's CPU time (user + system of the process) is measured beside its wall time: on
this shared machine it is the figure the load distorts least.

``--compare-with LABEL=OTHER/src`` (repeatable) also times the command of the code at
``OTHER/src`` (run with ``PYTHONPATH``), interleaved run by run with this tree so both see
the same load, each on its own copy of the store (``DIR-LABEL``: the summary index of
another version would be rebuilt at every alternation).

Usage: ``python benchmarks/bench_report.py [--sessions N] [--runs R] [--keep DIR]
[--compare-with before=/tmp/old/src]``
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import aio_bin, median, time_command, time_with_cpu, write_result

MODELS = ["claude-sonnet-4-5", "claude-opus-4-1", "gemini-2.5-pro", "gpt-5-codex"]
AGENTS = {"claude-sonnet-4-5": "claude", "claude-opus-4-1": "claude",
          "gemini-2.5-pro": "gemini", "gpt-5-codex": "codex"}  # fmt: skip
COMMANDS = ["plan", "implement", "review"]
START = datetime(2025, 12, 1, tzinfo=UTC)


def build_export(sessions: int, per_session: int) -> list[dict[str, object]]:
    """A year of sessions: session ``s`` runs on days around ``s * 365 / sessions``."""
    objects: list[dict[str, object]] = []
    for s in range(sessions):
        feature = f"feature-{s // 3:05d}"
        name = f"{COMMANDS[s % 3]}-{feature}"
        first = START + timedelta(days=s * 365 // sessions)
        interactions: list[dict[str, object]] = []
        for i in range(per_session):
            model = MODELS[(s + i) % 4]
            moment = first + timedelta(hours=i * 3)
            interactions.append(
                {
                    "id": f"bench-{s}-{i}",
                    "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "agent": AGENTS[model],
                    "model": model,
                    "task_id": f"T{1 + i % 3}.{1 + i % 5}",
                    "prompt": f"Implement task {i} of {feature}",
                    "tokens": {
                        "input": 1000 + i, "output": 200 + i, "cache_read": 5000,
                        "cache_write": 300,
                    },
                    "cost": 0.01 + i / 1000,
                    "duration_ms": 1000 + i,
                    "outcome": "success" if (s + i) % 97 else "interrupted",
                }
            )
        objects.append({"session_name": name, "interactions": interactions})
    return objects


def prepare(root: Path, sessions: int) -> None:
    env = {**os.environ, "SESSION_DIR": str(root)}
    if (root / ".bench-ready").exists():
        return
    export = Path(tempfile.mkdtemp()) / "export.json"
    export.write_text(json.dumps(build_export(sessions, 20)))
    start = time.perf_counter()
    subprocess.run([*aio_bin(), "session", "import", str(export)], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    print(f"import of {sessions} sessions x 20: {time.perf_counter() - start:.1f}s")
    start = time.perf_counter()
    subprocess.run([*aio_bin(), "usage", "sync"], env=env, check=True)
    print(f"usage sync: {time.perf_counter() - start:.1f}s")
    (root / ".bench-ready").write_text("")
    shutil.rmtree(export.parent, ignore_errors=True)


def bench_library(root: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``data.build`` + ``html.render`` (CPU time is what a loaded
    machine inflates least: it leaves out the waits for a core)."""
    os.environ["SESSION_DIR"] = str(root)
    from ai_orchestrator.report.data import ReportInputs, build
    from ai_orchestrator.report.html import render
    from ai_orchestrator.store import SessionStore
    from ai_orchestrator.store.index import SummaryIndex
    from ai_orchestrator.usage.sync import open_index

    samples, cpu = [], []
    store = SessionStore()
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        rows, _errors = SummaryIndex(store).rows()
        conn = open_index()
        try:
            page = render(build(ReportInputs(rows, lambda n: store.read_log(n).records, conn)))
        finally:
            conn.close()
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    assert page
    return samples, cpu


def bench_rollup(root: Path) -> dict[str, float]:
    """CPU seconds of ``rollup.refresh`` on a copy of the index: a full build, one that
    finds nothing to do, and one after a new session's 20 requests (a new generation)."""
    from ai_orchestrator.usage import db as usage_db
    from ai_orchestrator.usage import rollup

    work = Path(tempfile.mkdtemp()) / "usage.sqlite"
    shutil.copy(root / "usage" / "usage.sqlite", work)
    conn = usage_db.connect(work)
    out: dict[str, float] = {}
    try:

        def timed(name: str) -> None:
            start = time.process_time()
            assert rollup.refresh(conn)
            out[name] = round(time.process_time() - start, 3)

        conn.execute("UPDATE rollup SET zone = 'elsewhere'")  # dated elsewhere: built again
        timed("rollup_full_build_cpu_s")
        timed("rollup_nothing_new_cpu_s")
        gen = int(conn.execute("SELECT value FROM meta WHERE key = 'gen'").fetchone()[0]) + 1
        cursor = conn.execute("SELECT * FROM req ORDER BY ts DESC LIMIT 1")
        last = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
        rows = [{**last, "key": f"bench-new-{i}", "ts": last["ts"] + i * 3 * 3_600_000,
                 "gen": gen} for i in range(20)]  # fmt: skip
        conn.executemany(usage_db.UPSERT_LAST, [[r[c] for c in usage_db.REQ_COLUMNS] for r in rows])
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('gen', ?)", (str(gen),))
        timed("rollup_one_new_session_cpu_s")
    finally:
        conn.close()
        shutil.rmtree(work.parent, ignore_errors=True)
    return out


def copy_store(root: Path, label: str) -> Path:
    """The store's copy for the tree ``label`` (made once; kept with ``--keep``)."""
    copy = root.with_name(f"{root.name}-{label}")
    if not (copy / ".bench-ready").exists():
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(root, copy, symlinks=True)
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="Store directory to build once and reuse.")
    parser.add_argument("--compare-with", action="append", default=[], metavar="LABEL=SRC")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="aio-bench-report-"))
    root.mkdir(parents=True, exist_ok=True)
    prepare(root, args.sessions)
    out = Path(tempfile.mkdtemp()) / "report.html"
    argv = [*aio_bin(), "report", "--no-sync", "--html", str(out)]
    others = dict(c.split("=", 1) if "=" in c else ("before", c) for c in args.compare_with)
    trees = {"after": {**os.environ, "SESSION_DIR": str(root)}}
    for label, src in others.items():
        trees[label] = {**os.environ, "SESSION_DIR": str(copy_store(root, label)),
                        "PYTHONPATH": src}  # fmt: skip
    wall: dict[str, list[float]] = {label: [] for label in trees}
    cpu: dict[str, list[float]] = {label: [] for label in trees}
    for env in trees.values():
        time_command(argv, env, 1)  # warm the page cache (and each tree's own index)
    for _ in range(args.runs):
        for label, env in trees.items():
            w, c = time_with_cpu(argv, env)
            wall[label].append(w)
            cpu[label].append(c)
    time_command(argv, trees["after"], 1)  # the file of this tree
    size = out.stat().st_size
    library, library_cpu = bench_library(root, args.runs)
    sync_costs = bench_rollup(root)
    result: dict[str, object] = {
        "sessions": args.sessions,
        "interactions_per_session": 20,
        "report_command_median_s": round(median(wall["after"]), 3),
        "report_command_samples_s": [round(x, 3) for x in wall["after"]],
        "report_command_cpu_median_s": round(median(cpu["after"]), 3),
        "report_command_cpu_samples_s": [round(x, 3) for x in cpu["after"]],
        "library_median_s": round(median(library), 3),
        "library_samples_s": [round(x, 3) for x in library],
        "library_cpu_median_s": round(median(library_cpu), 3),
        "library_cpu_samples_s": [round(x, 3) for x in library_cpu],
        "load_average": os.getloadavg()[0],
        "file_bytes_year": size,
        "file_mib_year": round(size / 2**20, 3),
        **sync_costs,
    }
    for label in others:
        result[f"{label}_command_median_s"] = round(median(wall[label]), 3)
        result[f"{label}_command_samples_s"] = [round(x, 3) for x in wall[label]]
        result[f"{label}_command_cpu_median_s"] = round(median(cpu[label]), 3)
        result[f"{label}_command_cpu_samples_s"] = [round(x, 3) for x in cpu[label]]
        result[f"cpu_after_over_{label}"] = round(median(cpu["after"]) / median(cpu[label]), 3)
    print(json.dumps(result, indent=2))
    write_result("bench_report", result)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
        for label in others:
            shutil.rmtree(root.with_name(f"{root.name}-{label}"), ignore_errors=True)


if __name__ == "__main__":
    main()

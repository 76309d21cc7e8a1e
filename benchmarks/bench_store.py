"""Session-store benchmarks (issue: foundation).

Targets (medians, this 2-core machine):
- recording interaction #10,000 of a session costs ≤ 1.5× recording #1;
- 16 concurrent writer processes: ≥ 300 interactions/s in total, 0 lost;
- ``aio --version`` ≤ 150 ms.

Issue 24 targets: ``list --json`` and ``stats --json`` ≤ 150 ms at 10,000 sessions and
≤ 500 ms at 100,000 (20 interactions each), warm; the first listing of 100,000 without
an index ≤ 30 s; recording interaction #1 into the 100,000-session store ≤ 1.2× into
an empty one. The big stores come from ``store_fixture`` (built once, cached in
``.cache/bench-stores``; each ``--label`` lists its own hard-linked copy).

Usage: ``python benchmarks/bench_store.py [--sessions N ...] [--runs R] [--label L]
[--cold] [--only-list] [--compare-with OLD/src]``. ``--compare-with`` times an older
checkout's ``list``/``stats`` interleaved with this tree's (each on its own copy of the
store); ``PYTHONPATH=<old checkout>/src`` with ``--label before`` runs the whole script on
the older code.
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
import store_fixture
from ai_orchestrator.core.names import parse_session_name
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.records import normalize_interaction
from common import aio_bin, median, time_call, time_command, time_with_cpu, write_result

MODELS = ["claude-sonnet-4-5", "claude-opus-4-1", "gemini-2.5-pro", "gpt-5-codex"]
COMMANDS = ["plan", "implement", "review"]


def build_export(sessions: int, per_session: int) -> list[dict[str, object]]:
    objects = []
    for s in range(sessions):
        feature = f"feature-{s // 3:05d}"
        name = f"{COMMANDS[s % 3]}-{feature}"
        interactions = []
        for i in range(per_session):
            day = 1 + (s + i) % 28
            interactions.append(
                {
                    "id": f"bench-{s}-{i}",
                    "timestamp": f"2026-10-{day:02d}T{i % 24:02d}:00:00Z",
                    "agent": "claude",
                    "model": MODELS[(s + i) % 4],
                    "task_id": f"T{1 + i % 3}.{1 + i % 5}",
                    "prompt": f"Implement task {i} of {feature}: " + "details " * 20,
                    "tokens": {
                        "input": 1000 + i,
                        "output": 200 + i,
                        "cache_read": 5000,
                        "cache_write": 300,
                    },
                    "cost": 0.01 + i / 1000,
                    "duration_ms": 1000 + i,
                    "outcome": "success",
                }
            )
        objects.append({"session_name": name, "interactions": interactions})
    return objects


RECORD = {  # one small interaction, as the recording benchmarks append it
    "agent": "claude",
    "model": "claude-sonnet-4-5",
    "prompt": "x" * 200,
    "tokens": {"input": 10, "output": 5},
    "cost": 0.001,
}
INDEX_FILES = ("index.sqlite", "index.sqlite-journal", "changes.journal")


def work_store(sessions: int, label: str) -> Path:
    """This label's own copy of the cached store of ``sessions`` sessions (made once;
    ``before`` and ``after`` each keep their index in their own copy)."""
    target = store_fixture.CACHE / f"work-{label}-{sessions}"
    if not (target / ".bench-ready").exists():
        store_fixture.copy_of(sessions, target)
        (target / ".bench-ready").write_text("")
    return target


def bench_list_stats(root: Path, sessions: int, runs: int, cold: bool) -> dict[str, object]:
    env = {**os.environ, "SESSION_DIR": str(root)}
    result: dict[str, object] = {"sessions": sessions}
    if cold:
        for name in INDEX_FILES:  # no index, no journal: the first listing reads all
            (root / name).unlink(missing_ok=True)
        result["cold_list_json_s"] = round(
            time_command([*aio_bin(), "session", "list", "--json"], env, 1)[0], 2
        )
    time_command([*aio_bin(), "session", "list", "--json"], env, 1)  # warm the page cache
    listing = time_command([*aio_bin(), "session", "list", "--json"], env, runs)
    stats = time_command([*aio_bin(), "session", "stats", "--json"], env, runs)
    result.update(
        {
            "list_json_median_s": round(median(listing), 4),
            "list_json_samples_s": [round(x, 4) for x in listing],
            "stats_json_median_s": round(median(stats), 4),
            "stats_json_samples_s": [round(x, 4) for x in stats],
        }
    )
    return result


def bench_compare(
    others: dict[str, Path], sessions: int, runs: int
) -> dict[str, object]:
    """``list --json`` and ``stats --json`` of the code at each of ``others`` (label → its
    ``src``; each with its own store copy and index) and of this tree (``after``),
    interleaved run by run, so all see the same machine. Wall and CPU time (user + system
    of the child: less sensitive to the load) of each."""
    envs = {
        label: {
            **os.environ,
            "PYTHONPATH": str(src),
            "SESSION_DIR": str(work_store(sessions, label)),
        }
        for label, src in others.items()
    }
    envs["after"] = {**os.environ, "SESSION_DIR": str(work_store(sessions, "after"))}
    samples: dict[str, list[float]] = {}
    for env in envs.values():  # the first listing builds each one's index
        time_command([*aio_bin(), "session", "list", "--json"], env, 1)
    for _ in range(runs):
        for what in ("list", "stats"):
            for label, env in envs.items():
                argv = [*aio_bin(), "session", what, "--json"]
                wall, cpu = time_with_cpu(argv, env)
                samples.setdefault(f"{label}_{what}", []).append(wall)
                samples.setdefault(f"{label}_{what}_cpu", []).append(cpu)
        # the floor in the same minutes: the start-up every command pays
        wall, cpu = time_with_cpu([*aio_bin(), "--version"], envs["after"])
        samples.setdefault("version", []).append(wall)
        samples.setdefault("version_cpu", []).append(cpu)
    return {
        "sessions": sessions,
        **{f"{key}_median_s": round(median(xs), 4) for key, xs in samples.items()},
        **{f"{key}_samples_s": [round(x, 4) for x in xs] for key, xs in samples.items()},
    }


def bench_first_record(big: Path, empty: Path, runs: int) -> dict[str, object]:
    """Recording interaction #1 of a new session into the big store and into an empty
    one (interleaved, with fsync): the big store must not make it dearer."""
    record = RECORD
    stores = {"big": SessionStore(big), "empty": SessionStore(empty)}
    samples: dict[str, list[float]] = {"big": [], "empty": []}
    tag = os.urandom(3).hex()
    for i in range(runs):
        for key, store in stores.items():
            start = time.perf_counter()
            _record(store, f"run-first{tag}{i}", record)
            samples[key].append(time.perf_counter() - start)
    big_s, empty_s = median(samples["big"]), median(samples["empty"])
    return {
        "sessions_in_big_store": len(os.listdir(big)),
        "median_first_record_big_s": round(big_s, 6),
        "median_first_record_empty_s": round(empty_s, 6),
        "ratio_big_over_empty": round(big_s / empty_s, 3),
    }


def _record(store: SessionStore, name: str, raw: dict[str, object]) -> None:
    """Record ``raw`` (JSON, as a hook gives it) through the store's door for JSON."""
    store.record(normalize_interaction(raw, parse_session_name(name)))


def bench_record_growth(root: Path, runs: int) -> dict[str, object]:
    store = SessionStore(root / "growth")
    record = RECORD
    first = time_call(lambda: _record(store, "run-growth", record), 1)[0]
    early = time_call(lambda: _record(store, "run-growth", record), runs)
    for _ in range(10_000 - 1 - runs - runs):
        _record(store, "run-growth", record)
    late = time_call(lambda: _record(store, "run-growth", record), runs)
    count = store.load("run-growth").summary["interaction_count"]
    ratio = median(late) / median(early)
    return {
        "first_record_s": round(first, 6),
        "median_record_near_1_s": round(median(early), 6),
        "median_record_near_10000_s": round(median(late), 6),
        "interactions_in_session": count,
        "ratio_late_over_early": round(ratio, 3),
    }


WRITER = r"""
import sys
from ai_orchestrator.core.names import parse_session_name
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.records import normalize_interaction
store = SessionStore(sys.argv[1])
session = parse_session_name("implement-concurrent")
for i in range(int(sys.argv[2])):
    store.record(normalize_interaction({"agent": "claude", "model": "m", "prompt": "p",
        "tokens": {"input": 1, "output": 1}, "cost": 0.001, "task_id": sys.argv[3]}, session))
"""


def bench_concurrent(root: Path, writers: int, per_writer: int) -> dict[str, object]:
    store_root = root / "concurrent"
    # Start every process first, then release them together: we time the writing,
    # not sixteen interpreter start-ups.
    gate = store_root.parent / "gate"
    gate.unlink(missing_ok=True)
    code = "import os,sys,time\nwhile not os.path.exists(sys.argv[4]): time.sleep(0.001)\n" + WRITER
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(store_root), str(per_writer), f"w{w}", str(gate)]
        )
        for w in range(writers)
    ]
    time.sleep(1.5)
    start = time.perf_counter()
    gate.write_text("go")
    for proc in procs:
        proc.wait()
    elapsed = time.perf_counter() - start
    view = SessionStore(store_root).load("implement-concurrent")
    expected = writers * per_writer
    recorded = view.summary["interaction_count"]
    return {
        "writers": writers,
        "interactions_expected": expected,
        "interactions_recorded": recorded,
        "lost": expected - recorded,
        "elapsed_s": round(elapsed, 3),
        "interactions_per_s": round(expected / elapsed, 1),
    }


def bench_version(runs: int) -> dict[str, object]:
    samples = time_command([*aio_bin(), "--version"], os.environ, runs)
    return {"median_s": round(median(samples), 4), "samples_s": [round(x, 4) for x in samples]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--label", default="after", help="names the result and the stores")
    parser.add_argument("--cold", action="store_true", help="also time a listing without index")
    parser.add_argument("--only-list", action="store_true", help="skip recording benchmarks")
    parser.add_argument(
        "--compare-with",
        nargs="+",
        default=[],
        metavar="[LABEL=]SRC",
        help="src/ of older checkouts (label: before): time their list/stats interleaved "
        "with this tree's",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aio-bench-"))
    try:
        results: dict[str, object] = {"aio_version": bench_version(args.runs * 3)}
        for n in args.sessions:
            big = work_store(n, args.label)
            results[f"list_stats_{n}"] = bench_list_stats(big, n, args.runs, args.cold)
        others = dict(
            (c.split("=", 1) if "=" in c else ("before", c)) for c in args.compare_with
        )
        for n in args.sessions if others else []:
            results[f"compare_{n}"] = bench_compare(
                {k: Path(v) for k, v in others.items()}, n, args.runs
            )
        if not args.only_list:
            biggest = work_store(max(args.sessions), args.label)
            results["first_record"] = bench_first_record(biggest, work / "empty", 30)
            results["record_growth"] = bench_record_growth(work, 200)
            results["concurrent_writers"] = bench_concurrent(work, 16, 150)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the big stores stay cached
    name = "store" if args.label == "after" else f"store-{args.label}"
    path = write_result(name, results)
    print(json.dumps(results, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()

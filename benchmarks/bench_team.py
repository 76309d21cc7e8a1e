"""``aio team`` on a throwaway PostgreSQL 15 cluster: the first push of 1,000,000 interactions
and ``aio team stats --by user`` over 5,000,000.

``python benchmarks/bench_team.py [--rows 1000000] [--stats-rows 5000000] [--runs 3]``

1. Starts a cluster (``tests/pgserver.py``: ``initdb`` + ``pg_ctl`` on a free port; as root,
   run as the ``postgres`` user) with the server's default durability (fsync and
   synchronous commit on).
2. Writes a store of ``--rows`` interactions (1,000 sessions) once: one record is stored
   through ``SessionStore.record_unique`` and its stored line is the template of the rest
   (ids, times, tokens, costs, tasks and models varied), so every line is a real stored
   record that the push validates like any other.
3. Per run: a fresh database, ``aio team init``, then ``aio team push`` as a whole process
   (wall time; rows/s = rows / wall). Then the server's totals are checked against the
   generator's (count, tokens) — a fast push that lost rows fails here.
4. ``--stats-rows`` rows are generated server-side (``generate_series``: 40 machines, 20
   users, 4,000 sessions of consecutive calls over 90 days, 5 tasks, 3 models) straight into
   ``aio.interactions``, and the rollup is built from them with the same grouping the push
   uses; then ``aio team stats --by user --json`` is timed as a whole process (median of 7,
   after a warm-up), and for comparison the same totals computed from the raw rows.

Writes ``benchmarks/results/team.json`` and the "Team" section of ``RESULTS.md`` (between
``<!-- team -->`` markers; the rest of the file is left alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from tests.pgserver import PgServer, binaries  # noqa: E402

from common import aio_bin, write_result  # noqa: E402

MODELS = ("claude-sonnet-4-5", "gpt-5-codex", "gemini-2.5-pro")


def build_store(root: Path, rows: int, sessions: int = 1000) -> dict[str, int]:
    """A store of ``rows`` interactions; returns the generator's own totals."""
    from ai_orchestrator.store.session_store import SessionStore

    os.environ["AIO_FSYNC"] = "0"
    store = SessionStore(root)
    seed = {"id": "template", "timestamp": "2026-11-01T00:00:00.000Z", "agent": "claude",
            "model": MODELS[0], "prompt": "implement T1 of the feature",
            "tokens": {"input": 1, "output": 2, "cache_read": 3, "cache_write": 4},
            "cost": 0.5, "duration_ms": 1200, "outcome": "success", "task_id": "T1"}  # fmt: skip
    from ai_orchestrator.core.names import parse_session_name
    from ai_orchestrator.store.records import normalize_interaction

    template_session = parse_session_name("implement-template")
    store.record_unique(template_session, [normalize_interaction(seed, template_session)])
    template = json.loads((root / "implement-template" / "interactions.jsonl").read_bytes())
    (root / "implement-template" / "interactions.jsonl").unlink()
    shutil.rmtree(root / "implement-template")
    per = rows // sessions
    totals = {"rows": 0, "input": 0, "output": 0}
    for s in range(sessions):
        name = f"implement-feat{s}"
        directory = root / name
        directory.mkdir(mode=0o700)
        lines = []
        for n in range(per if s < sessions - 1 else rows - per * (sessions - 1)):
            i = s * per + n
            record = dict(template)
            record.update(
                id=f"bench-{i}", session_name=name, command="implement", feature_id=f"feat{s}",
                timestamp=f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{n % 60:02d}.000Z",
                model=MODELS[i % 3], task_id=f"T{n % 5}", cost=round((i % 997) / 9973, 6),
                tokens={"input": i % 5000, "output": i % 700, "cache_read": i % 30000,
                        "cache_write": i % 900, "reasoning": 0},
            )  # fmt: skip
            totals["rows"] += 1
            totals["input"] += i % 5000
            totals["output"] += i % 700
            lines.append(json.dumps(record, separators=(",", ":")))
        log = directory / "interactions.jsonl"
        log.write_text("\n".join(lines) + "\n")
        log.chmod(0o600)
    return totals


LAST_CPU: list[float] = [0.0]  # user + system seconds of the last run_aio's process
SYNC_PARTS: list[tuple[float, float]] = []  # (wall, CPU) of each default push's index sync


def run_aio(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([*aio_bin(), *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"aio {' '.join(args)} failed: {proc.stderr[-800:]}")
    return wall, proc.stdout


def server_cpu(server: PgServer) -> float:
    """User + system seconds of the cluster so far: the postmaster, its live children, and
    (the postmaster's reaped-children times) every backend that has exited."""
    tick = os.sysconf("SC_CLK_TCK")
    main = int((server.data / "postmaster.pid").read_text().split()[0])
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == main:
            total += sum(int(f) for f in fields[11:15])
        elif int(fields[1]) == main:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def first_push(
    server: PgServer, store: Path, totals: dict[str, int], run: str, src: str | None = None,
    *, usage: bool = False,
) -> tuple[float, float, float]:
    """(wall, the push process's CPU, the server's CPU) of one first push; ``src``: the
    ``src`` directory of another checkout to push with instead (``--compare-with``).
    Without ``usage`` it is ``push --no-usage`` (aio's interactions alone); with it the
    default push, which first builds the usage index from the store (deleted before: a
    first sync) and then also pushes the index's rows."""
    db = server.create_db(f"push{run}{'o' if src else ''}")
    env = {**os.environ, "SESSION_DIR": str(store), "AIO_TEAM_DB": server.url(db, password=True)}
    if src:
        env["PYTHONPATH"] = src
    run_aio(["team", "init"], env)
    for state in (store / "team").glob("*.json"):
        state.unlink()  # a new machine id per run: a first push every time
    shutil.rmtree(store / "usage", ignore_errors=True)
    server_before = server_cpu(server)
    sync_wall = sync_cpu = 0.0
    if usage:  # the index's first sync, timed apart: the push's own sync then finds it done
        sync_wall, _ = run_aio(["usage", "sync", "--json"], env)
        sync_cpu = LAST_CPU[0]
        SYNC_PARTS.append((sync_wall, sync_cpu))
    wall, out = run_aio(["team", "push", "--json", *(() if usage else ("--no-usage",))], env)
    wall, cpu = wall + sync_wall, LAST_CPU[0] + sync_cpu
    server_used = server_cpu(server) - server_before
    report = json.loads(out)
    import psycopg

    with psycopg.connect(server.url(db, password=True)) as conn:
        got = conn.execute(
            "SELECT count(*), sum(input), sum(output) FROM aio.interactions"
        ).fetchone()
    assert got is not None
    if (report["added"], *map(int, got)) != (totals["rows"],) * 2 + (
        totals["input"], totals["output"]):  # fmt: skip
        raise SystemExit(f"push lost or changed rows: {report}, server {got}, expected {totals}")
    return wall, cpu, server_used


GENERATE = """
INSERT INTO aio.machines(machine_id, hostname, user_name, aio_version)
SELECT 'm' || m, 'host' || m, 'user' || (m % 20), 'bench' FROM generate_series(0, 39) m;
INSERT INTO aio.interactions(id, machine_id, user_name, session_name, command, feature_id,
  task_id, branch, agent, model, ts, day, input, output, cache_read, cache_write, reasoning,
  cost, cost_source, cost_reported, savings, outcome, duration_ms)
SELECT 'g' || i, 'm' || (s % 40), 'user' || ((s % 40) % 20), 'implement-f' || s, 'implement',
  'f' || (s % 200), 'T' || ((i / 250) % 5), NULL, (ARRAY['claude','codex','gemini'])[i % 3 + 1],
  (ARRAY['claude-sonnet-4-5','gpt-5-codex','gemini-2.5-pro'])[i % 3 + 1], t, (t AT TIME ZONE
  'UTC')::date, i % 5000, i % 700, i % 30000, i % 900, 0, ((i % 997) / 9973.0)::numeric,
  'computed', 0, 0, CASE WHEN i % 10 = 0 THEN 'error' ELSE 'success' END, 1000
FROM generate_series(0, %(n)s - 1) i,
  LATERAL (SELECT i / 1250 AS s,
    timestamptz '2026-08-01 00:00Z' + (i::float8 / %(n)s) * interval '90 days' AS t) x;
INSERT INTO aio.rollup
SELECT day, machine_id, user_name, session_name, coalesce(feature_id, ''),
  coalesce(task_id, ''), coalesce(branch, ''), coalesce(agent, ''), coalesce(model, ''),
  count(*), count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success'),
  count(*) FILTER (WHERE cost_source = 'unpriced'), sum(input), sum(output), sum(cache_read),
  sum(cache_write), sum(reasoning), sum(cost), sum(savings), sum(cost_reported)
FROM aio.interactions GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
INSERT INTO aio.sessions(machine_id, session_name, user_name, command, feature_id, first_ts,
  last_ts)
SELECT machine_id, session_name, min(user_name), 'implement', min(feature_id), min(ts), max(ts)
FROM aio.interactions GROUP BY 1, 2;
ANALYZE;
"""


def stats_over(server: PgServer, rows: int, runs: int) -> dict[str, Any]:
    import psycopg

    db = server.create_db("stats")
    url = server.url(db, password=True)
    env = {**os.environ, "AIO_TEAM_DB": url}
    run_aio(["team", "init"], env)
    began = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(GENERATE.replace("%(n)s", str(int(rows))))  # type: ignore[arg-type]
        rollup = conn.execute("SELECT count(*) FROM aio.rollup").fetchone()
        count = conn.execute("SELECT count(*) FROM aio.interactions").fetchone()
    generated = time.perf_counter() - began
    run_aio(["team", "stats", "--by", "user", "--json"], env)  # warm-up
    walls, cpus, peer_walls, peer_cpus = [], [], [], []
    for _ in range(runs):  # interleaved with the peer: aio --version (start-up alone)
        wall, out = run_aio(["team", "stats", "--by", "user", "--json"], env)
        walls.append(wall)
        cpus.append(LAST_CPU[0])
        peer_walls.append(run_aio(["--version"], env)[0])
        peer_cpus.append(LAST_CPU[0])
    doc = json.loads(out)
    assert doc["interactions"] == rows, doc["interactions"]
    from ai_orchestrator.team import config, reports, schema

    settings = config.TeamSettings(url, "bench", "bench")
    inproc = []
    with schema.connect(settings) as conn:
        for _ in range(runs):
            start = time.perf_counter()
            reports.team_stats(conn, by="user")
            inproc.append(time.perf_counter() - start)
    raw = []
    with psycopg.connect(url) as conn:
        for _ in range(3):
            start = time.perf_counter()
            conn.execute(
                "SELECT user_name, count(*), sum(input), sum(output), sum(cost) "
                "FROM aio.interactions GROUP BY 1"
            ).fetchall()
            raw.append(time.perf_counter() - start)
    return {
        "rows": int(count[0]) if count else 0,
        "rollup_rows": int(rollup[0]) if rollup else 0,
        "generate_seconds": round(generated, 1),
        "stats_wall": [round(w, 3) for w in walls],
        "stats_median": round(statistics.median(walls), 3),
        "stats_cpu_median": round(statistics.median(cpus), 3),
        "version_wall_median": round(statistics.median(peer_walls), 3),
        "version_cpu_median": round(statistics.median(peer_cpus), 3),
        "raw_group_by_median": round(statistics.median(raw), 3),
        "library_median": round(statistics.median(inproc), 3),
        "users": len(doc["groups"]),
    }


def render(result: dict[str, Any]) -> str:
    push = result["push"]
    stats = result["stats"]
    rate = push["rows_per_second_median"]
    per_push = ", ".join(f"{r:,.0f}" for r in push["rows_per_second"])
    push_row = (
        f"| first `aio team push --no-usage` of {push['rows']:,} interactions (1,000 "
        f"sessions; whole process: validation, COPY, insert, rollup) | {rate:,.0f} rows/s "
        f"({push['wall_median']:.1f} s; CPU: push {push['client_cpu_median']:.1f} s, server "
        f"{push['server_cpu_median']:.1f} s) | {per_push} | ≥ 20,000 rows/s | "
        f"{'yes' if rate >= 20_000 else '**no**'} |"
    )
    compare = push.get("compare")
    compare_row = ""
    if compare:
        crate = compare["rows_per_second_median"]
        cpu_ratio = (push["client_cpu_median"] + push["server_cpu_median"]) / (
            compare["client_cpu_median"] + compare["server_cpu_median"]
        )
        compare_row = (
            f"\n| the same push by the code before (`--compare-with`, run by run interleaved) | "
            f"{crate:,.0f} rows/s ({compare['wall_median']:.1f} s; CPU: push "
            f"{compare['client_cpu_median']:.1f} s, server {compare['server_cpu_median']:.1f} s) "
            f"| {', '.join(f'{r:,.0f}' for r in compare['rows_per_second'])} | | after / before: "
            f"{rate / crate:.2f}× the rate, "
            f"{cpu_ratio:.2f}× the CPU |"
        )
    usage = push.get("with_usage")
    usage_row = ""
    if usage:
        usage_row = (
            f"\n| first `aio team push` (the default: it also builds the usage index from the "
            f"store first, then pushes the index's {push['rows']:,} rows of these calls to "
            f"`aio.requests`) | {usage['rows_per_second_median']:,.0f} interactions/s "
            f"({usage['wall_median']:.1f} s; CPU: push {usage['client_cpu_median']:.1f} s, "
            f"server {usage['server_cpu_median']:.1f} s) | "
            f"{', '.join(f'{r:,.0f}' for r in usage['rows_per_second'])} | | |"
        )
        sync = usage.get("sync")
        if sync:
            usage_row += (
                f"\n| of which the usage index's first sync (`aio usage sync`, timed apart "
                f"before the push) | {sync['wall_median']:.1f} s (CPU {sync['cpu_median']:.1f} "
                f"s) | {', '.join(f'{w:.1f}' for w in sync['wall'])} | | |"
                f"\n| of which the push itself (interactions, then the index's rows) | "
                f"{usage['wall_median'] - sync['wall_median']:.1f} s (CPU "
                f"{usage['client_cpu_median'] - sync['cpu_median']:.1f} s) | | | |"
            )
    per_stats = ", ".join(f"{w * 1000:.0f}" for w in stats["stats_wall"])
    stats_row = (
        f"| `aio team stats --by user --json` over {stats['rows']:,} rows ({stats['users']} "
        f"users; rollup of {stats['rollup_rows']:,} rows), whole process | "
        f"{stats['stats_median'] * 1000:.0f} ms (CPU {stats['stats_cpu_median'] * 1000:.0f} ms) "
        f"| {per_stats} | ≤ 1 s | {'yes' if stats['stats_median'] <= 1 else '**no**'} |"
    )
    peer_row = (
        f"| `aio --version` (start-up alone; interleaved with the stats runs) | "
        f"{stats['version_wall_median'] * 1000:.0f} ms (CPU "
        f"{stats['version_cpu_median'] * 1000:.0f} ms) | | | |"
    )
    loads = ", ".join(f"{x:.1f}" for x in result.get("load_average", []))
    return f"""<!-- team -->
## Team (`aio team`, PostgreSQL 15)

Measured {result["when"]} on {result["machine"]}, load average {loads} (1-minute, sampled
before and after each run); a throwaway cluster on the same machine (default durability:
fsync and synchronous commit on). CPU = user + system seconds of the push process, and of
every server process of the cluster. Reproduce: `.venv/bin/python benchmarks/bench_team.py`
(`--rows`, `--stats-rows`, `--runs`, `--compare-with OLD/src`: another checkout's push,
interleaved).

| What | Measured (median) | Per run | Target | Met |
|---|---|---|---|---|
{push_row}{compare_row}{usage_row}
{stats_row}
{peer_row}

{_usage_note(push)}{_load_note(stats)}The push's data is the worst case for the rollup: each
session's calls are spread over 28 days, 24 hours, 5 tasks and 3 models, so the rollup
gets about one row per 2.4 calls (a real session's calls fall on a few days, one task at a
time). The {stats["rows"]:,} rows of the stats case are generated server-side with `generate_series`
(40 machines, 20 users, 4,000 sessions of consecutive calls over 90 days, 5 tasks, 3
models; {stats["generate_seconds"]} s including the rollup), not pushed. The same per-user
totals computed from the raw rows instead of the rollup take
{stats["raw_group_by_median"] * 1000:.0f} ms (median of 3): the rollup is what keeps the
report flat as the table grows. The report's own work — its queries through an open
connection, without starting Python and importing the driver — is
{stats["library_median"] * 1000:.0f} ms (median of 7). Each push run checks the server's
count and token sums against the generator's before it counts.

This round (s26), measured by hand on 2026-12-08 at load average 3.5-8, 200,000 rows of this
data, the server backend's CPU seconds from `/proc` per statement, each variant in a fresh
database of one cluster, interleaved: the insert of the interactions alone costs 1.8 s with
`ON CONFLICT (id) DO NOTHING` and 0.96 s as a plain `INSERT` (the speculative insertion is
half of it); the rollup's part of the statement is about 2.4 s (its hash aggregate 0.8-1.0 s,
its `ON CONFLICT DO UPDATE` 1.3-1.7 s against 0.68 s for plain inserts of the same 84,000
rows). So a batch that is all new now goes in with plain inserts — the interactions, and the
rollup rows of sessions the machine never pushed — in a savepoint, falling back to the
general `ON CONFLICT` statement on any duplicate key: the statement's server CPU was 3.4,
4.6, 4.6 s against 4.8, 4.6, 5.8 s for the general one. On the push's side the COPY now
sets the column types once (the driver's formatting of 200,000 rows 0.46 s against 1.04 s),
and each batch commits with `synchronous_commit = off` (the commits' wall time 0.16 s
against 0.51 s for 20; a commit lost in a server crash loses its watermark with it, so the
next push sends those rows again). Measured and not taken: batches of 50,000 rows (server
CPU 4.7 s against 4.4 s: no gain), aggregating the rollup in the push instead of the server
(it moves about 5 µs a row off the server for about 4 µs a row more in Python: no gain in
total CPU on two shared cores), binary COPY (the rows hold times and costs as text; the push
would pay for converting them), summing an all-new batch's rollup from the staging table
instead of the insert's `RETURNING` (3.6, 3.4, 3.4 s against 3.9, 3.3, 3.8 s: within the
noise). No secondary index is left to drop. The bench's cluster is
initialised without a locale (C collation); a server with a libc collation pays for `strcoll`
on every text key comparison of the primary keys.

What changed earlier (s22): the push parses each line with orjson (a line it
refuses, or whose result the validated fast path does not take, is read again by the
stdlib and the store's full validation, so the rows are the same), runs the fast path with
the session's fields looked up once, and schema version 3 drops the two secondary indexes
no query read (`interactions(machine_id, ts)`, `rollup(user_name, day)`), which cost a
quarter of the server's work per row. `team stats` reads the rollup once (per-(key,
session) sums, materialised; totals, groups, sessions and the most active sessions all come
from them) instead of seven times.

Where the time goes (profiled by hand on 2026-12-07 at load average 9-10, 100,000 rows of
this data, CPU seconds; the server's per statement from its backend's `/proc` times). Before:
push process 3.3 s (JSON parsing and the fast path's checks 2.2 s, the rest reading, COPY
formatting, the writer thread), server 3.6 s: COPY into the temporary table 0.35, the
`INSERT … ON CONFLICT` with its rollup 2.6 — of which heap 0.56, primary key 0.17, the
`(machine_id, ts)` index 0.36, the rollup's aggregate 0.38, its upsert 0.72, its
`(user_name, day)` index 0.37 — commits and the sessions/watermarks upserts the rest. After:
push process 1.5 s, server 2.8 s (the two indexes gone). The rest of the server's share is
the rollup itself, which this data makes as large as it can be (see above). `team stats --by
user` over 5,000,000 rows, its queries alone through an open connection, median of 5 at load
16-19: 1,184 ms before, 332 ms after; `EXPLAIN ANALYZE` shows the one hash aggregate over the
60,240 rollup rows (11 sums each) as nearly all of it. The rest of the command is start-up:
importing psycopg (which imports asyncio and importlib.metadata) is most of the difference
between the stats row and the `aio --version` row above.

Ctrl-C (issue 22's CI hang of `test_watch_pushes_new_records_and_stops_on_ctrl_c`, not
reproduced): a push whose writer thread the server held (a lock, a stalled server) could not
be stopped at all — on Ctrl-C the main thread joined the writer without a timeout, forever;
and a SIGINT the kernel delivers to the writer thread was acted on only when the writer
finished, since the main thread waited on it without a timeout. Both are fixed (timed waits,
the writer's statement cancelled on the way out, its socket shut as a last resort) and tested
(`tests/team/test_team_faults.py`: the first hangs on the code before).
<!-- /team -->
"""


def _load_note(stats: dict[str, Any]) -> str:
    """Why a stats run over its target on a busy machine is (or is not) the machine."""
    if stats["stats_median"] <= 1:
        return ""
    return (
        f"`team stats` took {stats['stats_median'] * 1000:.0f} ms of wall time for "
        f"{stats['stats_cpu_median'] * 1000:.0f} ms of CPU in this run: the process waited "
        f"for a core most of the time (start-up alone, `aio --version`, took "
        f"{stats['version_wall_median'] * 1000:.0f} ms for "
        f"{stats['version_cpu_median'] * 1000:.0f} ms of CPU); the report's own queries "
        f"took {stats['library_median'] * 1000:.0f} ms.\n\n"
    )


def _usage_note(push: dict[str, Any]) -> str:
    usage = push.get("with_usage")
    if not usage:
        return ""
    sync = usage.get("sync") or {"wall_median": 0.0, "cpu_median": 0.0}
    return (
        f"The target is the push of aio's interactions (`--no-usage`). The default push "
        f"also syncs the usage index first: from scratch, with {push['rows']:,} recorded "
        f"calls, that sync took {sync['wall_median']:.0f} s ({sync['cpu_median']:.0f} s CPU) "
        f"of the {usage['wall_median']:.0f} s. Why: the index reads every log of the store "
        f"through the store's full validation (`SessionStore.read_log`: about three quarters "
        f"of the sync's CPU, measured on 20,000 calls: 2.07 s of 2.73 s) and writes each call "
        f"with three SQLite statements (the rest); the team push's own validated fast path "
        f"(`team/rows.py`) reads the same lines in about an eighth of the time "
        f"(13 µs against 100 µs a line, measured apart at different loads). The push "
        f"cannot skip that build: it sends every row of the index (`aio.requests`, what "
        f"`aio usage --team` counts, aio's own calls included) and fills a call's missing "
        f"branch from the transcript requests the index matched to it (`covered`), and both "
        f"need the index complete. `--no-usage` skips it; the lever is a fast path in the "
        f"store's log reading (`store/records.py`, not this round's room for the push).\n\n"
    )


def _push_figures(rows: int, runs: list[tuple[float, float, float]]) -> dict[str, Any]:
    walls = [w for w, _c, _s in runs]
    rates = [rows / w for w in walls]
    return {"rows": rows, "wall": [round(w, 2) for w in walls],
            "wall_median": statistics.median(walls), "rows_per_second": rates,
            "rows_per_second_median": statistics.median(rates),
            "client_cpu": [round(c, 2) for _w, c, _s in runs],
            "client_cpu_median": statistics.median(c for _w, c, _s in runs),
            "server_cpu": [round(x, 2) for _w, _c, x in runs],
            "server_cpu_median": statistics.median(x for _w, _c, x in runs)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stats-rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--compare-with", metavar="SRC",
        help="the src directory of another checkout: its first push is timed too, run by "
        "run interleaved with this tree's",
    )  # fmt: skip
    parser.add_argument(
        "--usage-runs", type=int, default=1,
        help="runs of the default push (usage index sync + its rows too); 0: none",
    )  # fmt: skip
    args = parser.parse_args()
    bindir = binaries()
    if bindir is None:
        raise SystemExit("no PostgreSQL server binaries (initdb, pg_ctl): cannot benchmark")
    work = Path(tempfile.mkdtemp(prefix="aio-bench-team-"))
    server = PgServer(bindir, fsync=True).start()
    loads = [os.getloadavg()[0]]
    try:
        store = work / "store"
        totals = build_store(store, args.rows)
        runs, others = [], []
        for run in range(args.runs):
            runs.append(first_push(server, store, totals, str(run)))
            if args.compare_with:
                others.append(first_push(server, store, totals, str(run), args.compare_with))
            loads.append(os.getloadavg()[0])
        push = _push_figures(args.rows, runs)
        if others:
            push["compare"] = {"src": args.compare_with, **_push_figures(args.rows, others)}
        if args.usage_runs:
            push["with_usage"] = _push_figures(args.rows, [
                first_push(server, store, totals, f"u{run}", usage=True)
                for run in range(args.usage_runs)
            ])  # fmt: skip
            push["with_usage"]["sync"] = {
                "wall": [round(w, 2) for w, _c in SYNC_PARTS],
                "wall_median": statistics.median(w for w, _c in SYNC_PARTS),
                "cpu_median": statistics.median(c for _w, c in SYNC_PARTS),
            }
            loads.append(os.getloadavg()[0])
        stats = stats_over(server, args.stats_rows, 7)
        loads.append(os.getloadavg()[0])
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        "load_average": [round(x, 1) for x in loads],
        "push": push,
        "stats": stats,
    }
    write_result("team", result)
    results = HERE / "RESULTS.md"
    old = results.read_text() if results.exists() else ""
    start, end = old.find("<!-- team -->"), old.find("<!-- /team -->")
    section = render(result)
    if 0 <= start < end:
        new = old[:start] + section.rstrip("\n") + old[end + len("<!-- /team -->") :]
    else:
        new = old.rstrip("\n") + "\n\n" + section
    results.write_text(new)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

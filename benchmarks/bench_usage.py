"""Usage index vs ccusage v20 on one synthetic history, plus ``aio hook``/``aio statusline``.

``python benchmarks/bench_usage.py [--mib 1024] [--runs 5] [--cache .cache/bench-usage]``

1. Generates the corpus (``usage_corpus.py``) into ``<cache>/corpus-<mib>`` once, and installs
   ``ccusage@20.0.24`` with npm into ``<cache>/ccusage`` once (20.0.26's launcher finds no
   linux-x64 binary in the registry here).
2. Times, interleaved and as whole processes (median of ``--runs``; peak RSS from
   ``wait4``): ``aio usage daily --json`` *cold* (the index removed first: the first sync of
   the whole history; price cards cached), *warm* (index up to date) and *warm + append*
   (one request appended to one transcript first); ``ccusage daily --json --offline``
   (the same corpus, the same environment). Page caches are hot for both (dropping them needs
   privileges, and slows every other process on the machine: ``--drop-caches`` measures a
   page-cache-cold pair too).
3. Compares token totals per agent: aio, ccusage (``ccusage <agent> daily``) and the
   generator's own sums (``expected.json``).
4. Times ``aio hook claude`` and ``aio statusline`` (event JSON on stdin) interleaved with
   ``python -c pass`` (the interpreter's own start, the peer), ``--hook-runs`` rounds; the
   statusline reads the index just built and a session that is in it.

Writes ``benchmarks/results/usage.json`` and the "Usage index" section of ``RESULTS.md``
(between ``<!-- usage-index -->`` markers; the rest of the file is left alone).

``--hooks-only`` measures step 4 alone, standalone: it syncs a small corpus
(``--hooks-mib``, generated once) into a fresh store first, writes
``benchmarks/results/usage-hooks.json`` and replaces only the hook table of the section
(between ``<!-- usage-hooks -->`` markers).
"""

from __future__ import annotations

import argparse
import json
import os
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

from common import aio_bin, write_result  # noqa: E402
from usage_corpus import generate  # noqa: E402

CCUSAGE = "ccusage@20.0.24"


def rss_of(
    argv: list[str], env: dict[str, str], stdin: bytes | None = None
) -> tuple[float, int, bytes]:
    """Like ``run`` but the peak RSS of this one process (via ``/usr/bin/time``-free wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    if stdin:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv} failed: {err.decode()[-800:]}")
    _cpu.append(usage.ru_utime + usage.ru_stime)
    return wall, usage.ru_maxrss, out


_cpu: list[float] = []  # CPU seconds (user + system) of each process run, in order


def ensure_ccusage(cache: Path) -> Path:
    exe = cache / "ccusage" / "node_modules" / ".bin" / "ccusage"
    if not exe.exists():
        (cache / "ccusage").mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", CCUSAGE],
                       cwd=cache / "ccusage", check=True)  # fmt: skip
    return exe


def drop_caches() -> bool:
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def ours(doc: dict[str, Any]) -> dict[str, int]:
    t = doc["totals"]
    return {k: t[k] for k in ("input", "output", "cache_read", "cache_write", "reasoning",
                               "requests")} | {"cost": round(t["cost"], 6)}  # fmt: skip


def theirs(doc: dict[str, Any]) -> dict[str, Any]:
    t = doc.get("totals") or {}
    return {"input": t.get("inputTokens"), "output": t.get("outputTokens"),
            "cache_read": t.get("cacheReadTokens"), "cache_write": t.get("cacheCreationTokens"),
            "reasoning": t.get("reasoningTokens"),
            "cost": round(t.get("totalCost") or t.get("costUSD") or 0.0, 6)}  # fmt: skip


def corpus_env(work: Path, corpus: Path) -> dict[str, str]:
    """An environment whose HOME, store and agent directories are ``work`` and ``corpus``."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "TZ": "UTC",
        "LANG": "C.UTF-8", "SESSION_DIR": str(work / "store"),
        "XDG_CACHE_HOME": str(work / "cache"), "XDG_CONFIG_HOME": str(work / "config"),
        "CLAUDE_CONFIG_DIR": str(corpus / "claude"), "CODEX_HOME": str(corpus / "codex"),
        "GEMINI_CLI_HOME": str(corpus / "gemini"),
        "GEMINI_DATA_DIR": str(corpus / "gemini" / ".gemini" / "tmp"), "LOG_LEVEL": "0",
    }  # fmt: skip


def ensure_corpus(cache: Path, mib: int) -> Path:
    corpus = cache / f"corpus-{mib}"
    if not (corpus / "expected.json").exists():
        shutil.rmtree(corpus, ignore_errors=True)
        generate(corpus, mib)
    return corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "bench-usage")
    parser.add_argument("--hooks-only", action="store_true",
                        help="measure only aio hook/statusline (standalone); keep the rest")
    parser.add_argument("--hooks-mib", type=int, default=16,
                        help="--hooks-only: the corpus synced before the statusline runs")
    parser.add_argument("--hook-runs", type=int, default=21)
    parser.add_argument("--drop-caches", action="store_true",
                        help="also a page-cache-cold pair (drops the whole machine's caches)")
    args = parser.parse_args()
    if args.hooks_only:
        hooks = hooks_standalone(args.cache, args.hooks_mib, args.hook_runs)
        write_result("usage-hooks", hooks)
        replace_section("usage-hooks", render_hooks(hooks))
        print(json.dumps(hooks, indent=2))
        return
    corpus = ensure_corpus(args.cache, args.mib)
    expected = json.loads((corpus / "expected.json").read_text())
    ccusage = ensure_ccusage(args.cache)
    size = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    files = sum(1 for p in corpus.rglob("*.json*") if p.name != "expected.json")

    work = Path(tempfile.mkdtemp(prefix="bench-usage-"))
    env = corpus_env(work, corpus)
    aio = [*aio_bin(), "usage", "daily", "--json"]
    cc = [str(ccusage), "daily", "--json", "--offline"]
    index = work / "store" / "usage"
    samples: dict[str, list[tuple[float, int, float]]] = {
        "aio_cold": [], "aio_warm": [], "aio_warm_append": [], "ccusage": []}  # fmt: skip
    run_cmd = rss_of
    run_cmd(aio, env)  # price cards, page cache
    run_cmd(cc, env)
    append_to = next((corpus / "claude" / "projects").rglob("*.jsonl"))
    original = append_to.stat().st_size
    line = json.dumps({"type": "assistant", "sessionId": "bench", "requestId": "req_bench",
                       "timestamp": "2026-11-30T12:00:00.000Z", "message": {
                           "id": "msg_bench_{n}", "model": "claude-sonnet-4-5-20250929",
                           "usage": {"input_tokens": 1, "output_tokens": 1}}})  # fmt: skip
    try:
        for n in range(args.runs):
            shutil.rmtree(index, ignore_errors=True)
            wall, rss, _ = run_cmd(aio, env)
            samples["aio_cold"].append((wall, rss, _cpu[-1]))
            wall, rss, out_cc = run_cmd(cc, env)
            samples["ccusage"].append((wall, rss, _cpu[-1]))
            wall, rss, out = run_cmd(aio, env)
            samples["aio_warm"].append((wall, rss, _cpu[-1]))
            with append_to.open("a") as f:
                f.write(line.replace("{n}", str(n)) + "\n")
            wall, rss, _ = run_cmd(aio, env)
            samples["aio_warm_append"].append((wall, rss, _cpu[-1]))
    finally:
        with append_to.open("r+") as f:
            f.truncate(original)
    aio_doc = json.loads(out)
    shutil.rmtree(index, ignore_errors=True)
    run_cmd(aio, env)
    per_agent: dict[str, Any] = {}
    for agent in ("claude", "codex", "gemini"):
        mine = json.loads(run_cmd([*aio_bin(), "usage", "daily", "--json", "--no-sync",
                                   "--agent", agent], env)[2])  # fmt: skip
        cc_doc = json.loads(run_cmd([str(ccusage), agent, "daily", "--json", "--offline"],
                                    env)[2])  # fmt: skip
        per_agent[agent] = {"aio": ours(mine), "ccusage": theirs(cc_doc),
                            "generator": expected["expected"].get(agent)}  # fmt: skip
    cold_pair = None
    if args.drop_caches and drop_caches():
        shutil.rmtree(index, ignore_errors=True)
        aio_cold = run_cmd(aio, env)[0]
        drop_caches()
        cc_cold = run_cmd(cc, env)[0]
        cold_pair = {"aio": aio_cold, "ccusage": cc_cold}

    hooks = {"hooks_corpus_mib": args.mib,
             **hook_figures(env, session_in(corpus), args.hook_runs)}
    shutil.rmtree(work, ignore_errors=True)

    def med(key: str) -> dict[str, Any]:
        walls = [w for w, _, _ in samples[key]]
        return {"median_s": statistics.median(walls), "runs_s": walls,
                "cpu_median_s": statistics.median(c for _, _, c in samples[key]),
                "peak_rss_mib": max(r for _, r, _ in samples[key]) / 1024}  # fmt: skip

    payload = {
        "corpus": {"mib": args.mib, "bytes": size, "files": files, "path": str(corpus)},
        "load_average": os.getloadavg(),
        "aio_cold": med("aio_cold"), "aio_warm": med("aio_warm"),
        "aio_warm_append": med("aio_warm_append"), "ccusage": med("ccusage"),
        "page_cache_cold": cold_pair, "totals_daily_all_agents": {
            "aio": ours(aio_doc), "ccusage": theirs(json.loads(out_cc))},
        "per_agent": per_agent,
        **hooks,
    }  # fmt: skip
    write_result("usage", payload)
    render(payload)
    print(json.dumps(payload, indent=2))


def session_in(corpus: Path) -> str:
    """A Claude session of the corpus (so the statusline finds rows for it)."""
    first = min((corpus / "claude" / "projects").rglob("*.jsonl"))
    return json.loads(first.read_text().splitlines()[0]).get("sessionId") or first.stem


def hooks_standalone(cache: Path, mib: int, runs: int) -> dict[str, Any]:
    """``hook_figures`` in a fresh store that has synced a ``mib`` corpus."""
    corpus = ensure_corpus(cache, mib)
    work = Path(tempfile.mkdtemp(prefix="bench-usage-hooks-"))
    try:
        env = corpus_env(work, corpus)
        rss_of([*aio_bin(), "usage", "sync"], env)
        figures = hook_figures(env, session_in(corpus), runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"hooks_corpus_mib": mib, **figures}


def hook_figures(env: dict[str, str], session: str, runs: int) -> dict[str, Any]:
    """Median wall and CPU of ``runs`` rounds of ``aio hook claude``, ``aio statusline`` and
    ``python -c pass`` (the interpreter's own start), interleaved: each round runs the three
    back to back, so they share the moment's load."""
    hook_event = json.dumps({"session_id": session, "transcript_path": "/t.jsonl",
                             "cwd": "/w", "hook_event_name": "Stop"}).encode()  # fmt: skip
    status_event = json.dumps({"session_id": session, "model": {"display_name": "Sonnet"},
                               "cost": {"total_cost_usd": 0.1}}).encode()  # fmt: skip
    commands = {
        "hook": ([*aio_bin(), "hook", "claude"], hook_event),
        "statusline": ([*aio_bin(), "statusline"], status_event),
        "python_pass": ([sys.executable, "-c", "pass"], None),
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (argv, stdin) in commands.items():
            walls[name].append(rss_of(argv, env, stdin)[0])
            cpus[name].append(_cpu[-1])
    out: dict[str, Any] = {"hooks_runs": runs, "hooks_load_average": os.getloadavg()}
    for name in commands:
        out[f"{name}_median_s"] = statistics.median(walls[name])
        out[f"{name}_cpu_median_s"] = statistics.median(cpus[name])
        out[f"{name}_runs_s"] = walls[name]
    return out


def render_hooks(p: dict[str, Any]) -> str:
    """The hook/statusline table (its own markers: ``--hooks-only`` replaces just this)."""
    base, base_cpu = p["python_pass_median_s"], p["python_pass_cpu_median_s"]
    lines = [
        "<!-- usage-hooks -->",
        f"`aio hook claude` and `aio statusline` (event JSON on stdin; the statusline reads an "
        f"index synced from a {p.get('hooks_corpus_mib', '')} MiB corpus, a session in it), "
        f"{p['hooks_runs']} rounds interleaved with `python -c pass`; load average "
        f"{p['hooks_load_average'][0]:.1f}; medians. Standalone: "
        "`python benchmarks/bench_usage.py --hooks-only`. The target is wall time on a quiet "
        "machine; under load the interpreter's own start is most of it, so compare the CPU "
        "column and the gap to `python -c pass`:",
        "",
        "| What | Wall | CPU (user + sys) | Wall − `python -c pass` | Target | Met |",
        "|---|---|---|---|---|---|",
        f"| `python -c pass` (peer) | {base * 1000:.0f} ms | {base_cpu * 1000:.0f} ms | — | — "
        "| — |",
    ]
    for name, label in (("hook", "`aio hook claude`"), ("statusline", "`aio statusline`")):
        wall, cpu = p[f"{name}_median_s"], p[f"{name}_cpu_median_s"]
        lines.append(
            f"| {label} | {wall * 1000:.0f} ms | {cpu * 1000:.0f} ms | "
            f"+{(wall - base) * 1000:.0f} ms | ≤ 80 ms wall | "
            + ("yes" if wall <= 0.08 else "**no**") + " |"
        )
    lines.append("<!-- /usage-hooks -->")
    return "\n".join(lines) + "\n"


def replace_section(name: str, section: str) -> None:
    """``section`` (its own ``<!-- name -->`` markers included) in place of the old one in
    RESULTS.md; a new hook table goes at the end of the usage-index section."""
    results = HERE / "RESULTS.md"
    text = results.read_text()
    start, end = text.find(f"<!-- {name} -->"), text.find(f"<!-- /{name} -->")
    if 0 <= start < end:
        text = text[:start] + section + text[end + len(f"<!-- /{name} -->") + 1 :]
    else:
        close = text.find("<!-- /usage-index -->")
        if close < 0:
            raise SystemExit("RESULTS.md has no usage-index section: run the full benchmark")
        text = text[:close] + section + text[close:]
    results.write_text(text)


def row(what: str, m: dict[str, Any], target: str) -> str:
    """One timing row: median wall, the runs, median CPU, peak RSS, then ``target``."""
    cpu = f"{m['cpu_median_s']:.2f} s" if "cpu_median_s" in m else "—"
    runs = ", ".join(f"{x:.2f}" for x in m["runs_s"])
    return (f"| {what} | {m['median_s']:.2f} s | {runs} | {cpu} | {m['peak_rss_mib']:.0f} MiB"
            f" | {target} |")  # fmt: skip


def agree(p: dict[str, Any], other: str = "ccusage") -> list[str]:
    """The agents whose aio totals equal ``other``'s (output: Gemini's differs by design)."""
    keys = ("input", "output", "cache_read", "cache_write") + (("cost",) if other == "ccusage"
                                                               else ())  # fmt: skip
    out = []
    for agent, rows in p["per_agent"].items():
        mine, theirs_ = rows.get("aio") or {}, rows.get(other) or {}
        same = [k for k in keys if mine.get(k) == theirs_.get(k, 0 if k == "cache_write" else None)]
        if len(same) == len(keys):
            out.append(agent)
        elif agent == "gemini" and set(keys) - set(same) == {"output"}:
            out.append("gemini (but output: see above)")
    return out


def render(p: dict[str, Any]) -> None:
    cold, warm, cc = p["aio_cold"], p["aio_warm"], p["ccusage"]
    lines = [
        "<!-- usage-index -->",
        "## Usage index (`aio usage`) vs ccusage 20.0.24",
        "",
        f"Measured {p.get('when') or time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} with "
        f"`python benchmarks/bench_usage.py --mib {p['corpus']['mib']} --runs "
        f"{len(cold['runs_s'])}` on a "
        f"{p['corpus']['bytes'] / 2**30:.2f} GiB synthetic history of {p['corpus']['files']:,} "
        f"files (`benchmarks/usage_corpus.py`), load average "
        f"{p['load_average'][0]:.1f} (2 shared cores). Medians of "
        f"{len(cold['runs_s'])} interleaved runs; hot page cache.",
        "",
        "| What | Median wall | Runs (wall) | CPU (user + sys) | Peak RSS | Target | Met |",
        "|---|---|---|---|---|---|---|",
        row("`ccusage daily --json --offline`", cc, "— | —"),
        row("`aio usage daily --json`, warm (index up to date)", warm,
            f"≥ 2× faster than ccusage ({cc['median_s'] / warm['median_s']:.1f}×) | "
            + ("yes" if cc["median_s"] >= 2 * warm["median_s"] else "**no**")),
        row("`aio usage daily --json`, warm + one appended request", p["aio_warm_append"],
            "— | —"),
        row("`aio usage daily --json`, cold (first sync of everything)", cold,
            f"≤ 3× ccusage ({cold['median_s'] / cc['median_s']:.1f}×; CPU "
            f"{cold['cpu_median_s'] / cc['cpu_median_s']:.1f}×), RSS ≤ 200 MB | "
            + ("yes" if cold["median_s"] <= 3 * cc["median_s"]
               and cold["peak_rss_mib"] <= 190 else "**no**")),
        "",
        render_hooks(p),
        "Token totals (daily report, all days):",
        "",
        "| Agent | Source | Input | Output | Cache read | Cache write | Reasoning | Cost |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for agent, rows in p["per_agent"].items():
        for source, t in rows.items():
            if not t:
                continue
            lines.append(
                f"| {agent} | {source} | {t.get('input')} | {t.get('output')} | "
                f"{t.get('cache_read')} | {t.get('cache_write', 0)} | {t.get('reasoning')} | "
                f"{t.get('cost', '—')} |"
            )
    lines += [
        "",
        "Every difference, and why:",
        "",
        "- **Gemini output**: aio's `output` includes the thoughts tokens (billed at the output "
        "rate); ccusage's `outputTokens` leaves them out (its `reasoningTokens`). Costs agree.",
        "- Agents where aio's input, output, cache read, cache write and cost equal "
        "ccusage's: " + (", ".join(agree(p)) or "none") + "; and the generator's own sums: "
        + (", ".join(agree(p, "generator")) or "none") + ".",
        "- **All-agents daily vs the sum per agent** (a few tokens): the warm + append runs "
        "appended one request per run to a transcript; the index keeps those rows after the "
        "file is truncated back (rows outlive their transcripts), ccusage no longer sees them.",
        "- Sidechain `/btw` replays: neither counts them in `daily`; aio never counts them "
        "(`session` included).",
        "- Figures are measured while the other helpers' test suites load the two cores "
        "(load average above); ccusage on an idle machine does the same 1 GiB in ~1.4 s. "
        "Under such load a process waits for a core far longer than it computes, so the "
        "hook and statusline rows give the CPU time too (user + system): what they cost "
        "on an idle machine. `--hooks-only` re-measures just the hook table, standalone.",
        "<!-- /usage-index -->",
    ]
    section = "\n".join(lines) + "\n"
    results = HERE / "RESULTS.md"
    text = results.read_text()
    start, end = text.find("<!-- usage-index -->"), text.find("<!-- /usage-index -->")
    if start >= 0 and end > start:
        text = text[:start] + section + text[end + len("<!-- /usage-index -->") + 1 :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    results.write_text(text)


if __name__ == "__main__":
    main()

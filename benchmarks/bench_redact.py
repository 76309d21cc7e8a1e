"""Benchmark: redacting a 1 MB prompt (target ≤ 50 ms).

The prompt is what an agent prompt of that size looks like: this repository's own
source, README and docs (code, prose, YAML, shell) repeated to 1 MB, with 100 secrets of
assorted shapes planted at random places. Every planted secret must be gone afterwards
(the run fails otherwise), so the figure is for redaction that works.

Figures: the median of ``--runs`` calls of ``redact`` in one process (rules already
compiled) as CPU time (``time.process_time``: what the call costs) and as wall time (which
on this shared 2-core machine also counts the time other processes held the CPU; the load
average is recorded), and the first call in a fresh process (importing and compiling the
rules included, wall time), the median of ``--cold`` processes.

Writes ``benchmarks/results/redact.json``.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, median, time_call, write_result

SIZE = 1_000_000
SECRETS = [
    "sk-ant-api03-{a93}AA",
    "sk-proj-{a48}",
    "ghp_{a36}",
    "AKIA{U16}",
    "xoxb-123456789012-1234567890123-{a24}",
    "GOCSPX-{a28}",
    "export DB_PASSWORD={a16}",
    "postgres://app:{a16}@db:5432/app",
    "Authorization: Bearer {a40}",
    "password:\n  {a20}",
]


def _fill(template: str, rng: random.Random) -> tuple[str, str]:
    """The template with its one placeholder filled, and the random (secret) part."""
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for n in (93, 48, 40, 36, 28, 24, 20, 16):
        if f"{{a{n}}}" in template:
            value = "".join(rng.choice(alnum) for _ in range(n))
            return template.replace(f"{{a{n}}}", value), value
    value = "".join(rng.choice(upper) for _ in range(16))
    return template.replace("{U16}", value), value


def build_prompt(seed: int = 7) -> tuple[str, list[str]]:
    """1 MB of the repository's text plus 100 planted secrets; returns the prompt and the
    secret part of each planted one."""
    rng = random.Random(seed)
    sources = [*sorted((ROOT / "src").rglob("*.py")), ROOT / "README.md"]
    sources += sorted((ROOT / "docs").rglob("*.md"))
    corpus = "\n".join(p.read_text("utf-8") for p in sources)
    text = (corpus * (SIZE // len(corpus) + 1))[:SIZE]
    filled = [_fill(SECRETS[i % len(SECRETS)], rng) for i in range(100)]
    cuts = sorted(rng.randrange(len(text)) for _ in filled)
    pieces, done = [], 0
    for cut, (secret, _) in zip(cuts, filled, strict=True):
        cut = text.rfind("\n", 0, cut) + 1  # at a line start, as a pasted secret would be
        pieces += [text[done:cut], secret, "\n"]
        done = cut
    pieces.append(text[done:])
    return "".join(pieces), [value for _, value in filled]


COLD = """
import sys, time
sys.path.insert(0, {bench!r})
from bench_redact import build_prompt
from ai_orchestrator.infra.redact import redact
prompt, _ = build_prompt()
start = time.perf_counter()
redact(prompt)  # imports and compiles the rules, then redacts
print(time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--cold", type=int, default=5)
    args = parser.parse_args()
    from ai_orchestrator.infra.redact import redact

    prompt, planted = build_prompt()
    cleaned = redact(prompt)  # warm-up, and the correctness check
    leaked = [value for value in planted if value in cleaned]
    if leaked:
        raise SystemExit(f"{len(leaked)} planted secrets survived, e.g. {leaked[0]!r}")
    cpu = []
    for _ in range(args.runs):
        start = time.process_time()
        redact(prompt)
        cpu.append(time.process_time() - start)
    warm = time_call(lambda: redact(prompt), args.runs)
    code = COLD.format(bench=str(Path(__file__).parent))
    cold = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(args.cold)
    ]
    result = {
        "prompt_bytes": len(prompt.encode()),
        "planted_secrets": len(planted),
        "redactions": cleaned.count("[REDACTED:"),
        "cpu_median_s": median(cpu),
        "cpu_samples_s": cpu,
        "median_s": median(warm),
        "samples_s": warm,
        "load_average_1m": os.getloadavg()[0],
        "cold_median_s": median(cold),
        "cold_samples_s": cold,
    }
    path = write_result("redact", result)
    print(
        f"redact 1 MB: {result['cpu_median_s'] * 1000:.1f} ms CPU, "
        f"{result['median_s'] * 1000:.1f} ms wall (first call in a new process: "
        f"{result['cold_median_s'] * 1000:.1f} ms) -> {path}"
    )


if __name__ == "__main__":
    main()

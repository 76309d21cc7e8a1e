"""Benchmark: redacting a 1 MB prompt (target ≤ 50 ms), and the secrets corpus (targets:
0 leaks, false positives ≤ 2% of the look-alikes), side by side with detect-secrets.

The prompt is what an agent prompt of that size looks like: this repository's own
source, README and docs (code, prose, YAML, shell) repeated to 1 MB, with 100 secrets of
assorted shapes planted at random places. Every planted secret must be gone afterwards
(the run fails otherwise), so the figure is for redaction that works.

Figures: the median of ``--runs`` calls of ``redact`` in one process (rules already
compiled) as CPU time (``time.process_time``: what the call costs) and as wall time (which
on this shared 2-core machine also counts the time other processes held the CPU; the load
average is recorded), and the first call in a fresh process (importing and compiling the
rules included, wall time), the median of ``--cold`` processes.

The corpus (``secret_corpus.txt``, loaded by ``secret_corpus.py``): every entry is
redacted on its own; a secret entry leaks when a piece of its secret survives, a
look-alike is a false positive when it changes at all. The same files are scanned by
detect-secrets 1.5.0 (installed from PyPI into ``.cache/detect-secrets-1.5.0`` on the
first run; ``--no-detect-secrets`` skips it), with its default plugins and filters: an
entry counts as found when it reports anything in it, as a false positive likewise.
Both are timed on the corpus (CPU time, median of ``--runs``), as seconds per MB.

Writes ``benchmarks/results/redact.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import secret_corpus
from common import ROOT, median, time_call, write_result

DETECT_SECRETS = "detect-secrets==1.5.0"
DETECT_SECRETS_VENV = ROOT / ".cache" / "detect-secrets-1.5.0"
SUFFIXES = {"py": ".py", "go": ".go", "js": ".js", "java": ".java", "rb": ".rb", "rs": ".rs"}
SUFFIXES |= {"cs": ".cs", "sh": ".sh", "yaml": ".yaml", "json": ".json", "xml": ".xml"}
SUFFIXES |= {"ini": ".ini", "env": ".env", "toml": ".toml", "hcl": ".tf", "docker": ".dockerfile"}
# Run by the detect-secrets venv's interpreter: scan every file with the default
# plugins and filters, report what was found per file and the CPU time.
DETECT_SECRETS_DRIVER = """
import json, sys, time
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings
files = json.load(sys.stdin)
samples = []
for _ in range(int(sys.argv[1])):
    with default_settings():
        collection = SecretsCollection()
        start = time.process_time()
        for name in files:
            collection.scan_file(name)
        samples.append(time.process_time() - start)
found = {name: sorted({s.type for s in collection.data.get(name, ())}) for name in files}
print(json.dumps({"found": found, "cpu_samples_s": samples}))
"""

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


def detect_secrets_python() -> Path:
    """The detect-secrets venv's interpreter, installed from PyPI on first use."""
    python = DETECT_SECRETS_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DETECT_SECRETS_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", DETECT_SECRETS],
            check=True,
        )
    return python


def corpus_scores(runs: int, with_detect_secrets: bool) -> dict[str, Any]:
    """aio (and detect-secrets) on the secrets corpus: leaks, false positives, time."""
    from ai_orchestrator.infra.redact import redact

    entries = secret_corpus.load()
    secrets = [e for e in entries if e.kind == "secret"]
    look_alikes = [e for e in entries if e.kind == "lookalike"]
    size = sum(len(e.text.encode()) for e in entries)
    redacted = {e.id: redact(e.text) for e in entries}
    leaks = [e.id for e in secrets if secret_corpus.leaked(e, redacted[e.id])]
    false_positives = [e.id for e in look_alikes if redacted[e.id] != e.text]
    cpu = []
    for _ in range(runs):
        start = time.process_time()
        for entry in entries:
            redact(entry.text)
        cpu.append(time.process_time() - start)
    result: dict[str, Any] = {
        "secret_shapes": len(secrets),
        "look_alikes": len(look_alikes),
        "corpus_bytes": size,
        "aio": {
            "found": len(secrets) - len(leaks),
            "leaks": leaks,
            "false_positives": false_positives,
            "cpu_s_per_mb": median(cpu) / size * 1e6,
        },
    }
    if with_detect_secrets:
        result["detect_secrets"] = _detect_secrets_scores(entries, size, runs)
    return result


def _detect_secrets_scores(
    entries: list[secret_corpus.Entry], size: int, runs: int
) -> dict[str, Any]:
    python = detect_secrets_python()
    with tempfile.TemporaryDirectory() as folder:
        names = {}
        for entry in entries:
            path = Path(folder) / f"{entry.id}{SUFFIXES.get(entry.lang, '.txt')}"
            path.write_text(entry.text + "\n", "utf-8")
            names[entry.id] = str(path)
        out = subprocess.run(
            [str(python), "-c", DETECT_SECRETS_DRIVER, str(runs)],
            input=json.dumps(list(names.values())),
            capture_output=True,
            text=True,
            check=True,
            cwd=folder,
        ).stdout
    report = json.loads(out)
    flagged = {entry_id for entry_id, name in names.items() if report["found"].get(name)}
    secrets = [e.id for e in entries if e.kind == "secret"]
    return {
        "version": DETECT_SECRETS.split("==")[1],
        "found": sum(1 for entry_id in secrets if entry_id in flagged),
        "missed": [entry_id for entry_id in secrets if entry_id not in flagged],
        "false_positives": [e.id for e in entries if e.kind == "lookalike" and e.id in flagged],
        "cpu_s_per_mb": median(report["cpu_samples_s"]) / size * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--no-detect-secrets", action="store_true")
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
        "corpus": corpus_scores(args.runs, not args.no_detect_secrets),
    }
    path = write_result("redact", result)
    print(
        f"redact 1 MB: {result['cpu_median_s'] * 1000:.1f} ms CPU, "
        f"{result['median_s'] * 1000:.1f} ms wall (first call in a new process: "
        f"{result['cold_median_s'] * 1000:.1f} ms) -> {path}"
    )
    corpus = result["corpus"]
    print(
        f"secrets corpus: {corpus['secret_shapes']} shapes, {corpus['look_alikes']} look-alikes, "
        f"{corpus['corpus_bytes']} bytes"
    )
    tools = [("aio", corpus["aio"])]
    if "detect_secrets" in corpus:
        tools.append(
            (f"detect-secrets {corpus['detect_secrets']['version']}", corpus["detect_secrets"])
        )
    for name, scores in tools:
        print(
            f"  {name}: found {scores['found']}/{corpus['secret_shapes']}, "
            f"false positives {len(scores['false_positives'])}/{corpus['look_alikes']}, "
            f"{scores['cpu_s_per_mb']:.2f} s CPU per MB (entries one by one)"
        )


if __name__ == "__main__":
    main()

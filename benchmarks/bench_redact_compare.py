"""Benchmark: 1 MB redaction, this tree against earlier revisions, in the same minutes.

On a shared machine the absolute CPU time of ``bench_redact.py`` moves with the load, so
a change to the rules is judged by its ratio to a revision measured alongside it: each
revision's ``src`` (``git archive``) and this tree are timed in turn, in fresh
processes, ``--rounds`` times; every process redacts the same prompt (``bench_redact``'s,
built from this tree) ``--runs`` times and reports the median CPU time
(``time.process_time``). Prints, per tree, the median over rounds and the ratio to this
tree's; writes ``benchmarks/results/redact-compare.json``.

    .venv/bin/python benchmarks/bench_redact_compare.py main 4d7bd7c --rounds 9
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, median, write_result

TIME_ONE = """
import sys, time
sys.path.insert(0, {src!r})
sys.path.insert(0, {bench!r})
from bench_redact import build_prompt
import ai_orchestrator.infra.redact as module
assert module.__file__.startswith({src!r}), module.__file__
prompt, planted = build_prompt()
cleaned = module.redact(prompt)
assert not [value for value in planted if value in cleaned], "a planted secret survived"
samples = []
for _ in range({runs}):
    start = time.process_time()
    module.redact(prompt)
    samples.append(time.process_time() - start)
samples.sort()
print(samples[len(samples) // 2])
"""


def _time_tree(src: Path, runs: int) -> float:
    code = TIME_ONE.format(src=str(src), bench=str(Path(__file__).parent), runs=runs)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return float(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("revisions", nargs="+", help="git revisions to compare with")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        trees = {"this tree": ROOT / "src"}
        for revision in args.revisions:
            target = Path(folder) / revision.replace("/", "_")
            target.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", revision, "src"],
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
            trees[revision] = target / "src"
        samples: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, src in trees.items():
                samples[name].append(_time_tree(src, args.runs))
    ours = median(samples["this tree"])
    result = {
        name: {"cpu_median_s": median(values), "samples_s": values, "ratio": median(values) / ours}
        for name, values in samples.items()
    }
    path = write_result("redact-compare", result)
    for name, scores in result.items():
        print(
            f"{name}: {scores['cpu_median_s'] * 1000:.1f} ms CPU "
            f"(x{scores['ratio']:.2f} of this tree's)"
        )
    print(f"-> {path}")


if __name__ == "__main__":
    main()

"""What persistent sessions save, measured: one multi-task feature through aio's workflow with
the REAL Claude Code CLI (pinned, ``$AGENT_CLI_DIR``) against the fake Anthropic API, sessions
on and off (``USE_SESSIONS=false``), and what linking, templates and compaction change.

The seed promised "40% token reduction", "35-45% cost savings" and "20% faster multi-task
completion" from sessions, never measured. This script measures them on a scenario:

- A git project; feature ``inventory``: ``aio init``, ``aio plan`` (the scripted model
  answers an N-task plan), ``aio implement --task T1.k`` for k = 1..N (ATDD: the model's
  Write tool writes ``tests/test_tk.py``, aio runs pytest and requires red, the model writes
  the whole ``inventory.py`` module with one more function, aio requires green), ``aio review``
  (the change), ``aio verify`` (aio runs the tests; no agent).
- The model is scripted (``tests/fakeapi``): the same answers in both modes, so the two
  modes differ only in what the CLI sends — the resumed conversation's history (sessions on)
  or a fresh conversation per call (off). A real model without the history would re-read
  files and spend more turns; that is NOT modelled here (it would favour sessions).
- Tokens are the fake's own count of each request's content (``tests/fakeapi/prompt_cache``:
  ``ceil(bytes/4)`` per block, prompt caching emulated by prefix with Claude Code's own
  ``cache_control`` breakpoints, one cache shared by all requests as the API's is per
  organisation). The CLI receives those numbers as the API's usage, so aio records and
  prices them (genai-prices, ``claude-sonnet-4-6``); the report shows aio's recorded cost.
- Wall time: each aio command end to end (the fake answers at once: there is no model
  latency in it; aio's test runs and the CLI's start-up dominate).

Variants (each in a fresh project and a fresh cache): ``on``, ``off`` (``--runs`` times,
interleaved); ``off-reread`` (not by default: sessions off, and each implement call from
task 2 on first reads the module with the Read tool, as a model without the history would);
``compact`` (sessions on, ``aio session compact implement-inventory`` after task
ceil(N/2)); ``lineage``: after the parent feature, three child features of
``--child-tasks`` tasks each, in order: a plain one, one ``aio init --from inventory`` (a
fork of the parent's conversations) and one ``--template`` made from
``implement-inventory`` (its seed conversation forked).

Usage: ``python benchmarks/bench_sessions.py [--tasks N] [--runs R] [--child-tasks M]
[--only on,off,off-reread,compact,lineage] [--name NAME]``; writes
``benchmarks/results/<NAME>.json`` (default ``bench_sessions``) and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakeapi
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS, find_cli, offline_cli
from tests.fakeapi.prompt_cache import PromptCache

from common import median, write_result

MODEL = MODELS["claude"]
TEST_COMMAND = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
FIELDS = ("input", "cache_read", "cache_write", "output")
FAKE_FIELDS = {"input": "input_tokens", "cache_read": "cache_read_input_tokens",
               "cache_write": "cache_creation_input_tokens", "output": "output_tokens"}


# -- the scenario -----------------------------------------------------------------------------
def function_source(module: str, k: int) -> str:
    """Task k's function: a small but realistic piece of code (~25 lines)."""
    return (
        f"def {module}_rule_{k}(items: list[dict[str, int]], limit: int = {k * 10}) -> int:\n"
        f'    """Rule {k} of the {module} feature: the total quantity of the items whose\n'
        f"    price is under ``limit``, counting each item at most {k} times. Items without a\n"
        f'    quantity count as one; negative quantities are an error."""\n'
        "    total = 0\n"
        "    for item in items:\n"
        "        quantity = item.get('quantity', 1)\n"
        "        if quantity < 0:\n"
        f"            raise ValueError(f'negative quantity in rule {k}: {{item}}')\n"
        "        if item.get('price', 0) < limit:\n"
        f"            total += min(quantity, {k})\n"
        "    return total\n"
    )


def test_source(module: str, k: int) -> str:
    return (
        "import pytest\n\n"
        f"from {module} import {module}_rule_{k}\n\n\n"
        f"def test_rule_{k}_counts_cheap_items() -> None:\n"
        f"    items = [{{'price': 1, 'quantity': {k + 5}}}, {{'price': {k * 10 + 1}}}]\n"
        f"    assert {module}_rule_{k}(items) == {k}\n\n\n"
        f"def test_rule_{k}_refuses_negative_quantities() -> None:\n"
        "    with pytest.raises(ValueError):\n"
        f"        {module}_rule_{k}([{{'price': 1, 'quantity': -1}}])\n"
    )


def plan_answer(module: str, tasks: int) -> str:
    plan = {"phases": [{"id": 1, "name": module.title(), "tasks": [
        {"id": f"T1.{k}", "title": f"Rule {k}",
         "description": (f"{module}_rule_{k}(items, limit): rule {k} builds on rules 1..{k - 1} "
                         f"in {module}.py (same conventions, same error handling)."),
         "acceptance_criteria": [f"{module}_rule_{k} counts cheap items at most {k} times",
                                 "negative quantities raise ValueError"],
         "test_requirements": [f"tests/test_{module}_{k}.py"],
         "dependencies": [f"T1.{k - 1}"] if k > 1 else [], "agent": "claude"}
        for k in range(1, tasks + 1)]}]}
    return "Here is the plan:\n```json\n" + json.dumps(plan, indent=2) + "\n```"


def write_turn(path: Path, content: str, text: str) -> dict[str, Any]:
    return {"text": text, "tool_use": {"name": "Write",
                                       "input": {"file_path": str(path), "content": content}}}


def task_turns(root: Path, module: str, k: int, *, reread: bool = False) -> list[dict[str, Any]]:
    """Task k's answers: the tests call (Write, then a word), the implement call (the same).
    ``reread``: each call first reads the module (from task 2 on), as a model without the
    conversation's history would to learn the earlier rules — an assumption, said so."""
    code = "".join(function_source(module, j) + "\n\n" for j in range(1, k + 1)).rstrip() + "\n"
    read = [{"text": f"Reading the earlier rules in {module}.py first.",
             "tool_use": {"name": "Read", "input": {"file_path": str(root / f"{module}.py")}}}
            ] if reread and k > 1 else []
    return [
        *read,
        write_turn(root / "tests" / f"test_{module}_{k}.py", test_source(module, k),
                   f"Writing the acceptance tests for rule {k}."),
        {"text": f"T1.{k}: tests written; they fail until {module}_rule_{k} exists."},
        *read,
        write_turn(root / f"{module}.py", code,
                   f"Implementing rule {k} next to the earlier rules."),
        {"text": f"T1.{k} implemented: {module}_rule_{k} added to {module}.py."},
    ]


REVIEW = json.dumps({"summary": "The rules are consistent and tested.", "findings": [
    {"severity": "low", "file": "inventory.py", "line": 1,
     "message": "The rules repeat the same loop.", "recommendation": "Extract a helper."}]})
SUMMARY = ("Summary of the conversation so far: the feature's rules 1..k live in the module, "
           "each with acceptance tests under tests/; all tests pass; conventions: docstrings, "
           "ValueError on negative quantities. ") * 4


# -- measuring --------------------------------------------------------------------------------
@dataclass
class Step:
    """One aio command: what the fake counted, what aio recorded, how long it took."""

    label: str
    wall_s: float
    cpu_s: float
    fake: dict[str, int]
    requests: int
    main_requests: int
    recorded: dict[str, int] = field(default_factory=dict)
    cost_usd: float = 0.0
    calls: int = 0

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


class Project:
    """A fresh git project, store and fake API (with its own prompt cache)."""

    def __init__(self, base: Path, exe: Path, keep: bool = False) -> None:
        self.root = base / "proj"
        (self.root / "tests").mkdir(parents=True)
        (self.root / "pyproject.toml").write_text(
            '[project]\nname = "inv"\nversion = "0"\n'
            '[tool.pytest.ini_options]\npythonpath = ["."]\n')
        (self.root / ".gitignore").write_text("__pycache__/\n")
        git = ["git", "-c", "user.email=b@example.invalid", "-c", "user.name=b"]
        subprocess.run(["git", "init", "-q"], cwd=self.root, check=True)
        subprocess.run([*git, "add", "-A"], cwd=self.root, check=True)
        subprocess.run([*git, "commit", "-qm", "empty"], cwd=self.root, check=True)
        (self.root / ".aio").mkdir()
        (self.root / ".aio" / "config.toml").write_text(
            f"test_command = {json.dumps(TEST_COMMAND)}\n"
            f'[phases.plan]\nagent = "claude"\nmodel = "{MODEL}"\nfallback = []\n'
            f'[phases.implement]\nagent = "claude"\nmodel = "{MODEL}"\n'
            f'[phases.review]\nagent = "claude"\nmodel = "{MODEL}"\n')
        self.sessions = base / "sessions"
        self.api = FakeAPIServer(default_turn={"text": SUMMARY}, prompt_cache=PromptCache(),
                                 log_file=base / "requests.jsonl" if keep else None).start()
        cli = offline_cli("claude", self.api.url, base / "home", exe=exe)
        self.env = {**cli.env, "SESSION_DIR": str(self.sessions),
                    "AIO_AGENT_CLAUDE_EXECUTABLE": cli.argv[0],
                    "AIO_PROJECT_DIR": str(self.root),
                    "XDG_CACHE_HOME": str(base / "cache"),
                    "XDG_CONFIG_HOME": str(base / "config")}

    def close(self) -> None:
        self.api.stop()

    def aio(self, label: str, *args: str, turns: list[dict[str, Any]] | None = None,
            env: dict[str, str] | None = None, sessions: tuple[str, ...] = ()) -> Step:
        """Run one aio command with ``turns`` scripted; measure it."""
        self.api.script(turns or [])
        seen = len(self.api.requests)
        before = {name: self._record_count(name) for name in sessions}
        usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "ai_orchestrator", *args], cwd=self.root,
                              env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=900)
        wall = time.perf_counter() - start
        usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"aio {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stderr[-3000:]}")
        if self.api.pending:
            raise SystemExit(f"aio {' '.join(args)}: {len(self.api.pending)} scripted turns "
                             "unused (the scenario and the workflow disagree)")
        new = self.api.requests[seen:]
        fake = dict.fromkeys(FIELDS, 0)
        for rec in new:
            for key, wire in FAKE_FIELDS.items():
                fake[key] += int((rec.usage or {}).get(wire, 0))
        step = Step(label, wall, usage1.ru_utime - usage0.ru_utime + usage1.ru_stime
                    - usage0.ru_stime, fake, len(new), sum(r.main for r in new))
        step.recorded = dict.fromkeys(FIELDS, 0)
        for name in sessions:
            for record in self._records(name)[before[name]:]:
                step.calls += 1
                step.cost_usd += float(record.get("cost") or 0.0)
                tokens = record.get("tokens") or {}
                step.recorded["input"] += int(tokens.get("input") or 0)
                step.recorded["output"] += int(tokens.get("output") or 0)
                step.recorded["cache_read"] += int(tokens.get("cache_read") or 0)
                step.recorded["cache_write"] += int(tokens.get("cache_write") or 0)
        return step

    def _records(self, name: str) -> list[dict[str, Any]]:
        path = self.sessions / name / "interactions.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def _record_count(self, name: str) -> int:
        return len(self._records(name))


def feature_steps(p: Project, feature: str, tasks: int, *, env: dict[str, str] | None = None,
                  init: tuple[str, ...] = (), compact_after: int | None = None,
                  review: bool = True, reread: bool = False) -> list[Step]:
    """init, plan, implement each task, (compact), review, verify of one feature."""
    impl = f"implement-{feature}"
    steps = [p.aio("init", "init", feature, f"The {feature} rules", *init, env=env)]
    steps.append(p.aio("plan", "plan", feature, f"Plan {tasks} rules for {feature}, tests first",
                       turns=[{"text": plan_answer(feature, tasks)}], env=env,
                       sessions=(f"plan-{feature}",)))
    for k in range(1, tasks + 1):
        steps.append(p.aio(f"T1.{k}", "implement", feature, "--task", f"T1.{k}",
                           turns=task_turns(p.root, feature, k, reread=reread), env=env,
                           sessions=(impl,)))
        if compact_after == k:
            steps.append(_compact(p, impl, env))
    if review:
        steps.append(p.aio("review", "review", feature, turns=[{"text": REVIEW}], env=env,
                           sessions=(f"review-{feature}",)))
    steps.append(p.aio("verify", "verify", feature, env=env))
    return steps


def _compact(p: Project, impl: str, env: dict[str, str] | None) -> Step:
    """``aio session compact``: the CLI's /compact; its summary request may or may not offer
    tools (a main request), so the queue is left empty and the fake's default turn (a
    summary) answers either way."""
    return p.aio("compact", "session", "compact", impl, "--json", env=env, sessions=(impl,))


@contextmanager
def project(exe: Path, keep: bool) -> Iterator[Project]:
    base = Path(tempfile.mkdtemp(prefix="aio-bench-sessions-"))
    p = Project(base, exe, keep)
    try:
        yield p
    finally:
        p.close()
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


# -- reporting --------------------------------------------------------------------------------
def totals(steps: list[Step]) -> dict[str, float]:
    out: dict[str, float] = {k: float(sum(s.fake[k] for s in steps)) for k in FIELDS}
    out["cost_usd"] = sum(s.cost_usd for s in steps)
    out["wall_s"] = sum(s.wall_s for s in steps)
    out["cpu_s"] = sum(s.cpu_s for s in steps)
    out["requests"] = float(sum(s.requests for s in steps))
    return out


def median_steps(runs: list[list[Step]]) -> list[dict[str, Any]]:
    """Per step label: the median of each figure over the runs (tokens are nearly fixed)."""
    rows = []
    for i, first in enumerate(runs[0]):
        same = [run[i] for run in runs]
        row: dict[str, Any] = {"step": first.label}
        for key in FIELDS:
            row[key] = median([float(s.fake[key]) for s in same])
            row[f"{key}_range"] = [min(s.fake[key] for s in same), max(s.fake[key] for s in same)]
        row["cost_usd"] = median([s.cost_usd for s in same])
        row["wall_s"] = median([s.wall_s for s in same])
        row["cpu_s"] = median([s.cpu_s for s in same])
        row["requests"] = median([float(s.requests) for s in same])
        rows.append(row)
    return rows


def table(title: str, columns: dict[str, list[dict[str, Any]]]) -> str:
    """Markdown: one row per step (matched by label: a step only one column has shows "—"
    in the others), each column's input/cache read/cache write/output/cost/wall, and each
    column's total over all of its steps."""
    names = list(columns)
    head = "| step | " + " | ".join(
        f"{n}: input | {n}: cache read | {n}: cache write | {n}: output | {n}: cost | {n}: wall"
        for n in names) + " |"
    lines = [f"**{title}**", "", head, "|---" * (1 + 6 * len(names)) + "|"]
    labels: list[str] = []
    for rows in columns.values():
        for i, row in enumerate(rows):
            if row["step"] not in labels:
                before = rows[i - 1]["step"] if i else None
                at = labels.index(before) + 1 if before in labels else len(labels)
                labels.insert(at, row["step"])
    by_label = {n: {r["step"]: r for r in rows} for n, rows in columns.items()}
    for label in labels:
        cells = [label]
        for n in names:
            found = by_label[n].get(label)
            cells += _cells(found) if found else ["—"] * 6
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["**total**"]
    for n in names:
        total = {k: sum(r[k] for r in columns[n]) for k in (*FIELDS, "cost_usd", "wall_s")}
        cells += [f"**{c}**" for c in _cells(total)]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cells(row: dict[str, Any]) -> list[str]:
    return [f"{row['input']:,.0f}", f"{row['cache_read']:,.0f}", f"{row['cache_write']:,.0f}",
            f"{row['output']:,.0f}", f"${row['cost_usd']:.4f}", f"{row['wall_s']:.1f} s"]


def check_recorded(steps: list[Step]) -> list[str]:
    """Where aio's records disagree with what the fake counted (agent steps only)."""
    problems = []
    for s in steps:
        if s.calls and s.recorded != s.fake:
            problems.append(f"{s.label}: fake {s.fake} vs recorded {s.recorded}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child-tasks", type=int, default=3)
    parser.add_argument("--only", default="on,off,compact,lineage")
    parser.add_argument("--keep", action="store_true", help="keep the temp projects")
    parser.add_argument("--name", default="bench_sessions", help="results/<name>.json")
    args = parser.parse_args()
    exe = find_cli("claude")
    if exe is None:
        raise SystemExit("the real claude CLI is not installed: set AGENT_CLI_DIR or run "
                         "`make agent-clis` (the measurement means nothing without it)")
    only = set(args.only.split(","))
    load = os.getloadavg()
    result: dict[str, Any] = {"tasks": args.tasks, "runs": args.runs, "model": MODEL,
                              "load_before": [round(x, 2) for x in load]}
    raw: dict[str, list[list[Step]]] = {"on": [], "off": [], "off-reread": []}
    for _ in range(args.runs):
        for mode in raw:
            if mode not in only:
                continue
            env = {"USE_SESSIONS": "false"} if mode.startswith("off") else {}
            with project(exe, args.keep) as p:
                raw[mode].append(feature_steps(p, "inventory", args.tasks, env=env,
                                               reread=mode == "off-reread"))
            print(f"{mode}: {totals(raw[mode][-1])}", file=sys.stderr)
    medians = {mode: median_steps(runs) for mode, runs in raw.items() if runs}
    result["modes"] = {mode: {"steps": rows, "totals": {
        "median_total": {k: median([totals(r)[k] for r in raw[mode]])
                         for k in (*FIELDS, "cost_usd", "wall_s", "cpu_s", "requests")},
        "all_runs": [totals(r) for r in raw[mode]]}} for mode, rows in medians.items()}
    result["mismatches"] = {mode: check_recorded([s for run in runs for s in run])
                            for mode, runs in raw.items()}
    out = []
    if medians:
        out.append(table(f"Feature of {args.tasks} tasks, sessions on vs off "
                         f"(median of {args.runs} runs)", medians))
    if "compact" in only:
        with project(exe, args.keep) as p:
            steps = feature_steps(p, "inventory", args.tasks,
                                  compact_after=math.ceil(args.tasks / 2))
        rows = median_steps([steps])
        result["compact"] = {"steps": rows, "totals": totals(steps),
                             "mismatches": check_recorded(steps)}
        columns = {"compact": rows}
        if "on" in medians:
            columns["on"] = medians["on"]
        out.append(table(f"Sessions on with `aio session compact` after task "
                         f"{math.ceil(args.tasks / 2)} (one run)", columns))
    if "lineage" in only:
        with project(exe, args.keep) as p:
            parent = feature_steps(p, "inventory", args.tasks)
            p.aio("template", "template", "save", "inv-tpl", "--from", "implement-inventory")
            kids = {
                "plain": feature_steps(p, "orders", args.child_tasks, review=False),
                "from": feature_steps(p, "billing", args.child_tasks, review=False,
                                      init=("--from", "inventory")),
                "template": feature_steps(p, "pricing", args.child_tasks, review=False,
                                          init=("--template", "inv-tpl")),
            }
        result["lineage"] = {"parent": totals(parent), **{
            k: {"steps": median_steps([v]), "totals": totals(v),
                "mismatches": check_recorded(v)} for k, v in kids.items()}}
        out.append(table(f"A second feature of {args.child_tasks} tasks after the first, in the "
                         "same project and cache: plain `init`, `init --from inventory`, "
                         "`init --template` (one run)",
                         {k: median_steps([v]) for k, v in kids.items()}))
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    path = write_result(args.name, result)
    print("\n\n".join(out))
    print(f"\nload {result['load_before']} -> {result['load_after']}; raw: {path}")
    problems_by_run = dict(result["mismatches"])
    if "compact" in result:
        problems_by_run["compact"] = result["compact"]["mismatches"]
    for kid, figures in result.get("lineage", {}).items():
        if kid != "parent":
            problems_by_run[kid] = figures["mismatches"]
    for mode, problems in problems_by_run.items():
        for line in problems:
            print(f"MISMATCH ({mode}): {line}")


if __name__ == "__main__":
    main()

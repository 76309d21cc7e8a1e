"""Syscall-injection sweep: exit 0 ⇔ stored, whatever system call fails (issue 18).

Each writing command runs once under ``strace -y`` to find the calls that touch the store
(or the export file, or stdout/stderr); then, with a fixed seed, a sample of them is made
to fail one at a time (``strace -e inject=<syscall>:error=<ERRNO>:when=<N>``: ENOSPC, EIO,
EDQUOT, and a few SIGKILLs) and the outcome is checked against the store read back
afterwards:

- the command never shows a traceback or "internal error", and exits 0, 1 or 2;
- exit 0 ⇔ its work is in the store (a record present, a session removed, a file written),
  except where the error says the outcome is uncertain ("may still be");
- the store always loads (``list --json``: no unreadable session), and nothing is stored
  twice.

Marked ``slow`` (about two minutes); skipped, with the reason, when strace is missing or
not allowed to trace here (CI installs it: ``.ci/run``).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ai_orchestrator.store import SessionStore
from tests.helpers import as_record, interaction, write_legacy_store

pytestmark = [pytest.mark.slow, pytest.mark.process]  # strace runs aio as a process

STRACE = shutil.which("strace") or "/usr/bin/strace"
SYSCALLS = ("openat", "write", "pwrite64", "fsync", "rename", "close", "ftruncate", "mkdir",
            "unlink", "flock")  # fmt: skip
ERRNOS = ("ENOSPC", "EIO", "EDQUOT")
SEED = 18  # the number: the same sample on every run
PER_COMMAND = 7  # injections per command (plus one SIGKILL)
CODE = "from ai_orchestrator.cli.main import session_main; session_main()"
LINE = re.compile(r"^(?:(\d+) +)?(\w+)\((.*)$")


def strace_usable() -> str | None:
    """Why the sweep cannot run here, or ``None``."""
    if not os.path.exists(STRACE):
        return "strace is not installed (apt-get install -y strace)"
    probe = subprocess.run([STRACE, "-o", os.devnull, "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        return f"strace cannot trace here: {probe.stderr.decode(errors='replace').strip()}"
    return None


@dataclass
class Case:
    """One writing command: ``prepare`` builds the store and returns the argv, stdin and a
    check of whether the command's work is in the store."""

    name: str
    prepare: Callable[[Path, Path], tuple[list[str], str, Callable[[], bool]]]


def _record(root: Path, tmp: Path) -> tuple[list[str], str, Callable[[], bool]]:
    SessionStore(root).record(as_record("plan-x", interaction(id="first")))
    return (
        ["record", "plan-x"],
        json.dumps(interaction(id="swept")),
        lambda: "swept" in [r.id for r in SessionStore(root).read_log("plan-x").records],
    )


def _record_new(root: Path, tmp: Path) -> tuple[list[str], str, Callable[[], bool]]:
    return (
        ["record", "plan-new"],
        json.dumps(interaction(id="swept")),
        lambda: (
            "plan-new" in SessionStore(root).names()
            and [r.id for r in SessionStore(root).read_log("plan-new").records] == ["swept"]
        ),
    )


def _import(root: Path, tmp: Path) -> tuple[list[str], str, Callable[[], bool]]:
    source = tmp / "import.json"
    obj = {"schema_version": 1, "session_name": "plan-imp", "agent_session_id": "conv-9",
           "interactions": [interaction(id="i-1"), interaction(id="i-2")]}  # fmt: skip
    source.write_text(json.dumps([obj]))

    def stored() -> bool:
        store = SessionStore(root)
        return (
            "plan-imp" in store.names()
            and store.load("plan-imp").summary.to_json()["interaction_count"] == 2
        )

    return (["import", str(source), "--json"], "", stored)


def _migrate(root: Path, tmp: Path) -> tuple[list[str], str, Callable[[], bool]]:
    write_legacy_store(root)
    return (
        ["migrate", "--json"],
        "",
        lambda: (
            (root / "implement-payment-gateway" / "metadata.legacy.json").exists()
            and not SessionStore(root).load("implement-payment-gateway").legacy
        ),
    )


def _old(root: Path) -> None:
    SessionStore(root).record(as_record("plan-old", interaction(timestamp="2020-01-01T00:00:00Z")))
    SessionStore(root).record(as_record("plan-new", interaction()))


def _clean(root: Path, tmp: Path) -> tuple[list[str], str, Callable[[], bool]]:
    _old(root)
    return (
        ["clean", "--older-than", "30", "--yes"],
        "",
        lambda: SessionStore(root).names() == ["plan-new"],
    )


def _delete(root: Path, tmp: Path) -> tuple[list[str], str, Callable[[], bool]]:
    _old(root)
    return (
        ["delete", "plan-old", "--yes"],
        "",
        lambda: "plan-old" not in SessionStore(root).names(),
    )


def _export(root: Path, tmp: Path) -> tuple[list[str], str, Callable[[], bool]]:
    _old(root)
    target = tmp / "export.json"

    def written() -> bool:
        try:
            return len(json.loads(target.read_text())) == 2
        except (OSError, ValueError):
            return False

    return (["export", "-o", str(target)], "", written)


def _repair(root: Path, tmp: Path) -> tuple[list[str], str, Callable[[], bool]]:
    _old(root)
    with (root / "plan-old" / "interactions.jsonl").open("ab") as log:
        log.write(b"torn")

    def repaired() -> bool:
        view = SessionStore(root).load("plan-old")
        return not view.problems and view.summary.to_json()["interaction_count"] == 1

    return (["repair", "plan-old"], "", repaired)


CASES = [Case("record", _record), Case("record-new-session", _record_new),
         Case("import", _import), Case("migrate", _migrate), Case("clean", _clean),
         Case("delete", _delete), Case("export", _export), Case("repair", _repair)]  # fmt: skip


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "SESSION_DIR": str(root), "AIO_FSYNC": "1",
            "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip


def _run(argv: list[str], stdin: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=120, env=_env(root)
    )


def _targets(trace: str, roots: tuple[str, ...]) -> list[tuple[str, int]]:
    """``(syscall, n)``: the n-th call of that syscall (per process, as strace counts for
    ``when``) in the main process, for each call that touched one of ``roots`` or stdout."""
    counts: dict[str, int] = {}
    main_pid = None
    found = []
    for line in trace.splitlines():
        match = LINE.match(line)
        if match is None or "resumed>" in line:
            continue
        pid, name, args = match.groups()
        main_pid = main_pid or pid
        if pid != main_pid or name not in SYSCALLS:
            continue
        counts[name] = counts.get(name, 0) + 1
        if any(root in args for root in roots) or re.match(r"[12]<", args):
            found.append((name, counts[name]))
    return found


def _store_loads(root: Path) -> list[str]:
    """Problems reading the store back: unreadable sessions, duplicate records."""
    listing = _run([sys.executable, "-c", CODE, "list", "--json"], "", root)
    if listing.returncode != 0:
        return [f"list failed: {listing.stderr.strip()}"]
    doc = json.loads(listing.stdout)
    problems = [f"unreadable: {u}" for u in doc["unreadable"]]
    store = SessionStore(root)
    for name in store.names():
        ids = [r.id for r in store.read_log(name).records]
        if len(ids) != len(set(ids)):
            problems.append(f"{name}: a record stored twice: {ids}")
    return problems


@pytest.mark.timeout(600)
def test_syscall_injection_sweep(tmp_path: Path) -> None:
    reason = strace_usable()
    if reason is not None:
        pytest.skip(f"SYSCALL SWEEP NOT RUN: {reason}")
    rng = random.Random(SEED)
    failures: list[str] = []
    runs = refused = 0
    for case in CASES:
        base = tmp_path / case.name
        probe_root = base / "probe" / "store"
        probe_root.mkdir(parents=True)
        argv, stdin, _ = case.prepare(probe_root, probe_root.parent)
        log = base / "trace.log"
        _run([STRACE, "-f", "-y", "-o", str(log), "-e", f"trace={','.join(SYSCALLS)}",
              sys.executable, "-c", CODE, *argv], stdin, probe_root)  # fmt: skip
        targets = _targets(log.read_text(errors="replace"), (str(probe_root.parent),))
        assert targets, f"{case.name}: no store syscalls seen in the trace"
        chosen = rng.sample(targets, min(PER_COMMAND, len(targets)))
        plan = [(name, n, rng.choice(ERRNOS)) for name, n in chosen]
        plan.append((*rng.choice(targets), "KILL"))
        for index, (syscall, when, error) in enumerate(plan):
            root = base / f"run{index}" / "store"
            root.mkdir(parents=True)
            argv, stdin, stored = case.prepare(root, root.parent)
            fault = "signal=KILL" if error == "KILL" else f"error={error}"
            result = _run(
                [STRACE, "-f", "-o", os.devnull, "-e", f"inject={syscall}:{fault}:when={when}",
                 sys.executable, "-c", CODE, *argv],
                stdin,
                root,
            )  # fmt: skip
            runs += 1
            where = f"{case.name}: {syscall}#{when} {error} -> exit {result.returncode}"
            err = result.stderr
            if "Traceback" in err or "internal error" in err:
                failures.append(f"{where}: {err.strip()[-400:]}")
            problems = _store_loads(root)
            if problems:
                failures.append(f"{where}: store does not load: {problems}")
            if error == "KILL":
                continue  # killed: either outcome, but the store loads and nothing twice
            if result.returncode not in (0, 1, 2):
                failures.append(f"{where}: unexpected exit code: {err.strip()[-300:]}")
                continue
            # "may still be": the error says the outcome is uncertain. Repair is a rerun-safe
            # tidy-up whose finished steps stand, and a session clean could not read is kept
            # and named: for those only "exit 0 ⇒ done" holds.
            uncertain = "may still be" in err or case.name == "repair"
            kept_unreadable = case.name == "clean" and "plan-old: skipped" in err
            done = stored()
            refused += result.returncode != 0
            if result.returncode == 0 and not done and not kept_unreadable:
                failures.append(f"{where}: exit 0 but not stored")
            elif result.returncode != 0 and done and not uncertain:
                failures.append(f"{where}: stored but exit {result.returncode}: {err.strip()}")
    assert runs >= len(CASES) * 5
    # the injections hit: a sweep whose faults all went unnoticed would prove nothing
    assert refused >= runs // 4, f"only {refused} of {runs} injected runs failed"
    assert not failures, f"{len(failures)} of {runs} runs broke a rule:\n" + "\n".join(failures)

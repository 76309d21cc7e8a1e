"""Large benchmark stores written straight to files, built once and cached.

``aio session import`` of 100,000 sessions × 20 interactions takes many minutes (every
record validated, redacted and fsynced). The benchmark needs the *files* a real store
holds, not the import: the records of session ``s`` differ from those of session
``s mod 84`` only in the feature name and the ids, so 84 template sessions are produced
by the store's own code (``normalize_interaction``, ``stored_form``, ``build_summary``)
and the rest are copies with those two strings substituted. The store is written to
``.cache/bench-stores/<sessions>x20`` and reused by later runs (a ``complete`` marker
says it was finished); benchmarks hard-link copies of it (``cp -al``), so each run and
each commit measured starts from the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ai_orchestrator.core.names import parse_session_name
from ai_orchestrator.store.logfile import summary_bytes
from ai_orchestrator.store.records import normalize_interaction, stored_form
from ai_orchestrator.store.summary import build_summary
from common import ROOT

PER_SESSION = 20
PERIOD = 84  # lcm of the generator's cycles: 3 commands, 4 models, 28 days
CACHE = ROOT / ".cache" / "bench-stores"


def _template(s: int) -> tuple[bytes, dict[str, object]]:
    from bench_store import build_export  # the one definition of the generated data

    obj = build_export(s + 1, PER_SESSION)[s]
    session = parse_session_name(str(obj["session_name"]))
    records = obj["interactions"]
    assert isinstance(records, list)
    stored = [stored_form(normalize_interaction(i, session)) for i in records]
    log = b"".join(line for _, line in stored)
    summary = build_summary(session, [r for r, _ in stored])
    return log, summary


def build(sessions: int) -> Path:
    """The cached store of ``sessions`` sessions (built now if missing)."""
    root = CACHE / f"{sessions}x{PER_SESSION}"
    if (CACHE / f"{root.name}.complete").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, mode=0o700)
    os.chmod(root, 0o700)
    start = time.perf_counter()
    templates = [_template(k) for k in range(min(PERIOD, sessions))]
    for s in range(sessions):
        k = s % PERIOD
        log, summary = templates[k]
        old_f, new_f = f"feature-{k // 3:05d}", f"feature-{s // 3:05d}"
        old_id, new_id = f'"bench-{k}-', f'"bench-{s}-'
        data = log.replace(old_f.encode(), new_f.encode()).replace(old_id.encode(), new_id.encode())
        doc = json.loads(json.dumps(summary).replace(old_f, new_f))
        doc["log_size"] = len(data)
        path = root / str(doc["session_name"])
        path.mkdir(mode=0o700)
        for name, content in (("interactions.jsonl", data), ("metadata.json", summary_bytes(doc))):
            fd = os.open(path / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, content)
            finally:
                os.close(fd)
        if s and s % 10_000 == 0:
            print(f"  {s} sessions written ({time.perf_counter() - start:.0f}s)", flush=True)
    (CACHE / f"{root.name}.complete").write_text("")
    print(f"built {root} in {time.perf_counter() - start:.0f}s", flush=True)
    return root


def copy_of(sessions: int, target: Path) -> Path:
    """A hard-linked copy of the cached store at ``target`` (fast; the store replaces
    files by rename, so the cache itself is never written through the links)."""
    source = build(sessions)
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-al", str(source), str(target)], check=True)
    return target


if __name__ == "__main__":
    for n in sys.argv[1:] or ["10000"]:
        build(int(n))

"""What compaction and retention add to every command and every call (docs/retention-compaction.md).

Measures, in this process (medians of many samples, microseconds):

- the daily retention check every aio command makes after its work (``cli.main._auto_retention``)
  with no config file, with ``auto = false``, and with ``auto = true`` but run within the day;
- the pre-call compaction check (``calls.compaction.before_call``) on a session below the
  threshold (settings read, summary loaded, window looked up);
- planning a retention policy over a store of ``--sessions`` sessions (index warm).

Usage: ``python benchmarks/bench_upkeep.py [--sessions N]``; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def median_us(fn: Callable[[], object], samples: int) -> float:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aio-bench-upkeep-"))
    os.environ["HOME"] = str(tmp)
    os.environ["XDG_CONFIG_HOME"] = str(tmp / ".config")
    os.environ["SESSION_DIR"] = str(tmp / "store")
    os.environ["AIO_FSYNC"] = "0"

    from ai_orchestrator.calls.compaction import before_call
    from ai_orchestrator.calls.options import CallOptions
    from ai_orchestrator.cli.main import _auto_retention
    from ai_orchestrator.store import SessionStore
    from ai_orchestrator.store.retention import RetentionPolicy, apply_auto, plan_policy

    store = SessionStore()
    record = {
        "agent": "claude", "model": "claude-sonnet-4-5", "prompt": "p", "outcome": "success",
        "tokens": {"input": 100, "output": 5, "cache_read": 1000, "cache_write": 10},
        "cost": 0.01, "duration_ms": 1, "agent_session_id": "0e9f2b61-2f7a-4a39-9d1b-5f1c2d3e4f50",
        "context_tokens": 1110,
    }  # fmt: skip
    for i in range(args.sessions):
        store.record(f"run-s{i}", {**record, "timestamp": f"2026-0{1 + i % 9}-01T00:00:00Z"})
    config = tmp / ".config" / "aio" / "config.toml"
    out: dict[str, float] = {}
    out["daily_check_no_config_us"] = median_us(_auto_retention, 2000)
    config.parent.mkdir(parents=True)
    config.write_text("[retention]\nmax_count = 100000\nauto = false\n")
    out["daily_check_auto_off_us"] = median_us(_auto_retention, 2000)
    config.write_text("[retention]\nmax_count = 100000\nauto = true\n")
    apply_auto(store)  # runs once: the stamp is fresh from now on
    out["daily_check_auto_on_not_due_us"] = median_us(_auto_retention, 2000)
    options = CallOptions(agent="claude", cwd=tmp, model="claude-sonnet-4-5")
    out["precall_compaction_check_us"] = median_us(
        lambda: before_call(store, "run-s0", options, print, print), 500
    )
    policy = RetentionPolicy(max_age_days=30, max_count=args.sessions // 2)
    plan_policy(store, policy)  # warm the index
    out["plan_policy_ms"] = round(median_us(lambda: plan_policy(store, policy), 5) / 1000, 1)
    out["sessions"] = args.sessions
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""Stores filled fast for the team tests: many sessions and interactions with known totals."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from ai_orchestrator.store.session_store import SessionStore
from tests.helpers import as_records

MODELS = ("claude-sonnet-4-5", "gpt-5-codex", "gemini-2.5-pro")
AGENTS = {"claude-sonnet-4-5": "claude", "gpt-5-codex": "codex", "gemini-2.5-pro": "gemini"}
SOURCES = ("computed", "computed", "computed", "reported", "unpriced")


def records(tag: str, count: int, seed: int, day: int = 1) -> list[dict[str, Any]]:
    """``count`` valid interactions with ids ``<tag>-<n>`` and varied figures."""
    rnd = random.Random(seed)
    out = []
    for n in range(count):
        model = MODELS[rnd.randrange(3)]
        source = SOURCES[rnd.randrange(len(SOURCES))]
        out.append(
            {
                "id": f"{tag}-{n}",
                "timestamp": f"2026-11-{day + n % 20:02d}T{n % 24:02d}:{n % 60:02d}:00.000Z",
                "agent": AGENTS[model],
                "model": model,
                "prompt": f"prompt {n} of {tag} key sk-ant-api03-{'x' * 40}",
                "tokens": {
                    "input": rnd.randrange(10_000),
                    "output": rnd.randrange(5_000),
                    "cache_read": rnd.randrange(50_000),
                    "cache_write": rnd.randrange(2_000),
                    "reasoning": rnd.randrange(100),
                },
                "cost": 0.0 if source == "unpriced" else round(rnd.random() / 7, 9),
                "cost_source": source,
                "duration_ms": rnd.randrange(100, 9000),
                "outcome": "success" if rnd.random() < 0.9 else "error:api_error",
                "task_id": f"T{rnd.randrange(4)}",
            }
        )
    return out


def fill_store(root: Path, sessions: int, per_session: int, seed: int) -> SessionStore:
    store = SessionStore(root)
    for s in range(sessions):
        name = f"implement-feat{s % 3}" if s < 3 else f"run-job{s}"
        store.record_unique(
            name, as_records(name, records(f"{root.name}-{name}", per_session, seed * 1000 + s))
        )
    return store

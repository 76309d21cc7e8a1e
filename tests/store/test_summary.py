"""The summary fold: one-off calls keep the stored conversation; per-model and grouped
totals carry savings and unpriced counts, and add up to the session's cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.index import SummaryIndex
from ai_orchestrator.store.session_store import METADATA
from ai_orchestrator.store.stats import compute_stats
from tests.helpers import aio_inprocess as aio
from tests.helpers import as_record, interaction


def call(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "agent": "claude",
        "agent_session_id": "conv-1",
        "cwd": "/work/project",
        "agent_state": {"k": "v"},
        "session_action": "resumed",
    }
    return interaction(**{**fields, **overrides})


# ------------------------------------------------------------------ gap 13


def test_a_fresh_call_never_replaces_the_stored_conversation(session_dir: Path) -> None:
    store = SessionStore()
    store.record(as_record("run-x", call(session_action="started")))
    store.record(
        as_record(
            "run-x",
            interaction(
                agent="gemini",
                model="gemini-2.5-pro",
                agent_session_id="one-off",
                cwd="/tmp/elsewhere",
                agent_state={"other": 1},
                session_action="fresh",
            ),
        )
    )
    summary = store.load("run-x").summary.to_json()
    assert summary["agent"] == "claude"
    assert summary["agent_session_id"] == "conv-1"
    assert summary["agent_cwd"] == "/work/project"
    assert summary["agent_state"] == {"k": "v"}
    assert summary["interaction_count"] == 2 and summary["model"] == "gemini-2.5-pro"
    # the same after a rebuild from the log
    (session_dir / "run-x" / METADATA).unlink()
    assert store.load("run-x").summary.to_json()["agent_session_id"] == "conv-1"


def test_fresh_calls_alone_store_no_conversation(session_dir: Path) -> None:
    store = SessionStore()
    store.record(
        as_record("run-x", interaction(agent_session_id="one-off", session_action="fresh"))
    )
    summary = store.load("run-x").summary.to_json()
    assert summary["agent"] == "claude" and summary["agent_session_id"] is None
    store.record(as_record("run-x", call(session_action="started", agent_session_id="conv-2")))
    assert store.load("run-x").summary.to_json()["agent_session_id"] == "conv-2"


# ------------------------------------------------------------------ gap 14


def usage(**fields: Any) -> dict[str, Any]:
    return {"input": 100, "output": 10, "cache_read": 0, "cache_write": 0, **fields}


def test_unpriced_model_is_counted_not_shown_as_zero(session_dir: Path) -> None:
    store = SessionStore()
    store.record(
        as_record(
            "run-x",
            interaction(
                model="mystery-model-9",
                cost=0.0,
                cost_source="unpriced",
                usage_by_model={"mystery-model-9": usage(cost=0.0, priced=False)},
            ),
        )
    )
    bucket = store.load("run-x").summary.to_json()["by_model"]["mystery-model-9"]
    assert bucket["unpriced"] == 1 and bucket["interactions"] == 1
    text = aio("session", "show", "run-x").out
    assert "mystery-model-9: 1 call, unpriced" in text
    assert "$0.0000" not in text.split("By model:")[1].splitlines()[0]
    groups = aio("session", "stats", "--by", "model", "--json").json()["groups"]
    assert groups["mystery-model-9"]["unpriced_interactions"] == 1
    table = aio("session", "stats", "--by", "model").out
    assert "unpriced" in table.split("By model")[1]


def test_reported_total_is_split_so_models_add_up(session_dir: Path) -> None:
    """cost_source reported: a priced model keeps its computed cost, the unpriced one
    gets the rest of the CLI's total (or its own reported figure when there is one)."""
    store = SessionStore()
    store.record(
        as_record(
            "run-x",
            interaction(
                cost=1.0,
                cost_source="reported",
                reported_cost=1.0,
                savings=0.3,
                usage_by_model={
                    "claude-sonnet-4-5": usage(cost=0.25, priced=True, cache_read=100),
                    "mystery-model-9": usage(cost=0.0, priced=False),
                },
            ),
        )
    )
    store.record(
        as_record(
            "run-x",
            interaction(
                cost=0.5,
                cost_source="reported",
                reported_cost=0.5,
                usage_by_model={
                    "claude-sonnet-4-5": usage(cost=0.1, priced=True),
                    "mystery-model-9": usage(cost=0.0, priced=False, reported_cost=0.4),
                },
            ),
        )
    )
    summary = store.load("run-x").summary.to_json()
    by_model = summary["by_model"]
    assert by_model["mystery-model-9"]["cost"] == pytest.approx(0.75 + 0.4)
    assert by_model["claude-sonnet-4-5"]["cost"] == pytest.approx(0.35)
    assert sum(b["cost"] for b in by_model.values()) == pytest.approx(summary["cost"])
    assert all(b["unpriced"] == 0 for b in by_model.values())
    # savings are attributed to the model that read from the cache
    assert by_model["claude-sonnet-4-5"]["savings"] == pytest.approx(0.3)
    assert by_model["mystery-model-9"]["savings"] == 0


def test_per_model_savings_are_used_when_recorded(session_dir: Path) -> None:
    store = SessionStore()
    store.record(
        as_record(
            "run-x",
            interaction(
                savings=0.5,
                usage_by_model={
                    "a-model": usage(cost=0.1, priced=True, savings=0.2),
                    "b-model": usage(cost=0.1, priced=True, savings=0.3),
                },
            ),
        )
    )
    by_model = store.load("run-x").summary.to_json()["by_model"]
    assert by_model["a-model"]["savings"] == pytest.approx(0.2)
    assert by_model["b-model"]["savings"] == pytest.approx(0.3)


@pytest.mark.parametrize("by", ["model", "command", "feature", "day", "task"])
def test_every_breakdown_has_tokens_cost_savings_and_unpriced(session_dir: Path, by: str) -> None:
    store = SessionStore()
    store.record(as_record("run-x", interaction(cost=0.5, savings=0.25, task_id="T1")))
    store.record(
        as_record(
            "run-x", interaction(cost=0.0, cost_source="unpriced", model="mystery", task_id="T1")
        )
    )
    store.record(as_record("plan-x", interaction(cost=1.0, savings=0.5)))
    rows, _ = SummaryIndex(store).rows()
    stats = compute_stats(rows, by=by, records_of=lambda n: store.read_log(n).records)
    groups = stats["groups"].values()
    assert sum(g["cost"] for g in groups) == pytest.approx(1.5)
    assert sum(g["savings"] for g in groups) == pytest.approx(0.75)
    assert sum(g["unpriced_interactions"] for g in groups) == 1
    assert sum(g["tokens"]["input"] for g in groups) == 300


def test_summaries_written_before_buckets_had_savings_are_rebuilt_quietly(
    session_dir: Path,
) -> None:
    import json

    store = SessionStore()
    store.record(as_record("run-x", interaction(cost=0.5, savings=0.25)))
    meta = session_dir / "run-x" / METADATA
    old = json.loads(meta.read_text())
    for bucket in old["by_model"].values():
        del bucket["savings"], bucket["unpriced"]
    meta.write_text(json.dumps(old))
    view = store.load("run-x")
    assert view.problems == []
    assert view.summary.to_json()["by_model"]["claude-sonnet-4-5"]["savings"] == pytest.approx(0.25)
    store.record(as_record("run-x", interaction(cost=0.5)))  # and appending works on it
    assert (
        store.load("run-x").summary.to_json()["by_model"]["claude-sonnet-4-5"]["interactions"] == 2
    )


def test_failed_calls_are_counted_per_outcome_and_older_summaries_rebuilt(
    session_dir: Path,
) -> None:
    """Every way a call can end that is not a success gets its own count (the report's
    failure flags read them instead of the log); a summary of an older aio that has
    failures but not their outcomes is rebuilt from the log, one without failures is not."""
    import json

    from ai_orchestrator.core.usage import OUTCOMES

    store = SessionStore()
    failures = ["timeout", "interrupted", *(f"error:{c}" for c in OUTCOMES)]
    expected = {outcome: 1 + i % 3 for i, outcome in enumerate(failures)}
    for outcome, n in expected.items():
        for _ in range(n):
            store.record(as_record("run-x", interaction(outcome=outcome)))
            store.record(as_record("run-x", interaction(outcome="success")))
    store.record(as_record("run-ok", interaction()))
    summary = store.load("run-x").summary.to_json()
    assert summary["failed_by_outcome"] == expected
    assert sum(expected.values()) == summary["failed_interactions"] > len(failures)
    assert "failed_by_outcome" not in store.load("run-ok").summary.to_json()  # shape kept

    for name in ("run-x", "run-ok"):
        meta = session_dir / name / METADATA
        old = json.loads(meta.read_text())
        old.pop("failed_by_outcome", None)
        meta.write_text(json.dumps(old))
    ok_before = (session_dir / "run-ok" / METADATA).read_bytes()
    view = store.load("run-x")
    assert view.problems == []
    assert view.summary.to_json()["failed_by_outcome"] == summary["failed_by_outcome"]
    assert json.loads((session_dir / "run-x" / METADATA).read_text()) == summary  # written back
    assert store.load("run-ok").summary.to_json().get("failed_by_outcome") is None
    assert (session_dir / "run-ok" / METADATA).read_bytes() == ok_before  # not rewritten

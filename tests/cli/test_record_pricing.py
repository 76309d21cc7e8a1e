"""``aio session record`` prices like ``aio run`` (same ``price_result`` path), an unknown
model is ``unpriced`` (never a computed $0), and a cost only the agent reported is shown as
"reported by <agent>" wherever a cost figure appears."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_orchestrator.accounting.call_cost import price_call, price_interaction
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.core.names import SessionName
from ai_orchestrator.core.usage import ModelUsage
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.records import normalize_interaction
from tests.helpers import aio_inprocess as aio
from tests.helpers import as_record

SONNET = {
    "agent": "claude",
    "model": "claude-sonnet-4-5",
    "tokens": {"input": 1000, "output": 500, "cache_read": 2000},
}
UNKNOWN = {"agent": "gemini", "model": "no-such-model-x", "tokens": {"input": 1000, "output": 9}}
REPORTED = {"agent": "codex", "model": "mystery-9", "tokens": {"input": 10}, "reported_cost": 0.42}


def checked(payload: dict[str, object]) -> Interaction:
    return normalize_interaction(payload, SessionName("run", "p"))


def record(name: str, payload: dict[str, object]) -> None:
    result = aio("session", "record", name, input=json.dumps(payload))
    assert result.code == 0, result.err


def stored(name: str) -> list[dict[str, object]]:
    return [r.to_json() for r in SessionStore().read_log(name).records]


def test_record_without_cost_is_priced_from_model_and_tokens(session_dir: Path) -> None:
    record("run-p", SONNET)
    (call,) = stored("run-p")
    # $3/M input, $15/M output, $0.30/M cache read (genai-prices' Sonnet 4.5 rates)
    assert call["cost"] == pytest.approx(0.003 + 0.0075 + 0.0006)
    assert call["cost_source"] == "computed"
    assert call["usage_by_model"]["claude-sonnet-4-5"]["priced"] is True  # type: ignore[index]
    assert call["savings"] == pytest.approx(2000 * (3 - 0.3) / 1e6)


def test_record_prices_exactly_as_aio_run_does() -> None:
    usage = ModelUsage(input=1200, output=300, cache_read=5000, cache_write_5m=700, requests=1)
    as_run = price_call("claude", {"claude-opus-4-1": usage}, None)
    as_record = price_interaction(
        checked(
            {
                "agent": "claude",
                "model": "claude-opus-4-1",
                "tokens": {"input": 1200, "output": 300, "cache_read": 5000, "cache_write": 700},
            }
        )
    )
    assert as_record.cost == as_run.cost and as_record.cost > 0
    assert as_record.cost_source == as_run.cost_source == "computed"
    assert as_record.savings == as_run.savings


def test_unknown_model_is_unpriced_never_a_computed_zero(session_dir: Path) -> None:
    record("run-u", UNKNOWN)
    (call,) = stored("run-u")
    assert call["cost_source"] == "unpriced" and call["cost"] == 0.0
    shown = aio("session", "show", "run-u").out.splitlines()
    assert next(line for line in shown if line.startswith("Cost:")) == "Cost: unpriced"
    by_model = aio("session", "stats", "--by", "model").out.splitlines()
    row = next(line for line in by_model if "no-such-model-x" in line)
    assert row.split("│")[8].strip() == "unpriced"  # the Cost column


def test_library_record_without_cost_or_model_is_unpriced(session_dir: Path) -> None:
    call = SessionStore().record(as_record("run-l", {"agent": "codex", "tokens": {"input": 5}}))
    assert (call.cost, call.cost_source) == (0.0, "unpriced")
    priced = SessionStore().record(as_record("run-l", {"reported_cost": 0.2}))
    assert (priced.cost, priced.cost_source) == (0.2, "reported")


def test_a_given_cost_is_kept(session_dir: Path) -> None:
    record("run-g", {**SONNET, "cost": 7.5})
    (call,) = stored("run-g")
    assert call["cost"] == 7.5 and "usage_by_model" not in call


def test_a_cost_only_the_agent_reported_says_so_everywhere(session_dir: Path) -> None:
    record("run-r", SONNET)
    record("run-r", REPORTED)
    (_, call) = stored("run-r")
    assert (call["cost"], call["cost_source"]) == (0.42, "reported")

    show = aio("session", "show", "run-r")
    cost_line = next(line for line in show.out.splitlines() if line.startswith("Cost:"))
    assert "incl. $0.4200 reported by codex" in cost_line
    model_line = next(line for line in show.out.splitlines() if line.startswith("By model:"))
    assert "mystery-9: 1 call, $0.4200 reported by codex" in model_line
    assert "$0.4200 reported by codex" in show.out.split("Recent interactions")[1]

    stats = aio("session", "stats", "--by", "model")
    total = next(line for line in stats.out.splitlines() if line.startswith("Total cost:"))
    assert "reported by codex" in total
    row = next(line for line in stats.out.splitlines() if "mystery-9" in line)
    assert "$0.4200 reported by codex" in row
    listed = aio("session", "list").out
    assert "$0.4311^" in listed and "^ includes costs reported by codex" in listed
    data = aio("session", "stats", "--json").json()
    assert data["cost_reported"] == pytest.approx(0.42)
    assert data["cost_reported_by"] == ["codex"]
    summary = aio("session", "show", "run-r", "--json").json()
    assert summary["by_model"]["mystery-9"]["cost_reported"] == pytest.approx(0.42)
    assert summary["by_model"]["claude-sonnet-4-5"]["cost_reported"] == 0.0


def test_reported_share_of_a_mixed_call_is_only_the_unpriced_models(session_dir: Path) -> None:
    payload = {
        "agent": "gemini",
        "usage_by_model": {
            "gemini-2.5-pro": {"input": 1000, "output": 100},
            "gemini-mystery": {"input": 1000, "output": 100},
        },
        "reported_cost": 1.0,
    }
    record("run-m", payload)
    (call,) = stored("run-m")
    assert call["cost_source"] == "reported" and call["cost"] == 1.0
    summary = SessionStore().load("run-m").summary.to_json()
    computed = summary["by_model"]["gemini-2.5-pro"]["cost"]
    assert 0 < computed < 1
    assert summary["cost_reported"] == pytest.approx(1.0 - computed)
    assert summary["by_model"]["gemini-mystery"]["cost_reported_by"] == ["gemini"]
    # Rebuilt from the log, the summary says the same (it is a fold).
    (session_dir / "run-m" / "metadata.json").unlink()
    assert SessionStore().load("run-m").summary.to_json()["cost_reported"] == pytest.approx(
        1.0 - computed
    )


def test_per_model_figures_the_caller_gave_are_kept() -> None:
    priced = price_interaction(
        checked(
            {
                "agent": "gemini",
                "usage_by_model": {
                    "gemini-mystery": {"input": 10, "reported_cost": 0.3, "source": "the CLI"}
                },
            }
        )
    )
    usage = priced.record_fields()["usage_by_model"]["gemini-mystery"]
    assert usage["reported_cost"] == 0.3 and usage["source"] == "the CLI"
    assert usage["priced"] is False

"""Accounting inside ``run_in_session`` with the fake CLIs: budgets re-checked under the run
lock and recorded, per-request usage for tier pricing, live "cost so far", CLI versions
(audit gaps 7, 10, 13, 15)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.harness import FakeAgents
from tests.helpers import aio_inprocess as aio
from tests.helpers import as_record, interaction

from ai_orchestrator.accounting.call_cost import max_budget_flag, price_call
from ai_orchestrator.agents.base import AgentResult, Progress
from ai_orchestrator.calls.session_call import CallOptions, Notice, run_in_session
from ai_orchestrator.core.errors import BudgetExceeded
from ai_orchestrator.core.usage import ModelUsage
from ai_orchestrator.store import SessionStore, todo_log

SONNET = "claude-sonnet-4-5-20250929"
# USD per million tokens, published by Anthropic for Claude Sonnet 4.5 (base / > 200k prompt).
BASE = {"input": 3.0, "output": 15.0, "cache_read": 0.30}
LONG = {"input": 6.0, "output": 22.5, "cache_read": 0.60}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def seed_spend(name: str, cost: float, **extra: Any) -> None:
    SessionStore().record(as_record(name, interaction(cost=cost, cost_source="computed", **extra)))


# -- gap 15: budgets ------------------------------------------------------------------------------


def test_budget_is_rechecked_after_waiting_for_the_run_lock(fakes: FakeAgents, work: Path) -> None:
    store = SessionStore()
    seed_spend("implement-auth", 0.40)
    holder = store.run_lock("implement-auth", command="the first run")
    outcome: dict[str, Any] = {}

    def second_run() -> None:
        try:
            run_in_session(
                SessionStore(),
                "implement-auth",
                "more",
                CallOptions(agent="claude", cwd=work, budget_usd=1.0, lock_timeout=30),
            )
            outcome["ran"] = True
        except BudgetExceeded as exc:
            outcome["refused"] = exc

    waiter = threading.Thread(target=second_run)
    waiter.start()
    time.sleep(1.0)  # the second run passed the first check ($0.40 of $1) and now waits
    seed_spend("implement-auth", 0.70)  # what the first run spent meanwhile
    holder.release()
    waiter.join(60)
    assert "ran" not in outcome, "the second run used the spend from before the lock"
    assert outcome["refused"].exit_code == 3 and "$1.1000" in str(outcome["refused"])
    assert fakes.invocations() == []  # no agent process started
    assert [t["status"] for t in todo_log.list_todos(None, None)] == []


def test_overrun_is_recorded_in_the_interaction(fakes: FakeAgents, work: Path) -> None:
    fakes.scenario([{"text": "big", "usage": {SONNET: {"input": 400_000, "output": 1000}}}])
    seed_spend("implement-auth", 0.5)
    run = run_in_session(
        SessionStore(),
        "implement-auth",
        "go",
        CallOptions(agent="claude", cwd=work, budget_usd=1.0),
    )
    record = run.record
    assert record.budget_usd == 1.0 and record.spent_before == 0.5
    assert record.over_budget is True and run.over_budget
    stored = SessionStore().read_log("implement-auth").records[-1].to_json()
    assert stored["over_budget"] is True and stored["spent_before"] == 0.5
    within = run_in_session(
        SessionStore(), "plan-other", "go", CallOptions(agent="claude", cwd=work, budget_usd=50)
    )
    assert within.record.over_budget is False


def test_claude_gets_the_remainder_rounded_down_to_micro_dollars(
    fakes: FakeAgents, work: Path
) -> None:
    seed_spend("implement-auth", 0.005)  # 0.1 - 0.005 = 0.09500000000000001 in floats
    run_in_session(
        SessionStore(),
        "implement-auth",
        "go",
        CallOptions(agent="claude", cwd=work, budget_usd=0.1),
    )
    [call] = fakes.invocations("claude")
    argv = call["argv"]
    assert argv[argv.index("--max-budget-usd") + 1] == "0.095"
    assert max_budget_flag(0.0999999999) == 0.099999  # never above the remainder
    assert max_budget_flag(0.0000004) is None


def test_less_than_a_micro_dollar_left_refuses_the_call(fakes: FakeAgents, work: Path) -> None:
    seed_spend("implement-auth", 0.9999996)
    with pytest.raises(BudgetExceeded):
        run_in_session(
            SessionStore(),
            "implement-auth",
            "go",
            CallOptions(agent="claude", cwd=work, budget_usd=1.0),
        )
    assert fakes.invocations() == []


@pytest.mark.parametrize("budget", [float("nan"), -1.0])
def test_nonsense_budget_is_refused_before_anything(
    fakes: FakeAgents, work: Path, budget: float
) -> None:
    from ai_orchestrator.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        run_in_session(
            SessionStore(), "run-x", "go", CallOptions(agent="claude", cwd=work, budget_usd=budget)
        )
    assert not SessionStore().exists("run-x") and fakes.invocations() == []


def test_unpriced_calls_in_the_budget_are_announced(fakes: FakeAgents, work: Path) -> None:
    SessionStore().record(as_record(
        "plan-auth", interaction(model="mystery-model-9", cost=0.0, cost_source="unpriced")
    ))
    fakes.scenario([{"text": "x", "usage": {"mystery-model-9": {"input": 10, "output": 5}}}])
    notices: list[Notice] = []
    run = run_in_session(
        SessionStore(),
        "implement-auth",
        "go",
        # Gemini reports no cost of its own, so an unknown model leaves the call unpriced.
        CallOptions(agent="gemini", cwd=work, model="mystery-model-9", budget_usd=5.0),
        on_notice=notices.append,
    )
    texts = [n.text for n in notices if n.warning]
    assert any("1 earlier call(s)" in t and "count as $0" in t for t in texts), texts
    assert any("this call could not be priced" in t for t in texts), texts
    assert run.notices == notices
    assert run.record.cost_source == "unpriced"


def test_cli_budget_overrun_and_notices(fakes: FakeAgents, work: Path) -> None:
    fakes.scenario([{"text": "big", "usage": {SONNET: {"input": 400_000, "output": 1000}}}])
    # A budget below a cent's precision is named exactly, never rounded ($0.03 for 0.0273).
    result = aio(
        "run", "--cwd", str(work), "--max-cost", "0.0273", "implement-auth", "go", "--json"
    )
    assert result.code == 0, result.err
    data = result.json()
    assert data["over_budget"] is True and data["budget_usd"] == 0.0273
    assert data["spent_before"] == 0
    assert "over its $0.0273 budget" in result.err
    # The call line counts cache writes too, like every total.
    assert " cache read / 0 cache write · " in result.err
    again = aio("run", "--cwd", str(work), "--max-cost", "0.0273", "implement-auth", "more")
    assert again.code == 3 and "no agent call was made" in again.err


# -- gap 13: per-request usage for long-context tiers --------------------------------------------


def test_long_context_tier_is_applied_per_request() -> None:
    big = ModelUsage(input=12_000, output=400, cache_read=250_000, requests=1)
    small = ModelUsage(input=3_000, output=600, requests=1)
    total = ModelUsage()
    total.add(big)
    total.add(small)
    result = AgentResult(
        agent="claude",
        outcome="success",
        usage={"claude-sonnet-4-5": total},
        requests={"claude-sonnet-4-5": [big, small]},
    )
    expected = (
        12_000 * LONG["input"] + 400 * LONG["output"] + 250_000 * LONG["cache_read"]
    ) / 1e6 + (3_000 * BASE["input"] + 600 * BASE["output"]) / 1e6
    priced = price_call("claude", result.usage, result.reported_cost, result.requests)
    assert priced.cost == pytest.approx(expected, abs=1e-6)


def test_claude_parser_reports_each_request_with_final_outputs(
    fakes: FakeAgents, work: Path
) -> None:
    # Three API requests (two tool calls + the answer); every stream line shows a placeholder
    # output count, the transcript has the final ones.
    fakes.scenario(
        [
            {
                "text": "done",
                "tools": [
                    {"name": "Read", "input": {"file_path": "a"}, "output": "x"},
                    {"name": "Read", "input": {"file_path": "b"}, "output": "y"},
                ],
                "usage": {SONNET: {"input": 300, "output": 90, "cache_read": 3000}},
            }
        ],
        claude={"stream_usage": "placeholder"},
    )
    run = run_in_session(SessionStore(), "run-x", "go", CallOptions(agent="claude", cwd=work))
    requests = run.result.requests[SONNET]
    assert [r.output for r in requests] == [30, 30, 30]
    assert [r.input for r in requests] == [100, 100, 100]
    assert run.result.usage[SONNET].output == 90
    assert run.record.usage_by_model[SONNET].extra["note"] is None  # nothing priced as excess


# -- gap 7: live cost ----------------------------------------------------------------------------


@pytest.mark.parametrize("agent", ["claude", "codex"])
def test_progress_shows_cost_so_far(fakes: FakeAgents, work: Path, agent: str) -> None:
    model = SONNET if agent == "claude" else "gpt-5"
    fakes.scenario(
        [
            {
                "text": "done",
                "tools": [{"name": "Read", "input": {"file_path": "a"}, "output": "x"}],
                "usage": {model: {"input": 1000, "output": 100}},
            }
        ]
    )
    seen: list[Progress] = []
    run = run_in_session(
        SessionStore(),
        "run-x",
        "go",
        CallOptions(agent=agent, cwd=work, model=model),
        on_progress=seen.append,
    )
    priced = [p.cost for p in seen if p.cost is not None]
    assert priced, f"no progress snapshot carried a cost: {seen}"
    assert priced[-1] == pytest.approx(run.record.cost, abs=1e-6)
    if agent == "claude":  # before the result line: the running usage was priced
        early = [p for p in seen if p.cost is not None and p.turns < 2]
        assert early and early[0].cost is not None and early[0].cost > 0


# -- gap 10: CLI versions ------------------------------------------------------------------------


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
@pytest.mark.parametrize(("agent", "version"), [("gemini", "0.61.0"), ("codex", "0.169.0")])
def test_cli_version_comes_from_the_doctor_cache(
    fakes: FakeAgents, work: Path, agent: str, version: str
) -> None:
    before = run_in_session(SessionStore(), "run-a", "go", CallOptions(agent=agent, cwd=work))
    assert before.record.cli_version is None  # nothing known yet, and no process spent
    assert len(fakes.invocations(agent)) == 1
    doctor = aio("doctor", "--json")
    assert doctor.code == 0, doctor.err
    started = len(fakes.invocations(agent))  # the doctor's own `--version` run counts too
    after = run_in_session(SessionStore(), "run-b", "go", CallOptions(agent=agent, cwd=work))
    assert after.record.cli_version == version
    assert len(fakes.invocations(agent)) == started + 1  # no --version process per call

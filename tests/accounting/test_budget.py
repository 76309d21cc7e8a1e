"""Budgets: the arithmetic, and a feature at its budget refusing the next call before any
agent process starts (library and CLI, exit code 3)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from tests.helpers import aio_inprocess as aio

from ai_orchestrator.accounting.budget import check_budget, remaining
from ai_orchestrator.accounting.spend import feature_spend
from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.core.errors import EXIT_BUDGET, BudgetExceeded, InvalidInput
from ai_orchestrator.store import SessionStore


def test_remaining_and_check() -> None:
    assert remaining(0.25, 1.0) == 0.75
    assert remaining(1.5, 1.0) == 0.0  # an overrun never gives a negative allowance
    assert remaining(3.0, None) is None
    assert check_budget(0.25, 1.0) == 0.75
    assert check_budget(99.0, None) is None  # no budget, no limit


# 0.9999995: less than a micro-dollar left, which no CLI limit (--max-budget-usd) can express
@pytest.mark.parametrize("spent", [1.0, 1.0000001, 7.5, 0.9999995])
def test_reaching_the_budget_is_exceeded(spent: float) -> None:
    with pytest.raises(BudgetExceeded) as info:
        check_budget(spent, 1.0, subject="feature auth")
    assert info.value.exit_code == EXIT_BUDGET == 3
    message = str(info.value)
    assert message.startswith("feature auth has spent $")
    assert f"${spent:.4f}" in message and "of its $1.00 budget" in message  # exact, not padded
    assert "no agent call was made" in message


@pytest.mark.parametrize(
    "spent, budget", [(-1.0, 1.0), (0.0, -1.0), (float("nan"), 1.0), (0.0, float("inf"))]
)
def test_nonsense_amounts_are_refused(spent: float, budget: float) -> None:
    with pytest.raises(InvalidInput):
        check_budget(spent, budget)


SCENARIO = """\
model: scripted-sonnet
steps:
  - answer: "first"
    usage: {scripted-sonnet: {input: 1000, output: 500}}
  - answer: "second"
    usage: {scripted-sonnet: {input: 1000, output: 500}}
"""


@pytest.fixture
def fake_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The scripted agent behind a wrapper that logs every process start; returns the log."""
    log = tmp_path / "invocations.log"
    wrapper = tmp_path / "fake-agent"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    monkeypatch.setenv("AIO_AGENT_SCRIPTED_EXECUTABLE", str(wrapper))
    monkeypatch.setenv("AIO_SCRIPTED_SCENARIO", str(scenario))
    return log


def starts(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def spend_once(tmp_path: Path) -> float:
    """One real call in plan-demo; returns its cost (the feature's whole spend)."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    run = run_in_session(SessionStore(), "plan-demo", "plan it", CallOptions("scripted", work))
    assert run.result.ok
    cost = float(run.record.cost)
    assert cost > 0
    return cost


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_feature_at_budget_refuses_before_any_process(
    session_dir: Path, tmp_path: Path, fake_agent: Path
) -> None:
    spent = spend_once(tmp_path)
    assert starts(fake_agent) == 1  # the wrapper does log real starts
    store = SessionStore()
    assert feature_spend(store, "demo").cost == pytest.approx(spent)
    # another session of the same feature: the budget is the feature's, not the session's
    options = CallOptions("scripted", tmp_path / "work", budget_usd=spent)
    with pytest.raises(BudgetExceeded) as info:
        run_in_session(store, "implement-demo", "build it", options)
    assert info.value.exit_code == 3
    assert f"${spent:.4f}" in str(info.value)
    assert starts(fake_agent) == 1  # no agent process was started
    assert not store.exists("implement-demo") or (
        store.load("implement-demo").summary.to_json()["interaction_count"] == 0
    )
    # a budget with room left still runs
    options = dataclasses.replace(options, budget_usd=spent * 3)
    assert run_in_session(store, "implement-demo", "build it", options).result.ok
    assert starts(fake_agent) == 2


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_cli_exit_code_3_and_no_process(
    session_dir: Path, tmp_path: Path, fake_agent: Path
) -> None:
    spent = spend_once(tmp_path)
    result = aio(
        "run",
        "--agent",
        "scripted",
        "--cwd",
        str(tmp_path / "work"),
        "--max-cost",
        repr(spent),
        "implement-demo",
        "build it",
    )
    assert result.code == 3, result.err
    assert "budget" in result.err and f"${spent:.4f}" in result.err
    assert result.out == ""
    assert starts(fake_agent) == 1

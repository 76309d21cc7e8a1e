"""The wrapper's controls of ``aio run``, end to end with the fake agent CLIs: the agent's own
exit code, usage the agent never reported (unknown, never 0 tokens/$0), ``--resume ID`` /
``--continue`` checked against the store, and the ``AIO_DEBUG=1`` launch trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.store import SessionStore
from tests.fakes.harness import FakeAgents, aio_run
from tests.helpers import aio

SONNET = "claude-sonnet-4-5-20250929"


def records(name: str) -> list[dict[str, Any]]:
    return SessionStore().read_log(name).records


def test_agent_exit_code_in_json_and_record(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"agent": "gemini", "failure": {"kind": "error", "exit_code": 52}}])
    result = aio_run(project, "run-x", "hi", "--agent", "gemini", "--json")
    assert result.returncode == 1, result.stderr  # aio's own code follows the outcome table
    data = json.loads(result.stdout)
    assert data["exit_code"] == 52 and data["ok"] is False
    [record] = records("run-x")
    assert record["exit_code"] == 52


def test_success_exit_code_zero_in_record(fakes: FakeAgents, project: Path) -> None:
    result = aio_run(project, "run-x", "hi", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["exit_code"] == 0
    [record] = records("run-x")
    assert record["exit_code"] == 0 and "usage_unknown" not in record


@pytest.mark.parametrize("agent", ["claude", "gemini", "codex"])
def test_no_usage_reported_is_unknown_not_zero(
    fakes: FakeAgents, project: Path, agent: str
) -> None:
    fakes.scenario([{"agent": agent, "failure": {"kind": "crash", "after_requests": 0}}])
    result = aio_run(project, "run-x", "hi", "--agent", agent, "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["usage_unknown"] is True
    assert data["cost"] is None and data["tokens"] is None  # never 0 tokens / $0
    assert data["cost_source"] == "unpriced"
    assert "usage unknown" in result.stderr and "0 in /" not in result.stderr
    [record] = records("run-x")
    assert record["usage_unknown"] is True and record["cost_source"] == "unpriced"

    shown = aio("session", "show", "run-x")
    assert shown.code == 0, shown.err
    assert "unknown" in shown.out and "0/0" not in shown.out

    listed = aio("session", "show", "run-x", "--json")
    assert listed.code == 0
    assert "unpriced" in listed.out


def test_budget_notice_for_unknown_usage(fakes: FakeAgents, project: Path) -> None:
    fakes.scenario([{"agent": "gemini", "failure": {"kind": "crash"}}])
    result = aio_run(project, "implement-x", "hi", "--agent", "gemini", "--max-cost", "5")
    assert result.returncode == 1
    assert "gemini reported no usage: tokens and cost unknown" in result.stderr
    assert "counts as $0 toward the budget" in result.stderr


def test_launch_failure_is_known_zero_not_unknown(
    fakes: FakeAgents, project: Path, tmp_path: Path
) -> None:
    garbage = tmp_path / "not-a-program"
    garbage.write_bytes(b"\x7fELF\x00garbage")  # exec() fails after the run lock is taken
    garbage.chmod(0o755)
    result = aio_run(project, "run-x", "hi", env={"AIO_AGENT_CLAUDE_EXECUTABLE": str(garbage)})
    assert result.returncode == 1
    [record] = records("run-x")  # nothing ran: nothing was spent, and that is known
    assert record["outcome"] == "error:crash" and not record.get("usage_unknown")

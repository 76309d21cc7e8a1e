"""One table from a call's outcome to the exit code: ``aio run`` and a workflow phase agree.

The same scripted failure ends ``aio run`` and ``aio review`` (a phase that raises what its
call's outcome maps to) with the same exit code, and that code is the one
``calls.outcomes.outcome_error`` gives — so a second mapping anywhere (``aio run`` once
exited 1 on ``budget``) fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ai_orchestrator.agents.base import AgentResult
from ai_orchestrator.calls.outcomes import outcome_error
from ai_orchestrator.core.errors import EXIT_BUDGET, EXIT_FAILURE
from tests.workflow.conftest import FEATURE, Project, interactions, run

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes

EXPECTED = {"budget": EXIT_BUDGET, "max_turns": EXIT_FAILURE, "api_error": EXIT_FAILURE}


@pytest.mark.parametrize("outcome", sorted(EXPECTED))
def test_run_and_review_map_an_outcome_to_the_same_exit_code(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outcome: str
) -> None:
    failing = {"outcome": outcome, "error": f"scripted {outcome}"}
    table = outcome_error(AgentResult(agent="scripted", outcome=outcome), "x")  # type: ignore[arg-type]
    assert table is not None and table.exit_code == EXPECTED[outcome]

    project.scenario([failing])  # the review phase's agent
    assert run("init", FEATURE).code == 0
    review = run("review", FEATURE, "calc/__init__.py")

    own = tmp_path / "run-scenario.yaml"  # aio run's agent: a scenario of its own
    own.write_text(yaml.safe_dump({"steps": [failing]}), encoding="utf-8")
    monkeypatch.setenv("AIO_SCRIPTED_SCENARIO", str(own))
    direct = run("run", "run-x", "hi", "--agent", "scripted", "--cwd", str(project.root))

    assert review.code == direct.code == EXPECTED[outcome], (review.err, direct.err)
    assert [c["outcome"] for c in interactions("review-calc")] == [f"error:{outcome}"]
    assert [c["outcome"] for c in interactions("run-x")] == [f"error:{outcome}"]
    assert f"scripted {outcome}" in review.err and f"scripted {outcome}" in direct.err

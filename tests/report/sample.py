"""A small generated store for the report tests: two features with a workspace (plan, history
with red/green runs, a review, a verify), a budget, and calls of every kind the flags count
(unpriced, reported-only, interrupted, api_error, timeout)."""

from __future__ import annotations

from pathlib import Path

from ai_orchestrator.store.session_store import SessionStore
from ai_orchestrator.workflow.model.feature import save_plan
from ai_orchestrator.workflow.model.plan import Phase, Plan, Task
from ai_orchestrator.workflow.project.history import append_event, make_event
from ai_orchestrator.workflow.project.workspace import Workspace
from tests.helpers import aio_inprocess, as_record, interaction


def _run(label: str, *, red: bool, green: bool, failed: int) -> dict[str, object]:
    return {"label": label, "red": red, "green": green, "passed": 3 - failed, "failed": failed,
            "errors": 0}  # fmt: skip


def build_sample(project: Path) -> Workspace:
    """Sessions in SESSION_DIR (set by the autouse fixture) and a workspace in ``project``."""
    project.mkdir(parents=True, exist_ok=True)
    (project / ".git").mkdir(exist_ok=True)
    for feature in ("login", "signup"):
        assert aio_inprocess("init", feature, f"The {feature} feature", cwd=project).code == 0
    (project / ".aio" / "config.toml").write_text("[budgets]\nlogin = 0.05\n")
    store = SessionStore()
    day = "2026-11-0{}T12:00:00Z"
    store.record(as_record("plan-login", interaction(timestamp=day.format(1), cost=0.02)))
    store.record(as_record("implement-login", interaction(timestamp=day.format(2), task_id="T1.1",
                                                model="claude-opus-4-1", cost=0.04)))  # fmt: skip
    store.record(as_record("implement-login", interaction(timestamp=day.format(2), task_id="T1.1",
                                                outcome="interrupted", cost=0.001)))  # fmt: skip
    store.record(as_record("implement-login", interaction(timestamp=day.format(3), task_id="T1.2",
                                                outcome="error:api_error", cost=0.0)))  # fmt: skip
    store.record(as_record("review-signup", interaction(timestamp=day.format(3), agent="gemini",
                                              model="mystery-model-9", cost=0.0,
                                              cost_source="unpriced")))  # fmt: skip
    store.record(as_record("implement-signup", interaction(timestamp=day.format(4), agent="codex",
                                                 model="gpt-5-codex", cost=0.03,
                                                 cost_source="reported",
                                                 reported_cost=0.03)))  # fmt: skip
    store.record(as_record("verify-signup", interaction(timestamp=day.format(5), outcome="timeout",
                                              cost=0.002)))  # fmt: skip
    ws = Workspace(project)
    paths = ws.feature("login")
    save_plan(paths, Plan(phases=[Phase(1, "Core", [
        Task("T1.1", "Form", status="completed"), Task("T1.2", "Errors", status="failed"),
        Task("T1.3", "Docs"),
    ])]))  # fmt: skip
    append_event(paths.history_file, make_event("plan", status="success", duration_ms=900))
    append_event(paths.history_file, make_event(
        "implement", status="success", duration_ms=5000, task_id="T1.1",
        details={"test_runs": [_run("red-1", red=True, green=False, failed=2),
                               _run("green-1", red=True, green=False, failed=1),
                               _run("green-2", red=False, green=True, failed=0)],
                 "cost": 0.04},
    ))  # fmt: skip
    append_event(paths.history_file, make_event(
        "implement", status="interrupted", duration_ms=700, task_id="T1.2",
        error="interrupted: task T1.2 marked failed",
    ))  # fmt: skip
    append_event(paths.history_file, make_event(
        "review", status="failed", duration_ms=1200,
        details={"counts": {"critical": 1, "high": 0, "medium": 2, "low": 0, "info": 1}},
    ))  # fmt: skip
    append_event(paths.history_file, make_event(
        "verify", status="success", duration_ms=3000,
        details={"tests": _run("verify", red=False, green=True, failed=0),
                 "agent_verdict": "pass"},
    ))  # fmt: skip
    return ws

"""The next step for a feature, as one line a person can act on.

Contract: ``next_step(feature_id, plan, config)`` looks only at the given state (no agent,
no file access) and never suggests a command that would refuse to run: no plan → ``aio
plan``; a ready task but no ``test_command`` → set one (or ``--no-tests``), since ``aio
implement`` refuses to run test-first without it; a ready task → ``aio implement``; every
task completed → ``aio review`` / ``aio verify``; otherwise that dependencies block it.
"""

from __future__ import annotations

from ai_orchestrator.workflow.model.plan import Plan
from ai_orchestrator.workflow.project.config import Config


def next_step(feature_id: str, plan: Plan | None, config: Config) -> str:
    if plan is None:
        return f'Next: aio plan {feature_id} "PROMPT"'
    counts = plan.counts()
    task = plan.next_task()
    if task is not None:
        implement = f"aio implement {feature_id} --task {task.id}"
        if not config.test_command:
            return (
                "Next: set test_command in .aio/config.toml (`aio config check` checks it), "
                f"then {implement}; or without tests: {implement} --no-tests"
            )
        return f"Next: {implement}"
    if counts["total"] and counts["completed"] == counts["total"]:
        return f"Next: aio review {feature_id}, then aio verify {feature_id}"
    return f"Next: no task is ready; their dependencies are not met (aio tasks {feature_id})"

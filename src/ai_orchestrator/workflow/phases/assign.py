"""Which agent and model ``implement`` calls for one task.

``choose_agent``: ``--agent``, else the task's own agent from the plan when aio knows it and
it is installed (a warning and the configured agent otherwise), else None (the phase's
agent from the config). ``choose_model``: ``--model``, else the task's own model (``aio task
set --model``) when the call goes to the agent the task is for, else None (the phase's model).
"""

from __future__ import annotations

from ai_orchestrator.workflow.model.plan import Task
from ai_orchestrator.workflow.runctx import FeatureContext, agent_installed, check_model


def choose_model(
    ctx: FeatureContext, task: Task, agent: str | None, requested: str | None
) -> str | None:
    """``--model``, else the task's own model (``aio task set --model``) when the call goes to
    the agent the task is for, else None (the phase's model from the config)."""
    if requested or not task.model:
        return requested
    used = agent or ctx.config.phase("implement").agent
    if task.agent and task.agent != used:
        ctx.hooks.warn(
            f"task {task.id}'s model {task.model} is for {task.agent}, not {used}; "
            "using the configured model"
        )
        return None
    check_model(task.model)
    ctx.hooks.info(f"task {task.id} uses model {task.model} (set on the task)")
    return task.model


def choose_agent(ctx: FeatureContext, task: Task, requested: str | None) -> str | None:
    """``--agent``, else the task's agent when known and installed, else None (config)."""
    if requested:
        return requested
    configured = ctx.config.phase("implement").agent
    wanted = task.agent
    if not wanted or wanted == configured:
        return None
    from ai_orchestrator.agents.registry import KNOWN_KEYS

    if wanted not in KNOWN_KEYS:
        ctx.hooks.warn(
            f"task {task.id} names agent {wanted!r}, which aio does not know; "
            f"using the configured agent {configured}"
        )
        return None
    if not agent_installed(wanted):
        ctx.hooks.warn(
            f"task {task.id} is assigned to {wanted}, which is not installed; "
            f"using the configured agent {configured}"
        )
        return None
    ctx.hooks.info(f"task {task.id} is assigned to {wanted} in the plan")
    return wanted

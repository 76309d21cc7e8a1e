"""The workflow's per-agent defaults come from the backends' declarations.

``config.default_phases`` (the registry's default agent with its declared work and strong
models), ``plan.agent = "auto"`` (``registry.auto_planners``, the last one always tried),
``pick_model``'s ``AI_MODEL`` rule (a Claude model name is for a backend pricing
Anthropic's models only) and the planner prompt (every backend a task may go to).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ai_orchestrator.agents import registry
from ai_orchestrator.workflow import prompts
from ai_orchestrator.workflow.phases import plan
from ai_orchestrator.workflow.project.config import Config, PhaseConfig, default_phases, pick_model


def test_the_phase_defaults_are_the_default_agents_declared_models() -> None:
    agent = registry.DEFAULT_AGENT
    caps = registry.capabilities(agent)
    phases = default_phases()
    assert phases["implement"].agent == agent and phases["implement"].model == caps.work_model
    assert phases["review"].model == caps.strong_model
    assert phases["plan"].agent == "auto"
    assert phases["plan"].fallback == [f"{agent}:{caps.strong_model}"]
    # what the shell version and the docs promise
    assert (phases["implement"].model, phases["review"].model) == ("sonnet", "opus")
    assert Config().phases == phases and Config().phases is not Config().phases


class _Hooks:
    def __init__(self) -> None:
        self.said: list[str] = []

    def info(self, text: str) -> None:
        self.said.append(text)


def _ctx(phase: PhaseConfig) -> Any:
    config = Config()
    config.phases["plan"] = phase
    return SimpleNamespace(config=config, hooks=_Hooks())


@pytest.mark.parametrize("installed", [{"gemini", "claude"}, {"claude"}, set()])
def test_auto_tries_the_installed_auto_planners_in_order_and_the_last_always(
    installed: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plan, "agent_installed", lambda agent: agent in installed)
    ctx = _ctx(PhaseConfig(agent="auto", fallback=[]))
    found = plan.planner_candidates(ctx, None, None)
    if "gemini" in installed:
        assert found == [("gemini", None), ("claude", "opus")]
        assert ctx.hooks.said == []
    else:
        assert found == [("claude", "opus")]
        assert ctx.hooks.said == [
            "Planning with Claude: the plan phase's agent is \"auto\", which prefers Gemini, "
            "and the gemini CLI is not installed (`aio doctor` shows the agents)"
        ]


def test_auto_gives_the_first_planner_the_asked_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "agent_installed", lambda agent: True)
    ctx = _ctx(PhaseConfig(agent="auto", model="gemini-2.5-pro", fallback=["codex"]))
    assert plan.planner_candidates(ctx, None, "gemini-2.5-flash") == [
        ("gemini", "gemini-2.5-flash"),
        ("claude", "opus"),
        ("codex", None),
    ]


@pytest.mark.parametrize(
    ("value", "agent", "applies"),
    [
        ("sonnet", "claude", True),
        ("claude-opus-4-1", "claude", True),
        ("sonnet", "gemini", False),  # a Claude alias names no Gemini model
        ("claude-opus-4-1", "codex", False),
        ("sonnet", "scripted", False),
        ("gemini-2.5-pro", "gemini", True),
        ("gpt-5", "claude", True),  # only Claude's names are kept from the others
        ("my-local-model", "codex", True),
    ],
)
def test_ai_model_applies_unless_it_is_a_claude_name_for_a_non_anthropic_backend(
    value: str, agent: str, applies: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AI_MODEL", value)
    assert pick_model(agent, None, "configured") == (value if applies else "configured")
    assert pick_model(agent, "explicit", "configured") == "explicit"


def test_the_planner_may_assign_every_backend_but_the_built_in_one() -> None:
    agents = [k for k in registry.KNOWN_KEYS if not registry.declared(k).built_in]
    text = prompts.plan_prompt(
        "f", "d", "r", active_task=None, previous=None, context=None, agents=agents
    )
    # every registered backend, whatever was added since (a fixed list broke on each new one)
    assert {"claude", "gemini", "codex"} <= set(agents) and "scripted" not in agents
    assert f"an agent assignment ({', '.join(agents[:-1])} or {agents[-1]})." in text
    one = prompts.plan_prompt(
        "f", "d", "r", active_task=None, previous=None, context=None, agents=["solo"]
    )
    assert "an agent assignment (solo)." in one


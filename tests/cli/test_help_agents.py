"""Help texts that list agents list them from the registry: a new backend appears in every
option's help the moment it is registered (``aio escalate --help`` named three of six).

The rule: an option whose help names two or more backend keys names all of them, except
the hooks options, which name the agents whose hooks aio installs (``usage.hooks.AGENTS``).
A default agent named in a help text is the registry's ``DEFAULT_AGENT``."""

from __future__ import annotations

import re

import click

from ai_orchestrator.agents.registry import DEFAULT_AGENT, KNOWN_KEYS
from ai_orchestrator.cli.main import cli
from ai_orchestrator.usage import hooks
from tests.cli.test_command_kinds import _leaves
from tests.helpers import aio_inprocess

# A key as a word of its own: not a model name (gemini-2.5-pro) nor a directory (./.claude).
_KEY = re.compile(r"(?<![\w./-])(" + "|".join(map(re.escape, KNOWN_KEYS)) + r")(?![\w-])")


def named(text: str) -> set[str]:
    return set(_KEY.findall(text))


def option_helps() -> list[tuple[str, str, str]]:
    return [
        (words, param.name or "", param.help or "")
        for words, command in _leaves(cli, "")
        for param in command.params
        if isinstance(param, click.Option)
    ]


def test_every_option_that_lists_agents_lists_the_registry() -> None:
    partial = []
    for words, name, text in option_helps():
        keys = named(text)
        expected = set(hooks.AGENTS) if words.startswith("hooks") else set(KNOWN_KEYS)
        if len(keys) >= 2 and keys != expected:
            partial.append(f"aio {words} --{name}: names {sorted(keys)} of {sorted(expected)}")
    assert not partial, "build the list from the registry:\n" + "\n".join(partial)


def test_the_hooks_scope_names_each_agents_project_directory() -> None:
    text = next(t for w, n, t in option_helps() if w == "hooks install" and n == "scope")
    for agent in hooks.AGENTS:
        assert f"./.{agent}" in text


def test_a_default_agent_in_a_help_is_the_registrys() -> None:
    agents = [(w, n, t) for w, n, t in option_helps() if n == "agent" and "default: config" in t]
    assert len(agents) >= 3
    for words, name, text in agents:
        default = text.split("default: ", 1)[1]
        assert named(default) == {DEFAULT_AGENT}, (words, name, text)


def test_the_rule_catches_a_partial_list() -> None:
    assert named("Agent (claude, gemini, codex) or model (opus, gemini-2.5-pro)") == {
        "claude", "gemini", "codex",
    }  # fmt: skip
    assert named("this project's (./.claude, ./.gemini)") == set()


def test_escalate_help_lists_every_agent() -> None:
    result = aio_inprocess("escalate", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    for key in KNOWN_KEYS:
        assert f"{key}," in text or f"{key})" in text, key

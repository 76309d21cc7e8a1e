"""Tab completion of values, as the shell asks for them (``_AIO_COMPLETE=bash_complete``):
agent names, models (aliases and the store's), session names, feature ids and task ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_orchestrator.agents import registry
from ai_orchestrator.store import SessionStore
from tests.helpers import as_record, interaction
from tests.workflow.conftest import FEATURE, Project, init_and_plan, run
from tests.workflow.test_completion_imports import complete as complete_and_report

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes


def complete(line: str, cwd: Path, prog: str = "aio") -> list[str]:
    """The values the shell would offer for the last word of ``line``."""
    return complete_and_report(line, cwd, prog)[0]


def test_values_complete_from_the_store_and_the_workspace(project: Project) -> None:
    init_and_plan(project, [])
    assert run("init", "search-service").code == 0
    SessionStore().record(as_record("review-calc", interaction(model="claude-opus-4-1")))
    SessionStore().record(as_record("implement-calc", interaction(model="gpt-5-codex")))
    run("session", "list")  # builds the store's index, which model completion reads
    root = project.root
    assert complete("aio verify --agent ", root) == sorted(registry.KNOWN_KEYS)  # every backend
    assert {"claude", "codex", "gemini", "scripted"} <= set(registry.KNOWN_KEYS)
    assert complete("aio implement --agent ge", root) == ["gemini"]
    models = complete("aio run --model ", root)
    assert {"opus", "sonnet", "haiku", "claude-opus-4-1", "gpt-5-codex"} <= set(models)
    assert complete("aio session show rev", root) == ["review-calc"]
    assert complete("ai-session show impl", root, prog="ai-session") == ["implement-calc"]
    assert complete("aio run ", root) == ["implement-calc", "plan-calc", "review-calc"]
    assert complete("aio status ", root) == sorted([FEATURE, "search-service"])
    assert complete("aio switch se", root) == ["search-service"]
    tasks = complete(f"aio implement {FEATURE} --task T1", root)
    assert tasks and all(t.startswith("T1") for t in tasks)
    assert complete("aio init ", root) == []  # a new id: nothing to offer


def test_completion_outside_a_project_offers_nothing_and_says_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_DIR", str(tmp_path / "missing-store"))
    assert complete("aio status ", tmp_path) == []
    assert complete("aio implement --task ", tmp_path) == []
    assert complete("aio session show ", tmp_path) == []
    assert complete("aio run --model ", tmp_path) == ["haiku", "opus", "sonnet"]


def test_template_names_features_and_sessions_complete_for_templates_and_links(
    project: Project,
) -> None:
    init_and_plan(project, [])
    assert run("template", "save", "py-service", "--from", f"plan-{FEATURE}").code == 0
    root = project.root
    assert complete("aio init new --template ", root) == ["py-service"]
    assert complete("aio template show p", root) == ["py-service"]
    assert complete("aio template delete ", root) == ["py-service"]
    assert complete("aio template save x --from pl", root) == [f"plan-{FEATURE}"]
    assert complete("aio init new --from ", root) == [FEATURE]
    assert complete(f"aio link {FEATURE} ", root) == [FEATURE]
    assert complete("aio session show pl", root) == [f"plan-{FEATURE}"]  # still sessions

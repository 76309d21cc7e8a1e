"""Fixtures for the agent tests that run ``aio run`` / ``run_in_session`` with the fake CLIs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.fakes.harness import FakeAgents


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeAgents:
    """The fake claude/gemini/codex on PATH and as every ``AIO_AGENT_<KEY>_EXECUTABLE``."""
    agents = FakeAgents(tmp_path / "fakes")
    for key, value in agents.env.items():
        monkeypatch.setenv(key, value)
    for agent in ("claude", "gemini", "codex"):
        monkeypatch.setenv(f"AIO_AGENT_{agent.upper()}_EXECUTABLE", agents.executable(agent))
    return agents


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty git repository to run the agents in."""
    path = tmp_path / "project"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path

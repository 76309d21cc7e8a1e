"""Pytest fixtures for tests that run ``aio run`` / ``run_in_session`` with the fake CLIs.

Defined once here and imported by the conftest of each test directory that needs them
(``tests/agents``, ``tests/accounting``):

- ``fakes`` -> ``FakeAgents`` under ``tmp_path / "fakes"``, installed for the whole test: its
  environment (PATH, HOME, scenario, log) and every ``AIO_AGENT_<KEY>_EXECUTABLE`` point at
  the fakes, so in-process calls and ``aio`` subprocesses both use them.
- ``project`` -> an empty git repository (``tmp_path / "project"``) to run the agents in.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.fakes.harness import AGENTS, FakeAgents


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeAgents:
    """The fake claude/gemini/codex on PATH and as every ``AIO_AGENT_<KEY>_EXECUTABLE``."""
    agents = FakeAgents(tmp_path / "fakes")
    for key, value in agents.env.items():
        monkeypatch.setenv(key, value)
    for agent in AGENTS:
        monkeypatch.setenv(f"AIO_AGENT_{agent.upper()}_EXECUTABLE", agents.executable(agent))
    return agents


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty git repository to run the agents in."""
    path = tmp_path / "project"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path

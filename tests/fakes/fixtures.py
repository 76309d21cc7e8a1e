"""Pytest fixtures for tests that run ``aio run`` / ``run_in_session`` with the fake CLIs.

Defined once here and imported by the conftest of each test directory that needs them
(``tests/agents``, ``tests/accounting``):

- ``fakes`` -> ``FakeAgents`` under ``tmp_path / "fakes"``, installed for the whole test: its
  environment (PATH, HOME, scenario, log) and every ``AIO_AGENT_<KEY>_EXECUTABLE`` point at
  the fakes, so in-process calls and ``aio`` subprocesses both use them. In a test not
  marked ``process`` the fakes run in this process: the ``fake_launcher`` (with
  ``fake_clis``) replaces the runner, ``harness.aio_run`` and ``FakeAgents.run`` run in-process.
- ``project`` -> an empty git repository (``tmp_path / "project"``) to run the agents in.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.harness import AGENTS, FakeAgents
from tests.fakes.inprocess import FakeLauncher
from tests.helpers import git_init


@pytest.fixture
def fakes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> FakeAgents:
    """The fake claude/gemini/codex on PATH and as every ``AIO_AGENT_<KEY>_EXECUTABLE``; run
    in this process unless the test is marked ``process`` (module docstring)."""
    inprocess = request.node.get_closest_marker("process") is None
    agents = FakeAgents(tmp_path / "fakes", inprocess=inprocess)
    if inprocess:
        launcher: FakeLauncher = request.getfixturevalue("fake_launcher")
        launcher.fake_clis = True
    for key, value in agents.env.items():
        monkeypatch.setenv(key, value)
    for agent in AGENTS:
        monkeypatch.setenv(f"AIO_AGENT_{agent.upper()}_EXECUTABLE", agents.executable(agent))
    return agents


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty git repository to run the agents in (``git_init``: no git process)."""
    path = tmp_path / "project"
    path.mkdir()
    git_init(path)
    return path

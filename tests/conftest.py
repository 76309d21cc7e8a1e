"""Test-wide isolation: no test ever touches the real home or the real agent configs.

The autouse fixture points HOME, SESSION_DIR, the agents' config directories and the
XDG directories at a per-test temporary directory, and removes variables that would
change behaviour (USE_SESSIONS, AI_MODEL, AIO_* overrides, nested-Claude markers).

Tests are in-process by default: a test that starts a process (``subprocess``, ``os.fork``,
``os.exec*``, …) without the ``process`` marker fails with a message naming the marker
(``tests/spawnguard.py``, installed around every test's setup, call and teardown here).
``real_cli`` and ``agent_process`` imply ``process``.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.fakes.inprocess import FakeLauncher
from tests.spawnguard import guard, imply_process

# pytest keeps its assertion-rewritten test modules as bytecode. Where PYTHONDONTWRITEBYTECODE
# is set (this machine, CI) every run and every xdist worker would rewrite all test modules
# again: about 10 s of CPU each, most of a collection. Keep them in the git-ignored
# .cache/pycache, for the pytest processes only (the processes tests start keep their
# environment).
sys.dont_write_bytecode = False
sys.pycache_prefix = str(Path(__file__).resolve().parents[1] / ".cache" / "pycache")

# Hypothesis: its wall-clock checks (a 200 ms deadline per example, the "input generation is
# slow" health check) fail correct tests when the machine is loaded, so they are off.
# `make test-fast` passes `--hypothesis-profile=fast`: a quarter of the examples (the counts a
# test asks for scale with ``tests.helpers.examples``); `make test` runs them all.
settings.register_profile("aio", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fast", settings.get_profile("aio"), max_examples=25)
settings.load_profile("aio")

_REMOVED_PREFIXES = ("AIO_", "CLAUDE_", "CLAUDECODE", "GEMINI_", "CODEX_", "OPENAI_", "ANTHROPIC_",
                     "QWEN_")
_REMOVED = ("USE_SESSIONS", "AI_MODEL", "TODO_FILE", "FAKE_AGENT_SCENARIO", "FAKE_AGENT_LOG")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    imply_process(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    if nextitem is None:
        # the session's last teardown also finalises the session-scoped fixtures (the team
        # tests' PostgreSQL server, stopped with pg_ctl) in whichever test ran last on this
        # worker: not that test's doing, so not guarded
        return (yield)
    return (yield from _guarded(item))


def _guarded(item: pytest.Item) -> Generator[None, None, None]:
    with guard(item) as attempts:
        result = yield
    if attempts:  # the error was caught by the code under test: fail all the same
        pytest.fail(f"started a process without the `process` marker: {attempts[0]}")
    return result


@pytest.fixture
def tmp_path(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A new directory for each test under pytest's base temporary directory, kept as
    pytest keeps its own (the last three runs). pytest's ``tmp_path`` resolves the base
    path, numbers the directory and re-points a ``<name>current`` symlink on every test,
    about a third of an empty test's cost with the fixtures here (every test has one:
    ``isolated_home``); ``mkdtemp`` is one ``mkdir`` of a fresh name."""
    name = re.sub(r"\W", "_", request.node.name)[:30]
    return Path(tempfile.mkdtemp(prefix=f"{name}_", dir=tmp_path_factory.getbasetemp()))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith(_REMOVED_PREFIXES) or name in _REMOVED:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SESSION_DIR", str(home / ".ai-sessions"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / ".claude"))
    monkeypatch.setenv("CODEX_HOME", str(home / ".codex"))
    monkeypatch.setenv("GEMINI_CLI_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("AIO_SCRIPTED_HOME", str(home / ".aio-scripted"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("AIO_FSYNC", "0")  # durability is not under test; speed is welcome
    # The workflow's test command is a real pytest run in a temporary project; without the
    # plugins of this venv (hypothesis, xdist, timeout) it starts five times cheaper.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    if "AGENT_CLI_DIR" not in os.environ:
        monkeypatch.setenv(
            "AGENT_CLI_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "agent-clis")
        )
    monkeypatch.chdir(tmp_path)
    yield home


@pytest.fixture
def session_dir(isolated_home: Path) -> Path:
    return isolated_home / ".ai-sessions"


@pytest.fixture
def fake_launcher(monkeypatch: pytest.MonkeyPatch) -> FakeLauncher:
    """The in-process fake agent process (``tests/fakes/inprocess.py``) in place of the runner
    for every session call of this test; it also runs the scripted agent in-process."""
    from ai_orchestrator.calls import session_call

    fake = FakeLauncher(scripted=True)
    monkeypatch.setattr(session_call, "launch", fake)
    return fake

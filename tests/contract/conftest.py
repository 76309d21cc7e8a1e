"""Fixtures for running the real agent CLIs offline against ``tests.fakeapi``.

Public fixtures (all function-scoped):

- ``fake_api`` -> ``FakeAPIServer`` (started on 127.0.0.1:<free port>, stopped afterwards):
  ``.url``, ``.script(turns)``, ``.requests``, ``.main_requests(api)``, ``.reset()``,
  ``.wait_for_requests(n)``.
- ``cli_home`` -> ``Path``: the HOME the CLIs get. It is ``$HOME`` when that already points
  inside pytest's temp area (the repo's autouse ``isolated_home`` fixture does this), else
  ``tmp_path / "home"``. The real home is never used.
- ``cli_workdir`` -> ``Path``: an empty cwd for the CLI (``tmp_path / "work"``).
- ``offline_cli_factory`` -> ``(name) -> OfflineCli(argv, env)``: requires the CLI (loud skip
  without npm, failure if not installed), writes its offline config, returns argv + env.
- ``claude_cli`` / ``gemini_cli`` / ``codex_cli`` / ``qwen_cli`` -> ``OfflineCli`` for that CLI.
- ``agent_env`` -> ``(name) -> None``: makes agent ``name`` resolve, for ``run_in_session`` in
  this test, to the real CLI with its offline environment (``SESSION_DIR`` stays the test's).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import OfflineCli, offline_cli, require_cli


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


@pytest.fixture
def fake_api() -> Iterator[FakeAPIServer]:
    with FakeAPIServer() as server:
        yield server


@pytest.fixture
def cli_home(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env_home = os.environ.get("HOME")
    if env_home and _inside(Path(env_home), tmp_path_factory.getbasetemp()):
        home = Path(env_home)
    else:
        home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    return home


@pytest.fixture
def cli_workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return work


@pytest.fixture
def offline_cli_factory(fake_api: FakeAPIServer, cli_home: Path,
                        tmp_path_factory: pytest.TempPathFactory
                        ) -> Callable[[str], OfflineCli]:
    basetemp = tmp_path_factory.getbasetemp()
    # Forward only the agent/XDG dirs that point inside pytest's temp area.
    safe = {k: v for k, v in os.environ.items()
            if v and Path(v).is_absolute() and _inside(Path(v), basetemp)}

    def make(name: str) -> OfflineCli:
        exe = require_cli(name)
        return offline_cli(name, fake_api.url, cli_home, exe=exe, inherit=safe)

    return make


@pytest.fixture
def claude_cli(offline_cli_factory: Callable[[str], OfflineCli]) -> OfflineCli:
    return offline_cli_factory("claude")


@pytest.fixture
def gemini_cli(offline_cli_factory: Callable[[str], OfflineCli]) -> OfflineCli:
    return offline_cli_factory("gemini")


@pytest.fixture
def codex_cli(offline_cli_factory: Callable[[str], OfflineCli]) -> OfflineCli:
    return offline_cli_factory("codex")


@pytest.fixture
def qwen_cli(offline_cli_factory: Callable[[str], OfflineCli]) -> OfflineCli:
    return offline_cli_factory("qwen")


@pytest.fixture
def agent_env(
    monkeypatch: pytest.MonkeyPatch, offline_cli_factory: Callable[[str], OfflineCli]
) -> Callable[[str], None]:
    def use(name: str) -> None:
        cli = offline_cli_factory(name)
        for key, value in cli.env.items():
            if key != "SESSION_DIR":
                monkeypatch.setenv(key, value)
        monkeypatch.setenv(f"AIO_AGENT_{name.upper()}_EXECUTABLE", cli.argv[0])

    return use

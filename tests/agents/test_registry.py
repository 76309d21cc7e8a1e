"""Backend registry: keys, executables and per-backend extra arguments."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from ai_orchestrator.agents import registry
from ai_orchestrator.core.errors import AgentNotFound, InvalidInput


def make_exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize("key", ["claude", "gemini", "codex", "scripted"])
def test_every_key_has_a_backend_named_like_its_binary(key: str) -> None:
    backend = registry.get_backend(key)
    assert backend.key == key
    assert callable(backend.build) and callable(backend.parser)
    assert registry.get_backend(key) is not backend  # fresh each time


def test_unknown_key_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as info:
        registry.get_backend("copilot")
    message = str(info.value)
    assert all(key in message for key in ("claude", "gemini", "codex", "scripted"))
    with pytest.raises(InvalidInput):
        registry.resolve_executable("Claude")
    with pytest.raises(InvalidInput):
        registry.extra_args("../claude")


def test_executable_found_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = make_exe(tmp_path / "bin" / "gemini")
    monkeypatch.setenv("PATH", str(exe.parent))
    assert registry.resolve_executable("gemini") == str(exe)


def test_executable_override_by_path_or_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = make_exe(tmp_path / "tools" / "fake-claude")
    monkeypatch.setenv("AIO_AGENT_CLAUDE_EXECUTABLE", str(exe))
    assert registry.resolve_executable("claude") == str(exe)
    monkeypatch.setenv("PATH", str(exe.parent))
    monkeypatch.setenv("AIO_AGENT_CLAUDE_EXECUTABLE", "fake-claude")
    assert registry.resolve_executable("claude") == str(exe)


def test_missing_executable_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(AgentNotFound) as info:
        registry.resolve_executable("codex")
    assert "AIO_AGENT_CODEX_EXECUTABLE" in str(info.value)
    monkeypatch.setenv("AIO_AGENT_CODEX_EXECUTABLE", str(tmp_path / "nope" / "codex"))
    with pytest.raises(AgentNotFound, match="not executable"):
        registry.resolve_executable("codex")
    not_exec = tmp_path / "plain"
    not_exec.write_text("x")
    monkeypatch.setenv("AIO_AGENT_CODEX_EXECUTABLE", str(not_exec))
    with pytest.raises(AgentNotFound):
        registry.resolve_executable("codex")


def test_scripted_runs_with_this_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert registry.resolve_executable("scripted") == sys.executable
    monkeypatch.setenv("AIO_AGENT_SCRIPTED_EXECUTABLE", sys.executable)
    assert registry.resolve_executable("scripted") == os.path.abspath(sys.executable)


def test_extra_args_are_split_like_a_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    assert registry.extra_args("claude") == []
    monkeypatch.setenv(
        "AIO_AGENT_CLAUDE_EXTRA_ARGS", "--append-system-prompt 'be brief; no $HOME' --debug"
    )
    assert registry.extra_args("claude") == [
        "--append-system-prompt",
        "be brief; no $HOME",
        "--debug",
    ]
    monkeypatch.setenv("AIO_AGENT_GEMINI_EXTRA_ARGS", "--include-directories 'unbalanced")
    with pytest.raises(InvalidInput, match="AIO_AGENT_GEMINI_EXTRA_ARGS"):
        registry.extra_args("gemini")


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_registry_import_is_light() -> None:
    import subprocess

    code = (
        "import sys, ai_orchestrator.agents.registry; "
        "print(any(m.endswith(('.claude', '.gemini', '.codex', '.scripted')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

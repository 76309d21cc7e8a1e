"""The one module that reads the environment (``core/env.py``): every variable declared, the
README table in step with it, paths computed once, and nothing heavy on the hook's path."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ai_orchestrator.core import env

ROOT = Path(__file__).resolve().parent.parent


def _readme_names() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names |= set(re.findall(r"`([A-Za-z_<>]+)`", first))
    return names


def test_readme_table_lists_exactly_the_declared_variables() -> None:
    readme = _readme_names()
    assert readme == set(env.VARIABLES), (
        f"only in README: {sorted(readme - set(env.VARIABLES))}; "
        f"only in core/env.py: {sorted(set(env.VARIABLES) - readme)}"
    )


def test_every_variable_has_a_one_line_meaning() -> None:
    for name, meaning in env.VARIABLES.items():
        assert meaning.strip() and "\n" not in meaning, name


def test_an_undeclared_variable_cannot_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIO_SOMETHING_NEW", "x")
    with pytest.raises(KeyError, match="AIO_SOMETHING_NEW is not declared"):
        env.get("AIO_SOMETHING_NEW")
    with pytest.raises(KeyError):
        env.put("AIO_SOMETHING_NEW", "y")


def test_pattern_variables_match_only_their_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIO_AGENT_CODEX_EXECUTABLE", "/bin/true")
    assert env.get("AIO_AGENT_CODEX_EXECUTABLE") == "/bin/true"
    with pytest.raises(KeyError):
        env.get("AIO_AGENT_CODEX_EXECUTABLE_X")
    with pytest.raises(KeyError):
        env.get("AIO_AGENT__EXTRA_ARGS_")


def test_empty_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIO_FSYNC", "")
    assert env.get("AIO_FSYNC", "1") == "1"
    assert env.is_set("AIO_FSYNC")
    monkeypatch.delenv("AIO_FSYNC")
    assert not env.is_set("AIO_FSYNC")


def test_paths_follow_their_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("SESSION_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "AIO_SCRIPTED_HOME"):
        monkeypatch.delenv(name, raising=False)
    assert env.session_dir() == str(tmp_path / ".ai-sessions")
    assert env.usage_dir() == str(tmp_path / ".ai-sessions" / "usage")
    assert env.cache_dir() == str(tmp_path / ".cache" / "ai-orchestrator")
    assert env.config_dir() == str(tmp_path / ".config" / "aio")
    assert env.scripted_home() == str(tmp_path / ".aio-scripted")
    monkeypatch.setenv("SESSION_DIR", "/s")
    monkeypatch.setenv("XDG_CACHE_HOME", "/c")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/f")
    assert (env.session_dir(), env.usage_dir()) == ("/s", "/s/usage")
    assert (env.cache_dir(), env.config_dir()) == ("/c/ai-orchestrator", "/f/aio")
    # a mapping given instead of the process environment (team config, tests)
    assert env.config_dir({"HOME": "/h"}) == "/h/.config/aio"
    assert env.session_dir({"SESSION_DIR": "/x"}) == "/x"


def test_the_store_and_the_spool_agree_on_the_usage_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ai_orchestrator.store.discovery import USAGE_DIR
    from ai_orchestrator.store.session_store import SessionStore
    from ai_orchestrator.usage import spool

    monkeypatch.setenv("SESSION_DIR", str(tmp_path))
    assert spool.usage_dir() == str(SessionStore().root / USAGE_DIR)
    assert env.USAGE_DIR == USAGE_DIR


def test_env_module_is_stdlib_only() -> None:
    """``aio hook`` and ``aio statusline`` import it: nothing of ours, nothing heavy."""
    tree = ast.parse(Path(env.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import)
        for alias in n.names
    } | {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert imported <= {"__future__", "os", "re", "collections"}, imported

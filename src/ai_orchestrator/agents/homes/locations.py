"""Where each agent CLI keeps its session files (stdlib only: the usage index and the hook
path import this on every run, so it must not pull in the adapters).

- ``claude_projects_dirs()``: Claude Code's ``projects/`` directories;
- ``codex_home()``: ``$CODEX_HOME`` (``sessions/``, ``archived_sessions/``);
- ``gemini_tmp_dir()``: Gemini CLI's ``~/.gemini/tmp`` (honouring ``GEMINI_CLI_HOME``).

The backends (their ``read_back`` and ``Capabilities.session_files``) and ``claude_transcript``
resolve the same places; these functions are the shared spelling.
"""

from __future__ import annotations

from pathlib import Path

from ai_orchestrator.core import env


def claude_projects_dirs() -> list[Path]:
    """Every Claude Code ``projects/`` directory: ``CLAUDE_CONFIG_DIR`` (one path or a
    comma-separated list, each the config dir or its ``projects/`` itself) replaces the
    defaults ``~/.claude`` and ``${XDG_CONFIG_HOME:-~/.config}/claude``."""
    configured = env.get("CLAUDE_CONFIG_DIR")
    if configured:
        roots = [Path(p.strip()).expanduser() for p in configured.split(",") if p.strip()]
    else:
        xdg = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        roots = [Path.home() / ".claude", Path(xdg) / "claude"]
    found: list[Path] = []
    for root in roots:
        projects = root if root.name == "projects" else root / "projects"
        if projects not in found:
            found.append(projects)
    return found


def claude_config_dir() -> Path:
    """``$CLAUDE_CONFIG_DIR`` taken whole, else ``~/.claude``: where Claude Code keeps its
    user commands and, under ``projects/``, the transcript of a call aio launched."""
    configured = env.get("CLAUDE_CONFIG_DIR")
    return Path(configured) if configured else Path.home() / ".claude"


def codex_home() -> Path:
    """``${CODEX_HOME:-~/.codex}``: ``sessions/YYYY/MM/DD/rollout-*.jsonl`` and
    ``archived_sessions/``."""
    return Path(env.get("CODEX_HOME") or Path.home() / ".codex")


def gemini_tmp_dir() -> Path:
    """``${GEMINI_CLI_HOME:-~}/.gemini/tmp``: ``<project>/chats/session-*.json[l]`` and
    subagent chats in ``<project>/chats/<parent session id>/``."""
    return Path(env.get("GEMINI_CLI_HOME") or Path.home()) / ".gemini" / "tmp"

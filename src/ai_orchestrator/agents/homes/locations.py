"""Where each agent CLI keeps its session files (stdlib only: the usage index and the hook
path import this on every run, so it must not pull in the adapters).

- ``claude_projects_dirs()``: Claude Code's ``projects/`` directories;
- ``codex_home()``: ``$CODEX_HOME`` (``sessions/``, ``archived_sessions/``);
- ``gemini_tmp_dir()``: Gemini CLI's ``~/.gemini/tmp`` (honouring ``GEMINI_CLI_HOME``).

The backends (their ``read_back`` and ``Capabilities.session_dirs``) and ``claude_transcript``
resolve the same places; these functions are the shared spelling.
"""

from __future__ import annotations

import os
from pathlib import Path


def claude_projects_dirs() -> list[Path]:
    """Every Claude Code ``projects/`` directory: ``CLAUDE_CONFIG_DIR`` (one path or a
    comma-separated list, each the config dir or its ``projects/`` itself) replaces the
    defaults ``~/.claude`` and ``${XDG_CONFIG_HOME:-~/.config}/claude``."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR")
    if configured:
        roots = [Path(p.strip()).expanduser() for p in configured.split(",") if p.strip()]
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        roots = [Path.home() / ".claude", Path(xdg) / "claude"]
    found: list[Path] = []
    for root in roots:
        projects = root if root.name == "projects" else root / "projects"
        if projects not in found:
            found.append(projects)
    return found


def codex_home() -> Path:
    """``${CODEX_HOME:-~/.codex}``: ``sessions/YYYY/MM/DD/rollout-*.jsonl`` and
    ``archived_sessions/``."""
    return Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")


def gemini_tmp_dir() -> Path:
    """``${GEMINI_CLI_HOME:-~}/.gemini/tmp``: ``<project>/chats/session-*.json[l]`` and
    subagent chats in ``<project>/chats/<parent session id>/``."""
    return Path(os.environ.get("GEMINI_CLI_HOME") or Path.home()) / ".gemini" / "tmp"

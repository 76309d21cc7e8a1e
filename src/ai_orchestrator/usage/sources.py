"""Which files the usage index reads: every agent's session files found on this machine.

``discover()`` → ``[Source(path, kind)]`` in a stable order. Kinds and where they are found
(the roots come from ``agents.agent_files``, the one place that knows where each CLI keeps
its files):

- ``claude``: every ``*.jsonl`` under each Claude ``projects/`` directory, recursively
  (``<project>/<session>.jsonl`` and ``<project>/<session>/subagents/*.jsonl``);
- ``codex``: ``rollout-*.jsonl`` under ``$CODEX_HOME/sessions`` and ``archived_sessions``;
- ``gemini``: ``chats/*.jsonl`` and ``chats/<parent>/*.jsonl`` under each project of
  ``~/.gemini/tmp`` (``gemini-json`` for the older single-document ``*.json`` chats).

Symlinked directories are not followed (no loops, nothing outside the roots); unreadable
directories are skipped. Files named by hook events (``extra``) are added when they exist
and are not already found.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ai_orchestrator.agents.homes.locations import claude_projects_dirs, codex_home, gemini_tmp_dir

KINDS = ("claude", "codex", "gemini", "gemini-json")
WHOLE_FILE = frozenset({"gemini-json"})  # rewritten in place: read again whole on change


@dataclass(frozen=True)
class Source:
    """One file to index and how to read it."""

    path: str
    kind: str

    @property
    def agent(self) -> str:
        return self.kind.split("-")[0]


def _walk(root: Path, suffix: str, prefix: str = "") -> Iterator[str]:
    """Regular files under ``root`` named ``prefix*suffix`` (no symlinked directories)."""
    stack = [str(root)]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif (
                            entry.name.endswith(suffix)
                            and entry.name.startswith(prefix)
                            and entry.is_file(follow_symlinks=False)
                        ):
                            yield entry.path
                    except OSError:
                        continue
        except OSError:
            continue


def _gemini(tmp: Path) -> Iterator[Source]:
    try:
        projects = sorted(os.scandir(tmp), key=lambda e: e.name)
    except OSError:
        return
    for project in projects:
        chats = Path(project.path) / "chats"
        if not project.is_dir(follow_symlinks=False) or not chats.is_dir():
            continue
        for path in _walk(chats, ".jsonl"):
            yield Source(path, "gemini")
        for path in _walk(chats, ".json"):
            yield Source(path, "gemini-json")


def discover(extra: Iterable[tuple[str, str]] = ()) -> list[Source]:
    """Every file to index (see the module docstring)."""
    found: list[Source] = []
    for projects in claude_projects_dirs():
        found.extend(Source(p, "claude") for p in _walk(projects, ".jsonl"))
    home = codex_home()
    for sub in ("sessions", "archived_sessions"):
        found.extend(Source(p, "codex") for p in _walk(home / sub, ".jsonl", "rollout-"))
    found.extend(_gemini(gemini_tmp_dir()))
    known = {s.path for s in found}
    for path, kind in extra:
        if path not in known and kind in KINDS and os.path.isfile(path):
            found.append(Source(path, kind))
            known.add(path)
    found.sort(key=lambda s: s.path)
    return found

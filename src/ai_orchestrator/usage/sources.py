"""Which files the usage index reads: every agent's session files found on this machine.

``discover()`` → ``[Source(path, kind)]`` in a stable order. Where to look is not kept
here: every backend of the registry declares its places (``Capabilities.session_files``,
``agents.base.SessionFiles``: a root, a file-name glob, the directories in between, and
the kind of reader). Today that is:

- ``claude``: every ``*.jsonl`` under each Claude ``projects/`` directory, recursively
  (``<project>/<session>.jsonl`` and ``<project>/<session>/subagents/*.jsonl``);
- ``codex``: ``rollout-*.jsonl`` under ``$CODEX_HOME/sessions`` and ``archived_sessions``;
- ``gemini``: ``chats/*.jsonl`` and ``chats/<parent>/*.jsonl`` under each project of
  ``~/.gemini/tmp`` (``gemini-json`` for the older single-document ``*.json`` chats);
- ``qwen``: ``projects/<cwd>/chats/*.jsonl`` under ``$QWEN_HOME`` (``~/.qwen``);
- ``opencode``: OpenCode's SQLite store ``opencode.db`` (a database: ``DATABASES``, read by
  ``usage.opencode_db``, not line by line).

A declared kind without a reader here is skipped (``KINDS`` lists the readers). Symlinked
directories are not followed (no loops, nothing outside the roots); unreadable directories
are skipped. Files named by hook events (``extra``) are added when they exist and are not
already found.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ai_orchestrator.agents.base import SessionFiles

LINES = ("claude", "codex", "gemini", "qwen")  # appended JSON lines: read from an offset
WHOLE_FILE = frozenset({"gemini-json"})  # rewritten in place: read again whole on change
DATABASES = frozenset({"opencode"})  # SQLite stores: read by a watermark (usage.opencode_db)
KINDS = (*LINES, *sorted(WHOLE_FILE), *sorted(DATABASES))


@dataclass(frozen=True)
class Source:
    """One file to index and how to read it."""

    path: str
    kind: str

    @property
    def agent(self) -> str:
        return self.kind.split("-")[0]


def _walk(root: Path, name: str, under: tuple[str, ...]) -> Iterator[str]:
    """Regular files under ``root`` whose name matches ``name`` and whose directories below
    ``root`` match ``under`` component by component (no symlinked directories)."""
    stack = [(str(root), 0)]
    while stack:
        top, depth = stack.pop()
        try:
            with os.scandir(top) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if depth >= len(under) or fnmatch.fnmatchcase(entry.name, under[depth]):
                                stack.append((entry.path, depth + 1))
                        elif (
                            depth >= len(under)
                            and fnmatch.fnmatchcase(entry.name, name)
                            and entry.is_file(follow_symlinks=False)
                        ):
                            yield entry.path
                    except OSError:
                        continue
        except OSError:
            continue


def _declared() -> Iterator[SessionFiles]:
    """Every place a backend of the registry declares (``Capabilities.session_files``)."""
    from ai_orchestrator.agents.registry import KNOWN_KEYS, capabilities

    for key in KNOWN_KEYS:
        files = capabilities(key).session_files
        if files is not None:
            yield from files()


def discover(extra: Iterable[tuple[str, str]] = ()) -> list[Source]:
    """Every file to index (see the module docstring)."""
    found: list[Source] = []
    known: set[str] = set()

    def add(path: str, kind: str) -> None:
        if path not in known:
            found.append(Source(path, kind))
            known.add(path)

    for place in _declared():
        if place.kind not in KINDS:
            continue
        if not place.name:  # one file
            if os.path.isfile(place.root) and not os.path.islink(place.root):
                add(str(place.root), place.kind)
            continue
        under = tuple(part for part in place.under.split("/") if part)
        for path in _walk(place.root, place.name, under):
            add(path, place.kind)
    for path, kind in extra:
        if kind in KINDS and os.path.isfile(path):
            add(path, kind)
    found.sort(key=lambda s: s.path)
    return found

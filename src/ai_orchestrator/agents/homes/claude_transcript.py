"""Final per-message output counts from Claude Code's own transcript file.

Why: in ``stream-json`` the CLI prints each assistant message when its content block is
complete, before the API's ``message_delta`` has the final ``output_tokens``; the line then
carries a placeholder (often ``1``). The per-model totals in the result line are exact, so a
call's *total* is right either way, but pricing long-context tiers per request needs each
request's own output count. The transcript the CLI writes for the session holds the final
usage of every message (real-cli-harness.md §1).

Contract: ``final_outputs(session_id, cwd)`` → ``{message id: output_tokens}`` read from
``$CLAUDE_CONFIG_DIR`` (default ``~/.claude``) ``/projects/<cwd with every non-alphanumeric
character as "-">/<session_id>.jsonl``, else from the first
``projects/*/<session_id>.jsonl`` (long paths are shortened by the CLI). Best effort: a
missing, unreadable or malformed file gives ``{}``, never an exception; the largest count
seen for a message id wins (the CLI rewrites a message as it grows). Files larger than
``MAX_BYTES`` are not read.

``TranscriptTail`` reads the same file incrementally while the call runs (only the bytes
appended since the last read, at most ``TAIL_CHUNK`` per read) for the live progress line;
same best-effort rules, and a file that shrank or was replaced is read again from the start.
"Replaced" is judged by the inode *and* the first ``HEAD_BYTES`` read from it: a file that
vanished and came back can reuse the freed inode with the same size, and a file rewritten in
place keeps its inode; in both the head differs (each transcript line carries its own uuid).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ai_orchestrator.agents.homes.locations import claude_config_dir

MAX_BYTES = 64 * 1024 * 1024
TAIL_CHUNK = 4 * 1024 * 1024
HEAD_BYTES = 512


def _config_dir() -> Path:
    return claude_config_dir()


def transcript_path(session_id: str, cwd: Path) -> Path | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", session_id):
        return None  # never let an id build a path elsewhere
    projects = _config_dir() / "projects"
    direct = projects / re.sub(r"[^A-Za-z0-9]", "-", str(cwd)) / f"{session_id}.jsonl"
    if direct.is_file():
        return direct
    try:
        return next(iter(sorted(projects.glob(f"*/{session_id}.jsonl"))), None)
    except OSError:
        return None


def final_outputs(session_id: str | None, cwd: Path) -> dict[str, int]:
    """``{message id: final output_tokens}`` for the session (see the module docstring)."""
    path = transcript_path(session_id, cwd) if session_id else None
    if path is None:
        return {}
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        lines = path.read_bytes().splitlines()
    except OSError:
        return {}
    found: dict[str, int] = {}
    _collect(lines, found)
    return found


def _collect(lines: list[bytes], found: dict[str, int]) -> bool:
    """Add each assistant line's output count to ``found``; True if anything grew."""
    grew = False
    for raw in lines:
        if b'"assistant"' not in raw:
            continue  # cheap filter: most lines are user/tool records
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        message = entry.get("message") if isinstance(entry, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("id"), str):
            continue
        usage = message.get("usage")
        output = usage.get("output_tokens") if isinstance(usage, dict) else None
        if not isinstance(output, int) or isinstance(output, bool):
            continue
        if output > found.get(message["id"], 0):
            found[message["id"]] = output
            grew = True
    return grew


class TranscriptTail:
    """Incremental reader of one session's transcript (see the module docstring)."""

    def __init__(self, session_id: str, cwd: Path) -> None:
        self.session_id, self.cwd = session_id, cwd
        self.path: Path | None = None
        self.offset = 0
        self.inode: int | None = None
        self.partial = b""
        self.head = b""  # the file's first bytes as last seen: its identity with the inode

    def read_new(self, found: dict[str, int]) -> bool:
        """Merge the final output counts appended since the last call into ``found``;
        True if any count grew. Never raises for a missing or unreadable file."""
        if self.path is None:
            self.path = transcript_path(self.session_id, self.cwd)
            if self.path is None:
                return False
        try:
            with self.path.open("rb") as handle:
                st = os.fstat(handle.fileno())
                head = os.pread(handle.fileno(), HEAD_BYTES, 0)
                if (
                    st.st_ino != self.inode
                    or st.st_size < self.offset
                    or head[: len(self.head)] != self.head
                ):
                    self.inode, self.offset, self.partial = st.st_ino, 0, b""
                self.head = head
                handle.seek(self.offset)
                data = handle.read(TAIL_CHUNK)
        except OSError:
            # look again next time (the CLI may create or move it); whatever appears there
            # next is a new file, even on a reused inode
            self.path, self.inode, self.offset, self.partial, self.head = None, None, 0, b"", b""
            return False
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        if len(self.partial) > TAIL_CHUNK:
            self.partial = b""  # a line too long to be a usage record: skip it
        return _collect(lines, found)

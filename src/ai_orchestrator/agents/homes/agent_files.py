"""Usage of one call read back from the agent CLI's own session files (a call aio lost).

``read_back(agent, session_id, cwd, since, state, resume_id)`` → ``FileUsage`` or ``None``
when the CLI's file for that conversation cannot be found or read. It refuses an id that
could build a path elsewhere, then asks the backend (``Backend.read_back``, in the backend's
own module); the helpers here (``json_lines``, ``counts``, ``add``) are what every reader
shares. Only the usage the call that started at ``since`` produced counts; what each
backend reads:

- **Claude** (``claude-transcript``): ``${CLAUDE_CONFIG_DIR:-~/.claude}/projects/<cwd slug>/
  <session id>.jsonl`` (``claude_transcript.transcript_path``) plus its ``<id>/subagents/*.jsonl``.
  Assistant lines with ``timestamp >= since``, deduplicated by ``(message.id, requestId)``
  keeping the copy with the largest ``output_tokens`` (the CLI writes a message again as it
  grows); one entry per request so long-context tiers price per request.
- **Codex** (``codex-rollout``): ``${CODEX_HOME:-~/.codex}/sessions/YYYY/MM/DD/
  rollout-*-<thread id>.jsonl`` (every copy: a resume may write a second file).
  ``event_msg/token_count.info.total_token_usage`` is cumulative for the thread; the largest
  snapshot minus the baseline the call started from (``codex.usage_baseline``) is the call's
  usage, and ``state`` carries the new snapshot for the next call. The model is the last
  ``turn_context.payload.model``.
- **Gemini** (``gemini-chat``): ``${GEMINI_CLI_HOME:-~}/.gemini/tmp/*/chats/
  session-*-<first 8 chars of the id>.json[l]`` whose ``sessionId`` is the id. JSONL records
  (header, ``{"$set": {...}}`` updates, messages written again under the same id — the last
  copy wins) or a single ``.json`` ``ConversationRecord``. ``gemini`` messages with
  ``timestamp >= since`` count, ``tokens`` normalised like the stream's (``input`` includes
  ``cached``).

Best effort by design: unreadable lines are skipped; files over ``MAX_BYTES`` are not read;
an id that could build a path elsewhere is refused. Timestamps are compared at millisecond
precision (what the CLIs write).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from ai_orchestrator.agents import registry
from ai_orchestrator.agents.base import FileUsage
from ai_orchestrator.core.usage import ModelUsage
from ai_orchestrator.infra.timeutil import parse_iso

__all__ = ["MAX_BYTES", "FileUsage", "add", "at", "counts", "json_lines", "read_back"]

MAX_BYTES = 64 * 1024 * 1024
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")


def read_back(
    agent: str,
    session_id: str | None,
    cwd: Path,
    since: datetime,
    state: Mapping[str, Any],
    resume_id: str | None,
) -> FileUsage | None:
    """The usage of the call that started at ``since`` (see the module docstring)."""
    if not session_id or not _SAFE_ID.fullmatch(session_id):
        return None
    if agent not in registry.KNOWN_KEYS:
        return None
    return registry.get_backend(agent).read_back(session_id, cwd, since, state, resume_id)


def json_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file (other lines skipped; ``[]`` when unreadable or
    over ``MAX_BYTES``)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return []
        raw = path.read_bytes()
    except OSError:
        return []
    found = []
    for line in raw.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            found.append(entry)
    return found


def at(entry: Mapping[str, Any]) -> datetime | None:
    """The entry's ``timestamp``."""
    return parse_iso(entry.get("timestamp"))


def counts(moment: datetime | None, since: datetime) -> bool:
    """Whether an entry written at ``moment`` belongs to the call started at ``since``
    (compared at millisecond precision, what the CLIs write)."""
    return moment is not None and moment >= since.replace(
        microsecond=since.microsecond // 1000 * 1000
    )


def add(found: FileUsage, model: str, usage: ModelUsage, moment: datetime | None) -> None:
    """Count one API request of ``model`` in ``found``."""
    usage.requests = 1
    found.usage.setdefault(model, ModelUsage()).add(usage)
    found.requests.setdefault(model, []).append(usage)
    if moment is not None and (found.last_at is None or moment > found.last_at):
        found.last_at = moment

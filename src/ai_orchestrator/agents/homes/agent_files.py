"""Usage of one call read back from the agent CLI's own session files (a call aio lost).

``read_back(agent, session_id, cwd, since, state, resume_id)`` → ``FileUsage`` or ``None``
when the CLI's file for that conversation cannot be found or read. Only the usage the call
that started at ``since`` produced counts:

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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ai_orchestrator.agents._common import as_dict, as_int, as_str
from ai_orchestrator.agents.claude_usage import anthropic_usage, session_state
from ai_orchestrator.agents.codex import (
    cumulative_snapshot,
    normalised_usage,
    usage_baseline,
    usage_delta,
)
from ai_orchestrator.agents.gemini import usage_from_stats
from ai_orchestrator.agents.homes.claude_transcript import transcript_path
from ai_orchestrator.agents.homes.locations import codex_home, gemini_tmp_dir
from ai_orchestrator.core.usage import ModelUsage
from ai_orchestrator.infra.timeutil import parse_iso

MAX_BYTES = 64 * 1024 * 1024
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")


@dataclass
class FileUsage:
    """What the agent's files say the call used."""

    kind: str  # claude-transcript | codex-rollout | gemini-chat
    path: Path
    usage: dict[str, ModelUsage] = field(default_factory=dict)
    requests: dict[str, list[ModelUsage]] = field(default_factory=dict)
    last_at: datetime | None = None  # the newest counted entry
    state: Mapping[str, Any] = field(default_factory=dict)


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
    if agent == "claude":
        return _claude(session_id, cwd, since, state, resume_id)
    if agent == "codex":
        return _codex(session_id, state, resume_id)
    if agent == "gemini":
        return _gemini(session_id, since)
    return None


def _lines(path: Path) -> list[dict[str, Any]]:
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


def _at(entry: dict[str, Any]) -> datetime | None:
    return parse_iso(entry.get("timestamp"))


def _counts(moment: datetime | None, since: datetime) -> bool:
    return moment is not None and moment >= since.replace(
        microsecond=since.microsecond // 1000 * 1000
    )


def _add(found: FileUsage, model: str, usage: ModelUsage, moment: datetime | None) -> None:
    usage.requests = 1
    found.usage.setdefault(model, ModelUsage()).add(usage)
    found.requests.setdefault(model, []).append(usage)
    if moment is not None and (found.last_at is None or moment > found.last_at):
        found.last_at = moment


def _claude(
    session_id: str, cwd: Path, since: datetime, state: Mapping[str, Any], resume_id: str | None
) -> FileUsage | None:
    path = transcript_path(session_id, cwd)
    if path is None:
        return None
    files = [path, *sorted(path.with_suffix("").glob("subagents/*.jsonl"))]
    best: dict[tuple[str, str], tuple[dict[str, Any], datetime | None]] = {}
    for file in files:
        for entry in _lines(file):
            message = as_dict(entry.get("message"))
            usage = as_dict(message.get("usage"))
            if entry.get("type") != "assistant" or not usage or not _counts(_at(entry), since):
                continue
            key = (str(message.get("id") or entry.get("uuid")), str(entry.get("requestId")))
            held = best.get(key)
            if held is None or as_int(usage.get("output_tokens")) >= as_int(
                as_dict(held[0].get("usage")).get("output_tokens")
            ):
                best[key] = (message, _at(entry))
    found = FileUsage("claude-transcript", path)
    for message, moment in best.values():
        model = as_str(message.get("model")) or "unknown"
        if model != "<synthetic>":  # the CLI's own placeholder messages cost nothing
            _add(found, model, anthropic_usage(as_dict(message.get("usage"))), moment)
    found.state = session_state(state, bool(resume_id), found.usage, None)
    return found


def _codex(thread_id: str, state: Mapping[str, Any], resume_id: str | None) -> FileUsage | None:
    home = codex_home()
    try:
        files = sorted((home / "sessions").glob(f"*/*/*/rollout-*-{thread_id}.jsonl"))
    except OSError:
        return None
    if not files:
        return None
    snapshot: dict[str, int] = {}
    model: str | None = None
    last_at: datetime | None = None
    for file in files:
        for entry in _lines(file):
            payload = as_dict(entry.get("payload"))
            if entry.get("type") == "turn_context":
                model = as_str(payload.get("model")) or model
            elif entry.get("type") == "event_msg" and payload.get("type") == "token_count":
                total = cumulative_snapshot(
                    as_dict(as_dict(payload.get("info")).get("total_token_usage"))
                )
                if total.get("total_tokens", 0) >= snapshot.get("total_tokens", 0):
                    snapshot, last_at = total, _at(entry)
    found = FileUsage("codex-rollout", files[-1], last_at=last_at)
    baseline = usage_baseline(state, resume_id, thread_id)
    delta = usage_delta(snapshot, baseline) if snapshot else {}
    if any(delta.values()):
        found.usage[model or "unknown"] = normalised_usage(delta)
    found.state = {"thread_id": thread_id, "cumulative_usage": snapshot or baseline}
    return found


def _gemini_messages(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """(sessionId, messages) of one chat file, JSONL or a single JSON document."""
    if path.suffix == ".json":
        try:
            doc = json.loads(path.read_bytes()) if path.stat().st_size <= MAX_BYTES else {}
        except (OSError, ValueError):
            return None, []
        doc = as_dict(doc)
        messages = doc.get("messages")
        return as_str(doc.get("sessionId")), messages if isinstance(messages, list) else []
    session: str | None = None
    by_id: dict[str, dict[str, Any]] = {}
    for entry in _lines(path):
        update = as_dict(entry.get("$set"))
        if "sessionId" in entry:
            session = session or as_str(entry.get("sessionId"))
        elif isinstance(update.get("messages"), list):
            by_id = {str(m.get("id")): m for m in update["messages"] if isinstance(m, dict)}
        elif "id" in entry and "type" in entry:
            by_id[str(entry["id"])] = entry  # a message written again: the last copy wins
    return session, list(by_id.values())


def _gemini(session_id: str, since: datetime) -> FileUsage | None:
    home = gemini_tmp_dir()
    try:
        candidates = sorted(home.glob(f"*/chats/session-*-{session_id[:8]}.json*"))
    except OSError:
        return None
    for path in candidates:
        session, messages = _gemini_messages(path)
        if session != session_id:
            continue
        found = FileUsage("gemini-chat", path)
        for message in messages:
            tokens = as_dict(message.get("tokens"))
            if message.get("type") != "gemini" or not tokens or not _counts(_at(message), since):
                continue
            stats = {"tokens": {**tokens, "prompt": tokens.get("input"),
                                "candidates": tokens.get("output")}}
            model = as_str(message.get("model")) or "unknown"
            _add(found, model, usage_from_stats(stats), _at(message))
        return found
    return None


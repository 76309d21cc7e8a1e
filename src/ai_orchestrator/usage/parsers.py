"""Requests read from the agents' session files, one ``Request`` per API request.

Each parser takes a block of *complete* lines of one file (``bytes``), the file's parser
state (a JSON-able dict the caller stores with the file's offset, so a later call continues
where this one stopped) and returns the requests found. Nothing here raises for bad input:
a line that is not JSON, or lacks a field, is skipped (the CLIs change their formats often).

Semantics (the usage index's rules; docs/usage.md explains them):

- **Claude** transcript lines of ``type: assistant`` with ``message.usage``. One request per
  ``(message.id, requestId)`` (``message.id`` alone when ``requestId`` is missing; with the
  session and time added when the id is not an Anthropic ``msg_…`` id, since proxies reuse
  one id). The CLI writes a message again as it grows: the caller keeps the *most complete*
  snapshot (largest token total; on a tie the later one). ``isSidechain`` lines (subagents,
  ``/btw``) carry their parent's ``sessionId``, so they count for the parent session; a
  sidechain line that repeats a main-chain ``message.id`` is a replay and the caller drops
  it. Model ``<synthetic>`` is the CLI's placeholder, not a request. Usage is normalised by
  ``agents.claude_usage.anthropic_usage`` (the 5m/1h cache-write split; thinking tokens).
  An old line's ``costUSD`` is kept as the reported cost.
- **Codex** rollout ``event_msg``/``token_count`` lines. ``info.total_token_usage`` is
  cumulative for the thread: a snapshot that does not grow is a repeat (skipped); the
  request's own usage is ``info.last_token_usage`` (else the growth of the total). The key
  is (thread id, cumulative total), so a resumed copy of the history in another file adds
  nothing. ``cached_input_tokens`` is a subset of ``input_tokens`` and reasoning a subset of
  output (``agents.codex.normalised_usage``). Model, cwd and branch come from
  ``session_meta`` and the latest ``turn_context``.
- **Gemini** chat messages of ``type: gemini`` with ``tokens`` (``input`` includes
  ``cached``; thoughts are billed as output: ``agents.gemini.usage_from_stats``). One request
  per (session id, message id); a message written again replaces the earlier copy (the last
  one wins). ``$set.messages`` replaces the list; ``$rewindTo`` removes nothing already
  billed. Subagent chats (``chats/<parent id>/…``) count for the parent session.
- **Qwen Code** chat lines of subtype ``ui_telemetry`` carrying a ``qwen-code.api_response``
  event: the CLI writes one per API response as it arrives, side requests (the memory
  extractor) included. One request per (session id, ``response_id``); usage by
  ``agents.qwen.response_usage`` (``input_token_count`` includes the cached tokens; thoughts
  are the reasoning part of the output). Model from the event; project from the line's
  ``cwd``.

OpenCode keeps its sessions in SQLite, not in lines: ``usage.opencode_db`` reads it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ai_orchestrator.agents.claude_usage import anthropic_usage
from ai_orchestrator.agents.codex import cumulative_snapshot, normalised_usage, usage_delta
from ai_orchestrator.agents.gemini import usage_from_stats
from ai_orchestrator.agents.qwen import response_usage as qwen_response_usage
from ai_orchestrator.core.usage import ModelUsage

_loads: Callable[[bytes], Any] = json.loads
try:  # orjson parses the hot path about twice as fast; the stdlib is the fallback
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency
    pass

_CLAUDE_MARK = b'"usage"'  # a key: inside a string every quote is escaped
_ENTRY_FIELDS = ("type", "sessionId", "requestId", "timestamp", "uuid", "cwd", "gitBranch",
                 "isSidechain", "costUSD")  # fmt: skip
_decode_claude: Callable[[bytes], Any] | None = None
try:  # msgspec decodes only the fields below and skips the rest (the message's content, most
    # of an assistant line's bytes) without building it: ~2.5x faster than orjson here
    import msgspec

    class _ClaudeMessage(msgspec.Struct):
        id: Any = None
        model: Any = None
        usage: Any = None

    class _ClaudeEntry(msgspec.Struct):
        type: Any = None
        message: _ClaudeMessage | None = None
        sessionId: Any = None
        requestId: Any = None
        timestamp: Any = None
        uuid: Any = None
        cwd: Any = None
        gitBranch: Any = None
        isSidechain: Any = None
        costUSD: Any = None

    _decode_claude = msgspec.json.Decoder(_ClaudeEntry).decode
except ImportError:  # pragma: no cover - msgspec is a dependency
    pass
_CODEX_MARKS = (b'"token_count"', b'"turn_context"', b'"session_meta"')
_QWEN_MARK = b'"qwen-code.api_response"'


@dataclass
class Request:
    """One API request as read from a file (before pricing)."""

    key: str
    agent: str
    model: str
    ts: int  # milliseconds since the epoch (UTC)
    session: str | None
    project: str | None
    branch: str | None
    usage: ModelUsage
    last_wins: bool = False  # Gemini: a later copy replaces; else the most complete wins
    msg_id: str | None = None
    sidechain: bool = False
    reported_cost: float | None = None

    @property
    def size(self) -> int:
        u = self.usage
        return u.input + u.output + u.cache_read + u.cache_write_5m + u.cache_write_1h


def _loads_dict(raw: bytes) -> dict[str, Any] | None:
    try:
        value = _loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def to_ms(value: Any) -> int | None:
    """Milliseconds since the epoch of an ISO time stamp; ``None`` if it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)  # 3.11: "Z" included
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1000)


# --- Claude -----------------------------------------------------------------------------------


def _claude_lines(data: bytes) -> list[bytes]:
    """The lines of ``data`` that carry a ``"usage"`` key (found without splitting every
    line: most bytes are tool results the index never parses)."""
    lines = []
    find, rfind = data.find, data.rfind
    pos = find(_CLAUDE_MARK)
    while pos >= 0:
        start = rfind(b"\n", 0, pos) + 1
        end = find(b"\n", pos)
        if end < 0:
            end = len(data)
        lines.append(data[start:end])
        pos = find(_CLAUDE_MARK, end)
    return lines


_Held = tuple[int, dict[str, Any], dict[str, Any], dict[str, Any], str | None, int]


def _raw_size(usage: dict[str, Any]) -> int:
    """The token total of a raw usage object (to pick the most complete snapshot cheaply)."""
    total = 0
    for key in ("input_tokens", "output_tokens", "cache_read_input_tokens",
                "cache_creation_input_tokens"):  # fmt: skip
        value = usage.get(key)
        if type(value) is int:
            total += value
    return total


def _claude_entry(raw: bytes) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the line's object, its ``message`` object) with the fields ``parse_claude`` reads:
    through msgspec when the line has the usual shape, else the whole line parsed (the same
    values either way: a value of another shape makes msgspec refuse the line)."""
    if _decode_claude is not None:
        try:
            e = _decode_claude(raw)
        except ValueError:  # msgspec.DecodeError: not JSON, or another shape
            pass
        else:
            if e.type != "assistant":
                return None, {}
            m = e.message
            return {k: getattr(e, k) for k in _ENTRY_FIELDS}, (
                {} if m is None else {"id": m.id, "model": m.model, "usage": m.usage}
            )
    entry = _loads_dict(raw)
    return entry, _dict(entry.get("message")) if entry is not None else {}


def parse_claude(data: bytes, state: dict[str, Any], path: str) -> list[Request]:
    """Requests on the complete lines ``data`` of one Claude transcript (the most complete
    snapshot of each key in this block; the index keeps the most complete across blocks)."""
    best: dict[str, _Held] = {}
    fallback_session = state.get("session")
    if fallback_session is None:
        fallback_session = _claude_session_of(path)
        state["session"] = fallback_session
    for raw in _claude_lines(data):
        entry, message = _claude_entry(raw)
        if entry is None or entry.get("type") != "assistant":
            continue
        usage = message.get("usage")
        if not isinstance(usage, dict):
            continue
        model = _str(message.get("model")) or "unknown"
        if model == "<synthetic>":
            continue
        ts = to_ms(entry.get("timestamp"))
        if ts is None:
            continue
        session = _str(entry.get("sessionId")) or fallback_session
        msg_id = _str(message.get("id"))
        request_id = _str(entry.get("requestId")) or ""
        if msg_id is None:
            key = f"c:u:{entry.get('uuid') or ts}"
        elif msg_id.startswith("msg_"):
            key = f"c:{msg_id}:{request_id}"
        else:
            key = f"c:{msg_id}:{request_id}:{session}:{ts}"
        size = _raw_size(usage)
        held = best.get(key)
        if held is None or size >= held[0]:
            best[key] = (size, entry, message, usage, session, ts)
    found = []
    for key, (_, entry, message, usage, session, ts) in best.items():
        cost = entry.get("costUSD")
        found.append(
            Request(
                key=key,
                agent="claude",
                model=_str(message.get("model")) or "unknown",
                ts=ts,
                session=session,
                project=_str(entry.get("cwd")),
                branch=_str(entry.get("gitBranch")),
                usage=anthropic_usage(usage),
                msg_id=_str(message.get("id")),
                sidechain=entry.get("isSidechain") is True,
                reported_cost=float(cost) if isinstance(cost, int | float) else None,
            )
        )
    return found


def _claude_session_of(path: str) -> str:
    """The session a transcript belongs to by its place: ``<id>.jsonl`` or
    ``<id>/subagents/agent-*.jsonl`` (the parent's id)."""
    parent = os.path.dirname(path)
    if os.path.basename(parent) == "subagents":
        return os.path.basename(os.path.dirname(parent))
    return os.path.basename(path).removesuffix(".jsonl")


# --- Codex ------------------------------------------------------------------------------------


def parse_codex(data: bytes, state: dict[str, Any], path: str) -> list[Request]:
    """Requests on the complete lines ``data`` of one Codex rollout (``state`` carries the
    thread id, model, cwd, branch and the last cumulative total)."""
    found = []
    for raw in data.split(b"\n"):
        if not any(mark in raw for mark in _CODEX_MARKS):
            continue
        entry = _loads_dict(raw)
        if entry is None:
            continue
        kind, payload = entry.get("type"), _dict(entry.get("payload"))
        if kind == "session_meta":
            state["thread"] = _str(payload.get("id")) or state.get("thread")
            state["cwd"] = _str(payload.get("cwd")) or state.get("cwd")
            state["branch"] = _str(_dict(payload.get("git")).get("branch")) or state.get("branch")
        elif kind == "turn_context":
            state["model"] = _str(payload.get("model")) or state.get("model")
            state["cwd"] = _str(payload.get("cwd")) or state.get("cwd")
        elif kind == "event_msg" and payload.get("type") == "token_count":
            request = _codex_request(entry, _dict(payload.get("info")), state, path)
            if request is not None:
                found.append(request)
    return found


def _codex_request(
    entry: dict[str, Any], info: dict[str, Any], state: dict[str, Any], path: str
) -> Request | None:
    total = cumulative_snapshot(_dict(info.get("total_token_usage")))
    if not total:
        return None
    grand = total.get("total_tokens") or sum(
        total.get(k, 0) for k in ("input_tokens", "output_tokens")
    )
    previous: dict[str, int] = _dict(state.get("total"))
    if grand <= (previous.get("total_tokens") or 0) and not any(
        total.get(k, 0) < v for k, v in previous.items()
    ):
        return None  # a repeated snapshot (the CLI emits one per rate-limit update too)
    last = cumulative_snapshot(_dict(info.get("last_token_usage")))
    usage = normalised_usage(last if last else usage_delta(total, previous))
    state["total"] = {**total, "total_tokens": grand}
    ts = to_ms(entry.get("timestamp"))
    thread = state.get("thread") or _codex_thread_of(path)
    if ts is None:
        return None
    return Request(
        key=f"x:{thread}:{grand}",
        agent="codex",
        model=state.get("model") or "unknown",
        ts=ts,
        session=thread,
        project=state.get("cwd"),
        branch=state.get("branch"),
        usage=usage,
    )


def _codex_thread_of(path: str) -> str:
    """``rollout-<YYYY-MM-DDTHH-MM-SS>-<thread id>.jsonl`` → the thread id."""
    name = os.path.basename(path).removesuffix(".jsonl").removeprefix("rollout-")
    return name[20:] if len(name) > 20 else name


# --- Gemini -----------------------------------------------------------------------------------


def _gemini_request(
    message: dict[str, Any], session: str | None, project: str | None
) -> Request | None:
    tokens = message.get("tokens")
    if message.get("type") != "gemini" or not isinstance(tokens, dict) or not session:
        return None
    ts = to_ms(message.get("timestamp"))
    if ts is None:
        return None
    prompt, candidates = tokens.get("input"), tokens.get("output")
    stats = {"tokens": {**tokens, "prompt": prompt, "candidates": candidates}}
    usage = usage_from_stats(stats)
    usage.requests = 1
    return Request(
        key=f"g:{session}:{message.get('id')}",
        agent="gemini",
        model=_str(message.get("model")) or "unknown",
        ts=ts,
        session=session,
        project=project,
        branch=None,
        usage=usage,
        last_wins=True,
    )


def _gemini_context(path: str, state: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the session the file counts for, its project) by the file's place: a subagent chat
    in ``chats/<parent id>/`` counts for the parent."""
    chats = os.path.dirname(path)
    if os.path.basename(chats) != "chats":
        parent, chats = os.path.basename(chats), os.path.dirname(chats)
        state.setdefault("parent", parent)
    project = os.path.basename(os.path.dirname(chats))
    return state.get("parent") or state.get("session"), state.get("project") or project


def parse_gemini(data: bytes, state: dict[str, Any], path: str) -> list[Request]:
    """Requests on the complete lines ``data`` of one Gemini JSONL chat file."""
    found = []
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        entry = _loads_dict(raw)
        if entry is None:
            continue
        update = _dict(entry.get("$set"))
        if "sessionId" in entry and "type" not in entry:
            state["session"] = _str(entry.get("sessionId")) or state.get("session")
        messages: list[Any] = []
        if isinstance(update.get("messages"), list):
            messages = update["messages"]
        elif "id" in entry and "type" in entry:
            messages = [entry]
        session, project = _gemini_context(path, state)
        for message in messages:
            request = _gemini_request(_dict(message), session, project)
            if request is not None:
                found.append(request)
    return found


def parse_gemini_json(data: bytes, state: dict[str, Any], path: str) -> list[Request]:
    """Requests of one single-document Gemini chat (``ConversationRecord``), read whole."""
    doc = _loads_dict(data)
    if doc is None:
        return []
    state["session"] = _str(doc.get("sessionId"))
    session, project = _gemini_context(path, state)
    messages = doc.get("messages")
    found = []
    for message in messages if isinstance(messages, list) else []:
        request = _gemini_request(_dict(message), session, project)
        if request is not None:
            found.append(request)
    return found


# --- Qwen Code --------------------------------------------------------------------------------


def parse_qwen(data: bytes, state: dict[str, Any], path: str) -> list[Request]:
    """Requests on the complete lines ``data`` of one Qwen Code chat file."""
    found = []
    for raw in data.split(b"\n"):
        if _QWEN_MARK not in raw:
            continue
        entry = _loads_dict(raw)
        if entry is None or entry.get("subtype") != "ui_telemetry":
            continue
        event = _dict(_dict(entry.get("systemPayload")).get("uiEvent"))
        if event.get("event.name") != "qwen-code.api_response":
            continue
        ts = to_ms(entry.get("timestamp")) or to_ms(event.get("event.timestamp"))
        session = _str(entry.get("sessionId")) or os.path.basename(path).removesuffix(".jsonl")
        response = _str(event.get("response_id")) or _str(entry.get("uuid"))
        if ts is None or response is None:
            continue
        usage = qwen_response_usage(event)
        usage.requests = 1
        found.append(
            Request(
                key=f"q:{session}:{response}",
                agent="qwen",
                model=_str(event.get("model")) or _str(entry.get("model")) or "unknown",
                ts=ts,
                session=session,
                project=_str(entry.get("cwd")),
                branch=_str(entry.get("gitBranch")),
                usage=usage,
            )
        )
    return found


Parser = Callable[[bytes, dict[str, Any], str], list[Request]]
PARSERS: dict[str, Parser] = {
    "claude": parse_claude,
    "codex": parse_codex,
    "gemini": parse_gemini,
    "gemini-json": parse_gemini_json,
    "qwen": parse_qwen,
}

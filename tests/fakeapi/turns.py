"""Scripted turns: the small, API-neutral vocabulary a test uses to say what the fake answers.

A turn is a plain dict (so it can also be POSTed as JSON to ``/__script``). Keys:

- ``text``: ``str`` or ``list[str]`` (a list is streamed as several deltas/chunks).
- ``tool_use``: ``{"name": ..., "input": ...}`` or a list of them. ``input`` is a dict for a
  function tool; a ``str`` input means an OpenAI *custom* (freeform) tool call such as
  Codex's ``apply_patch``. Optional ``"id"``.
- ``usage``: API-native usage numbers, sent exactly as given (merged over defaults):
  Anthropic ``input_tokens, output_tokens, cache_creation_input_tokens,
  cache_read_input_tokens, cache_creation{ephemeral_5m_input_tokens,ephemeral_1h_input_tokens}``;
  Gemini ``promptTokenCount, candidatesTokenCount, cachedContentTokenCount,
  thoughtsTokenCount, totalTokenCount``; OpenAI ``input_tokens,
  input_tokens_details{cached_tokens}, output_tokens, output_tokens_details{reasoning_tokens},
  total_tokens``.
- ``model``: model name to report (default: the model the request asked for).
- ``stop_reason``: override the Anthropic stop reason.
- ``error``: ``{"status": 529, "type"?: ..., "message"?: ..., "in_stream"?: bool,
  "usage"?: {...}}``. ``in_stream`` (streaming requests only): HTTP 200, a partial stream,
  then the API's in-stream error (Anthropic ``event: error`` after ``message_start`` carrying
  ``usage``; Gemini an ``{"error"}`` chunk, or with ``"drop": true`` nothing more: the
  connection closes mid-stream; OpenAI ``response.failed``). Anthropic only: ``retry_after_ms``
  sends a ``retry-after-ms`` header (OpenCode waits that long before its own retry).
- ``hang``: ``True`` - accept the request and never answer (until the server stops).
- ``delay``: seconds to sleep before answering.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

Turn = dict[str, Any]

DEFAULT_TEXT = "OK (fake default reply)."

_KNOWN_KEYS = {"text", "tool_use", "usage", "model", "stop_reason", "error", "hang", "delay"}


def new_id(prefix: str) -> str:
    """Return a fresh random id such as ``msg_0123abcd...``."""
    return f"{prefix}{uuid.uuid4().hex[:24]}"


@dataclass(frozen=True)
class ToolUse:
    """One tool call the fake model makes."""

    name: str
    input: Any
    id: str

    @property
    def is_custom(self) -> bool:
        """True for a freeform (string-input) tool call."""
        return isinstance(self.input, str)


def validate(turn: Turn) -> Turn:
    """Check a turn's keys and shapes; return a deep copy. Raises ``ValueError``."""
    if not isinstance(turn, dict):
        raise ValueError(f"a turn must be a dict, got {type(turn).__name__}")
    unknown = set(turn) - _KNOWN_KEYS
    if unknown:
        raise ValueError(f"unknown turn keys {sorted(unknown)}; known: {sorted(_KNOWN_KEYS)}")
    if "error" in turn and not isinstance(turn["error"].get("status", 500), int):
        raise ValueError("error.status must be an int")
    for tool in _raw_tools(turn):
        if not isinstance(tool, dict) or "name" not in tool or "input" not in tool:
            raise ValueError(f"tool_use needs name and input: {tool!r}")
    return copy.deepcopy(turn)


def _raw_tools(turn: Turn) -> list[Any]:
    raw = turn.get("tool_use")
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list) else [raw]


def text_parts(turn: Turn) -> list[str]:
    """The text pieces of a turn (empty if it has none; default text if it has nothing)."""
    text = turn.get("text")
    if text is None:
        return [] if _raw_tools(turn) else [DEFAULT_TEXT]
    return [text] if isinstance(text, str) else [str(t) for t in text]


def tool_uses(turn: Turn, id_prefix: str) -> list[ToolUse]:
    """The tool calls of a turn, each with a stable id (given or generated once)."""
    out = []
    for tool in _raw_tools(turn):
        tool.setdefault("id", new_id(id_prefix))
        out.append(ToolUse(name=str(tool["name"]), input=tool["input"], id=str(tool["id"])))
    return out


def merged_usage(defaults: dict[str, Any], turn: Turn) -> dict[str, Any]:
    """Turn usage merged over ``defaults`` (one level of nested dicts merged too)."""
    usage = copy.deepcopy(defaults)
    for key, value in (turn.get("usage") or {}).items():
        if isinstance(value, dict) and isinstance(usage.get(key), dict):
            usage[key] = {**usage[key], **value}
        else:
            usage[key] = value
    return usage

"""Fake Gemini API (``/v1beta/models/<model>:<method>``), as Gemini CLI sees it.

Methods: ``streamGenerateContent`` (SSE, ``data: <GenerateContentResponse>\\r\\n\\r\\n``
chunks; the last chunk carries ``finishReason`` and ``usageMetadata``), ``generateContent``
(the same object as plain JSON) and ``countTokens``. ``is_main(body)``: the body carries a
non-empty ``tools`` list. Side calls (the model router, loop/next-speaker checks) that ask for
JSON with a schema get ``side_reply``: an object filled from that schema. Errors use the real
``{"error":{"code","message","status"}}`` shape.
"""

from __future__ import annotations

from typing import Any

from .turns import DEFAULT_TEXT, Turn, merged_usage, new_id, text_parts, tool_uses
from .wire import Reply, data_event, dumps

STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULT_USAGE: dict[str, Any] = {"promptTokenCount": 10, "candidatesTokenCount": 5}

# Values some CLI side-calls need to keep going quietly.
_SCHEMA_HINTS: dict[str, Any] = {"next_speaker": "user", "complexity_score": 1}


def is_main(body: Any) -> bool:
    """True for agent-loop requests (they offer tools)."""
    return isinstance(body, dict) and bool(body.get("tools"))


def usage_for(turn: Turn) -> dict[str, Any]:
    """``usageMetadata``; ``totalTokenCount`` defaults to prompt + candidates + thoughts."""
    usage = merged_usage(DEFAULT_USAGE, turn)
    usage.setdefault("totalTokenCount", usage["promptTokenCount"]
                     + usage["candidatesTokenCount"] + usage.get("thoughtsTokenCount", 0))
    return usage


def error_body(status: int, turn_error: dict[str, Any]) -> dict[str, Any]:
    """``{"error":{"code","message","status"}}``."""
    return {"error": {"code": status,
                      "message": turn_error.get("message", f"fake error {status}"),
                      "status": turn_error.get("type", STATUS_NAMES.get(status, "UNKNOWN"))}}


def error_reply(turn_error: dict[str, Any], stream: bool, model: str) -> Reply:
    """HTTP error reply, or (``in_stream`` and streaming) a 200 stream: a text chunk
    ``"partial "`` then an ``{"error": ...}`` object (the stream has no finishReason); with
    ``drop`` the connection closes right after the text chunk (a dropped stream)."""
    status = int(turn_error.get("status", 500))
    if turn_error.get("in_stream") and stream:
        first = _chunk([{"text": "partial "}], model, None, None)
        if turn_error.get("drop"):
            return Reply.sse([data_event(first)])
        return Reply.sse([data_event(first), data_event(error_body(status, turn_error))])
    return Reply.json(error_body(status, turn_error), status=status)


def _chunk(parts: list[dict[str, Any]], model: str, finish: str | None,
           usage: dict[str, Any] | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    chunk: dict[str, Any] = {"candidates": [candidate]}
    if usage is not None:
        chunk["usageMetadata"] = usage
    chunk["modelVersion"] = model
    chunk["responseId"] = new_id("")
    return chunk


def chunks_for(turn: Turn, model: str) -> list[dict[str, Any]]:
    """The response chunks of a turn; joined they form the whole answer."""
    model = str(turn.get("model") or model)
    parts: list[list[dict[str, Any]]] = [[{"text": t}] for t in text_parts(turn)]
    calls = [{"functionCall": {"name": t.name, "args": t.input}}
             for t in tool_uses(turn, "call_")]
    if calls:
        parts.append(calls)
    out = [_chunk(p, model, None, None) for p in parts[:-1]]
    out.append(_chunk(parts[-1], model, "STOP", usage_for(turn)))
    return out


def render(turn: Turn, model: str, stream: bool) -> Reply:
    """The reply for a successful turn (SSE when ``stream``, else one merged JSON object)."""
    chunks = chunks_for(turn, model)
    if stream:
        return Reply.sse([data_event(c) for c in chunks])
    merged = chunks[-1]
    merged["candidates"][0]["content"]["parts"] = [
        p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    return Reply.json(merged)


def count_tokens(body: Any) -> Reply:
    """``countTokens``: a rough 4-chars-per-token estimate of the request contents."""
    return Reply.json({"totalTokens": max(1, len(dumps(body or {}).encode()) // 4)})


def side_reply(body: Any, model: str) -> Reply:
    """Default answer for non-main requests: schema-shaped JSON when asked, else text."""
    config = (body or {}).get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    text = dumps(_fill(schema, "")) if schema else DEFAULT_TEXT
    return render({"text": text}, model, stream=False)


def _fill(schema: dict[str, Any], key: str) -> Any:
    if key in _SCHEMA_HINTS:
        return _SCHEMA_HINTS[key]
    kind = str(schema.get("type", "object")).lower()
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: _fill(sub, name) for name, sub in props.items()}
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "number":
        return 0.0
    if kind == "boolean":
        return False
    return "fake"

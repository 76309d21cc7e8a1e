"""Fake Anthropic Messages API (``POST /v1/messages``), as Claude Code sees it.

``is_main(body)``: a request whose body carries a non-empty ``tools`` list is an agent-loop
request and consumes a scripted turn. ``render(turn, body)`` returns the streamed SSE reply
(``message_start`` with full usage incl. the ``cache_creation`` 5m/1h split, ``ping``, one
``content_block_start/delta/stop`` triple per text or ``tool_use`` block, ``message_delta``
with the final ``output_tokens`` and ``stop_reason``, ``message_stop``) or a non-streamed
JSON message when the request did not ask for ``stream``. Every reply carries a
``request-id`` header. ``error_reply`` gives the real error body shape (plus a
``retry-after-ms`` header when the turn's error has ``retry_after_ms``); ``in_stream`` errors
send ``message_start`` then ``event: error``.
"""

from __future__ import annotations

from typing import Any

from .turns import Turn, merged_usage, new_id, text_parts, tool_uses
from .wire import Reply, dumps, named_event

ERROR_TYPES = {
    400: ("invalid_request_error", "Bad request"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Permission denied"),
    404: ("not_found_error", "Not found"),
    413: ("request_too_large", "Request too large"),
    429: ("rate_limit_error", "Number of request tokens has exceeded your rate limit"),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}

DEFAULT_USAGE: dict[str, Any] = {
    "input_tokens": 10,
    "output_tokens": 5,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}


def is_main(body: Any) -> bool:
    """True for agent-loop requests (they offer tools)."""
    return isinstance(body, dict) and bool(body.get("tools"))


def usage_for(turn: Turn) -> dict[str, Any]:
    """Full usage object for ``turn``; the 5m/1h split defaults to all-5m."""
    usage = merged_usage(DEFAULT_USAGE, turn)
    split = {"ephemeral_5m_input_tokens": usage["cache_creation_input_tokens"],
             "ephemeral_1h_input_tokens": 0}
    usage["cache_creation"] = {**split, **usage.get("cache_creation", {})}
    usage.setdefault("service_tier", "standard")
    return usage


def _blocks(turn: Turn) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    texts = text_parts(turn)
    if texts:
        blocks.append({"type": "text", "text": "".join(texts), "_parts": texts})
    for tool in tool_uses(turn, "toolu_"):
        blocks.append({"type": "tool_use", "id": tool.id, "name": tool.name, "input": tool.input})
    return blocks


def _stop_reason(turn: Turn, blocks: list[dict[str, Any]]) -> str:
    default = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    return str(turn.get("stop_reason", default))


def error_body(status: int, turn_error: dict[str, Any]) -> dict[str, Any]:
    """``{"type":"error","error":{"type":..,"message":..}}`` for an HTTP status."""
    etype, message = ERROR_TYPES.get(status, ("api_error", f"HTTP {status}"))
    return {"type": "error", "error": {"type": turn_error.get("type", etype),
                                       "message": turn_error.get("message", message)}}


def error_reply(turn_error: dict[str, Any], body: Any) -> Reply:
    """HTTP error reply; with ``in_stream`` and a streaming request: HTTP 200,
    ``message_start`` (usage from ``turn_error["usage"]``), then ``event: error``."""
    status = int(turn_error.get("status", 500))
    request_id = new_id("req_")
    payload = {**error_body(status, turn_error), "request_id": request_id}
    if turn_error.get("in_stream") and isinstance(body, dict) and body.get("stream"):
        usage = usage_for({"usage": turn_error.get("usage") or {}})
        start = _message_start(new_id("msg_"), str(body.get("model")), usage)
        return Reply.sse([named_event(start), named_event(error_body(status, turn_error))],
                         headers={"request-id": request_id})
    headers = {"request-id": request_id, "x-should-retry": "false"}
    if "retry_after_ms" in turn_error:  # OpenCode waits this long before its own retry
        headers["retry-after-ms"] = str(turn_error["retry_after_ms"])
    return Reply.json(payload, status=status, headers=headers)


def _message_start(msg_id: str, model: str, usage: dict[str, Any]) -> dict[str, Any]:
    start_usage = {**usage, "output_tokens": 1}
    return {"type": "message_start", "message": {
        "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": start_usage}}


def render(turn: Turn, body: Any) -> Reply:
    """The reply for a successful (non-error, non-hang) turn."""
    model = str(turn.get("model") or (body or {}).get("model") or "claude-fake")
    usage = usage_for(turn)
    blocks = _blocks(turn)
    stop_reason = _stop_reason(turn, blocks)
    msg_id = new_id("msg_")
    headers = {"request-id": new_id("req_")}
    public = [{k: v for k, v in b.items() if k != "_parts"} for b in blocks]
    if not (isinstance(body, dict) and body.get("stream")):
        message = {"id": msg_id, "type": "message", "role": "assistant", "model": model,
                   "content": public, "stop_reason": stop_reason, "stop_sequence": None,
                   "usage": usage}
        return Reply.json(message, headers=headers)
    events = [_message_start(msg_id, model, usage), {"type": "ping"}]
    for index, block in enumerate(blocks):
        events.extend(_block_events(index, block))
    events.append({"type": "message_delta",
                   "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                   "usage": {"output_tokens": usage["output_tokens"]}})
    events.append({"type": "message_stop"})
    return Reply.sse([named_event(e) for e in events], headers=headers)


def _block_events(index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
    if block["type"] == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": part} for part in block["_parts"]]
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": dumps(block["input"])}]
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]

"""Fake OpenAI Chat Completions API (``POST .../chat/completions``), as Qwen Code sees it.

``is_main(body)``: the body carries a non-empty ``tools`` list. ``render`` answers a
streaming request (``"stream": true``) with ``chat.completion.chunk`` events framed as
``data: <json>\\n\\n``: a role chunk, one chunk per text piece, per tool call a chunk opening
it (``id``, ``function.name``, empty ``arguments``) and one carrying its JSON arguments, a
chunk with ``finish_reason`` (``stop`` or ``tool_calls``), then - only when the request asked
``stream_options.include_usage`` - a chunk with empty ``choices`` and ``usage``, and finally
``data: [DONE]``. A non-streaming request gets one ``chat.completion`` object. ``usage`` is
``{prompt_tokens, completion_tokens, total_tokens, prompt_tokens_details{cached_tokens},
completion_tokens_details{reasoning_tokens}}``, sent exactly as the turn gives it (merged over
the defaults). Errors: HTTP status with ``{"error":{"message","type","param","code"}}``, or
(``in_stream``) a partial text chunk then a ``data: {"error":...}`` event; with ``drop`` the
connection closes after the partial chunk.
"""

from __future__ import annotations

import time
from typing import Any

from .turns import Turn, merged_usage, new_id, text_parts, tool_uses
from .wire import Reply, dumps

ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("rate_limit_exceeded", "rate_limit_exceeded"),
    500: ("server_error", "server_error"),
    503: ("server_error", "server_is_overloaded"),
}

DEFAULT_USAGE: dict[str, Any] = {
    "prompt_tokens": 10,
    "completion_tokens": 5,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0},
}


def is_main(body: Any) -> bool:
    """True for agent-loop requests (they offer tools)."""
    return isinstance(body, dict) and bool(body.get("tools"))


def usage_for(turn: Turn) -> dict[str, Any]:
    """The ``usage`` object; ``total_tokens`` defaults to prompt + completion."""
    usage = merged_usage(DEFAULT_USAGE, turn)
    usage.setdefault("total_tokens", usage["prompt_tokens"] + usage["completion_tokens"])
    return usage


def _event(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else dumps(data)
    return f"data: {text}\n\n".encode()


def _error_object(status: int, turn_error: dict[str, Any]) -> dict[str, Any]:
    etype, code = ERROR_TYPES.get(status, ("server_error", "server_error"))
    return {"message": turn_error.get("message", f"fake error {status}"),
            "type": turn_error.get("type", etype), "param": None, "code": code}


def error_reply(turn_error: dict[str, Any], body: Any) -> Reply:
    """HTTP error reply, or (``in_stream`` on a streaming request) a partial stream."""
    status = int(turn_error.get("status", 500))
    request_id = new_id("req_")
    if turn_error.get("in_stream") and isinstance(body, dict) and body.get("stream"):
        model = str((body or {}).get("model") or "fake-model")
        first = _chunk(new_id("chatcmpl-"), model, {"role": "assistant", "content": "partial "})
        events = [_event(first)]
        if not turn_error.get("drop"):
            events.append(_event({"error": _error_object(status, turn_error)}))
        return Reply.sse(events, headers={"x-request-id": request_id})
    return Reply.json({"error": _error_object(status, turn_error)}, status=status,
                      headers={"x-request-id": request_id})


def _chunk(chat_id: str, model: str, delta: dict[str, Any],
           finish: str | None = None) -> dict[str, Any]:
    return {"id": chat_id, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None,
                         "finish_reason": finish}]}


def _message(turn: Turn) -> tuple[list[str], list[dict[str, Any]]]:
    calls = [{"id": t.id, "type": "function",
              "function": {"name": t.name, "arguments": dumps(t.input)}}
             for t in tool_uses(turn, "call_")]
    return text_parts(turn), calls


def render(turn: Turn, body: Any) -> Reply:
    """The reply for a successful turn (streamed when the request asks for it)."""
    body = body if isinstance(body, dict) else {}
    model = str(turn.get("model") or body.get("model") or "fake-model")
    chat_id = new_id("chatcmpl-")
    texts, calls = _message(turn)
    finish = "tool_calls" if calls else "stop"
    usage = usage_for(turn)
    headers = {"x-request-id": new_id("req_")}
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant",
                                   "content": "".join(texts) if texts else None}
        if calls:
            message["tool_calls"] = calls
        return Reply.json({"id": chat_id, "object": "chat.completion",
                           "created": int(time.time()), "model": model,
                           "choices": [{"index": 0, "message": message,
                                        "finish_reason": finish}],
                           "usage": usage}, headers=headers)
    events = [_event(_chunk(chat_id, model, {"role": "assistant", "content": ""}))]
    events += [_event(_chunk(chat_id, model, {"content": t})) for t in texts]
    for index, call in enumerate(calls):
        opening = {"index": index, "id": call["id"], "type": "function",
                   "function": {"name": call["function"]["name"], "arguments": ""}}
        events.append(_event(_chunk(chat_id, model, {"tool_calls": [opening]})))
        args = {"index": index, "function": {"arguments": call["function"]["arguments"]}}
        events.append(_event(_chunk(chat_id, model, {"tool_calls": [args]})))
    events.append(_event(_chunk(chat_id, model, {}, finish)))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append(_event({"id": chat_id, "object": "chat.completion.chunk",
                              "created": int(time.time()), "model": model, "choices": [],
                              "usage": usage}))
    events.append(_event("[DONE]"))
    return Reply.sse(events, headers=headers)

"""Fake OpenAI Responses API (``POST /v1/responses``, streamed), as Codex CLI sees it.

``is_main(body)``: the body carries a non-empty ``tools`` list. ``render`` streams
``response.created``, ``response.in_progress``, then per output item
``response.output_item.added`` + its delta/done events + ``response.output_item.done``, then
``response.completed`` whose ``usage`` is ``{input_tokens, input_tokens_details.cached_tokens,
output_tokens, output_tokens_details.reasoning_tokens, total_tokens}``. Items: an assistant
``message``, a ``function_call`` (dict input, e.g. ``exec_command {"cmd": ...}``) or a
``custom_tool_call`` (str input, e.g. ``apply_patch``). Errors: HTTP status with
``{"error":{"message","type","param","code"}}`` + ``x-request-id``, or ``response.failed``
in-stream.
"""

from __future__ import annotations

import time
from typing import Any

from .turns import Turn, merged_usage, new_id, text_parts, tool_uses
from .wire import Reply, dumps, named_event

ERROR_CODES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    429: ("rate_limit_exceeded", "rate_limit_exceeded"),
    500: ("server_error", "server_error"),
    503: ("server_error", "server_is_overloaded"),
}

DEFAULT_USAGE: dict[str, Any] = {
    "input_tokens": 10,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 5,
    "output_tokens_details": {"reasoning_tokens": 0},
}


def is_main(body: Any) -> bool:
    """True for agent-loop requests (they offer tools)."""
    return isinstance(body, dict) and bool(body.get("tools"))


def usage_for(turn: Turn) -> dict[str, Any]:
    """The ``usage`` object; ``total_tokens`` defaults to input + output."""
    usage = merged_usage(DEFAULT_USAGE, turn)
    usage.setdefault("total_tokens", usage["input_tokens"] + usage["output_tokens"])
    return usage


def error_reply(turn_error: dict[str, Any]) -> Reply:
    """HTTP error reply, or (``in_stream``) ``response.created`` then ``response.failed``."""
    status = int(turn_error.get("status", 500))
    etype, code = ERROR_CODES.get(status, ("server_error", "server_error"))
    message = turn_error.get("message", f"fake error {status}")
    request_id = new_id("req_")
    if turn_error.get("in_stream"):
        resp = _response("unknown", "failed", [])
        resp["error"] = {"code": turn_error.get("type", code), "message": message}
        events = [{"type": "response.created", "response": _response("unknown", "in_progress", [])},
                  {"type": "response.failed", "response": resp}]
        return Reply.sse(_numbered(events), headers={"x-request-id": request_id})
    body = {"error": {"message": message, "type": turn_error.get("type", etype),
                      "param": None, "code": code}}
    return Reply.json(body, status=status, headers={"x-request-id": request_id})


def _response(model: str, status: str, output: list[dict[str, Any]],
              resp_id: str | None = None) -> dict[str, Any]:
    return {"id": resp_id or new_id("resp_"), "object": "response",
            "created_at": int(time.time()), "status": status, "model": model,
            "output": output}


def _items(turn: Turn) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    texts = text_parts(turn)
    if texts:
        items.append({"type": "message", "id": new_id("msg_"), "role": "assistant",
                      "status": "completed", "_parts": texts,
                      "content": [{"type": "output_text", "text": "".join(texts),
                                   "annotations": []}]})
    for tool in tool_uses(turn, "call_"):
        if tool.is_custom:
            items.append({"type": "custom_tool_call", "id": new_id("ctc_"), "call_id": tool.id,
                          "name": tool.name, "input": tool.input, "status": "completed"})
        else:
            items.append({"type": "function_call", "id": new_id("fc_"), "call_id": tool.id,
                          "name": tool.name, "arguments": dumps(tool.input),
                          "status": "completed"})
    return items


def _item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    parts = item.pop("_parts", None)
    added = {**item, "status": "in_progress"}
    events: list[dict[str, Any]] = []
    if item["type"] == "message":
        added["content"] = []
        text = item["content"][0]["text"]
        part0 = {"type": "output_text", "text": "", "annotations": []}
        where = {"item_id": item["id"], "output_index": index, "content_index": 0}
        events.append({"type": "response.content_part.added", **where, "part": part0})
        events.extend({"type": "response.output_text.delta", **where, "delta": p}
                      for p in parts or [])
        events.append({"type": "response.output_text.done", **where, "text": text})
        events.append({"type": "response.content_part.done", **where,
                       "part": item["content"][0]})
    elif item["type"] == "function_call":
        added["arguments"] = ""
        where = {"item_id": item["id"], "output_index": index}
        events.append({"type": "response.function_call_arguments.delta", **where,
                       "delta": item["arguments"]})
        events.append({"type": "response.function_call_arguments.done", **where,
                       "arguments": item["arguments"]})
    else:
        added["input"] = ""
        where = {"item_id": item["id"], "output_index": index}
        events.append({"type": "response.custom_tool_call_input.delta", **where,
                       "delta": item["input"]})
        events.append({"type": "response.custom_tool_call_input.done", **where,
                       "input": item["input"]})
    return [{"type": "response.output_item.added", "output_index": index, "item": added},
            *events,
            {"type": "response.output_item.done", "output_index": index, "item": item}]


def _numbered(events: list[dict[str, Any]]) -> list[bytes]:
    return [named_event({**e, "sequence_number": n}) for n, e in enumerate(events)]


def render(turn: Turn, body: Any) -> Reply:
    """The streamed reply for a successful turn."""
    model = str(turn.get("model") or (body or {}).get("model") or "gpt-fake")
    resp_id = new_id("resp_")
    items = _items(turn)
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response(model, "in_progress", [], resp_id)},
        {"type": "response.in_progress",
         "response": _response(model, "in_progress", [], resp_id)},
    ]
    for index, item in enumerate(items):
        events.extend(_item_events(index, item))
    done = _response(model, "completed", items, resp_id)
    done["usage"] = usage_for(turn)
    events.append({"type": "response.completed", "response": done})
    return Reply.sse(_numbered(events), headers={"x-request-id": new_id("req_")})

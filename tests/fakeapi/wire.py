"""Wire-level building blocks shared by the fake APIs: the ``Reply`` value and SSE encoders.

A ``Reply`` is what a provider module returns for one request; the HTTP handler in
``server.py`` writes it. ``events`` (if not None) are written one by one and flushed, as a
streamed ``text/event-stream`` body; otherwise ``body`` is written with a Content-Length.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    """One HTTP answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    events: list[bytes] | None = None

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        """A JSON reply."""
        hdrs = {"content-type": "application/json", **(headers or {})}
        return cls(status=status, headers=hdrs, body=dumps(obj).encode())

    @classmethod
    def sse(cls, events: list[bytes], headers: dict[str, str] | None = None) -> Reply:
        """A streamed server-sent-events reply."""
        hdrs = {"content-type": "text/event-stream", "cache-control": "no-cache", **(headers or {})}
        return cls(status=200, headers=hdrs, events=events)


def dumps(obj: Any) -> str:
    """Compact JSON, as real APIs send it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def named_event(data: dict[str, Any]) -> bytes:
    """``event: <data.type>`` + ``data:`` line (Anthropic and OpenAI Responses style)."""
    return f"event: {data['type']}\ndata: {dumps(data)}\n\n".encode()


def data_event(data: dict[str, Any]) -> bytes:
    """A bare ``data:`` event with CRLF framing (Gemini style)."""
    return f"data: {dumps(data)}\r\n\r\n".encode()

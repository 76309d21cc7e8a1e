"""Fake model APIs (Anthropic Messages, Gemini, OpenAI Responses) for driving the REAL agent
CLIs offline on 127.0.0.1, plus helpers to run those CLIs (``clis``, ``procs``).

Stdlib only. Typical use::

    with FakeAPIServer() as api:
        api.script([{"text": "hi", "usage": {"input_tokens": 7, "output_tokens": 3}}])
        ...  # run a CLI pointed at api.url; inspect api.requests / api.main_requests()
"""

from __future__ import annotations

from .server import FakeAPIServer, RecordedRequest
from .turns import DEFAULT_TEXT, Turn

__all__ = ["DEFAULT_TEXT", "FakeAPIServer", "RecordedRequest", "Turn"]

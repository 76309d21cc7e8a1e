"""Why a call or a command failed, in a few words a person reads at a glance.

``failure_cause(outcome, error)`` turns a stored outcome (``timeout``, ``interrupted``,
``error:api_error``, a history status such as ``failed``) and its error text into the cause:
``529 overloaded``, ``timeout after 600 s``, ``interrupted``, ``rate limited``, or the error
text itself without the boilerplate that only repeats what the row already says (``claude
failed in session implement-f (api_error): …``). The whole error text stays in ``--json``;
this is its reading, never a replacement.
"""

from __future__ import annotations

import json
import re

_BOILERPLATE = re.compile(
    r"^\S+ (?:failed|timed out|stopped at the budget limit) in (?:session )?\S+"
    r"(?: \(([a-z_]+)\))?: "
)
_TIMEOUT = re.compile(r"(?:timed out|timeout) after ([0-9.]+) ?s\b")
_STATUS = re.compile(r"(?<![\d.])([45]\d\d)(?![\d.])")
_PLAIN_WORDS = re.compile(
    r"\b(overloaded|rate.?limit\w*|unauthori[sz]ed|forbidden|internal server error"
    r"|service unavailable|bad gateway)",
    re.I,
)
_WORDS = {
    "api_error": "API error",
    "auth": "not authenticated",
    "rate_limit": "rate limited",
    "max_turns": "turn limit reached",
    "budget": "budget limit reached",
    "session_lost": "conversation lost",
    "crash": "agent crashed",
    "timeout": "timeout",
    "interrupted": "interrupted",
}


def _api_word(text: str) -> str | None:
    """``overloaded`` from an API error body (``{"error": {"type": "overloaded_error",
    "message": "Overloaded"}}``), if the text carries one."""
    start = text.find("{")
    if start >= 0:
        try:
            body = json.loads(text[start:])
        except ValueError:
            body = None
        inner = body.get("error") if isinstance(body, dict) else None
        if isinstance(inner, dict):
            message = inner.get("message") or inner.get("type")
            if isinstance(message, str) and message.strip():
                return " ".join(message.split()).lower().removesuffix("_error")
    match = _PLAIN_WORDS.search(text)
    return match.group(1).lower() if match else None


def failure_cause(outcome: str | None, error: str | None) -> str:
    """The cause of a failure in words (see the module docstring); ``""`` for a success."""
    kind = (outcome or "").removeprefix("error:")
    if kind in ("", "success"):
        return ""
    text = " ".join((error or "").split())
    said = _BOILERPLATE.match(text)
    if said:
        kind = said.group(1) or kind  # the outcome the message names is the precise one
        text = text[said.end() :]
    if kind == "interrupted" or text.startswith("interrupted"):
        return "interrupted"
    timed = _TIMEOUT.search(text)
    if kind == "timeout" or timed:
        return f"timeout after {timed.group(1)} s" if timed else "timeout"
    status = _STATUS.search(text) if kind in ("api_error", "rate_limit", "auth") else None
    if status:
        word = _api_word(text) or _WORDS.get(kind, "")
        return f"{status.group(1)} {word}".strip()
    return text or _WORDS.get(kind, "")

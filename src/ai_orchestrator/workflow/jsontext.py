"""Find the JSON document in an agent's answer.

Agents wrap JSON in prose, in ```json fences, or both. ``extract_json`` tries, in order:
the whole text; every fenced block (``json`` or untagged), last first; then every balanced
``{…}``/``[…]`` span found by a string-aware bracket scan, longest first. The first candidate
that parses (and satisfies ``want``, when given) wins. It raises ``ValueError`` with a short
reason when nothing parses, so callers can put that reason into a corrective follow-up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\r?\n(.*?)```", re.DOTALL)


def _balanced_spans(text: str) -> list[str]:
    """Top-level balanced ``{…}``/``[…]`` spans (string-aware), longest first."""
    spans: list[str] = []
    openers = {"{": "}", "[": "]"}
    start = 0
    while start < len(text) and len(spans) < 50:
        if text[start] not in openers:
            start += 1
            continue
        stack = [openers[text[start]]]
        in_string = escaped = False
        end = None
        for pos in range(start + 1, len(text)):
            c = text[pos]
            if in_string:
                if escaped:
                    escaped = False
                elif c == "\\":
                    escaped = True
                elif c == '"':
                    in_string = False
            elif c == '"':
                in_string = True
            elif c in openers:
                stack.append(openers[c])
            elif c in "}]":
                if c != stack[-1]:
                    break
                stack.pop()
                if not stack:
                    end = pos
                    break
        if end is None:
            start += 1
        else:
            spans.append(text[start : end + 1])
            start = end + 1
    return sorted(spans, key=len, reverse=True)


def extract_json(text: str, want: Callable[[Any], bool] | None = None) -> Any:
    """The JSON value in ``text`` (see the module docstring); ``ValueError`` if none."""
    if not text or not text.strip():
        raise ValueError("the answer was empty")
    candidates = [text.strip()]
    fences = [m.group(2) for m in _FENCE.finditer(text) if m.group(1).lower() in ("", "json")]
    candidates += list(reversed(fences))
    candidates += _balanced_spans(text)
    seen: set[str] = set()
    parsed_any = False
    for candidate in candidates:
        candidate = candidate.strip()
        if not candidate or candidate in seen:
            continue
        seen.add(candidate)
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        parsed_any = True
        if want is None or want(value):
            return value
    if parsed_any:
        raise ValueError("the JSON in the answer does not have the requested shape")
    raise ValueError("no parseable JSON object was found in the answer")

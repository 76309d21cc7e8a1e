"""Redaction of secrets from text before it is stored.

Applied to every interaction line before it reaches disk (prompt, previews, raw
events alike), so a key pasted into a prompt never lands in the store. Patterns cover
Anthropic, OpenAI, Google and GitHub keys/tokens, AWS access key ids and secret
assignments, ``Authorization:`` headers and ``*_API_KEY=`` / ``*_TOKEN=`` /
``*_SECRET=`` / ``*_PASSWORD=`` assignments.

The replacement keeps a short, non-secret hint of what was removed
(``[REDACTED:anthropic-key]``). Patterns never match ``"`` or ``\\``, so redacting a
serialised JSON line keeps it valid JSON.
"""

from __future__ import annotations

import re

_TOKEN = r"[A-Za-z0-9_\-]"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("anthropic-key", re.compile(rf"sk-ant-{_TOKEN}{{16,}}")),
    ("openai-key", re.compile(rf"sk-(?:proj-|svcacct-|admin-)?{_TOKEN}{{20,}}")),
    ("google-key", re.compile(r"AIza[0-9A-Za-z_\-]{35}")),
    ("github-token", re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}")),
    ("github-token", re.compile(r"github_pat_[A-Za-z0-9_]{22,}")),
    ("aws-key-id", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    (
        "aws-secret",
        re.compile(
            r"(?i)(aws_secret_access_key|aws_session_token)(\s*[=:]\s*)['\"]?[A-Za-z0-9/+=]{16,}"
        ),
    ),
    (
        "authorization",
        re.compile(
            r"(?i)\b((?:proxy-)?authorization)(\s*:\s*)(?:(?:bearer|basic|token)\s+)?[^\s\"\\]+"
        ),
    ),
    (
        "secret-assignment",
        re.compile(
            r"\b([A-Za-z0-9_]*(?:API_KEY|APIKEY|_TOKEN|_SECRET|_PASSWORD|SECRET_KEY))"
            r"(\s*=\s*)(?!\[REDACTED)['\"]?[^\s\"'\\]+"
        ),
    ),
]


def redact(text: str) -> str:
    """``text`` with every recognised secret replaced by ``[REDACTED:<kind>]``."""
    if not text:
        return text
    for kind, pattern in _PATTERNS:
        if pattern.groups >= 2:
            # keep the name and separator (``OPENAI_API_KEY=``), replace only the value
            text = pattern.sub(rf"\g<1>\g<2>[REDACTED:{kind}]", text)
        else:
            text = pattern.sub(f"[REDACTED:{kind}]", text)
    return text

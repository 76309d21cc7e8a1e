"""Redaction of secrets before anything is stored.

``redact_value`` walks a record (dicts, lists, strings) and redacts every string value
*before* it is serialised, so the patterns see the text as written — a key after a real
newline, inside quotes, in YAML or in a JSON snippet pasted into a prompt — rather than
its JSON-escaped form. A string stored under a secret-looking key
(``{"Authorization": "Bearer …"}``, ``{"OPENAI_API_KEY": "…"}``) is replaced whole.

``redact`` works on one piece of text. Covered: Anthropic, OpenAI, Google (API keys and
OAuth tokens), GitHub tokens, AWS access key ids and secret keys, JWTs, PEM private keys,
``Authorization:``/``x-api-key:`` headers, and assignments to names such as
``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*_PASSWORD`` (any case, ``=`` or ``:``, value
quoted or not). Token patterns only start at a token boundary, so ``desk-ant-…`` is not
taken for a key.

The replacement keeps a short, non-secret hint of what was removed
(``[REDACTED:anthropic-key]``). Invariant: what is replaced never contains ``"`` or
``\\``, so ``redact`` applied to an already serialised JSON line keeps it valid JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_NAME_CHARS = _WORD | {"_", "-"}
# (kind, literal start, pattern): every pattern starts with its literal.
_TOKENS: list[tuple[str, str, str]] = [
    ("anthropic-key", "sk-ant-", r"sk-ant-[A-Za-z0-9_\-]{16,}"),
    ("openai-key", "sk-", r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    ("google-key", "AIza", r"AIza[0-9A-Za-z_\-]{35}"),
    ("google-oauth", "ya29.", r"ya29\.[0-9A-Za-z_\-]{20,}"),
    ("google-oauth", "1//0", r"1//0[0-9A-Za-z_\-]{30,}"),
    ("github-token", "gh", r"gh[pousr]_[A-Za-z0-9]{30,}"),
    ("github-token", "github_pat_", r"github_pat_[A-Za-z0-9_]{22,}"),
    ("jwt", "eyJ", r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ("aws-key-id", "", r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Za-z0-9])"),
]
# No groups and every alternative starts with a literal, so the engine skips quickly
# over text that cannot start a token; the boundary is checked in ``_token``.
_TOKEN_RE = re.compile("|".join(pattern for _, _, pattern in _TOKENS))
_PEM_RE = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)

# Names whose value is a secret, with the hint used for each group.
_NAMES: list[tuple[str, str]] = [
    ("authorization", r"(?:proxy-)?authorization"),
    ("api-key", r"x-api-key|x-goog-api-key|api-key|x-auth-token"),
    ("aws-secret", r"aws_secret_access_key|aws_session_token"),
    (
        "secret-assignment",
        r"[a-z0-9_]*(?:api_?key|_token|_secret|_password|_passwd|secret_?key|access_?key|_pat)"
        r"|(?:access|refresh|auth|id|bearer|session|api)_?token|client_?secret|private_?key"
        r"|password|passwd",
    ),
]
_KEY_RE = re.compile(
    "|".join(f"(?P<n{i}>{pattern})" for i, (_, pattern) in enumerate(_NAMES)), re.IGNORECASE
)
# An assignment is found by the *end* of its name (every secret name ends with one of
# these words), then the whole name is read backwards and checked in ``_assignment``.
_ASSIGNMENT_RE = re.compile(
    # (no group before the separator: a leading literal alternation scans fast)
    r"(?:key|token|secret|passw(?:or)?d|_pat|authorization)"
    r"(?P<sep>(?:\\?[\"'])?[ \t]*[:=][ \t]*(?P<q>\\?[\"'])?"
    r"(?:(?:bearer|basic|token|digest|negotiate)[ \t]+)?)"
    # never a placeholder such as $OPENAI_API_KEY, nor what was already redacted
    r"(?!\[REDACTED|\$)"
    r"(?(q)[^\"'\\\n]+|[^\s\"'\\,;}\]]+)",
    re.IGNORECASE,
)
_MIN_SECRET_TEXT = 8  # nothing shorter can hold a recognisable secret
_KEYWORDS = ("key", "token", "secret", "passw", "_pat", "authorization")


def _kind_of(match: re.Match[str], prefix: str, kinds: list[tuple[str, str]]) -> str:
    for i, (kind, _) in enumerate(kinds):
        if match.group(f"{prefix}{i}") is not None:
            return kind
    return "secret"


def _at_boundary(text: str, start: int) -> bool:
    """True if a token may start at ``start``: not inside a word (``desk-ant-…``), but
    right after a JSON escape such as ``\\n`` (text that is itself serialised JSON)."""
    if start == 0 or text[start - 1] not in _WORD:
        return True
    return start >= 2 and text[start - 2] == "\\" and text[start - 1] in "nrt"


def _token(match: re.Match[str]) -> str:
    found = match.group(0)
    if not _at_boundary(match.string, match.start()):
        return found
    kind = next(kind for kind, prefix, _ in _TOKENS if found.startswith(prefix))
    return f"[REDACTED:{kind}]"


def _assignment(match: re.Match[str]) -> str:
    text, end = match.string, match.start()
    start = end
    while start > 0 and text[start - 1] in _NAME_CHARS:
        start -= 1
    keyword = text[end : match.start("sep")]
    name = (text[start:end] + keyword).lstrip("-")  # ``--password=…`` counts
    if start >= 1 and text[start - 1] == "\\" and name[:1] in ("n", "r", "t"):
        name = name[1:]  # the ``n`` of an escaped newline is not part of the name
    named = _KEY_RE.fullmatch(name)
    if named is None:
        return match.group(0)
    keep = text[end : match.end("sep")]
    return f"{keep}[REDACTED:{_kind_of(named, 'n', _NAMES)}]"


def redact(text: str) -> str:
    """``text`` with every recognised secret replaced by ``[REDACTED:<kind>]``."""
    if len(text) < _MIN_SECRET_TEXT:
        return text
    if "PRIVATE KEY-----" in text:
        text = _PEM_RE.sub("[REDACTED:private-key]", text)
    text = _TOKEN_RE.sub(_token, text)
    if "=" in text or ":" in text:
        text = _assignments(text)
    return text


def _assignments(text: str) -> str:
    """Redact assignment values. The regex is tried only where a keyword occurs (found
    with ``str.find``, far faster than letting the regex engine scan every position)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few non-ASCII letters change length when lowered
        return _ASSIGNMENT_RE.sub(_assignment, text)
    hits = []
    for word in _KEYWORDS:
        at = lowered.find(word)
        while at >= 0:
            hits.append(at)
            at = lowered.find(word, at + 1)
    if not hits:
        return text
    pieces, done = [], 0
    for at in sorted(hits):
        if at < done:
            continue
        match = _ASSIGNMENT_RE.match(text, at)
        if match is None:
            continue
        pieces += [text[done:at], _assignment(match)]
        done = match.end()
    return "".join([*pieces, text[done:]]) if pieces else text


def secret_key_kind(key: str) -> str | None:
    """The hint for a mapping key whose (string) value is a secret, else ``None``."""
    match = _KEY_RE.fullmatch(key)
    return _kind_of(match, "n", _NAMES) if match else None


def redact_value(value: Any, key: str | None = None) -> Any:
    """A copy of ``value`` (JSON-like data) with secrets in every string redacted.

    ``key`` is the mapping key ``value`` is stored under: a non-empty string under a
    secret-looking key is replaced whole (placeholders such as ``$VAR`` are kept).
    """
    if isinstance(value, str):
        if key is not None and value and not value.startswith(("$", "[REDACTED")):
            kind = secret_key_kind(key)
            if kind is not None:
                return f"[REDACTED:{kind}]"
        return redact(value)
    if isinstance(value, Mapping):
        return {
            (redact(k) if isinstance(k, str) else k): redact_value(
                v, k if isinstance(k, str) else None
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value

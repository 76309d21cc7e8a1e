"""Secrets recognised by their shape alone, not being provider tokens: part of the rules
behind ``infra.redact`` (``infra.secret_rules`` puts the passes together; the contract
and the classes are in ``infra.redact``'s docstring).

``structural_spans(text)``: credentials in URLs (``scheme://user:password@host``; the
user too when it is a key id), ``Bearer <token>`` without a header name, ``.netrc``
entries on one line, and passwords given on command lines (``curl -u user:pw``,
``mysql -pPW``, ``sshpass -p PW``, ``docker login … -p PW``). ``token_like`` and
``NAME_CHARS`` are shared with the named-value pass.

Cost: every pattern starts with a literal, found with ``str.find``
(``secret_context.occurrences``) and only where the cheap ``in`` checks say it can
match; the word boundary before it is checked on each match.
"""

from __future__ import annotations

import re

from ai_orchestrator.infra.lazy_re import lazy_pattern
from ai_orchestrator.infra.secret_context import occurrences

NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
_TOKEN_LIKE_RE = lazy_pattern(r"[A-Za-z0-9_\-+/=.~%:]{8,}")
# (the password may hold ``@``: the host starts after the last one)
_URL_CREDENTIALS_RE = lazy_pattern(r"://([^\s/?#@:\"'<>\\]*):([^\s/?#\"'<>\\]+)@")
# Command lines. Each pattern starts with its command word (a literal, found with
# ``str.find``); the word boundary before it is checked in ``_command_spans``.
_CURL_USER_RE = lazy_pattern(
    r"curl\b[^\n]*?\s(?:-u|--user|-U|--proxy-user)(?:=|[ \t]+)?(['\"]?)[^\s:'\"\\]*:([^\s'\"\\]+)"
)
# A password given to ``-p``: quoted (each quote its own group) or bare. Every group of these
# patterns is the password: the one that matched is redacted.
_FLAG_VALUE = r"""(?:'([^'\n\\]{1,256})'|"([^"\n\\]{1,256})"|([^\s'"\\]+))"""
# ``Bearer <token>`` without a header name before it (a header is a named value).
# Literal-first (``\b`` or a class in front would make ``re`` try every position of the
# text): the ``B``/``b`` and the word boundary before it are checked on each match.
_BEARER_RE = lazy_pattern(r"earer[ \t]+([A-Za-z0-9\-._~+/]{20,}=*)")
# A .netrc entry: ``machine HOST login USER password SECRET``.
_NETRC_RE = lazy_pattern(r"machine[ \t]+\S+[ \t]+login[ \t]+\S+[ \t]+password[ \t]+([^\s\"\\]+)")
_PASSWORD_FLAG_RES = [
    (command, lazy_pattern(command + r"[a-z\-]*\b[^\n]*?\s-p" + _FLAG_VALUE))
    for command in ("mysql", "mariadb")
] + [
    ("sshpass", lazy_pattern(r"sshpass\b[^\n]*?\s-p[ \t]*" + _FLAG_VALUE)),
]
# ``docker login … -p PW`` (also podman, nerdctl, buildah): matched at each ``login`` (an
# alternation of the commands in front would make the engine try every position), the
# command before it checked in ``_login_spans``.
_LOGIN_RE = lazy_pattern(r"login\b[^\n]*?\s-p[ \t]+" + _FLAG_VALUE)
_LOGIN_COMMANDS = frozenset(("docker", "podman", "nerdctl", "buildah"))


def token_like(value: str) -> bool:
    """A value shaped like a token: 8+ token characters, with a digit or 20+ long."""
    if _TOKEN_LIKE_RE.fullmatch(value) is None:
        return False
    return len(value) >= 20 or any(c.isdigit() for c in value)


def _command_spans(
    text: str, pattern: re.Pattern[str], group: int, kind: str
) -> list[tuple[int, int, str]]:
    return [
        (m.start(group), m.end(group), kind)
        for m in occurrences(text, "curl", pattern)
        if m.start() == 0 or text[m.start() - 1] not in NAME_CHARS
    ]


def _word_start(text: str, at: int) -> bool:
    return at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_")


def structural_spans(text: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    if "://" in text:
        for m in occurrences(text, "://", _URL_CREDENTIALS_RE):
            spans.append((m.start(2), m.end(2), "url-password"))
            if token_like(m.group(1)) and any(c.isdigit() for c in m.group(1)):
                spans.append((m.start(1), m.end(1), "url-user"))  # a key id as the user
    if "curl" in text and (" -u" in text or "--user" in text or " -U" in text):
        spans += _command_spans(text, _CURL_USER_RE, 2, "curl-user")
    if "earer" in text:
        spans += [
            (m.start(1), m.end(1), "bearer-token")
            for m in occurrences(text, "earer", _BEARER_RE)
            if m.start() >= 1 and text[m.start() - 1] in "Bb" and _word_start(text, m.start() - 1)
        ]
    if "machine" in text and "password" in text:
        spans += [
            (m.start(1), m.end(1), "password")
            for m in occurrences(text, "machine", _NETRC_RE)
            if _word_start(text, m.start())
        ]
    if " -p" in text:
        for command, pattern in _PASSWORD_FLAG_RES:
            spans += [
                (m.start(g), m.end(g), "password")
                for m in occurrences(text, command, pattern)
                if m.start() == 0 or text[m.start() - 1] not in NAME_CHARS
                for g in range(1, pattern.groups + 1)
                if m.group(g) is not None
            ]
        if "login" in text:
            spans += _login_spans(text)
    return spans


def _login_spans(text: str) -> list[tuple[int, int, str]]:
    """The password of ``docker login … -p PW`` (or podman, nerdctl, buildah login)."""
    spans: list[tuple[int, int, str]] = []
    at = text.find("login")
    while at >= 0:
        match = _LOGIN_RE.match(text, at)
        if match is not None:
            command_end = at
            while command_end > 0 and text[command_end - 1].isspace():
                command_end -= 1
            for command in _LOGIN_COMMANDS:
                start = command_end - len(command)
                if (
                    command_end < at
                    and text.startswith(command, start)
                    and (start == 0 or text[start - 1] not in NAME_CHARS)
                ):
                    group = next(g for g in range(1, 4) if match.group(g) is not None)
                    spans.append((match.start(group), match.end(group), "password"))
                    break
        at = text.find("login", at + 1)
    return spans

"""Secrets recognised by where they stand, not by their shape: part of the rules behind
``infra.redact`` (``infra.secret_rules`` puts the passes together; the contract and the
classes are in ``infra.redact``'s docstring).

Two entry points:

- ``after_name(text, name_start, name_end, strength)``: the value that follows a secret
  name in a syntax other than ``name = value`` / ``name: value`` — the next argument or
  list item (``Setenv("STRIPE_KEY", "v")``, ``["--password", "v"]``), the value field of
  the same record (``{"name": "DB_PASSWORD", "value": "v"}``, ``<add key="ApiKey"
  value="v"/>``, ``variable "db_password" { default = "v" }``), an XML element's text
  (``<password>v</password>``), a typed declaration (``var pw string = "v"``), a
  positional value (``ENV NPM_TOKEN v``, ``set aws_secret_access_key v``, a multi-line
  ``.netrc``), prose (``the password is v``) and a high-entropy value anywhere after a
  strong name. Called by the named-value pass for every secret name it finds.
- ``context_spans(text, lowered)``: values whose position makes them secret although no
  secret name stands before them — commands that set secrets (``gh secret set X --body
  v``, ``doppler secrets set X v``, ``heroku config:set X=v``, ``echo v | vercel env add
  X``), credential calls (``Client("AC…", "<token>")``, ``HTTPBasicAuth("u", "pw")``), the
  output line after a prompt that prints a secret (``$ gh auth token``), Kubernetes
  ``Secret`` data, ``name:``/``value:`` pairs in YAML, ``.pgpass`` lines, Bundler host
  credentials and ``user:password`` flags (``-u``, ``-a``, ``--auth``).

Every span returned covers only the value's characters (never a quote, bracket or
separator), so a redacted literal stays a literal and code still parses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from ai_orchestrator.infra.lazy_re import lazy_pattern

_Span = tuple[int, int, str]
_QUOTES = "\"'`"
# Keys whose value is the secret when a sibling key names one (``{"name": "X", "value": v}``).
VALUE_FIELDS = frozenset(
    (
        *("value", "values", "parametervalue", "secretvalue", "content", "contents"),
        *("data", "default", "secret", "plaintext"),
    )
)
# Keys whose value names what a sibling holds.
NAME_FIELDS = frozenset(
    ("name", "key", "keyname", "parameterkey", "field", "variable", "secretname")
)
_LITERAL_RE = lazy_pattern(r"""(\\?)(["'`])((?:(?!\2)[^\\\n]|\\.){0,4096}?)\1\2""")
_KEY_AFTER_RE = lazy_pattern(r"""[ \t]*(?::=|=>|[:=])[ \t]*""")
# Between the items of a record: spaces, one comma, line breaks (also JSON-escaped ones,
# in text that is itself a serialised JSON string).
_BETWEEN_RE = lazy_pattern(r"""[ \t]*,?(?:[ \t]|\r?\n|\\[nrt])*""")
_RECORD_KEY_RE = lazy_pattern(r"(\\?[\"'])?([A-Za-z_][\w\-]*)\1?(?=[ \t]*(?::=|=>|[:=]))")
_SKIP_VALUE_RE = lazy_pattern(r"[^,\n}\]\\]*")
_OPEN_RECORD_RE = lazy_pattern(r"[ \t]*\{[ \t]*(?:\r?\n|\\n)?")
_TYPED_GO_RE = lazy_pattern(r"""[ \t]+[A-Za-z_][\w.\[\]*]*[ \t]*=[ \t]*(?=\\?["'`])""")
_POSITIONAL_RE = lazy_pattern(
    r"""[ \t]+(\\?["']?)([^\s"'`\\]+)\1(?=[ \t]*(?:$|[\r\n\\#;"]|[ \t]-))"""
)
_NEXT_TOKEN_RE = lazy_pattern(r"""[ \t]+(\\?["']?)([^\s"'`\\]+)\1""")
_PROSE_RE = lazy_pattern(r"""[ \t]+(?:is|was|are|=|:)[ \t]+[`"']?([^\s`"']+)""", re.IGNORECASE)
_QUALIFIERS = frozenset(
    ("api", "access", "secret", "private", "app", "application", "signing", "master")
)
_POSITIONAL_VERBS = frozenset(["env", "arg", "set", "setenv", "export", "config", "add", "put"])
_TRAILING_PUNCT = ".,;:)!?]}>"
_NETRC_RE = lazy_pattern(r"(?:^|[ \t])(?:machine|default|login|account)(?:[ \t]+\S+)?[ \t]*$")


def credential_like(value: str) -> bool:
    """A value that can be a password or token: no whitespace, 6+ characters, with a digit
    or a symbol (plain words such as ``changed`` or ``required`` are prose)."""
    if len(value) < 6 or len(value) > 4096 or any(c.isspace() for c in value):
        return False
    if "://" in value or value.startswith(("-", "/", "./", "~/", "$", "{", "<", "%")):
        return False
    if "::" in value or value.endswith((".py", ".json", ".yaml", ".yml", ".txt", ".md", ".pem")):
        return False
    return any(c.isdigit() for c in value) or any(c in "!#%^*+@&=~?" for c in value)


def high_entropy(value: str) -> bool:
    """A value that looks generated: 16+ token characters mixing letters and digits
    (upper and lower case, or hex with both)."""
    if len(value) < 16 or re.fullmatch(r"[A-Za-z0-9_\-+/=.~]+", value) is None:
        return False
    digits = sum(c.isdigit() for c in value)
    upper = any(c.isupper() for c in value)
    lower = any(c.islower() for c in value)
    return digits >= 2 and ((upper and lower) or (lower and len(value) >= 24))


def _literal_at(text: str, at: int) -> re.Match[str] | None:
    return _LITERAL_RE.match(text, at) if at < len(text) else None


def _value_span(text: str, literal: re.Match[str], kind: str) -> _Span | None:
    value = literal.group(3)
    if not value.strip() or value.startswith(("$", "{", "<", "%(", "-")) or value == "***":
        return None
    return (literal.start(3), literal.end(3), kind)


def _record_value(
    text: str, after: int, kind: str, strength_ok: Callable[[str], bool]
) -> _Span | None:
    """After a literal that names a secret (ending at ``after``): the value field of the same
    record, or, when the next item is not a key, that item."""
    pos, first = after, True
    limit = min(len(text), after + 600)
    if text.startswith("}", pos) or text.startswith("]", pos) or text.startswith(")", pos):
        return None
    brace = _OPEN_RECORD_RE.match(text, pos)
    if brace is not None:  # ``variable "db_password" {`` opens the record
        pos = brace.end()
    while pos < limit:
        gap = _BETWEEN_RE.match(text, pos)
        pos = gap.end() if gap else pos
        if pos >= limit or text[pos] in "}])>":
            return None
        key = _RECORD_KEY_RE.match(text, pos)
        if key is not None:
            sep = _KEY_AFTER_RE.match(text, key.end())
            if sep is None:
                return None
            literal = _literal_at(text, sep.end())
            if key.group(2).lower().replace("_", "") in VALUE_FIELDS:
                return _value_span(text, literal, kind) if literal else None
            if literal is None:  # a key holding a number, a list, a nested record: skip it
                skip = _SKIP_VALUE_RE.match(text, sep.end())
                pos = skip.end() if skip else sep.end()
            else:
                pos = literal.end()
            first = False
            continue
        literal = _literal_at(text, pos)
        if literal is None:
            return None
        if first and strength_ok(literal.group(3)):
            return _value_span(text, literal, kind)
        return None
    return None


def after_name(text: str, name_start: int, name_end: int, kind: str, weak: bool) -> _Span | None:
    """The value a secret name at ``text[name_start:name_end]`` gives in one of the
    layouts listed in the module docstring, or ``None``."""
    line_start = text.rfind("\n", 0, name_start) + 1
    before = text[line_start:name_start]
    words = before.split()
    if weak and words and words[-1].lower() in _QUALIFIERS:
        weak = False  # ``the api key was …``: a qualified key in prose
    ok = _weak_ok if weak else credential_like
    pair = _YAML_PAIR_RE.match(text, name_end)
    if pair is not None and _YAML_NAME_PREFIX_RE.fullmatch(before) is not None:
        raw = pair.group(1).strip()
        if raw and not raw.startswith(("$", "{{", "<")):
            return (pair.start(1), pair.start(1) + len(raw), kind)
        return None
    at = name_end + (text.startswith("\\", name_end))
    closing = text[at : at + 1]
    if closing and closing in _QUOTES:
        # the name is a whole literal: the next argument, item or the record's value field
        opening = name_start - 1
        while opening > name_start - 120 and opening > 0 and text[opening] not in _QUOTES + " \t\n":
            opening -= 1
        if opening < 0 or text[opening] != closing:
            return None
        after = at + 1
        if _KEY_AFTER_RE.match(text, after) and text[after : after + 3].strip()[:1] in (":", "="):
            return None  # a key: the named-value pass handles it
        return _record_value(text, after, kind, ok)
    if closing == ">":
        if name_start < 1 or text[name_start - 1] != "<":
            return None
        end = text.find("</", at + 1, at + 4096)
        if end < 0 or "<" in text[at + 1 : end]:
            return None
        value = text[at + 1 : end]
        stripped = value.strip()
        if not stripped or stripped.startswith(("$", "{", "<")):
            return None
        first = at + 1 + (len(value) - len(value.lstrip()))
        return (first, first + len(stripped), kind)
    typed = _TYPED_GO_RE.match(text, name_end)
    if typed is not None:
        literal = _literal_at(text, typed.end())
        return _value_span(text, literal, kind) if literal and ok(literal.group(3)) else None
    positional = _POSITIONAL_RE.match(text, name_end)
    if (
        positional is not None
        and ok(positional.group(2))
        and (not words or words[-1].lower() in _POSITIONAL_VERBS or _NETRC_RE.search(before))
    ):  # ``ENV NPM_TOKEN v``, ``set aws_secret_access_key v``, ``  password v`` (.netrc)
        return (positional.start(2), positional.end(2), kind)
    prose = _PROSE_RE.match(text, name_end)
    if prose is not None and not weak:
        value = prose.group(1).rstrip(_TRAILING_PUNCT)
        if credential_like(value) and not value.isdigit():
            return (prose.start(1), prose.start(1) + len(value), kind)
    token = _NEXT_TOKEN_RE.match(text, name_end)
    if token is not None and not weak:
        value = token.group(2).rstrip(_TRAILING_PUNCT)
        if high_entropy(value):
            return (token.start(2), token.start(2) + len(value), kind)
    return None


def _weak_ok(value: str) -> bool:
    return credential_like(value) and (len(value) >= 8 or high_entropy(value))


# ----------------------------------------------------------------- context spans

# A command that stores a secret: ``<noun> <verb>`` or ``<verb> <noun>``.
# Commands that store a secret. ``secret`` is found by one literal scan and its word
# judged in ``_secret_commands`` (``gh secret set``, ``kubectl create secret``,
# ``aws secretsmanager create-secret``, ``dotnet user-secrets set``); the rarer commands
# are each a literal.
_SECRET_WORD_RE = lazy_pattern(r"secret")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-:")
_COMMAND_VERBS = frozenset(["set", "add", "put", "create", "update", "import"])
_SECRET_NOUNS = frozenset(["secret", "secrets", "user-secrets"])
_SECRET_SUBCOMMANDS = frozenset(["create-secret", "update-secret", "put-secret-value"])
_OTHER_COMMAND_RES = [
    (literal, lazy_pattern(pattern))
    for literal, pattern in (
        ("put-parameter", r"put-parameter"),
        ("env add", r"env add"),
        ("kv", r"kv[ \t]+(?:put|set|create)"),
    )
]
_COMMAND_BOUNDARY = frozenset(" \t\n$(`|;&")
# ``npm config set``, ``aws configure set``, ``poetry config NAME VALUE``, ``heroku
# config:set``, ``poetry config http-basic.X user pw``: one scan for ``config``, each hit
# then matched against these.
_CONFIG_WORD_RE = lazy_pattern(r"config")
_CONFIG_SET_RE = lazy_pattern(r"config(?:ure)?[ \t]+set[ \t]+(?!-)|config[ \t]+(?!-)")
_VALUE_FLAG_RE = lazy_pattern(
    r"""(?:^|[ \t])(?:--body|-b|--value|--data|--secret-string|--string-value|--secret-value"""
    r"""|--password|--token)(?:=|[ \t]+|(?=\\?["']))(\\?["']?)([^\s"'\\]+)\1"""
)
_ASSIGN_ARG_RE = lazy_pattern(
    r"""(?:^|[ \t])(?:--from-literal=)?[A-Za-z_][\w.\-]*=(\\?["']?)([^\s"'\\]+)\1"""
)
_ARG_RE = lazy_pattern(r"""[ \t]+(\\?["']?)([^\s"'\\]+)\1""")
_ECHO_RES = [
    lazy_pattern(
        command
        + r"""(?:[ \t]+-[neE]+)*(?:[ \t]+'%s')?[ \t]+"""
        + r"""(\\?["']?)([^\s|"'$\\]{6,})\1[ \t]*\|[ \t]*([^\n]*)"""
    )
    for command in ("echo", "printf")
]
_PIPE_TARGET_RE = lazy_pattern(r"secret|password|passwd|token|login|env[ \t]+add|credential")
# Calls that take credentials after an account or user (``Client(sid, token)``,
# ``client.login(user, pw)``, ``require('twilio')(sid, token)``) whose name holds no
# secret word.
_CALL_RES = [
    (word, lazy_pattern(word + r"[a-z0-9_]*(?:['\"]\))?[ \t]*\((?=[ \t\r\n]*\\?[\"'`])"))
    for word in ("client", "login", "twilio")
]
_ARG_GAP_RE = lazy_pattern(r"[ \t\r\n]*(?:[A-Za-z_]\w*[ \t]*[=:][ \t]*)?")
_ARG_COMMA_RE = lazy_pattern(r"[ \t\r\n]*,")
# (a line ends at a line break, or at a JSON-escaped one in serialised text)
_PROMPT_RE = lazy_pattern(
    r"[$%][ \t]+((?:(?!\\n)[^\n])*)(?:\r?\n|\\n)[ \t]*([^\s\\\"]{12,})[ \t]*(?=\r?\n|\\[nr]|\"|$)"
)
# ``$`` and ``%`` are rare in code, so the scan starts there (at the one character: a
# search for ``"$ "`` is several times slower, spaces being everywhere); the line start
# is checked in ``_prompt_spans``.
_PROMPT_START_RES = [("$", lazy_pattern(r"\$ ")), ("%", lazy_pattern(r"% "))]
_PROMPT_WORDS_RE = lazy_pattern(
    r"secret|token|password|passwd|credential|api-key|apikey|access-key"
)
_K8S_SECRET_RE = lazy_pattern(r"kind:[ \t]*[\"']?secret[\"']?[ \t]*(?:\n|$)")
_K8S_DATA_RE = lazy_pattern(r"(?:^|\n)(?:data|stringdata):[ \t]*\n")
_K8S_ENTRY_RE = lazy_pattern(r"([ \t]+)[^\s:#][^:\n]*:[ \t]+(?:[|>][+-]?[ \t]*\n\1[ \t]+)?([^\n]+)")
# ``- name: DB_PASSWORD`` then ``value: v`` on the next line (Kubernetes env lists)
_YAML_NAME_PREFIX_RE = lazy_pattern(r"[ \t]*(?:-[ \t]+)?(?:name|key):[ \t]*[\"']?[\w./:\-]*")
_YAML_PAIR_RE = lazy_pattern(
    r"[\"']?[ \t]*\r?\n[ \t]*(?:value|content|data|secret):[ \t]*[\"']?([^\"'\n]+?)[\"']?[ \t]*"
    r"(?:\r?\n|$)"
)
# a ``.pgpass`` line: host:port:database:user:password
_PGPASS_LINE = (
    r"[^\s:\\\"',{}]+:(?:[0-9]{1,5}|\*):[^\s:\"',{}]+:[^\s:\"',{}]+:([^\s\\\"',{}]+)"
    r"(?=\r?\n|\\[nr]|\"|$)"
)
_PGPASS_RE = lazy_pattern(_PGPASS_LINE)
_PGPASS_HINT_RE = lazy_pattern(r":(?:[0-9]{2,5}|\*):[^\s:]+:[^\s:]+:")
_BUNDLER_RE = lazy_pattern(
    r"BUNDLE_[A-Z0-9_]*__[A-Z0-9_]+[ \t]*[=:][ \t]*[\"']?([^\s:\"']+:[^\s\"']+)"
)
_USER_FLAG_RE = lazy_pattern(
    r"""-(?:-user|-auth|-proxy-user|[uaU])(?:=|[ \t]+)(\\?["']?)[^\s:'"@/\-\\]+:([^\s'"\\]+)\1"""
)
_SSH_KEYGEN_RE = lazy_pattern(
    r"""ssh-keygen\b[^\n]*?[ \t]-[NP][ \t]*(?:'([^'\n]*)'|"([^"\n]*)"|([^\s'"]+))"""
)
_HTPASSWD_RE = lazy_pattern(
    r"htpasswd\b[^\n]*?[ \t]-[a-zA-Z]*b[a-zA-Z]*[ \t]+\S+[ \t]+\S+[ \t]+([^\s\"\\]+)"
)
_POETRY_BASIC_RE = lazy_pattern(r"config[ \t]+http-basic\.\S+[ \t]+\S+[ \t]+([^\s\"\\]+)")
_CONFIG_SET_COMMAND = "config:set"


def occurrences(text: str, literal: str, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
    """``pattern`` (which starts with ``literal``) matched at each occurrence of
    ``literal``, the same matches as ``pattern.finditer``: ``str.find`` skips through
    text about twice as fast as the regex engine's own scan for a literal prefix, which
    pays even for the named-value keywords (``sess``, ``pat``: thousands per MB)."""
    at = text.find(literal)
    while at >= 0:
        match = pattern.match(text, at)
        if match is not None:
            yield match
        at = text.find(literal, match.end() if match is not None and match.end() > at else at + 1)


def _line_bounds(text: str, at: int) -> tuple[int, int]:
    """The line around ``at`` (a JSON-escaped ``\\n`` ends a line too)."""
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    escaped = text.find("\\n", at, end)
    return start, end if escaped < 0 else escaped


def _secret_commands(lowered: str) -> list[tuple[int, int]]:
    """Spans of ``<noun> <verb>``/``<verb> <noun>`` (and ``create-secret`` &c.) around
    each ``secret`` word."""
    found: list[tuple[int, int]] = []
    done = -1
    for hit in occurrences(lowered, "secret", _SECRET_WORD_RE):
        if hit.start() < done:
            continue
        start, end = hit.start(), hit.end()
        while start > 0 and lowered[start - 1] in _WORD_CHARS:
            start -= 1
        while end < len(lowered) and lowered[end] in _WORD_CHARS:
            end += 1
        done, word = end, lowered[start:end]
        if word in _SECRET_SUBCOMMANDS:
            found.append((start, end))
        elif word in _SECRET_NOUNS:
            after = _ARG_RE.match(lowered, end)
            if after is not None and after.group(2) in _COMMAND_VERBS:
                found.append((start, after.end()))
                continue
            line_start = lowered.rfind("\n", 0, start) + 1
            words = lowered[line_start:start].split()
            if words and words[-1] in _COMMAND_VERBS:
                found.append((start - len(words[-1]) - 1, end))
    return found


def _command_spans(text: str, lowered: str, classify: Callable[[str], object]) -> list[_Span]:
    spans: list[_Span] = []
    done = -1
    matches = _secret_commands(lowered)
    configs = [m.start() for m in occurrences(lowered, "config", _CONFIG_WORD_RE)]
    matches += [(at, at + 10) for at in configs if lowered.startswith(_CONFIG_SET_COMMAND, at)]
    for literal, pattern in _OTHER_COMMAND_RES:
        matches += [m.span() for m in occurrences(lowered, literal, pattern)]
    for match_start, match_end in sorted(matches):
        if match_start < done:
            continue
        if match_start > 0 and lowered[match_start - 1] not in _COMMAND_BOUNDARY:
            continue
        if lowered[match_end : match_end + 1] not in ("", " ", "\t", "\n"):
            continue
        _, end = _line_bounds(text, match_start)
        done = end
        for pattern in (_VALUE_FLAG_RE, _ASSIGN_ARG_RE):
            spans += [
                (m.start(2), m.end(2), "secret") for m in pattern.finditer(text, match_end, end)
            ]
        args = list(_ARG_RE.finditer(text, match_end, end))
        positional = [m for m in args if not m.group(2).startswith("-") and "=" not in m.group(2)]
        if len(positional) >= 2 and args[0] is positional[0] and args[1] is positional[1]:
            value = positional[1]
            if not value.group(2).startswith(("$", "<")) and "://" not in value.group(2):
                spans.append((value.start(2), value.end(2), "secret"))
    for at in configs:
        match = _CONFIG_SET_RE.match(lowered, at)
        if match is None or ("set" not in match.group(0) and lowered[at - 7 : at] != "poetry "):
            continue  # only ``<tool> config set NAME VALUE`` and ``poetry config NAME VALUE``
        basic = _POETRY_BASIC_RE.match(text, at)
        if basic is not None:  # ``poetry config http-basic.X user pw``
            spans.append((basic.start(1), basic.end(1), "password"))
            continue
        _, end = _line_bounds(text, at)
        args = list(_ARG_RE.finditer(text, match.end() - 1, end))[:2]
        if len(args) == 2 and not args[1].group(2).startswith(("-", "$")):
            name = args[0].group(2).rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            if classify(name.strip("-_.")):
                spans.append((args[1].start(2), args[1].end(2), "secret"))
    if "|" in text:
        for command, pattern in zip(("echo", "printf"), _ECHO_RES, strict=True):
            for match in occurrences(text, command, pattern):
                if _PIPE_TARGET_RE.search(match.group(3).lower()):
                    spans.append((match.start(2), match.end(2), "secret"))
    return spans


# (``name(`` or ``name = (``; ``a secret (`x`)`` in prose is not a call)
CALL_OPEN_RE = lazy_pattern(r"(?:['\"]\))?(?:[ \t]*=[ \t]*)?\((?=[ \t\r\n]*\\?[\"'`])")
# A call that sets what it is named after takes the secret as its first argument too.
SETTER_WORDS = frozenset(("set", "with", "use", "put", "store", "update"))


def callee_at(text: str, at: int, name_end: int) -> str:
    """The name of the function called at ``text[:name_end]`` (its last dotted part)."""
    start = at
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return text[start:name_end]


def call_arguments(text: str, at: int, first_too: bool) -> list[_Span]:
    """The credentials among the literal arguments of the call whose ``(`` ends at ``at``:
    high-entropy ones anywhere; any credential-like one after the first (a user, an
    account id), or also the first when ``first_too`` (``setPassword("v")``). Keyword
    arguments are left to the named-value pass."""
    spans: list[_Span] = []
    pos, index, end = at, 0, min(len(text), at + 600)
    while pos < end:
        gap = _ARG_GAP_RE.match(text, pos)
        pos = gap.end() if gap else pos
        literal = _literal_at(text, pos)
        if literal is None:
            break
        value = literal.group(3)
        keyword = gap is not None and gap.group(0).strip() != ""
        if not keyword and (
            high_entropy(value) or ((index > 0 or first_too) and credential_like(value))
        ):
            spans.append((literal.start(3), literal.end(3), "credential"))
        index += 1
        comma = _ARG_COMMA_RE.match(text, literal.end())
        if comma is None:
            break
        pos = comma.end()
    return spans


def _call_spans(text: str, lowered: str) -> list[_Span]:
    """Calls named after a client, a login or Twilio (calls named after a password, a
    secret, a token, a credential or auth are found by the named-value pass)."""
    spans: list[_Span] = []
    for word, pattern in _CALL_RES:
        if word in lowered:
            for call in occurrences(lowered, word, pattern):
                spans += call_arguments(text, call.end(), first_too=False)
    return spans


def _prompt_spans(text: str) -> list[_Span]:
    """The line after a shell prompt line (``$ gh auth token``) whose command prints a
    secret."""
    spans: list[_Span] = []
    starts = [
        m.start()
        for literal, pattern in _PROMPT_START_RES
        for m in occurrences(text, literal, pattern)
        if m.start() == 0
        or text[m.start() - 1] in '\n"'
        or text[m.start() - 2 : m.start()] == "\\n"
    ]
    for at in starts:
        m = _PROMPT_RE.match(text, at)
        if (
            m is not None
            and _PROMPT_WORDS_RE.search(m.group(1).lower())
            and not m.group(2).startswith(("$", "#"))
        ):
            spans.append((m.start(2), m.end(2), "secret"))
    return spans


def _k8s_spans(text: str, lowered: str) -> list[_Span]:
    spans: list[_Span] = []
    for kind in occurrences(lowered, "kind:", _K8S_SECRET_RE):
        doc_start = lowered.rfind("\n---", 0, kind.start()) + 1
        doc_end = lowered.find("\n---", kind.end())
        doc_end = len(text) if doc_end < 0 else doc_end
        for block in _K8S_DATA_RE.finditer(lowered, doc_start, doc_end):
            pos = block.end()
            while pos < doc_end:
                entry = _K8S_ENTRY_RE.match(text, pos, doc_end)
                if entry is None:
                    break
                value = entry.group(2).strip().strip("\"'")
                if value and not value.startswith(("$", "{{")):
                    first = text.find(value, entry.start(2))
                    spans.append((first, first + len(value), "secret"))
                pos = entry.end() + 1
    return spans


_PRIVATE_HEAD_RE = lazy_pattern(r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----")
_PRIVATE_END_RE = lazy_pattern(r"[ \t]*-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----")
_KEY_LINE_RE = lazy_pattern(r"[ \t]*(?:[A-Za-z][A-Za-z\-]*:[ \t][^\n\\\"]*|[A-Za-z0-9+/=]+)?[ \t]*")
_LINE_BREAK_RE = lazy_pattern(r"\r?\n|\\r\\n|\\n")


def private_key_spans(text: str) -> list[_Span]:
    """PEM, OpenSSH and PGP private key blocks: from BEGIN to the matching END, or, when
    cut off, to the last line of key material (base64, or a ``Proc-Type:`` header), so
    the text after a cut block is still judged on its own."""
    spans: list[_Span] = []
    at = text.find("-----BEGIN")
    while at >= 0:
        head = _PRIVATE_HEAD_RE.match(text, at)
        if head is None:
            at = text.find("-----BEGIN", at + 1)
            continue
        pos = end = head.end()
        blank_ok = True  # a blank line may follow BEGIN or a header
        while pos <= len(text):
            closing = _PRIVATE_END_RE.match(text, pos)
            if closing is not None:
                end = closing.end()
                break
            line = _KEY_LINE_RE.match(text, pos)
            content = line.group(0).strip() if line else ""
            if content:
                end, blank_ok = line.end() if line else pos, ":" in content
            elif not blank_ok:
                break
            after = line.end() if line else pos
            closing = _PRIVATE_END_RE.match(text, after)
            if closing is not None:
                end = closing.end()
                break
            brk = _LINE_BREAK_RE.match(text, after)
            if brk is None:
                break
            pos = brk.end()
        spans.append((at, end, "private-key"))
        at = text.find("-----BEGIN", end)
    return spans


def context_spans(text: str, lowered: str, classify: Callable[[str], object]) -> list[_Span]:
    """Secrets found by their position alone (see the module docstring)."""
    spans = _command_spans(text, lowered, classify) + _call_spans(text, lowered)
    if "\n" in text or "\\n" in text:
        spans += _prompt_spans(text)
    if "kind:" in lowered and "secret" in lowered:
        spans += _k8s_spans(text, lowered)
    if "BUNDLE_" in text:
        bundler = occurrences(text, "BUNDLE_", _BUNDLER_RE)
        spans += [(m.start(1), m.end(1), "credential") for m in bundler]
    for hint in _PGPASS_HINT_RE.finditer(text):
        line_start = max(
            text.rfind("\n", 0, hint.start()) + 1,
            text.rfind("\\n", 0, hint.start()) + 2,
            text.rfind('"', 0, hint.start()) + 1,
        )
        pgpass = _PGPASS_RE.match(text, line_start)
        if pgpass is not None:
            spans.append((pgpass.start(1), pgpass.end(1), "password"))
    spans += [
        (m.start(2), m.end(2), "password")
        for m in _USER_FLAG_RE.finditer(text)
        if m.start() > 0 and text[m.start() - 1] in " \t" and not m.group(2).isdigit()
    ]
    for command, pattern in (
        ("ssh-keygen", _SSH_KEYGEN_RE),
        ("htpasswd", _HTPASSWD_RE),
    ):
        if command in text:
            for m in occurrences(text, command, pattern):
                group = next(g for g in range(1, pattern.groups + 1) if m.group(g) is not None)
                if m.group(group):
                    spans.append((m.start(group), m.end(group), "password"))
    return spans

"""The secret-detection rules and passes behind ``infra.redact`` (see its docstring for
the contract, the classes covered and the choice of rules): the named-value pass here,
the others in ``secret_tokens``, ``secret_shapes`` and ``secret_context``; ``redact``
lowers the text once (``_lowered``) and puts the passes' spans together.

Imported on first use by ``infra.redact``: compiling the rules takes tens of
milliseconds, which commands that never redact (``aio --version``, the statusline) must
not pay.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from ai_orchestrator.infra.lazy_re import lazy_pattern
from ai_orchestrator.infra.secret_context import (
    CALL_OPEN_RE,
    NAME_FIELDS,
    SETTER_WORDS,
    VALUE_FIELDS,
    after_name,
    call_arguments,
    callee_at,
    context_spans,
    credential_like,
    occurrences,
    private_key_spans,
)
from ai_orchestrator.infra.secret_shapes import NAME_CHARS, structural_spans, token_like
from ai_orchestrator.infra.secret_tokens import token_spans

# ----------------------------------------------------------------- named values


def _split(words: str) -> list[str]:
    return words.split()


# Every secret name contains one of these (lowercased).
_KEYWORDS = tuple(_split("pass pwd secret token key cred auth cookie sess sig pat bearer psk"))
# A keyword, the rest of the name, then a separator: the candidates for a named value.
# (Literal-first patterns on the lowered text, matched at each keyword ``str.find`` finds.)
_HIT_RES = [
    lazy_pattern(
        word + r"[a-z0-9_.\-]*+(?=(?:\\*[\"']\]?)?[ \t]*(?::=|=>|[:=])"  # name = value
        r"|\\?[\"'`][ \t]*[,\s{]"  # a literal followed by the next item or a record
        r"|>"  # an XML element
        r"|[\"']?[ \t]*\r?\n[ \t]*(?:value|content|data|secret):"  # ``name: X`` / ``value: v``
        r"|[ \t]+[A-Za-z_][\w.\[\]*]*[ \t]*=[ \t]*\\?[\"'`]"  # ``var pw string = "v"``
        r"|[ \t]+(?:is[ \t]+|was[ \t]+)?[\"'`]?(?=[^\s]*[0-9])[^\s]{6}"  # positional, prose
        r"|(?:['\"]\))?(?:[ \t]*=[ \t]*)?\([ \t\r\n]*\\?[\"'`])"  # a call with a literal
    )
    for word in _KEYWORDS
]
# A long option followed by a separate value; its name is checked by ``_classify``.
_FLAG_HIT_RE = lazy_pattern(r"--[a-z][a-z0-9\-]{0,40}+(?=[ \t]+[^\s\-])")
_STRING_PREFIXES = frozenset("fbrFBRuU")
_AFTER_NAME = frozenset(("=", ":", '"', "'", "`", " ", "\t", "\\", ">", "]", "\n", "\r"))
_NAME_TAIL_RE = lazy_pattern(r"[A-Za-z0-9_.\-]*")
# After a name: an optional closing quote, then ``=``, ``:``, ``:=`` or ``=>``.
_SEP_RE = lazy_pattern(r"(?:(\\*[\"'])\]?)?[ \t]*(:=|=>|[:=])[ \t]*")
# A quote, escaped any number of times (JSON inside JSON: ``\\\"``).
_ESCAPED_QUOTE_RE = lazy_pattern(r"\\+[\"']")
# ``name: Type = value`` (Python, TypeScript, Rust, Kotlin, Swift): the value is after ``=``.
_TYPE_ANNOTATION_RE = lazy_pattern(r"&?'?[A-Za-z_][\w:<>\[\], |.'&]{0,60}?[ \t]*=(?!=)[ \t]*")
_MAPPING_ENTRY_RE = lazy_pattern(r"(?:- |[\w.\-\"']+:(?:\s|$))")
_BLOCK_RE = lazy_pattern(r"[|>][+-]?[0-9]?")
_FLAG_SEP_RE = lazy_pattern(r"[ \t]+(?=[^\s-])")
_SCHEME_RE = lazy_pattern(r"(?:bearer|basic|token|digest|negotiate|bot)[ \t]+", re.IGNORECASE)
_CAMEL_RE = lazy_pattern(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_UNQUOTED_VALUE_RE = lazy_pattern(r"[^\s\"'\\,;})\]&<>|`]+")
_CODE_VALUE_RE = lazy_pattern(r"[A-Za-z_][A-Za-z0-9_]*(?:[.(\[]|$)")
_IDENTIFIER_RE = lazy_pattern(r"[A-Za-z_][A-Za-z0-9_.]*")
_QUOTE_CHARS = ('"', "'", "`")
_CLOSERS = frozenset((")", ",", ";", "]", "}", "\n", ""))
# Words that start an expression, not a value: ``credential = new NetworkCredential(…)``.
_EXPRESSION_WORDS = frozenset(_split("new await yield lambda not typeof function async this self"))

_PASSWORD_WORDS = frozenset({"pass", "passwd", "password", "passphrase", "pwd", "pw", "passw"})
_NOT_PASSWORD = frozenset(_split("bypass compass passenger passage passive passthrough passport"))
# ``<qualifier>key`` written as one word (``APIKEY``, ``accountkey``) that is a secret.
_SECRET_KEY_QUALIFIERS = tuple(
    _split(
        "api access secret private account sharedaccess signing master encryption client auth "
        "license app service session x-api"
    )
)
# A name ending in one of these words describes a secret, it does not hold one.
_NOT_SECRET_TAILS = frozenset(
    _split(
        "id ids name names type types count counts url uri endpoint file files path paths dir "
        "len length size limit limits max min usage budget estimate format kind field fields "
        "header env var prefix hint expiry expires expiration ttl timeout at version index "
        "mode method provider label stats total rate model policy algorithm scheme manager "
        "store action actions state status required enabled disabled strength reset rules "
        "help prompt dialog form input column table seconds secs sec ms millis minutes mins "
        "hours days duration interval lifetime age delay retries attempts"
    )
)
# Words after a secret word that still name the secret itself (``client-key-data``,
# ``password_b64``, ``privateKeyData``): dropped before the name is judged.
_VALUE_SUFFIXES = frozenset(
    _split("data value b64 base64 hex raw string str text bytes plain plaintext content material")
)
# ``<qualifier>_key`` names that are not secrets.
_NOT_SECRET_KEYS = frozenset(
    _split(
        "primary foreign sort partition cache row composite unique lookup map dict hot public "
        "pub idempotency dedup dedupe object bucket translation i18n message react list event "
        "field group shard routing hash index join natural sequence schema shortcut press ssh "
        "gpg pgp host parameter"
    )
)
_SECRET_WORDS = frozenset(
    _split(
        "token tokens secret secrets password passwd pass pwd key keys credential credentials "
        "cred creds auth cookie session sig signature pat apikey bearer psk passphrase"
    )
)
_PLACEHOLDERS = frozenset(
    _split(
        "null none true false nil undefined yes no on off required optional string str "
        "redacted bytes int bool float dict list any object value values"
    )
)
_MASK_CHARS = frozenset("*xX.#-_•")
_STRONG, _WEAK, _HEADER = "strong", "weak", "header"


def _words(name: str) -> list[str]:
    words: list[str] = []
    for part in re.split(r"[_.\-]+", name):
        words.extend(w.lower().rstrip("0123456789") or w for w in _CAMEL_RE.findall(part))
    while len(words) > 1 and words[-1] in _VALUE_SUFFIXES:
        words.pop()
    return words


@lru_cache(maxsize=4096)
def _classify(name: str) -> tuple[str, str] | None:
    """``(kind, strength)`` when ``name`` names a secret, else ``None``."""
    words = _words(name)
    if not words:
        return None
    flat, last = "".join(words), words[-1]
    if flat in ("authorization", "proxyauthorization"):
        return "authorization", _HEADER
    if flat in ("cookie", "setcookie"):
        return "cookie", _HEADER
    if (len(words) > 1 and last in _NOT_SECRET_TAILS) or flat in _NOT_PASSWORD:
        return None
    secret_at = next((i for i, w in enumerate(words) if w in _SECRET_WORDS), len(words))
    if any(w in _NOT_SECRET_TAILS for w in words[secret_at + 1 :]):
        return None  # ``refresh_token_expiry_seconds``: describes a token
    if flat in ("bearer", "psk") or last == "bearer":
        return ("token" if "bearer" in flat else "password"), _STRONG
    if (
        any(w in _PASSWORD_WORDS for w in words)
        or "password" in flat
        or "passwd" in flat
        or flat.endswith(("pass", "pwd"))
    ):
        return "password", _STRONG
    if "secret" in flat:
        return "secret", _STRONG
    if "credential" in flat or last in ("creds", "cred"):
        return "credential", _STRONG
    if "token" in words or flat.endswith("token") or last == "pat":
        return "token", _STRONG
    if last == "key" and len(words) > 1:
        return None if words[-2] in _NOT_SECRET_KEYS else ("api-key", _STRONG)
    if flat == "key":
        return "key", _WEAK
    if flat.endswith("key") and flat[:-3].endswith(_SECRET_KEY_QUALIFIERS):
        return "api-key", _STRONG
    if "cookie" in flat:
        return "cookie", _WEAK
    if "auth" in words or (flat.endswith("auth") and flat != "oauth"):
        return "auth", _WEAK
    if "session" in words or flat.endswith(("sessid", "sessionid")):
        return "session", _WEAK
    if last in ("sig", "signature"):
        return "signature", _WEAK
    return None


def _placeholder(value: str) -> bool:
    stripped = value.strip()
    return (
        not stripped
        or stripped.startswith(("$", "%(", "{", "<", "[REDACTED", "process.env", "os.environ"))
        or stripped.lower() in _PLACEHOLDERS
        or "OMITTED" in stripped  # ``kubectl config view``: DATA+OMITTED
        or (len(stripped) > 1 and set(stripped) <= _MASK_CHARS)  # ***, xxxx, ....
    )


def _looks_like_code(value: str, separator: str, spaced: bool) -> bool:
    """An unquoted value that is an expression (``next_token(s)``, ``Optional[str]``,
    ``self.key``, ``[Validator, …]`` with spaces around ``=``), not a literal secret."""
    if spaced and separator == "=" and (value[:1] in "[{(" or "(" in value or "::" in value):
        return True  # a list, dict or tuple literal, a call, a scoped name: code
    if value in _EXPRESSION_WORDS:
        return True
    if _CODE_VALUE_RE.match(value) is None:
        return False
    if separator == "=" and spaced:
        if any(c in value for c in ".(["):
            return True
        # ``name = other_name`` is code when the words are words (``get_secret``,
        # ``DEFAULT_TOKEN``); a mixed-case run with digits (``PGnVYO79z2_ROZ``) is a value.
        return "_" in value and all(
            not part or part.islower() or part.isupper() or part.isdigit()
            for part in value.split("_")
        )
    return any(c in value for c in "([")


def _mask(kind: str) -> str:
    return f"[REDACTED:{kind}]"


# ----------------------------------------------------------------- the passes


def _line_end(text: str, start: int, quote: str | None) -> int:
    """End of a header value: the closing quote, the end of the line, or a ``"`` or ``\\``
    (in serialised JSON, the end of the string or an escape), whichever comes first."""
    end = min(len(text), start + 8192)  # a header line is never longer
    for stop in ("\n", "\r", "\\", '"', quote or ""):
        if stop:
            at = text.find(stop, start, end)
            if 0 <= at < end:
                end = at
    return end


def _next_line_value(text: str, after_sep: int, name_start: int) -> tuple[int, int] | None:
    """A YAML value on the line(s) after ``name:`` (plain, or a ``|``/``>`` block): the
    span of the more-indented line (or block) that follows, or ``None``."""
    newline = text.find("\n", after_sep)
    if newline < 0:
        return None
    head = text[after_sep:newline].strip(" \t\r")
    block = _BLOCK_RE.fullmatch(head) is not None
    if head and not block:
        return None
    line_start = text.rfind("\n", 0, name_start) + 1
    prefix = text[line_start:name_start]
    indent = len(prefix) - len(prefix.lstrip(" \t-"))  # ``- password:`` in a list
    first = last = None
    pos = newline + 1
    while pos < len(text):
        eol = text.find("\n", pos)
        eol = len(text) if eol < 0 else eol
        line = text[pos:eol]
        body = line.lstrip(" \t")
        if not body.strip():
            if first is not None:
                break
        elif len(line) - len(body) <= indent:
            break
        else:
            if not block and _MAPPING_ENTRY_RE.match(body):
                return None  # ``secrets:`` holding a mapping: its entries are judged alone
            if first is None:
                first = pos + len(line) - len(body)
            last = pos + len(line.rstrip(" \t\r"))
            if not block:
                break
        pos = eol + 1
    return (first, last) if first is not None and last is not None else None


def _named_spans(text: str, lowered: str) -> list[tuple[int, int, str]]:
    """Values of secret-named assignments, flags and headers."""
    hits = [
        m.start()
        for word, hit in zip(_KEYWORDS, _HIT_RES, strict=True)
        for m in occurrences(lowered, word, hit)
    ]
    if "--" in text:
        hits += [m.start() + 2 for m in _FLAG_HIT_RE.finditer(lowered) if _classify(m.group(0))]
    hits.sort()
    spans: list[tuple[int, int, str]] = []
    done = -1
    for at in hits:
        if at < done:
            continue
        tail = _NAME_TAIL_RE.match(text, at)
        name_end = tail.end() if tail else at
        call = CALL_OPEN_RE.match(text, name_end)
        if call is not None:  # ``setPassword("v")``, ``HTTPBasicAuth(user, "v")``, ``auth=(…)``
            callee = callee_at(text, at, name_end)
            found = _classify(callee)
            if found is not None:
                setter = found[1] != _WEAK and _words(callee)[0] in SETTER_WORDS
                spans += call_arguments(text, call.end(), first_too=setter)
            done = call.end()
            continue
        if text[name_end : name_end + 1] not in _AFTER_NAME:
            done = name_end  # ``session.record(``, ``tokens)``: not an assignment
            continue
        start = at
        while start > 0 and text[start - 1] in NAME_CHARS:
            start -= 1
        if start >= 1 and text[start - 1] == "\\" and text[start : start + 1] in ("n", "r", "t"):
            start += 1  # the ``n`` of an escaped ``\n`` is not part of the name
        raw_name = text[start:name_end]
        name = raw_name.strip(".-")
        found = _classify(name) if name else None
        if found is None:
            done = name_end
            continue
        kind, strength = found
        sep = _SEP_RE.match(text, name_end)
        if (
            sep is not None
            and (
                text.startswith(("::", "=="), sep.start(2))
                # ``arn:aws:secretsmanager:eu-west-1:…``, ``host:5432:db:user:pw``: a path
                or (
                    sep.group(2) == ":"
                    and sep.end() == sep.end(2)
                    and text[start - 1 : start] == ":"
                )
            )
        ):
            done = name_end  # ``tests/test_auth.py::test_x``, ``auth::Token``, ``a == b``
            continue
        is_flag = raw_name.startswith("-") and (sep is None or sep.group(2) != "=")
        if is_flag:
            sep = _FLAG_SEP_RE.match(text, name_end) or sep
        if sep is None:
            span = after_name(text, start, name_end, kind, strength == _WEAK)
            if span is not None:
                spans.append(span)
            done = span[1] if span is not None else name_end
            continue
        value_start = sep.end()
        separator = "" if is_flag else sep.group(2)
        # ``name = value`` with spaces is code or INI; ``NAME=value`` shell or .env
        spaced = not is_flag and sep.start(2) > name_end and text[sep.start(2) - 1] in " \t"
        if separator == ":" and text[value_start : value_start + 1] not in _QUOTE_CHARS:
            typed = _TYPE_ANNOTATION_RE.match(text, value_start)
            if typed is not None and "\n" not in typed.group(0):
                value_start, separator, spaced = typed.end(), "=", True
        quote = None
        if text[value_start : value_start + 1] in _STRING_PREFIXES and (
            text[value_start + 1 : value_start + 2] in ('"', "'")
            or _ESCAPED_QUOTE_RE.match(text, value_start + 1) is not None
        ):
            value_start += 1  # a Python f/b/r string: the value is what is quoted
        escaped = _ESCAPED_QUOTE_RE.match(text, value_start)
        if escaped is not None:
            quote, value_start = escaped.group(0), escaped.end()
        elif text[value_start : value_start + 1] in _QUOTE_CHARS:
            quote, value_start = text[value_start], value_start + 1
        if quote is not None and (
            text[value_start : value_start + 1] in _CLOSERS
            or text.startswith(("\\n", "\\r"), value_start)
        ):
            # ``getpass("Password: ")``: the quote closes the string the name is in
            done = value_start
            continue
        scheme = _SCHEME_RE.match(text, value_start)
        if scheme is not None and kind in ("authorization", "token", "auth", "api-key", "password"):
            value_start = scheme.end()
        if (strength == _HEADER and separator == ":") or (kind == "authorization" and quote):
            value_end = _line_end(text, value_start, quote)
        elif quote is not None:
            value_end = text.find(quote, value_start, value_start + 8192)
            newline = text.find("\n", value_start, value_start + 8192)
            if value_end < 0 or 0 <= newline < value_end:
                value_end = newline if newline >= 0 else len(text)
        else:
            match = _UNQUOTED_VALUE_RE.match(text, value_start)
            if match is None:
                line_start = text.rfind("\n", 0, start) + 1
                if (
                    separator == ":"
                    and strength != _WEAK
                    and not text[line_start:start].strip(" \t-\"'")  # a YAML key
                ):
                    block = _next_line_value(text, value_start, start)
                    if block is not None:
                        spans.append((*block, kind))
                        done = block[1]
                        continue
                done = value_start
                continue
            value_end = match.end()
            identifier = _IDENTIFIER_RE.fullmatch(match.group(0)) is not None
            if _looks_like_code(match.group(0), separator, spaced) or (
                identifier
                and (
                    (separator == ":" and text[value_end : value_end + 1] in (")", ","))
                    or (not is_flag and sep.group(1) is not None)  # ``{"k": tok.value}``: code
                )
            ):  # ``def f(token: Token)``: an annotation
                # (names inside the expression are judged on their own:
                # ``auth = HTTPBasicAuth("user", "pw")``)
                done = value_start
                continue
        value = text[value_start:value_end].strip()
        if (
            not value
            or _placeholder(value)
            or (strength == _WEAK and not token_like(value))
            or "::" in value  # ``did not pass: tests.test_add::test_add``: a test id or path
            or (value.isdigit() and len(value) < 6)  # ``expiry: 3600``, ``password:  16 bytes``
        ):
            done = max(value_start, name_end)
            continue
        spans.append((value_start, value_start + len(text[value_start:value_end].rstrip()), kind))
        done = value_end
    return spans


def _apply(text: str, spans: list[tuple[int, int, str]]) -> str:
    """Replace ``spans`` (overlapping ones are merged; the earliest kind is shown)."""
    spans.sort()
    pieces, done = [], 0
    for start, end, kind in spans:
        if end <= done:
            continue
        if start >= done:
            pieces += [text[done:start], _mask(kind)]
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


_MIN_SECRET_TEXT = 8  # nothing shorter can hold a recognisable secret


def _shadow_chars(error: UnicodeError) -> tuple[str, int]:
    """Encoding error handler for ``_lowered``: a non-ASCII character the rules' patterns
    can tell from ``?`` (a word character or a space: ``\\w``, ``\\s``, ``str.split``)
    becomes NUL, to be put back as it is; any other becomes ``?``."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    run = error.object[error.start : error.end]
    return "".join("\0" if c.isalnum() or c.isspace() else "?" for c in run), error.end


codecs.register_error("aio-redact-lowered", _shadow_chars)


def _lowered(text: str) -> tuple[str, bytes]:
    """``text`` lowered position for position, for the scans that ignore case.

    Every pattern run on it is ASCII, so a non-ASCII character that is neither a word
    character nor a space matches exactly what ``?`` matches, and is lowered to ``?``
    through a bytes copy (``str.lower`` on text that is not all ASCII costs several times
    more). The others are lowered as ``str.lower`` does, kept as they are where lowering
    would change the length (U+0130), so positions still match ``text``'s. Also returns
    the ASCII bytes copy (for ``token_spans``: a non-ASCII character is never part of a
    token).
    """
    if text.isascii():
        lowered = text.lower()
        return lowered, lowered.encode("ascii")
    data = text.encode("ascii", "aio-redact-lowered").lower()
    lowered = data.decode("ascii")
    at = lowered.find("\0")
    if at < 0:
        return lowered, data
    pieces, done = [], 0
    while at >= 0:
        char = text[at]
        pieces += [lowered[done:at], char.lower() if len(char.lower()) == 1 else char]
        done = at + 1
        at = lowered.find("\0", done)
    pieces.append(lowered[done:])
    return "".join(pieces), data


def redact(text: str) -> str:
    """``infra.redact.redact``."""
    if len(text) < _MIN_SECRET_TEXT:
        return text
    lowered, shadow = _lowered(text)
    spans = private_key_spans(text) if "PRIVATE KEY" in text else []
    spans += token_spans(text, shadow)
    spans += structural_spans(text)
    spans += _named_spans(text, lowered)
    spans += context_spans(text, lowered, _classify)
    return _apply(text, spans) if spans else text


def secret_key_kind(key: str) -> str | None:
    """``infra.redact.secret_key_kind``."""
    found = _classify(key.strip(".-"))
    return found[0] if found else None


_FIELD_NAME_RE = lazy_pattern(r"(?:-{1,2}|/)?[A-Za-z_][\w.\-:/]{0,127}")


def _names_secret(item: object) -> str | None:
    """The kind when ``item`` is a name (``DB_PASSWORD``, ``--client-secret``,
    ``/prod/db/password``, ``key1``) that ends in a secret word, else ``None``: the field
    or item after it holds that secret."""
    if not isinstance(item, str) or _FIELD_NAME_RE.fullmatch(item) is None:
        return None
    name = item.rsplit("/", 1)[-1].rsplit(":", 1)[-1].strip("-_.")
    words = _words(name)
    found = _classify(name) if words and words[-1] in _SECRET_WORDS else None
    return found[0] if found else None


def _field(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def redact_value(
    value: Any, key: str | None = None, *, keep: Collection[str] = (), nested: bool = False
) -> Any:
    """``infra.redact.redact_value``."""
    if isinstance(value, str):
        if key is not None and value and not _placeholder(value):
            found = _classify(key.strip(".-"))
            if found is not None and (found[1] != _WEAK or token_like(value)):
                return _mask(found[0])
        return redact(value)
    if isinstance(value, Mapping):
        inner = keep if nested else ()
        # a secret split across fields: ``{"name": "DB_PASSWORD", "value": "…"}``
        split = next(
            (
                kind
                for k, v in value.items()
                if isinstance(k, str) and k not in keep and _field(k) in NAME_FIELDS
                for kind in [_names_secret(v)]
                if kind
            ),
            None,
        )
        out = {}
        for k, v in value.items():
            if isinstance(k, str) and k in keep:
                out[k] = v
            elif isinstance(k, str):
                if split and _field(k) in VALUE_FIELDS and isinstance(v, str) and v.strip():
                    out[redact(k)] = v if _placeholder(v) else _mask(split)
                else:
                    out[redact(k)] = redact_value(v, k, keep=inner, nested=nested)
            else:
                out[k] = redact_value(v, keep=inner, nested=nested)
        return out
    if isinstance(value, list | tuple):
        inner = keep if nested else ()
        items = [redact_value(item, keep=inner, nested=nested) for item in value]
        for i in range(1, len(value)):
            # an argument list: ``["mysql", "--password", "…"]``
            kind = _names_secret(value[i - 1])
            after = value[i]
            if kind and isinstance(after, str) and (credential_like(after) or token_like(after)):
                items[i] = _mask(kind)
        return items
    return value

"""Provider tokens recognised by their shape: the rule table and the pass that finds them.

Part of the rules behind ``infra.redact`` (``infra.secret_rules`` holds the other classes
and puts the passes together). ``token_spans(text, shadow)`` returns ``(start, end, kind)`` for
every provider token in ``text`` — also one broken across a line break (real,
``\\``-continued, JSON-escaped or onto an indented line) when one of its pieces has at
least 20 characters; the span then covers both pieces. ``at_boundary`` is the word-start
test the other passes share.

Cost: the runs of 20+ token characters are found with ``bytes.find`` on an ASCII copy of
the text (``shadow``, which ``secret_rules`` makes anyway for its lowered copy), not with
a regex trying every position; only the starts of their
segments are matched, each against the few shapes that can start with its two
characters (``_BY_START``), so the whole table is never run over the text.
"""

from __future__ import annotations

import re
from typing import Any

from ai_orchestrator.infra.lazy_re import lazy_pattern

__all__ = ["at_boundary", "token_spans"]

_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

# ----------------------------------------------------------------- provider tokens
# (kind, the literal starts a match can have, pattern). Shapes after gitleaks'
# config/gitleaks.toml (rule ids in the comments) and detect-secrets 1.5.0's plugins.
# A start is at least two characters; a longer one (``live_``) is tried less often.
_TOKENS: list[tuple[str, str, str]] = [
    ("anthropic-key", "sk", r"sk-ant-[A-Za-z0-9_\-]{16,}"),  # anthropic-api-key, -admin-api-key
    (
        "openai-key",
        "sk",
        r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}",
    ),  # openai-api-key
    (
        "stripe-key",
        "sk rk pk",
        r"(?:sk|rk|pk)_(?:live|test|prod)_[A-Za-z0-9]{10,}",
    ),  # stripe-access-token
    ("stripe-webhook-secret", "wh", r"whsec_[A-Za-z0-9+/=]{20,}"),
    ("google-api-key", "AI", r"AIza[0-9A-Za-z_\-]{35}"),  # gcp-api-key
    ("google-oauth", "ya 1/", r"ya29\.[0-9A-Za-z_\-]{20,}|1//0[0-9A-Za-z_\-]{30,}"),
    ("google-oauth-client-secret", "GO", r"GOCSPX-[0-9A-Za-z_\-]{20,}"),
    ("github-token", "gh gi", r"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}"),
    (
        "gitlab-token",
        "gl GR",  # gitlab-pat, -ptt, -rrt, -runner-…, -deploy-token, -feed-token, …
        r"gl(?:pat|dt|rt|ptt|cbt|ft|imt|oas|soat|agent|ffct)-[A-Za-z0-9_\-]{20,}"
        r"|GR1348941[A-Za-z0-9_\-]{20,}",
    ),
    ("slack-token", "xo xa", r"xox[abposre]-[A-Za-z0-9\-]{10,}|xapp-\d-[A-Za-z0-9\-]{10,}"),
    (
        "slack-webhook",
        "ho",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_\-]{20,}",
    ),
    (
        "discord-webhook",
        "di",
        r"discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_\-]{60,}",
    ),
    ("sendgrid-key", "SG", r"SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"),
    ("huggingface-token", "hf ap", r"hf_[A-Za-z0-9]{30,}|api_org_[A-Za-z0-9]{30,}"),
    ("npm-token", "np", r"npm_[A-Za-z0-9]{36,}"),
    ("pypi-token", "py", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}"),
    (
        "aws-key-id",
        "AK AS AB AC A3",
        r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[0-9A-Z]{16}(?![A-Za-z0-9])",
    ),
    ("aws-bedrock-key", "AB", r"ABSK[A-Za-z0-9+/]{100,}=*"),
    ("azure-ad-client-secret", "", r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}"),
    ("digitalocean-token", "do", r"do[opr]_v1_[a-f0-9]{64}"),
    ("databricks-token", "da", r"dapi[a-f0-9]{32}(?:-\d)?"),
    ("shopify-token", "sh", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"),
    ("twilio-key", "SK", r"SK[0-9a-fA-F]{32}(?![A-Za-z0-9])"),
    ("vault-token", "hv", r"hv[sb]\.[A-Za-z0-9_\-]{24,}"),
    ("doppler-token", "dp", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}"),
    ("linear-key", "li", r"lin_api_[A-Za-z0-9]{40}"),
    ("notion-token", "nt se", r"ntn_[0-9]{11}[A-Za-z0-9]{32,}|secret_[A-Za-z0-9]{43}"),
    ("postman-key", "PM", r"PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}"),
    ("pulumi-token", "pu", r"pul-[a-f0-9]{40}"),
    ("perplexity-key", "pp", r"pplx-[A-Za-z0-9]{40,}"),
    ("groq-key", "gs", r"gsk_[A-Za-z0-9]{40,}"),
    ("xai-key", "xa", r"xai-[A-Za-z0-9]{40,}"),
    ("replicate-token", "r8", r"r8_[A-Za-z0-9]{37}"),
    ("sentry-token", "sn", r"sntry[us]_[A-Za-z0-9+/=_]{40,}"),
    ("age-secret-key", "AG", r"AGE-SECRET-KEY-1[0-9A-Z]{58}"),
    ("atlassian-token", "AT", r"ATATT3[A-Za-z0-9_\-=]{100,}"),
    ("grafana-token", "gl", r"gl(?:c|sa)_[A-Za-z0-9+/=_]{32,}"),
    ("1password-token", "op", r"ops_eyJ[A-Za-z0-9+/=]{100,}"),
    ("brevo-key", "xk", r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}"),
    ("heroku-key", "HR", r"HRKU-[A-Za-z0-9_\-]{60}"),
    ("planetscale-token", "ps", r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9=._\-]{32,64}"),
    ("rubygems-key", "ru", r"rubygems_[a-f0-9]{48}"),
    ("square-token", "sq EA", r"sq0(?:atp|csp)-[A-Za-z0-9_\-]{22,}|EAAA[A-Za-z0-9_\-+=]{60}"),
    ("facebook-token", "EA", r"EAA[MC][A-Za-z0-9]{100,}"),
    ("mailgun-key", "ke", r"key-[0-9a-f]{32}(?![A-Za-z0-9])"),
    ("telegram-bot-token", "", r"[0-9]{8,10}:AA[A-Za-z0-9_\-]{33}"),
    ("maxmind-license-key", "", r"[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk"),
    (
        "teams-webhook",
        "",
        r"[a-z0-9]+\.webhook\.office\.com/webhookb2/[a-z0-9\-]{36}@[a-z0-9\-]{36}"
        r"/IncomingWebhook/[a-z0-9]{32}/[a-z0-9\-]{36}",
    ),
    ("facebook-app-token", "", r"(?<![0-9])[0-9]{15,16}\|[0-9A-Za-z_\-]{27,40}"),
    ("dynatrace-token", "dt", r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}"),
    ("newrelic-key", "NR", r"NRAK-[A-Z0-9]{27}|NRII-[A-Za-z0-9_\-]{32}"),
    ("cloudflare-origin-ca-key", "v1", r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}"),
    ("jwt", "ey", r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ("grafana-key", "eyJrIjoi", r"eyJrIjoi[A-Za-z0-9]{70,400}=*"),  # grafana-api-key
    (
        "1password-secret-key",
        "A3-",
        r"A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})"
        r"-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}",
    ),
    ("adobe-client-secret", "p8e-", r"p8e-[A-Za-z0-9]{32}"),
    ("alibaba-key-id", "LTAI", r"LTAI[A-Za-z0-9]{20}"),
    ("airtable-token", "pat", r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}"),
    ("artifactory-token", "AKCp cmVmd", r"AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59}"),
    ("atlassian-app-password", "ATBB", r"ATBB[A-Za-z0-9]{32}"),
    ("clickhouse-key", "4b1d", r"4b1d[A-Za-z0-9]{38}"),
    ("clojars-token", "CLOJARS_", r"CLOJARS_[A-Za-z0-9]{60}"),
    ("defined-networking-key", "dnkey-", r"dnkey-[A-Za-z0-9=_\-]{26}-[A-Za-z0-9=_\-]{52}"),
    (
        "discord-bot-token",
        "MT Mj Mz ND NT Nj Nz OD OT",
        r"[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}",
    ),
    ("duffel-token", "duffel_", r"duffel_(?:test|live)_[A-Za-z0-9_\-=]{43}"),
    ("easypost-key", "EZAK EZTK", r"EZ[AT]K[A-Za-z0-9]{54}"),
    ("flutterwave-key", "FLWSECK FLWPUBK", r"FLW(?:SECK|PUBK)_TEST-?[a-hA-H0-9]{12,32}(?:-X)?"),
    ("flyio-token", "fo1_ fm1 fm2_", r"fo1_[\w\-]{43}|fm(?:1[ar]|2)_[A-Za-z0-9+/]{100,}=*"),
    ("frameio-token", "fio-u-", r"fio-u-[A-Za-z0-9\-_=]{64}"),
    (
        "harness-token",
        "pat. sat.",
        r"(?:pat|sat)\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}",
    ),
    ("infracost-token", "ico-", r"ico-[A-Za-z0-9]{32}"),
    ("intra42-secret", "s-s4t2", r"s-s4t2(?:ud|af)-[a-f0-9]{64}"),
    ("lob-key", "live_ test_", r"(?:live|test)_(?:pub_)?[a-f0-9]{31,35}(?![A-Za-z0-9])"),
    ("mailgun-key", "pubkey-", r"pubkey-[0-9a-f]{32}(?![A-Za-z0-9])"),
    ("mapbox-token", "pk.eyJ sk.eyJ", r"[ps]k\.eyJ[A-Za-z0-9\-_]{20,}\.[A-Za-z0-9\-_]{22}"),
    ("octopus-key", "API-", r"API-[A-Z0-9]{26}(?![A-Za-z0-9])"),
    ("openshift-token", "sha256~", r"sha256~[\w\-]{43}"),
    (
        "plaid-token",
        "access-",
        r"access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}"
        r"-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    ),
    ("prefect-token", "pnu_", r"pnu_[A-Za-z0-9]{36}"),
    ("readme-token", "rdme_", r"rdme_[a-z0-9]{70}"),
    ("scalingo-token", "tk-us-", r"tk-us-[\w\-]{48}"),
    ("settlemint-token", "sm_", r"sm_(?:pat|aat|sat)_[A-Za-z0-9]{16}"),
    ("shippo-token", "shippo_", r"shippo_(?:live|test)_[a-fA-F0-9]{40}"),
    ("sourcegraph-token", "sgp_", r"sgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}"),
    ("twitter-bearer-token", "AAAAAAAAAA", r"A{20,22}[A-Za-z0-9%]{80,100}"),
    ("typeform-token", "tfp_", r"tfp_[A-Za-z0-9\-_.=]{59}"),
    (
        "vault-token",
        "s.",
        r"s\.(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Z])[A-Za-z0-9]{24}(?![A-Za-z0-9])",
    ),
    (
        "yandex-token",
        "AQVN YC t1.",
        r"AQVN[A-Za-z0-9_\-]{35,38}"
        r"|YC(?=[A-Za-z0-9_\-]*[0-9])[A-Za-z0-9_\-]{38}(?![A-Za-z0-9_\-])"
        r"|t1\.[A-Za-z0-9_\-]+=*\.[A-Za-z0-9_\-]{86}=*",
    ),
    ("dropbox-token", "sl.", r"sl\.[A-Za-z0-9\-=_]{135}"),
]
# Characters a token is made of. Tokens are only looked for inside runs of these (found
# by ``_long_runs``), which is what keeps 1 MB under the time budget.
_RUN_CHARS = r"A-Za-z0-9_\-.~+/=:"
_LAST_SEGMENT_RE = lazy_pattern(r"[^=:/]*$")  # the part of a run after its last = : or /
_TOKEN_RE = lazy_pattern(
    lambda: "|".join(f"(?P<t{i}>{p})" for i, (_, _, p) in enumerate(_TOKENS))
)
# Two leading characters -> the rules that can start with them; rules without a literal
# start are tried on a run only when their marker occurs in it.
_BY_START: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _kind, _starts, _pattern in _TOKENS:
    for _start in _starts.split():
        _BY_START.setdefault(_start, []).append((_kind, lazy_pattern(_pattern)))
# Rules without a literal start, each looked for only around its marker.
# (marker, characters looked at before it, and after it)
_MARKERS = {
    "azure-ad-client-secret": ("Q~", 64, 64),
    "telegram-bot-token": (":AA", 16, 64),
    "maxmind-license-key": ("_mmk", 40, 4),
    "teams-webhook": (".webhook.office.com/", 64, 256),
    "facebook-app-token": ("|", 16, 48),  # only after a digit (``str | None`` is common)
}
_BY_MARKER = [
    (*_MARKERS[kind], kind, lazy_pattern(pattern))
    for kind, starts, pattern in _TOKENS
    if not starts
]
# The known starts at a word boundary, as a trie so the engine rejects most positions on
# their first character.


def _trie_pattern(words: list[str]) -> str:
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here (it may also go on: ``sh`` and ``shippo_``)

    def build(node: dict[str, Any]) -> str:
        alternatives = [
            re.escape(char) + build(child) for char, child in sorted(node.items()) if char
        ]
        if not alternatives:
            return ""
        group = alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"
        if "" in node:  # the longest start that matches is taken, else this shorter one
            return f"(?:{group})?" if len(alternatives) > 1 or len(group) > 1 else f"{group}?"
        return group

    return build(trie)


_START_RE = lazy_pattern(
    # at a word boundary, or right after a JSON escape such as ``\\n`` (serialised text)
    lambda: r"(?:(?<![A-Za-z0-9])|(?<=\\[nrt]))" + _trie_pattern(sorted(_BY_START))
)
# The run characters as a set (a token continues on the next line if it starts with one).
_RUN_SET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~+/=:")
_RUN_START_RE = lazy_pattern(f"[{_RUN_CHARS}]+")
# Run characters -> ``a``, every other byte -> a space: the runs of 20+ are then found by
# ``bytes.find`` of 20 ``a``s, several times faster than a pattern (``[^C]([C]{20,})``) the
# engine tries after every character outside the class.
_RUN_TABLE = bytes(0x61 if chr(i) in _RUN_SET else 0x20 for i in range(256))
_LONG_RUN = b"a" * 20


def at_boundary(text: str, start: int) -> bool:
    """True if a token may start at ``start``: not inside a word (``desk-ant-…``), but
    right after a JSON escape such as ``\\n`` (text that is itself serialised JSON)."""
    if start == 0 or text[start - 1] not in _WORD:
        return True
    return start >= 2 and text[start - 2] == "\\" and text[start - 1] in "nrt"


def _token_kind(match: re.Match[str]) -> str:
    group = match.lastgroup or "t0"
    return _TOKENS[int(group[1:])][0]


def _run_tokens(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """Provider tokens inside the run ``text[start:end]``. A token starts at a word
    boundary with one of the known two-character starts (``_START_RE`` finds those), and
    is then matched against the few rules that can start with them."""
    spans = []
    done = start
    for head in _START_RE.finditer(text, start, end):
        at = head.start()
        if at < done:
            continue
        for kind, pattern in _BY_START[head.group(0)]:
            match = pattern.match(text, at, end)
            if match is not None:
                spans.append((at, match.end(), kind))
                done = match.end()
                break
    return spans


def _marker_tokens(text: str) -> list[tuple[int, int, str]]:
    """Tokens without a literal start (Azure AD client secrets, Telegram bot tokens,
    MaxMind keys, Teams webhooks, Facebook app tokens), looked for only around their
    marker."""
    spans = []
    for marker, before, after, kind, pattern in _BY_MARKER:
        at = text.find(marker)
        while at >= 0:
            if marker != "|" or (at > 0 and text[at - 1].isdigit()):
                window = pattern.finditer(text, max(0, at - before), at + len(marker) + after)
                spans += [(m.start(), m.end(), kind) for m in window]
            at = text.find(marker, at + 1)
    return spans


def _long_runs(shadow: bytes) -> list[tuple[int, int]]:
    """The maximal runs of 20 or more token characters, found on ``shadow``."""
    mapped = shadow.translate(_RUN_TABLE)
    runs = []
    at = mapped.find(_LONG_RUN)
    while at >= 0:
        end = mapped.find(b" ", at + 20)
        end = len(mapped) if end < 0 else end
        runs.append((at, end))
        at = mapped.find(_LONG_RUN, end)
    return runs


def token_spans(text: str, shadow: bytes | None = None) -> list[tuple[int, int, str]]:
    """``shadow``: ``text`` as ASCII bytes, position for position, any non-ASCII character
    as a byte that is not a token character (``text.encode("ascii", "replace")`` when not
    given; its case does not matter)."""
    runs = _long_runs(text.encode("ascii", "replace") if shadow is None else shadow)
    spans = _marker_tokens(text)
    for start, end in runs:
        if start > 0 and text[start - 1] == "\\" and text[start] in "nrt":
            start += 1  # ``\n`` in serialised JSON: the token starts after the escape
        spans += _run_tokens(text, start, end)
        if text.startswith(("\n", "\r", "\\"), end):
            spans += _split_token_spans(text, start, end)
        before = _piece_before(text, start)
        if before is not None:  # a short first piece on the line above
            spans += _split_token_spans(text, *before)
    return spans


def _piece_before(text: str, start: int) -> tuple[int, int] | None:
    """The run of fewer than 20 characters that ends right before a line break ending at
    ``start`` (real, ``\\``-continued or JSON-escaped), or ``None``."""
    if start >= 1 and text[start - 1] == "\n":
        brk = start - 1
        brk -= brk >= 1 and text[brk - 1] == "\r"
        brk -= brk >= 1 and text[brk - 1] == "\\"
    elif start >= 2 and text[start - 2 : start] == "\\n":
        brk = start - 2
        brk -= 2 * (brk >= 2 and text[brk - 2 : brk] == "\\r")
    else:
        return None
    piece = brk
    while piece > 0 and brk - piece < 20 and text[piece - 1] in _RUN_SET:
        piece -= 1
    if piece == brk or brk - piece >= 20:
        return None  # nothing there, or a long piece (found from its own run)
    return piece, brk


def _continuation(text: str, end: int) -> int | None:
    """Where the next line's text starts if a line break (real, ``\\``-continued or
    JSON-escaped) sits at ``end`` and the next line, after its indentation (a key wrapped
    inside an indented block), starts with a token character."""
    for brk in ("\n", "\r\n", "\\\n", "\\n", "\\r\\n", "\\\\\\n"):
        if text.startswith(brk, end):
            after = end + len(brk)
            limit = min(len(text), after + 16)
            while after < limit and text[after] in " \t":
                after += 1
            return after if after < len(text) and text[after] in _RUN_SET else None
    return None


def _split_token_spans(text: str, run_start: int, run_end: int) -> list[tuple[int, int, str]]:
    """A token broken across a line break: join the run before the break with the run
    after it and look again; the span reported covers both pieces."""
    after = _continuation(text, run_end)
    if after is None:
        return []
    tail = _RUN_START_RE.match(text, after, min(len(text), after + 400))
    if tail is None:
        return []
    head = text[run_start:run_end]
    indented = text[after - 1] in " \t"
    segment = _LAST_SEGMENT_RE.search(head)
    if indented and (segment is None or segment.group(0)[:2] not in _BY_START):
        # An indented next line is the usual layout of code: join only a head whose last
        # segment starts like a token (the combined rule set is the costly part).
        return []
    joined = head + tail.group(0)
    spans = []
    for match in _TOKEN_RE.finditer(joined, max(0, len(head) - 400)):
        if len(tail.group(0)) < 20 and _TOKEN_RE.match(head, match.start()) is not None:
            continue  # complete before the break, and a word after it: text, not its tail
        if match.start() < len(head) < match.end() and at_boundary(text, run_start + match.start()):
            spans.append(
                (run_start + match.start(), after + match.end() - len(head), _token_kind(match))
            )
    return spans

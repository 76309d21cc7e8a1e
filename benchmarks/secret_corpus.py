"""The secrets corpus (``secret_corpus.txt``): loader and scoring, shared by
``bench_redact.py`` and ``tests/store/test_redact_shapes.py``.

Format of the data file: ``#`` lines before the first entry are comments; each entry starts
with a header line ``## <id> <secret|lookalike> <lang>`` and its text is every line up to
the next header (trailing blank lines dropped). In the text, ``<<alphabet:n>>`` is a secret
part and ``<<=alphabet:n>>`` filler that is not a secret (an id, a hash), both ``n`` random
characters of ``alphabet`` (see ``ALPHABETS``), generated from a fixed seed per entry, so
the corpus is the same on every run and no value is ever real.

Scoring: a *secret* entry leaks when any 8-character piece of one of its secret parts (the
whole part when shorter) is still in the redacted text; a *look-alike* is a false positive
when redaction changes it at all. ``lang`` is the syntax of the text (``py`` entries are
also checked to still compile after redaction).
"""

from __future__ import annotations

import functools
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).with_name("secret_corpus.txt")
ALPHABETS = {
    "hex": "0123456789abcdef",
    "digits": string.digits,
    "alpha": string.ascii_letters,
    "alnum": string.ascii_letters + string.digits,
    "upper": string.ascii_uppercase + string.digits,
    "lowernum": string.ascii_lowercase + string.digits,
    "b32": "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
    "b64": string.ascii_letters + string.digits + "+/",
    "url": string.ascii_letters + string.digits + "-_",
    # passwords: letters, digits and the punctuation people use in them
    "pw": string.ascii_letters + string.digits + "!#%^*-_+.@",
}
_PLACEHOLDER_RE = re.compile(r"<<(=?)([a-z0-9]+):([0-9]+)>>")
_HEADER_RE = re.compile(r"## (\S+) (secret|lookalike) (\S+)$")
LEAK_WINDOW = 8


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str  # "secret" or "lookalike"
    lang: str
    text: str
    secrets: tuple[str, ...]  # the generated secret parts


def _generate(entry_id: str, template: str) -> tuple[str, tuple[str, ...]]:
    rng = random.Random(f"aio-secret-corpus:{entry_id}")
    secrets: list[str] = []

    def fill(match: re.Match[str]) -> str:
        filler, alphabet, count = match.group(1), ALPHABETS[match.group(2)], int(match.group(3))
        value = "".join(rng.choice(alphabet) for _ in range(count))
        if match.group(2) == "pw":  # a password always has a digit and a letter
            value = rng.choice(string.ascii_letters) + value[2:] + rng.choice(string.digits)
        if not filler:
            secrets.append(value)
        return value

    return _PLACEHOLDER_RE.sub(fill, template), tuple(secrets)


def load(path: Path = DATA) -> list[Entry]:
    entries: list[Entry] = []
    header: re.Match[str] | None = None
    lines: list[str] = []

    def close() -> None:
        if header is not None:
            template = "\n".join(lines).rstrip("\n")
            text, secrets = _generate(header.group(1), template)
            entries.append(Entry(header.group(1), header.group(2), header.group(3), text, secrets))

    for line in path.read_text("utf-8").splitlines():
        if line.startswith("## "):
            close()
            header, lines = _HEADER_RE.match(line), []
            if header is None:
                raise ValueError(f"bad corpus header: {line!r}")
        elif header is not None:
            lines.append(line)
    close()
    ids = [entry.id for entry in entries]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate corpus ids")
    return entries


def leaked(entry: Entry, redacted: str) -> list[str]:
    """The secret parts of ``entry`` (a piece of at least ``LEAK_WINDOW`` characters, or a
    whole shorter part) still found in ``redacted``."""
    found = []
    for secret in entry.secrets:
        width = min(LEAK_WINDOW, len(secret))
        pieces = (secret[i : i + width] for i in range(len(secret) - width + 1))
        if len(redacted) >= INDEXED_FROM and width == LEAK_WINDOW:
            # a whole store searched for every secret: its pieces indexed once
            hit = not _pieces_of(redacted).isdisjoint(pieces)
        else:
            hit = any(piece in redacted for piece in pieces)
        if hit:
            found.append(secret)
    return found


INDEXED_FROM = 20_000  # characters: below, a search per piece is as fast as the index


@functools.lru_cache(maxsize=4)
def _pieces_of(text: str) -> frozenset[str]:
    """Every ``LEAK_WINDOW``-character piece of ``text`` (a piece is in ``text`` iff it is
    in this set)."""
    return frozenset(text[i : i + LEAK_WINDOW] for i in range(len(text) - LEAK_WINDOW + 1))


def false_positive(entry: Entry, redacted: str) -> bool:
    return redacted != entry.text

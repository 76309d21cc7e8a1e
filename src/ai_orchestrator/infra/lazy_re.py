"""Regular expressions compiled on first use, for rule sets where most rules rarely run.

Why: the redaction rules (``secret_rules`` and its modules) hold ~240 patterns, and compiling
them all was ~15% of an ``aio run`` (every process that writes a prompt pays it), while a
typical text reaches only a few: the rules start at literals found with ``str.find``.

Contract: ``lazy_pattern(pattern, flags)`` returns an object that behaves as
``re.compile(pattern, flags)`` for every attribute (``match``, ``search``, ``finditer``,
``sub``, ``pattern``, ``groupindex``…). The first attribute asked for compiles the pattern
(a bad pattern raises ``re.error`` there, not at import: ``tests/store/test_lazy_re.py``
compiles every rule) and copies the compiled pattern's attributes onto the object, so later
calls cost what calls on the compiled pattern cost. It is not an ``re.Pattern`` instance:
pass it to ``re.sub``/``re.match`` and the like as ``p.sub(...)``, never ``re.sub(p, ...)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

_COPIED = (
    "match", "search", "fullmatch", "finditer", "findall", "sub", "subn", "split", "scanner",
    "pattern", "flags", "groups", "groupindex",
)  # fmt: skip


class _LazyPattern:
    def __init__(self, pattern: str | Callable[[], str], flags: int) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:  # only for attributes not yet on the object
        if name.startswith("__"):
            raise AttributeError(name)
        compiled = self.compiled()
        return getattr(compiled, name)

    def compiled(self) -> re.Pattern[str]:
        pattern, flags = self._source
        compiled = re.compile(pattern if isinstance(pattern, str) else pattern(), flags)
        for attr in _COPIED:
            setattr(self, attr, getattr(compiled, attr))
        return compiled

    def __repr__(self) -> str:
        return f"lazy_pattern({self._source[0]!r}, {self._source[1]!r})"


def lazy_pattern(
    pattern: str | Callable[[], str], flags: int | re.RegexFlag = 0
) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, compiled when first used (see the module docstring);
    ``pattern`` may be a function that builds the pattern's text, called then too."""
    return cast("re.Pattern[str]", _LazyPattern(pattern, int(flags)))


def compile_now(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The compiled pattern behind ``pattern`` (a lazy one is compiled now); for tests."""
    if isinstance(pattern, _LazyPattern):
        return pattern.compiled()
    return pattern

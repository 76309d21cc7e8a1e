"""The redaction rules' patterns are compiled on first use (``infra.lazy_re``): every one of
them still compiles (a broken rule must fail here, not in the first prompt that reaches
it), a lazy pattern behaves as the compiled one for every method the rules use, and a
short prompt compiles only a few of them."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from ai_orchestrator.infra import (
    lazy_re,
    secret_context,
    secret_rules,
    secret_shapes,
    secret_tokens,
)
from ai_orchestrator.infra.lazy_re import compile_now, lazy_pattern

RULE_MODULES = (secret_rules, secret_tokens, secret_shapes, secret_context)


def _patterns(value: object, depth: int = 0) -> Iterator[re.Pattern[str]]:
    if isinstance(value, lazy_re._LazyPattern | re.Pattern):
        yield value  # type: ignore[misc]
    elif depth < 4 and isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _patterns(item, depth + 1)
    elif depth < 4 and isinstance(value, dict):
        for item in value.values():
            yield from _patterns(item, depth + 1)


def _module_patterns(module: ModuleType) -> list[re.Pattern[str]]:
    return [p for value in vars(module).values() for p in _patterns(value)]


def test_every_rule_pattern_compiles() -> None:
    found = [p for module in RULE_MODULES for p in _module_patterns(module)]
    assert len(found) > 200  # the token shapes alone are ~200
    for pattern in found:
        compiled = compile_now(pattern)
        assert isinstance(compiled, re.Pattern)
        assert compiled.pattern == pattern.pattern and compiled.flags == pattern.flags


TEXT = "Key: sk-ant-api03-abc\nname = 'v'  token=abc123XYZ\n\tpassword is hunter22"
PATTERNS = [r"(\w+)\s*=\s*(\S+)", r"(?P<k>[a-z]+)", r"\s+", r"pass\w*", r"^x"]


@pytest.mark.parametrize("source", PATTERNS)
@pytest.mark.parametrize("flags", [0, re.IGNORECASE, re.MULTILINE])
def test_a_lazy_pattern_behaves_as_the_compiled_one(source: str, flags: int) -> None:
    lazy, real = lazy_pattern(source, flags), re.compile(source, flags)
    for _ in range(2):  # before and after the first use rebinds the methods
        assert [m.span() for m in lazy.finditer(TEXT)] == [m.span() for m in real.finditer(TEXT)]
        assert lazy.findall(TEXT) == real.findall(TEXT)
        assert lazy.sub("[R]", TEXT) == real.sub("[R]", TEXT)
        assert lazy.subn("[R]", TEXT) == real.subn("[R]", TEXT)
        assert lazy.split(TEXT) == real.split(TEXT)
        for pos in (0, 3, 10, len(TEXT)):
            for method in ("match", "search", "fullmatch"):
                got, want = getattr(lazy, method)(TEXT, pos), getattr(real, method)(TEXT, pos)
                assert (got and got.span()) == (want and want.span())
        assert (lazy.pattern, lazy.flags, lazy.groups) == (real.pattern, real.flags, real.groups)
        assert lazy.groupindex == real.groupindex


def test_a_built_pattern_is_built_once_on_first_use() -> None:
    calls: list[int] = []

    def build() -> str:
        calls.append(1)
        return r"a+"

    pattern = lazy_pattern(build)
    assert calls == []
    assert pattern.match("aaa") is not None and pattern.search("baa") is not None
    assert calls == [1]


def test_a_bad_pattern_fails_on_first_use() -> None:
    pattern = lazy_pattern(r"(unclosed")
    with pytest.raises(re.error):
        pattern.search("x")


@pytest.mark.process  # a fresh interpreter: counts the compiles of one short prompt
def test_a_short_prompt_compiles_few_of_the_rules() -> None:
    code = (
        "import re, sys\n"
        "count = [0]\n"
        "real = re.compile\n"
        "def counting(*a, **k):\n"
        "    count[0] += 1\n"
        "    return real(*a, **k)\n"
        "re.compile = counting\n"
        "from ai_orchestrator.infra.redact import redact\n"
        "assert redact('explain this repository, please') == 'explain this repository, please'\n"
        "assert 'REDACTED' in redact('export API_TOKEN=ghp_' + 'a1B2' * 9)\n"
        "print(count[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    total = sum(len(_module_patterns(m)) for m in RULE_MODULES)
    assert int(out.stdout) < total // 4, (out.stdout, total)

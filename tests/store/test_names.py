from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.names import (
    is_session_name,
    parse_session_name,
    validate_feature_id,
)
from ai_orchestrator.store import SessionStore
from tests.helpers import as_record, examples

FEATURE_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")


@pytest.mark.parametrize(
    "value",
    ["a", "a1", "payment-gateway", "x" * 64, "1-2-3", "a--b"],
)
def test_valid_feature_ids(value: str) -> None:
    assert validate_feature_id(value) == value


@pytest.mark.parametrize(
    "value",
    ["", "-a", "a-", "A", "a_b", "a.b", "a/b", "..", ".", "x" * 65, "é", "a b", "a\n", "a\x00"],
)
def test_invalid_feature_ids_say_what_is_allowed(value: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_feature_id(value)
    assert "lowercase letters" in str(info.value)
    assert info.value.exit_code == 2


def test_session_name_splits_at_first_hyphen() -> None:
    name = parse_session_name("implement-auth-service")
    assert (name.command, name.feature_id) == ("implement", "auth-service")


@pytest.mark.parametrize(
    "value",
    ["implement", "implement-", "-auth", "Implement-auth", "impl_ement-auth", "../x-y", "x-../y"],
)
def test_invalid_session_names(value: str) -> None:
    with pytest.raises(InvalidInput, match="<command>-<feature-id>"):
        parse_session_name(value)


LOWER = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
commands = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(LOWER),
    st.text(alphabet=LOWER + DIGITS, max_size=31),
)
feature_ids = st.from_regex(FEATURE_RE, fullmatch=True)
valid_names = st.builds(lambda c, f: f"{c}-{f}", commands, feature_ids)
# What an attacker (or a typo) adds to a good name.
HOSTILE = ["/", "..", ".", "\\", "\x00", "\n", " ", "é", "A", "_", "-", "~", "%2e", "\u212a"]
mutations = st.lists(
    st.tuples(
        st.sampled_from(["insert", "replace", "prefix", "suffix", "cut"]),
        st.sampled_from(HOSTILE),
        st.integers(min_value=0, max_value=200),
    ),
    min_size=1,
    max_size=3,
)


def mutate(name: str, steps: list[tuple[str, str, int]]) -> str:
    for kind, piece, at in steps:
        at = at % (len(name) + 1)
        if kind == "insert":
            name = name[:at] + piece + name[at:]
        elif kind == "replace":
            name = name[:at] + piece + name[at + 1 :]
        elif kind == "prefix":
            name = piece + name
        elif kind == "suffix":
            name = name + piece
        else:
            name = name[:at]
    return name


def assert_plain_component(store: SessionStore, raw: str) -> None:
    path = store.path_of(raw)
    # Accepted: must be exactly one safe path component below the root.
    assert path.parent == store.root
    assert path.name == raw
    assert os.path.normpath(path) == str(path)
    command, _, feature = raw.partition("-")
    assert FEATURE_RE.match(feature)
    assert command.isascii() and command.isalnum() and command.islower()


@settings(max_examples=examples(400))
@given(valid_names, mutations)
def test_any_accepted_name_is_a_plain_component_inside_the_store(
    name: str, steps: list[tuple[str, str, int]]
) -> None:
    store = SessionStore("/tmp/aio-store-for-names")
    assert_plain_component(store, name)  # every example checks an accepted name...
    hostile = mutate(name, steps)
    try:
        store.path_of(hostile)
    except InvalidInput:
        return
    assert_plain_component(store, hostile)  # ...and its mutation, if still accepted


@settings(max_examples=examples(300))
@given(valid_names, valid_names, st.sampled_from(["same", "upper", "other"]))
def test_two_different_names_never_share_a_directory(a: str, b: str, how: str) -> None:
    store = SessionStore("/tmp/aio-store-for-names")
    if how == "same":
        b = a
    elif how == "upper":
        b = a.upper()  # only differs in case: must be refused, not aliased
        with pytest.raises(InvalidInput):
            store.path_of(b)
        return
    if a == b:
        return
    pa, pb = store.path_of(a), store.path_of(b)
    assert pa != pb
    assert str(pa).casefold() != str(pb).casefold()


def test_hostile_names_never_create_anything_outside(tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    root = sandbox / "store"
    store = SessionStore(root)
    for hostile in ["../escape-x", "run-../../etc", "run-x/../../y", "/abs-x", "run-.", "run-.."]:
        with pytest.raises(InvalidInput):
            store.record(as_record(hostile, {"cost": 0}))
    leftovers = [p for p in sandbox.rglob("*") if p != root]
    assert leftovers == []


@settings(max_examples=examples(400))
@given(st.one_of(valid_names, st.builds(mutate, valid_names, mutations), st.text(max_size=80)))
def test_is_session_name_agrees_with_parse_session_name(value: str) -> None:
    """The listing's one-regex check accepts exactly what parsing accepts."""
    try:
        parse_session_name(value)
    except InvalidInput:
        assert not is_session_name(value)
    else:
        assert is_session_name(value)

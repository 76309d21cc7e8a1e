"""The fast path of ``team.rows`` gives exactly the row of the store's own validation, and
never accepts a line that validation refuses (no server needed)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.names import as_session_name
from ai_orchestrator.store.records import normalize_interaction
from ai_orchestrator.team.rows import TS, _encodable, fast_row, parse_lines, row_of
from tests.team.stores import records

SESSION = as_session_name("implement-login")


def stored(**changes: Any) -> dict[str, Any]:
    base = records("x", 1, seed=1)[0]
    record = normalize_interaction(base, SESSION).to_json()
    record.update(changes)
    return dict(json.loads(json.dumps(record)))


def slow(d: dict[str, Any], prompts: bool = False) -> tuple[Any, ...] | None:
    try:
        return row_of(normalize_interaction(copy.deepcopy(d), SESSION, stored=True), "m", "u",
                      prompts)  # fmt: skip
    except InvalidInput:
        return None


VARIATIONS: list[dict[str, Any]] = [
    {},
    {"cost": 0}, {"cost": 1e9}, {"cost": 1e10}, {"cost": -1}, {"cost": True}, {"cost": "1"},
    {"cost": None}, {"cost_source": "reported"}, {"cost_source": "unpriced"},
    {"cost_source": "transcript"}, {"cost_source": "guess"}, {"cost_source": None},
    {"timestamp": "2026-13-45T00:00:00.000Z"}, {"timestamp": "2026-11-01T10:00:00Z"},
    {"timestamp": "2026-11-01T10:00:00.000+02:00"}, {"timestamp": 5}, {"timestamp": None},
    {"id": ""}, {"id": "x" * 129}, {"id": 7}, {"id": None},
    {"tokens": {"input": 1.0}}, {"tokens": {"input": -1}}, {"tokens": {"input": True}},
    {"tokens": {"input": 2**53 + 1}}, {"tokens": {"bogus": 1}}, {"tokens": {"total": 9}},
    {"tokens": None}, {"tokens": []},
    {"outcome": ""}, {"outcome": 1}, {"outcome": "error:timeout"},
    {"exit_code": True}, {"exit_code": 2**60}, {"exit_code": -1}, {"exit_code": "1"},
    {"duration_ms": 1.5}, {"duration_ms": -3}, {"duration_ms": 2.0},
    {"task_id": 5}, {"task_id": ""}, {"model": ["m"]}, {"agent": False},
    {"savings": 0.5}, {"savings": -0.5}, {"reported_cost": 1.25}, {"reported_cost": "x"},
    {"agent_state": []}, {"agent_state": {"a": 1}}, {"prompt": None}, {"prompt": 3},
    {"prompt_preview": None}, {"response_preview": 5}, {"session_name": "other-x"},
    {"feature_id": "other"}, {"command": None},
    {"usage_by_model": {"m": {"tokens": {"input": 1}, "cost": 0.1}}},
    # what orjson reads differently from the stdlib: integers past 64 bits (floats there),
    # NaN and infinities (refused there), lone surrogates (refused there)
    {"tokens": {"input": 2**64}}, {"tokens": {"output": 2**70}}, {"duration_ms": 2**64 + 1},
    {"exit_code": -(2**64)}, {"cost": 2**64}, {"turns": 2**64}, {"turns": 3},
    {"cost": float("nan")}, {"savings": float("inf")}, {"reported_cost": float("-inf")},
    {"prompt": "a \ud800 b"}, {"model": "m\udfff"}, {"task_id": "T\ud83d"},
    {"source_of_nothing": 2**80}, {"cost_source": ["computed"]},
    {"tokens": {"input": 1, "x": 2**64}}, {"branch": "feat/x"}, {"branch": 5}, {"branch": None},
]  # fmt: skip


@pytest.mark.parametrize("change", VARIATIONS, ids=lambda c: json.dumps(c)[:60])
@pytest.mark.parametrize("prompts", [False, True])
def test_fast_path_equals_the_store_validation(change: dict[str, Any], prompts: bool) -> None:
    d = stored(**change)
    fast = fast_row(copy.deepcopy(d), SESSION, "m", "u", prompts)
    expected = slow(d, prompts)
    if fast is not None:
        assert expected is not None, "the fast path accepted a line the store refuses"
        assert fast == expected
    # a lone surrogate is valid JSON but cannot be sent: the row carries U+FFFD instead
    expected = slow(_encodable(d), prompts)
    rows, corrupt = parse_lines(json.dumps(d).encode() + b"\n", SESSION, "m", "u", prompts)
    if d.get("id") is None:
        assert len(rows) == 1 and rows[0][0].startswith("c-")
        return
    if d.get("timestamp") is None:  # the store stamps it "now" on every read
        rows = [row[:TS] + row[TS + 1 :] for row in rows]
        expected = expected and expected[:TS] + expected[TS + 1 :]
    assert (rows, corrupt) == (([expected], 0) if expected is not None else ([], 1))


def test_common_line_takes_the_fast_path() -> None:
    assert fast_row(stored(), SESSION, "m", "u", False) is not None


def test_lone_surrogates_and_bad_utf8() -> None:
    good = json.dumps(stored(prompt="a \ud800 b", model="m\udfff")).encode()
    data = good + b"\n" + b'{"id": "\xff\xfe"}\n'
    rows, corrupt = parse_lines(data, SESSION, "m", "u", True)
    assert corrupt == 1 and len(rows) == 1
    for value in rows[0]:
        if isinstance(value, str):
            value.encode("utf-8")  # must not raise

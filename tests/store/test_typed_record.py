"""Parse once: ``aio run``'s record is built as an ``Interaction`` and stored as one.

``calls.recording.build_record`` builds the record from the agent's result without a
JSON round trip, and ``SessionStore.record`` checks it on its attributes
(``store.records.check_interaction``). These tests pin that the typed path writes exactly
the bytes the JSON door (``normalize_interaction``) would, and that the attribute checks
refuse every rule the door refuses — a record built in code is no less checked.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.accounting.call_cost import BudgetCheck
from ai_orchestrator.agents.base import AgentResult, TodoEvent
from ai_orchestrator.calls.recording import build_record
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.interaction import Interaction, ModelPart, Tokens
from ai_orchestrator.core.limits import MAX_JSON_DEPTH, MAX_PROMPT_BYTES
from ai_orchestrator.core.names import parse_session_name
from ai_orchestrator.core.usage import ModelUsage
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.records import check_interaction, normalize_interaction, stored_form

SESSION = parse_session_name("run-typed")
KEY = "sk-ant-api03-" + "A1b2C3d4E5f6G7h8" * 5


def _result(**changes: Any) -> AgentResult:
    usage = ModelUsage(input=1200, output=300, cache_read=5000, cache_write_5m=700, requests=1)
    fields: dict[str, Any] = {
        "agent": "claude",
        "outcome": "success",
        "session_id": "11111111-1111-4111-8111-111111111111",
        "model": "claude-sonnet-4-5",
        "text": "done",
        "usage": {"claude-sonnet-4-5": usage},
        "duration_ms": 1234,
        "exit_code": 0,
        "turns": 2,
        "cli_version": "2.1.240",
        "tools_used": ["Edit"],
        "todos": [TodoEvent("TodoWrite", [{"content": "a", "status": "done"}], True)],
        "raw_events": [{"type": "result"}],
    }
    fields.update(changes)
    return AgentResult(**fields)


def _built(result: AgentResult, **changes: Any) -> Interaction:
    options: dict[str, Any] = {
        "session": SESSION,
        "task_id": "T1.1",
        "model": None,
        "cwd": Path("/work/project"),
        "session_id": result.session_id,
        "action": "resumed",
        "state": {"confirmed": True},
    }
    options.update(changes)
    return build_record("implement the thing", result, **options)


CASES = {
    "success": (_result(), {}),
    "budget": (_result(), {"budget": BudgetCheck(1.0, 0.25)}),
    "no usage (unknown)": (_result(usage={}, reported_cost=None), {}),
    "reported cost": (_result(usage={"mystery": ModelUsage(input=5)}, reported_cost=0.5), {}),
    "odd session id": (_result(session_id="odd id/with spaces"), {"note": "a note"}),
    "error, no raw events": (
        _result(outcome="api_error", error="529 overloaded"),
        {"keep_raw_events": False, "task_id": None, "state": None},
    ),
    "escalated": (_result(), {"escalated_from": {"session": "plan-x", "method": "fork"}}),
    "recovered": (
        _result(outcome="interrupted"),
        {"timestamp": "2026-01-02T03:04:05.000Z", "source_always": True, "usage_known": True},
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_typed_record_is_stored_as_the_json_door_would_store_it(case: str) -> None:
    """Same bytes, key order included, as the record's JSON through ``normalize_interaction``
    (the path every record took before): a typed build that drifts in a type (an int cost)
    or in its key order fails here."""
    result, changes = CASES[case]
    record = _built(result, **changes)
    through_door = normalize_interaction(record.to_json(), SESSION)
    assert through_door == record
    assert stored_form(record)[1] == stored_form(through_door)[1]
    assert check_interaction(record) is record


def test_the_record_is_written_in_the_order_records_always_had() -> None:
    record = _built(_result(), budget=BudgetCheck(1.0, 0.0))
    keys = list(json.loads(stored_form(record)[1]))
    assert keys[:3] == ["task_id", "agent", "agent_session_id"]
    assert keys.index("usage_by_model") < keys.index("cost") < keys.index("budget_usd")
    assert keys[-6:] == ["id", "schema_version", "timestamp", "session_name", "command",
                         "feature_id"]  # fmt: skip
    assert json.loads(stored_form(record)[1])["error"] is None  # written as null, as always


def test_nothing_secret_stores_the_record_itself_a_secret_a_masked_copy() -> None:
    plain = _built(_result())
    assert stored_form(plain)[0] is plain
    leaky = _built(_result(text=f"the key is {KEY}", error=f"bad {KEY}"))
    stored, line = stored_form(leaky)
    assert stored is not leaky and isinstance(stored, Interaction)
    assert KEY not in line.decode() and KEY not in (stored.error or "")
    assert KEY in (leaky.error or "")  # the frozen original is never changed


def _part(**values: Any) -> dict[str, ModelPart]:
    return {"m": ModelPart(**values)}


# One member of each class of rule the JSON door enforces, applied to the typed record.
BROKEN: dict[str, dict[str, Any]] = {
    "id breaks the id rule": {"id": "has space"},
    "task id breaks the id rule": {"task_id": "../etc"},
    "agent session id breaks the id rule": {"agent_session_id": "a/b"},
    "timestamp not ISO": {"timestamp": "yesterday"},
    "timestamp in the future": {"timestamp": "9999-01-01T00:00:00.000Z"},
    "prompt over the size limit": {"prompt": "x" * (MAX_PROMPT_BYTES + 1)},
    "raw events nested too deep": {"raw_events": [[]]},  # replaced below
    "negative token count": {"tokens": Tokens(input=-1)},
    "token count over 2**53": {"tokens": Tokens(output=2**53 + 1)},
    "negative duration": {"duration_ms": -5},
    "negative turns": {"turns": -1},
    "NaN cost": {"cost": math.nan},
    "negative cost": {"cost": -0.01},
    "infinite reported cost": {"reported_cost": math.inf},
    "cost over 1e9": {"savings": 2e9},
    "budget NaN": {"budget_usd": math.nan},
    "spent before negative": {"spent_before": -1.0},
    "unknown cost source": {"cost_source": "guessed"},
    "outcome not a known word": {"outcome": "error:no-such-class"},
    "over_budget not a bool": {"over_budget": 1},
    "usage unknown with tokens": {"usage_unknown": True},
    "per-model negative tokens": {"usage_by_model": _part(input=-3)},
    "per-model NaN cost": {"usage_by_model": _part(cost=math.nan)},
    "exit code over 2**53": {"exit_code": 2**60},
}


def _deep(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("rule", BROKEN)
def test_the_store_refuses_a_typed_record_that_breaks_a_rule(rule: str, session_dir: Path) -> None:
    changes = dict(BROKEN[rule])
    if rule == "raw events nested too deep":
        changes["raw_events"] = _deep(MAX_JSON_DEPTH)
    record = _built(_result()).with_changes(**changes)
    # the JSON door refuses the same record: the two checks hold the same rules
    if rule != "NaN cost" and rule != "per-model NaN cost":  # NaN is no JSON at all
        with pytest.raises(InvalidInput):
            normalize_interaction(json.loads(json.dumps(record.to_json())), SESSION)
    with pytest.raises(InvalidInput):
        SessionStore().record(record)
    assert not SessionStore().exists(SESSION)  # refused before anything was written


def test_a_record_of_another_session_is_refused_by_record_unique(session_dir: Path) -> None:
    record = _built(_result())
    with pytest.raises(InvalidInput, match="run-typed"):
        SessionStore().record_unique("run-other", [record])
    assert SessionStore().record_unique(SESSION, [record]) == 1
    assert SessionStore().record_unique(SESSION, [record]) == 0  # same id: stored once


def _recorded_views(tmp_path: Path) -> list[Any]:
    import shutil

    from tests.golden.golden_cases import RECORDED

    shutil.copytree(RECORDED / "store", tmp_path / "store")  # reading may repair: a copy
    store = SessionStore(tmp_path / "store")
    return [store.load(name, repair=False) for name in store.names()]


def test_the_session_summary_is_typed_and_its_json_is_the_stored_object(tmp_path: Path) -> None:
    """``SessionView.summary`` is a frozen ``SessionSummary`` whose attributes are the
    stored summary's values and whose ``to_json()`` is the stored object (key order too)."""
    import dataclasses

    from ai_orchestrator.store.summary import SessionSummary

    views = _recorded_views(tmp_path)
    assert len(views) >= 5
    for view in views:
        summary = view.summary
        assert isinstance(summary, SessionSummary)
        data = summary.to_json()
        assert list(data) == list(summary.data) and data == dict(summary.data)
        assert summary.name == data["session_name"] == view.name
        assert summary.interaction_count == data["interaction_count"]
        assert summary.failed_interactions == data["failed_interactions"]
        assert summary.tokens.to_json() == {k: data["tokens"][k] for k in data["tokens"]}
        assert summary.cost == data["cost"] and summary.savings == data["savings"]
        assert summary.agent == (data["agent"] or None)
        assert summary.agent_session_id == (data["agent_session_id"] or None)
        assert summary.last_used == data["last_used"]
        assert dict(summary.agent_state) == data["agent_state"]
        assert set(summary.by_model) == set(data["by_model"])
        for model, bucket in summary.by_model.items():
            stored = data["by_model"][model]
            assert bucket.interactions == stored["interactions"]
            assert bucket.cost == stored["cost"] and bucket.unpriced == stored["unpriced"]
            assert bucket.tokens.to_json() == stored["tokens"]
        with pytest.raises(dataclasses.FrozenInstanceError):
            summary.cost = 1.0  # type: ignore[misc]
        data["cost"] = -1  # a copy: the view's summary never changes
        assert summary.to_json()["cost"] != -1


def test_the_summary_fields_said_by_calls_are_typed(session_dir: Path) -> None:
    """Failed calls per outcome, lineage, context size and compactions — present once a
    call said them — are attributes, equal to the stored values."""
    from ai_orchestrator.store.summary import ContextSize

    store = SessionStore()
    lineage = {"method": "fork", "session": "plan-parent", "feature": "parent"}
    store.record(_built(_result(), lineage=lineage).with_changes(context_tokens=9000))
    store.record(_built(_result(outcome="timeout", session_id=None)))
    marker = {"method": "agent", "trigger": "manual", "before": 9000}
    store.record(_built(_result(), compaction=marker).with_changes(context_tokens=1200))
    summary = store.load(SESSION).summary
    data = summary.to_json()
    assert dict(summary.failed_by_outcome) == data["failed_by_outcome"] == {"timeout": 1}
    assert summary.lineage == data["lineage"] == lineage
    assert summary.context == ContextSize(1200, "claude-sonnet-4-5", data["context"]["at"])
    assert [dict(e) for e in summary.compactions] == data["compactions"]
    assert summary.compactions[0]["before"] == 9000


@pytest.mark.parametrize(
    "odd",
    [
        {"context": {"tokens": True}},
        {"context": {"tokens": "9000"}},
        {"context": [1]},
        {"compactions": 5},
        {"compactions": {"at": "x"}},
        {"compactions": ["x", 3]},
        {"failed_by_outcome": {"timeout": "1", "error": 2.5}},
        {"failed_by_outcome": [1]},
        {"lineage": "fork"},
        {"by_model": {"m": 5, "n": [1]}},
        {"by_model": [1]},
    ],
)
def test_odd_said_fields_read_as_absent_never_a_crash(odd: dict[str, Any]) -> None:
    from ai_orchestrator.core.names import SessionName
    from ai_orchestrator.store.summary import SessionSummary, empty_summary

    data = {**empty_summary(SessionName("run", "x")), **odd}
    summary = SessionSummary.from_json(data, SessionName("run", "x"))
    assert summary.context is None and summary.compactions == ()
    assert dict(summary.failed_by_outcome) == {} and summary.lineage is None
    assert dict(summary.by_model) == {} and not summary.by_model
    assert summary.to_json() == data  # the stored object itself, whatever it holds


def test_the_index_rows_summary_is_the_sessions_summary(tmp_path: Path) -> None:
    """``SessionRow.summary`` (a listing's row) is the typed summary ``load`` gives, its
    ``to_json()`` the stored object; ``SessionRow.document`` is the index's document."""
    from ai_orchestrator.store.index_row import SessionRow

    for view in _recorded_views(tmp_path):
        row = SessionRow.from_view(view)
        assert row.summary == view.summary
        assert row.summary.to_json() == view.summary.to_json()
        assert row.document == json.loads(json.dumps(view.to_dict()))

"""The typed interaction record (``core.interaction``) and the store's edge.

Every record the recorded store holds (written by the code of the day, schema version 1,
a shell-version session, an import with a field aio does not know) reads back as an
``Interaction`` whose ``to_json()`` is the stored object itself, key order included; odd
or unknown values are kept, never dropped; and an export/import round trip keeps them.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from ai_orchestrator.core.interaction import Interaction, ModelPart, Tokens
from ai_orchestrator.core.names import SessionName, as_session_name, parse_session_name
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.records import normalize_interaction
from tests.golden.golden_cases import RECORDED
from tests.helpers import aio_inprocess, as_record

LOGGED = sorted((RECORDED / "store").glob("*/interactions.jsonl"))


@pytest.mark.parametrize("log", LOGGED, ids=[p.parent.name for p in LOGGED])
def test_every_recorded_line_reads_back_to_itself(log: Path) -> None:
    session = parse_session_name(log.parent.name)
    lines = log.read_text().splitlines()
    assert lines
    for line in lines:
        record = normalize_interaction(json.loads(line), session, stored=True)
        assert isinstance(record, Interaction)
        again = json.dumps(record.to_json(), ensure_ascii=False, separators=(",", ":"))
        assert again == line  # same keys, same order, same number formatting
        assert Interaction.from_json(record.to_json()) == record


def test_attributes_carry_the_schema() -> None:
    records = SessionStore(RECORDED / "store").read_log("run-multi-model").records
    first, mixed, interrupted, recovered, fresh = records
    assert first.session == SessionName("run", "multi-model")
    assert isinstance(first.tokens, Tokens) and first.tokens.cache_read == 1000
    assert first.usage_by_model is not None
    opus = first.usage_by_model["claude-opus-4-1"]
    assert isinstance(opus, ModelPart) and opus.priced is True and opus.input == 2000
    assert opus.extra["model_ref"]  # pricing's own keys ride along
    assert first.turns == 3 and first.tools_used == ["Read", "Edit"]
    assert mixed.cost_source == "reported" and mixed.reported_cost == 0.05
    assert mixed.usage_by_model is not None
    assert mixed.usage_by_model["gemini-unknown-9"].priced is False
    assert interrupted.outcome == "interrupted" and interrupted.exit_code == 130
    assert interrupted.usage_unknown is True and interrupted.cost_source == "unpriced"
    assert recovered.cost_source == "transcript" and recovered.error
    assert fresh.fresh and fresh.exit_code == 1 and fresh.outcome == "error:api_error"


def test_unknown_and_odd_values_are_kept_verbatim() -> None:
    records = SessionStore(RECORDED / "store").read_log("run-multi-model").records
    interrupted = records[2]
    # a field aio does not know, and "usage_source" written as a string (ours is an object)
    assert interrupted.extra == {"x_custom_field": {"kept": [1, 2, 3]}, "usage_source": "none"}
    assert interrupted.usage_source is None
    assert interrupted.to_json()["usage_source"] == "none"
    odd = normalize_interaction(
        {"id": "odd-1", "turns": "three", "tools_used": "Read", "cost": 1},
        SessionName("run", "x"),
        stored=True,
    )
    assert odd.turns is None and odd.tools_used is None
    assert odd.to_json()["turns"] == "three" and odd.to_json()["tools_used"] == "Read"


def test_records_are_frozen() -> None:
    record = SessionStore(RECORDED / "store").read_log("review-calc-basics").records[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.cost = 0.0  # type: ignore[misc]
    cheaper = record.with_changes(cost=0.5)
    assert cheaper.cost == 0.5 and record.cost != 0.5
    assert list(cheaper.to_json()) == list(record.to_json())  # same place for every field


def test_shell_version_records_load_as_interactions() -> None:
    store = SessionStore(RECORDED / "store")
    records = store.read_log("implement-payment-gateway").records
    assert [r.model for r in records] == ["claude-3-sonnet", "claude-3-opus"]
    assert all(r.imported_from == "ai-session.sh" for r in records)
    assert records[0].tokens == Tokens(input=150, output=50)
    assert records[1].cost == 0.000048
    assert store.load("implement-payment-gateway").legacy  # reading converted nothing


def test_a_record_built_in_code_stores_like_one_read_from_json(session_dir: Path) -> None:
    built = Interaction(
        session=SessionName("run", "built"),
        id="built-1",
        timestamp="2026-11-01T00:00:00.000Z",
        agent="claude",
        model="claude-sonnet-4-5",
        tokens=Tokens(input=10, output=2),
        cost=0.5,
        exit_code=0,
        usage_by_model={"claude-sonnet-4-5": ModelPart(input=10, output=2, cost=0.5)},
    )
    data = built.to_json()
    assert "cwd" not in data and "error" not in data  # optional fields: absent while None
    assert data["exit_code"] == 0 and data["reported_cost"] is None
    stored = SessionStore().record(as_record("run-built", built))
    assert stored == built
    [read] = SessionStore().read_log("run-built").records
    assert read == built and read.to_json() == data


def test_export_import_round_trip_keeps_unknown_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source"
    shutil.copytree(RECORDED / "store", source)
    monkeypatch.setenv("SESSION_DIR", str(source))
    exported = aio_inprocess("session", "export", "--output", "-")
    assert exported.code == 0, exported.err
    (tmp_path / "export.json").write_text(exported.out)
    monkeypatch.setenv("SESSION_DIR", str(tmp_path / "target"))
    done = aio_inprocess("session", "import", str(tmp_path / "export.json"))
    assert done.code == 0, done.err
    again = aio_inprocess("session", "export", "--output", "-")
    first = {s["session_name"]: s["interactions"] for s in json.loads(exported.out)}
    second = {s["session_name"]: s["interactions"] for s in json.loads(again.out)}
    assert second["run-multi-model"] == first["run-multi-model"]
    assert second["plan-imported-thing"][0]["team_label"] == "kept-on-import"
    assert second["run-multi-model"][2]["x_custom_field"] == {"kept": [1, 2, 3]}


def test_the_store_takes_a_parsed_session_name(session_dir: Path) -> None:
    session = as_session_name("run-typed")
    assert as_session_name(session) is session  # passed on, never parsed again
    store = SessionStore()
    stored = store.record(as_record(session, {"cost": 0.25}))
    assert stored.session == session
    assert store.exists(session) and store.path_of(session) == session_dir / "run-typed"
    lock = store.run_lock(session, timeout=0)
    lock.release()
    assert [r.id for r in store.read_log(session).records] == [stored.id]
    assert store.load(session).summary.to_json()["cost"] == 0.25

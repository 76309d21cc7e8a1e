"""Hostile numbers and shapes are refused before anything is written, and a poisoned
line already on disk (written by an older version or by hand) never breaks a session,
the store, or another session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.index import SummaryIndex
from ai_orchestrator.store.session_store import LOG, METADATA
from tests.helpers import aio_inprocess as aio
from tests.helpers import as_record, interaction

POISON: list[dict[str, Any]] = [
    {"tokens": {"input": 2**63 + 1}},
    {"tokens": {"output": 10**30}},
    {"duration_ms": 2**64},
    {"cost": 1e308},
    {"cost": 10**400},
    {"savings": 1e308},
    {"savings": "a lot"},
    {"reported_cost": 2e9},
    {"usage_by_model": {"m": {"input": "abc"}}},
    {"usage_by_model": {"m": {"input": 2**63}}},
    {"usage_by_model": {"m": {"cost": float("inf")}}},
    {"usage_by_model": {"m": "not an object"}},
    {"usage_by_model": {"m": {"priced": "yes"}}},
    {"usage_by_model": ["m"]},
    {"agent_state": "not an object"},
    {"exit_code": 2**70},
    {"cwd": {"a": 1}},
    {"timestamp": "0001-01-01T00:00:00+01:00"},
    {"timestamp": "9999-12-31T23:59:59-01:00"},
    {"extra": float("nan")},
    {"extra": float("inf")},
]


def files_of(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


@pytest.mark.parametrize("poison", POISON, ids=lambda p: json.dumps(p, default=str)[:40])
def test_poison_is_refused_and_nothing_is_written(
    session_dir: Path, poison: dict[str, Any]
) -> None:
    store = SessionStore()
    store.record(as_record("run-x", interaction(cost=0.5)))
    before = files_of(session_dir / "run-x")
    with pytest.raises(InvalidInput):
        store.record(as_record("run-x", interaction(**poison)))
    with pytest.raises(InvalidInput):
        store.record_unique("run-x", [as_record("run-x", interaction(id="imported-1", **poison))])
    assert files_of(session_dir / "run-x") == before


@pytest.mark.parametrize(
    "stdin",
    [
        '{"tokens": {"input": 9223372036854775809}}',
        '{"cost": 1e308}',
        '{"usage_by_model": {"m": {"input": "abc"}}}',
        '{"cost": NaN}',
        '{"extra": Infinity}',
        "[" * 100_000 + "]" * 100_000,
        '{"timestamp": "0001-01-01T00:00:00+01:00"}',
    ],
    ids=["tokens", "cost", "usage", "nan", "infinity-extra", "deep", "timestamp"],
)
def test_record_cli_refuses_poison_with_exit_2(session_dir: Path, stdin: str) -> None:
    assert aio("session", "record", "run-x", input='{"cost": 1}').code == 0
    result = aio("session", "record", "run-x", input=stdin)
    assert result.code == 2, result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
    again = aio("session", "record", "run-x", input=stdin)  # the second try, too
    assert again.code == 2
    shown = aio("session", "show", "run-x", "--json")
    assert shown.code == 0 and shown.json()["interaction_count"] == 1
    assert shown.json()["problems"] == []


def test_import_refuses_poison_without_touching_the_store(
    session_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            [
                {"session_name": "run-a", "interactions": [interaction(cost=0.1)]},
                {"session_name": "run-b", "interactions": [{"cost": 1e308}]},
            ]
        )
    )
    result = aio("session", "import", str(bad))
    assert result.code == 2 and "cost" in result.err
    assert not session_dir.exists() or not any(session_dir.iterdir())


@pytest.mark.parametrize(
    "line",
    [
        {"tokens": {"input": 2**63 + 1}},
        {"cost": 1e308},
        {"usage_by_model": {"m": {"input": "abc"}}},
        {"savings": "x"},
    ],
)
def test_a_poisoned_line_on_disk_is_skipped_and_reported(
    session_dir: Path, line: dict[str, Any]
) -> None:
    store = SessionStore()
    store.record(as_record("run-x", interaction(cost=0.5)))
    store.record(as_record("run-y", interaction(cost=0.25)))
    poisoned = {**interaction(), "id": "p1", **line}
    with open(session_dir / "run-x" / LOG, "a") as handle:
        handle.write(json.dumps(poisoned) + "\n")
        handle.write(json.dumps(poisoned) + "\n")  # twice: the old "second record" case
    for args in (["list", "--json"], ["stats", "--json"], ["stats", "--by", "model", "--json"]):
        result = aio("session", *args)
        assert result.code == 0, result.err
    shown = aio("session", "show", "run-x", "--json")
    assert shown.code == 0 and shown.json()["interaction_count"] == 1
    assert any("2 unreadable line(s)" in p for p in shown.json()["problems"])
    exported = aio("session", "export")
    assert exported.code == 0
    assert [s["session_name"] for s in json.loads(exported.out)] == ["run-x", "run-y"]
    assert aio("session", "record", "run-x", input='{"cost": 1}').code == 0
    assert aio("session", "repair", "run-x", "--json").json()["quarantined_lines"] == 2
    assert aio("session", "show", "run-x", "--json").json()["interaction_count"] == 2


def test_summary_totals_beyond_sqlite_integers_do_not_break_listing(session_dir: Path) -> None:
    """A hand-made summary with totals past 2**63 is served uncached, not a crash."""
    store = SessionStore()
    store.record(as_record("run-x", interaction()))
    store.record(as_record("run-y", interaction(cost=0.25)))
    meta = session_dir / "run-x" / METADATA
    summary = json.loads(meta.read_text())
    summary["tokens"]["input"] = 2**70
    summary["interaction_count"] = 2**64
    meta.write_text(json.dumps(summary))
    rows, errors = SummaryIndex(store).rows()
    assert errors == [] and {r.name for r in rows} == {"run-x", "run-y"}
    for args in (["list", "--json"], ["stats", "--json"], ["list", "--sort", "tokens"]):
        result = aio("session", *args)
        assert result.code == 0, result.err
    assert aio("session", "stats", "--json").json()["tokens"]["input"] == 2**70 + 100

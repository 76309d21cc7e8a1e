"""Ids, names and timestamps are never redacted but validated (exit 2 otherwise), so a
secret-looking id keeps its identity: import stays idempotent and ``record`` reports the
id it stored. And every other file aio writes from prompts and agent output is redacted:
the todo log, ``.aio/`` history, YAML and artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_orchestrator.infra.fsutil import write_artifact
from ai_orchestrator.store import SessionStore
from ai_orchestrator.workflow.project.history import append_event, make_event, read_events
from ai_orchestrator.workflow.project.workspace import read_yaml, write_yaml
from tests.helpers import aio_inprocess as aio
from tests.helpers import as_record, interaction

SECRET_IDS = [
    "sk-ant-api03-Xq7vR2mN8pL4kJ9hG6fD3sA1zC5bV0nM-QwErTyUiOp",
    "sk-ant-api03-Zz9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF-AsDfGhJkLz",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
]
KEY = "sk-proj-4fGh7JkL9mNpQrStUvWxYz0123456789AbCdEf"


def _export(records: list[dict[str, object]]) -> str:
    return json.dumps([{"session_name": "run-x", "interactions": records}])


def test_import_of_secret_looking_ids_is_idempotent(session_dir: Path, tmp_path: Path) -> None:
    """Three distinct secret-looking ids stay three records, however often imported (the
    bug: they collapsed into one redacted id and each import added them again)."""
    records = [interaction(id=rid, prompt=f"use {KEY}", agent_session_id=rid) for rid in SECRET_IDS]
    path = tmp_path / "export.json"
    path.write_text(_export(records))
    for _ in range(3):
        result = aio("session", "import", str(path), "--json")
        assert result.code == 0, result.err
    stored = [r.to_json() for r in SessionStore().read_log("run-x").records]
    assert [r["id"] for r in stored] == SECRET_IDS
    assert [r["agent_session_id"] for r in stored] == SECRET_IDS
    assert all(KEY not in r["prompt"] for r in stored)
    assert aio("session", "show", "run-x", "--json").json()["interaction_count"] == 3


def test_record_reports_the_id_it_stored(session_dir: Path) -> None:
    payload = json.dumps(interaction(id=SECRET_IDS[0], task_id=SECRET_IDS[2]))
    first = aio("session", "record", "run-x", input=payload)
    again = aio("session", "record", "run-x", input=payload)
    assert first.code == 0 and again.code == 0, first.err + again.err
    assert first.json() == {"schema_version": 1, "id": SECRET_IDS[0], "added": True}
    assert again.json()["added"] is False
    [stored] = [r.to_json() for r in SessionStore().read_log("run-x").records]
    assert stored["id"] == SECRET_IDS[0] and stored["task_id"] == SECRET_IDS[2]


BAD_IDS = ["a b", "a/b", "../x", "x\ny", '"q"', "", "-lead", "é1", "x" * 129, "a;rm", 7.5]


@pytest.mark.parametrize("field", ["id", "agent_session_id", "task_id"])
@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_unsafe_ids_are_refused_with_exit_2(
    session_dir: Path, tmp_path: Path, field: str, bad: object
) -> None:
    result = aio("session", "record", "run-x", input=json.dumps(interaction(**{field: bad})))
    if field != "id" and bad in ("", 7.5):
        # optional ids: empty means none, a number is taken as its text ("7.5")
        assert result.code == 0, result.err
        return
    assert result.code == 2, (result.code, result.err)
    assert result.err.strip().count("\n") == 0 and "Traceback" not in result.err
    assert field in result.err
    path = tmp_path / "import.json"
    path.write_text(_export([interaction(id="ok-1"), interaction(**{field: bad, "id": "ok-2"})]))
    if field == "id":
        path.write_text(_export([interaction(id="ok-1"), interaction(id=bad)]))
    assert aio("session", "import", str(path)).code == 2
    assert not (session_dir / "run-x").exists()  # nothing stored, not even the good record


def test_timestamps_and_names_are_kept_as_given(session_dir: Path) -> None:
    store = SessionStore()
    stored = store.record(as_record(
        "implement-sk-ant-api03-abcdefghijklmnopqrstuvwx",
        interaction(timestamp="2026-10-01T10:00:00Z", id="t-1"),
    ))
    assert stored.session_name == "implement-sk-ant-api03-abcdefghijklmnopqrstuvwx"
    assert stored.feature_id == "sk-ant-api03-abcdefghijklmnopqrstuvwx"
    assert stored.timestamp == "2026-10-01T10:00:00.000Z"  # normalised, not redacted


def test_preview_never_keeps_half_a_secret(session_dir: Path) -> None:
    """The preview is the first 100 characters: cut from the raw prompt it would end in
    a piece of the key too short for any rule."""
    prompt = "x" * 80 + " " + KEY + " and more"
    stored = SessionStore().record(as_record("run-x", interaction(prompt=prompt)))
    assert KEY[:12] not in json.dumps(stored.to_json())
    assert KEY[:12] not in (session_dir / "run-x" / "interactions.jsonl").read_text()


def test_workspace_files_are_redacted_but_ids_kept(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    event = make_event(
        "implement",
        arguments={"description": f"use {KEY}"},
        status="failed",
        duration_ms=5,
        task_id=SECRET_IDS[2],
        session="implement-f",
        error=f"agent said OPENAI_API_KEY={KEY}",
        details={"headers": {"Authorization": "Bearer abc.def"}},
    )
    append_event(history, event)
    [stored], bad = read_events(history)
    assert bad == 0 and KEY not in history.read_text()
    assert stored["task_id"] == SECRET_IDS[2] and stored["timestamp"] == event["timestamp"]
    assert stored["details"]["headers"]["Authorization"] == "[REDACTED:authorization]"

    plan = tmp_path / "plan.yaml"
    write_yaml(
        plan,
        {
            "phases": [
                {
                    "id": 1,
                    "tasks": [
                        {
                            "id": SECRET_IDS[2],
                            "dependencies": [SECRET_IDS[0]],
                            "description": f"call the API with {KEY}",
                        }
                    ],
                }
            ]
        },
    )
    task = read_yaml(plan)["phases"][0]["tasks"][0]
    assert task["id"] == SECRET_IDS[2] and task["dependencies"] == [SECRET_IDS[0]]
    assert KEY not in plan.read_text() and "[REDACTED:openai-key]" in task["description"]

    artifact = tmp_path / "artifacts" / "review.json"
    write_artifact(artifact, json.dumps({"comment": f"found {KEY}"}).encode() + b"\xff")
    data = artifact.read_bytes()
    assert KEY.encode() not in data and data.endswith(b"\xff")
    assert json.loads(data[:-1])["comment"] == "found [REDACTED:openai-key]"


def test_logs_written_before_the_id_rule_stay_readable(session_dir: Path) -> None:
    """Lines stored by earlier versions (a redacted id, an id with a space) are read back,
    not counted as corrupt: the rule applies to what is written from now on."""
    store = SessionStore()
    store.record(as_record("run-x", interaction(id="new-1")))
    log = session_dir / "run-x" / "interactions.jsonl"
    [line] = log.read_text().splitlines()
    old = json.loads(line)
    extra = [
        {**old, "id": "[REDACTED:anthropic-key]", "agent_session_id": "[REDACTED:jwt]"},
        {**old, "id": "old id 2", "task_id": "T 1"},
    ]
    with log.open("a") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in extra)
    read = store.read_log("run-x")
    assert [r.id for r in read.records] == ["new-1", "[REDACTED:anthropic-key]", "old id 2"]
    assert read.corrupt_lines == []
    assert aio("session", "show", "run-x", "--json").json()["interaction_count"] == 3


def test_an_agent_session_id_breaking_the_rule_never_loses_the_call(session_dir: Path) -> None:
    """The agent's session id comes from its output, after the call: one that breaks the
    id rule is kept as text (agent_session_ref, redacted like any text) and the call is
    recorded."""
    from ai_orchestrator.agents.base import AgentResult
    from ai_orchestrator.calls.recording import build_record
    from ai_orchestrator.core.names import parse_session_name

    result = AgentResult(agent="claude", outcome="success", text="done")
    record = build_record(
        f"use {KEY}",
        result,
        session=parse_session_name("run-x"),
        task_id="T1.1",
        model="sonnet",
        cwd=session_dir,
        session_id="odd id/with spaces",
        action="fresh",
        state=None,
    )
    stored = SessionStore().record(record)
    assert stored.agent_session_id is None
    assert stored.agent_session_ref == "odd id/with spaces"
    assert KEY not in json.dumps(stored.to_json())


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_test_run_logs_are_redacted(tmp_path: Path) -> None:
    """Test output is written by the test runner itself; the log (and the tail shown to
    the agent and the user) is redacted as soon as the run ends."""
    import sys

    from ai_orchestrator.workflow.testing.testrun import run_tests

    script = tmp_path / "leaky.py"
    script.write_text(f"print('connecting with OPENAI_API_KEY={KEY}')\n")
    run = run_tests(
        [sys.executable, str(script)],
        cwd=tmp_path,
        label="green-1",
        artifacts=tmp_path / "artifacts",
        timeout=60,
    )
    log = (tmp_path / "artifacts" / "green-1.log").read_text()
    assert "OPENAI_API_KEY=[REDACTED:" in log and KEY not in log
    assert KEY not in run.tail

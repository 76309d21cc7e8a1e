"""An escalation's lineage keeps its session name and conversation id (validated, never taken
for a secret although the keys say "session"), and still loses a secret in its free text."""

from __future__ import annotations

import json
from pathlib import Path

from ai_orchestrator.store import SessionStore
from ai_orchestrator.workflow.project.history import append_event
from tests.helpers import as_record, interaction

SECRET = "sk-ant-api03-" + "A1b2C3d4E5f6G7h8" * 5
LINEAGE = {
    "session": "implement-payment-gateway-v2",  # 20+ characters and a digit: looks like a token
    "agent": "claude",
    "model": "sonnet",
    "agent_session_id": "9b1f3c2e-5d4a-4e8b-9a61-2f0c7d3e1a55",
    "method": "fork",
    "reason": f"fix rounds ran out; the log showed {SECRET}",
    "to_agent": "claude",
    "to_model": "opus",
}


def test_the_record_keeps_the_lineage_ids_and_redacts_its_text(session_dir: Path) -> None:
    record = {**interaction(), "escalated_from": LINEAGE}
    SessionStore().record(as_record("implement-payment-gateway-v2", record))
    line = (session_dir / "implement-payment-gateway-v2" / "interactions.jsonl").read_text()
    stored = json.loads(line)["escalated_from"]
    assert stored["session"] == LINEAGE["session"]
    assert stored["agent_session_id"] == LINEAGE["agent_session_id"]
    assert SECRET not in line and "fix rounds ran out" in stored["reason"]


def test_an_invalid_lineage_id_is_redacted_like_any_text(session_dir: Path) -> None:
    odd = {**LINEAGE, "session": SECRET}
    SessionStore().record(as_record("implement-x", {**interaction(), "escalated_from": odd}))
    line = (session_dir / "implement-x" / "interactions.jsonl").read_text()
    assert SECRET not in line


def test_the_history_event_keeps_the_lineage_ids(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    append_event(path, {"command": "escalate", "details": {"escalation": LINEAGE}})
    text = path.read_text()
    escalation = json.loads(text)["details"]["escalation"]
    assert escalation["session"] == LINEAGE["session"]
    assert escalation["agent_session_id"] == LINEAGE["agent_session_id"]
    assert SECRET not in text

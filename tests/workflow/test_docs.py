"""The README's seed-guide table lists every command of the seed guide, and
docs/workflow.md documents every config key and history status the code has."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ai_orchestrator.workflow.project.config import Config, PhaseConfig
from ai_orchestrator.workflow.project.history import STATUSES

ROOT = Path(__file__).resolve().parents[2]

# Every command line of the seed's AI_SESSION_MANAGEMENT_GUIDE.md (its ```bash blocks).
SEED_COMMANDS = (
    "./scripts/implement.sh my-feature --task T1.1",
    './scripts/plan.sh my-feature "Create a detailed plan"',
    "USE_SESSIONS=false ./scripts/implement.sh my-feature --task T1.1",
    "export USE_SESSIONS=false",
    "export USE_SESSIONS=true",
    "./scripts/init-session.sh payment-gateway",
    './scripts/plan.sh payment-gateway "Design payment processing system"',
    "./scripts/implement.sh payment-gateway --task T1.1",
    "./scripts/ai-session.sh list",
    "./scripts/ai-session.sh show implement-payment-gateway",
    "./scripts/ai-session.sh stats",
    "./scripts/ai-session.sh clean --older-than 30",
    "./scripts/ai-session.sh export --output sessions-backup.json",
    "USE_SESSIONS=true ./scripts/implement.sh my-feature --task T1.1",
    "./scripts/track-session-todo.sh report",
    "./scripts/ai-session.sh show implement-auth-service | grep Cost",
    "./scripts/ai-session.sh export | jq '[.[].interactions[].cost] | add'",
    "export SESSION_DIR=/path/to/sessions",
    "export AI_MODEL=sonnet",
    "./scripts/ai-session.sh list | grep your-feature",
    "echo $USE_SESSIONS",
    "./scripts/ai-session.sh show expensive-session",
    "rm ~/.ai-sessions/session-name/.lock",
    "USE_SESSIONS=true ./scripts/implement.sh test-feature --task T1",
    "review.sh",
    "verify.sh",
)


def _section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    return text[start : end if end != -1 else None]


def test_readme_maps_every_seed_guide_command() -> None:
    table = _section((ROOT / "README.md").read_text(), "## From the seed guide")
    missing = [c for c in SEED_COMMANDS if c.replace("|", "\\|") not in table]
    assert missing == []
    # every row says why it differs (or "—" where it does not), in a third column
    rows = [line for line in table.splitlines() if line.startswith("| `") or line.startswith("| —")]
    assert rows and all(line.count(" | ") >= 2 for line in rows), rows
    assert "helper engineer" not in table and "seed-commands.md" not in table


def test_workflow_doc_covers_config_keys_and_statuses() -> None:
    doc = (ROOT / "docs" / "workflow.md").read_text()
    keys = [f.name for f in dataclasses.fields(Config) if f.name not in ("phases", "unknown_keys")]
    keys += [f.name for f in dataclasses.fields(PhaseConfig)]
    assert [k for k in keys if f"`{k}`" not in doc and f"`[{k}]" not in doc] == []
    assert [s for s in STATUSES if s not in _section(doc, "### `history.jsonl`")] == []
    assert "(docs/workflow.md)" in (ROOT / "README.md").read_text()

"""The README's "Shell orchestrator → aio" table covers every script of the shell version
(seed-system.md §1.1), each with what replaces it or why it was dropped."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SHELL_SCRIPTS = (
    "ai-command-wrapper.sh", "ai-session.sh", "track-session-todo.sh", "init-session.sh",
    "update-session-state.sh", "plan.sh", "implement.sh", "review-code.sh",
    "review-architecture.sh", "verify.sh", "status.sh", "escalate.sh", "history.sh",
    "switch-feature.sh", "list-sessions.sh", "cleanup-sessions.sh", "log-command.sh",
    "verify-contract-acknowledgment.sh", "lint-prompts.sh", "lint-prompts-minimal.sh",
    "validate-command-structure.sh", "validate-command-structure-simple.sh",
    "validate-simple.sh", "discover-commands.sh", "discover-commands-debug.sh",
    "generate-help.sh", "generate-help-simple.sh", "resolve-command-path.sh",
    "expand-command-template.sh", "fix-prompts.sh", "claude-test", "test-debug.sh",
    "ai-config.sh", "install.sh", "setup-symlinks.sh", "run-ai-orchestrator-tests.sh",
)  # fmt: skip


def test_every_shell_script_has_a_row_with_an_answer() -> None:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Shell orchestrator → `aio`")
    section = text[start : text.index("\n## ", start + 1)]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    missing = []
    for script in SHELL_SCRIPTS:
        row = next((r for r in rows if re.search(rf"`(?:[\w/]*/)?{re.escape(script)}`", r)), None)
        answer = row.rsplit("|", 2)[-2].strip() if row else ""
        if not answer or not (answer.startswith("dropped:") or "aio" in answer or "`" in answer):
            missing.append(script)
    assert missing == []

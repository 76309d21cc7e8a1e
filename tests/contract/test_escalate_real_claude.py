"""Escalation's fork path with the REAL Claude Code CLI against the fake model API.

A task fails with sonnet (no fix rounds), then ``aio escalate calc --to <opus> --task T1.1``
forks the stored conversation: the pinned CLI must accept ``--resume OLD --fork-session
--session-id NEW --model M`` (proof that the argv is right), the model must receive the whole
earlier conversation in the forked request (proof that it is a fork, not a fresh start), the
request must name the opus model, the new conversation must be stored under the id aio
minted, and the old transcript must be left exactly as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.raw_drivers import DRIVERS
from tests.contract.test_workflow_real_claude import (  # the fixture: a git project
    AIO,
    MODEL,
    TEST_COMMAND,
    project,  # noqa: F401
    said,
    write,
)
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import OfflineCli

pytestmark = pytest.mark.real_cli

OPUS = "claude-opus-4-6"
PLAN = {
    "phases": [
        {
            "id": 1,
            "name": "Calculator",
            "tasks": [
                {
                    "id": "T1.1",
                    "title": "Add",
                    "description": "calc.add(a, b)",
                    "acceptance_criteria": ["add(2, 3) == 5"],
                    "test_requirements": ["tests/test_add.py"],
                    "dependencies": [],
                    "agent": "claude",
                }
            ],
        }
    ]
}


def _transcript(root: Path, session_id: str) -> Path:
    [path] = [p for p in root.rglob(f"{session_id}.jsonl") if "projects" in p.parts]
    return path


def test_escalate_forks_the_real_claude_conversation(
    project: Path,  # noqa: F811
    fake_api: FakeAPIServer,
    claude_cli: OfflineCli,
    tmp_path: Path,
) -> None:
    calc = project / "calc.py"
    test = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    fake_api.script(
        [
            said("Here is the plan:\n```json\n" + json.dumps(PLAN) + "\n```"),
            write(project / "tests" / "test_add.py", test, "Writing the test."),
            said("T1.1 tests written."),
            write(calc, "def add(a, b):\n    return a - b\n", "Implementing."),
            said("T1.1 implemented wrong."),
            # aio escalate: the forked conversation fixes it
            write(calc, "def add(a, b):\n    return a + b\n", "Fixing."),
            said("Fixed by opus."),
        ]
    )
    (project / ".aio").mkdir()
    (project / ".aio" / "config.toml").write_text(
        f"test_command = {json.dumps(TEST_COMMAND)}\n"
        f'[phases.plan]\nagent = "claude"\nmodel = "{MODEL}"\nfallback = []\n'
        f'[phases.implement]\nagent = "claude"\nmodel = "{MODEL}"\n'
    )
    sessions = tmp_path / "sessions"
    env = {
        **os.environ,
        **claude_cli.env,
        "SESSION_DIR": str(sessions),
        "AIO_AGENT_CLAUDE_EXECUTABLE": claude_cli.argv[0],
        "AIO_PROJECT_DIR": str(project),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }

    def aio(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", AIO, *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert aio("init", "calc", "A calculator").returncode == 0
    assert aio("plan", "calc", "Build add, tests first").returncode == 0
    failed = aio("implement", "calc", "--task", "T1.1", "--fix-rounds", "0")
    assert failed.returncode == 1 and "not green" in failed.stderr, failed.stderr

    log = sessions / "implement-calc" / "interactions.jsonl"
    old_id = json.loads(log.read_text().splitlines()[0])["agent_session_id"]
    old_transcript = _transcript(tmp_path, old_id)
    old_lines = old_transcript.read_text().splitlines()

    escalated = aio("escalate", "calc", "--to", OPUS, "--task", "T1.1", "--json")
    assert escalated.returncode == 0, escalated.stderr
    data = json.loads(escalated.stdout)
    assert data["task"]["status"] == "completed"
    assert data["escalated_from"]["method"] == "fork"
    assert data["escalated_from"]["agent_session_id"] == old_id

    # The forked request carries the whole earlier conversation and names the opus model.
    main = fake_api.main_requests("anthropic")
    assert len(main) == 7, [r.path for r in fake_api.requests]
    fork = main[5].body
    assert fork["model"] == OPUS
    history = DRIVERS["claude"].history(fork)
    assert ("assistant", "T1.1 implemented wrong.") in history, history
    assert any(role == "user" and "escalated from" in text for role, text in history)

    calls = [json.loads(line) for line in log.read_text().splitlines()]
    new = calls[-1]
    assert new["session_action"] == "forked" and new["outcome"] == "success"
    assert new["agent_session_id"] != old_id
    assert new["escalated_from"]["agent_session_id"] == old_id
    # The CLI stored the fork under the id aio minted; the old conversation is untouched.
    assert len(_transcript(tmp_path, new["agent_session_id"]).read_text().splitlines()) > len(
        old_lines
    )
    assert old_transcript.read_text().splitlines() == old_lines
    assert (project / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"

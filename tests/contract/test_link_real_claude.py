"""Cross-feature linking and session templates with the REAL Claude Code CLI against the fake
model API: the fork path.

Feature ``calc`` is planned (conversation A). ``aio init calc-two --from calc`` and a plan of it
must fork A: the pinned CLI accepts ``--resume A --fork-session --session-id B`` and the fake
server sees A's history (its user prompt and its answer) in the fork's FIRST request — a fork,
not a fresh start primed with a summary. Then ``aio template save py --from plan-calc`` and
``aio init calc-three --template py``: its first plan call forks the template's seed (A) the
same way, with the template's preamble in the new turn. Each child stores its own new
conversation, A's transcript is left exactly as it was, and the lineage (method fork, parent
session and conversation, fork point) is on the first record and in ``session show --json``.
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
    PLAN,
    TEST_COMMAND,
    project,  # noqa: F401
    said,
)
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import OfflineCli

pytestmark = [pytest.mark.real_cli, pytest.mark.process]

PARENT_ANSWER = "Here is the plan:\n```json\n" + json.dumps(PLAN) + "\n```"
PREAMBLE = "Conventions: every function has a docstring."


def _transcript(root: Path, session_id: str) -> Path:
    [path] = [p for p in root.rglob(f"{session_id}.jsonl") if "projects" in p.parts]
    return path


def test_link_and_template_fork_the_real_claude_conversation(
    project: Path,  # noqa: F811
    fake_api: FakeAPIServer,
    claude_cli: OfflineCli,
    tmp_path: Path,
) -> None:
    fake_api.script([said(PARENT_ANSWER), said(PARENT_ANSWER), said(PARENT_ANSWER)])
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

    def first_record(name: str) -> dict[str, object]:
        line = (sessions / name / "interactions.jsonl").read_text().splitlines()[0]
        return dict(json.loads(line))

    assert aio("init", "calc", "A calculator").returncode == 0
    parent = aio("plan", "calc", "PARENT-PROMPT: build add, tests first")
    assert parent.returncode == 0, parent.stderr
    old_id = str(first_record("plan-calc")["agent_session_id"])
    old_lines = _transcript(tmp_path, old_id).read_text().splitlines()

    # --- linking: the child's first plan call forks the parent's conversation
    assert aio("init", "calc-two", "--from", "calc").returncode == 0
    child = aio("plan", "calc-two", "CHILD-PROMPT: plan version two")
    assert child.returncode == 0, child.stderr
    assert "forking the claude conversation of plan-calc" in child.stderr
    main = fake_api.main_requests("anthropic")
    assert len(main) == 2, [r.path for r in fake_api.requests]
    history = DRIVERS["claude"].history(main[1].body)
    assert any(r == "user" and "PARENT-PROMPT" in t for r, t in history), history
    assert ("assistant", PARENT_ANSWER) in history, history
    assert any(r == "user" and "CHILD-PROMPT" in t and "fork of plan-calc" in t for r, t in history)

    record = first_record("plan-calc-two")
    assert record["session_action"] == "forked" and record["outcome"] == "success"
    new_id = str(record["agent_session_id"])
    assert new_id != old_id
    lineage = record["lineage"]
    assert isinstance(lineage, dict)
    assert lineage["method"] == "fork" and lineage["via"] == "link"
    assert lineage["session"] == "plan-calc" and lineage["agent_session_id"] == old_id
    assert lineage["fork_interactions"] == 1
    assert len(_transcript(tmp_path, new_id).read_text().splitlines()) > len(old_lines)
    assert _transcript(tmp_path, old_id).read_text().splitlines() == old_lines
    shown = aio("session", "show", "plan-calc-two", "--json")
    assert json.loads(shown.stdout)["lineage"]["method"] == "fork"

    # --- a template whose seed is the parent's conversation: forked the same way
    saved = aio("template", "save", "py", "--from", "plan-calc", "--preamble", PREAMBLE)
    assert saved.returncode == 0, saved.stderr
    assert aio("init", "calc-three", "--template", "py").returncode == 0
    third = aio("plan", "calc-three", "THIRD-PROMPT: plan version three")
    assert third.returncode == 0, third.stderr
    main = fake_api.main_requests("anthropic")
    assert len(main) == 3
    history = DRIVERS["claude"].history(main[2].body)
    assert any(r == "user" and "PARENT-PROMPT" in t for r, t in history), history
    assert not any("CHILD-PROMPT" in t for _r, t in history)  # the seed, not the child's fork
    last_user = [t for r, t in history if r == "user"][-1]
    assert PREAMBLE in last_user and "THIRD-PROMPT" in last_user
    templated = first_record("plan-calc-three")
    assert templated["session_action"] == "forked"
    assert templated["lineage"]["template"] == "py"  # type: ignore[index]
    assert templated["lineage"]["agent_session_id"] == old_id  # type: ignore[index]
    assert _transcript(tmp_path, old_id).read_text().splitlines() == old_lines

"""The workflow end to end with the REAL Claude Code CLI against the fake model API.

init → plan (claude) → implement T1.1 and T1.2 (red → green: the real CLI's Write tool
creates the test and the code, aio runs real pytest) → verify. It proves what no fake can:
the argv aio builds is accepted by the pinned CLI, ``acceptEdits`` lets it write files
headlessly, the implement session is really resumed across tasks (the model receives the
earlier task's conversation), and every call is recorded with the usage the API reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.contract.raw_drivers import DRIVERS
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS, OfflineCli

pytestmark = pytest.mark.real_cli

AIO = "from ai_orchestrator.cli.main import main; main()"
MODEL = MODELS["claude"]
TEST_COMMAND = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
USAGE = {"input_tokens": 1200, "output_tokens": 80, "cache_read_input_tokens": 300}
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
                },
                {
                    "id": "T1.2",
                    "title": "Subtract",
                    "description": "calc.sub(a, b)",
                    "acceptance_criteria": ["sub(5, 3) == 2"],
                    "test_requirements": ["tests/test_sub.py"],
                    "dependencies": ["T1.1"],
                    "agent": "claude",
                },
            ],
        }
    ]
}


def write(path: Path, content: str, text: str) -> dict[str, Any]:
    return {
        "text": text,
        "tool_use": {"name": "Write", "input": {"file_path": str(path), "content": content}},
        "usage": USAGE,
    }


def said(text: str) -> dict[str, Any]:
    return {"text": text, "usage": USAGE}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "calc"\nversion = "0"\n[tool.pytest.ini_options]\npythonpath = ["."]\n'
    )
    (root / ".gitignore").write_text("__pycache__/\n")
    git = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "empty"], cwd=root, check=True)
    return root


def test_workflow_with_the_real_claude_cli(
    project: Path, fake_api: FakeAPIServer, claude_cli: OfflineCli, tmp_path: Path
) -> None:
    calc = project / "calc.py"
    fake_api.script(
        [
            said("Here is the plan:\n```json\n" + json.dumps(PLAN) + "\n```"),
            # T1.1 red: the test first; green: the code
            write(
                project / "tests" / "test_add.py",
                "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
                "Writing the test.",
            ),
            said("T1.1 tests written."),
            write(calc, "def add(a, b):\n    return a + b\n", "Implementing."),
            said("T1.1 implemented."),
            # T1.2 in the same (resumed) conversation
            write(
                project / "tests" / "test_sub.py",
                "from calc import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n",
                "Writing the test.",
            ),
            said("T1.2 tests written."),
            write(
                calc,
                "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
                "Implementing.",
            ),
            said("T1.2 implemented."),
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
    planned = aio("plan", "calc", "Build add and sub, tests first", "--json")
    assert planned.returncode == 0, planned.stderr
    assert [t["id"] for t in json.loads(planned.stdout)["phases"][0]["tasks"]] == ["T1.1", "T1.2"]

    first = aio("implement", "calc", "--task", "T1.1", "--json")
    assert first.returncode == 0, first.stderr
    runs = json.loads(first.stdout)["test_runs"]
    assert [(r["label"], r["red"], r["green"]) for r in runs] == [
        ("red-1", True, False),
        ("green-1", False, True),
    ]
    assert runs[0]["failing_ids"] == ["tests.test_add"]  # the task's own test was red

    second = aio("implement", "calc", "--task", "T1.2", "--json")
    assert second.returncode == 0, second.stderr
    assert "resumed the agent conversation" in second.stderr
    assert json.loads(second.stdout)["test_runs"][-1]["passed"] == 2

    # The real CLI resumed: T1.2's first request carries T1.1's conversation.
    driver = DRIVERS["claude"]
    main = fake_api.main_requests("anthropic")
    assert len(main) == 9, [r.path for r in fake_api.requests]
    history = driver.history(main[5].body)
    assert ("assistant", "T1.1 implemented.") in history, history

    verified = aio("verify", "calc", "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["tests"]["passed"] == 2

    lines = (sessions / "implement-calc" / "interactions.jsonl").read_text().splitlines()
    calls = [json.loads(line) for line in lines]
    assert [c["session_action"] for c in calls] == ["started"] + ["resumed"] * 3
    assert {c["agent_session_id"] for c in calls} == {calls[0]["agent_session_id"]}
    assert all(c["outcome"] == "success" and c["cost_source"] == "computed" for c in calls)
    assert all(c["tokens"]["cache_read"] == 2 * USAGE["cache_read_input_tokens"] for c in calls)
    status = json.loads(aio("status", "calc", "--json").stdout)
    assert status["tasks"]["completed"] == 2 and status["totals"]["unpriced"] == 0
    history_events = [
        json.loads(line)
        for line in (project / ".aio/features/calc/history.jsonl").read_text().splitlines()
    ]
    assert [e["status"] for e in history_events] == ["success"] * 5
    assert all(e["agent"] == "claude" for e in history_events[1:4])

"""The workflow end to end through the FAKE agent CLIs (tests/fakes): real argv, real files.

The fakes follow the real CLIs' machine contracts (permissions, session stores, resume from
the cwd), and their ``edits`` are really performed, so red and green are real pytest runs.
Planning goes to gemini (``agent = "auto"`` picks it when installed), implementation to
claude with ``acceptEdits`` and the test command as an allowed Bash tool, resumed across
tasks; one api_error mid-task leaves everything consistent and a rerun finishes the task.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ai_orchestrator.infra.locks import read_holder
from ai_orchestrator.store import SessionStore
from tests.fakes.harness import FakeAgents
from tests.workflow.conftest import (
    FEATURE,
    TEST_COMMAND,
    Project,
    interactions,
    plan_answer,
    run,
)

# The fake claude/gemini/codex CLIs are processes: this module keeps the real runner.
pytestmark = pytest.mark.agent_process

ADD_TEST = "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
ADD_IMPL = "def add(a, b):\n    return a + b\n"
DIV_TEST = (
    "import pytest\n\nfrom calc.ops import divide\n\n\ndef test_divide():\n"
    "    assert divide(6, 3) == 2\n\n\ndef test_divide_by_zero():\n"
    "    with pytest.raises(ValueError):\n        divide(1, 0)\n"
)
DIV_IMPL = (
    "\n\ndef divide(a, b):\n    if b == 0:\n        raise ValueError('zero')\n    return a / b\n"
)


def edit(path: str, content: str) -> dict[str, Any]:
    return {"path": path, "content": content}


@pytest.fixture
def fakes(project: Project, monkeypatch: pytest.MonkeyPatch) -> FakeAgents:
    agents = FakeAgents(project.root.parent / "fakes")
    for key, value in agents.env.items():
        monkeypatch.setenv(key, value)
    (project.root / ".aio").mkdir(exist_ok=True)
    (project.root / ".aio" / "config.toml").write_text(
        f"test_command = {json.dumps(TEST_COMMAND)}\n"
        '[phases.plan]\nagent = "auto"\nfallback = ["claude:opus"]\n'
    )
    return agents


def flag(argv: list[str], name: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name:
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def test_workflow_with_fake_gemini_planner_and_fake_claude(
    project: Project, fakes: FakeAgents
) -> None:
    fakes.scenario(
        [
            {"agent": "gemini", "text": plan_answer()},
            # T1.1: tests (with the agent's own todo list), then the implementation
            {
                "agent": "claude",
                "text": "Tests written.",
                "edits": [edit("tests/test_add.py", ADD_TEST)],
                "todos": [
                    {"content": "write test_add", "status": "completed"},
                    {"content": "implement add", "status": "pending"},
                ],
            },
            {"agent": "claude", "text": "Implemented.", "edits": [edit("calc/ops.py", ADD_IMPL)]},
            # T1.2: tests, then the API fails mid-task
            {"agent": "claude", "text": "Tests.", "edits": [edit("tests/test_div.py", DIV_TEST)]},
            {"agent": "claude", "failure": {"kind": "api_error", "message": "Overloaded"}},
            # rerun of T1.2: red was confirmed, so straight to the implementation
            {
                "agent": "claude",
                "text": "Done.",
                "edits": [{"path": "calc/ops.py", "append": DIV_IMPL}],
            },
        ]
    )
    assert run("init", FEATURE, "A calculator").code == 0
    planned = run("plan", FEATURE, "plan it", "--json")
    assert planned.code == 0, planned.err
    assert "Creating plan with gemini" in planned.err
    [gemini] = fakes.invocations("gemini")
    assert gemini["exit_code"] == 0

    first = run("implement", FEATURE, "--task", "T1.1", "--json")
    assert first.code == 0, first.err
    assert [(r["label"], r["red"], r["green"]) for r in first.json()["test_runs"]] == [
        ("red-1", True, False),
        ("green-1", False, True),
    ]
    calls = fakes.invocations("claude")
    assert len(calls) == 2
    argv = calls[0]["argv"]
    assert flag(argv, "--permission-mode") == "acceptEdits"
    assert flag(argv, "--allowedTools") == f"Bash({' '.join(TEST_COMMAND)}:*)"
    assert flag(argv, "--model") == "sonnet"
    session_id = flag(argv, "--session-id")
    assert session_id and flag(calls[1]["argv"], "--resume") == session_id
    assert (project.root / "calc" / "ops.py").read_text() == ADD_IMPL  # the fake really wrote it

    failed = run("implement", FEATURE, "--task", "T1.2")
    assert failed.code == 1
    assert "api_error" in failed.err and "Overloaded" in failed.err
    assert "resumed the agent conversation" in failed.err  # context kept across tasks
    assert flag(fakes.invocations("claude")[2]["argv"], "--resume") == session_id
    task = project.task("T1.2")
    assert task["status"] == "failed" and "Overloaded" in task["failure_reason"]
    assert SessionStore().holder("implement-calc") is None
    assert read_holder(project.feature_dir / ".lock") is None
    event = project.history()[-1]
    assert (event["status"], event["task_id"], event["agent"]) == ("failed", "T1.2", "claude")
    assert event["model"] == "sonnet"
    assert [c["outcome"] for c in interactions("implement-calc")][-1] == "error:api_error"
    status = run("status", FEATURE, "--json").json()
    assert status["active_task"] is None  # a failed task is not "active"

    again = run("implement", FEATURE, "--task", "T1.2", "--json")
    assert again.code == 0, again.err
    assert "red confirmed earlier" in again.err
    assert [r["label"] for r in again.json()["test_runs"]] == ["green-1"]
    assert again.json()["test_runs"][0]["passed"] == 3

    verified = run("verify", FEATURE, "--json")
    assert verified.code == 0 and verified.json()["tests"]["passed"] == 3
    status = run("status", FEATURE, "--json").json()
    assert status["tasks"]["completed"] == 2
    assert status["sessions"]["plan"]["interactions"] == 1
    assert status["sessions"]["implement"]["interactions"] == 5
    assert status["totals"]["unpriced"] == 0 and status["totals"]["cost"] > 0
    # The agent's own todo list (TodoWrite) of the task that wrote one.
    assert status["agent_todos"]["task"] == "T1.1"
    assert [i["content"] for i in status["agent_todos"]["items"]] == [
        "write test_add",
        "implement add",
    ]
    text = run("status", FEATURE)
    assert "Agent todo list — task T1.1" in text.out and "implement add [pending]" in text.out
    assert "cache write" in text.out


def test_ai_model_reaches_the_default_planner(
    project: Project, fakes: FakeAgents, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AI_MODEL=sonnet: gemini (not a Claude model) keeps its default; claude gets sonnet."""
    fakes.scenario(
        [
            {"agent": "gemini", "failure": "rate_limit"},
            {"agent": "claude", "text": plan_answer()},
        ]
    )
    monkeypatch.setenv("AI_MODEL", "sonnet")
    assert run("init", FEATURE).code == 0
    result = run("plan", FEATURE, "plan it")
    assert result.code == 0, result.err
    assert "falling back to claude (sonnet)" in result.err
    [gemini] = fakes.invocations("gemini")
    assert flag(gemini["argv"], "--model") is None and flag(gemini["argv"], "-m") is None
    [claude] = fakes.invocations("claude")
    assert flag(claude["argv"], "--model") == "sonnet"  # was opus: AI_MODEL was bypassed
    assert project.history()[-1]["model"] == "sonnet"


def test_ai_model_without_gemini(
    project: Project, fakes: FakeAgents, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIO_AGENT_GEMINI_EXECUTABLE", str(project.root / "no-gemini"))
    fakes.scenario([{"agent": "claude", "text": plan_answer()}])
    monkeypatch.setenv("AI_MODEL", "haiku")
    assert run("init", FEATURE).code == 0
    assert run("plan", FEATURE, "plan it").code == 0
    [claude] = fakes.invocations("claude")
    assert flag(claude["argv"], "--model") == "haiku"
    monkeypatch.delenv("AI_MODEL")
    fakes.scenario([{"agent": "claude", "text": plan_answer()}])
    assert run("plan", FEATURE, "again").code == 0
    [claude] = fakes.invocations("claude")[1:]
    assert flag(claude["argv"], "--model") == "opus"  # the auto planner's own default


def test_task_agent_from_the_plan_is_used(project: Project, fakes: FakeAgents) -> None:
    """T1.1 says codex in the plan: implement runs codex (installed), not the config's claude."""
    tasks = [
        {"id": "T1.1", "title": "Add", "agent": "codex", "dependencies": []},
        {"id": "T1.2", "title": "Other", "agent": "nonesuch", "dependencies": []},
    ]
    fakes.scenario(
        [
            {"agent": "gemini", "text": plan_answer(tasks)},
            {"agent": "codex", "text": "t", "edits": [edit("tests/test_add.py", ADD_TEST)]},
            {"agent": "codex", "text": "i", "edits": [edit("calc/ops.py", ADD_IMPL)]},
            {"agent": "claude", "text": "no tests"},
        ]
    )
    assert run("init", FEATURE).code == 0
    assert run("plan", FEATURE, "plan it").code == 0
    result = run("implement", FEATURE, "--task", "T1.1")
    assert result.code == 0, result.err
    assert "assigned to codex in the plan" in result.err
    assert len(fakes.invocations("codex")) == 2 and not fakes.invocations("claude")
    assert project.history()[-1]["agent"] == "codex"
    unknown = run("implement", FEATURE, "--task", "T1.2", "--no-tests")
    assert unknown.code == 0, unknown.err
    assert "'nonesuch', which aio does not know; using the configured agent claude" in unknown.err
    assert len(fakes.invocations("claude")) == 1


def test_max_cost_refuses_before_any_agent_process(project: Project, fakes: FakeAgents) -> None:
    fakes.scenario(
        [
            {"agent": "gemini", "text": plan_answer()},
            {"agent": "claude", "text": "never"},
        ]
    )
    assert run("init", FEATURE).code == 0
    assert run("plan", FEATURE, "plan it").code == 0
    spent = run("status", FEATURE, "--json").json()["totals"]["cost"]
    assert spent > 0
    started = len(fakes.invocations())
    budget = f"{spent / 2:.10f}"
    commands = [
        ["plan", FEATURE, "again", "--max-cost", budget],
        ["review", FEATURE, "--max-cost", budget],
        ["verify", FEATURE, "--agent", "--max-cost", budget],
        ["implement", FEATURE, "--task", "T1.1", "--max-cost", budget],
    ]
    events = len(project.history())
    for command in commands:
        result = run(*command)
        assert result.code == 3, (command, result.err)
        assert "budget" in result.err
    assert len(project.history()) == events  # refusals write no history
    assert len(fakes.invocations()) == started  # no agent process was started
    assert not (project.feature_dir / "artifacts" / "verify").exists()  # nor the test suite

"""Linking's fork path through the CLI with the FAKE Claude CLI (tests/fakes), both phases.

Feature ``calc`` is planned and its T1.1 implemented with Claude; ``calc-two`` is linked to it.
The child's first plan call forks ``plan-calc``'s conversation and its first implement call
forks ``implement-calc``'s (``--resume PARENT --fork-session --session-id NEW``); their later
calls resume their own copies. A child whose implement phase runs another agent (gemini)
goes by summary instead, asked of ``implement-calc`` with the parent's agent, and says so.
The real CLI is driven in tests/contract/test_link_real_claude.py.
"""

from __future__ import annotations

import pytest

from tests.fakes.harness import FakeAgents
from tests.workflow.conftest import (
    FEATURE,
    Project,
    interactions,
    plan_answer,
    run,
)
from tests.workflow.test_escalate_claude import fakes  # noqa: F401 - the same fake Claude
from tests.workflow.test_fake_clis import ADD_IMPL, ADD_TEST, edit, flag

pytestmark = pytest.mark.agent_process  # the fake Claude CLI is a real process: aio, runner, agent

CHILD = "calc-two"


def _parent(agents: FakeAgents, *later: dict[str, object]) -> None:
    agents.scenario(
        [
            {"agent": "claude", "text": plan_answer()},
            {"agent": "claude", "text": "Tests.", "edits": [edit("tests/test_add.py", ADD_TEST)]},
            {"agent": "claude", "text": "Done.", "edits": [edit("calc/ops.py", ADD_IMPL)]},
            *later,
        ]
    )
    assert run("init", FEATURE, "A calculator").code == 0
    assert run("plan", FEATURE, "plan it").code == 0
    assert run("implement", FEATURE, "--task", "T1.1").code == 0


def test_both_phases_of_a_linked_feature_fork_the_parents_conversations(
    project: Project,
    fakes: FakeAgents,  # noqa: F811
) -> None:
    _parent(
        fakes,
        {"agent": "claude", "text": plan_answer()},  # child plan: a fork of plan-calc
        {"agent": "claude", "text": "T1.2 done."},  # child implement: a fork of implement-calc
        {"agent": "claude", "text": "T1.1 done."},  # a later call: resumes the child's own
    )
    plan_parent = interactions(f"plan-{FEATURE}")[0]["agent_session_id"]
    impl_parent = interactions(f"implement-{FEATURE}")[-1]["agent_session_id"]
    run("init", CHILD, "--from", FEATURE).expect(0)
    planned = run("plan", CHILD, "plan v2").expect(0)
    assert f"forking the claude conversation of plan-{FEATURE}" in planned.err
    fork = fakes.invocations("claude")[-1]
    assert flag(fork["argv"], "--resume") == plan_parent and "--fork-session" in fork["argv"]
    assert "fork of plan-calc" in fork["stdin"] and "plan v2" in fork["stdin"]

    run("implement", CHILD, "--task", "T1.2", "--no-tests", "--force").expect(0)
    fork = fakes.invocations("claude")[-1]
    assert flag(fork["argv"], "--resume") == impl_parent and "--fork-session" in fork["argv"]
    [first] = interactions(f"implement-{CHILD}")
    assert first["session_action"] == "forked" and first["agent_session_id"] != impl_parent
    assert first["lineage"]["method"] == "fork"
    assert first["lineage"]["session"] == f"implement-{FEATURE}"

    run("implement", CHILD, "--task", "T1.1", "--no-tests", "--force").expect(0)
    later = fakes.invocations("claude")[-1]
    assert flag(later["argv"], "--resume") == first["agent_session_id"]
    assert "--fork-session" not in later["argv"]


def test_a_child_on_another_agent_starts_from_a_summary(
    project: Project,
    fakes: FakeAgents,  # noqa: F811
) -> None:
    _parent(
        fakes,
        {"agent": "claude", "text": "HANDOVER: ops.add is done and tested."},
        {"agent": "gemini", "text": "T1.2 done."},
    )
    run("init", CHILD, "--from", FEATURE).expect(0)
    (project.root / ".aio" / "features" / CHILD / "plan.yaml").write_text(
        (project.root / ".aio" / "features" / FEATURE / "plan.yaml").read_text()
    )
    result = run("implement", CHILD, "--task", "T1.2", "--no-tests", "--force", "--agent", "gemini")
    assert result.code == 0, result.err
    assert "gemini cannot fork a conversation" in result.err
    handoff = fakes.invocations("claude")[-1]
    assert "--fork-session" not in handoff["argv"] and "handed over" in handoff["stdin"]
    [first] = interactions(f"implement-{CHILD}")
    assert first["agent"] == "gemini" and "HANDOVER: ops.add" in first["prompt"]
    assert first["lineage"]["method"] == "summary"

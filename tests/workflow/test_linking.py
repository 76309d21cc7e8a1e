"""Cross-feature linking with the scripted agent: ``aio init FEATURE --from OTHER`` and
``aio link FEATURE OTHER``.

The scripted agent cannot fork, so a linked feature's first plan (and implement) call starts a
fresh conversation primed with a summary: aio asks the parent conversation for a hand-over
(recorded in the parent's session) and puts it before the child's prompt, and says so. What is
checked: the summary really reaches the child's first prompt and only the first, the child's
conversation is new, the lineage (parent session, parent conversation, fork point, method) is
on the first record and in the summary (``session show --json`` and the human view), stats
group by it, export/import keeps it, and every refusal (itself, a cycle, a feature with no
conversation, a feature in use, an unknown feature, invalid ids) is one line with its exit code
and changes nothing. The fork path: test_link_claude.py (fake Claude) and tests/contract.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests.workflow.conftest import (
    ADD_IMPL,
    ADD_TEST,
    FEATURE,
    Project,
    init_and_plan,
    interactions,
    plan_answer,
    run,
)

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes

CHILD = "calc-two"
PARENT_SUMMARY = "HANDOVER: calc has add(); the plan has T1.1 and T1.2."


def _origin(project: Project, feature: str) -> object:
    data = yaml.safe_load(
        (project.root / ".aio" / "features" / feature / "feature.yaml").read_text()
    )
    return data.get("origin")


def test_a_linked_feature_starts_from_a_summary_of_the_parent(project: Project) -> None:
    init_and_plan(
        project,
        [
            {"answer": PARENT_SUMMARY},  # the parent's hand-over, asked by the child's plan
            {"answer": plan_answer()},  # the child's plan
            {"answer": plan_answer()},  # a second plan call of the child: resumes
        ],
    )
    parent = interactions(f"plan-{FEATURE}")
    result = run("init", CHILD, "Calculator v2", "--from", FEATURE).expect(0)
    assert f"Linked to {FEATURE}" in result.err
    assert _origin(project, CHILD)["linked_from"] == FEATURE  # type: ignore[index]

    planned = run("plan", CHILD, "plan v2", "--json").expect(0)
    assert "cannot fork" in planned.err and f"summary of plan-{FEATURE}" in planned.err
    [first] = interactions(f"plan-{CHILD}")
    assert PARENT_SUMMARY in first["prompt"] and "plan v2" in first["prompt"]
    assert first["agent_session_id"] != parent[0]["agent_session_id"]
    assert first["session_action"] == "started"
    lineage = first["lineage"]
    assert lineage["method"] == "summary" and lineage["via"] == "link"
    assert lineage["session"] == f"plan-{FEATURE}" and lineage["feature"] == FEATURE
    assert lineage["agent_session_id"] == parent[0]["agent_session_id"]
    assert lineage["fork_interactions"] == 1 and lineage["fork_record_id"] == parent[0]["id"]
    # The hand-over was asked of the parent, in the parent's session.
    handoff = interactions(f"plan-{FEATURE}")[-1]
    assert handoff["response_preview"].startswith("HANDOVER") and "lineage" not in handoff

    # A later call resumes the child's own conversation: no summary, no lineage again.
    run("plan", CHILD, "refine it").expect(0)
    later = interactions(f"plan-{CHILD}")[-1]
    assert later["session_action"] == "resumed" and "lineage" not in later
    assert PARENT_SUMMARY not in later["prompt"]

    shown = run("session", "show", f"plan-{CHILD}", "--json").expect(0).json()
    assert shown["lineage"]["session"] == f"plan-{FEATURE}"
    text = run("session", "show", f"plan-{CHILD}").expect(0).out
    assert f"Lineage: new conversation primed with a summary of plan-{FEATURE}" in text

    status = run("status", CHILD, "--json").expect(0).json()
    assert status["origin"] == {"template": None, "linked_from": FEATURE}
    assert f"Starts from: feature {FEATURE}" in run("status", CHILD).expect(0).out
    assert "origin" not in run("status", FEATURE, "--json").expect(0).json()

    stats = run("session", "stats", "--by", "lineage", "--json").expect(0).json()
    groups = stats["groups"]
    assert groups[f"summary:plan-{FEATURE}"]["sessions"] == 1
    assert groups[f"summary:plan-{FEATURE}"]["interactions"] == 2
    assert groups["(no lineage)"]["sessions"] == 1  # the parent
    human = run("session", "stats", "--by", "lineage").expect(0).out
    assert f"summary:plan-{FEATURE}" in human


def test_lineage_survives_export_and_import(project: Project, tmp_path: Path) -> None:
    init_and_plan(project, [{"answer": PARENT_SUMMARY}, {"answer": plan_answer()}])
    run("init", CHILD, "--from", FEATURE).expect(0)
    run("plan", CHILD, "plan v2").expect(0)
    exported = tmp_path / "all.json"
    run("session", "export", "--output", str(exported)).expect(0)
    other_store = tmp_path / "other-store"
    os.environ["SESSION_DIR"] = str(other_store)
    run("session", "import", str(exported)).expect(0)
    shown = run("session", "show", f"plan-{CHILD}", "--json").expect(0).json()
    assert shown["lineage"]["method"] == "summary"
    assert shown["lineage"]["session"] == f"plan-{FEATURE}"
    again = run("session", "import", str(exported), "--json").expect(0).json()
    assert again["interactions_added"] == 0


def test_aio_link_links_an_existing_feature_before_its_first_call(project: Project) -> None:
    init_and_plan(project, [{"answer": PARENT_SUMMARY}, {"answer": plan_answer()}])
    run("init", CHILD, "v2", "--no-switch").expect(0)
    linked = run("link", CHILD, FEATURE, "--json").expect(0).json()
    assert linked["linked_from"] == FEATURE
    run("plan", CHILD, "plan v2").expect(0)
    [first] = interactions(f"plan-{CHILD}")
    assert first["lineage"]["session"] == f"plan-{FEATURE}"
    events = [
        json.loads(line)
        for line in (project.root / ".aio/features" / CHILD / "history.jsonl")
        .read_text()
        .splitlines()
    ]
    assert [e["command"] for e in events] == ["init", "link", "plan"]


def test_the_implement_phase_starts_from_the_parent_too(project: Project) -> None:
    init_and_plan(
        project,
        [
            {"answer": "tests written", "edits": [ADD_TEST]},
            {"answer": "implemented", "edits": [ADD_IMPL]},
            {"answer": PARENT_SUMMARY},  # child plan: hand-over of plan-calc
            {"answer": plan_answer()},
            {"answer": "IMPL-HANDOVER: ops.add done"},  # child implement: of implement-calc
            {"answer": "child tests", "edits": []},
        ],
    )
    run("implement", FEATURE, "--task", "T1.1").expect(0)
    run("init", CHILD, "--from", FEATURE).expect(0)
    run("plan", CHILD, "plan v2").expect(0)
    result = run("implement", CHILD, "--task", "T1.1", "--no-tests")
    assert result.code == 0, result.err
    [first] = interactions(f"implement-{CHILD}")
    assert first["lineage"]["session"] == f"implement-{FEATURE}"
    assert "IMPL-HANDOVER" in first["prompt"]


# ------------------------------------------------------------------------------ refusals


def _store_entries() -> set[str]:
    return (
        set(os.listdir(os.environ["SESSION_DIR"]))
        if os.path.isdir(os.environ["SESSION_DIR"])
        else set()
    )


def test_linking_to_itself_is_refused(project: Project) -> None:
    init_and_plan(project, [])
    result = run("link", FEATURE, FEATURE).expect(2)
    assert "cannot link feature calc to itself" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert run("init", "solo", "--from", "solo").expect(2).err.count("\n") == 1
    assert not (project.root / ".aio" / "features" / "solo").exists()


def test_a_cycle_is_refused(project: Project) -> None:
    init_and_plan(project, [{"answer": "S"}, {"answer": plan_answer()}])
    run("init", "b", "--from", FEATURE).expect(0)
    run("plan", "b", "plan b").expect(0)
    run("init", "c", "--from", "b").expect(0)
    # calc → b → c: linking calc (in use: --force) to c closes the cycle c → b → calc
    result = run("link", FEATURE, "c", "--force").expect(2)
    assert "a cycle" in result.err and "c → b → calc" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert _origin(project, FEATURE) is None


def test_a_feature_with_nothing_to_start_from_is_refused(project: Project) -> None:
    project.scenario([])
    run("init", "empty").expect(0)
    before = _store_entries()
    result = run("init", "child", "--from", "empty").expect(2)
    assert "has no plan or implement conversation" in result.err
    assert not (project.root / ".aio" / "features" / "child").exists()
    unknown = run("init", "child", "--from", "never-was").expect(2)
    assert "never-was has no plan or implement conversation" in unknown.err
    assert _store_entries() == before


def test_a_feature_in_use_is_refused_unless_forced(project: Project) -> None:
    init_and_plan(project, [{"answer": "S"}, {"answer": plan_answer()}, {"answer": plan_answer()}])
    run("init", "b", "--from", FEATURE, "--no-switch").expect(0)
    run("plan", "b", "plan b").expect(0)
    run("init", "c", "--no-switch").expect(0)
    run("plan", "c", "plan c").expect(0)
    result = run("link", "c", FEATURE).expect(1)
    assert "feature c is in use: plan-c already hold a conversation" in result.err
    assert len(result.err.strip().splitlines()) == 1 and _origin(project, "c") is None
    run("link", "c", FEATURE, "--force").expect(0)
    assert _origin(project, "c")["linked_from"] == FEATURE  # type: ignore[index]
    assert run("link", "no-such", FEATURE).expect(1).err.count("does not exist") == 1


@pytest.mark.parametrize(
    "bad", ["", "UPPER", "-lead", "trail-", "a" * 65, "dot.ted", "sla/sh", "../up", "ünï", "a b"]
)
def test_invalid_feature_ids_are_refused_in_one_line(project: Project, bad: str) -> None:
    init_and_plan(project, [])
    result = run("link", FEATURE, bad).expect(2)
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
    assert _origin(project, FEATURE) is None
    refused = run("init", "fresh", "--from", bad).expect(2)
    assert "Traceback" not in refused.err
    assert not (project.root / ".aio" / "features" / "fresh").exists()


def test_a_failed_parent_summary_falls_back_to_aios_digest(project: Project) -> None:
    init_and_plan(
        project,
        [
            {"outcome": "api_error", "error": "500 upstream"},  # the parent's hand-over fails
            {"answer": plan_answer()},  # the child's plan
        ],
    )
    run("init", CHILD, "--from", FEATURE).expect(0)
    planned = run("plan", CHILD, "plan v2").expect(0)
    assert "the hand-over summary failed" in planned.err
    [first] = interactions(f"plan-{CHILD}")
    # aio's own digest of the parent's calls: its prompt and the answer's preview
    assert f"Earlier conversation (aio session plan-{FEATURE}" in first["prompt"]
    assert "plan it" in first["prompt"] and first["lineage"]["method"] == "summary"
    failed = interactions(f"plan-{FEATURE}")[-1]
    assert failed["outcome"] != "success" and "lineage" not in failed

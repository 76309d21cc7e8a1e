"""``aio review --architecture --compare A B`` through the CLI with the scripted agent: two
reviewers in fresh conversations, side by side, and the planner-style fallback when one is
unavailable (not installed, or failing)."""

from __future__ import annotations

import json

import pytest

from tests.workflow.conftest import FEATURE, Project, init_and_plan, interactions, run

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes


def review(summary: str, *findings: tuple[str, str]) -> dict[str, str]:
    items = [{"severity": s, "file": "docs/arch.md", "line": 1, "message": m} for s, m in findings]
    return {"answer": json.dumps({"summary": summary, "findings": items})}


@pytest.fixture
def documented(project: Project) -> Project:
    (project.root / "docs").mkdir(exist_ok=True)
    (project.root / "docs" / "arch.md").write_text("# Architecture\nOne module, calc.ops.\n")
    return project


def test_two_reviewers_side_by_side(documented: Project) -> None:
    init_and_plan(
        documented,
        [
            review("A: simple and fine", ("low", "A-no-diagram")),
            review("B: missing error model", ("high", "B-no-errors"), ("info", "B-ok")),
        ],
    )
    result = run(
        "review", FEATURE, "--architecture", "--compare", "scripted:model-a", "scripted:model-b",
        "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    a, b = result.json()["sides"]
    assert (a["reviewer"], a["model"], a["summary"]) == (
        "scripted:model-a", "model-a", "A: simple and fine",
    )  # fmt: skip
    assert (b["model"], b["counts"]["high"], b["counts"]["info"]) == ("model-b", 1, 1)
    assert a["fallback_from"] == [] and a["error"] is None
    calls = interactions(f"review-{FEATURE}")
    assert [c["model"] for c in calls] == ["scripted-model-a", "scripted-model-b"]
    assert {c["session_action"] for c in calls} == {"fresh"}  # never the stored conversation
    assert all("docs/arch.md" in c["prompt"] for c in calls)
    artifact = json.loads((documented.root / result.json()["artifact"]).read_text())
    assert [s["summary"] for s in artifact["sides"]] == [a["summary"], b["summary"]]
    [event] = [e for e in documented.history() if e["command"] == "review"]
    assert event["status"] == "success" and event["arguments"]["compare"] == [
        "scripted:model-a", "scripted:model-b",
    ]  # fmt: skip

    text = run(
        "review", FEATURE, "--architecture", "--compare", "scripted:model-a", "scripted:model-b"
    )
    assert text.code == 1  # the scenario is used up: both sides fail, exit 1, shown anyway


def test_an_unavailable_reviewer_falls_back(
    documented: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIO_AGENT_CODEX_EXECUTABLE", str(documented.root / "no-codex"))
    monkeypatch.setenv("AIO_AGENT_CLAUDE_EXECUTABLE", str(documented.root / "no-claude"))
    init_and_plan(
        documented,
        [
            {"outcome": "api_error", "error": "overloaded"},  # codex's fallback fails too
            review("B", ("low", "B")),
        ],
    )
    result = run(
        "review", FEATURE, "--architecture", "--compare", "codex", "scripted:model-b", "--json"
    )
    assert result.code == 1, result.err
    assert "codex is unavailable: its CLI is not installed" in result.err
    assert "codex: falling back to scripted" in result.err
    a, b = result.json()["sides"]
    assert b["summary"] == "B" and b["error"] is None
    assert a["error"].startswith("every candidate failed") and a["agent"] is None
    assert a["fallback_from"] == ["codex", "scripted", "claude:opus"]
    assert "overloaded" in result.err


def test_fallback_success_is_recorded_on_its_side(
    documented: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIO_AGENT_CODEX_EXECUTABLE", str(documented.root / "no-codex"))
    init_and_plan(documented, [review("from the fallback"), review("B")])
    result = run(
        "review", FEATURE, "--architecture", "--compare", "codex", "scripted:model-b", "--json"
    )
    assert result.code == 0, result.err
    a, _b = result.json()["sides"]
    assert a["agent"] == "scripted" and a["summary"] == "from the fallback"
    assert a["fallback_from"] == ["codex"]


def test_compare_refuses_bad_combinations(documented: Project) -> None:
    init_and_plan(documented, [])
    for args, text in [
        (["--compare", "a", "b"], "--architecture"),
        (["--architecture", "--compare", "claude", "gemini", "--agent", "claude"], "--agent"),
        (["--architecture", "--compare", "claude:", "gemini"], "empty"),
        (["--architecture", "--compare", "bad model!", "gemini"], "invalid model"),
    ]:
        result = run("review", FEATURE, *args)
        assert result.code == 2, (args, result.err)
        assert text in result.err and "Traceback" not in result.err
    assert interactions(f"review-{FEATURE}") == []

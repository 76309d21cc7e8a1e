"""Unit tests: JSON extraction, plan validation/merge, test-output parsing, config, init."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.workflow.jsontext import extract_json
from ai_orchestrator.workflow.model.plan import merge_statuses, plan_from_data, validate
from ai_orchestrator.workflow.project.config import detect_test_command, load_config, parse_config
from ai_orchestrator.workflow.testing.testrun import build_command, parse_summary
from tests.helpers import aio_inprocess as aio


def test_extract_json_variants() -> None:
    assert extract_json('{"a": 1}') == {"a": 1}
    assert extract_json('Sure!\n```json\n{"a": [1, "}"]}\n```\nBye') == {"a": [1, "}"]}
    assert extract_json('prefix {"x": {"y": 2}} and {"z": 3} suffix') == {"x": {"y": 2}}
    wanted = extract_json('{"a": 1} then {"phases": []}', want=lambda v: "phases" in v)
    assert wanted == {"phases": []}
    with pytest.raises(ValueError, match="no parseable JSON"):
        extract_json("no json here {oops")
    with pytest.raises(ValueError, match="empty"):
        extract_json("  ")


def _plan(tasks: list[dict[str, object]]) -> dict[str, object]:
    return {"phases": [{"id": 1, "name": "p", "tasks": tasks}]}


def test_plan_validation_problems() -> None:
    plan = plan_from_data(
        _plan(
            [
                {"id": "T1.1", "title": "a", "dependencies": ["T1.3"]},
                {"id": "T1.4", "title": "dup"},
                {"id": "T1.4", "title": "dup"},
                {"id": "1.2", "title": ""},
                {"id": "T1.3", "title": "c", "depends_on": "T1.1"},
            ]
        )
    )
    problems = "\n".join(validate(plan))
    assert "used more than once" in problems
    assert "'1.2' is not of the form" in problems
    assert "has no title" in problems
    assert "dependency cycle" in problems
    assert validate(plan_from_data(_plan([]))) == ["the plan has no tasks"]


def test_plan_aliases_and_merge() -> None:
    old = plan_from_data(
        _plan(
            [
                {"id": "T1.1", "title": "a", "status": "completed"},
                {"id": "T1.2", "title": "b", "status": "failed", "failure_reason": "boom"},
            ]
        )
    )
    new = plan_from_data(
        {
            "plan": {
                "phases": [
                    {
                        "phase_id": "Phase 2",
                        "title": "x",
                        "tasks": [
                            {
                                "task_id": "T1.1",
                                "name": "a2",
                                "acceptanceCriteria": "one criterion",
                            },
                            {"task_id": "T2.1", "name": "new", "dependencies": ["T1.1"]},
                        ],
                    }
                ]
            }
        },
        "claude",
    )
    assert new.phases[0].number == 2
    assert new.task("T1.1").acceptance_criteria == ["one criterion"]  # type: ignore[union-attr]
    assert merge_statuses(new, old) == ["T1.1"]
    assert new.task("T1.1").status == "completed"  # type: ignore[union-attr]
    assert new.next_task().id == "T2.1"  # type: ignore[union-attr]
    assert new.task("T2.1").agent == "claude"  # type: ignore[union-attr]


def test_parse_summary_runners() -> None:
    pytest_out = "....F\n===== 1 failed, 4 passed, 2 skipped in 0.12s =====\n"
    assert parse_summary(pytest_out) == {
        "passed": 4,
        "failed": 1,
        "errors": 0,
        "skipped": 2,
        "total": 7,
    }
    unittest_out = "Ran 3 tests in 0.001s\n\nFAILED (failures=1, errors=1)\n"
    assert parse_summary(unittest_out)["passed"] == 1  # type: ignore[index]
    cargo = "test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured\n"
    assert parse_summary(cargo)["skipped"] == 1  # type: ignore[index]
    jest = "Tests:       1 failed, 3 passed, 4 total\n"
    assert parse_summary(jest)["failed"] == 1  # type: ignore[index]
    go = "--- PASS: TestA (0.00s)\n--- FAIL: TestB (0.00s)\nFAIL\n"
    assert parse_summary(go)["total"] == 2  # type: ignore[index]
    assert parse_summary("nothing recognisable") is None


def test_build_command_shell_and_junit(tmp_path: Path) -> None:
    xml = tmp_path / "r.xml"
    argv, shell, junit = build_command("python3 -m pytest -q", xml)
    assert (
        not shell
        and junit
        and argv[-2:] == [f"--junitxml={xml}", "--continue-on-collection-errors"]
    )
    argv, shell, junit = build_command("npm test && echo done", xml)
    assert shell and not junit and argv[:2] == ["/bin/sh", "-c"]
    argv, shell, junit = build_command(["go", "test", "./..."], xml)
    assert argv == ["go", "test", "./..."] and not shell and not junit


def test_config_parsing_and_errors(tmp_path: Path) -> None:
    config = parse_config(
        {
            "test_command": ["pytest"],
            "budget_usd": 5,
            "budgets": {"f": 9},
            "phases": {"implement": {"agent": "codex", "allowed_tools": ["x"]}},
        }
    )
    assert config.budget_for("f") == 9 and config.budget_for("g") == 5
    assert config.phase("implement").agent == "codex"
    assert config.phase("plan").agent == "auto"
    with pytest.raises(InvalidInput, match="fix_rounds"):
        parse_config({"fix_rounds": "two"})
    with pytest.raises(InvalidInput, match="unknown phase"):
        parse_config({"phases": {"deploy": {}}})
    bad = tmp_path / "config.toml"
    bad.write_text("test_command = [", encoding="utf-8")
    with pytest.raises(InvalidInput, match="does not parse"):
        load_config(bad)


def test_detect_test_command(tmp_path: Path) -> None:
    assert detect_test_command(tmp_path) is None
    (tmp_path / "tests").mkdir()  # every ecosystem has tests/: the last fallback only
    assert detect_test_command(tmp_path) == "python -m pytest"
    (tmp_path / "Cargo.toml").write_text("[package]\n")
    assert detect_test_command(tmp_path) == "cargo test"
    (tmp_path / "go.mod").write_text("module x\n")
    assert detect_test_command(tmp_path) == "go test ./..."
    (tmp_path / "package.json").write_text('{"scripts": {"test": "jest"}}')
    assert detect_test_command(tmp_path) == "npm test"
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert detect_test_command(tmp_path) == "npm test"  # package.json wins over plain pyproject
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    assert detect_test_command(tmp_path) == "python -m pytest"  # explicit pytest config


def test_detect_test_command_package_json_without_test_script(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"scripts": {"build": "tsc"}}')
    (tmp_path / "tests").mkdir()
    (tmp_path / "go.mod").write_text("module x\n")
    assert detect_test_command(tmp_path) == "go test ./..."
    (tmp_path / "go.mod").unlink()
    (tmp_path / "setup.py").write_text("")
    assert detect_test_command(tmp_path) == "python -m pytest"


@pytest.mark.process  # the project's git and its test command run as real processes
def test_init_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "Cargo.toml").write_text("[package]\n")
    (root / "src").mkdir()
    monkeypatch.chdir(root / "src")  # discovery walks up to the .git directory
    first = aio("init", "my-feature", "Does things")
    assert first.code == 0, first.err
    assert (root / ".aio" / "features" / "my-feature" / "feature.yaml").is_file()
    config_text = (root / ".aio" / "config.toml").read_text()
    assert config_text.startswith("#")
    assert tomllib.loads(config_text)["test_command"] == "cargo test"
    assert aio("init", "my-feature").code == 1
    assert "already exists" in aio("init", "my-feature").err
    assert aio("init", "Bad_Name").code == 2
    assert aio("init", "-x").code == 2
    assert aio("init", "second").code == 0
    listing = aio("switch", "--list")
    assert "* second" in listing.out
    assert aio("switch", "my-feature").code == 0
    status = aio("status", "--json").json()
    assert status["current"] == "my-feature"
    assert {f["feature_id"] for f in status["features"]} == {"my-feature", "second"}
    assert aio("tasks").code == 1  # no plan yet: a clear NotFound
    assert "aio plan" in aio("tasks").err
    events = [
        json.loads(x)
        for x in (root / ".aio/features/second/history.jsonl").read_text().splitlines()
    ]
    assert events[0]["command"] == "init"


def test_commands_outside_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "nowhere"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = aio("status")
    assert result.code == 1 and "aio init" in result.err


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_number_toml_allows_but_no_budget_is_refused(value: str) -> None:
    """TOML has nan and inf; neither is a budget or a timeout (config check and every command
    agree)."""
    with pytest.raises(InvalidInput, match="budget_usd"):
        parse_config(tomllib.loads(f"budget_usd = {value}\n"))

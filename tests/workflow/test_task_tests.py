"""Red and green are judged on the TASK's tests, not on whatever the whole suite does.

Each scenario here is one a whole-suite check gets wrong: a pre-existing failure taken for
red, a pre-existing failure that makes green unreachable, tests deleted or skipped by the
agent and still "GREEN", and the same through a runner without JUnit XML (the fallback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ai_orchestrator.workflow.testing.evidence import TestCase, TestRun
from ai_orchestrator.workflow.testing.tasktests import (
    TaskTests,
    case_file,
    changed_files,
    green_verdict,
    is_test_file,
    red_verdict,
    snapshot,
    task_test_files,
)
from tests.workflow.conftest import (
    ADD_IMPL,
    ADD_TEST,
    FEATURE,
    Project,
    init_and_plan,
    interactions,
    run,
)

PASSING_ADD_TEST = {"write": "tests/test_add.py", "content": "def test_add():\n    assert True\n"}
OLD_FAILURE = "def test_old_bug():\n    assert 1 == 2\n"
OTHER_PASSING = "def test_other():\n    assert True\n"
SKIPPED_ADD_TEST = {
    "write": "tests/test_add.py",
    "content": "import pytest\n\n\n@pytest.mark.skip\ndef test_add():\n    pass\n",
}


@pytest.mark.process  # the project's git and its test command run as real processes
def test_preexisting_failure_is_not_red(project: Project) -> None:
    (project.root / "tests" / "test_old.py").write_text(OLD_FAILURE)
    init_and_plan(project, [{"edits": [PASSING_ADD_TEST]}, {"edits": [PASSING_ADD_TEST]}])
    result = run("implement", FEATURE, "--task", "T1.1")
    assert result.code == 1, result.err
    assert "did not fail before the implementation" in result.err
    assert "tests.test_old::test_old_bug" in result.err  # named as not the task's
    correction = interactions("implement-calc")[1]["prompt"]
    assert "failures of other, existing tests do not count" in correction
    assert project.task("T1.1")["status"] == "failed"


@pytest.mark.process  # the project's git and its test command run as real processes
def test_preexisting_failure_does_not_block_green(project: Project) -> None:
    (project.root / "tests" / "test_old.py").write_text(OLD_FAILURE)
    init_and_plan(project, [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL]}])
    result = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0", "--json")
    assert result.code == 0, result.err
    assert "pre-existing failure(s) ignored: tests.test_old::test_old_bug" in result.err
    red, green = result.json()["test_runs"]
    # the collection error of the new file does not stop the other tests from running
    assert sorted(red["failing_ids"]) == ["tests.test_add", "tests.test_old::test_old_bug"]
    assert green["failing_ids"] == ["tests.test_old::test_old_bug"]
    saved = json.loads((project.feature_dir / "artifacts/T1.1/task-tests.json").read_text())
    assert saved["files"] == ["tests/test_add.py"] and saved["red_ids"] == ["tests.test_add"]
    assert saved["preexisting"] == ["tests.test_old::test_old_bug"]
    # verify still reports the whole suite honestly
    assert run("verify", FEATURE).code == 1


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_new_failure_elsewhere_is_not_green(project: Project) -> None:
    other = {"write": "tests/test_other.py", "content": "def test_x():\n    assert False\n"}
    init_and_plan(project, [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL, other]}])
    result = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0")
    assert result.code == 1
    assert "tests.test_other::test_x" in result.err


@pytest.mark.process  # the project's git and its test command run as real processes
def test_deleting_the_task_test_is_not_green(project: Project) -> None:
    (project.root / "tests" / "test_misc.py").write_text(OTHER_PASSING)
    delete = {"delete": "tests/test_add.py"}
    init_and_plan(project, [{"edits": [ADD_TEST]}, {"edits": [delete]}])
    result = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0")
    assert result.code == 1, result.err
    assert "task test file(s) deleted or missing: tests/test_add.py" in result.err
    task = project.task("T1.1")
    assert task["status"] == "failed" and "tests/test_add.py" in task["failure_reason"]


@pytest.mark.process  # the project's git and its test command run as real processes
def test_deleted_test_restored_in_a_fix_round(project: Project) -> None:
    (project.root / "tests" / "test_misc.py").write_text(OTHER_PASSING)
    init_and_plan(
        project,
        [
            {"edits": [ADD_TEST]},
            {"edits": [{"delete": "tests/test_add.py"}]},
            {"edits": [ADD_TEST, ADD_IMPL]},
        ],
    )
    result = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "1")
    assert result.code == 0, result.err
    fix = interactions("implement-calc")[-1]["prompt"]
    assert "deleted or missing: tests/test_add.py" in fix and "never delete" in fix


@pytest.mark.process  # the project's git and its test command run as real processes
def test_skipping_the_task_test_is_not_green(project: Project) -> None:
    (project.root / "tests" / "test_misc.py").write_text(OTHER_PASSING)
    init_and_plan(project, [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL, SKIPPED_ADD_TEST]}])
    result = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0")
    assert result.code == 1, result.err
    # the skip mark is an edit of the test pinned at red
    assert "pinned test tests/test_add.py::test_add was edited since red" in result.err


@pytest.mark.process  # the project's git and its test command run as real processes
def test_no_test_written_is_not_red(project: Project) -> None:
    init_and_plan(project, [{"answer": "I wrote nothing"}, {"answer": "still nothing"}])
    result = run("implement", FEATURE, "--task", "T1.1")
    assert result.code == 1
    assert "no test file was added or changed" in result.err


@pytest.mark.process  # the project's git and its test command run as real processes
def test_fallback_without_junit(project: Project) -> None:
    """unittest writes no JUnit XML: red = suite fails + task test files written; green =
    suite passes + those files still exist."""
    unittest_add = {
        "write": "tests/test_add.py",
        "content": (
            "import unittest\n\nfrom calc.ops import add\n\n\nclass T(unittest.TestCase):\n"
            "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n"
        ),
    }
    (project.root / "tests" / "__init__.py").write_text("")
    (project.root / "tests" / "test_misc.py").write_text(
        "import unittest\n\n\nclass M(unittest.TestCase):\n    def test_m(self):\n        pass\n"
    )
    command = [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."]
    init_and_plan(
        project,
        [
            {"edits": [unittest_add]},
            {"edits": [ADD_IMPL]},
            {"edits": [{"delete": "tests/test_add.py"}]},
        ],
    )
    config = project.root / ".aio" / "config.toml"
    text = config.read_text().splitlines()
    text[0] = f"test_command = {json.dumps(command)}"
    config.write_text("\n".join(text) + "\n")
    ok = run("implement", FEATURE, "--task", "T1.1", "--json")
    assert ok.code == 0, ok.err
    assert [r["source"] for r in ok.json()["test_runs"]] == ["summary", "summary"]
    # --force rerun: the agent deletes the task's test; the suite (test_misc) still passes
    forced = run("implement", FEATURE, "--task", "T1.1", "--force", "--fix-rounds", "0")
    assert forced.code == 1
    assert "deleted or missing: tests/test_add.py" in forced.err


# -- units ---------------------------------------------------------------------------------


def test_is_test_file() -> None:
    for name in (
        "tests/test_a.py",
        "a_test.go",
        "src/x.test.ts",
        "web/a.spec.jsx",
        "FooTest.java",
        "test/helpers.js",
        "pkg/conftest.py",
        "spec/models/user_spec.rb",
    ):
        assert is_test_file(name), name
    for name in ("calc/ops.py", "src/main.go", "README.md", "testing.md", "contest.py"):
        assert not is_test_file(name), name
    assert task_test_files(["calc/ops.py", "tests/test_a.py"]) == ["tests/test_a.py"]
    assert task_test_files(["src/lib.rs"]) == ["src/lib.rs"]  # none looks like a test


def test_case_file_mapping() -> None:
    files = ["tests/test_add.py", "backend/tests/test_api.py"]
    assert case_file(TestCase("tests.test_add", "test_x", "failed"), files) == files[0]
    assert case_file(TestCase("tests.test_add.TestAdd", "test_x", "failed"), files) == files[0]
    assert case_file(TestCase("", "tests.test_add", "error"), files) == files[0]
    assert case_file(TestCase("tests.test_api", "t", "passed"), files) == files[1]  # rootdir
    assert case_file(TestCase("tests.test_addition", "t", "failed"), files) is None
    assert case_file(TestCase("x", "t", "failed", file="backend/tests/test_api.py"), files)


def _run(cases: list[TestCase], exit_code: int) -> TestRun:
    return TestRun("r", [], False, exit_code, source="junit", total=len(cases), cases=cases)


def test_verdict_units(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    files = ["tests/test_a.py"]
    old = TestCase("tests.test_old", "t", "failed")
    verdict, tests = red_verdict(
        _run([TestCase("tests.test_a", "t", "failed"), old], 1), files, tmp_path
    )
    assert verdict.ok and tests.red_ids == ["tests.test_a::t"]
    assert tests.preexisting == ["tests.test_old::t"]
    assert green_verdict(
        _run([TestCase("tests.test_a", "t", "passed"), old], 1), tests, tmp_path
    ).ok
    renamed = green_verdict(_run([TestCase("tests.test_a", "t2", "passed")], 0), tests, tmp_path)
    assert not renamed.ok and "pinned test tests/test_a.py::t did not run" in renamed.reason
    crashed = green_verdict(_run([TestCase("tests.test_a", "t", "passed")], 3), tests, tmp_path)
    assert not crashed.ok
    verdict, _ = red_verdict(_run([old], 1), files, tmp_path)
    assert not verdict.ok and "none of the tests in tests/test_a.py ran" in verdict.reason
    verdict, _ = red_verdict(_run([old], 1), [], tmp_path)
    assert not verdict.ok and verdict.reason.startswith("no test file was added or changed")
    assert "failing tests already there: tests.test_old::t" in verdict.reason
    saved = TaskTests(files, ["tests.test_a::t"], ["x"], "junit")
    saved.save(tmp_path)
    assert TaskTests.load(tmp_path) == saved


@pytest.mark.process  # the project's git and its test command run as real processes
def test_snapshot_sees_new_and_changed_files(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("1")
    (tmp_path / "__pycache__").mkdir()
    before = snapshot(tmp_path)  # not a git repository: the walk
    (tmp_path / "a.py").write_text("22")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_b.py").write_text("")
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"")
    (tmp_path / ".aio").mkdir()
    (tmp_path / ".aio" / "y").write_text("")
    assert changed_files(before, snapshot(tmp_path)) == ["a.py", "tests/test_b.py"]

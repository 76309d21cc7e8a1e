"""Green is only won on the tests pinned at red: every way of weakening them is NOT GREEN.

Each test plays one weakening with the scripted agent: the tests step writes a real failing
test, then the implement step leaves the code broken (``add`` subtracts) or unwritten and
weakens the test — its assertion, a mark, its name, the pytest configuration, a conftest, a
helper it uses — so that a plain ``pytest`` run is green. aio must say NOT GREEN with one
reason naming the pinned test (``--fix-rounds 0``: the first verdict is the last). The
members the issue named come first, then others of the same class. The last tests prove the
pin is not too strict (a reformat or a new dependency is not a change), that a deliberate
change is accepted only with ``--accept-test-changes`` (recorded), that fix rounds keep the
same pin, and that verify and review show the pinned tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.workflow.testing.evidence import TestRun
from ai_orchestrator.workflow.testing.testpin import (
    Pin,
    PinnedTest,
    changes,
    defined_tests,
    make_pin,
)
from tests.helpers import Result
from tests.workflow.conftest import (
    ADD_BROKEN,
    ADD_IMPL,
    ADD_TEST,
    FEATURE,
    Project,
    init_and_plan,
    interactions,
    run,
)

# Red through the test's own failure (an exact JUnit id), not a collection error.
ADD_TEST_INSIDE = {
    "write": "tests/test_add.py",
    "content": "def test_add():\n    from calc.ops import add\n\n    assert add(2, 3) == 5\n",
}
PINNED = "pinned test tests/test_add.py::test_add"
ADD_ID = "tests.test_add::test_add"


def _test_file(content: str) -> dict[str, str]:
    return {"write": "tests/test_add.py", "content": content}


def _weakened(project: Project, *green_edits: dict[str, str], red: Any = None) -> Result:
    """Red on ``red`` (default: a test whose module cannot be imported yet), then one implement
    call making ``green_edits``; no fix round."""
    init_and_plan(project, [{"edits": [red or ADD_TEST]}, {"edits": list(green_edits)}])
    return run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0")


def _not_green(project: Project, result: Result, reason: str) -> None:
    assert result.code == 1, result.err
    assert "GREEN (" not in result.err  # never reported green
    line = next(x for x in result.err.splitlines() if "NOT GREEN" in x)
    assert reason in line, line
    task = project.task("T1.1")
    assert task["status"] == "failed" and reason in task["failure_reason"]


# -- the members the issue named ---------------------------------------------------------------


@pytest.mark.process  # the project's git and its test command run as real processes
def test_assert_true_is_not_green(project: Project) -> None:
    result = _weakened(project, ADD_BROKEN, _test_file("def test_add():\n    assert True\n"))
    _not_green(project, result, f"{PINNED} was edited since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_skip_is_not_green(project: Project) -> None:
    skipped = "import pytest\nfrom calc.ops import add\n\n\n@pytest.mark.skip\ndef test_add():\n"
    result = _weakened(project, ADD_BROKEN, _test_file(skipped + "    assert add(2, 3) == 5\n"))
    _not_green(project, result, f"{PINNED} was edited since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_xfail_is_not_green(project: Project) -> None:
    xfail = "import pytest\nfrom calc.ops import add\n\n\n@pytest.mark.xfail\ndef test_add():\n"
    result = _weakened(project, ADD_BROKEN, _test_file(xfail + "    assert add(2, 3) == 5\n"))
    _not_green(project, result, f"{PINNED} was edited since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_deleting_the_test_is_not_green(project: Project) -> None:
    other = _test_file("def test_something_else():\n    assert 1 + 1 == 2\n")
    result = _weakened(project, ADD_BROKEN, other)
    _not_green(project, result, f"{PINNED} was removed or renamed since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_renaming_a_test_whose_red_was_a_collection_error_is_not_green(project: Project) -> None:
    renamed = "from calc.ops import add\n\n\ndef test_add_renamed():\n    assert add(2, 3) == 5\n"
    result = _weakened(project, ADD_IMPL, _test_file(renamed))  # the renamed test passes
    _not_green(project, result, f"{PINNED} was removed or renamed since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_deselecting_through_the_config_is_not_green(project: Project) -> None:
    pyproject = (project.root / "pyproject.toml").read_text() + (
        'addopts = "--deselect tests/test_add.py::test_add"\n'
    )
    result = _weakened(project, ADD_BROKEN, {"write": "pyproject.toml", "content": pyproject})
    _not_green(
        project,
        result,
        "the pytest configuration [tool.pytest] of pyproject.toml changed since red "
        "(pinned: tests/test_add.py::test_add)",
    )


@pytest.mark.process  # the project's git and its test command run as real processes
def test_pytest_exit_in_a_conftest_is_not_green(project: Project) -> None:
    conftest = {
        "write": "tests/conftest.py",
        "content": "import pytest\n\n\ndef pytest_sessionstart(session):\n"
        '    pytest.exit("nothing to see", returncode=0)\n',
    }
    result = _weakened(project, ADD_BROKEN, conftest)
    _not_green(project, result, "conftest tests/conftest.py appeared since red")
    assert "tests/test_add.py::test_add" in result.err


@pytest.mark.process  # the project's git and its test command run as real processes
def test_editing_the_assertion_is_not_green(project: Project) -> None:
    edited = "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == -1\n"
    result = _weakened(project, ADD_BROKEN, _test_file(edited), red=ADD_TEST)
    _not_green(project, result, f"{PINNED} was edited since red")


# -- members the issue did not name --------------------------------------------------------


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_test_catching_its_own_assertion_error_is_not_green(project: Project) -> None:
    caught = (
        "def test_add():\n    from calc.ops import add\n\n    try:\n"
        "        assert add(2, 3) == 5\n    except AssertionError:\n        pass\n"
    )
    result = _weakened(project, ADD_BROKEN, _test_file(caught), red=ADD_TEST_INSIDE)
    _not_green(project, result, f"{PINNED} was edited since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_conftest_hook_that_turns_failures_into_passes_is_not_green(project: Project) -> None:
    conftest = {
        "write": "conftest.py",
        "content": "import pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n    outcome = yield\n"
        "    report = outcome.get_result()\n    report.outcome = 'passed'\n",
    }
    result = _weakened(project, ADD_BROKEN, conftest, red=ADD_TEST_INSIDE)
    _not_green(project, result, "conftest conftest.py appeared since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_conftest_fixture_patching_the_code_under_test_is_not_green(project: Project) -> None:
    conftest = {
        "write": "tests/conftest.py",
        "content": "import pytest\n\nimport calc.ops\n\n\n@pytest.fixture(autouse=True)\n"
        "def fake(monkeypatch):\n    monkeypatch.setattr(calc.ops, 'add', lambda a, b: 5)\n",
    }
    result = _weakened(project, ADD_BROKEN, conftest, red=ADD_TEST_INSIDE)
    _not_green(project, result, "conftest tests/conftest.py appeared since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_collect_ignore_in_a_conftest_is_not_green(project: Project) -> None:
    conftest = {"write": "conftest.py", "content": 'collect_ignore = ["tests/test_add.py"]\n'}
    result = _weakened(project, ADD_BROKEN, conftest)
    _not_green(project, result, "conftest conftest.py appeared since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_new_pytest_ini_with_keyword_deselection_is_not_green(project: Project) -> None:
    ini = {"write": "pytest.ini", "content": '[pytest]\naddopts = -k "not test_add"\n'}
    result = _weakened(project, ADD_BROKEN, ini)
    _not_green(project, result, "the pytest configuration pytest.ini appeared since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_module_level_skip_mark_is_not_green(project: Project) -> None:
    marked = "import pytest\n\npytestmark = pytest.mark.skip\n\n" + ADD_TEST["content"]
    result = _weakened(project, ADD_BROKEN, _test_file(marked))
    _not_green(project, result, "tests/test_add.py changed outside its pinned test(s) since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_an_edited_test_helper_is_not_green(project: Project) -> None:
    helper = {"write": "tests/helpers.py", "content": "def same(a, b):\n    assert a == b\n"}
    test = _test_file(
        "from calc.ops import add\nfrom tests.helpers import same\n\n\n"
        "def test_add():\n    same(add(2, 3), 5)\n"
    )
    init_and_plan(
        project,
        [
            {"edits": [helper, test]},
            {"edits": [ADD_BROKEN, {**helper, "content": "def same(a, b):\n    pass\n"}]},
        ],
    )
    result = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0")
    _not_green(project, result, "test file tests/helpers.py changed since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_code_that_skips_the_pinned_test_is_not_green(project: Project) -> None:
    """Nothing of the tests changed: the runner's own per-test result says skipped."""
    sneaky = {
        "write": "calc/ops.py",
        "content": "import pytest\n\n\ndef add(a, b):\n    pytest.skip('later')\n",
    }
    result = _weakened(project, sneaky)
    _not_green(project, result, f"{PINNED} did not pass, it was skipped")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_code_that_ends_the_run_early_is_not_green(project: Project) -> None:
    """The code under test exits the test process with status 0: no per-test result."""
    exits = {"write": "calc/ops.py", "content": "import os\n\n\ndef add(a, b):\n    os._exit(0)\n"}
    result = _weakened(project, exits)
    assert result.code == 1, result.err
    assert "NOT GREEN" in result.err and "GREEN (" not in result.err
    assert project.task("T1.1")["status"] == "failed"


@pytest.mark.process  # the project's git and its test command run as real processes
def test_an_edited_parametrization_is_not_green(project: Project) -> None:
    red = _test_file(
        "import pytest\n\n\n@pytest.mark.parametrize('a,b,total', [(2, 3, 5)])\n"
        "def test_add(a, b, total):\n    from calc.ops import add\n\n"
        "    assert add(a, b) == total\n"
    )
    edited = {**red, "content": red["content"].replace("(2, 3, 5)", "(2, 3, -1)")}
    result = _weakened(project, ADD_BROKEN, edited, red=red)
    _not_green(project, result, f"{PINNED}[2-3-5] was edited since red")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_later_task_removing_an_earlier_task_s_pinned_test_is_not_green(
    project: Project,
) -> None:
    divide_test = {
        "write": "tests/test_divide.py",
        "content": "def test_divide():\n    from calc.ops import divide\n\n"
        "    assert divide(6, 3) == 2\n",
    }
    divide = {
        "write": "calc/ops.py",
        "content": ADD_IMPL["content"] + "\n\ndef divide(a, b):\n    return a / b\n",
    }
    gone = _test_file("def test_placeholder():\n    pass\n")  # T1.1's test, gone
    init_and_plan(
        project,
        [
            {"edits": [ADD_TEST]},
            {"edits": [ADD_IMPL]},
            {"edits": [divide_test]},
            {"edits": [divide, gone]},
        ],
    )
    assert run("implement", FEATURE, "--task", "T1.1").code == 0
    result = run("implement", FEATURE, "--task", "T1.2", "--fix-rounds", "0")
    assert result.code == 1, result.err
    line = next(x for x in result.err.splitlines() if "NOT GREEN" in x)
    assert f"{PINNED} did not run" in line
    assert "pinned at red by the completed task T1.1" in line
    assert project.task("T1.2")["status"] == "failed"


# -- the pin is exact, not strict; deliberate changes; fix rounds; verify and review --------


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_reformatted_test_and_a_new_dependency_are_not_changes(project: Project) -> None:
    reformatted = _test_file(
        "# the acceptance test of T1.1\nfrom calc.ops import (\n    add,\n)\n\n\n"
        "def test_add():\n    assert add(2, 3) == 5  # the sum\n"
    )
    pyproject = (
        (project.root / "pyproject.toml")
        .read_text()
        .replace('requires-python = ">=3.9"', 'requires-python = ">=3.9"\ndependencies = ["attrs"]')
    )
    result = _weakened(
        project, ADD_IMPL, reformatted, {"write": "pyproject.toml", "content": pyproject}
    )
    assert result.code == 0, result.err
    assert "GREEN (1 pinned test(s) passed)" in result.err


@pytest.mark.process  # the project's git and its test command run as real processes
def test_accept_test_changes_takes_a_deliberate_edit_and_records_it(project: Project) -> None:
    spec = "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    changed = _test_file(spec + "    assert add(-1, 1) == 0\n")
    init_and_plan(
        project,
        [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL, changed]}, {"answer": "nothing to do"}],
    )
    refused = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0")
    _not_green(project, refused, f"{PINNED} was edited since red")
    assert "--accept-test-changes" in refused.err
    accepted = run("implement", FEATURE, "--task", "T1.1", "--accept-test-changes", "--json")
    assert accepted.code == 0, accepted.err
    assert f"--accept-test-changes: accepted {PINNED} was edited since red" in accepted.err
    event = project.history()[-1]
    assert event["arguments"]["accept_test_changes"] is True
    assert event["status"] == "success"
    [record] = event["details"]["accepted_test_changes"]
    assert record["changes"] == [f"{PINNED} was edited since red"] and record["at"]
    saved = json.loads((project.feature_dir / "artifacts/T1.1/task-tests.json").read_text())
    assert saved["pin"]["accepted"] == [record]
    assert accepted.json()["pinned"] == [
        {"test": "tests/test_add.py::test_add", "id": ADD_ID, "outcome": "passed"}
    ]


@pytest.mark.process  # the project's git and its test command run as real processes
def test_fix_rounds_keep_the_pin(project: Project) -> None:
    init_and_plan(
        project,
        [
            {"edits": [ADD_TEST]},
            {"edits": [ADD_BROKEN, _test_file("def test_add():\n    assert True\n")]},
            {"edits": [ADD_TEST, ADD_IMPL]},  # round 1: the test restored, the code written
        ],
    )
    saved = project.feature_dir / "artifacts/T1.1/task-tests.json"
    result = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "1")
    assert result.code == 0, result.err
    fix = interactions("implement-calc")[-1]["prompt"]
    assert f"{PINNED} was edited since red" in fix
    pin = json.loads(saved.read_text())["pin"]
    assert pin["accepted"] == [] and [t["function"] for t in pin["tests"]] == ["test_add"]


@pytest.mark.process  # the project's git and its test command run as real processes
def test_verify_and_review_show_the_pinned_tests(project: Project) -> None:
    review = {"summary": "fine", "findings": []}
    init_and_plan(
        project, [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL]}, {"answer": json.dumps(review)}]
    )
    assert run("implement", FEATURE, "--task", "T1.1").code == 0
    verify = run("verify", FEATURE, "--json")
    assert verify.code == 0, verify.err
    [report] = verify.json()["pinned"]
    assert report["task"] == "T1.1" and report["changes"] == []
    assert report["tests"] == [
        {"test": "tests/test_add.py::test_add", "id": ADD_ID, "outcome": "passed"}
    ]
    text = run("verify", FEATURE)
    assert "Pinned:   1 of 1 passed (T1.1: 1)" in text.out
    # the pinned test removed after the task completed: verify fails and names it
    (project.root / "tests" / "test_add.py").write_text("def test_other():\n    pass\n")
    broken = run("verify", FEATURE)
    assert broken.code == 1
    assert "Result:   FAIL (pinned test T1.1: tests/test_add.py::test_add (not run)" in broken.out
    assert "T1.1: pinned test tests/test_add.py::test_add was removed or renamed" in broken.err
    reviewed = run("review", FEATURE, "--json")
    assert reviewed.code == 0, reviewed.err
    assert reviewed.json()["pinned"][0]["tests"][0]["test"] == "tests/test_add.py::test_add"
    prompt = interactions("review-calc")[-1]["prompt"]
    assert "Tests pinned at red" in prompt and "- T1.1: tests/test_add.py::test_add" in prompt
    assert "CHANGED since red: pinned test tests/test_add.py::test_add was removed" in prompt


@pytest.mark.process  # the project's git and its test command run as real processes
def test_verify_needs_a_test_that_passed(project: Project) -> None:
    init_and_plan(project, [])
    (project.root / "tests" / "test_s.py").write_text(
        "import pytest\n\n\n@pytest.mark.skip\ndef test_a():\n    pass\n\n\n"
        "@pytest.mark.skip\ndef test_b():\n    pass\n"
    )
    result = run("verify", FEATURE)
    assert result.code == 1
    assert "Result:   FAIL (no test passed (0 passed, 0 failed, 2 skipped" in result.out
    assert project.history()[-1]["status"] == "failed"
    assert "no test passed" in project.history()[-1]["error"]


# -- units: what the pin covers ------------------------------------------------------------


def _pinned_project(tmp_path: Path) -> tuple[Pin, list[str]]:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text(
        "from tests.util import check\n\n\ndef test_a():\n    check()\n\n\n"
        "class TestB:\n    def test_b(self):\n        pass\n"
    )
    (tmp_path / "tests" / "util.py").write_text("def check():\n    assert False\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    files = ["tests/test_a.py"]
    run_ = TestRun("red", [], False, 2, source="junit")
    return make_pin(run_, ["tests.test_a"], files, tmp_path), files


def test_unit_a_collection_error_pins_every_test_function_by_name(tmp_path: Path) -> None:
    pin, _files = _pinned_project(tmp_path)
    assert [(t.id, t.function, t.exact) for t in pin.tests] == [
        ("tests.test_a::test_a", "test_a", False),
        ("tests.test_a::TestB::test_b", "TestB::test_b", False),
    ]
    assert set(defined_tests(tmp_path / "tests" / "test_a.py")) == {"test_a", "TestB::test_b"}
    assert "tests/util.py" in pin.files and pin.files["conftest.py"] == "absent"


@pytest.mark.parametrize(
    ("path", "content", "said"),
    [
        ("pytest.py", "", "pytest.py (it would shadow pytest) appeared"),
        ("_pytest/__init__.py", "", "_pytest/__init__.py (it would shadow pytest) appeared"),
        ("tests/conftest.py", "x = 1\n", "conftest tests/conftest.py appeared"),
        ("setup.cfg", "[tool:pytest]\naddopts = -p no:python\n", "[tool:pytest] of setup.cfg"),
        ("tox.ini", "[pytest]\naddopts = -x\n", "[pytest] of tox.ini appeared"),
        ("tests/util.py", "def check():\n    pass\n", "test helper tests/util.py changed"),
        ("tests/__init__.py", "import os\n", "package file tests/__init__.py appeared"),
    ],
)
def test_unit_every_file_that_decides_the_outcome_is_pinned(
    tmp_path: Path, path: str, content: str, said: str
) -> None:
    pin, files = _pinned_project(tmp_path)
    assert changes(tmp_path, pin, files) == []
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text(content)
    found = [str(c) for c in changes(tmp_path, pin, files)]
    assert len(found) == 1 and said in found[0], found
    assert "tests/test_a.py::test_a" in found[0]


def test_unit_unrelated_config_sections_are_not_pinned(tmp_path: Path) -> None:
    pin, files = _pinned_project(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "2"\n')
    (tmp_path / "setup.cfg").write_text("[flake8]\nmax-line-length = 100\n")
    assert changes(tmp_path, pin, files) == []


def test_unit_unittest_classes_are_found_and_unknown_sources_never_guessed(
    tmp_path: Path,
) -> None:
    test = tmp_path / "tests" / "test_u.py"
    test.parent.mkdir()
    test.write_text(
        "import unittest\n\n\nclass AddCase(unittest.TestCase):\n    def test_add(self):\n"
        "        pass\n\n\nclass Helper:\n    def test_not_collected(self):\n        pass\n"
    )
    assert set(defined_tests(test)) == {"AddCase::test_add"}
    # a pinned test whose source aio could not find (dynamic, nested) is judged by the run only
    pin = Pin([PinnedTest("tests.test_u::Made::test_x", "tests/test_u.py", "Made::test_x")], {})
    pin.files["tests/test_u.py"] = "sha256:old"
    found = [str(c) for c in changes(tmp_path, pin, ["tests/test_u.py"])]
    assert found == [
        "tests/test_u.py changed outside its pinned test(s) since red — imports, helpers, "
        "fixtures or marks (pinned: tests/test_u.py::Made::test_x)"
    ]


def test_unit_pin_round_trips(tmp_path: Path) -> None:
    pin, _files = _pinned_project(tmp_path)
    assert Pin.from_dict(json.loads(json.dumps(pin.to_dict()))) == pin
    assert Pin.from_dict({"tests": []}) is None
    assert PinnedTest("m::t[1]", "tests/test_m.py", "t").name == "tests/test_m.py::t[1]"

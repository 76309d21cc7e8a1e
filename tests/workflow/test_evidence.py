"""Red and green need evidence: a test command that never ran the tests is never "red".

Each runner case below used to be reported as ``RED (as required)`` (any non-zero exit was
red) and aio went on to spend the implement call and every fix round on tests that never
ran. Now each stops before the implement call — a runner that cannot even start before any
agent call, the others right after the red run: no implement prompt reaches the agent and no
interaction is recorded for it; one ``aio: error:`` line names the cause and the fix.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ai_orchestrator.workflow.testing.evidence import TestCase, TestRun, classify
from ai_orchestrator.workflow.testing.testcheck import check_test_command
from ai_orchestrator.workflow.testing.testrun import parse_summary, run_tests
from tests.workflow.conftest import (
    ADD_BROKEN,
    ADD_IMPL,
    ADD_TEST,
    FEATURE,
    TEST_COMMAND,
    Project,
    init_and_plan,
    interactions,
    run,
)

PY = sys.executable
NO_PYTEST = [PY, "-S", "-m", "pytest", "-q"]  # -S: no site-packages, so no pytest: "not installed"
FIX = "test_command in .aio/config.toml"
# A file under tests/ that is not the task's and cannot be imported.
BROKEN_OTHER = "import no_such_module_anywhere\n\n\ndef test_old():\n    pass\n"
# A test file that imports fine (not ATDD's usual first red): its test fails when it runs.
FAILING_ADD_TEST = {
    "write": "tests/test_add.py",
    "content": "def test_add():\n    from calc.ops import add\n\n    assert add(2, 3) == 5\n",
}


def set_test_command(project: Project, command: str | list[str]) -> None:
    config = project.root / ".aio" / "config.toml"
    lines = config.read_text().splitlines()
    assert lines[0].startswith("test_command = ")
    lines[0] = f"test_command = {json.dumps(command)}"
    config.write_text("\n".join(lines) + "\n")


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("aio: error:")]


# (name, test command, what the project holds besides the task's tests, words of the cause)
CASES: list[tuple[str, str | list[str], dict[str, str], str]] = [
    ("module not found", NO_PYTEST, {}, "has no module 'pytest'"),
    ("command not found", ["no-such-test-runner-xyz", "-q"], {}, "command not found"),
    (
        "module not found under a shell",
        f"{PY} -S -m pytest -q 2>&1",
        {},
        "has no module 'pytest'",
    ),
    ("command not found under a shell", "no-such-test-runner-xyz -q 2>&1", {}, "exit code 127"),
    (
        "collection error outside the task's tests",
        f"{PY} -m pytest -q -p no:cacheprovider 2>&1",  # a shell: no JUnit, no continue flag
        {"tests/test_old.py": BROKEN_OTHER},
        "could not be collected: tests/test_old.py (ModuleNotFoundError",
    ),
    (
        "conftest cannot be imported (exit 4)",
        TEST_COMMAND,
        {"conftest.py": "import no_such_plugin_module\n"},
        "conftest",
    ),
    (
        "usage error (exit 4)",
        [*TEST_COMMAND, "tests/unit"],
        {},
        "pytest refused its command line (exit code 4",
    ),
    ("zero tests collected (exit 5)", [*TEST_COMMAND, "-k", "no_such_test"], {}, "no tests ran"),
    (
        "prints nothing and exits 1",
        [PY, "-c", "raise SystemExit(1)"],
        {},
        "reported no result aio can read (exit code 1, no output)",
    ),
    (
        "killed by a signal",
        [PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
        {},
        "killed by signal 9",
    ),
]


@pytest.mark.process  # the project's git and its test command run as real processes
@pytest.mark.parametrize(("name", "command", "files", "cause"), CASES, ids=[c[0] for c in CASES])
def test_a_runner_that_never_ran_the_tests_is_not_red(
    project: Project, name: str, command: str | list[str], files: dict[str, str], cause: str
) -> None:
    steps = [{"edits": [FAILING_ADD_TEST]}, {"edits": [ADD_IMPL]}, {"answer": "x"}]
    init_and_plan(project, steps)
    for rel, text in files.items():
        (project.root / rel).write_text(text)
    set_test_command(project, command)
    result = run("implement", FEATURE, "--task", "T1.1", "--json")
    assert result.code == 1, (name, result.err)
    assert "RED (as required)" not in result.err
    [error] = _error_lines(result.err)  # exactly one line: the cause and the fix
    # a module or conftest that cannot be imported is not the test command's fault
    fix = "the test command is not at fault" if "collection" in name or "conftest" in name else FIX
    assert cause in error and fix in error, error
    assert "Traceback" not in result.err
    calls = interactions("implement-calc")
    assert all("Step 2 (GREEN)" not in c["prompt"] for c in calls)  # no implement prompt
    assert not (project.root / "calc" / "ops.py").exists()
    event = project.history()[-1]
    if not isinstance(command, str) and "not found" in name:
        # the program or module is missing: refused before any agent call, task untouched
        assert "was not started: the test command cannot run" in error
        assert calls == [] and event["details"].get("test_runs") in (None, [])
        assert project.task("T1.1")["status"] == "pending"
        return
    assert "the tests never ran, so red cannot be judged" in error
    assert len(calls) == 1 and "Step 1 (RED)" in calls[0]["prompt"]  # no correction either
    task = project.task("T1.1")
    assert task["status"] == "failed" and fix in task["failure_reason"]
    [red] = event["details"]["test_runs"]
    assert red["red"] is False and red["evidence"]["cause"] != "ran"
    assert [s["step"] for s in event["details"]["steps"]] == ["tests"]


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_genuine_red_through_a_shell_still_proceeds(project: Project) -> None:
    """Without JUnit, a collection error of the task's own new file is red (ATDD's first
    step), and pytest's -q summary line (no ``===`` rules) is read as evidence."""
    init_and_plan(project, [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL]}])
    set_test_command(project, f"{PY} -m pytest -q -p no:cacheprovider 2>&1")
    result = run("implement", FEATURE, "--task", "T1.1", "--json")
    assert result.code == 0, result.err
    red, green = result.json()["test_runs"]
    assert red["red"] and red["source"] == "summary" and red["evidence"]["cause"] == "ran"
    assert green["green"] and green["passed"] == 1
    assert [s["step"] for s in result.json()["steps"]] == ["tests", "implement"]


@pytest.mark.process  # the project's git and its test command run as real processes
@pytest.mark.parametrize("shell_tail", ["| tee out.txt", "; echo done", "&& echo ok"])
def test_counts_from_the_summary_beat_a_shell_exit_status(
    project: Project, shell_tail: str
) -> None:
    """A pipe or a trailing command hides or keeps pytest's exit status; red and green are
    judged on the summary pytest printed, so all three shells give the same red → green."""
    init_and_plan(project, [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL]}])
    set_test_command(project, f"{PY} -m pytest -q -p no:cacheprovider 2>&1 {shell_tail}")
    result = run("implement", FEATURE, "--task", "T1.1", "--json")
    assert result.code == 0, result.err
    red, green = result.json()["test_runs"]
    assert red["red"] and red["errors"] + red["failed"] > 0, red
    assert green["green"] and green["passed"] == 1


@pytest.mark.process  # the project's git and its test command run as real processes
def test_failures_behind_a_pipe_are_never_green(project: Project) -> None:
    """``pytest | tee`` exits 0 even when tests fail: the failures pytest printed decide."""
    init_and_plan(project, [{"edits": [ADD_TEST]}, {"edits": [ADD_BROKEN]}])
    set_test_command(project, f"{PY} -m pytest -q -p no:cacheprovider 2>&1 | tee out.txt")
    result = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "0")
    assert result.code == 1, result.err
    assert "RED (as required)" in result.err, result.err
    assert "NOT GREEN: the tests fail (0 passed, 1 failed" in result.err, result.err
    # the counts are given once on the line, not again after the reason
    (line,) = [line for line in result.err.splitlines() if "NOT GREEN" in line]
    assert line.count(" passed") == 1, line
    assert project.task("T1.1")["status"] != "completed"


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_failing_task_test_next_to_a_broken_module_is_red(project: Project) -> None:
    """With JUnit the task's tests run despite another module's collection error: red, and
    the other module's error is a pre-existing failure, not the task's."""
    (project.root / "tests" / "test_old.py").write_text(BROKEN_OTHER)
    init_and_plan(project, [{"edits": [FAILING_ADD_TEST]}, {"edits": [ADD_IMPL]}])
    result = run("implement", FEATURE, "--task", "T1.1", "--json")
    assert result.code == 0, result.err
    saved = json.loads((project.feature_dir / "artifacts/T1.1/task-tests.json").read_text())
    assert saved["red_ids"] == ["tests.test_add::test_add"]
    assert saved["preexisting"] == ["tests.test_old"]


RUN_TESTS_SCRIPT = f"#!/bin/sh\nexec {PY} -m pytest -q -p no:cacheprovider \"$@\"\n"


@pytest.mark.process  # the project's git and its test command run as real processes
def test_green_needs_evidence_too(project: Project) -> None:
    """Red is confirmed through a wrapper script; the implement step deletes the wrapper:
    green cannot be judged, and aio stops without spending a fix round."""
    script = project.root / "run-tests"
    script.write_text(RUN_TESTS_SCRIPT)
    script.chmod(0o755)
    init_and_plan(
        project,
        [{"edits": [ADD_TEST]}, {"edits": [ADD_IMPL, {"delete": "run-tests"}]}, {"answer": "x"}],
    )
    set_test_command(project, ["./run-tests"])
    result = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "2", "--json")
    assert result.code == 1, result.err
    assert "red: RED (as required)" in result.err  # the wrapper's pytest summary is evidence
    [error] = _error_lines(result.err)
    assert "green cannot be judged" in error and "not found" in error and FIX in error
    assert len(interactions("implement-calc")) == 2  # tests + implement, no fix round


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_broken_conftest_at_green_gets_the_fix_rounds(project: Project) -> None:
    """A collection error the agent causes while implementing is not green (no evidence)
    but the agent may fix it: the fix prompt names the cause."""
    bad_conftest = {"write": "conftest.py", "content": "import no_such_plugin_module\n"}
    init_and_plan(
        project,
        [
            {"edits": [ADD_TEST]},
            {"edits": [ADD_IMPL, bad_conftest]},
            {"edits": [{"delete": "conftest.py"}]},
        ],
    )
    result = run("implement", FEATURE, "--task", "T1.1", "--fix-rounds", "1")
    assert result.code == 0, result.err
    fix = interactions("implement-calc")[-1]["prompt"]
    assert "conftest" in fix and "cannot be imported" in fix


@pytest.mark.process  # the project's git and its test command run as real processes
def test_verify_says_the_tests_could_not_run(project: Project) -> None:
    init_and_plan(project, [])
    (project.root / "tests" / "test_ok.py").write_text("def test_ok():\n    pass\n")
    set_test_command(project, NO_PYTEST)
    result = run("verify", FEATURE, "--json")
    assert result.code == 1
    tests = result.json()["tests"]
    assert tests["evidence"]["cause"] == "not_started"
    assert not tests["green"] and not tests["red"]
    text = run("verify", FEATURE)
    assert "Result:   COULD NOT RUN" in text.out and "FAIL" not in text.out
    assert FIX in text.err
    event = project.history()[-1]
    assert event["status"] == "failed" and "could not run" in event["error"]


@pytest.mark.process  # the project's git and its test command run as real processes
def test_verify_counts_errors_apart_from_failures(project: Project) -> None:
    """pytest's errors (here a broken fixture) are not failures: "Failed:" and the summary
    in brackets give the same figures, with errors on their own line."""
    init_and_plan(project, [])
    (project.root / "tests" / "test_ok.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef broken():\n    raise RuntimeError('x')\n\n\n"
        "def test_ok():\n    pass\n\n\ndef test_ok_too():\n    pass\n\n\n"
        "def test_uses_broken(broken):\n    pass\n"
    )
    text = run("verify", FEATURE)
    assert text.code == 1, text.err
    assert "Passed:   2\n" in text.out and "Failed:   0\n" in text.out, text.out
    assert "Errors:   1\n" in text.out, text.out
    assert "(2 passed, 0 failed, 1 error in " in text.out, text.out


# -- init and doctor check the test command -----------------------------------------------------


@pytest.mark.process  # the project's git and its test command run as real processes
def test_init_and_doctor_report_the_test_command(project: Project) -> None:
    project.scenario([])
    set_test_command(project, NO_PYTEST)
    init = run("init", FEATURE)
    assert init.code == 0, init.err  # a runner that cannot run never makes init fail
    assert "CANNOT RUN" in init.err and "has no module 'pytest'" in init.err and FIX in init.err
    doctor = run("doctor", "--json")
    assert doctor.code == 0
    check = doctor.json()["test_command"]
    assert (check["status"], check["source"]) == ("failed", "config")

    (project.root / "tests" / "test_ok.py").write_text("def test_ok():\n    pass\n")
    set_test_command(project, TEST_COMMAND)
    assert "runs: pytest collects 1 test(s)" in run("init", "other").err
    assert run("doctor", "--json").json()["test_command"]["status"] == "ok"
    assert "Test command:" in run("doctor").out

    set_test_command(project, "npm test")
    assert run("doctor", "--json").json()["test_command"]["status"] in ("unchecked", "failed")


@pytest.mark.process  # the project's git and its test command run as real processes
def test_check_test_command_units(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    assert check_test_command(NO_PYTEST, tmp_path).status == "failed"
    assert check_test_command(["no-such-runner-xyz"], tmp_path).detail.endswith("not found")
    empty = check_test_command(TEST_COMMAND, tmp_path)
    assert empty.status == "ok" and "no tests yet" in empty.detail
    (tmp_path / "tests" / "test_bad.py").write_text(BROKEN_OTHER)
    broken = check_test_command(TEST_COMMAND, tmp_path)
    assert broken.status == "failed" and "tests/test_bad.py" in broken.detail
    assert check_test_command([PY, "-m", "unittest"], tmp_path).status == "unchecked"
    assert check_test_command("make test | tee x", tmp_path).status == "unchecked"
    assert check_test_command([PY, "-m", "no_such_mod"], tmp_path).status == "failed"


# -- the classification itself ------------------------------------------------------------------


def _real_run(tmp_path: Path, command: list[str] | str, label: str = "r") -> TestRun:
    return run_tests(
        command, cwd=tmp_path, label=label, artifacts=tmp_path / ".art", timeout=60
    )


@pytest.mark.process  # the project's git and its test command run as real processes
def test_real_runs_are_classified(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    test_a = tmp_path / "tests" / "test_a.py"
    test_a.write_text("def test_a():\n    assert False\n")
    failing = _real_run(tmp_path, TEST_COMMAND)
    assert failing.evidence().ran and failing.red and failing.failed == 1
    assert _real_run(tmp_path, NO_PYTEST).evidence().cause == "not_started"
    assert _real_run(tmp_path, ["no-such-runner-xyz"]).evidence().cause == "not_started"
    silent = _real_run(tmp_path, [PY, "-c", "raise SystemExit(1)"])
    assert silent.evidence().cause == "no_result" and not silent.red
    quiet_pass = _real_run(tmp_path, [PY, "-c", "pass"])
    assert quiet_pass.evidence().cause == "no_result" and not quiet_pass.green
    none = _real_run(tmp_path, [*TEST_COMMAND, "-k", "nothing_matches"])
    assert none.evidence().cause == "no_tests" and not none.red
    # a new test file that cannot import the code under test: the task's red
    test_a.write_text("from calc.nothing import x\n\n\ndef test_a():\n    pass\n")
    own = _real_run(tmp_path, f"{PY} -m pytest -q -p no:cacheprovider 2>&1", "shell")
    assert own.pytest and own.collection_errors == ["tests/test_a.py"]
    assert own.evidence(["tests/test_a.py"]).ran
    assert own.evidence(["tests/test_other.py"]).cause == "collection_error"
    assert own.evidence().cause == "collection_error"  # verify: nothing else ran


@pytest.mark.process  # the project's git and its test command run as real processes
@pytest.mark.parametrize(
    ("command", "said"),
    [
        (f"cd no-such-dir-xyz && {PY} -m pytest -q", "no-such-dir-xyz"),
        (f"no-such-runner-xyz -q && {PY} -m pytest -q", "no-such-runner-xyz"),
        (f"{PY} -m pytest -q < no-such-input-xyz", "no-such-input-xyz"),
    ],
    ids=["cd fails", "a program not found", "a redirection fails"],
)
def test_a_shell_that_fails_before_the_runner_names_its_own_error(
    tmp_path: Path, command: str, said: str
) -> None:
    """``cd nowhere && pytest``: the shell's line is the cause, never "pytest was interrupted"."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")
    evidence = _real_run(tmp_path, command).evidence()
    assert evidence.cause == "not_started", evidence
    assert evidence.detail.startswith("the shell stopped before the tests ran: sh: ")
    assert said in evidence.detail and "interrupted" not in evidence.detail


@pytest.mark.process  # the project's git and its test command run as real processes
def test_a_test_runner_killed_by_a_signal_is_seen_through_its_watchdog(tmp_path: Path) -> None:
    killed = _real_run(tmp_path, [PY, "-c", "import os, signal; os.kill(os.getpid(), 9)"])
    assert killed.exit_code == -9 and killed.evidence().cause == "crashed"


def _fake(exit_code: int | None, tail: str = "", **kw: object) -> TestRun:
    return TestRun("x", ["prog"], False, exit_code, tail=tail, **kw)  # type: ignore[arg-type]


def test_classify_units() -> None:
    assert classify(_fake(1, timed_out=True)).cause == "timed_out"
    assert classify(_fake(126)).cause == "not_started"
    assert classify(_fake(-11)).detail == "the test runner was killed by signal 11"
    assert classify(_fake(3, pytest=True)).cause == "crashed"
    assert classify(_fake(2, pytest=True)).cause == "crashed"
    assert classify(_fake(5, pytest=True)).cause == "no_tests"
    assert classify(_fake(5)).cause == "no_result"  # exit 5 means "nothing ran" for pytest only
    counted = _fake(1, source="summary", failed=1, total=1)
    assert classify(counted).ran
    assert classify(_fake(0, source="summary")).cause == "no_tests"
    # JUnit: another module's collection error, the task's test ran and failed
    cases = [TestCase("", "tests.test_old", "error"), TestCase("tests.test_a", "t", "failed")]
    junit = _fake(1, source="junit", errors=1, failed=1, total=2, cases=cases, pytest=True)
    junit.collection_errors = ["tests/test_old.py"]
    assert classify(junit, ["tests/test_a.py"]).ran
    assert classify(junit, ["tests/test_b.py"]).cause == "collection_error"
    assert classify(junit).ran  # verify: a test besides the broken module ran


def test_pytest_quiet_summary_is_parsed() -> None:
    assert parse_summary("...\n1 failed, 2 passed in 0.12s\n") == {
        "passed": 2,
        "failed": 1,
        "errors": 0,
        "skipped": 0,
        "total": 3,
    }
    assert parse_summary("no tests ran in 0.01s\n") == {
        "passed": 0,
        "failed": 0,
        "errors": 0,
        "skipped": 0,
        "total": 0,
    }
    go = "ok  \texample.com/a\t0.01s\nok  \texample.com/b\t(cached)\n?   \tc\t[no test files]\n"
    assert parse_summary(go)["passed"] == 2  # type: ignore[index]
    mocha = "  3 passing (10ms)\n  1 failing\n"
    assert parse_summary(mocha)["failed"] == 1  # type: ignore[index]

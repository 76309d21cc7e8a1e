"""A task interrupted at any step continues on the next run, and no test run outlives aio.

Real processes throughout (marker ``process``): aio, the scripted agent and pytest.

- The tests step killed (SIGKILL) or interrupted (Ctrl-C) after the agent wrote the tests
  file: the rerun continues the tests step — the file the killed call wrote is this task's
  test — and the task completes. Before, that file was "outside the task's tests" and every
  rerun stopped with "the tests never ran … fix test_command".
- A tests file already there and a tests step that changes nothing: the reason names that
  cause, never ``test_command``.
- aio SIGKILLed during the red run and during the green run: the test runner is under the
  same watchdog as an agent, so 5 s later no test process is alive.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.workflow.conftest import (
    ADD_IMPL,
    ADD_TEST,
    FEATURE,
    Project,
    agent_processes,
    cursor_at,
    init_and_plan,
    interactions,
    run,
    runner_processes,
    start_aio,
    wait_for,
)

pytestmark = pytest.mark.agent_process

GONE_WITHIN = 5.0  # seconds after aio's death by which no test process may be alive


def _stop(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    proc.send_signal(sig)
    proc.communicate(timeout=60)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_a_task_interrupted_while_the_tests_are_written_completes_on_rerun(
    project: Project, sig: signal.Signals
) -> None:
    init_and_plan(
        project,
        [
            {"edits": [ADD_TEST], "delay": 60},  # killed here, the tests file written
            {"answer": "The tests are in tests/test_add.py already."},  # the rerun: no change
            {"edits": [ADD_IMPL]},
        ],
    )
    with start_aio("implement", FEATURE, "--task", "T1.1") as proc:
        wait_for(lambda: cursor_at(2) and (project.root / "tests" / "test_add.py").exists())
        wait_for(lambda: agent_processes(project))
        _stop(proc, sig)
    assert proc.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 130)
    wait_for(lambda: not agent_processes(project), timeout=15)
    rerun = run("implement", FEATURE, "--task", "T1.1")
    assert rerun.code == 0, rerun.err
    assert "continuing the tests step of an earlier run" in rerun.err
    assert "tests/test_add.py" in rerun.err and "red: RED (as required)" in rerun.err
    assert project.task("T1.1")["status"] == "completed"
    tests_prompt = interactions("implement-calc")[-2]["prompt"]
    assert "earlier run of this step was interrupted" in tests_prompt
    assert "tests/test_add.py" in tests_prompt
    assert not (project.feature_dir / "artifacts/T1.1/tests-step.json").exists()


def test_an_existing_tests_file_and_an_idle_tests_step_name_the_real_cause(
    project: Project,
) -> None:
    (project.root / "tests" / "test_add.py").write_text(ADD_TEST["content"])
    notes = {"write": "NOTES.md", "content": "tests exist\n"}
    init_and_plan(project, [{"edits": [notes]}, {"answer": "nothing to add"}])
    result = run("implement", FEATURE, "--task", "T1.1")
    assert result.code == 1
    error = [line for line in result.err.splitlines() if line.startswith("aio: error:")][-1]
    assert "fix test_command" not in error
    assert "could not be collected: tests/test_add.py" in error
    assert "the test command is not at fault" in error


def test_an_existing_tests_file_is_not_taken_for_the_task_s_tests(project: Project) -> None:
    (project.root / "tests" / "test_add.py").write_text(ADD_TEST["content"])
    init_and_plan(project, [{"answer": "nothing to add"}, {"answer": "still nothing"}])
    result = run("implement", FEATURE, "--task", "T1.1")
    assert result.code == 1
    assert "no test file was added or changed by the tests step" in result.err
    assert "failing tests already there: tests.test_add" in result.err
    assert "fix test_command" not in result.err
    correction = interactions("implement-calc")[-1]["prompt"]
    assert "tests already in the project are not taken as this task's" in correction


# At red the test sleeps before it imports the code that does not exist yet.
SLOW_RED = {
    "write": "tests/test_add.py",
    "content": (
        "import time\n\n\ndef test_add():\n    time.sleep(120)\n"
        "    from calc.ops import add\n\n    assert add(2, 3) == 5\n"
    ),
}
# At green every test sleeps, once the code under test exists (at red it does not yet).
SLOW_GREEN = {
    "write": "tests/conftest.py",
    "content": (
        "import time\n\nimport pytest\n\n\n@pytest.fixture(autouse=True)\ndef slow():\n"
        "    try:\n        import calc.ops  # noqa: F401\n    except ImportError:\n"
        "        return\n    time.sleep(120)\n"
    ),
}


@pytest.mark.parametrize("step", ["red", "green"])
def test_no_test_process_outlives_aio(project: Project, step: str) -> None:
    if step == "red":
        init_and_plan(project, [{"edits": [SLOW_RED]}])
    else:
        init_and_plan(project, [{"edits": [ADD_TEST, SLOW_GREEN]}, {"edits": [ADD_IMPL]}])
    log = project.feature_dir / "artifacts" / "T1.1" / f"{step}-1.log"
    with start_aio("implement", FEATURE, "--task", "T1.1") as proc:
        wait_for(lambda: log.exists() and runner_processes(project.root), timeout=90)
        time.sleep(1.5)  # pytest is inside the sleeping test
        assert proc.poll() is None and runner_processes(project.root)
        proc.kill()
        proc.communicate(timeout=30)
        died = time.monotonic()
    while runner_processes(project.root) and time.monotonic() - died < GONE_WITHIN:
        time.sleep(0.1)
    assert runner_processes(project.root) == []

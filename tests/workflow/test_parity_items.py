"""Shell-version parity items built in aio: ``switch --status``, ``config detect``, and the
start time and artifact count in ``status`` (docs/parity.md items 31, 37, 42)."""

from __future__ import annotations

import json

import pytest

from tests.workflow.conftest import FEATURE, Project, init_and_plan, run

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes


def test_switch_status_switches_then_shows_the_feature(project: Project) -> None:
    init_and_plan(project, [])
    assert run("init", "other").code == 0  # now the current feature
    shown = run("switch", FEATURE, "--status")
    assert shown.code == 0, shown.err
    assert shown.out.startswith(f"Feature: {FEATURE}") and "Tasks: 0/2 completed" in shown.out
    assert (project.root / ".aio" / "current").read_text().strip() == FEATURE
    for bad in (("switch", "--list", "--status"), ("switch", "--status")):
        refused = run(*bad)
        assert refused.code == 2 and refused.err.count("\n") == 1, refused.err


def test_config_detect_names_the_runner_it_would_use(project: Project) -> None:
    init_and_plan(project, [])
    (project.root / "go.mod").write_text("module x\n")
    for marker in project.root.glob("pyproject.toml"):
        marker.unlink()
    detected = run("config", "detect", "--json")
    assert detected.code == 0, detected.err
    doc = json.loads(detected.out)
    assert doc["detected"] in ("go test ./...", "python -m pytest")  # pytest config wins
    assert doc["configured"]  # the scenario's test_command
    text = run("config", "detect").out
    assert "Detected test command: " in text and "Configured (.aio/config.toml): " in text


def test_status_shows_when_the_feature_started_and_its_artifacts(project: Project) -> None:
    init_and_plan(project, [])
    (project.feature_dir / "artifacts" / "notes.txt").write_text("x")
    text = run("status", FEATURE).out
    line = next(x for x in text.splitlines() if x.startswith("Started: "))
    assert " · just now · artifacts: 1 file" in line or " ago · artifacts: 1 file" in line, line
    assert json.loads(run("status", FEATURE, "--json").out)["artifacts"] == 1


def test_task_set_model_is_the_model_implement_uses_for_that_task(project: Project) -> None:
    """Parity item 4: the shell's ``update-session-state --model``. The task's model is used by
    ``implement`` for that task only; ``--model`` on the command line still wins, and
    ``--clear-model`` goes back to the phase's model."""
    from tests.workflow.conftest import interactions

    init_and_plan(project, [{"edits": []}, {"edits": []}, {"edits": []}])
    session = f"implement-{FEATURE}"
    refused = [
        run("task", "set", FEATURE, "T1.1"),  # nothing to set
        run("task", "set", FEATURE, "T1.1", "--model", "bad model!"),
        run("task", "set", FEATURE, "T1.1", "--model", "x", "--clear-model"),
    ]
    for result in refused:
        assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert "model" not in project.task("T1.1")  # nothing written by a refused call

    done = run("task", "set", FEATURE, "T1.1", "--model", "big-model-7", "--json")
    assert done.code == 0, done.err
    assert done.json()["previous_model"] is None and "previous_status" not in done.json()
    assert project.task("T1.1")["model"] == "big-model-7"
    assert project.task("T1.1")["status"] == "pending"  # only what was asked changed

    first = run("implement", "--task", "T1.1", "--no-tests")
    assert first.code == 0, first.err
    assert "task T1.1 uses model big-model-7" in first.err
    # the scripted agent reports the model it was given as ``scripted-<model>``
    assert interactions(session)[-1]["model"] == "scripted-big-model-7"

    override = run("implement", "--task", "T1.1", "--no-tests", "--force", "--model", "other-model")
    assert override.code == 0, override.err
    assert interactions(session)[-1]["model"] == "scripted-other-model"

    cleared = run("task", "set", FEATURE, "T1.1", "--clear-model")
    assert cleared.code == 0 and "model big-model-7 → (none)" in cleared.err, cleared.err
    assert "model" not in project.task("T1.1")
    last = run("implement", "--task", "T1.1", "--no-tests", "--force")
    assert last.code == 0, last.err
    assert interactions(session)[-1]["model"] not in (
        "scripted-big-model-7",
        "scripted-other-model",
    )

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

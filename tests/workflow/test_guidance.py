"""What the workflow tells a person to do next, and what it says about their configuration.

Through the CLI: the next-step hint never suggests a command that would refuse (no
``aio implement`` test-first without a test command); unknown keys in ``.aio/config.toml``
are warned about when a command loads it; ``aio config check`` lists every problem at
once; ``aio plan`` says why it plans with Claude when Gemini is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.harness import FakeAgents
from tests.workflow.conftest import FEATURE, TEST_COMMAND, Project, plan_answer, run

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes


def scripted_config(project: Project, *, test_command: bool, extra: str = "") -> None:
    project.scenario_file.write_text(json.dumps({"steps": [{"answer": plan_answer()}]}))
    scenario = json.dumps(["--scenario", str(project.scenario_file)])
    lines = [f"test_command = {json.dumps(TEST_COMMAND)}"] if test_command else []
    lines += [extra, "[phases.plan]", 'agent = "scripted"', "fallback = []"]
    lines += [f"extra_args = {scenario}"]
    (project.root / ".aio").mkdir(exist_ok=True)
    (project.root / ".aio" / "config.toml").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("has_tests", [True, False])
def test_the_hint_after_plan_fits_the_test_command(project: Project, has_tests: bool) -> None:
    scripted_config(project, test_command=has_tests)
    init = run("init", FEATURE, "A calculator")
    assert init.code == 0 and f'Next: aio plan {FEATURE} "PROMPT"' in init.err
    result = run("plan", FEATURE, "plan it")
    assert result.code == 0, result.err
    hint = [line for line in result.err.splitlines() if line.startswith("Next: ")]
    implement = f"aio implement {FEATURE} --task T1.1"
    if has_tests:
        assert hint == [f"Next: {implement}"]
    else:
        assert len(hint) == 1 and hint[0].startswith("Next: set test_command"), result.err
        assert f"{implement} --no-tests" in hint[0]
    nxt = run("next", FEATURE)
    assert [line for line in nxt.err.splitlines() if line.startswith("Next: ")] == hint


def test_unknown_keys_are_warned_about_when_the_config_loads(project: Project) -> None:
    scripted_config(project, test_command=True, extra='tset_command = "pytest"')
    assert run("init", FEATURE).code == 0
    result = run("plan", FEATURE, "plan it")
    assert result.code == 0, result.err
    assert (
        "warning: .aio/config.toml: unknown key 'tset_command' is ignored "
        "(see `aio config check`)" in result.err.splitlines()
    )


def test_config_check_lists_every_problem(project: Project) -> None:
    (project.root / ".aio").mkdir()
    (project.root / ".aio" / "config.toml").write_text(
        'tset_command = "pytest"\nfix_rounds = "two"\n'
        '[phases.implement]\nmodle = "sonnet"\npermission_mode = "yolo-ish"\n'
        '[phases.review]\nagent = "gpt"\n'
        '[phases.plan]\nfallback = ["claude:opus", "copilot"]\n'
        "[phases.verfy]\n"
    )
    text = run("config", "check")
    assert text.code == 2
    lines = text.out.splitlines()
    assert "warning: tset_command: unknown key (ignored)" in lines
    assert "warning: phases.implement.modle: unknown key (ignored)" in lines
    errors = [line for line in lines if line.startswith("error: ")]
    for key in ("fix_rounds", "phases.implement", "phases.review", "phases.plan.fallback"):
        assert any(line.startswith(f"error: {key}: ") for line in errors), (key, lines)
    assert any("unknown phase 'verfy'" in line for line in errors), lines
    assert text.err.splitlines()[-1].startswith("aio: error: ") and "5 errors" in text.err
    document = run("config", "check", "--json")
    assert document.code == 2
    data = json.loads(document.out)
    assert data["ok"] is False and len(data["problems"]) == len(lines)


def test_config_check_of_a_good_file_is_quiet(project: Project) -> None:
    scripted_config(project, test_command=True)
    result = run("config", "check")
    assert (result.code, result.out.strip().endswith("config.toml: ok")) == (0, True), result


@pytest.mark.agent_process  # the fake Claude CLI is a real process
def test_plan_says_why_it_chose_claude(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = FakeAgents(tmp_path / "fakes")
    for key, value in agents.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AIO_AGENT_CLAUDE_EXECUTABLE", agents.executable("claude"))
    monkeypatch.setenv("AIO_AGENT_GEMINI_EXECUTABLE", str(tmp_path / "no-gemini-here"))
    (project.root / ".aio").mkdir()
    (project.root / ".aio" / "config.toml").write_text(
        f'test_command = {json.dumps(TEST_COMMAND)}\n[phases.plan]\nagent = "auto"\n'
    )
    agents.scenario([{"agent": "claude", "text": plan_answer()}])
    assert run("init", FEATURE).code == 0
    result = run("plan", FEATURE, "plan it")
    assert result.code == 0, result.err
    assert "Planning with Claude: the plan phase's agent is \"auto\", which prefers Gemini, " \
        "and the gemini CLI is not installed" in result.err


def test_a_second_command_says_who_holds_the_feature(project: Project) -> None:
    import os
    import threading

    from ai_orchestrator.workflow.project.workspace import Workspace

    project.scenario([{"answer": plan_answer()}, {"answer": plan_answer()}])
    assert run("init", FEATURE).code == 0
    lock = Workspace(project.root).lock_feature(FEATURE, timeout=0)
    release = threading.Timer(1.5, lock.release)
    release.start()
    try:
        result = run("plan", FEATURE, "plan it")
    finally:
        release.join()
        lock.release()
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    waiting = [line for line in lines if line.startswith(f"{FEATURE}: waiting for the feature")]
    assert len(waiting) == 1 and f"held by pid {os.getpid()} on " in waiting[0], result.err
    assert any(
        line.startswith(f"{FEATURE}: waited ") and line.endswith("s for the feature")
        for line in lines
    ), result.err

"""The scripted backend end to end: build → run its module in a subprocess → parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.base import AgentRequest, AgentResult, Invocation, ProcessExit
from ai_orchestrator.agents.scripted import ScriptedBackend

SCENARIO = """\
model: scripted-sonnet
steps:
  - answer: "Created hello.txt and notes.md"
    edits:
      - {write: hello.txt, content: "hello\\n"}
      - {write: sub/dir/notes.md, content: "one\\n"}
    usage:
      scripted-sonnet: {input: 120, output: 30, cache_read: 10, cache_write: 5}
      haiku: {input: 7, output: 2}
    todos:
      - {content: "Write hello.txt", status: completed}
      - {content: "Write notes", status: in_progress}
  - answer: "Appended and deleted"
    edits:
      - {append: sub/dir/notes.md, content: "two\\n"}
      - {delete: hello.txt}
    usage:
      scripted-sonnet: {input: 200, output: 40}
  - outcome: auth
    error: "Invalid API key · scripted"
  - outcome: crash
    error: "simulated segfault"
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def run_agent(req: AgentRequest, timeout: float = 30) -> AgentResult:
    backend = ScriptedBackend()
    inv: Invocation = backend.build(req, sys.executable)
    env = {**os.environ, **inv.env}
    for name in inv.unset_env:
        env.pop(name, None)
    proc = subprocess.run(
        inv.argv,
        cwd=inv.cwd,
        input=inv.stdin,
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    parser = backend.parser(req)
    for line in proc.stdout.decode().splitlines():
        parser.feed(line)
    return parser.finish(ProcessExit(proc.returncode, proc.stderr.decode(), 10))


def req(workdir: Path, scenario: Path, **kw: Any) -> AgentRequest:
    kw.setdefault("prompt", "please do the thing")
    return AgentRequest(cwd=workdir, extra_args=["--scenario", str(scenario)], **kw)


def test_argv_prompt_on_stdin_and_pythonpath() -> None:
    request = AgentRequest(prompt="secret prompt", cwd=Path("/w"), new_session_id="abc", model="m")
    inv = ScriptedBackend().build(request, "/usr/bin/python3")
    assert inv.argv == [
        "/usr/bin/python3",
        "-m",
        "ai_orchestrator.agents.scripted_cli",
        "--session-id",
        "abc",
        "--model",
        "m",
    ]
    assert inv.stdin == b"secret prompt"
    assert Path(inv.env["PYTHONPATH"].split(os.pathsep)[0], "ai_orchestrator").is_dir()


@pytest.mark.process  # the scripted agent's module as a real process
def test_new_session_writes_files_and_reports_usage(workdir: Path, scenario: Path) -> None:
    sid = str(uuid.uuid4())
    res = run_agent(req(workdir, scenario, new_session_id=sid))
    assert res.outcome == "success", res.error
    assert res.session_id == sid
    assert res.text == "Created hello.txt and notes.md"
    assert (workdir / "hello.txt").read_text() == "hello\n"
    assert (workdir / "sub/dir/notes.md").read_text() == "one\n"
    assert res.model == "scripted-sonnet"
    assert set(res.usage) == {"scripted-sonnet", "scripted-haiku"}  # always "scripted-*"
    sonnet = res.usage["scripted-sonnet"]
    assert (sonnet.input, sonnet.output, sonnet.cache_read, sonnet.cache_write_5m) == (
        120,
        30,
        10,
        5,
    )
    assert res.reported_cost is None
    assert res.tools_used == ["write_file"]
    assert res.todos[0].items[1] == {"content": "Write notes", "status": "in_progress"}
    init = res.raw_events[0]
    assert init["type"] == "init" and init["scripted"] is True


@pytest.mark.process  # the scripted agent's module as a real process
def test_resume_continues_the_same_session(workdir: Path, scenario: Path) -> None:
    first = run_agent(req(workdir, scenario))
    assert first.outcome == "success" and first.session_id
    second = run_agent(req(workdir, scenario, resume_id=first.session_id, prompt="next"))
    assert second.outcome == "success", second.error
    assert second.session_id == first.session_id
    assert second.text == "Appended and deleted"
    assert (workdir / "sub/dir/notes.md").read_text() == "one\ntwo\n"
    assert not (workdir / "hello.txt").exists()
    assert second.tools_used == ["append_file", "delete_file"]
    state = Path(os.environ["AIO_SCRIPTED_HOME"]) / "sessions" / f"{first.session_id}.json"
    history = json.loads(state.read_text())["history"]
    assert [h["prompt"] for h in history] == ["please do the thing", "next"]


@pytest.mark.process  # the scripted agent's module as a real process
def test_unknown_resume_id_is_session_lost(workdir: Path, scenario: Path) -> None:
    res = run_agent(req(workdir, scenario, resume_id=str(uuid.uuid4())))
    assert res.outcome == "session_lost"
    assert res.exit_code == 1
    assert res.error is not None and "No conversation found" in res.error
    # a refused call consumes no step
    assert run_agent(req(workdir, scenario)).text == "Created hello.txt and notes.md"


@pytest.mark.process  # the scripted agent's module as a real process
def test_reused_session_id_is_in_use(workdir: Path, scenario: Path) -> None:
    sid = str(uuid.uuid4())
    assert run_agent(req(workdir, scenario, new_session_id=sid)).ok
    again = run_agent(req(workdir, scenario, new_session_id=sid))
    assert again.session_in_use
    assert not again.ok


@pytest.mark.process  # the scripted agent's module as a real process
def test_simulated_failures_crash_and_exhaustion(workdir: Path, scenario: Path) -> None:
    outcomes = []
    for _ in range(5):
        res = run_agent(req(workdir, scenario))
        outcomes.append((res.outcome, res.exit_code, res.error))
    assert [o[0] for o in outcomes] == ["success", "success", "auth", "crash", "crash"]
    assert outcomes[2] == ("auth", 1, "Invalid API key · scripted")
    assert outcomes[3][2] is not None and "simulated segfault" in outcomes[3][2]
    assert outcomes[4][2] is not None and "scenario exhausted" in outcomes[4][2]


@pytest.mark.process  # the scripted agent's module as a real process
def test_json_scenario_from_environment(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.json"
    steps = [{"answer": "json works", "usage": {"opus": {"input": 1, "output": 2}}}]
    path.write_text(json.dumps(steps), encoding="utf-8")
    monkeypatch.setenv("AIO_SCRIPTED_SCENARIO", str(path))
    res = run_agent(AgentRequest(prompt="p", cwd=workdir, model="opus"))
    assert res.outcome == "success", res.error
    assert res.text == "json works"
    assert res.model == "scripted-opus"
    assert res.usage["scripted-opus"].output == 2


@pytest.mark.process  # the scripted agent's module as a real process
def test_edit_outside_cwd_is_refused_before_anything_happens(workdir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- answer: x\n  edits: [{write: ../escape.txt, content: x}]\n")
    res = run_agent(req(workdir, path))
    assert res.outcome == "crash"
    assert res.error is not None and "escapes the cwd" in res.error
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.process  # the scripted agent's module as a real process
def test_missing_scenario_is_a_clear_error(workdir: Path) -> None:
    res = run_agent(AgentRequest(prompt="p", cwd=workdir))
    assert res.outcome == "crash"
    assert res.error is not None and "AIO_SCRIPTED_SCENARIO" in res.error


@pytest.mark.process  # the scripted agent's module as a real process
@pytest.mark.timeout(60)
def test_through_the_runner_with_a_timeout(workdir: Path, tmp_path: Path) -> None:
    runner = pytest.importorskip("ai_orchestrator.agents.process.runner")
    path = tmp_path / "slow.yaml"
    path.write_text("- {answer: late, delay: 30}\n- {answer: quick}\n")
    backend = ScriptedBackend()
    request = req(workdir, path)
    res = runner.run(backend.build(request, sys.executable), backend.parser(request), timeout=1.5)
    assert res.outcome == "timeout"
    assert res.session_id is not None  # printed before the delay
    quick = runner.run(backend.build(request, sys.executable), backend.parser(request), timeout=30)
    assert quick.outcome == "success" and quick.text == "quick"

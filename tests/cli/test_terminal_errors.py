"""Errors, waits and interrupts as a person (or a script) meets them, through the real CLI.

Every usage error is one line on stderr prefixed with the program actually invoked; under
``--json`` a failure also leaves one JSON object (``error``, ``exit_code``) on stdout; a
second run on a busy session says who holds it and how long it waited; a busy ``delete``
does not pretend it waited; an interrupted call says so in words.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ai_orchestrator import __version__
from ai_orchestrator.store import SessionStore
from tests.fakes.inprocess import FakeLauncher
from tests.helpers import aio_inprocess, as_record, interaction

AIO = "from ai_orchestrator.cli.main import main; main()"


@pytest.mark.parametrize(
    ("prog", "args", "said"),
    [
        ("aio", ["run"], "missing argument 'ARGS...' (see 'aio run --help')"),
        ("aio", ["bogus"], "no such command 'bogus' (see 'aio --help')"),
        ("aio", ["run", "--max-turns", "0", "x"], "invalid value for '--max-turns'"),
        ("ai-session", ["list", "--bogus"], "no such option '--bogus' (see 'ai-session list"),
        ("ai-session", ["show", "Bad Name"], "invalid session name"),
    ],
)
def test_a_usage_error_is_one_line_named_after_the_program(
    prog: str, args: list[str], said: str
) -> None:
    result = aio_inprocess(*args, prog=prog)
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1, result.err
    assert result.err.startswith(f"{prog}: error: ") and said in result.err, result.err


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["list", "--bogus", "--json"], 2),
        (["show", "Bad Name", "--json"], 2),
        (["show", "plan-never-made", "--json"], 1),
    ],
)
def test_under_json_a_failure_also_writes_a_json_error(args: list[str], code: int) -> None:
    result = aio_inprocess(*args, prog="ai-session")
    assert result.code == code
    document = json.loads(result.out)
    assert document["exit_code"] == code
    assert document["error"] and document["error"] in result.err


def test_a_failed_run_under_json_writes_one_document(
    tmp_path: Path, fake_launcher: FakeLauncher
) -> None:
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps([{"outcome": "api_error", "error": "the API said no"}]))
    done = aio_inprocess(
        "run", "--agent", "scripted", "run-x", "hi", "--json",
        env={"AIO_SCRIPTED_SCENARIO": str(scenario)}, cwd=tmp_path,
    )  # fmt: skip
    assert done.code == 1, done.err
    document = json.loads(done.out)  # exactly one document: a second would not parse
    assert document["outcome"] == "api_error"
    assert done.err.splitlines()[-1].startswith("aio: error: ")


def test_ai_session_has_a_version() -> None:
    result = aio_inprocess("--version", prog="ai-session")
    assert (result.code, result.out) == (0, f"ai-session {__version__}\n")


def test_deleting_a_busy_session_does_not_claim_a_wait() -> None:
    store = SessionStore()
    store.record(as_record("plan-busy", interaction()))
    with store.run_lock("plan-busy", command="the holder"):
        result = aio_inprocess("delete", "plan-busy", "--yes", prog="ai-session")
    assert result.code == 1
    assert f"session plan-busy is busy: held by pid {os.getpid()}" in result.err
    assert "waiting" not in result.err and "gave up" not in result.err
    # since when, in local time for people (the ISO time is in the lock file and --json)
    assert re.search(r" since \d\d:\d\d:\d\d", result.err), result.err
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", result.err), result.err
    with store.run_lock("plan-busy", command="the holder"):
        shown = aio_inprocess("show", "plan-busy", prog="ai-session")
    assert re.search(r"In use: yes, by pid \d+ .* since \d\d:\d\d:\d\d", shown.out), shown.out


def scripted_run(
    tmp_path: Path, name: str, steps: list[dict[str, object]]
) -> subprocess.Popen[str]:
    scenario = tmp_path / f"{name}.json"
    scenario.write_text(json.dumps(steps))
    env = {**os.environ, "AIO_SCRIPTED_SCENARIO": str(scenario)}
    return subprocess.Popen(
        [sys.executable, "-c", AIO, "run", "--agent", "scripted", name, "hi"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )


@pytest.mark.process  # the lock is held by another process (this one)
def test_a_second_run_says_who_it_waits_for_and_how_long(tmp_path: Path) -> None:
    lock = SessionStore().run_lock("run-wait", command="the first run")
    release = threading.Timer(1.5, lock.release)
    release.start()
    try:
        proc = scripted_run(tmp_path, "run-wait", [{"answer": "ok"}])
        _, err = proc.communicate(timeout=60)
    finally:
        release.join()
        lock.release()
    assert proc.returncode == 0, err
    lines = err.splitlines()
    assert (
        f"run-wait: waiting for the session: held by pid {os.getpid()} on "
        in lines[0]
    ), err
    assert "(the first run)" in lines[0]
    waited = re.fullmatch(r"run-wait: waited (\d+\.\d)s for the session", lines[1])
    assert waited and 0.2 <= float(waited.group(1)) <= 2.5, err  # 1.5 s less aio's start-up


@pytest.mark.process  # SIGINT to a real aio
def test_an_interrupted_run_says_interrupted(tmp_path: Path) -> None:
    proc = scripted_run(tmp_path, "run-stop", [{"answer": "slow", "delay": 30}])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and SessionStore().holder("run-stop") is None:
        time.sleep(0.05)
    time.sleep(0.5)  # the agent is running
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run-stop: interrupted · " in err, err
    assert "exit code" not in err, err
    assert err.splitlines()[-1].startswith("aio: error: interrupted"), err
    record = SessionStore().read_log("run-stop").records[-1].to_json()  # as printed later
    assert record["outcome"] == "interrupted"
    assert record["error"].startswith("interrupted (Ctrl-C"), record["error"]


def test_status_with_a_broken_config_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert aio_inprocess("init", "calc").code == 0
    config = tmp_path / ".aio" / "config.toml"
    config.write_text(config.read_text() + "\nthis is = = broken [\n")
    for args in (("status",), ("status", "calc"), ("features",)):
        result = aio_inprocess(*args)
        assert result.code == 0, result.err  # what can be shown is shown
        warning = [line for line in result.err.splitlines() if line.startswith("warning: ")]
        assert len(warning) == 1 and "config.toml does not parse" in warning[0], result.err
        assert "aio config check" in warning[0]

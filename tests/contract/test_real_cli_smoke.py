"""Smoke tests: each REAL agent CLI (pinned, from ``make agent-clis``) against the fake API.

Raw level: spawn the CLI without a shell, prompt on stdin, own HOME and cwd under tmp_path.
They prove the fake server is faithful enough for the CLIs: exact answer text and token
counts, resume replays history and keeps the id, tool calls write real files, HTTP errors
give the documented exit codes/output, and a hung request can be killed without leftovers.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.contract.raw_drivers import DRIVERS, RawDriver
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import PINNED_VERSIONS, OfflineCli
from tests.fakeapi.procs import CliResult, kill_group, live_group_members, run_cli, wait_group_gone

pytestmark = pytest.mark.real_cli

Raw = tuple[RawDriver, OfflineCli]


@pytest.fixture(params=sorted(DRIVERS))
def raw(request: pytest.FixtureRequest,
        offline_cli_factory: Callable[[str], OfflineCli]) -> Raw:
    return DRIVERS[request.param], offline_cli_factory(request.param)


def _run(raw: Raw, args: list[str], cwd: Path, prompt: str) -> CliResult:
    cli = raw[1]
    result = run_cli([*cli.argv, *args], cli.env, cwd, stdin=prompt, timeout=90)
    assert not result.timed_out, result.describe()
    assert result.leftover == [], f"processes left behind: {result.leftover}"
    return result


def _assert_all_routed(api: FakeAPIServer) -> None:
    unrouted = [(r.method, r.path) for r in api.requests if r.status == 404]
    assert unrouted == [], f"CLI called endpoints the fake does not serve: {unrouted}"


def test_installed_version_is_pinned(raw: Raw, cli_workdir: Path) -> None:
    driver, cli = raw
    result = run_cli([*cli.argv, "--version"], cli.env, cli_workdir, timeout=60)
    assert result.returncode == 0, result.describe()
    assert PINNED_VERSIONS[driver.name] in result.stdout, result.describe()


def test_text_turn(raw: Raw, fake_api: FakeAPIServer, cli_workdir: Path) -> None:
    driver, _ = raw
    sent = driver.sent_usage(1)
    fake_api.script([{"text": ["Hello from ", "the fake API."], "usage": sent}])
    result = _run(raw, driver.first_args(), cli_workdir, "say hello")
    assert result.returncode == 0, result.describe()
    parsed = driver.parse(result)
    assert parsed.answer == "Hello from the fake API."
    assert parsed.usage == driver.printed_usage(sent)
    uuid.UUID(parsed.session_id)
    main = fake_api.main_requests(driver.api)
    assert len(main) == 1, fake_api.requests
    assert ("user", "say hello") in driver.history(main[0].body)
    _assert_all_routed(fake_api)


def test_resume_keeps_id_and_replays_history(raw: Raw, fake_api: FakeAPIServer,
                                             cli_workdir: Path) -> None:
    driver, _ = raw
    first, second = driver.sent_usage(1), driver.sent_usage(2)
    fake_api.script([{"text": "first answer", "usage": first}])
    one = driver.parse(_run(raw, driver.first_args(), cli_workdir, "first prompt"))
    fake_api.script([{"text": "second answer", "usage": second}])
    result = _run(raw, driver.resume_args(one.session_id), cli_workdir, "second prompt")
    assert result.returncode == 0, result.describe()
    two = driver.parse(result)
    assert two.session_id == one.session_id
    assert two.answer == "second answer"
    assert two.usage == driver.resumed_usage(first, second)
    main = fake_api.main_requests(driver.api)
    assert len(main) == 2
    history = driver.history(main[1].body)
    wanted = [("user", "first prompt"), ("assistant", "first answer"), ("user", "second prompt")]
    positions = [history.index(pair) if pair in history else -1 for pair in wanted]
    assert -1 not in positions and positions == sorted(positions), history
    _assert_all_routed(fake_api)


def test_tool_use_writes_real_file(raw: Raw, fake_api: FakeAPIServer,
                                   cli_workdir: Path) -> None:
    driver, _ = raw
    target = cli_workdir / "hello.txt"
    content = f"hello from {driver.name}\nsecond line\n"
    fake_api.script([driver.write_turn(target, content), {"text": "File written."}])
    result = _run(raw, driver.first_args(write=True), cli_workdir, "create hello.txt")
    assert result.returncode == 0, result.describe()
    assert driver.parse(result).answer == "File written."
    assert target.read_text() == content
    main = fake_api.main_requests(driver.api)
    assert len(main) == 2, fake_api.requests
    assert driver.tool_results(main[0].body) == []
    results = driver.tool_results(main[1].body)
    assert len(results) == 1, main[1].body
    turn = main[0].turn or {}
    tool = turn["tool_use"]
    expected_ref = tool["name"] if driver.name == "gemini" else tool["id"]
    assert expected_ref in results[0]
    _assert_all_routed(fake_api)


@pytest.mark.parametrize("status", [500, 529])
def test_http_error_fails_fast(raw: Raw, fake_api: FakeAPIServer, cli_workdir: Path,
                               status: int) -> None:
    driver, _ = raw
    message = f"fake-{status}-boom"
    fake_api.script([{"error": {"status": status, "message": message}}])
    result = _run(raw, driver.first_args(), cli_workdir, "hi")
    driver.check_error(result, status, message)
    assert len(fake_api.main_requests(driver.api)) == 1, "retries should be off"


def test_hang_is_killed_without_leftovers(raw: Raw, fake_api: FakeAPIServer,
                                          cli_workdir: Path) -> None:
    driver, cli = raw
    fake_api.script([{"hang": True}])
    proc = subprocess.Popen([*cli.argv, *driver.first_args()], env=cli.env, cwd=cli_workdir,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, text=True)
    try:
        assert proc.stdin is not None
        proc.stdin.write("hang please")
        proc.stdin.close()
        fake_api.wait_for_requests(1, timeout=60)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=1.0)  # the short timeout: the CLI is stuck on the request
        assert proc.pid in live_group_members(proc.pid)
    finally:
        kill_group(proc.pid)
        proc.wait(timeout=10)
    started = time.monotonic()
    assert wait_group_gone(proc.pid, timeout=5) == []
    assert time.monotonic() - started < 5
    assert proc.returncode == -9

"""The watchdog is forked from aio (``watchdog.fork_watchdog``) instead of started as a new
interpreter, unless another thread is alive: both ways give the agent the same process
(descriptors, environment, ``PATH`` lookup, cwd, stdin, exit status), and the forked one is
really a fork (no second interpreter start on every call). The lifetime guarantees
themselves (SIGKILL of aio, the lock held until the tree is gone) are
``test_agent_lifetime.py``'s, run through ``aio run`` and so through the fork."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ai_orchestrator.agents.base import Invocation
from ai_orchestrator.agents.process import forked, runner, watchdog
from ai_orchestrator.core.errors import AgentLaunchError, AgentNotFound
from tests.agents.runner_kit import LineParser

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc"),
]

REPORT = """
import json, os, sys
parent = open(f"/proc/{os.getppid()}/cmdline", "rb").read().split(b"\\0")
print(json.dumps({
    "fds": sorted(int(f) for f in os.listdir("/proc/self/fd")),
    "cwd": os.getcwd(),
    "env": {k: os.environ.get(k) for k in ("AIO_T_SET", "AIO_T_UNSET", "PATH")},
    "stdin": sys.stdin.read(),
    "parent": [p.decode(errors="replace") for p in parent],
    "sid_is_parent": os.getsid(0) == os.getppid(),
}))
"""


@pytest.fixture(params=[True, False], ids=["forked", "exec"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[bool]:
    monkeypatch.setattr(forked, "FORK_WATCHDOG", request.param)
    if request.param:
        assert forked.may_fork(), f"the test process runs {threading.active_count()} threads"
    yield request.param


def _report(tmp_path: Path, stdin: bytes | None = b"the prompt") -> dict[str, object]:
    script = tmp_path / "report.py"
    script.write_text(REPORT)
    lock = os.open(tmp_path / "lock", os.O_RDWR | os.O_CREAT)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    os.environ["AIO_T_UNSET"] = "from aio"
    parser = LineParser()
    try:
        runner.run(
            Invocation(
                argv=[sys.executable, str(script)],
                cwd=work,
                stdin=stdin,
                env={"AIO_T_SET": "given"},
                unset_env=["AIO_T_UNSET"],
            ),
            parser,
            timeout=60,
            hold_fds=[lock],
        )
    finally:
        os.close(lock)
        del os.environ["AIO_T_UNSET"]
    assert parser.exit is not None and parser.exit.exit_code == 0, parser.lines
    data: dict[str, object] = json.loads(parser.lines[0])
    return data


def test_the_agent_gets_the_same_process_either_way(tmp_path: Path, mode: bool) -> None:
    got = _report(tmp_path)
    assert got["fds"] == [0, 1, 2, 3]  # 3: listdir's own; no lock, lifeline or ready pipe
    assert got["cwd"] == str((tmp_path / "work").resolve())
    assert got["env"] == {"AIO_T_SET": "given", "AIO_T_UNSET": None, "PATH": os.environ["PATH"]}
    assert got["stdin"] == "the prompt"
    assert got["sid_is_parent"] is True  # the watchdog leads the agent's new session
    exec_started = watchdog.BOOTSTRAP in got["parent"]  # type: ignore[operator]
    assert exec_started is not mode, got["parent"]


def test_stdin_none_is_dev_null_in_the_forked_watchdog_too(tmp_path: Path, mode: bool) -> None:
    assert _report(tmp_path, stdin=None)["stdin"] == ""


def test_the_agent_is_found_through_the_given_path(tmp_path: Path, mode: bool) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    agent = bin_dir / "aio-t-agent"
    agent.write_text(f"#!{sys.executable}\nprint('found')\n")
    agent.chmod(0o755)
    parser = LineParser()
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    runner.run(
        Invocation(argv=["aio-t-agent"], cwd=tmp_path, env={"PATH": path}),
        parser,
        timeout=60,
    )
    assert parser.lines == ["found"]
    with pytest.raises(AgentNotFound):
        runner.run(Invocation(argv=["aio-t-agent"], cwd=tmp_path), LineParser(), timeout=60)


@pytest.mark.parametrize(("body", "code"), [("sys.exit(3)", 3), ("os.kill(os.getpid(), 9)", 137)])
def test_exit_statuses_pass_through_either_way(
    tmp_path: Path, mode: bool, body: str, code: int
) -> None:
    parser = LineParser()
    argv = [sys.executable, "-c", f"import os, sys\n{body}"]
    runner.run(Invocation(argv=argv, cwd=tmp_path), parser, timeout=60)
    assert parser.exit is not None and parser.exit.exit_code == code


def test_with_another_thread_alive_the_watchdog_is_started_anew(tmp_path: Path) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        got = _report(tmp_path)
    finally:
        stop.set()
        other.join()
    assert watchdog.BOOTSTRAP in got["parent"]  # type: ignore[operator]
    assert got["fds"] == [0, 1, 2, 3]


def test_a_working_directory_gone_before_the_fork_is_a_launch_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    real_fork = watchdog.fork_watchdog

    def remove_then_fork(*args: object) -> int:
        gone.rmdir()  # after runner._launch checked it: the child's chdir fails
        return real_fork(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(watchdog, "fork_watchdog", remove_then_fork)
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(AgentLaunchError) as caught:
        runner.run(
            Invocation(argv=[sys.executable, "-c", "pass"], cwd=gone), LineParser(), timeout=60
        )
    assert not isinstance(caught.value, AgentNotFound)
    assert "No such file or directory" in str(caught.value)
    assert set(os.listdir("/proc/self/fd")) == before  # no pipe of the failed start is left


def test_spawn_for_a_test_run_writes_to_a_file_either_way(tmp_path: Path, mode: bool) -> None:
    log_path = tmp_path / "log"
    with open(log_path, "wb") as log:
        proc, lifeline = runner.spawn(
            [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"],
            cwd=tmp_path,
            env=None,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            grace=1.0,
        )
        assert proc.wait(timeout=60) == 0
    if lifeline is not None:
        os.close(lifeline)
    assert sorted(log_path.read_text().split()) == ["err", "out"]

"""Tests of ``ai_orchestrator.agents.process.runner`` stopping the agent: timeouts, leftovers in and
out of the agent's process group (the process-tree tracking of ``agents.proctree``), signals
nobody here sent, Ctrl-C and SIGTERM to our own process. No process may outlive ``run``.

The time bounds asserted are generous (a broken runner misses them by minutes, not by
milliseconds), except where a bound is the contract (``DRAIN_TIMEOUT``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ai_orchestrator.agents.base import Progress
from ai_orchestrator.agents.process.runner import DRAIN_TIMEOUT, run
from tests.agents.runner_kit import (
    GRANDCHILD,
    SRC,
    LineParser,
    alive,
    assert_all_dead,
    child,
    invocation,
)

# the runner starts and stops real processes
pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups"),
]


# -- timeout, orphans ----------------------------------------------------------------------


def test_timeout_kills_the_child_and_a_term_ignoring_grandchild(tmp_path: Path) -> None:
    argv = child(
        tmp_path,
        GRANDCHILD,
        """
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        grandchild = spawn_grandchild(ignore_term=True)
        print(f"pid={os.getpid()}", flush=True)
        print(f"grandchild={grandchild}", flush=True)
        time.sleep(120)
        """,
    )
    parser = LineParser()
    result = run(invocation(argv, tmp_path), parser, timeout=4, kill_grace=1)
    pid, grandchild = int(parser.value("pid")), int(parser.value("grandchild"))
    assert result.outcome == "success"  # whatever finish() built is what run() returns
    assert parser.finish_calls == 1
    assert parser.exit is not None
    assert parser.exit.timed_out and not parser.exit.interrupted
    assert parser.exit.exit_code == 128 + signal.SIGKILL  # TERM was ignored: KILL it was
    assert_all_dead(pid, grandchild, pgid=pid)


def test_timeout_sends_term_first(tmp_path: Path) -> None:
    argv = child(
        tmp_path,
        """
        def on_term(signum, frame):
            print("got-term", flush=True)
            sys.exit(7)
        signal.signal(signal.SIGTERM, on_term)
        print("ready", flush=True)
        time.sleep(120)
        """,
    )
    parser = LineParser()
    run(invocation(argv, tmp_path), parser, timeout=3, kill_grace=30)
    assert parser.lines == ["ready", "got-term"]  # output during the grace is still fed
    assert parser.exit is not None and parser.exit.timed_out and parser.exit.exit_code == 7


def test_child_exit_returns_promptly_although_a_grandchild_holds_stdout(tmp_path: Path) -> None:
    argv = child(
        tmp_path,
        GRANDCHILD,
        """
        print(f"grandchild={spawn_grandchild(ignore_term=False)}", flush=True)
        print("done", flush=True)
        """,
    )
    parser = LineParser()
    started = time.monotonic()
    run(invocation(argv, tmp_path), parser, timeout=300, kill_grace=30)
    elapsed = time.monotonic() - started
    grandchild = int(parser.value("grandchild"))
    assert elapsed < 60, "the runner waited for the grandchild instead of killing it"
    assert parser.exit is not None and parser.exit.exit_code == 0
    assert not parser.exit.timed_out
    assert not alive(grandchild)


def test_term_ignoring_leftover_is_killed_after_the_grace(tmp_path: Path) -> None:
    argv = child(
        tmp_path,
        GRANDCHILD,
        """
        print(f"pid={os.getpid()}", flush=True)
        print(f"grandchild={spawn_grandchild(ignore_term=True)}", flush=True)
        """,
    )
    parser = LineParser()
    started = time.monotonic()
    run(invocation(argv, tmp_path), parser, timeout=300, kill_grace=1)
    assert time.monotonic() - started < 60
    assert parser.exit is not None and parser.exit.exit_code == 0
    assert_all_dead(int(parser.value("grandchild")), pgid=int(parser.value("pid")))


def _gone(pid: int) -> bool:
    """Neither running nor a zombie: it died and somebody reaped it."""
    return not os.path.exists(f"/proc/{pid}")


def _kill_quietly(*pids: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


ESCAPED_SHELL = """
def escaped_shell(seconds):
    # What Gemini CLI does for run_shell_command: a detached shell (own session and group)
    # whose command is a grandchild of the shell.
    proc = subprocess.Popen(
        ["bash", "-c", f"sleep {seconds}; true"], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    sleeper = open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()
    return proc.pid, int(sleeper[0])
"""


@pytest.fixture(params=["tree-walk", "full-scan"])
def proc_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of finding descendants: the kernel's children files, or scanning /proc."""
    from ai_orchestrator.agents.process import proctree

    if request.param == "full-scan":
        monkeypatch.setattr(proctree, "_children_files", False)
    return str(request.param)


@pytest.mark.parametrize("term_exits", [False, True], ids=["agent-hangs", "agent-exits-on-term"])
def test_timeout_kills_descendants_that_left_the_group(
    tmp_path: Path, term_exits: bool, proc_mode: str
) -> None:
    # gap 1: a detached tool shell survived a timeout because only the agent's group was
    # signalled. When the agent exits on TERM, the shell is re-parented (to us, the
    # subreaper) before the KILL step: it must still be found and killed.
    on_term = "sys.exit(0)" if term_exits else "None"
    argv = child(
        tmp_path,
        "import subprocess\n",
        ESCAPED_SHELL,
        f"""
        signal.signal(signal.SIGTERM, lambda *a: {on_term})
        shell, sleeper = escaped_shell(327)
        print(f"pid={{os.getpid()}}", flush=True)
        print(f"shell={{shell}}", flush=True)
        print(f"sleeper={{sleeper}}", flush=True)
        while True:
            time.sleep(1)
        """,
    )
    parser = LineParser()
    started = time.monotonic()
    try:
        run(invocation(argv, tmp_path), parser, timeout=3, kill_grace=2)
        shell, sleeper = int(parser.value("shell")), int(parser.value("sleeper"))
        assert time.monotonic() - started < 60
        assert parser.exit is not None and parser.exit.timed_out
        assert os.getpgid(0) != shell  # the shell really was in another group
        assert_all_dead(shell, sleeper, pgid=int(parser.value("pid")))
        assert _gone(shell), "the re-parented shell was killed but never reaped"
    finally:
        for line in parser.lines:
            if line.startswith(("shell=", "sleeper=")):
                _kill_quietly(int(line.split("=")[1]))


# The classic daemon: fork, setsid, fork again, the middle process exits; the daemon keeps the
# agent's stdout open for 120 s.
DAEMON = """
r, w = os.pipe()
middle = os.fork()
if middle == 0:
    os.setsid()
    daemon = os.fork()
    if daemon == 0:
        os.close(r)
        os.write(w, str(os.getpid()).encode())
        os.close(w)
        time.sleep(120)
        os._exit(0)
    os._exit(0)
os.close(w)
daemon = int(os.read(r, 64))
os.waitpid(middle, 0)
print(f"daemon={daemon}", flush=True)
"""


@contextlib.contextmanager
def daemon_run(tmp_path: Path) -> Iterator[tuple[int, float, LineParser]]:
    """Run the ``DAEMON`` agent (kill grace 1 s); yields (daemon pid, seconds ``run`` took,
    parser). Afterwards the daemon is killed and, if it is our child (we are the subreaper
    and the runner left it), reaped."""
    parser = LineParser()
    started = time.monotonic()
    try:
        run(invocation(child(tmp_path, DAEMON), tmp_path), parser, timeout=300, kill_grace=1)
        yield int(parser.value("daemon")), time.monotonic() - started, parser
    finally:
        for line in parser.lines:
            if line.startswith("daemon="):
                pid = int(line.split("=")[1])
                _kill_quietly(pid)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)


def test_double_forked_daemon_is_killed_when_the_agent_exits(
    tmp_path: Path, proc_mode: str
) -> None:
    # The classic daemon: fork, setsid, fork again, the middle process exits. The daemon is
    # re-parented at once (to us, the subreaper) and holds our stdout. The agent then exits
    # normally: the runner must kill and reap the daemon instead of waiting or leaking it.
    with daemon_run(tmp_path) as (daemon, took, parser):
        assert took < 30, "the runner waited for the daemon's pipes"
        assert parser.exit is not None and parser.exit.exit_code == 0
        limit = time.monotonic() + 10
        while time.monotonic() < limit and not _gone(daemon):
            time.sleep(0.05)
        assert _gone(daemon), "the daemon survived (or stayed an unreaped zombie)"


def test_a_pipe_holder_beyond_our_reach_cannot_hang_the_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without /proc (or for a process that escaped before we saw it) the tracker knows
    # nothing: the daemon survives, but the runner must still return, abandoning the pipes
    # DRAIN_TIMEOUT seconds after the group is dead instead of waiting for the daemon.
    from ai_orchestrator.agents.process import proctree, runner

    monkeypatch.setattr(proctree, "_children_files", False)
    monkeypatch.setattr(proctree, "snapshot", lambda: None)
    monkeypatch.setattr(runner, "USE_WATCHDOG", False)  # the watchdog would kill the daemon
    with daemon_run(tmp_path) as (daemon, took, parser):
        assert took < 1 + DRAIN_TIMEOUT + 4, f"the runner waited {took:.1f} s for the pipes"
        assert parser.exit is not None and parser.exit.exit_code == 0
        assert alive(daemon), "the tracker was not out of the game: this test proves nothing"


def test_a_process_signalled_by_nobody_reports_its_signal(tmp_path: Path) -> None:
    argv = child(tmp_path, "os.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(30)\n")
    parser = LineParser()
    run(invocation(argv, tmp_path), parser, timeout=60)
    assert parser.exit is not None
    assert parser.exit.signal == signal.SIGTERM and parser.exit.exit_code == 143
    assert not parser.exit.interrupted and not parser.exit.timed_out
    assert parser.exit.killed_by() == signal.SIGTERM


def test_parser_exception_kills_the_group_and_propagates(tmp_path: Path) -> None:
    argv = child(tmp_path, 'print(f"pid={os.getpid()}", flush=True)\ntime.sleep(120)\n')
    pids: list[int] = []

    def explode(line: str) -> None:
        pids.append(int(line.split("=")[1]))
        raise RuntimeError("parser bug")

    with pytest.raises(RuntimeError, match="parser bug"):
        run(invocation(argv, tmp_path), LineParser(on_line=explode), timeout=300)
    assert_all_dead(*pids, pgid=pids[0])


# -- Ctrl-C and SIGTERM to our own process -------------------------------------------------


def _ready_child(tmp_path: Path) -> list[str]:
    return child(
        tmp_path,
        GRANDCHILD,
        """
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the runner may stop us
        print(f"grandchild={spawn_grandchild(ignore_term=True)}", flush=True)
        print(f"pid={os.getpid()}", flush=True)
        print("ready", flush=True)
        time.sleep(120)
        """,
    )


def test_ctrl_c_stops_the_group_and_returns_an_interrupted_result(tmp_path: Path) -> None:
    ready = threading.Event()
    parser = LineParser(on_line=lambda line: ready.set() if line == "ready" else None)

    def press_ctrl_c() -> None:
        if ready.wait(60):
            os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    before = signal.getsignal(signal.SIGINT)
    try:
        run(invocation(_ready_child(tmp_path), tmp_path), parser, timeout=300, kill_grace=1)
    except KeyboardInterrupt:
        pytest.fail("the runner let KeyboardInterrupt escape instead of returning a result")
    finally:
        presser.join()
    assert signal.getsignal(signal.SIGINT) is before, "SIGINT handler not restored"
    assert parser.exit is not None
    assert parser.exit.interrupted and not parser.exit.timed_out
    assert parser.finish_calls == 1
    pid = int(parser.value("pid"))
    assert_all_dead(pid, int(parser.value("grandchild")), pgid=pid)


def test_keyboard_interrupt_raised_in_a_callback_is_handled_the_same_way(tmp_path: Path) -> None:
    raised: list[Progress] = []

    def on_progress(progress: Progress) -> None:
        if not raised:  # once: a second interrupt would skip the grace (KILL, not TERM)
            raised.append(progress)
            raise KeyboardInterrupt

    argv = child(tmp_path, 'print(f"pid={os.getpid()}", flush=True)\nprint("p")\ntime.sleep(120)')
    parser = LineParser()
    try:
        run(invocation(argv, tmp_path), parser, timeout=300, on_progress=on_progress, kill_grace=1)
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped")
    assert parser.exit is not None and parser.exit.interrupted
    assert parser.exit.exit_code == 143
    assert_all_dead(int(parser.value("pid")), pgid=int(parser.value("pid")))


DRIVER = """
import json, signal, sys
from pathlib import Path
from ai_orchestrator.agents.base import AgentResult, Invocation
from ai_orchestrator.agents.process.runner import run

class Parser:
    def feed(self, line):
        print("child:" + line, flush=True)  # tells the test when the child is ready
    def finish(self, exit):
        print("exit:" + json.dumps(exit.__dict__), flush=True)
        return AgentResult(agent="t", outcome="interrupted" if exit.interrupted else "success")

result = run(Invocation(argv=sys.argv[1:], cwd=Path.cwd()), Parser(), timeout=300, kill_grace=1)
print("returned:" + result.outcome, flush=True)
print("sigterm-restored:" + str(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL), flush=True)
"""


def test_sigterm_to_our_process_is_handled_like_ctrl_c(tmp_path: Path) -> None:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, str(driver), *_ready_child(tmp_path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("child:ready"):
                proc.send_signal(signal.SIGTERM)
                break
        lines += proc.stdout.read().splitlines()
        assert proc.wait(timeout=60) == 0, "the driver died of SIGTERM instead of cleaning up"
    finally:
        if proc.poll() is None:
            proc.kill()
    values = dict(line.split(":", 1) for line in lines)
    exit_info = json.loads(values["exit"])
    assert exit_info["interrupted"] and not exit_info["timed_out"]
    assert values["returned"] == "interrupted"
    assert values["sigterm-restored"] == "True"
    child_lines = [v for k, v in (ln.split(":", 1) for ln in lines) if k == "child"]
    pid = int(next(v for v in child_lines if v.startswith("pid=")).split("=")[1])
    grandchild = int(next(v for v in child_lines if v.startswith("grandchild=")).split("=")[1])
    assert_all_dead(pid, grandchild, pgid=pid)

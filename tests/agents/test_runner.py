"""Tests of ``ai_orchestrator.agents.runner`` with small throwaway child scripts.

Every child is a Python script written to ``tmp_path`` and run with ``sys.executable``. The
tests wait on events (a line seen, a marker file) rather than on tight timings; the time
bounds they do assert are generous (a broken runner misses them by minutes, not by
milliseconds).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.fakes.harness import pid_alive as alive

from ai_orchestrator.agents.base import AgentResult, Invocation, ProcessExit, Progress
from ai_orchestrator.agents.errors import AgentLaunchError, AgentNotFound
from ai_orchestrator.agents.runner import DRAIN_TIMEOUT, STDERR_TAIL, run
from ai_orchestrator.errors import AioError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")

SRC = Path(__file__).resolve().parents[2] / "src"


class LineParser:
    """A trivial parser: keeps every line; a snapshot for every line starting with ``p``."""

    def __init__(self, on_line: Callable[[str], None] | None = None) -> None:
        self.lines: list[str] = []
        self.exit: ProcessExit | None = None
        self.finish_calls = 0
        self._on_line = on_line

    def feed(self, line: str) -> Progress | None:
        self.lines.append(line)
        if self._on_line is not None:
            self._on_line(line)
        return Progress(turns=len(self.lines), tool=line) if line.startswith("p") else None

    def finish(self, exit: ProcessExit) -> AgentResult:
        self.finish_calls += 1
        self.exit = exit
        return AgentResult(agent="test", outcome="success", text="\n".join(self.lines))

    def value(self, key: str) -> str:
        """The value of the first ``key=value`` line."""
        for line in self.lines:
            if line.startswith(key + "="):
                return line.split("=", 1)[1]
        raise AssertionError(f"no {key}= line in {self.lines!r}")


def child(tmp_path: Path, *parts: str) -> list[str]:
    """argv running the script made of ``parts`` (each dedented on its own)."""
    path = tmp_path / "child.py"
    prelude = "import os, signal, sys, time\n"
    path.write_text(prelude + "".join(textwrap.dedent(part) for part in parts))
    return [sys.executable, str(path)]


def invocation(
    argv: list[str],
    tmp_path: Path,
    *,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    unset_env: tuple[str, ...] = (),
) -> Invocation:
    return Invocation(argv=argv, cwd=tmp_path, stdin=stdin, env=env or {}, unset_env=unset_env)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            found.append(int(name))
    return found


def assert_all_dead(*pids: int, pgid: int) -> None:
    # The kernel may need a moment to finish tearing down a SIGKILLed process.
    limit = time.monotonic() + 10
    while time.monotonic() < limit and (any(alive(p) for p in pids) or group_members(pgid)):
        time.sleep(0.05)
    assert not [p for p in pids if alive(p)], "a process survived the runner"
    assert group_members(pgid) == [], "a process of the child's group survived"


GRANDCHILD = """
def spawn_grandchild(ignore_term, seconds=120):
    pid = os.fork()
    if pid == 0:
        if ignore_term:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(seconds)  # holds the inherited stdout/stderr pipes the whole time
        os._exit(0)
    return pid
"""


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


# -- streaming -----------------------------------------------------------------------------


def test_lines_reach_the_parser_while_the_child_still_runs(tmp_path: Path) -> None:
    marker = tmp_path / "seen-first"
    argv = child(
        tmp_path,
        f"""
        print("p-first", flush=True)
        limit = time.time() + 20
        while not os.path.exists({str(marker)!r}) and time.time() < limit:
            time.sleep(0.02)
        print("p-second" if os.path.exists({str(marker)!r}) else "p-waited-in-vain")
        """,
    )
    snapshots: list[Progress] = []

    def on_progress(progress: Progress) -> None:
        snapshots.append(progress)
        if progress.tool == "p-first":
            marker.touch()  # only a runner that streams lets the child go on

    parser = LineParser()
    result = run(invocation(argv, tmp_path), parser, timeout=60, on_progress=on_progress)
    assert parser.lines == ["p-first", "p-second"]
    assert [s.tool for s in snapshots] == ["p-first", "p-second"]
    assert result.text == "p-first\np-second"
    assert parser.exit is not None and parser.exit.exit_code == 0


def test_progress_is_forwarded_only_when_the_parser_returns_a_snapshot(tmp_path: Path) -> None:
    argv = child(tmp_path, 'print("noise\\np1\\nnot json {\\np2")')
    seen: list[str | None] = []
    run(
        invocation(argv, tmp_path),
        LineParser(),
        timeout=60,
        on_progress=lambda p: seen.append(p.tool),
    )
    assert seen == ["p1", "p2"]


def test_very_long_lines_crlf_and_invalid_utf8(tmp_path: Path) -> None:
    argv = child(
        tmp_path,
        """
        out = sys.stdout.buffer
        out.write(b"x" * (6 * 1024 * 1024) + b"\\n")
        out.write(b"crlf\\r\\n")
        out.write(b"bad \\xff byte\\n")
        out.write(b"caf\\xc3\\xa9\\n")
        out.write(b"no newline at the end")
        """,
    )
    parser = LineParser()
    run(invocation(argv, tmp_path), parser, timeout=120)
    assert len(parser.lines) == 5
    assert parser.lines[0] == "x" * (6 * 1024 * 1024)
    assert parser.lines[1:] == ["crlf", "bad \ufffd byte", "café", "no newline at the end"]


def test_stderr_is_captured_separately_and_bounded(tmp_path: Path) -> None:
    argv = child(
        tmp_path,
        """
        print("on stdout", flush=True)
        sys.stderr.write("E" * (3 * 64 * 1024) + "\\nstderr-end\\n")
        """,
    )
    parser = LineParser()
    run(invocation(argv, tmp_path), parser, timeout=60)
    assert parser.lines == ["on stdout"]
    assert parser.exit is not None
    assert parser.exit.stderr.endswith("stderr-end\n")
    assert len(parser.exit.stderr.encode()) <= STDERR_TAIL
    assert "on stdout" not in parser.exit.stderr


# -- stdin, env, argv ----------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 10, 5 * 1024 * 1024])
def test_prompt_is_delivered_on_stdin_byte_exact(tmp_path: Path, size: int) -> None:
    prompt = os.urandom(size)  # every byte value, invalid UTF-8 included
    argv = child(
        tmp_path,
        """
        import hashlib
        data = sys.stdin.buffer.read()
        print(f"len={len(data)}")
        print(f"sha={hashlib.sha256(data).hexdigest()}")
        """,
    )
    parser = LineParser()
    run(invocation(argv, tmp_path, stdin=prompt), parser, timeout=120)
    assert parser.value("len") == str(size)
    assert parser.value("sha") == hashlib.sha256(prompt).hexdigest()


def test_child_that_never_reads_stdin_cannot_deadlock_the_runner(tmp_path: Path) -> None:
    # 5 MB of prompt and 2 MB of output: blocking writes without a concurrent reader
    # (or reads without a concurrent writer) would hang until the timeout.
    argv = child(
        tmp_path,
        """
        for i in range(2048):
            sys.stdout.write("%04d" % i + "y" * 1020 + "\\n")
        """,
    )
    parser = LineParser()
    run(invocation(argv, tmp_path, stdin=b"z" * (5 * 1024 * 1024)), parser, timeout=60)
    assert parser.exit is not None and not parser.exit.timed_out
    assert parser.exit.exit_code == 0
    assert len(parser.lines) == 2048 and parser.lines[-1].startswith("2047")


def test_stdin_none_means_dev_null(tmp_path: Path) -> None:
    argv = child(
        tmp_path,
        """
        import stat
        print(f"chr={stat.S_ISCHR(os.fstat(0).st_mode)}")
        print(f"read={sys.stdin.read()!r}")
        """,
    )
    parser = LineParser()
    run(invocation(argv, tmp_path), parser, timeout=60)
    assert parser.value("chr") == "True"
    assert parser.value("read") == "''"


def test_env_is_ours_plus_overrides_minus_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIO_T_INHERITED", "kept")
    monkeypatch.setenv("AIO_T_REMOVED", "should vanish")
    monkeypatch.setenv("AIO_T_OVERRIDDEN", "old")
    argv = child(
        tmp_path,
        """
        for name in ("AIO_T_INHERITED", "AIO_T_REMOVED", "AIO_T_OVERRIDDEN", "AIO_T_NEW"):
            print(f"{name}={os.environ.get(name, '<unset>')}")
        print(f"cwd={os.getcwd()}")
        """,
    )
    inv = invocation(
        argv,
        tmp_path,
        env={"AIO_T_OVERRIDDEN": "new", "AIO_T_NEW": "added"},
        unset_env=("AIO_T_REMOVED",),
    )
    parser = LineParser()
    run(inv, parser, timeout=60)
    assert parser.value("AIO_T_INHERITED") == "kept"
    assert parser.value("AIO_T_REMOVED") == "<unset>"
    assert parser.value("AIO_T_OVERRIDDEN") == "new"
    assert parser.value("AIO_T_NEW") == "added"
    assert Path(parser.value("cwd")).resolve() == tmp_path.resolve()


def test_argv_is_never_interpreted_by_a_shell(tmp_path: Path) -> None:
    hostile = ["$(touch pwned)", "; touch pwned2", "`touch pwned3`", "*", "a b"]
    argv = child(tmp_path, "import json; print('args=' + json.dumps(sys.argv[1:]))")
    parser = LineParser()
    run(invocation([*argv, *hostile], tmp_path), parser, timeout=60)
    assert json.loads(parser.value("args")) == hostile
    assert not list(tmp_path.glob("pwned*"))


# -- exit codes and launch errors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("sys.exit(0)", 0),
        ("sys.exit(3)", 3),
        ("os.kill(os.getpid(), signal.SIGTERM); time.sleep(30)", 143),
        ("os.kill(os.getpid(), signal.SIGKILL)", 137),
    ],
)
def test_exit_codes_are_passed_through(tmp_path: Path, body: str, code: int) -> None:
    parser = LineParser()
    run(invocation(child(tmp_path, body), tmp_path), parser, timeout=60)
    assert parser.exit is not None
    assert parser.exit.exit_code == code
    assert not parser.exit.timed_out and not parser.exit.interrupted


def test_missing_or_non_executable_agent_raises_agent_not_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_exec = tmp_path / "not-executable"
    not_exec.write_text("#!/bin/sh\necho hi\n")
    no_shebang = tmp_path / "no-shebang"
    no_shebang.write_bytes(b"\x00\x01garbage")
    no_shebang.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    for exe in (str(tmp_path / "missing"), str(not_exec), str(no_shebang), "no-such-agent-cli"):
        parser = LineParser()
        with pytest.raises(AgentNotFound) as info:
            run(invocation([exe, "-p"], tmp_path), parser, timeout=10)
        assert isinstance(info.value, AioError)
        assert exe in str(info.value) and "\n" not in str(info.value)
        assert parser.finish_calls == 0


def test_missing_working_directory_is_a_launch_error(tmp_path: Path) -> None:
    with pytest.raises(AgentLaunchError, match="working directory"):
        run(
            Invocation(argv=[sys.executable, "-c", "pass"], cwd=tmp_path / "gone"),
            LineParser(),
            timeout=10,
        )


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
    from ai_orchestrator.agents import proctree

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


def test_double_forked_daemon_is_killed_when_the_agent_exits(
    tmp_path: Path, proc_mode: str
) -> None:
    # The classic daemon: fork, setsid, fork again, the middle process exits. The daemon is
    # re-parented at once (to us, the subreaper) and holds our stdout. The agent then exits
    # normally: the runner must kill and reap the daemon instead of waiting or leaking it.
    argv = child(tmp_path, DAEMON)
    parser = LineParser()
    started = time.monotonic()
    try:
        run(invocation(argv, tmp_path), parser, timeout=300, kill_grace=1)
        daemon = int(parser.value("daemon"))
        assert time.monotonic() - started < 30, "the runner waited for the daemon's pipes"
        assert parser.exit is not None and parser.exit.exit_code == 0
        limit = time.monotonic() + 10
        while time.monotonic() < limit and not _gone(daemon):
            time.sleep(0.05)
        assert _gone(daemon), "the daemon survived (or stayed an unreaped zombie)"
    finally:
        for line in parser.lines:
            if line.startswith("daemon="):
                _kill_quietly(int(line.split("=")[1]))


def test_a_pipe_holder_beyond_our_reach_cannot_hang_the_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without /proc (or for a process that escaped before we saw it) the tracker knows
    # nothing: the daemon survives, but the runner must still return, abandoning the pipes
    # DRAIN_TIMEOUT seconds after the group is dead instead of waiting for the daemon.
    from ai_orchestrator.agents import proctree

    monkeypatch.setattr(proctree, "_children_files", False)
    monkeypatch.setattr(proctree, "snapshot", lambda: None)
    argv = child(tmp_path, DAEMON)
    parser = LineParser()
    started = time.monotonic()
    try:
        run(invocation(argv, tmp_path), parser, timeout=300, kill_grace=1)
        daemon = int(parser.value("daemon"))
        took = time.monotonic() - started
        assert took < 1 + DRAIN_TIMEOUT + 4, f"the runner waited {took:.1f} s for the pipes"
        assert parser.exit is not None and parser.exit.exit_code == 0
        assert alive(daemon), "the tracker was not out of the game: this test proves nothing"
    finally:
        for line in parser.lines:
            if line.startswith("daemon="):
                pid = int(line.split("=")[1])
                _kill_quietly(pid)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)  # re-parented to us (the subreaper): reap it


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
    def on_progress(progress: Progress) -> None:
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
from ai_orchestrator.agents.runner import run

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

"""Tests of ``ai_orchestrator.agents.process.runner``: streaming, stdin, environment, argv,
exit codes and launch errors (stopping the agent and its processes: ``test_runner_stop.py``).

The tests wait on events (a line seen, a marker file) rather than on tight timings; the time
bounds they do assert are generous (a broken runner misses them by minutes, not by
milliseconds).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from ai_orchestrator.agents.base import Invocation, Progress
from ai_orchestrator.agents.process.runner import STDERR_TAIL, run
from ai_orchestrator.core.errors import AgentLaunchError, AgentNotFound, AioError
from tests.agents.runner_kit import LineParser, child, invocation

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")


# -- streaming -----------------------------------------------------------------------------


@pytest.mark.process  # the runner starts and stops real processes
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


@pytest.mark.process  # the runner starts and stops real processes
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


@pytest.mark.process  # the runner starts and stops real processes
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


@pytest.mark.process  # the runner starts and stops real processes
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


@pytest.mark.process  # the runner starts and stops real processes
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


@pytest.mark.process  # the runner starts and stops real processes
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


@pytest.mark.process  # the runner starts and stops real processes
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


@pytest.mark.process  # the runner starts and stops real processes
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


@pytest.mark.process  # the runner starts and stops real processes
def test_argv_is_never_interpreted_by_a_shell(tmp_path: Path) -> None:
    hostile = ["$(touch pwned)", "; touch pwned2", "`touch pwned3`", "*", "a b"]
    argv = child(tmp_path, "import json; print('args=' + json.dumps(sys.argv[1:]))")
    parser = LineParser()
    run(invocation([*argv, *hostile], tmp_path), parser, timeout=60)
    assert json.loads(parser.value("args")) == hostile
    assert not list(tmp_path.glob("pwned*"))


# -- exit codes and launch errors ----------------------------------------------------------


@pytest.mark.process  # the runner starts and stops real processes
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


@pytest.mark.process  # the runner starts and stops real processes
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

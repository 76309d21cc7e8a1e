"""``aio run`` without click (``cli.run_call.parse`` + ``cli.main.run_fast``) is the same
command as through click: for every command line the fast path accepts, both paths give the
same stdout, stderr and exit code (successes, resumed calls, ``--json``, stdin, every kind
of refused input, a failed agent, a lost stdout), run as real processes on twin stores; every
command line it does not read exactly as click would (help, ``--``, ``--opt=value``, values
click refuses or converts otherwise, completion) is left to click; and the fast path really
starts without click. ``streams.echo`` writes what ``click.echo`` writes."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from ai_orchestrator.cli import run_call, streams

pytestmark = pytest.mark.process  # real aio processes

ROOT = Path(__file__).resolve().parents[2]
FAKE_CLAUDE = ROOT / "benchmarks" / "instant_claude.py"
FAST = "from ai_orchestrator.cli.launch import main; main()"
CLICK = "from ai_orchestrator.cli.main import main; main()"

# (argv after `run`, stdin); run in this order on each path's own store
SEQUENCE: list[tuple[list[str], bytes]] = [
    (["run-fp", "hello"], b""),
    (["run-fp", "hello", "--json"], b""),
    (
        [
            "-a", "claude", "-m", "claude-sonnet-4-5", "run-fp", "hello", "--timeout", "600",
            "--max-turns", "3", "--task", "T1", "--allowed-tools", "Read, Edit",
            "--permission-mode", "default",
        ],
        b"",
    ),
    (["run-fp", "-"], b"a prompt from stdin"),
    (["run-fp", "-", "--json"], b""),  # an empty prompt on stdin
    (["only a prompt"], b""),  # the default session, run-<directory>
    (["--new-session", "run-fp", "again"], b""),
    (["run-fp", "hello", "--new-session", "--continue"], b""),
    (["run-fp", "hello", "--json", "--no-session", "--resume", "abc"], b""),
    (["a", "b", "c"], b""),
    (["run-fp", "   "], b""),
    (["Bad_Name", "hello"], b""),
    (["run-fp", "hello", "--resume", "bad id!"], b""),
    (["run-fp", "hello", "--model", ""], b""),
    (["run-fp", "hello", "--agent", "nosuch"], b""),
    (["run-fp", "hello", "--agent", "nosuch", "--json"], b""),
    (["run-fp", "hello", "--permission-mode", " "], b""),
    (["run-fp", "hello", "--cwd", "sub"], b""),
    (["run-other", "hello", "--max-cost", "0.00000001"], b""),
    (["run-other", "hello", "--max-cost", "0.00000001", "--json"], b""),
    (["run-fp", "hello", "--compact-at", "90%"], b""),
    (["run-fp", "hello", "--compact-at", "bogus"], b""),
    (["--agent", "scripted", "run-sc", "hello"], b""),
    (["--agent", "scripted", "run-sc", "hello", "--json"], b""),
]
FALLBACK: list[list[str]] = [
    [],
    ["--help"],
    ["-h"],
    ["run-fp", "--help"],
    ["run-fp", "--", "-x"],
    ["--timeout=5", "run-fp", "x"],
    ["--timeout", "0", "run-fp", "x"],
    ["--timeout", "-1", "run-fp", "x"],
    ["--timeout", "nan", "run-fp", "x"],
    ["--timeout", "abc", "run-fp", "x"],
    ["--max-cost", "0", "run-fp", "x"],
    ["--max-turns", "0", "run-fp", "x"],
    ["--max-turns", "1.5", "run-fp", "x"],
    ["--cwd", "/nonexistent/dir", "run-fp", "x"],
    ["--cwd", __file__, "run-fp", "x"],
    ["--cwd", "", "run-fp", "x"],
    ["-aclaude", "run-fp", "x"],
    ["--json", "--json", "run-fp", "x"],
    ["--agent", "claude", "--agent", "claude", "run-fp", "x"],
    ["--unknown", "run-fp", "x"],
    ["run-fp", "x", "--model"],
    ["--model", "-x", "run-fp", "x"],
    ["-5"],
    ["--json"],
]
_NOISE = [
    (re.compile(r"\b[0-9a-f]{32}\b"), "<id>"),
    (re.compile(r'"duration_ms": \d+'), '"duration_ms": N'),
    (re.compile(r"\b\d+(\.\d+)?(ms|s)\b"), "<time>"),
    (re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?"), "<when>"),
]


def _normal(text: str, home: Path) -> str:
    text = text.replace(str(home), "<home>")
    for pattern, replacement in _NOISE:
        text = pattern.sub(replacement, text)
    return text


def _aio(
    code: str, argv: list[str], stdin: bytes, home: Path, **kw: object
) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "SESSION_DIR": str(home / "sessions"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "AIO_AGENT_CLAUDE_EXECUTABLE": str(FAKE_CLAUDE),
        "AIO_SCRIPTED_SCENARIO": "",
    }
    stdout = kw.pop("stdout", subprocess.PIPE)
    proc = subprocess.run(
        [sys.executable, "-c", code, "run", *argv],
        input=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        cwd=home / "proj",
        env=env,
        timeout=120,
        **kw,  # type: ignore[arg-type]
    )
    out = (proc.stdout or b"").decode(errors="replace")
    return proc.returncode, _normal(out, home), _normal(proc.stderr.decode(errors="replace"), home)


def _twins(tmp_path: Path) -> tuple[Path, Path]:
    homes = []
    for label in ("fast", "click"):
        home = tmp_path / label / "same"  # the same depth: paths normalise alike
        (home / "proj" / "sub").mkdir(parents=True)
        homes.append(home)
    return homes[0], homes[1]


def test_the_fast_path_and_click_give_the_same_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_home, click_home = _twins(tmp_path)
    monkeypatch.chdir(fast_home / "proj")  # where --cwd sub is
    for argv, stdin in SEQUENCE:
        assert run_call.parse(argv) is not None, argv  # the fast path takes it
        fast = _aio(FAST, argv, stdin, fast_home)
        slow = _aio(CLICK, argv, stdin, click_home)
        assert fast == slow, argv


@pytest.mark.parametrize("argv", FALLBACK, ids=repr)
def test_anything_unusual_is_left_to_click(argv: list[str]) -> None:
    assert run_call.parse(argv) is None


def test_completion_is_left_to_click(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_AIO_COMPLETE", "bash_complete")
    assert run_call.parse(["run-fp", "x"]) is None


@pytest.mark.parametrize("stdout", ["closed", "full"])
def test_a_lost_stdout_is_said_alike(tmp_path: Path, stdout: str) -> None:
    fast_home, click_home = _twins(tmp_path)
    results = []
    for code, home in ((FAST, fast_home), (CLICK, click_home)):
        if stdout == "full":
            with open("/dev/full", "wb") as full:
                results.append(_aio(code, ["run-fp", "hello"], b"", home, stdout=full))
        else:
            closed = {"stdout": None, "preexec_fn": lambda: os.close(1)}
            results.append(_aio(code, ["run-fp", "hello"], b"", home, **closed))
    assert results[0] == results[1]
    assert results[0][0] == 0 and "report to stdout was lost" in results[0][2]


def test_the_fast_path_starts_without_click(tmp_path: Path) -> None:
    home, _ = _twins(tmp_path)
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('click loaded:', 'click' in sys.modules, file=sys.stderr))\n"
        + FAST
    )
    rc, _, err = _aio(code, ["run-fp", "hello"], b"", home)
    assert rc == 0 and "click loaded: False" in err, err
    rc, _, err = _aio(code, ["run-fp", "hello", "--timeout=30"], b"", home)
    assert rc == 0 and "click loaded: True" in err, err  # the same command through click


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


TEXTS = [
    "plain",
    "",
    "\x1b[31mred\x1b[0m and \x1b[1;4mbold\x1b[m",
    "\x1b[?25l cursor \x1b[2K\x1b[1G line",
    "\x1b]8;;http://x\x07link\x1b]8;;\x07",  # OSC: not a CSI sequence
    "tab\tand\r\nwindows\n",
    "ünïcödé ✓ \udcff",
    "\x1b[38;5;196m256\x1b[48;2;1;2;3mtrue\x1b[0m",
    "\x1b[ lone escape \x1b",
]


@pytest.mark.parametrize("tty", [True, False])
@pytest.mark.parametrize("text", TEXTS, ids=repr)
def test_echo_writes_what_click_echo_writes(text: str, tty: bool) -> None:
    ours, theirs = _Stream(tty), _Stream(tty)
    streams.echo(text, file=ours)
    click.echo(text, file=theirs)
    assert ours.getvalue() == theirs.getvalue()


RAISES = [
    "KeyboardInterrupt()",
    "EOFError()",
    "BrokenPipeError(errno.EPIPE, 'Broken pipe')",
    "OSError(errno.EPIPE, 'Broken pipe')",
    "OSError(errno.ENOSPC, 'No space left on device', '/some/file')",
    "PermissionError(errno.EACCES, 'Permission denied', '/x')",
    "RuntimeError('a bug')",
    "InvalidInput('bad input')",
    "AlreadyReported(3)",
    "OutputLost('stdout', errno.EIO, 'stdout: I/O error')",
    "SystemExit(4)",
]


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["text", "json"])
@pytest.mark.parametrize("raised", RAISES)
def test_every_way_the_call_can_fail_ends_alike(
    tmp_path: Path, raised: str, json_flag: list[str]
) -> None:
    # The call itself raises; what is said and the exit code must not depend on the path.
    patch = (
        "import errno\n"
        "from ai_orchestrator.core.errors import AlreadyReported, InvalidInput, OutputLost\n"
        "import ai_orchestrator.cli.run_call as rc\n"
        "def boom(params):\n"
        f"    raise {raised}\n"
        "rc.call = boom\n"
    )
    fast_home, click_home = _twins(tmp_path)
    argv = ["run-fp", "hello", *json_flag]
    fast = _aio(patch + FAST, argv, b"", fast_home)
    slow = _aio(patch + CLICK, argv, b"", click_home)
    assert fast == slow
    assert "Traceback" not in fast[2], fast

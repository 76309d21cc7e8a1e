"""``ai-session list --json`` / ``stats --json`` (and ``aio session …``) without click
(``cli.session_fast``) are the same commands as through click: run as real processes on
twin copies of the same store, in every state a store can be in (missing, empty, a file,
sessions with problems, an odd lock, an unreadable log, a shell-version stray, entries
that are not aio's, a summary at the root), cold and then warm, and with a lost stdout,
both paths give the same stdout, stderr and exit code byte for byte. Every other command
line is left to click, and the fast path really runs without click."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ai_orchestrator.cli.session_fast import parse
from ai_orchestrator.store import SessionStore
from tests.helpers import LEGACY_METADATA, as_record, interaction, write_legacy_store

pytestmark = pytest.mark.process  # real aio and ai-session processes

# (the fast entry, the click entry) of each program; argv follows the program's name
PROGRAMS = {
    "aio": (
        "from ai_orchestrator.cli.launch import main; main()",
        "from ai_orchestrator.cli.main import main; main()",
    ),
    "ai-session": (
        "from ai_orchestrator.cli.main import session_main; session_main()",
        "import sys; from ai_orchestrator.cli.main import session_main; "
        "session_main(sys.argv[1:])",  # given argv: the click path, always
    ),
}
PLAIN = [
    ("aio", ["session", "list", "--json"]),
    ("aio", ["session", "stats", "--json"]),
    ("ai-session", ["list", "--json"]),
    ("ai-session", ["stats", "--json"]),
]
FALLBACK = [
    ("aio", ["session", "list"]),
    ("aio", ["session", "stats"]),
    ("aio", ["session", "list", "--json", "--sort", "name"]),
    ("aio", ["session", "list", "--json", "--active"]),
    ("aio", ["session", "list", "--json", "--rescan"]),
    ("aio", ["session", "list", "--json", "--team"]),
    ("aio", ["session", "list", "--json", "--help"]),
    ("aio", ["session", "list", "--json", "--json"]),
    ("aio", ["session", "list", "--json", "--"]),
    ("aio", ["session", "list", "--JSON"]),
    ("aio", ["session", "stats", "--json", "--by", "feature"]),
    ("aio", ["session", "stats", "--json", "--days", "7"]),
    ("aio", ["session", "--json", "list"]),
    ("aio", ["--color", "never", "session", "list", "--json"]),
    ("aio", ["list", "--json"]),
    ("aio", ["session", "show", "--json"]),
    ("ai-session", ["list"]),
    ("ai-session", ["session", "list", "--json"]),
    ("ai-session", ["list", "--json", "x"]),
    ("ai-session", ["stats", "--json", "--session", "plan-a"]),
    ("ai-session", ["--json", "stats"]),
    ("ai-session", []),
]


def _sessions(root: Path) -> None:
    store = SessionStore(root)
    for i, name in enumerate(("plan-a", "review-b", "implement-c", "plan-d")):
        for j in range(1 + i):
            raw = interaction(cost=0.25 * (i + j), timestamp=f"2020-01-0{1 + j}T03:04:05Z",
                              tokens={"input": 10 + i, "output": j})  # fmt: skip
            store.record(as_record(name, raw))
    with open(root / "review-b" / "interactions.jsonl", "ab") as log:
        log.write(b'{"torn": ')  # a torn last line
    stale = root / "implement-c" / "interactions.jsonl"
    stale.write_bytes(stale.read_bytes() + stale.read_bytes().splitlines(True)[0])  # by hand
    os.unlink(root / "plan-d" / ".lock") if (root / "plan-d" / ".lock").exists() else None
    os.mkfifo(root / "plan-d" / ".lock")  # an odd lock: readable, refused for writing
    store.record(as_record("plan-e", interaction()))
    os.unlink(root / "plan-e" / "interactions.jsonl")
    os.mkfifo(root / "plan-e" / "interactions.jsonl")  # a log that is no file: unreadable
    (root / "not-a-session").mkdir()
    (root / "notes.txt").write_text("mine")
    (root / "Old Session").mkdir()  # a shell-version session under a name that is not valid
    (root / "Old Session" / "metadata.json").write_text(json.dumps(LEGACY_METADATA))


STATES: dict[str, Callable[[Path], None]] = {
    "missing": lambda root: None,
    "empty": lambda root: root.mkdir(mode=0o700),
    "a file": lambda root: root.write_text("not a store"),
    "sessions": lambda root: (root.mkdir(mode=0o700), _sessions(root)),  # type: ignore[func-returns-value]
    "shell store": write_legacy_store,
    "summary at the root": lambda root: (
        write_legacy_store(root),  # type: ignore[func-returns-value]
        (root / "metadata.json").write_text(json.dumps(LEGACY_METADATA)),
    ),
}


def _run(code: str, argv: list[str], home: Path, **kw: object) -> tuple[int, str, str]:
    env = {**os.environ, "SESSION_DIR": str(home / "s"), "XDG_CONFIG_HOME": str(home / "cfg")}
    stdout = kw.pop("stdout", subprocess.PIPE)
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv], stdout=stdout, stderr=subprocess.PIPE,
        env=env, timeout=300, **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    out = (proc.stdout or b"").decode(errors="replace").replace(str(home), "<home>")
    return proc.returncode, out, proc.stderr.decode(errors="replace").replace(str(home), "<home>")


def _twins(tmp_path: Path, state: str) -> tuple[Path, Path]:
    """Two homes whose paths have the same length, each with its own copy of the store."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    STATES[state](first / "s")
    second.mkdir()
    if os.path.lexists(first / "s"):  # (cp -a copies the FIFOs too)
        subprocess.run(["cp", "-a", str(first / "s"), str(second / "s")], check=True)
    return first, second


@pytest.mark.parametrize("state", sorted(STATES))
def test_both_paths_give_the_same_bytes_cold_and_warm(tmp_path: Path, state: str) -> None:
    fast_home, click_home = _twins(tmp_path, state)
    for rnd in ("cold", "warm") if state == "sessions" else ("cold",):
        for prog, argv in PLAIN:
            assert parse(argv, prog) is not None, argv  # the fast path takes it
            fast_code, click_code = PROGRAMS[prog]
            fast = _run(fast_code, argv, fast_home)
            slow = _run(click_code, argv, click_home)
            assert fast == slow, (state, rnd, prog, argv)
            if state == "a file":
                assert fast[0] != 0 and json.loads(fast[1])["exit_code"] == fast[0]
            else:
                assert fast[0] == 0, fast
    if state == "sessions":  # the store's odd corners all show
        _, out, _ = _run(PROGRAMS["aio"][0], ["session", "list", "--json"], fast_home)
        listed = json.loads(out)
        assert [d["session_name"] for d in listed["sessions"]] == [
            "plan-d", "implement-c", "review-b", "plan-a"]  # fmt: skip
        assert {u["session_name"] for u in listed["unreadable"]} == {"plan-d", "plan-e"}
        assert listed["not_migrated"] and listed["not_aio"]


@pytest.mark.parametrize("stdout", ["closed", "full"])
@pytest.mark.parametrize("prog_argv", PLAIN, ids=repr)
def test_a_lost_stdout_is_said_alike(
    tmp_path: Path, stdout: str, prog_argv: tuple[str, list[str]]
) -> None:
    prog, argv = prog_argv
    homes = _twins(tmp_path, "sessions")
    results = []
    for code, home in zip(PROGRAMS[prog], homes, strict=True):
        if stdout == "full":
            with open("/dev/full", "wb") as full:
                results.append(_run(code, argv, home, stdout=full))
        else:
            results.append(_run(code, argv, home, stdout=None, preexec_fn=lambda: os.close(1)))
    assert results[0] == results[1]
    assert results[0][0] == 1 and "cannot write the output to stdout" in results[0][2]


@pytest.mark.parametrize("prog_argv", FALLBACK, ids=repr)
def test_anything_else_is_left_to_click(prog_argv: tuple[str, list[str]]) -> None:
    prog, argv = prog_argv
    assert parse(argv, prog) is None


@pytest.mark.parametrize("variable", ["_AIO_COMPLETE", "_AI_SESSION_COMPLETE"])
def test_completion_is_left_to_click(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "bash_complete")
    assert parse(["session", "list", "--json"], "aio") is None
    assert parse(["stats", "--json"], "ai-session") is None


def test_the_fast_path_starts_without_click(tmp_path: Path) -> None:
    home, _ = _twins(tmp_path, "sessions")
    probe = "import atexit, sys\natexit.register(lambda: print('click:', 'click' in sys.modules, file=sys.stderr))\n"  # noqa: E501
    for prog, argv in PLAIN:
        rc, _, err = _run(probe + PROGRAMS[prog][0], argv, home)
        assert rc == 0 and "click: False" in err, (prog, argv, err)
    rc, _, err = _run(probe + PROGRAMS["aio"][0], ["session", "list", "--json", "--active"], home)
    assert rc == 0 and "click: True" in err, err  # the same command through click


def _many_sessions(root: Path, count: int) -> None:
    """``count`` sessions, fast: one recorded, the rest copies under their own names."""
    root.mkdir(mode=0o700)
    SessionStore(root).record(as_record("plan-x0000", interaction()))
    log = (root / "plan-x0000" / "interactions.jsonl").read_bytes()
    meta = (root / "plan-x0000" / "metadata.json").read_text()
    for i in range(1, count):
        name = f"plan-x{i:04d}"
        (root / name).mkdir(mode=0o700)
        for file, data in (("interactions.jsonl", log.replace(b"plan-x0000", name.encode())),
                           ("metadata.json", meta.replace("plan-x0000", name).encode())):
            fd = os.open(root / name / file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, data)
            os.close(fd)


@pytest.mark.parametrize("prog_argv", [PLAIN[0], PLAIN[3]], ids=repr)
def test_a_first_listing_on_a_terminal_shows_the_bar_and_erases_it(
    tmp_path: Path, prog_argv: tuple[str, list[str]]
) -> None:
    import pty

    prog, argv = prog_argv
    _many_sessions(tmp_path / "s", 1000)  # (the bar shows from 1,000 sessions)
    results = []
    for _ in ("cold", "warm"):
        leader, follower = pty.openpty()
        env = {**os.environ, "SESSION_DIR": str(tmp_path / "s")}
        proc = subprocess.Popen(
            [sys.executable, "-c", PROGRAMS[prog][0], *argv],
            stdout=subprocess.PIPE, stderr=follower, env=env,
        )  # fmt: skip
        os.close(follower)
        out, _ = proc.communicate(timeout=300)
        err = b""
        while True:  # what the process wrote to its terminal, up to the closed end
            try:
                chunk = os.read(leader, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        os.close(leader)
        assert proc.returncode == 0, err
        results.append((out, err.decode()))
    (cold_out, cold_err), (warm_out, warm_err) = results
    assert "Reading sessions" in cold_err and "1,000/1,000" in cold_err, cold_err
    assert cold_err.endswith("\r\033[K"), cold_err  # erased: nothing is left on the line
    assert warm_err == ""  # a warm listing has nothing to show
    assert cold_out == warm_out and json.loads(cold_out)["total_sessions"] == 1000

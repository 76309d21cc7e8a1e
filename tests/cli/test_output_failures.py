"""Exit 0 means stored, whatever happens to stdout and stderr (issue 18).

Every writing command is run as a real process with its stdout full (``/dev/full``),
closed (``>&-``) or a pipe whose reader is gone (EPIPE), and with stderr closed: it must
exit 0 and its work must be in the store afterwards, with no traceback and no "internal
error" (a retry of a stored record would store it twice). Every read command to a full or
closed stdout fails in one line (exit 1), and exits 0 when the reader went away (``| head``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ai_orchestrator.store import SessionStore
from tests.helpers import LEGACY_METADATA, as_record, interaction, write_legacy_store

STDOUTS = ("full", "closed", "epipe")


@dataclass
class Run:
    code: int
    err: str  # "" when stderr was closed


def run_cli(
    args: list[str],
    *,
    stdout: str = "ok",
    stderr: str = "ok",
    stdin: str | None = None,
    prog: str = "ai-session",
) -> Run:
    """Run ``prog ARGS`` with stdout ``full``/``closed``/``epipe``/``ok`` and stderr
    ``closed``/``ok`` (captured)."""
    entry = "session_main" if prog == "ai-session" else "main"
    code = f"from ai_orchestrator.cli.main import {entry}; {entry}()"
    closing = [fd for fd, how in ((1, stdout), (2, stderr)) if how == "closed"]
    target: int | None = None
    reader = None
    if stdout == "full":
        target = os.open("/dev/full", os.O_WRONLY)
    elif stdout == "epipe":
        reader, target = os.pipe()
        os.close(reader)  # the reader is gone before aio writes a byte
    elif stdout == "ok":
        target = os.open(os.devnull, os.O_WRONLY)

    def close_fds() -> None:
        for fd in closing:
            os.close(fd)

    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            input=(stdin or "").encode(),
            stdout=target,
            stderr=subprocess.PIPE,
            preexec_fn=close_fds if closing else None,
            timeout=120,
            env={**os.environ, "AIO_DEBUG": "1"},
        )
    finally:
        if target is not None:
            os.close(target)
    return Run(proc.returncode, proc.stderr.decode("utf-8", "replace"))


def clean_failure(run: Run) -> None:
    assert "Traceback" not in run.err and "internal error" not in run.err, run.err


# --------------------------------------------------------------------- writing commands


def _record(store: SessionStore, tmp: Path) -> tuple[list[str], str | None, Callable[[], bool]]:
    body = json.dumps(interaction(id="call-1"))
    return (
        ["record", "plan-x"],
        body,
        lambda: [r.id for r in store.read_log("plan-x").records] == ["call-1"],
    )


def _record_no_id(
    store: SessionStore, tmp: Path
) -> tuple[list[str], str | None, Callable[[], bool]]:
    return (
        ["record", "plan-x"],
        json.dumps(interaction()),
        lambda: len(store.read_log("plan-x").records) == 1,
    )


def _import(store: SessionStore, tmp: Path) -> tuple[list[str], str | None, Callable[[], bool]]:
    source = tmp / "in.json"
    session = {"schema_version": 1, "session_name": "plan-imp", "agent": "claude",
               "agent_session_id": "conv-1", "interactions": [interaction(id="i-1")]}  # fmt: skip
    source.write_text(json.dumps([session]))
    return (
        ["import", str(source), "--json"],
        None,
        lambda: store.load("plan-imp").summary.to_json()["agent_session_id"] == "conv-1",
    )


def _migrate(store: SessionStore, tmp: Path) -> tuple[list[str], str | None, Callable[[], bool]]:
    write_legacy_store(store.root)
    legacy = store.root / "my_notes"
    legacy.mkdir()
    (legacy / "metadata.json").write_text(json.dumps(LEGACY_METADATA))
    return (
        ["migrate", "--json"],
        None,
        lambda: (
            (store.root / "implement-payment-gateway" / "metadata.legacy.json").exists()
            and not legacy.exists()
        ),
    )


def _old_session(store: SessionStore) -> None:
    store.record(as_record("plan-old", interaction(timestamp="2020-01-01T00:00:00Z")))


def _clean(store: SessionStore, tmp: Path) -> tuple[list[str], str | None, Callable[[], bool]]:
    _old_session(store)
    return (
        ["clean", "--older-than", "30", "--yes", "--json"],
        None,
        lambda: "plan-old" not in store.names(),
    )


def _clean_text(store: SessionStore, tmp: Path) -> tuple[list[str], str | None, Callable[[], bool]]:
    _old_session(store)  # without --json: the "removed plan-old" lines go to stdout
    return (["clean", "--older-than", "30", "--yes"], None, lambda: not store.names())


def _delete(store: SessionStore, tmp: Path) -> tuple[list[str], str | None, Callable[[], bool]]:
    _old_session(store)
    return (["delete", "plan-old", "--yes"], None, lambda: not store.names())


def _repair(store: SessionStore, tmp: Path) -> tuple[list[str], str | None, Callable[[], bool]]:
    _old_session(store)
    log = store.root / "plan-old" / "interactions.jsonl"
    with log.open("ab") as handle:
        handle.write(b"not json\n")
    return (
        ["repair", "plan-old", "--json"],
        None,
        lambda: (store.root / "plan-old" / "interactions.corrupt.jsonl").exists(),
    )


def _export_file(
    store: SessionStore, tmp: Path
) -> tuple[list[str], str | None, Callable[[], bool]]:
    _old_session(store)
    target = tmp / "backup.json"
    return (
        ["export", "-o", str(target)],
        None,
        lambda: json.loads(target.read_text())[0]["session_name"] == "plan-old",
    )


WRITING = {
    "record": _record,
    "record-without-id": _record_no_id,
    "import --json": _import,
    "migrate --json (with --rename-less carry-over)": _migrate,
    "clean --json": _clean,
    "clean": _clean_text,
    "delete": _delete,
    "repair --json": _repair,
    "export -o FILE": _export_file,
}


@pytest.mark.process  # stdout/stderr full, closed or broken: file descriptors of a real process
@pytest.mark.parametrize("stdout,stderr", [*((s, "ok") for s in STDOUTS), ("ok", "closed")])
@pytest.mark.parametrize("command", sorted(WRITING))
def test_a_writing_command_that_stored_exits_0_whatever_its_output(
    command: str, stdout: str, stderr: str, session_dir: Path, tmp_path: Path
) -> None:
    store = SessionStore()
    store.ensure_root()
    args, stdin, stored = WRITING[command](store, tmp_path)
    run = run_cli(args, stdout=stdout, stderr=stderr, stdin=stdin)
    assert run.code == 0, run.err
    clean_failure(run)
    assert stored(), f"{command}: exit 0 but not stored"
    if stdout != "ok" and stderr == "ok" and command in ("record", "import --json"):
        # the report was lost: said once on stderr, and never "retry"
        assert "do not run it again" in run.err and "retry" not in run.err, run.err


@pytest.mark.process  # stdout/stderr full, closed or broken: file descriptors of a real process
def test_record_to_a_full_stdout_twice_stores_exactly_twice(session_dir: Path) -> None:
    """The issue's case: a script that retries on a non-zero exit stores nothing twice,
    because a stored record exits 0 (and each run is one record)."""
    for _ in range(2):
        run = run_cli(["record", "plan-x"], stdout="full", stdin=json.dumps(interaction()))
        assert run.code == 0, run.err
    assert len(SessionStore().read_log("plan-x").records) == 2


@pytest.mark.process  # stdout/stderr full, closed or broken: file descriptors of a real process
def test_aio_run_answer_lost_on_stdout_is_still_a_recorded_call_exit_0(
    session_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text('- answer: "first"\n- answer: "second"\n- answer: "third"\n')
    monkeypatch.setenv("AIO_SCRIPTED_SCENARIO", str(scenario))
    for how in STDOUTS:
        run = run_cli(["run", "--agent", "scripted", "plan-x", "hello"], stdout=how, prog="aio")
        assert run.code == 0, run.err
        clean_failure(run)
        assert "do not run it again" in run.err
    assert len(SessionStore().read_log("plan-x").records) == 3


@pytest.mark.process  # stdout/stderr full, closed or broken: file descriptors of a real process
def test_a_refused_record_still_exits_2_when_stdout_is_full(session_dir: Path) -> None:
    run = run_cli(["record", "plan-x"], stdout="full", stdin='{"turns": -3}')
    assert run.code == 2 and "turns" in run.err, run.err
    assert not SessionStore().names()


@pytest.mark.process  # stdout/stderr full, closed or broken: file descriptors of a real process
@pytest.mark.parametrize("prog", ["ai-session", "aio"])
def test_closed_stdin_is_invalid_input_not_an_internal_error(session_dir: Path, prog: str) -> None:
    args = ["record", "plan-x"] if prog == "ai-session" else ["run", "--agent", "scripted", "-"]
    code = "session_main" if prog == "ai-session" else "main"
    proc = subprocess.run(
        [sys.executable, "-c", f"from ai_orchestrator.cli.main import {code}; {code}()", *args],
        stdin=None,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.close(0),
        timeout=60,
        env={**os.environ, "AIO_DEBUG": "1"},
    )
    assert proc.returncode == 2 and "stdin is closed" in proc.stderr, proc.stderr
    assert not SessionStore().names()


# ------------------------------------------------------------------------ read commands

READING = [
    ["list"],
    ["list", "--json"],
    ["show", "plan-x"],
    ["show", "plan-x", "--json"],
    ["stats"],
    ["stats", "--json"],
    ["path"],
    ["export"],
    ["export", "--format", "csv"],
    ["help"],
    ["--help"],
    ["--version"],
]


@pytest.mark.process  # stdout/stderr full, closed or broken: file descriptors of a real process
@pytest.mark.parametrize("stdout", ["full", "closed"])
@pytest.mark.parametrize("args", READING, ids=" ".join)
def test_a_read_command_whose_output_is_lost_fails_in_one_line(
    args: list[str], stdout: str, session_dir: Path
) -> None:
    SessionStore().record(as_record("plan-x", interaction()))
    run = run_cli(args, stdout=stdout)
    assert run.code == 1, run.err
    clean_failure(run)
    lines = run.err.strip().splitlines()
    assert lines[-1].startswith("ai-session: error: cannot write the output to stdout"), run.err
    assert ("no space left" if stdout == "full" else "stdout is closed") in lines[-1]


@pytest.mark.process  # stdout/stderr full, closed or broken: file descriptors of a real process
@pytest.mark.parametrize("args", READING, ids=" ".join)
def test_a_read_command_whose_reader_went_away_exits_0(args: list[str], session_dir: Path) -> None:
    SessionStore().record(as_record("plan-x", interaction()))
    run = run_cli(args, stdout="epipe")
    assert run.code == 0, run.err
    clean_failure(run)
    assert run.err == "", run.err


@pytest.mark.process  # stdout/stderr full, closed or broken: file descriptors of a real process
@pytest.mark.parametrize(
    "args",
    [
        ["--version"], ["--help"], ["prices", "sonnet"],
        # the read commands of the usage, hooks and team rooms follow the same rule
        ["usage", "daily", "--json", "--no-sync"], ["usage", "session", "--no-sync"],
        ["hooks", "status", "--json"], ["usage", "monthly", "--csv", "--no-sync"],
    ],
    ids=" ".join,
)  # fmt: skip
def test_aio_read_commands_to_a_full_stdout_fail_in_one_line(
    args: list[str], session_dir: Path
) -> None:
    run = run_cli(args, stdout="full", prog="aio")
    assert run.code == 1, run.err
    clean_failure(run)
    assert "cannot write the output to stdout: no space left" in run.err


def test_command_words_name_the_command_as_click_reads_it() -> None:
    from ai_orchestrator.cli.main import cli, command_words, stdout_is_result

    assert command_words(["--color", "never", "session", "list"], "aio") == "session list"
    assert command_words(["list", "--json"], "ai-session") == "session list"
    assert command_words(["record", "plan-x"], "ai-session") == "session record"
    assert command_words(["features", "--wide", "clean"], "aio") == "features clean"
    assert command_words(["run", "--", "-h"], "aio") == "run"
    assert command_words(["run", "-h"], "aio") == "help"
    assert command_words([], "aio") == ""
    assert command_words(["usage", "daily", "--json"], "aio") == "usage daily"
    assert command_words(["team", "stats", "--by", "user"], "aio") == "team stats"
    writing = ("session record", "session import", "session clean", "session migrate", "run",
               "features clean", "task set", "plan", "implement", "session delete",
               "usage sync", "team push", "team init", "hooks install", "report")  # fmt: skip
    assert not any(stdout_is_result(cli, words, "aio") for words in writing)


@pytest.mark.process  # stdout/stderr full, closed or broken: file descriptors of a real process
@pytest.mark.parametrize("how", ["full", "closed"])
def test_a_failure_under_json_with_stdout_lost_is_still_one_line(
    session_dir: Path, tmp_path: Path, how: str
) -> None:
    """The error document under ``--json`` goes to the lost stdout too: still one line on
    stderr and the failure's own exit code."""
    for args, code in (
        (["show", "plan-none", "--json"], 1),
        (["list", "--json", "--days", "x"], 2),
    ):
        run = run_cli(args, stdout=how)
        assert run.code == code, run.err
        clean_failure(run)
        assert len(run.err.strip().splitlines()) == 1, run.err


@pytest.mark.process  # stdout/stderr full, closed or broken: file descriptors of a real process
def test_workflow_commands_follow_the_same_rule(session_dir: Path, tmp_path: Path) -> None:
    """Class members beyond the store: ``aio init``/``switch`` write (exit 0 when done),
    ``features``/``status``/``history``/``config check`` read (exit 1, one line)."""
    (tmp_path / ".git").mkdir()  # a project root (the tests run in tmp_path)
    init = run_cli(["init", "feat-x", "a thing"], stdout="full", prog="aio")
    assert init.code == 0 and "do not run it again" in init.err, init.err
    assert (tmp_path / ".aio" / "features").is_dir()
    assert run_cli(["switch", "feat-x"], stdout="closed", prog="aio").code == 0
    for args in (["features"], ["features", "--json"], ["status"], ["status", "--json"],
                 ["history"], ["config", "check"]):  # fmt: skip
        run = run_cli(args, stdout="full", prog="aio")
        assert run.code == 1, (args, run.err)
        clean_failure(run)
        assert run.err.strip().endswith(
            "cannot write the output to stdout: no space left on the device"
        )

"""``aio team`` when things go wrong: the server down, the connection killed mid-push, Ctrl-C,
a newer schema, hostile logs, and the password that must never show.

Every fault test ends with the exact-count check: the server holds each local interaction
once (primary key), the rollup sums to the same number, and the watermarks never run ahead
of the rows they cover.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from ai_orchestrator.core.errors import TeamError
from ai_orchestrator.store.session_store import SessionStore
from ai_orchestrator.team import config, schema
from ai_orchestrator.team.push import push
from tests.helpers import aio_inprocess, as_records
from tests.pgserver import PgServer, binaries, wait_until
from tests.team.stores import fill_store, records
from tests.team.test_team import server_count, team, team_json

pytestmark = pytest.mark.process  # a real PostgreSQL server and its tools

# SIGINT as a terminal's Ctrl-C finds it, whatever the test runner's disposition (a runner
# started as a background job of a non-interactive shell ignores SIGINT, and children
# inherit that)
CODE = (
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from ai_orchestrator.cli.main import main; main()"
)


def ctrl_c(proc: subprocess.Popen[str], timeout: float = 90) -> str:
    """SIGINT to ``proc``; its stderr once it exited. If it has not within ``timeout``, its
    threads' stacks (PYTHONFAULTHANDLER in its environment, SIGABRT) fail the test."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        err = proc.communicate(timeout=30)[1]
        raise AssertionError(f"still running {timeout:.0f} s after Ctrl-C:\n{err}") from None


def consistent(url: str, expected: int) -> None:
    """Every interaction once, the rollup equal to the rows, watermarks not ahead of rows."""
    assert server_count(url) == expected
    assert server_count(url, "SELECT count(DISTINCT id) FROM aio.interactions") == expected
    assert server_count(url, "SELECT coalesce(sum(interactions), 0) FROM aio.rollup") == expected


def marks_cover_rows(url: str) -> None:
    with psycopg.connect(url) as conn:
        marked = conn.execute("SELECT coalesce(sum(records), 0) FROM aio.watermarks").fetchone()
        rows = conn.execute("SELECT count(*) FROM aio.interactions").fetchone()
    assert marked is not None and rows is not None
    assert int(marked[0]) <= int(rows[0]), "a watermark ran ahead of its rows"


def test_server_down_then_catches_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that is stopped: one line, exit 1, the store untouched; after a restart the
    next push sends everything."""
    bindir = binaries()
    if bindir is None:
        pytest.skip("NO POSTGRESQL SERVER BINARIES: SKIPPED")
    server = PgServer(bindir).start()
    try:
        monkeypatch.setenv("PGPASSFILE", str(server.pgpass(tmp_path / "pgpass")))
        url = server.url("postgres")
        monkeypatch.setenv("AIO_TEAM_DB", url)
        root = tmp_path / "m"
        store = fill_store(root, 3, 30, seed=21)
        team_json("init")
        assert team_json("push", root=root)["added"] == 90
        for name in store.names():
            store.record_unique(name, as_records(name, records(f"late-{name}", 10, seed=22)))
        logs = {p: p.read_bytes() for p in root.glob("*/interactions.jsonl")}
        server.halt()
        for command in (("push",), ("stats",), ("status",), ("init",)):
            result = team(*command, root=root)
            assert result.code == 1, (command, result.err)
            assert result.err.count("\n") == 1 and result.err.startswith("aio: error: team ")
            assert "Traceback" not in result.err
        assert {p: p.read_bytes() for p in logs} == logs, "the store must be untouched"
        server.start_again()
        assert team_json("push", root=root)["added"] == 30
        consistent(url, 120)
    finally:
        server.stop()


def test_wrong_port_is_one_line_with_the_target(team_db: str, tmp_path: Path) -> None:
    fill_store(tmp_path / "m", 1, 3, seed=2)
    result = team("push", "--db", "postgresql://nobody@127.0.0.1:1/none", root=tmp_path / "m")
    assert result.code == 1 and result.err.count("\n") == 1
    assert "postgresql://nobody@127.0.0.1:1/none" in result.err


def test_connection_killed_mid_push_then_retry_is_exact(team_db: str, tmp_path: Path) -> None:
    root = tmp_path / "m"
    store = fill_store(root, 4, 6_000, seed=31)
    total = 24_000
    team_json("init")
    settings = config.resolve()
    killed: list[int] = []

    def killer() -> None:
        with psycopg.connect(team_db, autocommit=True) as admin:
            wait_until(
                lambda: (
                    admin.execute("SELECT count(*) FROM aio.interactions").fetchone()[0]  # type: ignore[index]
                    >= 2_000
                ),
                timeout=60,
            )
            row = admin.execute(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'aio team') t"
            ).fetchone()
            killed.append(int(row[0]) if row else 0)

    thread = threading.Thread(target=killer)
    thread.start()
    with pytest.raises(TeamError) as caught:
        push(store, settings, batch_rows=500)
    thread.join()
    assert killed == [1]
    assert "\n" not in str(caught.value)
    partial = server_count(team_db)
    assert 2_000 <= partial < total
    marks_cover_rows(team_db)
    consistent(team_db, partial)
    retry = push(store, settings)
    assert retry.added == total - partial
    consistent(team_db, total)
    marks_cover_rows(team_db)


def test_ctrl_c_mid_push_then_retry_is_exact(team_db: str, tmp_path: Path) -> None:
    root = tmp_path / "m"
    fill_store(root, 2, 10_000, seed=41)
    team_json("init")
    env = {**os.environ, "SESSION_DIR": str(root), "AIO_TEAM_BATCH_ROWS": "500",
           "PYTHONFAULTHANDLER": "1"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", CODE, "team", "push"], env=env, stderr=subprocess.PIPE, text=True
    )
    assert wait_until(lambda: server_count(team_db) >= 1_000, timeout=60)
    err = ctrl_c(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    partial = server_count(team_db)
    assert partial < 20_000
    consistent(team_db, partial)
    assert team_json("push", root=root)["added"] == 20_000 - partial
    consistent(team_db, 20_000)


def _held_push_waiting(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'aio team' "
            "AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("push", "--no-usage"), 130, "interrupted"),
        (("push", "--watch", "--debounce", "0.5"), 0, "stopped"),
    ],
    ids=["push", "watch"],
)
def test_ctrl_c_while_the_server_holds_the_writer_stops_promptly(
    team_db: str, tmp_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    """The batch's transaction waits on the server (here: another session holds this
    machine's advisory lock; in life a lock, a stalled server). Ctrl-C must still end the
    push: the writer's statement is cancelled and rolled back, nothing is half-written,
    and the next push sends everything once."""
    root = tmp_path / "m"
    store = fill_store(root, 1, 5, seed=43)
    team_json("init")
    assert team_json("push", "--no-usage", root=root)["added"] == 5
    store.record_unique("run-held", as_records("run-held", records("held", 3, seed=44)))
    machine_id = config.machine(root).machine_id
    holder = psycopg.connect(team_db, autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(hashtext(%s))", (machine_id,))
        env = {**os.environ, "SESSION_DIR": str(root), "PYTHONFAULTHANDLER": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-c", CODE, "team", *args], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            held = wait_until(lambda: _held_push_waiting(team_db), timeout=120)
        finally:
            err = ctrl_c(proc)
        assert held, f"the push never waited on the held lock: {err}"
        assert proc.returncode == code, err
        assert says in err and "Traceback" not in err
        consistent(team_db, 5)  # the held batch was rolled back whole
    finally:
        holder.close()  # releases the advisory lock
    assert team_json("push", "--no-usage", root=root)["added"] == 3
    consistent(team_db, 8)
    marks_cover_rows(team_db)


def test_ctrl_c_delivered_to_the_writer_thread_still_stops_the_push(
    team_db: str, tmp_path: Path
) -> None:
    """The kernel may hand a process's SIGINT to any of its threads. Python acts on it in the
    main thread only, at its next bytecode: a main thread blocked without a timeout on the
    writer (which the server holds) would never get there. The push must still stop."""
    root = tmp_path / "m"
    store = fill_store(root, 1, 5, seed=45)
    team_json("init")
    assert team_json("push", "--no-usage", root=root)["added"] == 5
    store.record_unique("run-held", as_records("run-held", records("held", 3, seed=46)))
    holder = psycopg.connect(team_db, autocommit=True)
    sent: list[str] = []

    def interrupt_the_writer() -> None:
        if not wait_until(lambda: _held_push_waiting(team_db), timeout=120):
            sent.append("the push never waited on the held lock")
            os.kill(os.getpid(), signal.SIGINT)  # end the test rather than hang it
            return
        writers = [t for t in threading.enumerate() if t.name.startswith("aio-team-push")]
        sent.append(f"{len(writers)} writer(s)")
        for writer in writers:
            assert writer.ident is not None
            signal.pthread_kill(writer.ident, signal.SIGINT)

    try:
        holder.execute("SELECT pg_advisory_lock(hashtext(%s))", (config.machine(root).machine_id,))
        threading.Thread(target=interrupt_the_writer, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            push(SessionStore(root), config.resolve(None), with_usage=False)
        assert sent == ["1 writer(s)"]
        consistent(team_db, 5)
    finally:
        holder.close()
    assert team_json("push", "--no-usage", root=root)["added"] == 3
    consistent(team_db, 8)


def test_newer_schema_is_refused(team_db: str, tmp_path: Path) -> None:
    fill_store(tmp_path / "m", 1, 3, seed=5)
    team_json("init")
    with psycopg.connect(team_db, autocommit=True) as conn:
        conn.execute("INSERT INTO aio.migrations(version, aio_version) VALUES (99, '9.0')")
    for command in (("init",), ("push",), ("stats",), ("status",)):
        result = team(*command, root=tmp_path / "m")
        assert result.code == 5, (command, result.err)
        assert result.err.count("\n") == 1
        assert f"schema version 99, newer than this aio knows ({schema.VERSION})" in result.err
    assert server_count(team_db) == 0


def test_corrupt_and_torn_lines(team_db: str, tmp_path: Path) -> None:
    root = tmp_path / "m"
    store = fill_store(root, 1, 10, seed=6)
    log = root / store.names()[0] / "interactions.jsonl"
    with open(log, "ab") as handle:
        handle.write(b'[1, 2]\n\xff\xfe garbage\n{"id": "torn", "tok')
    team_json("init")
    pushed = team_json("push", root=root)
    assert pushed["added"] == 10 and pushed["corrupt_lines"] == 2
    # The torn line completes into a valid record later: it is pushed then.
    good = json.loads(log.read_bytes().splitlines()[0])
    good["id"] = "completed-later"
    with open(log, "rb+") as handle:
        data = handle.read()
        handle.seek(data.rindex(b"\n") + 1)
        handle.truncate()
        handle.write(json.dumps(good).encode() + b"\n")
    assert team_json("push", root=root)["added"] == 1
    consistent(team_db, 11)


def test_a_line_without_id_is_one_row_however_often_read(team_db: str, tmp_path: Path) -> None:
    """The store gives an id-less line a fresh id on every read; the team keys it by its
    content, so reading the log again (lost watermarks) adds nothing."""
    root = tmp_path / "m"
    store = fill_store(root, 1, 2, seed=13)
    log = root / store.names()[0] / "interactions.jsonl"
    with open(log, "ab") as handle:
        handle.write(b'{"model": "m", "tokens": {"input": 7, "output": 1}, "cost": 0.5}\n')
    team_json("init")
    assert team_json("push", root=root)["added"] == 3
    with psycopg.connect(team_db, autocommit=True) as conn:
        conn.execute("DELETE FROM aio.watermarks")
    assert team_json("push", root=root)["added"] == 0
    consistent(team_db, 3)


def test_watch_pushes_new_records_and_stops_on_ctrl_c(team_db: str, tmp_path: Path) -> None:
    root = tmp_path / "m"
    store = fill_store(root, 1, 5, seed=7)
    team_json("init")
    # PYTHONFAULTHANDLER: if it ever hangs, SIGABRT below prints every thread's stack
    env = {**os.environ, "SESSION_DIR": str(root), "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", CODE, "team", "push", "--watch", "--debounce", "0.5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pushed_first = wait_until(lambda: server_count(team_db) == 5, timeout=60)
        if pushed_first:
            store.record_unique("run-late", as_records("run-late", records("late", 4, seed=8)))
        pushed_late = pushed_first and wait_until(lambda: server_count(team_db) == 9, timeout=60)
    finally:
        err = ctrl_c(proc)
    assert pushed_first and pushed_late, (server_count(team_db), err)
    assert proc.returncode == 0, err
    assert "stopped" in err and "Traceback" not in err
    consistent(team_db, 9)


def _all_bytes(*roots: Path) -> bytes:
    found = b""
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                found += path.read_bytes()
    return found


def test_password_never_shown_logged_or_stored(
    pg: PgServer, team_db: str, tmp_path: Path, isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """With the password in --db, in AIO_TEAM_DB, wrong, or in PGPASSWORD: never in stdout,
    stderr (AIO_DEBUG on), or any file aio writes."""
    monkeypatch.delenv("PGPASSFILE")
    (isolated_home / ".pgpass").unlink()  # the fixture's; only aio's own files are checked
    secret = pg.password
    db = team_db.rsplit("/", 1)[1]
    url = pg.url(db, password=True)
    root = tmp_path / "m"
    fill_store(root, 2, 5, seed=9)
    outputs = []
    for args in (("init",), ("push",), ("status",), ("stats", "--by", "user")):
        for json_flag in ((), ("--json",)):
            result = team(*args, *json_flag, "--db", url, root=root)
            assert result.code == 0, result.err
            outputs.append(result.out + result.err)
    monkeypatch.setenv("AIO_TEAM_DB", url)
    result = team("status", "--json", root=root)
    assert result.code == 0 and "***" in result.out
    outputs.append(result.out + result.err)
    # A wrong password: the error is one line and shows neither password.
    wrong = url.replace(secret, secret[::-1] + "x")
    result = team("push", "--db", wrong, root=root)
    assert result.code == 1 and result.err.count("\n") == 1
    outputs.append(result.out + result.err)
    # A password with URL-special characters, percent-encoded, in an unreachable URL.
    odd = f"postgresql://u:{secret}%40x@127.0.0.1:1/db?sslmode=disable"
    result = team("push", "--db", odd, root=root)
    assert result.code == 1
    outputs.append(result.out + result.err)
    # PGPASSWORD from the environment.
    monkeypatch.setenv("PGPASSWORD", secret)
    monkeypatch.setenv("AIO_TEAM_DB", pg.url(db))
    result = team("stats", "--json", root=root)
    assert result.code == 0, result.err
    outputs.append(result.out + result.err)
    monkeypatch.delenv("PGPASSWORD")
    for text in outputs:
        assert secret not in text and secret[::-1] not in text
    assert secret.encode() not in _all_bytes(root, isolated_home)
    # A config file with a password is refused without echoing it.
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[team]\ndb = "{url}"\n')
    monkeypatch.delenv("AIO_TEAM_DB")
    result = team("status", root=root)
    assert result.code == 2 and "~/.pgpass" in result.err and secret not in result.err


def test_config_file_and_precedence(pg: PgServer, team_db: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[team]\ndb = "{team_db}"\nuser = "carol"\n')
    monkeypatch.delenv("AIO_TEAM_DB")
    root = tmp_path / "m"
    fill_store(root, 1, 4, seed=10)
    assert team_json("init")["version"] == schema.VERSION
    assert team_json("push", root=root)["user"] == "carol"
    assert list(team_json("stats", "--by", "user")["groups"]) == ["carol"]
    # The flag wins over the environment, which wins over the file.
    monkeypatch.setenv("AIO_TEAM_DB", "postgresql://nobody@127.0.0.1:1/x")
    assert team("stats").code == 1
    assert team("stats", "--db", team_db).code == 0
    monkeypatch.delenv("AIO_TEAM_DB")
    path.write_text("[team\n")
    result = team("stats")
    assert result.code == 2 and "not valid TOML" in result.err
    path.unlink()
    result = aio_inprocess("team", "stats")
    assert result.code == 2 and "no team database" in result.err


def test_two_pushes_of_one_store_at_once_add_each_row_once(team_db: str, tmp_path: Path) -> None:
    root = tmp_path / "m"
    fill_store(root, 3, 2_000, seed=12)
    team_json("init")
    env = {**os.environ, "SESSION_DIR": str(root)}
    procs = [
        subprocess.Popen([sys.executable, "-c", CODE, "team", "push", "--json"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    added = 0
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        added += json.loads(out)["added"]
    assert added == 6_000
    consistent(team_db, 6_000)
    store = SessionStore(root)
    assert sum(len(store.read_log(n).records) for n in store.names()) == 6_000


def test_watch_survives_a_server_down_and_stops_on_a_newer_schema(
    team_db: str, tmp_path: Path
) -> None:
    from ai_orchestrator.core.errors import AioError, TeamSchemaTooNew
    from ai_orchestrator.team.watch import watch

    store = fill_store(tmp_path / "m", 1, 3, seed=14)
    errors: list[AioError] = []
    down = config.resolve("postgresql://nobody@127.0.0.1:1/x")
    watch(store, down, on_push=lambda r: None, on_error=errors.append, rounds=3,
          sleep=lambda s: None, interval=0.5, retry=1)  # fmt: skip
    assert len(errors) == 3 and all(isinstance(e, TeamError) for e in errors)
    team_json("init")
    with psycopg.connect(team_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO aio.migrations(version, aio_version) VALUES (%s, 'next')",
            (schema.VERSION + 1,),
        )
    with pytest.raises(TeamSchemaTooNew):
        watch(store, config.resolve(), on_push=lambda r: None, on_error=errors.append,
              rounds=3, sleep=lambda s: None)  # fmt: skip
    assert len(errors) == 3

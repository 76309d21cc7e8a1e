"""Interactive usage in the team database (``team push`` of the usage index, ``aio usage
daily --team``) against a real PostgreSQL server.

Every figure is compared with what the machines' own ``aio usage`` reports say, so a push
that loses, duplicates or fails to follow an updated request fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ai_orchestrator.team import schema
from tests.helpers import aio_inprocess

pytestmark = pytest.mark.process  # a real PostgreSQL server and its tools

SONNET = "claude-sonnet-4-5-20250929"
FIGURES = ("input", "output", "cache_read", "cache_write", "requests", "unpriced_requests")


def _assistant(msg: str, req: str, ts: str, out: int, *, session: str = "s1") -> str:
    usage = {"input_tokens": 10, "output_tokens": out, "cache_read_input_tokens": 100,
             "cache_creation_input_tokens": 50}  # fmt: skip
    message = {"id": msg, "model": SONNET, "role": "assistant", "usage": usage,
               "content": [{"type": "text", "text": "x"}]}  # fmt: skip
    entry = {"type": "assistant", "sessionId": session, "cwd": "/work/proj", "gitBranch": "main",
             "requestId": req, "timestamp": ts, "uuid": f"u-{msg}-{ts}-{out}",
             "message": message}  # fmt: skip
    return json.dumps(entry) + "\n"


class Machine:
    """One developer machine: its agents' home and its aio store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.projects = root / ".claude" / "projects" / "-work-proj"
        self.projects.mkdir(parents=True)

    @property
    def env(self) -> dict[str, str]:
        return {
            "SESSION_DIR": str(self.root / ".ai-sessions"),
            "CLAUDE_CONFIG_DIR": str(self.root / ".claude"),
            "CODEX_HOME": str(self.root / ".codex"),
            "GEMINI_CLI_HOME": str(self.root),
        }

    def transcript(self, name: str, text: str) -> Path:
        path = self.projects / f"{name}.jsonl"
        with path.open("a", encoding="utf-8") as out:
            out.write(text)
        return path

    def aio(self, *args: str) -> Any:
        return aio_inprocess(*args, env=self.env)

    def json(self, *args: str) -> dict[str, Any]:
        result = self.aio(*args, "--json")
        assert result.code == 0, result.err
        return dict(json.loads(result.out))


def _figures(doc: dict[str, Any]) -> dict[str, Any]:
    totals = doc["totals"]
    return {key: totals[key] for key in FIGURES} | {"cost": round(totals["cost"], 9)}


def _sum(*docs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for doc in docs:
        for key, value in _figures(doc).items():
            out[key] = round(out.get(key, 0) + value, 9)
    return out


def test_team_usage_equals_the_machines_and_follows_updates(team_db: str, tmp_path: Path) -> None:
    laptop, runner = Machine(tmp_path / "laptop"), Machine(tmp_path / "runner")
    laptop.transcript("s1", _assistant("msg_1", "req_1", "2026-12-01T10:00:01Z", 1)
                      + _assistant("msg_1", "req_1", "2026-12-01T10:00:02Z", 120)
                      + _assistant("msg_2", "req_2", "2026-12-02T09:00:00Z", 30))  # fmt: skip
    runner.transcript("s9", _assistant("msg_7", "req_7", "2026-12-02T11:00:00Z", 40, session="s9"))
    assert laptop.json("team", "init")["version"] == schema.VERSION

    first = [m.json("team", "push") for m in (laptop, runner)]
    assert [p["usage"]["added"] for p in first] == [2, 1]
    mine = [m.json("usage", "daily") for m in (laptop, runner)]
    team = laptop.json("usage", "daily", "--team")
    assert _figures(team) == _sum(*mine)
    assert team["team"]["machines"] == 2
    assert [row["date"] for row in team["rows"]] == ["2026-12-01", "2026-12-02"]

    # pushed again: nothing added, nothing rewritten
    again = [m.json("team", "push") for m in (laptop, runner)]
    assert [(p["usage"]["added"], p["usage"]["updated"]) for p in again] == [(0, 0), (0, 0)]

    # a more complete snapshot of a pushed request: the server follows the index
    laptop.transcript("s1", _assistant("msg_2", "req_2", "2026-12-02T09:00:01Z", 300))
    updated = laptop.json("team", "push")
    assert (updated["usage"]["added"], updated["usage"]["updated"]) == (0, 1)
    mine = [m.json("usage", "daily") for m in (laptop, runner)]
    assert _figures(laptop.json("usage", "daily", "--team")) == _sum(*mine)

    # a copy of the laptop's transcript on the runner (a synced folder): the same requests,
    # counted once by the team
    runner.transcript("s1", (laptop.projects / "s1.jsonl").read_text())
    runner.json("team", "push")
    assert _figures(laptop.json("usage", "daily", "--team")) == _sum(*mine)

    # filters are the local ones
    day = laptop.json("usage", "daily", "--team", "--since", "2026-12-02", "--until", "20261202")
    assert [row["date"] for row in day["rows"]] == ["2026-12-02"]


def test_a_rebuilt_or_broken_index_never_duplicates_or_blocks_the_push(
    team_db: str, tmp_path: Path
) -> None:
    laptop = Machine(tmp_path / "laptop")
    laptop.transcript("s1", _assistant("msg_1", "req_1", "2026-12-01T10:00:00Z", 5))
    laptop.json("team", "init")
    assert laptop.json("team", "push")["usage"]["added"] == 1
    index = tmp_path / "laptop" / ".ai-sessions" / "usage" / "usage.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    rebuilt = laptop.json("team", "push")  # a new index id: everything re-sent, nothing added
    assert (rebuilt["usage"]["read"], rebuilt["usage"]["added"]) == (1, 0)
    with psycopg.connect(team_db) as conn:
        row = conn.execute("SELECT count(*), sum(output) FROM aio.requests").fetchone()
    assert row == (1, 5)

    index.write_bytes(b"this is not a database" * 100)
    broken = laptop.aio("team", "push", "--no-usage")
    assert broken.code == 0, broken.err  # aio's own calls never wait on the usage index
    result = laptop.aio("team", "push")
    assert result.code == 0, result.err
    assert "interactive usage not pushed" in result.err or "usage index" in result.err
    assert "Traceback" not in result.err


def test_a_version_1_team_database_is_migrated_in_place(team_db: str, tmp_path: Path) -> None:
    with psycopg.connect(team_db) as conn:
        conn.execute("CREATE SCHEMA aio")
        conn.execute(
            "CREATE TABLE aio.migrations(version int PRIMARY KEY, applied_at timestamptz "
            "NOT NULL DEFAULT now(), aio_version text NOT NULL)"
        )
        conn.execute(schema.MIGRATIONS[1])
        conn.execute("INSERT INTO aio.migrations(version, aio_version) VALUES (1, 'old')")
    laptop = Machine(tmp_path / "laptop")
    refused = laptop.aio("usage", "daily", "--team")
    assert refused.code == 1 and refused.err.count("\n") == 1, refused.err
    assert "aio team init" in refused.err  # not migrated yet: says what to do
    done = laptop.json("team", "init")
    assert done["applied"] == list(range(2, schema.VERSION + 1))
    laptop.transcript("s1", _assistant("msg_1", "req_1", "2026-12-01T10:00:00Z", 5))
    assert laptop.json("team", "push")["usage"]["added"] == 1
    by_url = laptop.json("usage", "daily", "--db", team_db)  # --db means --team
    assert by_url["team"]["machines"] == 1 and by_url["totals"]["output"] == 5


def test_session_list_team_shows_every_machines_sessions(team_db: str, tmp_path: Path) -> None:
    from tests.team.stores import fill_store

    stores = {name: fill_store(tmp_path / name, 4, 5, seed=n) for n, name in enumerate("ab")}
    first = Machine(tmp_path / "a")
    first.json("team", "init")
    for name in stores:
        pushed = aio_inprocess(
            "team", "push", "--no-usage", "--user", f"dev-{name}", "--json",
            env={"SESSION_DIR": str(tmp_path / name)},
        )  # fmt: skip
        assert pushed.code == 0, pushed.err
    listed = first.json("session", "list", "--team")
    assert listed["total_sessions"] == 8  # the same names on two machines are two sessions
    by_key = {(s["user"], s["session_name"]): s for s in listed["sessions"]}
    for name, store in stores.items():
        for session in store.names():
            mine = [
                json.loads(line)
                for line in (tmp_path / name / session / "interactions.jsonl")
                .read_text()
                .splitlines()
            ]
            theirs = by_key[(f"dev-{name}", session)]
            assert theirs["interactions"] == len(mine)
            assert theirs["tokens"]["output"] == sum(r["tokens"]["output"] for r in mine)
    costs = [
        s["cost"] for s in first.json("session", "list", "--team", "--sort", "cost")["sessions"]
    ]
    assert costs == sorted(costs, reverse=True)
    # the stores' calls are from November 2026: none within the last day
    assert first.json("session", "list", "--team", "--active", "--days", "1")["sessions"] == []
    text = first.aio("session", "list", "--team")
    assert text.code == 0 and "dev-a@" in text.out and "dev-b@" in text.out, text.out


def test_a_call_recorded_without_a_branch_takes_its_transcripts(
    team_db: str, tmp_path: Path
) -> None:
    """An aio call recorded before records carried a branch: the usage index matched its
    agent's transcript requests to it (same agent session, inside the call's window), and
    those carry the git branch the agent saw: the team row gets it. A call that records
    its own branch keeps it; one nothing matched stays empty."""
    from ai_orchestrator.store.session_store import SessionStore
    from tests.helpers import as_records
    from tests.team.stores import records

    laptop = Machine(tmp_path / "laptop")
    entry = json.loads(_assistant("msg_1", "req_1", "2026-12-01T10:00:01Z", 7))
    entry["gitBranch"] = "feature/login"
    laptop.transcript("s1", json.dumps(entry) + "\n")
    calls = records("c", 3, seed=51)
    for n, call in enumerate(calls):
        call.update(agent="claude", model=SONNET, timestamp=f"2026-12-0{n + 1}T10:00:05.000Z",
                    duration_ms=10_000, agent_session_id="s1")  # fmt: skip
    calls[1]["branch"] = "own-branch"  # recorded by this aio: its own branch wins
    store = SessionStore(tmp_path / "laptop" / ".ai-sessions")
    store.record_unique("run-old", as_records("run-old", calls))
    laptop.json("team", "init")
    assert laptop.json("team", "push")["added"] == 3
    with psycopg.connect(team_db) as conn:
        found = dict(conn.execute("SELECT id, branch FROM aio.interactions").fetchall())
    assert found == {"c-0": "feature/login", "c-1": "own-branch", "c-2": None}

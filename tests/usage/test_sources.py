"""The usage index over every backend's declared files: Qwen Code chat files and OpenCode's
SQLite store, with exact figures for dedup, aio's own calls (never counted twice), deleted
files (rows kept) and incremental reads (a warm sync reads only what changed)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.agents.registry import KNOWN_KEYS, capabilities
from ai_orchestrator.store.session_store import SessionStore
from ai_orchestrator.usage.parsers import PARSERS
from ai_orchestrator.usage.reports import Filters, report
from ai_orchestrator.usage.sources import DATABASES, KINDS, discover
from ai_orchestrator.usage.sync import open_index, sync
from tests.helpers import as_record, interaction

QWEN_SESSION = "2261fa9c-4438-44d6-afe5-4b877bedac35"
SONNET = "anthropic/claude-sonnet-4-5"


def _ms(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp).timestamp() * 1000)


def _doc(**filters: Any) -> dict[str, Any]:
    conn = open_index()
    try:
        return report(conn, "session", Filters(**filters))
    finally:
        conn.close()


def _figures(totals: dict[str, Any]) -> tuple[int, ...]:
    keys = ("input", "output", "cache_read", "cache_write", "reasoning", "requests")
    return tuple(totals[k] for k in keys)


def _covered() -> dict[str, bool]:
    conn = open_index()
    try:
        rows = conn.execute("SELECT key, covered IS NOT NULL FROM req WHERE origin = 't'")
        return {key: bool(covered) for key, covered in rows}
    finally:
        conn.close()


# --- Qwen Code --------------------------------------------------------------------------------


def _qwen_line(kind: str, ts: str, **extra: Any) -> str:
    entry = {"uuid": f"u-{ts}-{kind}", "sessionId": QWEN_SESSION, "timestamp": ts, "type": kind,
             "cwd": "/work/qwenproj", "version": "0.24.4", **extra}  # fmt: skip
    return json.dumps(entry) + "\n"


def _response(ts: str, rid: str, prompt: int, out: int, cached: int, thoughts: int) -> str:
    event = {"event.name": "qwen-code.api_response", "event.timestamp": ts, "response_id": rid,
             "model": "gpt-4.1", "status_code": 200, "input_token_count": prompt,
             "output_token_count": out, "cached_content_token_count": cached,
             "thoughts_token_count": thoughts, "total_token_count": prompt + out}  # fmt: skip
    return _qwen_line("system", ts, subtype="ui_telemetry", systemPayload={"uiEvent": event})


def _qwen_chat(home: Path) -> Path:
    chats = home / ".qwen" / "projects" / "-work-qwenproj" / "chats"
    chats.mkdir(parents=True)
    path = chats / f"{QWEN_SESSION}.jsonl"
    first = _response("2026-12-01T10:00:00.000Z", "chatcmpl-1", 1000, 100, 200, 30)
    path.write_text(
        _qwen_line("user", "2026-12-01T09:59:59.000Z", message={"role": "user", "parts": []})
        + first
        + _qwen_line("assistant", "2026-12-01T10:00:00.100Z", model="gpt-4.1",
                     usageMetadata={"promptTokenCount": 1000, "candidatesTokenCount": 100})
        + first  # the same response written again: one request
        + "{torn json\n"
        + _response("2026-12-01T10:05:00.000Z", "chatcmpl-2", 2000, 50, 1500, 0)
    )  # fmt: skip
    return path


def test_qwen_chat_one_row_per_response_exact_tokens_and_cost(isolated_home: Path) -> None:
    _qwen_chat(isolated_home)
    sync()
    doc = _doc(agent="qwen")
    # input excludes the cached tokens: (1000-200) + (2000-1500); thoughts are inside output
    assert _figures(doc["totals"]) == (1300, 150, 1700, 0, 30, 2)
    # gpt-4.1 (USD per million): 1300 x 2 + 150 x 8 + 1700 x 0.50
    assert doc["totals"]["cost"] == pytest.approx(0.00465, abs=1e-12)
    [row] = doc["rows"]
    assert (row["session"], row["project"]) == (QWEN_SESSION, "/work/qwenproj")


def test_qwen_aio_call_counts_once_rows_stay_after_deletion_and_warm_reads_appends_only(
    isolated_home: Path,
) -> None:
    path = _qwen_chat(isolated_home)
    # aio ran the second request itself (`aio run`): recorded by aio and in the chat file
    SessionStore().record(as_record("implement-qw", interaction(
        agent="qwen", agent_session_id=QWEN_SESSION, model="gpt-4.1", task_id="T2",
        timestamp="2026-12-01T10:05:01.000Z", duration_ms=2000,
        tokens={"input": 500, "output": 50, "cache_read": 1500, "cache_write": 0},
        cost=0.001, cost_source="computed",
    )))  # fmt: skip
    sync()
    totals = _doc(agent="qwen")["totals"]
    assert _figures(totals) == (1300, 150, 1700, 0, 30, 2)  # not 1800/200/3200: once
    assert _covered() == {f"q:{QWEN_SESSION}:chatcmpl-1": False,
                          f"q:{QWEN_SESSION}:chatcmpl-2": True}  # fmt: skip
    third = _response("2026-12-01T11:00:00.000Z", "chatcmpl-3", 10, 5, 0, 0)
    with path.open("a") as f:
        f.write(third)
    warm = sync()
    assert (warm.files_read, warm.bytes_read, warm.requests) == (1, len(third), 1)
    assert _figures(_doc(agent="qwen")["totals"]) == (1310, 155, 1700, 0, 30, 3)
    path.unlink()
    sync()
    assert _figures(_doc(agent="qwen")["totals"]) == (1310, 155, 1700, 0, 30, 3)


# --- OpenCode ---------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE session (id text PRIMARY KEY, project_id text NOT NULL, parent_id text,
  directory text NOT NULL, title text NOT NULL, time_created integer NOT NULL,
  time_updated integer NOT NULL);
CREATE TABLE message (id text PRIMARY KEY, session_id text NOT NULL,
  time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL);
CREATE TABLE part (id text PRIMARY KEY, message_id text NOT NULL, session_id text NOT NULL,
  time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL);
CREATE INDEX part_session_idx ON part (session_id);
"""


class OpenCodeStore:
    """An ``opencode.db`` with OpenCode 1.18's tables (the columns the index reads), written
    through one connection in WAL mode, as OpenCode writes it."""

    def __init__(self, home: Path) -> None:
        self.path = home / ".local" / "share" / "opencode" / "opencode.db"
        self.path.parent.mkdir(parents=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        self.n = 0

    def session(self, sid: str, parent: str | None = None) -> None:
        self.db.execute("INSERT INTO session VALUES (?, 'global', ?, '/work/ocproj', 't', 0, 0)",
                        (sid, parent))  # fmt: skip

    def step(self, sid: str, ts: str, tokens: dict[str, Any], cost: float) -> str:
        """One assistant message with a step-start, a text and a step-finish part."""
        self.n += 1
        msg, at = f"msg_{self.n:04d}", _ms(ts)
        data = {"role": "assistant", "providerID": "anthropic", "modelID": "claude-sonnet-4-5",
                "path": {"cwd": "/work/ocproj", "root": "/"}, "tokens": tokens, "cost": cost}
        self.db.execute("INSERT INTO message VALUES (?, ?, ?, ?, ?)",
                        (msg, sid, at, at, json.dumps(data)))  # fmt: skip
        finish = {"reason": "stop", "type": "step-finish", "tokens": tokens, "cost": cost}
        parts = [{"type": "step-start"}, {"type": "text", "text": "x" * 3000}, finish]
        for i, part in enumerate(parts):
            self.db.execute("INSERT INTO part VALUES (?, ?, ?, ?, ?, ?)",
                            (f"prt_{self.n:04d}_{i}", msg, sid, at, at, json.dumps(part)))
        return f"prt_{self.n:04d}_2"


def _tokens(i: int, o: int, reasoning: int, read: int, write: int) -> dict[str, Any]:
    return {"total": i + o + read + write, "input": i, "output": o, "reasoning": reasoning,
            "cache": {"read": read, "write": write}}  # fmt: skip


def _opencode(home: Path) -> OpenCodeStore:
    store = OpenCodeStore(home)
    store.session("ses_A")
    store.step("ses_A", "2026-12-01T10:00:00+00:00", _tokens(1200, 80, 0, 3000, 500), 0.007575)
    store.step("ses_A", "2026-12-01T10:00:30+00:00", _tokens(1400, 40, 20, 3500, 100), 0.0063)
    store.session("ses_B", parent="ses_A")  # a subagent's session
    store.step("ses_B", "2026-12-01T10:00:10+00:00", _tokens(10, 5, 0, 0, 0), 0.000105)
    return store


def test_opencode_store_exact_tokens_cost_and_subagents_in_their_parent(
    isolated_home: Path,
) -> None:
    _opencode(isolated_home)
    sync()
    doc = _doc(agent="opencode")
    # OpenCode's output excludes reasoning: ours includes it (40 + 20), reasoning apart
    assert _figures(doc["totals"]) == (2610, 145, 6500, 600, 20, 3)
    # sonnet-4.5 (USD per million): 2610 x 3 + 145 x 15 + 6500 x 0.30 + 600 x 3.75
    assert doc["totals"]["cost"] == pytest.approx(0.014205, abs=1e-12)
    assert doc["totals"]["cost_complete"] is True
    [row] = doc["rows"]  # the subagent's session counts for its parent
    assert (row["session"], row["project"], row["models"]) == ("ses_A", "/work/ocproj", [SONNET])
    conn = open_index()
    try:
        reported = conn.execute("SELECT sum(reported_cost) FROM req").fetchone()[0]
    finally:
        conn.close()
    assert reported == pytest.approx(0.007575 + 0.0063 + 0.000105)  # OpenCode's own figure


def test_opencode_store_read_in_batches_gives_the_same_figures(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_orchestrator.usage import opencode_db

    monkeypatch.setattr(opencode_db, "BATCH", 1)  # one part a batch, a watermark each
    store = _opencode(isolated_home)
    assert sync().requests == 3
    store.step("ses_A", "2026-12-01T11:00:00+00:00", _tokens(7, 3, 0, 0, 0), 0.0)
    assert sync().requests == 1
    assert _figures(_doc(agent="opencode")["totals"]) == (2617, 148, 6500, 600, 20, 4)


def test_an_interrupted_opencode_read_keeps_its_batches_and_the_next_sync_continues(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_orchestrator.usage import opencode_db
    from ai_orchestrator.usage import sync as sync_module

    monkeypatch.setattr(opencode_db, "BATCH", 1)
    monkeypatch.setattr(sync_module, "COMMIT_SECONDS", 0.0)  # every batch commits
    _opencode(isolated_home)
    real, calls = opencode_db._requests, []

    def stop_at_the_third(rows: Any, roots: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(rows, roots)

    monkeypatch.setattr(opencode_db, "_requests", stop_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        sync()
    monkeypatch.setattr(opencode_db, "_requests", real)
    assert _doc(agent="opencode")["totals"]["requests"] == 2  # two batches were written
    assert sync().requests == 1  # the next sync reads only the rest
    assert _figures(_doc(agent="opencode")["totals"]) == (2610, 145, 6500, 600, 20, 3)


def test_opencode_warm_sync_reads_only_new_parts_even_while_the_wal_is_open(
    isolated_home: Path,
) -> None:
    store = _opencode(isolated_home)  # its connection stays open: the rows sit in the -wal
    first = sync()
    assert (first.files_read, first.requests) == (1, 3)
    idle = sync()
    assert (idle.files_read, idle.requests) == (0, 0)  # unchanged: not opened
    store.step("ses_A", "2026-12-01T11:00:00+00:00", _tokens(7, 3, 0, 0, 0), 0.0)
    warm = sync()
    assert (warm.files_read, warm.requests) == (1, 1)  # only the new part
    assert _figures(_doc(agent="opencode")["totals"]) == (2617, 148, 6500, 600, 20, 4)


def test_opencode_deleted_sessions_stay_and_reused_rowids_are_read(isolated_home: Path) -> None:
    store = _opencode(isolated_home)
    store.session("ses_C")
    store.step("ses_C", "2026-12-01T12:00:00+00:00", _tokens(100, 10, 0, 0, 0), 0.0)
    sync()
    assert _doc(agent="opencode")["totals"]["requests"] == 4
    # the user deletes the latest session: its rowids are the highest, SQLite reuses them
    top = store.db.execute("SELECT max(rowid) FROM part").fetchone()[0]
    store.db.execute("DELETE FROM part WHERE session_id = 'ses_C'")
    store.db.execute("DELETE FROM session WHERE id = 'ses_C'")
    store.session("ses_D")
    store.step("ses_D", "2026-12-01T13:00:00+00:00", _tokens(1000, 100, 0, 0, 0), 0.0)
    assert store.db.execute("SELECT max(rowid) FROM part").fetchone()[0] == top  # reused
    sync()
    doc = _doc(agent="opencode")
    # ses_C kept although deleted; ses_D read although its rowids are not above the mark
    assert _figures(doc["totals"]) == (3710, 255, 6500, 600, 20, 5)
    assert sorted(r["session"] for r in doc["rows"]) == ["ses_A", "ses_C", "ses_D"]
    store.db.close()
    store.path.unlink()
    sync()
    assert _figures(_doc(agent="opencode")["totals"]) == (3710, 255, 6500, 600, 20, 5)


def test_opencode_aio_call_is_counted_once(isolated_home: Path) -> None:
    store = _opencode(isolated_home)
    store.session("ses_R")
    # `aio run` drove ses_R's one request: recorded by aio and stored by OpenCode
    store.step("ses_R", "2026-12-01T14:00:00+00:00", _tokens(1000, 100, 0, 0, 0), 0.0045)
    SessionStore().record(as_record("implement-oc", interaction(
        agent="opencode", agent_session_id="ses_R", model=SONNET, task_id="T3",
        timestamp="2026-12-01T14:00:02.000Z", duration_ms=3000,
        tokens={"input": 1000, "output": 100, "cache_read": 0, "cache_write": 0},
        cost=0.0045, cost_source="computed",
    )))  # fmt: skip
    sync()
    doc = _doc(agent="opencode")
    assert _figures(doc["totals"]) == (3610, 245, 6500, 600, 20, 4)  # not 4610/345/5
    assert [k for k, covered in _covered().items() if covered] == ["o:prt_0004_2"]


# --- the declarations -------------------------------------------------------------------------


def test_every_declared_place_is_read_and_moved_homes_are_followed(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kinds = {f.kind for k in KNOWN_KEYS for f in (capabilities(k).session_files or list)()}
    assert kinds == set(KINDS)  # every reader is declared by a backend, every kind has one
    assert set(KINDS) == set(PARSERS) | DATABASES  # (sources does not import the parsers)
    moved = isolated_home / "elsewhere"
    monkeypatch.setenv("QWEN_HOME", str(moved / "qwen"))
    monkeypatch.setenv("OPENCODE_DB", str(moved / "oc.db"))
    chats = moved / "qwen" / "projects" / "p" / "chats"
    chats.mkdir(parents=True)
    (chats / "a.jsonl").write_text("")
    (chats.parent / "not-a-chat.jsonl").write_text("")  # outside chats/: not a chat file
    sqlite3.connect(moved / "oc.db").close()
    found = {(Path(s.path).name, s.kind) for s in discover()}
    assert found == {("a.jsonl", "qwen"), ("oc.db", "opencode")}


def test_moved_homes_of_claude_codex_and_gemini_are_indexed(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``CLAUDE_CONFIG_DIR`` (a comma-separated list, each the config dir or its ``projects/``),
    ``CODEX_HOME`` and ``GEMINI_CLI_HOME`` name where the files are; the defaults are not read
    then."""
    moved = isolated_home / "moved"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{moved / 'c1'}, {moved / 'c2' / 'projects'}")
    monkeypatch.setenv("CODEX_HOME", str(moved / "codex"))
    monkeypatch.setenv("GEMINI_CLI_HOME", str(moved / "g"))
    usage = {"input_tokens": 1, "output_tokens": 2}

    def claude(projects: Path, msg: str) -> Path:
        path = projects / "-work-p" / f"{msg}.jsonl"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({
            "type": "assistant", "sessionId": msg, "requestId": "r", "cwd": "/work/p",
            "timestamp": "2026-12-01T10:00:00Z",
            "message": {"id": f"msg_{msg}", "model": "claude-sonnet-4-5", "usage": usage},
        }) + "\n")  # fmt: skip
        return path

    claude(moved / "c1" / "projects", "s1")
    claude(moved / "c2" / "projects", "s2")
    claude(isolated_home / ".claude" / "projects", "s3")  # the default: not named, not read
    rollout = moved / "codex" / "archived_sessions" / "rollout-2026-12-01T10-00-00-t1.jsonl"
    rollout.parent.mkdir(parents=True)
    total = {"input_tokens": 5, "cached_input_tokens": 0, "output_tokens": 1, "total_tokens": 6}
    rollout.write_text(json.dumps({
        "timestamp": "2026-12-01T10:00:00Z", "type": "event_msg",
        "payload": {"type": "token_count",
                    "info": {"total_token_usage": total, "last_token_usage": total}},
    }) + "\n")  # fmt: skip
    chats = moved / "g" / ".gemini" / "tmp" / "proj" / "chats"
    chats.mkdir(parents=True)
    (chats / "session-2026-12-01T10-00-abcd1234.jsonl").write_text(
        json.dumps({"sessionId": "abcd1234-0000"}) + "\n" + json.dumps({
            "id": "m1", "type": "gemini", "timestamp": "2026-12-01T10:00:00Z",
            "model": "gemini-2.5-pro", "tokens": {"input": 3, "output": 4, "cached": 0},
        }) + "\n"
    )  # fmt: skip
    sync()
    sessions = {(r["agent"], r["session"]) for r in _doc()["rows"]}
    assert sessions == {("claude", "s1"), ("claude", "s2"), ("codex", "t1"),
                        ("gemini", "abcd1234-0000")}  # fmt: skip


def test_a_broken_or_odd_opencode_store_never_breaks_a_sync(isolated_home: Path) -> None:
    store = _opencode(isolated_home)
    # odd rows: a step-finish that is not JSON, one without a time, one whose message is gone
    store.db.execute("INSERT INTO part VALUES ('prt_x1', 'msg_0001', 'ses_A', 1, 1,"
                     " '{not json step-finish')")  # fmt: skip
    store.db.execute("INSERT INTO part VALUES ('prt_x2', 'msg_0001', 'ses_A', 'soon', 1, ?)",
                     (json.dumps({"type": "step-finish", "tokens": {"input": 5}}),))
    store.db.execute("INSERT INTO part VALUES ('prt_x3', 'msg_gone', 'ses_A', ?, 1, ?)",
                     (_ms("2026-12-01T10:01:00+00:00"),
                      json.dumps({"type": "step-finish", "tokens": {"input": 9, "output": 1}})))
    # no model known, but OpenCode's own cost: that figure, flagged as only reported
    store.db.execute("INSERT INTO part VALUES ('prt_x4', 'msg_gone', 'ses_A', ?, 1, ?)",
                     (_ms("2026-12-01T10:02:00+00:00"), json.dumps(
                         {"type": "step-finish", "tokens": {"input": 1}, "cost": 0.25})))
    _qwen_chat(isolated_home)
    done = sync()
    assert done.skipped == []
    doc = _doc(agent="opencode")
    assert _figures(doc["totals"]) == (2620, 146, 6500, 600, 20, 5)
    assert doc["totals"]["unpriced_requests"] == 1  # no model, no cost: flagged, not $0
    assert doc["totals"]["reported_cost"] == pytest.approx(0.25)
    assert doc["totals"]["cost"] == pytest.approx(0.014205 + 0.25)  # the unpriced one: not in
    store.db.close()
    store.path.write_bytes(b"not a database at all" * 500)  # replaced by garbage
    for suffix in ("-wal", "-shm"):
        Path(f"{store.path}{suffix}").unlink(missing_ok=True)
    broken = sync()
    assert len(broken.skipped) == 1 and str(store.path) in broken.skipped[0]
    assert _figures(_doc(agent="opencode")["totals"]) == (2620, 146, 6500, 600, 20, 5)
    assert _doc(agent="qwen")["totals"]["requests"] == 2  # the other sources still read

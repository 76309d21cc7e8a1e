"""Reading the hook spool into the usage index (the writing side is ``spool``).

Each spool file is read from its stored offset to its last complete line, in one
transaction with the offset (``files`` row, kind ``spool``). A ``hook`` line upserts the
agent session in ``hook_sessions`` (its transcript path makes the sync read that file even
outside the default roots; a Claude ``SubagentStop`` names the subagent's transcript too).
A ``statusline`` line keeps the CLI's own session cost and rate limits in ``reported``.
Files of days older than ``keep_days`` that were read to the end are removed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from typing import Any

from ai_orchestrator.usage.spool import spool_dir


def _hook(conn: sqlite3.Connection, agent: str, ts: int, event: dict[str, Any]) -> None:
    session = event.get("session_id") or event.get("thread-id")
    if not isinstance(session, str) or not session:
        return
    transcript = event.get("transcript_path")
    name = event.get("hook_event_name") or event.get("type")
    conn.execute(
        "INSERT INTO hook_sessions(agent, session, transcript, cwd, first_ts, last_ts,"
        " last_event, events) VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT(agent, session)"
        " DO UPDATE SET transcript = coalesce(excluded.transcript, transcript),"
        " cwd = coalesce(excluded.cwd, cwd), last_ts = max(last_ts, excluded.last_ts),"
        " last_event = excluded.last_event, events = events + 1",
        (
            agent, session, transcript if isinstance(transcript, str) else None,
            event.get("cwd") if isinstance(event.get("cwd"), str) else None, ts, ts,
            name if isinstance(name, str) else None,
        ),
    )  # fmt: skip
    sub = event.get("agent_transcript_path")
    if isinstance(sub, str) and sub:
        conn.execute(
            "INSERT OR IGNORE INTO hook_sessions(agent, session, transcript, first_ts, last_ts,"
            " last_event, events) VALUES (?, ?, ?, ?, ?, 'SubagentStop', 1)",
            (agent, f"{session}/{event.get('agent_id') or sub}", sub, ts, ts),
        )


def _statusline(conn: sqlite3.Connection, agent: str, ts: int, event: dict[str, Any]) -> None:
    session = event.get("session_id")
    if not isinstance(session, str) or not session:
        return
    cost = event.get("cost") if isinstance(event.get("cost"), dict) else {}
    total = cost.get("total_cost_usd") if isinstance(cost, dict) else None
    data = {"cost": cost, "rate_limits": event.get("rate_limits"), "model": event.get("model")}
    conn.execute(
        "INSERT INTO reported(agent, session, ts, cost, data) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(agent, session) DO UPDATE SET ts = excluded.ts, cost = excluded.cost,"
        " data = excluded.data WHERE excluded.ts >= reported.ts",
        (agent, session, ts, total if isinstance(total, int | float) else None, json.dumps(data)),
    )


def ingest_spool(conn: sqlite3.Connection, known: dict[str, Any], keep_days: int) -> int:
    """Read every spool file's new lines; the number of events read."""
    directory = spool_dir()
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".jsonl"))
    except OSError:
        return 0
    count = 0
    cutoff = time.strftime("%Y-%m-%d", time.gmtime(time.time() - keep_days * 86400))
    for name in names:
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            held = known.get(path)
            offset = 0
            if held is not None and getattr(held, "ino", None) == st.st_ino:
                offset = int(held.offset)
            if offset > st.st_size:
                offset = 0
            data = os.pread(fd, st.st_size - offset, offset) if st.st_size > offset else b""
        finally:
            os.close(fd)
        end = data.rfind(b"\n") + 1
        conn.execute("BEGIN IMMEDIATE")
        try:
            for raw in data[:end].split(b"\n"):
                try:
                    line = json.loads(raw) if raw.strip() else None
                except ValueError:
                    continue
                if not isinstance(line, dict) or not isinstance(line.get("event"), dict):
                    continue
                agent, ts = str(line.get("agent") or "unknown"), line.get("ts")
                ts = ts if isinstance(ts, int) else 0
                if line.get("kind") == "statusline":
                    _statusline(conn, agent, ts, line["event"])
                else:
                    _hook(conn, agent, ts, line["event"])
                count += 1
            conn.execute(
                "INSERT OR REPLACE INTO files(path, kind, dev, ino, size, mtime_ns, offset)"
                " VALUES (?, 'spool', ?, ?, ?, ?, ?)",
                (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, offset + end),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if name[:10] < cutoff and offset + end == st.st_size:
            try:
                os.unlink(path)
                conn.execute("DELETE FROM files WHERE path = ?", (path,))
            except OSError:
                pass
    return count

"""The last step of a sync: what a generation's new rows mean once they are all in.

``settle(conn, gen, features)``, in one transaction that also commits ``meta.gen``: marks
sidechain replays of main-chain messages (never counted), marks the requests already
inside one of aio's own calls (``covered``: matched by message id, else by the call's time
window in the same agent session), attributes an aio session's interactive turns to the
feature/task of its latest call, and a branch named after a feature to that feature. Every
row it changes gets ``gen``, so whatever follows the index by generation (the team push,
``team.requests``) sees the change; a reader that sees ``meta.gen`` sees the whole
generation settled.
"""

from __future__ import annotations

import json
import sqlite3


def settle(conn: sqlite3.Connection, gen: int, features: set[str]) -> None:
    """Replays, coverage by aio's calls and feature/task of the rows new in ``gen``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        # A sidechain row is a replay when a main-chain row has its message id: checked for
        # the new sidechain rows, and for the old ones a new main-chain row names (two
        # statements, each led by an index: ``req_side`` holds only the sidechain rows).
        main = (
            " AND EXISTS (SELECT 1 FROM req p WHERE p.msg_id = req.msg_id AND p.sidechain = 0"
            " AND p.origin = 't')"
        )
        conn.execute(
            "UPDATE req SET replay = 1 WHERE sidechain = 1 AND +gen = :g AND origin = 't'"
            f" AND replay = 0 AND msg_id IS NOT NULL{main}",
            {"g": gen},
        )
        conn.execute(
            "UPDATE req SET replay = 1, gen = :g WHERE rowid IN (SELECT s.rowid FROM req m"
            " JOIN req s ON s.msg_id = m.msg_id WHERE m.gen = :g AND m.sidechain = 0"
            " AND m.msg_id IS NOT NULL AND s.sidechain = 1 AND s.origin = 't' AND s.replay = 0)"
            f"{main}",
            {"g": gen},
        )
        conn.execute(
            "UPDATE req SET covered = (SELECT m.call FROM aio_msgs m WHERE m.msg_id = req.msg_id),"
            " gen = :g WHERE origin = 't' AND covered IS NULL"
            " AND msg_id IN (SELECT msg_id FROM aio_msgs)",
            {"g": gen},
        )
        window = (
            "FROM aio_calls c WHERE c.agent = req.agent AND c.session = req.session"
            " AND req.ts BETWEEN c.start AND c.end"
        )
        conn.execute(
            f"UPDATE req SET covered = (SELECT c.id {window} ORDER BY c.start LIMIT 1), gen = :g"
            " WHERE origin = 't' AND covered IS NULL"
            f" AND session IN (SELECT session FROM aio_calls) AND EXISTS (SELECT 1 {window})",
            {"g": gen},
        )
        same = "FROM aio_calls c WHERE c.agent = req.agent AND c.session = req.session"

        def latest(column: str) -> str:  # the latest call before the row, else the first
            return (
                f"coalesce((SELECT c.{column} {same} AND c.start <= req.ts ORDER BY c.start DESC"
                f" LIMIT 1), (SELECT c.{column} {same} ORDER BY c.start LIMIT 1))"
            )

        conn.execute(
            f"UPDATE req SET feature = {latest('feature')}, task = {latest('task')},"
            f" aio_session = {latest('aio_session')}, gen = :g"
            " WHERE origin = 't' AND aio_session IS NULL"
            " AND session IN (SELECT session FROM aio_calls)",
            {"g": gen},
        )
        seen = conn.execute("SELECT value FROM meta WHERE key = 'features'").fetchone()
        before = set(json.loads(seen[0])) if seen else set()
        for feature in sorted(features - before):
            conn.execute(
                "UPDATE req SET feature = :f, gen = :g WHERE origin = 't' AND feature IS NULL"
                " AND (branch = :f OR branch LIKE '%/' || :f)",
                {"f": feature, "g": gen},
            )
        conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('features', ?)", (json.dumps(sorted(features)),)
        )
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('gen', ?)", (str(gen),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise

"""OpenCode's SQLite store (``opencode.db``) as a source of the usage index.

OpenCode keeps every session in one SQLite database (``agents.opencode.opencode_db``):
tables ``session`` (``directory``, ``parent_id``), ``message`` (``data``: the assistant
message's ``providerID``/``modelID``) and ``part``. Each API request is one ``step-finish``
part (``data.tokens {input, output, reasoning, cache{read, write}}``, ``data.cost``); its
usage is read by ``agents.opencode.step_usage``, the same function ``aio run``'s parser uses.

- One request per part id (key ``o:<part id>``; a part written again replaces the earlier
  copy). Model ``providerID/modelID`` of its message (what ``aio run`` records for
  OpenCode), time the part's ``time_created``, project the session's ``directory``. A child
  session (a subagent: ``parent_id``) counts for its root session, marked as a sidechain.
  OpenCode's own ``cost`` is kept as the reported cost.
- Incremental by watermark: ``stamp(path)`` is the database's identity, size and mtime
  with its ``-wal`` file's size and mtime (a WAL database grows in the ``-wal`` until a
  checkpoint); an unchanged stamp is not opened. Otherwise only parts with a ``rowid`` above
  the last one read are queried. SQLite reuses the highest rowids when the rows holding them
  were deleted (the user deleted the latest session), so the part id at the watermark is
  kept as an anchor: when that row is gone or holds another part, everything is read again
  (keyed rows: nothing counts twice). Parts are read in batches of ``BATCH`` (memory stays
  bounded), each written with its watermark; the stamp is stored only once all are read, so
  a sync stopped halfway continues from the last batch written.
- Opened read-only (``mode=ro``); a store OpenCode is writing is read as it stands. A store
  that cannot be read raises ``sqlite3.Error`` (the caller records it as skipped).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the warm path (nothing changed) needs only ``stamp``
    from ai_orchestrator.usage.parsers import Request

_QUERY = (
    "SELECT p.rowid, p.id, p.session_id, p.time_created, p.data, m.data, s.directory"
    " FROM part p LEFT JOIN message m ON m.id = p.message_id"
    " LEFT JOIN session s ON s.id = p.session_id"
    " WHERE p.rowid > ? AND p.data LIKE '%step-finish%' ORDER BY p.rowid"
)
Stamp = tuple[int, int, int, int, int, int]  # dev, ino, size, mtime_ns, wal size, wal mtime_ns
Batch = tuple[list["Request"], int, str]  # requests, the rowid read up to, its part id
BATCH = 5_000


def stamp(path: str) -> Stamp | None:
    """The database's identity, size and mtime and its ``-wal``'s size and mtime; ``None``
    when it is not a regular file."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not os.path.isfile(path) or os.path.islink(path):
        return None
    try:
        wal = os.stat(path + "-wal")
        wal_size, wal_mtime = wal.st_size, wal.st_mtime_ns
    except OSError:
        wal_size = wal_mtime = 0
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, wal_size, wal_mtime


def _dict(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str | bytes) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _roots(db: sqlite3.Connection) -> dict[str, str]:
    """Child session id → its root session (subagents count for the session they serve)."""
    parent = dict(db.execute("SELECT id, parent_id FROM session WHERE parent_id IS NOT NULL"))
    roots = {}
    for child in parent:
        root, seen = child, {child}
        while root in parent and parent[root] not in seen:
            root = parent[root]
            seen.add(root)
        roots[child] = root
    return roots


def read(path: str, after: int, anchor: str | None) -> Iterator[Batch]:
    """The requests of the parts written after rowid ``after`` (all of them when the part
    ``anchor`` no longer holds that rowid), in batches of at most ``BATCH`` parts (memory
    stays bounded): (requests, the watermark after the batch, its part id)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    try:
        if after:
            held = db.execute("SELECT id FROM part WHERE rowid = ?", (after,)).fetchone()
            if held is None or held[0] != anchor:
                after = 0  # the rows at the top were deleted: their rowids may be reused
        roots = _roots(db)
        cursor = db.execute(_QUERY, (after,))
        while rows := cursor.fetchmany(BATCH):
            last = rows[-1]
            yield _requests(rows, roots), int(last[0]), str(last[1])
    finally:
        db.close()


def _requests(rows: list[tuple[Any, ...]], roots: dict[str, str]) -> list[Request]:
    from ai_orchestrator.agents.opencode import model_of, step_usage
    from ai_orchestrator.usage.parsers import Request

    found = []
    for _, part_id, session, created, raw, message_raw, directory in rows:
        data = _dict(raw)
        if data.get("type") != "step-finish" or not isinstance(created, int):
            continue
        message = _dict(message_raw)
        cost = data.get("cost")
        where = message.get("path")
        cwd = where.get("cwd") if isinstance(where, dict) else None
        found.append(
            Request(
                key=f"o:{part_id}",
                agent="opencode",
                model=model_of(message),
                ts=created,
                session=roots.get(session, session),
                project=directory if isinstance(directory, str) and directory else _text(cwd),
                branch=None,
                usage=step_usage(data),
                last_wins=True,
                sidechain=session in roots,
                reported_cost=float(cost) if isinstance(cost, int | float) else None,
            )
        )
    return found

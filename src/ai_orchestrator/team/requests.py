"""Interactive usage into the team database: the usage index's requests → ``aio.requests``.

What is pushed
    Every row of the local usage index (``usage.db``: one per API request of every agent
    session on this machine, and one per model of each call aio recorded), with the index's
    own counting rule as a column: ``counted`` is false for a request already inside an aio
    call (``covered``) and for a sidechain replay. So ``aio usage daily --team`` counts the
    team's requests exactly as ``aio usage daily`` counts one machine's.

Contract
    - **Keyed by the request.** The index's keys are global (Claude ``message.id`` +
      ``requestId``, Codex thread and turn, Gemini session and message, aio's interaction id
      and model): the same request pushed twice, from a restored backup or from a second
      machine holding a copy of the transcript, is one row.
    - **Updates travel.** The index rewrites a row when a more complete snapshot arrives, or
      marks it covered or a replay later; every such write stamps the row with the sync's
      generation (``gen``). Push sends the rows whose ``gen`` is above the machine's
      watermark and upserts them (``ON CONFLICT (key) DO UPDATE``), so the server follows.
    - **Only settled generations.** A sync writes a generation's rows over several
      transactions and commits ``meta.gen`` last; push reads only ``gen <= meta.gen``, so a
      sync running beside it never makes the watermark skip rows.
    - **Resumable.** Each batch (rows and the watermark reached) is one transaction. The
      watermark is per machine and per index (``meta.index_id``): a rebuilt index starts
      from zero, which re-sends rows the server already has, harmlessly.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_orchestrator.team.config import Machine, TeamSettings

BATCH = 10_000

INDEX_COLUMNS = (
    "key", "origin", "agent", "model", "ts", "session", "project", "branch", "input", "output",
    "cache_read", "cache_write_5m", "cache_write_1h", "reasoning", "requests", "cost",
    "cost_source", "reported_cost", "feature", "task", "aio_session",
)  # fmt: skip
"""The usage index's ``req`` columns that travel (``ts`` in milliseconds, as there)."""

SERVER_COLUMNS = ("machine_id", "user_name", *INDEX_COLUMNS, "counted")

_TEMP = """CREATE TEMP TABLE IF NOT EXISTS aio_req_push(
  machine_id text, user_name text, key text, origin text, agent text, model text, ts bigint,
  session text, project text, branch text, input bigint, output bigint, cache_read bigint,
  cache_write_5m bigint, cache_write_1h bigint, reasoning bigint, requests bigint,
  cost double precision, cost_source text, reported_cost double precision, feature text,
  task text, aio_session text, counted boolean) ON COMMIT DELETE ROWS"""

_UPDATED = [c for c in SERVER_COLUMNS if c != "key"]
_UPSERT = (
    f"INSERT INTO aio.requests({', '.join(SERVER_COLUMNS)}) "
    f"SELECT {', '.join(SERVER_COLUMNS)} FROM aio_req_push ON CONFLICT (key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
    + ", pushed_at = now() WHERE ("
    + ", ".join(f"aio.requests.{c}" for c in _UPDATED)
    + ") IS DISTINCT FROM ("
    + ", ".join(f"excluded.{c}" for c in _UPDATED)
    + ") RETURNING (xmax = 0)"
)

_MARK = """INSERT INTO aio.request_marks(machine_id, index_id, gen, updated_at)
VALUES (%s, %s, %s, now()) ON CONFLICT (machine_id) DO UPDATE SET index_id = excluded.index_id,
  gen = excluded.gen, updated_at = now()"""


@dataclass
class RequestsReport:
    """What one push of the usage index did."""

    read: int = 0
    added: int = 0
    updated: int = 0
    generation: int = 0
    skipped: str | None = None  # why the index could not be read (nothing of it was pushed)

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "added": self.added, "updated": self.updated,
                "generation": self.generation, "skipped": self.skipped}  # fmt: skip


def index_identity(conn: sqlite3.Connection) -> str:
    """The index's id (``meta.index_id``), made on first use: a rebuilt index gets a new one."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'index_id'").fetchone()
    if row:
        return str(row[0])
    made = uuid.uuid4().hex
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('index_id', ?)", (made,))
    row = conn.execute("SELECT value FROM meta WHERE key = 'index_id'").fetchone()
    return str(row[0])


def _settled(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'gen'").fetchone()
    return int(row[0]) if row else 0


def covered_branches(index_file: Path) -> dict[str, str]:
    """aio interaction id → the git branch its agent recorded, for every call the index
    matched transcript requests to (``covered``): the branch of a call recorded by an aio
    that did not store one (``push`` fills the empty ones with it). Empty when the index
    is missing or unreadable: the branch is an extra, never a reason to fail a push."""
    from ai_orchestrator.usage.db import connect

    if not index_file.exists():
        return {}
    try:
        local = connect(index_file, create=False)
    except (sqlite3.Error, OSError):
        return {}
    try:
        found = local.execute(
            "SELECT covered, max(branch) FROM req WHERE covered IS NOT NULL AND branch > '' "
            "GROUP BY covered"
        ).fetchall()
    except sqlite3.Error:
        return {}
    finally:
        local.close()
    return {str(call): str(branch) for call, branch in found}


def _server_mark(pg: Any, who: Machine, index_id: str) -> int:
    with pg.cursor() as cur:
        cur.execute(
            "SELECT index_id, gen FROM aio.request_marks WHERE machine_id = %s", (who.machine_id,)
        )
        found = cur.fetchone()
    pg.commit()
    return int(found[1]) if found and found[0] == index_id else 0


def push_requests(
    pg: Any, index_file: Path, who: Machine, settings: TeamSettings, *, batch: int = BATCH
) -> RequestsReport:
    """Push the index's rows written since this machine's watermark (module doc)."""
    from ai_orchestrator.usage.db import connect

    report = RequestsReport()
    if not index_file.exists():
        return report
    try:
        local = connect(index_file, create=False)
    except (sqlite3.Error, OSError) as exc:
        report.skipped = f"usage index {index_file}: {exc}"
        return report
    try:
        index_id = index_identity(local)
        settled = _settled(local)
        mark = _server_mark(pg, who, index_id)
        report.generation = settled
        if mark >= settled:
            return report
        query = (
            f"SELECT {', '.join(INDEX_COLUMNS)}, covered IS NULL AND replay = 0, gen FROM req"
            " WHERE gen > ? AND gen <= ? ORDER BY gen, key"
        )
        rows = local.execute(query, (mark, settled))
        while True:
            chunk = rows.fetchmany(batch)
            if not chunk:
                break
            last_gen = chunk[-1][-1]
            # a batch that ends inside a generation marks the one before: the rest is re-read
            reached = settled if len(chunk) < batch else last_gen - 1
            _send(pg, who, settings, index_id, chunk, max(reached, mark), report)
        _send(pg, who, settings, index_id, [], settled, report)
    except sqlite3.Error as exc:  # the index broke while read: what was sent stays sent
        report.skipped = f"usage index {index_file}: {exc}"
    finally:
        local.close()
    return report


def _send(
    pg: Any,
    who: Machine,
    settings: TeamSettings,
    index_id: str,
    chunk: list[tuple[Any, ...]],
    reached: int,
    report: RequestsReport,
) -> None:
    with pg.transaction(), pg.cursor() as cur:
        if chunk:
            cur.execute(_TEMP)
            names = ", ".join(SERVER_COLUMNS)
            with cur.copy(f"COPY aio_req_push({names}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row((who.machine_id, settings.user, *row[:-1]))
            cur.execute(_UPSERT)
            inserted = [bool(r[0]) for r in cur.fetchall()]
            report.read += len(chunk)
            report.added += sum(inserted)
            report.updated += len(inserted) - sum(inserted)
        cur.execute(_MARK, (who.machine_id, index_id, reached))

"""``aio usage daily|weekly|monthly|session|blocks --team``: the usage reports over the team.

The team's counted requests (``aio.requests``, pushed from every machine's usage index,
``team.requests``) matching the filters are read into an in-memory index of the same schema,
and the local report code (``usage.reports.report``) runs over it: one report logic, so the
team's daily figures are computed exactly as each machine's — local dates in this process's
time zone, the same sums, flags and JSON shape — plus a ``team`` object (target, machines,
users). The date, agent, project and feature filters are applied in PostgreSQL, so only the
rows the report needs travel. ``load_team_index`` is that loading, for every team report
(``aio usage … --team`` and ``aio report --team``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ai_orchestrator.team import schema
from ai_orchestrator.team.config import TeamSettings
from ai_orchestrator.team.requests import INDEX_COLUMNS
from ai_orchestrator.usage.db import memory_index
from ai_orchestrator.usage.reports import Filters, local_ms, report

_FETCH = 50_000


def _where(filters: Filters) -> tuple[str, list[Any]]:
    clauses: list[str] = ["counted"]
    args: list[Any] = []
    if filters.since is not None:
        clauses.append("ts >= %s")
        args.append(local_ms(filters.since))
    if filters.until is not None:
        clauses.append("ts < %s")
        args.append(local_ms(filters.until + timedelta(days=1)))
    if filters.agent:
        clauses.append("agent = %s")
        args.append(filters.agent)
    if filters.project:
        project = filters.project.rstrip("/")
        clauses.append("(project = %s OR project LIKE %s)")
        escaped = project.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args += [project, "%/" + escaped]
    if filters.feature:
        clauses.append("feature = %s")
        args.append(filters.feature)
    return " AND ".join(clauses), args


@dataclass(frozen=True)
class TeamIndex:
    """The team's counted requests matching the filters in an in-memory usage index
    (``index``; the caller closes it) and who they came from."""

    index: sqlite3.Connection
    machines: int
    users: int

    def header(self, settings: TeamSettings) -> dict[str, Any]:
        """The ``team`` object of a team report: target (no password), machines, users."""
        return {"target": settings.target, "machines": self.machines, "users": self.users}


def load_team_index(conn: Any, filters: Filters) -> TeamIndex:
    """Read the team's requests matching ``filters`` (date, agent, project and feature, applied
    in PostgreSQL) from the open, checked connection ``conn`` into a fresh in-memory index."""
    condition, args = _where(filters)
    local = memory_index()
    columns = ", ".join(INDEX_COLUMNS)
    insert = (
        f"INSERT OR REPLACE INTO req({columns}, sidechain, replay, gen) "
        f"VALUES ({', '.join('?' * len(INDEX_COLUMNS))}, 0, 0, 0)"
    )
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(DISTINCT machine_id), count(DISTINCT user_name) "
                f"FROM aio.requests WHERE {condition}",
                args,
            )
            machines, users = cur.fetchone() or (0, 0)
        with conn.cursor(name="aio_team_usage") as rows:  # server-side: bounded memory
            rows.execute(f"SELECT {columns} FROM aio.requests WHERE {condition}", args)
            while chunk := rows.fetchmany(_FETCH):
                local.executemany(insert, chunk)
        conn.commit()
    except BaseException:
        local.close()
        raise
    return TeamIndex(local, int(machines), int(users))


def team_usage_report(
    settings: TeamSettings, kind: str, filters: Filters, by: str | None = None
) -> dict[str, Any]:
    """The ``kind`` report over every machine's pushed requests (module doc)."""
    with schema.connect(settings) as conn:
        schema.check(conn, settings)
        loaded = load_team_index(conn, filters)
    try:
        doc = report(loaded.index, kind, filters, by)
    finally:
        loaded.index.close()
    doc["team"] = loaded.header(settings)
    return doc

"""Team reads, computed in SQL over ``aio.rollup``: ``team stats`` and ``team status``.

``team_stats`` returns the document ``aio session stats --json`` returns
(``store.stats.compute_stats``: totals, tokens, cost, the most active sessions; ``groups``
under ``by``) for every machine that pushed, plus ``machines`` (id → host name) and
``since``. Every figure comes from the rollup (kept in the transaction of the rows it sums),
so a report costs the same whether the team pushed a thousand calls or millions.
Sessions are told apart by (machine, name): two machines' ``implement-login`` are two
sessions. ``sessions_with_problems`` is always 0 (problems of a store stay on its machine).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.interaction import TOKEN_KEYS
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.store.stats import TOP_N, check_days, total_tokens
from ai_orchestrator.team.schema import ROLLUP_SUMS

BY: dict[str, str] = {
    "user": "user_name",
    "machine": "machine_id",
    "feature": "feature_id",
    "branch": "branch",
    "task": "feature_id || '/' || CASE WHEN task_id = '' THEN '(no task)' ELSE task_id END",
    "model": "model",
    "agent": "agent",
    "day": "day::text",
    "session": "session_name",
}
_EMPTY = {"feature": "(no feature)", "branch": "(no branch)", "model": "(unknown)",
          "agent": "(unknown)"}  # fmt: skip
def _scan(
    cur: Any, key: str, where: str, args: tuple[Any, ...]
) -> tuple[list[tuple[Any, ...]], tuple[Any, ...] | None, list[tuple[Any, ...]]]:
    """One pass over the rollup for everything ``team_stats`` sums: per value of ``key``
    the sums of ``ROLLUP_SUMS`` and its sessions, the same for the whole selection, and the
    most active sessions. The rollup is read once into per-(key, machine, session) sums (a
    hash aggregate, materialised); every figure is computed from those, in the database
    (numeric sums stay exact). Returns (groups, whole, top): a group is (key, *sums,
    sessions); whole is (*sums, sessions); top rows are (session, machine, interactions)."""
    width = len(ROLLUP_SUMS)
    per = ", ".join(f"sum({c}) AS c{i}" for i, c in enumerate(ROLLUP_SUMS))
    again = ", ".join(f"sum(c{i})" for i in range(width))
    blank = ", ".join(["NULL::numeric"] * (width - 1))
    cur.execute(
        f"WITH per AS MATERIALIZED (SELECT {key} AS k, machine_id AS m, session_name AS s, "
        f"{per} FROM aio.rollup {where} GROUP BY 1, 2, 3), "
        "sess AS MATERIALIZED (SELECT m, s, sum(c0) AS n FROM per GROUP BY 1, 2) "
        f"SELECT 'g', k::text, NULL::text, {again}, count(*) FROM per GROUP BY k "
        f"UNION ALL SELECT 'w', NULL, NULL, {again}, (SELECT count(*) FROM sess) FROM per "
        f"UNION ALL (SELECT 't', s, m, n, {blank}, NULL FROM sess "
        f"ORDER BY n DESC, s, m LIMIT {TOP_N})",
        args,
    )
    groups, whole, top = [], None, []
    for kind, k, machine, *figures in cur.fetchall():
        if kind == "g":
            groups.append((k, *figures))
        elif kind == "w":
            whole = tuple(figures) if figures[-1] else None
        else:
            top.append((k, machine, figures[0]))
    return groups, whole, top


def _reported_by(
    cur: Any, key: str, where: str, args: tuple[Any, ...]
) -> tuple[dict[Any, list[str]], list[str]]:
    """The agents whose cost is (partly) only reported, per value of ``key`` and overall."""
    only = f"{where} AND" if where else "WHERE"
    cur.execute(
        f"SELECT {key} AS k, agent FROM aio.rollup {only} cost_reported > 0 GROUP BY 1, 2",
        args,
    )
    per: dict[Any, list[str]] = {}
    every: set[str] = set()
    for k, agent in cur.fetchall():
        per.setdefault(k, []).append(agent)
        every.add(agent)
    return per, sorted(every)


def _where(
    since: date | None, until: date | None = None, feature: str | None = None
) -> tuple[str, tuple[Any, ...]]:
    clauses, args = [], []
    for clause, value in (("day >= %s", since), ("day <= %s", until), ("feature_id = %s", feature)):
        if value is not None:
            clauses.append(clause)
            args.append(value)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)


def _money(value: Any) -> float:
    return round(float(value or 0), 10)


def _group(row: tuple[Any, ...]) -> dict[str, Any]:
    n, _failed, unpriced, *tokens = row[:8]
    cost, savings, reported, sessions, reported_by = row[8:13]
    return {
        "sessions": int(sessions or 0),
        "interactions": int(n or 0),
        "tokens": {k: int(v or 0) for k, v in zip(TOKEN_KEYS, tokens, strict=True)},
        "cost": _money(cost),
        "savings": _money(savings),
        "unpriced_interactions": int(unpriced or 0),
        "cost_reported": _money(reported),
        "cost_reported_by": sorted(reported_by or []),
    }


def team_stats(
    conn: Any,
    *,
    by: str | None = None,
    since: date | None = None,
    active_days: float = 30,
    until: date | None = None,
    feature: str | None = None,
) -> dict[str, Any]:
    """The team's totals (module doc); ``by`` one of ``BY``. ``since``/``until`` (UTC days of
    the calls, inclusive) and ``feature`` keep those calls; ``until`` and ``feature`` are in
    the result only when given."""
    check_days(active_days)
    if by is not None and by not in BY:
        raise InvalidInput(f"unknown grouping {by!r}: use one of {', '.join(BY)}")
    where, args = _where(since, until, feature)
    key = BY[by] if by is not None else "''"
    with conn.cursor() as cur:
        found, total, top = _scan(cur, key, where, args)
        reported, reported_all = _reported_by(cur, key, where, args)
        scope = [("last_ts >= %s", since), ("last_ts < %s::date + 1", until),
                 ("feature_id = %s", feature)]  # fmt: skip
        cur.execute(
            "SELECT count(*) FROM aio.sessions WHERE last_ts > now() - make_interval(secs => %s)"
            + "".join(f" AND {clause}" for clause, value in scope if value is not None),
            (active_days * 86400, *(value for _c, value in scope if value is not None)),
        )
        active = cur.fetchone()
        cur.execute("SELECT machine_id, hostname FROM aio.machines ORDER BY machine_id")
        machines = dict(cur.fetchall())
    conn.commit()
    groups: dict[str, dict[str, Any]] = {}
    if by is not None:
        for k, *rest in found:
            label = k if k else _EMPTY.get(by, "")
            groups[str(label)] = _group((*rest, reported.get(k)))
    if total is not None:
        total = (*total, reported_all)
    whole = _group(tuple(total)) if total else _group((None,) * 13)
    tokens = whole["tokens"]
    total_input = tokens["input"] + tokens["cache_read"] + tokens["cache_write"]
    result: dict[str, Any] = versioned({
        "total_sessions": whole["sessions"],
        "active_sessions": int(active[0]) if active else 0,
        "active_days": active_days,
        "interactions": whole["interactions"],
        "failed_interactions": int(total[1] or 0) if total else 0,
        "unpriced_interactions": whole["unpriced_interactions"],
        "cost_reported": whole["cost_reported"],
        "cost_reported_by": whole["cost_reported_by"],
        "tokens": {**tokens, "total": total_tokens(tokens)},
        "cost": whole["cost"],
        "cache_savings": whole["savings"],
        "cache_read_share": round(tokens["cache_read"] / total_input, 4) if total_input else 0.0,
        "sessions_with_problems": 0,
        "unreadable": [],
        "not_aio": [],  # a local store's entries: none on the server
        "most_active": [
            {"session_name": name, "machine_id": mid, "interactions": int(n)}
            for name, mid, n in top
            if n
        ],
        "machines": machines,
        "since": since.isoformat() if since else None,
    })
    if until is not None:
        result["until"] = until.isoformat()
    if feature is not None:
        result["feature"] = feature
    if by is not None:
        result["by"] = by
        result["groups"] = dict(sorted(groups.items()))
    return result


def team_status(conn: Any, machine_id: str) -> dict[str, Any]:
    """This machine as the server sees it: rows, sessions, last push; and the team size."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT coalesce(sum(records), 0), count(*), max(updated_at) FROM aio.watermarks "
            "WHERE machine_id = %s",
            (machine_id,),
        )
        records, sessions, last = cur.fetchone() or (0, 0, None)
        cur.execute("SELECT count(*) FROM aio.machines")
        machines = cur.fetchone()
        cur.execute("SELECT coalesce(sum(interactions), 0) FROM aio.rollup")
        team_rows = cur.fetchone()
    conn.commit()
    return {
        "machine_records_pushed": int(records),
        "machine_sessions_pushed": int(sessions),
        "machine_last_push": last.isoformat() if last else None,
        "team_machines": int(machines[0]) if machines else 0,
        "team_interactions": int(team_rows[0]) if team_rows else 0,
    }


_SESSION_ORDER = {
    "date": "s.last_ts DESC NULLS LAST, s.session_name, s.machine_id",
    "name": "s.session_name, s.machine_id",
    "tokens": "tokens DESC, s.session_name, s.machine_id",
    "cost": "cost DESC, s.session_name, s.machine_id",
}


def team_sessions(
    conn: Any, *, sort: str = "date", active_days: float | None = None
) -> dict[str, Any]:
    """Every pushed session of every machine (``aio session list --team``): who, where, its
    calls, tokens and cost (from the rollup), first and last call; ``active_days`` keeps the
    sessions used within that many days. Sorted like ``session list`` (``SORT_KEYS``)."""
    if sort not in _SESSION_ORDER:
        raise InvalidInput(f"unknown sort {sort!r}: use one of {', '.join(_SESSION_ORDER)}")
    if active_days is not None:
        check_days(active_days)
    sums = ", ".join(f"sum(r.{c})" for c in ROLLUP_SUMS)
    tokens = " + ".join(f"coalesce(sum(r.{k}), 0)" for k in TOKEN_KEYS)
    where = "WHERE s.last_ts > now() - make_interval(secs => %s)" if active_days else ""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT s.machine_id, s.session_name, s.user_name, s.command, s.feature_id, "
            f"s.first_ts, s.last_ts, m.hostname, {sums}, {tokens} AS tokens, "
            "coalesce(sum(r.cost), 0) AS cost FROM aio.sessions s "
            "LEFT JOIN aio.machines m USING (machine_id) "
            "LEFT JOIN aio.rollup r ON r.machine_id = s.machine_id "
            f"AND r.session_name = s.session_name {where} "
            "GROUP BY s.machine_id, s.session_name, s.user_name, s.command, s.feature_id, "
            f"s.first_ts, s.last_ts, m.hostname ORDER BY {_SESSION_ORDER[sort]}",
            (active_days * 86400,) if active_days else (),
        )
        found = cur.fetchall()
    conn.commit()
    sessions = []
    for row in found:
        mid, name, user, command, feature, first, last, host = row[:8]
        figures = dict(zip(ROLLUP_SUMS, row[8 : 8 + len(ROLLUP_SUMS)], strict=True))
        sessions.append(
            {
                "session_name": name,
                "machine_id": mid,
                "hostname": host,
                "user": user,
                "command": command,
                "feature_id": feature,
                "first_activity": first.isoformat() if first else None,
                "last_activity": last.isoformat() if last else None,
                "interactions": int(figures["interactions"] or 0),
                "failed_interactions": int(figures["failed"] or 0),
                "unpriced_interactions": int(figures["unpriced"] or 0),
                "tokens": {k: int(figures[k] or 0) for k in TOKEN_KEYS},
                "cost": _money(figures["cost"]),
                "cost_reported": _money(figures["cost_reported"]),
            }
        )
    return versioned(
        {"total_sessions": len(sessions), "active_days": active_days, "sessions": sessions}
    )


def team_report_stats(
    conn: Any, *, since: date | None = None, until: date | None = None, feature: str | None = None
) -> dict[str, Any]:
    """What ``aio report --team`` shows of aio's calls: ``team_stats`` by feature, with the
    ``groups`` of ``by="model"`` as ``by_model`` and of ``by="day"`` as ``by_day`` (the local
    report's ``stats`` shape)."""
    scope: dict[str, Any] = {"since": since, "until": until, "feature": feature}
    stats = team_stats(conn, by="feature", **scope)
    stats["by_model"] = team_stats(conn, by="model", **scope)["groups"]
    stats["by_day"] = team_stats(conn, by="day", **scope)["groups"]
    return stats

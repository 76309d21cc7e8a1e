"""The report's data as one JSON-able document; every figure comes from the library function
that the JSON read commands use, never from a second computation.

``build(ReportInputs) -> dict`` (this machine) and ``build_team(TeamInputs) -> dict`` (the
team, from sources the caller read from the team database: this room never reaches it)::

    {"schema_version", "generated_at", "filters": {since, until, feature},
     "team": {target, machines, users} | null,
     "usage": {"daily", "daily_by_model", "daily_by_agent", "daily_by_feature",
               "monthly_by_task"} | null,
     "stats": {...}, "sessions": [...], "flags": {...}, "budgets": [...], "features": [...],
     "problems": [...]}

- ``usage``: the documents of ``usage.reports.report`` (what ``aio usage daily|monthly
  [--by …] --json`` print) for the same ``since``/``until``/``feature``; ``null`` without a
  usage index. Their ``totals`` are the report's headline (every agent request on this
  machine, aio's calls counted once). ``monthly_by_task`` is null when more than
  ``TASK_FEATURES`` features are in scope (tens of thousands of rows nobody reads; give
  ``--feature``).
- ``stats``: ``store.stats.compute_stats`` with ``by="feature"`` (what ``aio session stats
  --by feature --json`` prints) over aio's sessions in scope: of the feature when one is
  given, and last used within ``since``..``until`` (local dates) when those are given — a
  session is the unit there, so a session used inside the window counts whole.
  ``stats["by_model"]``: ``store.stats.breakdown(rows, "model")``; ``stats["by_day"]``:
  ``breakdown(rows, "day")`` (``aio session stats --by day``: cost and cache savings per UTC
  day, read from the logs) when at most ``DAY_SESSIONS`` sessions are in scope, else null.
- ``sessions``: one row per session in scope (name, phase, feature, agent, model, outcome of
  its last call, last use, interactions, failed, unpriced, tokens, cost).
- ``flags``: unpriced calls and reported-only cost (usage and stats), failed calls, and the
  failed calls per outcome (``interrupted``, ``timeout``, …) from each session's summary
  (``failed_by_outcome``); only a session whose summary's counts do not add up to its
  failed calls is read from its log (``records_of``).
- ``usage``'s four per-day documents come from one pass over the index
  (``usage.reports.period_reports``); each summary document is decoded once
  (``ParsedRow``: the few fields read, typed: ``store.summary_view``).
- ``budgets``: per feature of the workspace, ``Config.budget_for`` against
  ``accounting.spend.FeatureSpend`` over all of the feature's sessions (what a budget check
  counts: the whole feature, not the window).
- ``features``: per feature its plan tasks (``plan.yaml``) and its history events
  (``history.jsonl``) in order, each with the red/green test runs, fix rounds (the green
  runs of an ``implement`` after its first), review finding counts and verify result found
  in the event's ``details`` (docs/workflow.md).

The team's document (``build_team``): ``usage`` the same reports over the in-memory index of
the team's requests; ``stats`` what ``aio team stats --by feature --json`` prints (aio's
calls on UTC days ``since``..``until``, of ``feature``) with ``by_model``/``by_day`` its
groups; ``sessions`` every machine's (``team_sessions``) in scope as above, with ``user``
and ``machine``, agent, model and outcome null (the server keeps them per call); ``flags``
without outcomes (``interrupted_interactions`` null: the rollup keeps failed calls only),
sessions named ``name@machine``; ``budgets`` and ``features`` empty (a workspace's).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ai_orchestrator.accounting.spend import FeatureSpend
from ai_orchestrator.core.errors import AioError
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra.timeutil import now_iso, parse_iso
from ai_orchestrator.store.index import SessionRow
from ai_orchestrator.store.stats import breakdown, compute_stats, total_tokens
from ai_orchestrator.store.summary_view import SummaryView
from ai_orchestrator.usage.reports import Filters, period_reports, report
from ai_orchestrator.workflow.model.feature import load_feature, load_plan
from ai_orchestrator.workflow.project.config import Config
from ai_orchestrator.workflow.project.history import read_events
from ai_orchestrator.workflow.project.workspace import Workspace

USAGE_VIEWS: tuple[tuple[str, str, str | None], ...] = (
    ("daily", "daily", None),
    ("daily_by_model", "daily", "model"),
    ("daily_by_agent", "daily", "agent"),
    ("daily_by_feature", "daily", "feature"),
    ("monthly_by_task", "monthly", "task"),
)
"""Key in ``usage`` -> (report kind, ``--by``) of ``usage.reports.report``."""
DAY_SESSIONS = 500
"""Savings per day (read from the logs) only up to this many sessions in scope."""
TASK_FEATURES = 50
"""Per task only up to this many features in scope (else ``monthly_by_task`` is null)."""


@dataclass(frozen=True)
class ReportFilters:
    """What the report covers (all optional)."""

    since: date | None = None
    until: date | None = None
    feature: str | None = None

    def usage_filters(self) -> Filters:
        return Filters(since=self.since, until=self.until, feature=self.feature)

    def takes(self, row: SessionRow) -> bool:
        """Whether a session is in scope: of the feature, last used inside the window."""
        return self.takes_session(row.feature_id, row.last_activity)

    def takes_session(self, feature: str | None, last_activity: str | None) -> bool:
        """``takes`` for a session given by its feature and last use (ISO time)."""
        if self.feature and feature != self.feature:
            return False
        if self.since is None and self.until is None:
            return True
        moment = parse_iso(last_activity)
        if moment is None:
            return False
        day = moment.astimezone().date()
        return (self.since is None or day >= self.since) and (
            self.until is None or day <= self.until
        )


@dataclass
class ReportInputs:
    """Where the data comes from. ``conn``: the usage index (None: no usage section);
    ``workspace``/``config``: the project (None: no budgets, no timelines)."""

    rows: list[SessionRow]
    records_of: Callable[[str], list[Interaction]]
    conn: sqlite3.Connection | None = None
    workspace: Workspace | None = None
    config: Config | None = None
    filters: ReportFilters = ReportFilters()


@dataclass
class TeamInputs:
    """The team's figures, read from the team database by the caller (this room does not
    reach the team store): ``stats`` as ``team.reports.team_stats(by="feature")`` plus its
    ``by_model`` and ``by_day`` groups; ``sessions`` the rows of ``team_sessions``;
    ``team`` the header (target without password, machines, users); ``conn`` the in-memory
    usage index of the team's requests (``team.usage_reports.load_team_index``)."""

    stats: dict[str, Any]
    sessions: list[dict[str, Any]]
    team: dict[str, Any]
    conn: sqlite3.Connection | None = None
    filters: ReportFilters = ReportFilters()


def _team_session_row(s: dict[str, Any]) -> dict[str, Any]:
    tokens = s.get("tokens") or {}
    return {
        "name": s["session_name"],
        "user": s.get("user"),
        "machine": s.get("hostname") or s.get("machine_id"),
        "machine_id": s.get("machine_id"),
        "phase": s.get("command"),
        "feature": s.get("feature_id"),
        "agent": None,  # per call in the rollup, not per session on the server
        "model": None,
        "outcome": None,
        "last_used": s.get("last_activity"),
        "interactions": s["interactions"],
        "failed": s["failed_interactions"],
        "unpriced": s["unpriced_interactions"],
        "tokens": total_tokens(tokens),
        "cost": round(s["cost"], 10),
        "cost_reported": round(s["cost_reported"], 10),
    }


class ParsedRow(SessionRow):
    """A ``SessionRow`` whose summary view (``store.summary_view``) is decoded once: the
    report reads it for the session's row, its failed calls per outcome and the by-model
    breakdown (10,000 of them: decoding each three times was a fifth of the report's
    time)."""

    @property
    def view(self) -> SummaryView:
        cached: SummaryView | None = self.__dict__.get("view")
        if cached is None:
            cached = self.__dict__["view"] = SummaryView.decode(self[18])
        return cached


def _session_row(row: SessionRow, summary: SummaryView) -> dict[str, Any]:
    return {
        "name": row.name,
        "phase": row.command,
        "feature": row.feature_id,
        "agent": summary.agent,
        "model": summary.model,
        "outcome": summary.last_outcome,
        "last_used": row.last_activity,
        "interactions": row.interactions,
        "failed": row.failed,
        "unpriced": row.unpriced,
        "tokens": total_tokens(row.tokens),
        "cost": round(row.cost, 10),
        "cost_reported": round(row.reported, 10),
    }


def summary_outcomes(summary: SummaryView, failed: int) -> dict[str, int] | None:
    """A session's failed calls per outcome as its summary folded them
    (``failed_by_outcome``), or None when it has none that add up to ``failed`` (a
    summary of an older aio: the log is read instead)."""
    counts = summary.failed_by_outcome
    if counts is None or any(n <= 0 for n in counts.values()):
        return None
    return counts if sum(counts.values()) == failed else None


def failed_outcomes(
    rows: list[SessionRow],
    records_of: Callable[[str], list[Interaction]],
    *,
    from_summaries: bool = True,
) -> tuple[dict[str, int], list[str]]:
    """Failed calls per outcome over ``rows``, and the sessions whose log could not be
    read. A session's counts come from its summary where it has them (``summary_outcomes``;
    not at all without ``from_summaries``), else from its log."""
    counts: dict[str, int] = {}
    unreadable = []
    for row in rows:
        if not row.failed:
            continue
        known = summary_outcomes(row.view, row.failed) if from_summaries else None
        if known is None:
            try:
                records = records_of(row.name)
            except (AioError, OSError) as exc:
                unreadable.append(f"{row.name}: {exc}")
                continue
            known = {}
            for record in records:
                if record.outcome != "success":
                    known[record.outcome] = known.get(record.outcome, 0) + 1
        for outcome, n in known.items():
            counts[outcome] = counts.get(outcome, 0) + n
    return dict(sorted(counts.items())), unreadable


def _flags(
    stats: dict[str, Any],
    usage: dict[str, Any] | None,
    by_outcome: dict[str, int] | None,
    unpriced_sessions: list[str],
    failed_sessions: list[str],
) -> dict[str, Any]:
    """``by_outcome`` None: the failed calls per outcome are not known (the team's rollup
    keeps failed calls, not their outcomes)."""
    flags: dict[str, Any] = {
        "unpriced_interactions": stats["unpriced_interactions"],
        "cost_reported": stats["cost_reported"],
        "cost_reported_by": stats["cost_reported_by"],
        "failed_interactions": stats["failed_interactions"],
        "failed_by_outcome": by_outcome or {},
        "interrupted_interactions": (
            None if by_outcome is None else by_outcome.get("interrupted", 0)
        ),
        "sessions_with_problems": stats["sessions_with_problems"],
        "unpriced_sessions": sorted(unpriced_sessions),
        "failed_sessions": sorted(failed_sessions),
    }
    if usage is not None:
        totals = usage["daily"]["totals"]
        flags["usage_unpriced_requests"] = totals["unpriced_requests"]
        flags["usage_reported_cost"] = totals["reported_cost"]
        flags["usage_unpriced_days"] = [
            r["date"] for r in usage["daily"]["rows"] if r["unpriced_requests"]
        ]
    return flags


def _budgets(
    all_rows: list[SessionRow], features: list[str], config: Config
) -> list[dict[str, Any]]:
    out = []
    for feature in features:
        spend = FeatureSpend.of(r for r in all_rows if r.feature_id == feature)
        budget = config.budget_for(feature)
        out.append(
            {
                "feature": feature,
                "budget": budget,
                "spent": round(spend.cost, 10),
                "unpriced": spend.unpriced,
                "share": round(spend.cost / budget, 4) if budget else None,
                "over": bool(budget) and spend.cost >= float(budget or 0),
            }
        )
    return out


def _test_runs(details: dict[str, Any]) -> list[dict[str, Any]]:
    runs = details.get("test_runs")
    if isinstance(details.get("tests"), dict):  # verify: one run
        runs = [details["tests"]]
    if not isinstance(runs, list):
        return []
    return [
        {k: run.get(k) for k in ("label", "red", "green", "passed", "failed", "errors")}
        for run in runs
        if isinstance(run, dict)
    ]


def timeline_event(event: dict[str, Any]) -> dict[str, Any]:
    """One history event as the timeline shows it: what ran, how it ended, its evidence."""
    details = event.get("details")
    details = details if isinstance(details, dict) else {}
    runs = _test_runs(details)
    greens = [r for r in runs if str(r.get("label") or "").startswith("green")]
    item: dict[str, Any] = {
        k: event.get(k) for k in ("timestamp", "command", "task_id", "status", "duration_ms")
    }
    item["test_runs"] = runs
    item["fix_rounds"] = max(0, len(greens) - 1) if event.get("command") == "implement" else 0
    counts = details.get("counts")
    item["findings"] = dict(counts) if isinstance(counts, dict) else None
    if event.get("command") == "verify":
        item["verdict"] = details.get("agent_verdict")
    item["cost"] = details.get("cost") if isinstance(details.get("cost"), int | float) else None
    item["error"] = event.get("error")
    return item


def feature_timeline(ws: Workspace, feature_id: str) -> dict[str, Any]:
    """The tasks of ``plan.yaml`` and the history events of one feature (see the module)."""
    paths = ws.existing_feature(feature_id)
    feature = load_feature(paths)
    plan = load_plan(paths, required=False)
    events, bad_lines = read_events(paths.history_file)
    tasks = [
        {"id": t.id, "title": t.title, "status": t.status, "completed_at": t.completed_at}
        for t in (plan.tasks() if plan else [])
    ]
    return {
        "feature": feature_id,
        "description": feature.get("description") or "",
        "status": feature.get("status"),
        "tasks": tasks,
        "events": [timeline_event(e) for e in events],
        "unreadable_lines": bad_lines,
    }


def _usage(conn: sqlite3.Connection, filters: ReportFilters, features: int) -> dict[str, Any]:
    """The ``USAGE_VIEWS`` documents; the daily ones from one pass (``period_reports``)."""
    wanted = filters.usage_filters()
    daily = period_reports(conn, "daily", wanted, [by for _k, kind, by in USAGE_VIEWS
                                                    if kind == "daily"])  # fmt: skip
    return {
        key: daily[by] if kind == "daily"
        else None if by == "task" and features > TASK_FEATURES
        else report(conn, kind, wanted, by)
        for key, kind, by in USAGE_VIEWS
    }  # fmt: skip


def _document(
    filters: ReportFilters,
    usage: dict[str, Any] | None,
    stats: dict[str, Any],
    sessions: list[dict[str, Any]],
    flags: dict[str, Any],
    **parts: Any,
) -> dict[str, Any]:
    return versioned({
        "generated_at": now_iso(),
        "filters": {
            "since": filters.since.isoformat() if filters.since else None,
            "until": filters.until.isoformat() if filters.until else None,
            "feature": filters.feature,
        },
        "team": None,
        "usage": usage,
        "stats": stats,
        "sessions": sorted(sessions, key=lambda s: (s["last_used"] or "", s["name"]), reverse=True),
        "flags": flags,
        "budgets": [],
        "features": [],
        "problems": [],
    }) | parts


def build(inputs: ReportInputs) -> dict[str, Any]:
    """The report document of this machine (see the module docstring)."""
    filters = inputs.filters
    rows: list[SessionRow] = [ParsedRow(r) for r in inputs.rows if filters.takes(r)]
    stats = compute_stats(rows, by="feature")
    stats["by_model"] = breakdown(rows, "model")
    # per UTC day, as `aio session stats --by day`: it reads every log, so only when few
    stats["by_day"] = (
        breakdown(rows, "day", inputs.records_of) if len(rows) <= DAY_SESSIONS else None
    )
    conn = inputs.conn
    usage = None if conn is None else _usage(conn, filters, len(stats["groups"]))
    by_outcome, problems = failed_outcomes(rows, inputs.records_of)
    flags = _flags(
        stats, usage, by_outcome,
        [r.name for r in rows if r.unpriced], [r.name for r in rows if r.failed],
    )  # fmt: skip
    features: list[dict[str, Any]] = []
    budgets: list[dict[str, Any]] = []
    ws = inputs.workspace
    if ws is not None:
        ids = ws.feature_ids()
        if filters.feature:
            ids = [f for f in ids if f == filters.feature]
        for feature_id in ids:
            try:
                features.append(feature_timeline(ws, feature_id))
            except AioError as exc:
                problems.append(f"feature {feature_id}: {exc}")
        if inputs.config is not None:
            budgets = _budgets(inputs.rows, ids, inputs.config)
    return _document(
        filters, usage, stats, [_session_row(r, r.view) for r in rows], flags,
        budgets=budgets, features=features, problems=problems,
    )  # fmt: skip


def build_team(inputs: TeamInputs) -> dict[str, Any]:
    """The report document of the team (see the module docstring)."""
    filters = inputs.filters
    stats = inputs.stats
    sessions = [
        _team_session_row(s)
        for s in inputs.sessions
        if filters.takes_session(s.get("feature_id"), s.get("last_activity"))
    ]
    conn = inputs.conn
    usage = None if conn is None else _usage(conn, filters, len(stats["groups"]))
    named = [f"{s['name']}@{s['machine']}" for s in sessions]
    flags = _flags(
        stats, usage, None,
        [n for n, s in zip(named, sessions, strict=True) if s["unpriced"]],
        [n for n, s in zip(named, sessions, strict=True) if s["failed"]],
    )  # fmt: skip
    return _document(filters, usage, stats, sessions, flags, team=dict(inputs.team))

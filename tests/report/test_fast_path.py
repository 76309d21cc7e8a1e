"""The report's fast path gives exactly the figures of the slow one: on a varied store
(every way a call can fail, unpriced and reported-only costs, several agents, models and
features, costs with many digits over local midnights, interactive usage read from an agent's
transcript), ``build`` equals the JSON reports' own functions (``usage.reports.report`` per
view, ``store.stats`` over plain rows, failed calls per outcome counted from the logs), for
every filter the report takes. The failure counts come from the summaries — no log is read
— unless a summary's counts do not add up."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.core.usage import OUTCOMES
from ai_orchestrator.report.data import (
    DAY_SESSIONS,
    TASK_FEATURES,
    USAGE_VIEWS,
    ReportFilters,
    ReportInputs,
    build,
    failed_outcomes,
    summary_outcomes,
)
from ai_orchestrator.store.index import SummaryIndex
from ai_orchestrator.store.session_store import METADATA, SessionStore
from ai_orchestrator.store.stats import breakdown, compute_stats
from ai_orchestrator.store.summary_view import SummaryView
from ai_orchestrator.usage import rollup
from ai_orchestrator.usage.reports import period_reports, report
from ai_orchestrator.usage.sync import open_index, sync
from tests.helpers import as_record, interaction

FAILURES = ["timeout", "interrupted", *(f"error:{c}" for c in OUTCOMES if c != "success")]
MODELS = {
    "claude": ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"],
    "gemini": ["gemini-2.5-pro", "mystery-model-9"],
    "codex": ["gpt-5-codex"],
}
START = datetime(2026, 10, 1, tzinfo=UTC)


def _line(**entry: Any) -> str:
    return json.dumps(entry) + "\n"


def _transcript(home: Path, rng: random.Random) -> None:
    """A Claude session aio drove (``sid-aio``, resumed by hand after aio's calls) and one
    on a branch named after a feature: interactive usage the report counts."""
    project = home / ".claude" / "projects" / "-work-proj"
    project.mkdir(parents=True)
    for sid, branch in (("sid-aio", "main"), ("sid-hand", "feature/search")):
        lines = []
        for i in range(12):
            moment = START + timedelta(days=3 + i, hours=rng.randint(0, 23))
            lines.append(_line(
                type="assistant", sessionId=sid, cwd="/work/proj", gitBranch=branch,
                isSidechain=False, requestId=f"req-{sid}-{i}", uuid=f"u-{sid}-{i}",
                timestamp=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                message={"id": f"msg-{sid}-{i}", "model": "claude-sonnet-4-5-20250929",
                         "role": "assistant", "content": [{"type": "text", "text": "x"}],
                         "usage": {"input_tokens": rng.randint(1, 900),
                                   "output_tokens": rng.randint(1, 900),
                                   "cache_read_input_tokens": rng.randint(0, 9000),
                                   "cache_creation_input_tokens": rng.randint(0, 900)}},
            ))  # fmt: skip
        (project / f"{sid}.jsonl").write_text("".join(lines))


def _store(home: Path) -> SessionStore:
    rng = random.Random(23)
    store = SessionStore()
    features = ["login", "signup", "search", "billing-v2"]
    n = 0
    for feature in features:
        for command in ("plan", "implement", "review", "verify"):
            name = f"{command}-{feature}"
            for _ in range(rng.randint(1, 9)):
                agent = rng.choice(sorted(MODELS))
                model = rng.choice(MODELS[agent])
                moment = START + timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 1439))
                fields: dict[str, Any] = {
                    "agent": agent, "model": model, "task_id": f"T1.{rng.randint(1, 4)}",
                    "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "tokens": {"input": rng.randint(0, 5000), "output": rng.randint(0, 900),
                               "cache_read": rng.randint(0, 90000),
                               "cache_write": rng.randint(0, 3000)},
                    "cost": rng.random() / 7, "savings": rng.random() / 11,
                    "outcome": FAILURES[n % len(FAILURES)] if rng.random() < 0.3 else "success",
                }  # fmt: skip
                if model == "mystery-model-9":
                    fields.update(cost=0.0, cost_source="unpriced", savings=None)
                elif agent == "codex" and rng.random() < 0.5:
                    fields.update(cost_source="reported", reported_cost=fields["cost"])
                if name == "implement-login" and n % 2 == 0:
                    fields["agent_session_id"] = "sid-aio"  # the transcript's session
                store.record(as_record(name, interaction(**fields)))
                n += 1
    _transcript(home, rng)
    sync()
    return store


def _reference(
    store: SessionStore, conn: Any, filters: ReportFilters
) -> tuple[dict[str, Any], dict[str, Any], dict[str, int], list[dict[str, Any]]]:
    """The slow path: the JSON reports' own functions over plain rows and every log."""
    rows, _ = SummaryIndex(store).rows()
    plain = [r for r in rows if filters.takes(r)]
    stats = compute_stats(plain, by="feature")
    stats["by_model"] = breakdown(plain, "model")
    records_of = _reader(store)
    stats["by_day"] = breakdown(plain, "day", records_of) if len(plain) <= DAY_SESSIONS else None
    wanted = filters.usage_filters()
    usage = {
        key: None if by == "task" and len(stats["groups"]) > TASK_FEATURES
        else report(conn, kind, wanted, by)
        for key, kind, by in USAGE_VIEWS
    }  # fmt: skip
    outcomes: dict[str, int] = {}
    for row in plain:
        for record in records_of(row.name):
            if record.outcome != "success":
                outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
    sessions = [
        {"name": r.name, "agent": r.document.get("agent"), "model": r.document.get("model"),
         "outcome": r.document.get("last_outcome"), "failed": r.failed}
        for r in plain
    ]  # fmt: skip
    return stats, usage, dict(sorted(outcomes.items())), sessions


def _reader(store: SessionStore) -> Any:
    def records_of(name: str) -> list[Interaction]:
        return store.read_log(name).records

    return records_of


@pytest.mark.parametrize(
    "filters",
    [
        ReportFilters(),
        ReportFilters(feature="login"),
        ReportFilters(since=date(2026, 10, 6), until=date(2026, 10, 14)),
        ReportFilters(feature="search", since=date(2026, 10, 2)),
        ReportFilters(feature="nothing-here"),
    ],
    ids=["all", "feature", "window", "feature-since", "empty"],
)
def test_fast_path_equals_the_slow_path_exactly(
    isolated_home: Path, filters: ReportFilters
) -> None:
    store = _store(isolated_home)
    rows, errors = SummaryIndex(store).rows()
    assert errors == []
    conn = open_index()
    try:
        doc = build(ReportInputs(rows, _reader(store), conn, filters=filters))
        stats, usage, outcomes, sessions = _reference(store, conn, filters)
        assert conn.execute("SELECT count(*) FROM req WHERE origin = 't'").fetchone()[0] == 24
    finally:
        conn.close()
    assert doc["stats"] == stats
    assert doc["usage"] == usage
    assert doc["flags"]["failed_by_outcome"] == outcomes
    assert doc["flags"]["failed_interactions"] == sum(outcomes.values())
    shown = [{k: s[k] for k in ("name", "agent", "model", "outcome", "failed")}
             for s in doc["sessions"]]  # fmt: skip
    assert sorted(shown, key=lambda s: s["name"]) == sorted(sessions, key=lambda s: s["name"])
    if filters == ReportFilters():  # the store is as varied as it claims
        assert len(outcomes) >= 6 and stats["unpriced_interactions"] > 0
        assert stats["cost_reported"] > 0 and len(stats["by_model"]) == 6
        assert usage["daily"]["totals"]["requests"] > stats["interactions"]  # interactive


@pytest.mark.parametrize(
    "filters",
    [ReportFilters(), ReportFilters(feature="login"), ReportFilters(since=date(2026, 10, 6))],
    ids=["all", "feature", "since"],
)
def test_usage_figures_are_the_same_with_and_without_the_per_day_rollup(
    isolated_home: Path, filters: ReportFilters
) -> None:
    """The sync keeps the rollup (``usage.rollup``); the page read from it equals the page
    whose usage documents group every request, to the last bit."""
    store = _store(isolated_home)
    rows, _ = SummaryIndex(store).rows()
    conn = open_index()
    try:
        conn.execute("BEGIN")
        assert rollup.groups_source(conn) is not None  # the sync kept it
        conn.execute("COMMIT")
        kept = build(ReportInputs(rows, _reader(store), conn, filters=filters))
        conn.execute("DELETE FROM rollup")
        grouped = build(ReportInputs(rows, _reader(store), conn, filters=filters))
    finally:
        conn.close()
    assert kept["usage"]["daily"]["rows"]
    assert {**kept, "generated_at": None} == {**grouped, "generated_at": None}


def test_failure_counts_come_from_the_summaries_unless_they_do_not_add_up(
    isolated_home: Path,
) -> None:
    store = _store(isolated_home)
    rows, _ = SummaryIndex(store).rows()
    failed = [r for r in rows if r.failed]
    assert len(failed) >= 5

    def no_log(name: str) -> list[Interaction]:
        raise AssertionError(f"read the log of {name}")

    slow, _ = failed_outcomes(rows, _reader(store), from_summaries=False)
    assert failed_outcomes(rows, no_log) == (slow, [])  # not one log read
    # Counts that cannot be the session's (hand-edited, another aio's): the log decides.
    victim = failed[0].name
    meta = store.root / victim / METADATA
    bogus_counts: list[object] = [{"timeout": failed[0].failed + 1}, {"timeout": -1}, {"": True}]
    for bogus in [*bogus_counts, [1], "x", None]:
        doc = json.loads(meta.read_text())
        doc["failed_by_outcome"] = bogus
        meta.write_text(json.dumps(doc))
        fresh, _ = SummaryIndex(store).rows()
        read: list[str] = []

        def counting(name: str, read: list[str] = read) -> list[Interaction]:
            read.append(name)
            return store.read_log(name).records

        assert failed_outcomes(fresh, counting) == (slow, []), bogus
        # not counts at all: the summary is outdated, rebuilt from the log by the listing
        assert read == ([victim] if isinstance(bogus, dict) else []), bogus


def test_summary_outcomes_takes_only_counts_that_add_up() -> None:
    def view(summary: dict[str, Any]) -> SummaryView:
        return SummaryView.decode(json.dumps(summary))

    assert summary_outcomes(view({"failed_by_outcome": {"timeout": 2, "interrupted": 1}}),
                            3) == {"timeout": 2, "interrupted": 1}  # fmt: skip
    for bad in ({}, {"failed_by_outcome": None}, {"failed_by_outcome": {"timeout": 2}},
                {"failed_by_outcome": {"timeout": 3.0}}, {"failed_by_outcome": {"x": 0, "y": 3}},
                {"failed_by_outcome": {"timeout": False, "y": 3}},
                {"failed_by_outcome": {"timeout": -1, "y": 4}},
                {"failed_by_outcome": {"timeout": "3"}}, {"failed_by_outcome": [3]}):  # fmt: skip
        assert summary_outcomes(view(bad), 3) is None, bad


def test_period_reports_equal_report_for_every_kind_and_split(isolated_home: Path) -> None:
    _store(isolated_home)
    conn = open_index()
    try:
        bys = [None, "agent", "model", "project", "branch", "feature", "task"]
        for kind in ("daily", "weekly", "monthly"):
            for filters in (ReportFilters(), ReportFilters(since=date(2026, 10, 5))):
                wanted = filters.usage_filters()
                many = period_reports(conn, kind, wanted, bys)
                for by in bys:
                    assert many[by] == report(conn, kind, wanted, by), (kind, by)
        assert conn.execute("SELECT count(*) FROM temp.sqlite_master").fetchone()[0] == 0
    finally:
        conn.close()


def test_period_rows_equal_one_plain_grouped_scan(isolated_home: Path) -> None:
    """The two-step sums (period and grain, then per row) against the plain definition: one
    ``GROUP BY`` over the counted requests, as the reports were first written."""
    from ai_orchestrator.usage import reports

    _store(isolated_home)
    conn = open_index()
    try:
        for kind, label in (("daily", "date"), ("weekly", "week"), ("monthly", "month")):
            for by in (None, "agent", "model", "branch", "feature", "task"):
                condition, params = reports.where(reports.Filters())
                split = reports._BY_EXPR[by] if by else "NULL"
                plain = conn.execute(
                    f"SELECT {reports._PERIOD[kind]} AS p, {split} AS b, {reports._SUMS},"
                    f" group_concat(DISTINCT model) FROM req WHERE {condition}"
                    " GROUP BY p, b ORDER BY p, b",
                    params,
                ).fetchall()
                rows = report(conn, kind, reports.Filters(), by)["rows"]
                assert [(r[label], r.get(by) if by else None) for r in rows] == [
                    (p[0], p[1] or None) for p in plain
                ], (kind, by)
                for row, record in zip(rows, plain, strict=True):
                    figures = {k: row[k] for k in reports._figures(tuple(record[2:11]))}
                    assert figures == reports._figures(tuple(record[2:11])), (kind, by, row)
                    assert row["models"] == sorted(set(record[11].split(","))), (kind, by)
    finally:
        conn.close()


def test_every_summary_document_reads_as_the_stdlib_reads_it() -> None:
    """Summary documents are decoded by msgspec; what it refuses is left to the stdlib, so
    every document reads as ``json.loads`` reads it (an integer past 64 bits stays an
    integer: orjson, tried first, made it a float)."""
    for doc in (
        b'{"by_model": {"m": {"cost": NaN, "savings": Infinity, "cost_reported": -Infinity}}}',
        b'{"by_model": {"m": {"interactions": 123456789012345678901234567890}}}',
        b'{"by_model": {"m": {"tokens": {"input": -9999999999999999999,'
        b' "output": 18446744073709551615, "cache_read": 9223372036854775808}}}}',
        b'{"by_model": {"m": {"cost": 0.1000000000000000055511151231257827, "savings": 5e-324,'
        b' "unpriced": -0, "cost_reported": -0.0}}}',
        b'{"by_model": {"m": {"cost": 1E400, "savings": -1e-400, "cost_reported": 2.2e-308}}}',
        b'{"agent": "\\ud800 lone surrogate",'
        b' "failed_by_outcome": {"timeout": 99999999999999999999}}',
        b'{"model": "a", "model": "b", "by_model": {"x": {"cost": 1e400}}}',
        '{"agent": "caf\u00e9 \U0001f600", "lineage": {"method": "fork", "n": 1e400}}'.encode(),
    ):
        assert repr(SummaryView.decode(doc)) == repr(SummaryView.of(json.loads(doc))), doc

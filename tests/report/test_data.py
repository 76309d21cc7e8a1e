"""The report's figures equal what ``aio session stats --json`` / ``aio usage … --json``
print for the same filters; flags count every kind of trouble; filters apply."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.report.data import ReportFilters, ReportInputs, build
from ai_orchestrator.store.index import SummaryIndex
from ai_orchestrator.store.session_store import SessionStore
from ai_orchestrator.usage.sync import open_index, sync
from ai_orchestrator.workflow.project.config import load_config
from tests.helpers import aio_inprocess
from tests.report.sample import build_sample


@pytest.fixture
def project(tmp_path: Path) -> Path:
    build_sample(tmp_path / "proj")
    sync()
    return tmp_path / "proj"


def _doc(project: Path, filters: ReportFilters | None = None) -> dict[str, Any]:
    store = SessionStore()
    rows, _ = SummaryIndex(store).rows()
    from ai_orchestrator.workflow.project.workspace import Workspace

    ws = Workspace(project)
    conn = open_index()
    try:
        inputs = ReportInputs(rows, lambda n: store.read_log(n).records, conn, ws,
                              load_config(ws.config_file), filters or ReportFilters())  # fmt: skip
        return build(inputs)
    finally:
        conn.close()


def _json(*args: str, cwd: Path | None = None) -> Any:
    result = aio_inprocess(*args, cwd=cwd)
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_figures_equal_session_stats_and_usage_json(project: Path) -> None:
    doc = _doc(project)
    stats = _json("session", "stats", "--by", "feature", "--json")
    for key in ("total_sessions", "interactions", "failed_interactions", "unpriced_interactions",
                "cost_reported", "tokens", "cost", "cache_savings", "cache_read_share"):
        assert doc["stats"][key] == stats[key], key  # fmt: skip
    assert doc["stats"]["groups"] == stats["groups"]
    by_model = _json("session", "stats", "--by", "model", "--json")["groups"]
    assert doc["stats"]["by_model"] == by_model
    for key, kind, by in (("daily", "daily", None), ("daily_by_model", "daily", "model"),
                          ("monthly_by_task", "monthly", "task")):  # fmt: skip
        shown = _json("usage", kind, "--json", "--no-sync", *(["--by", by] if by else []))
        assert doc["usage"][key]["rows"] == shown["rows"]
        assert doc["usage"][key]["totals"] == shown["totals"]
    assert doc["usage"]["daily"]["totals"]["cost"] == pytest.approx(0.093)


def test_flags_count_each_kind(project: Path) -> None:
    flags = _doc(project)["flags"]
    assert flags["unpriced_interactions"] == 1
    assert flags["unpriced_sessions"] == ["review-signup"]
    assert flags["cost_reported"] == pytest.approx(0.03)
    assert flags["failed_interactions"] == 3
    assert flags["failed_by_outcome"] == {"error:api_error": 1, "interrupted": 1, "timeout": 1}
    assert flags["interrupted_interactions"] == 1
    assert flags["failed_sessions"] == ["implement-login", "verify-signup"]
    assert flags["usage_unpriced_requests"] == 1
    assert flags["usage_reported_cost"] == pytest.approx(0.03)


def test_feature_filter_matches_the_features_own_figures(project: Path) -> None:
    doc = _doc(project, ReportFilters(feature="login"))
    groups = _json("session", "stats", "--by", "feature", "--json")["groups"]
    login = groups["login"]
    assert doc["stats"]["cost"] == login["cost"]
    assert doc["stats"]["interactions"] == login["interactions"] == 4
    assert {s["feature"] for s in doc["sessions"]} == {"login"}
    by_feature = _json("usage", "daily", "--by", "feature", "--json", "--no-sync")["rows"]
    assert [r["cost"] for r in doc["usage"]["daily"]["rows"]] == [
        r["cost"] for r in by_feature if r["feature"] == "login"
    ]
    assert [f["feature"] for f in doc["features"]] == ["login"]
    assert doc["flags"]["failed_by_outcome"] == {"error:api_error": 1, "interrupted": 1}


def test_date_filter_applies_to_usage_and_sessions(project: Path) -> None:
    doc = _doc(project, ReportFilters(since=date(2026, 11, 3), until=date(2026, 11, 4)))
    shown = _json("usage", "daily", "--json", "--no-sync", "--since", "2026-11-03",
                  "--until", "20261104")  # fmt: skip
    assert doc["usage"]["daily"]["rows"] == shown["rows"]
    assert [r["date"] for r in shown["rows"]] == ["2026-11-03", "2026-11-04"]
    # sessions last used inside the window: implement-login (3rd), review/implement-signup
    assert sorted(s["name"] for s in doc["sessions"]) == [
        "implement-login", "implement-signup", "review-signup",
    ]  # fmt: skip


def test_budgets_and_timeline(project: Path) -> None:
    doc = _doc(project)
    login = next(b for b in doc["budgets"] if b["feature"] == "login")
    assert login["budget"] == 0.05
    assert login["spent"] == pytest.approx(0.061)
    assert login["over"] is True
    signup = next(b for b in doc["budgets"] if b["feature"] == "signup")
    assert signup["budget"] is None and signup["over"] is False
    timeline = next(f for f in doc["features"] if f["feature"] == "login")
    assert [t["status"] for t in timeline["tasks"]] == ["completed", "failed", "pending"]
    events = timeline["events"]
    assert [e["command"] for e in events] == [
        "init", "plan", "implement", "implement", "review", "verify",
    ]  # fmt: skip
    events = events[1:]
    assert [r["label"] for r in events[1]["test_runs"]] == ["red-1", "green-1", "green-2"]
    assert events[1]["fix_rounds"] == 1
    assert events[2]["status"] == "interrupted"
    assert events[3]["findings"]["critical"] == 1
    assert events[4]["verdict"] == "pass" and events[4]["test_runs"][0]["green"] is True


def test_cli_writes_one_offline_file_and_team_needs_a_database(
    project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    result = aio_inprocess("report", "--html", str(out), cwd=project)
    assert result.code == 0, result.err
    page = out.read_text()
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert "Chart.js v4.6.1" in page and "default-src 'none'" in page
    doc = _json("report", "--json", "--no-sync", cwd=project)
    assert doc["stats"]["cost"] == _json("session", "stats", "--json")["cost"]
    to_stdout = aio_inprocess("report", "--html", "-", "--no-sync", cwd=project)
    assert to_stdout.code == 0 and to_stdout.out.startswith("<!DOCTYPE html>")
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    unwritable = aio_inprocess("report", "--html", str(blocked / "r.html"), "--no-sync")
    assert unwritable.code == 1 and "cannot write" in unwritable.err
    assert "Traceback" not in unwritable.err
    team = aio_inprocess("report", "--team", cwd=project)  # none configured: says how
    assert team.code == 2 and "no team database: pass --db URL" in team.err, team.err
    assert team.err.count("\n") == 1 and "Traceback" not in team.err
    bad = aio_inprocess("report", "--since", "2026-11-05", "--until", "2026-11-01")
    assert bad.code == 2 and "after" in bad.err
    assert aio_inprocess("report", "--feature", "../x").code == 2
    assert aio_inprocess("report", "--since", "yesterday").code == 2


def test_savings_per_day_equal_stats_by_day(project: Path) -> None:
    doc = _doc(project)
    assert doc["stats"]["by_day"] == _json("session", "stats", "--by", "day", "--json")["groups"]
    assert list(doc["stats"]["by_day"]) == [f"2026-11-0{d}" for d in range(1, 6)]


def test_hostile_text_is_escaped_in_the_page(project: Path) -> None:
    from ai_orchestrator.report.html import render

    doc = _doc(project)
    evil = "</script><img src=x onerror=alert(1)><!--"
    doc["features"][0]["description"] = evil
    doc["features"][0]["events"][0]["error"] = evil
    doc["sessions"][0]["model"] = evil
    doc["problems"].append(evil)
    page = render(doc)
    from html.parser import HTMLParser

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.seen.append(tag)

    parser = Tags()
    parser.feed(page)
    assert "img" not in parser.seen  # the text stayed text: in tables and in the JSON
    assert parser.seen.count("script") == 3  # data, Chart.js, the page's own: none closed early
    assert page.count("</script>") == 3

"""``aio report --team`` against a real PostgreSQL server: two machines push their aio calls
and their agents' usage, and the team's report says what the team's JSON reads say — the
usage section ``aio usage daily|… --team --json``, the calls ``aio team stats --json``, the
sessions ``aio session list --team --json`` — in JSON and in one offline HTML page that names
the team database without its password. Bad input: one line and the documented exit code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ai_orchestrator.store.session_store import SessionStore
from ai_orchestrator.team import schema
from ai_orchestrator.team.config import resolve
from ai_orchestrator.team.usage_reports import team_usage_report
from ai_orchestrator.usage.reports import Filters
from tests.helpers import as_records
from tests.pgserver import PgServer
from tests.report.cdp import Browser, console_errors, drawn, load, requested, screenshot
from tests.report.test_browser import _value, browser  # noqa: F401 (a fixture)
from tests.team.stores import records
from tests.team.test_team_usage import Machine, _assistant

pytestmark = pytest.mark.process  # a real PostgreSQL server and its tools

STATS_FIGURES = (
    "total_sessions", "interactions", "failed_interactions", "unpriced_interactions", "tokens",
    "cost", "cache_savings", "cache_read_share", "cost_reported", "cost_reported_by",
    "most_active", "machines",
)  # fmt: skip


def _team(tmp_path: Path) -> tuple[Machine, Machine]:
    """Two machines with aio sessions (November 2026) and Claude transcripts (December),
    both pushed by their users."""
    laptop, runner = Machine(tmp_path / "laptop"), Machine(tmp_path / "runner")
    for n, machine in enumerate((laptop, runner)):
        store = SessionStore(machine.root / ".ai-sessions")
        for s, name in enumerate(("implement-feat0", "implement-feat1", "run-job2", "run-job3")):
            tag = f"{machine.root.name}-{name}"  # ids unique across the team
            store.record_unique(name, as_records(name, records(tag, 6, seed=(40 + n) * 1000 + s)))
    laptop.transcript("s1", _assistant("msg_1", "req_1", "2026-12-01T10:00:01Z", 120)
                      + _assistant("msg_2", "req_2", "2026-12-02T09:00:00Z", 30))  # fmt: skip
    runner.transcript("s9", _assistant("msg_7", "req_7", "2026-12-02T11:00:00Z", 40, session="s9"))
    laptop.json("team", "init")
    for user, machine in (("ana", laptop), ("bo", runner)):
        pushed = machine.json("team", "push", "--user", user)
        assert pushed["added"] == 24 and pushed["usage"]["added"] >= 1, pushed
    return laptop, runner


def _stats_figures(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: doc[key] for key in STATS_FIGURES}


def test_team_report_equals_the_team_reads(team_db: str, tmp_path: Path) -> None:
    laptop, runner = _team(tmp_path)
    doc = laptop.json("report", "--team")

    assert doc["team"] == {"target": doc["team"]["target"], "machines": 2, "users": 2}
    assert doc["team"]["target"] in team_db
    # the usage section: the local report code over the team's requests
    for key, kind, by in (("daily", "daily", None), ("daily_by_model", "daily", "model"),
                          ("daily_by_agent", "daily", "agent"),
                          ("monthly_by_task", "monthly", "task")):  # fmt: skip
        args = ("usage", kind, "--team") + (("--by", by) if by else ())
        theirs = laptop.json(*args)
        assert doc["usage"][key]["totals"] == theirs["totals"], key
        assert doc["usage"][key]["rows"] == theirs["rows"], key
    # the team's usage is both machines' (their aio calls and their transcripts)
    mine = [m.json("usage", "daily")["totals"] for m in (laptop, runner)]
    usage = doc["usage"]["daily"]["totals"]
    assert usage["requests"] == sum(t["requests"] for t in mine)
    assert usage["output"] == sum(t["output"] for t in mine)
    assert round(usage["cost"], 9) == round(sum(t["cost"] for t in mine), 9)

    # aio's calls: aio team stats, per feature, model and day
    stats = laptop.json("team", "stats", "--by", "feature")
    assert _stats_figures(doc["stats"]) == _stats_figures(stats)
    assert doc["stats"]["groups"] == stats["groups"]
    assert doc["stats"]["by_model"] == laptop.json("team", "stats", "--by", "model")["groups"]
    assert doc["stats"]["by_day"] == laptop.json("team", "stats", "--by", "day")["groups"]
    local = [m.json("session", "stats") for m in (laptop, runner)]
    assert doc["stats"]["interactions"] == sum(s["interactions"] for s in local) == 48
    assert doc["stats"]["total_sessions"] == 8  # the same names on two machines: two sessions

    # sessions: every machine's, as session list --team
    listed = laptop.json("session", "list", "--team")["sessions"]
    assert len(doc["sessions"]) == len(listed) == 8
    assert {(s["user"], s["name"], s["interactions"], s["cost"]) for s in doc["sessions"]} == {
        (s["user"], s["session_name"], s["interactions"], round(s["cost"], 10)) for s in listed
    }
    flags = doc["flags"]
    assert flags["failed_interactions"] == stats["failed_interactions"]
    assert flags["unpriced_interactions"] == stats["unpriced_interactions"]
    assert flags["interrupted_interactions"] is None  # outcomes stay on each machine
    assert len(flags["failed_sessions"]) == sum(1 for s in listed if s["failed_interactions"])
    assert all("@" in name for name in flags["failed_sessions"])
    assert doc["features"] == [] and doc["budgets"] == []  # a workspace's: not the team's


def test_team_report_filters(team_db: str, tmp_path: Path) -> None:
    laptop, _runner = _team(tmp_path)
    day = laptop.json("report", "--team", "--since", "2026-11-03", "--until", "2026-11-05")
    assert sorted(day["stats"]["by_day"]) == ["2026-11-03", "2026-11-04", "2026-11-05"]
    window = laptop.json("team", "stats", "--by", "feature", "--since", "2026-11-03",
                         "--until", "20261105")  # fmt: skip
    assert _stats_figures(day["stats"]) == _stats_figures(window)
    assert day["stats"]["groups"] == window["groups"]
    since = laptop.json("team", "stats", "--since", "2026-11-03")
    later = laptop.json("team", "stats", "--since", "2026-11-06")
    # the calls on the 3rd..5th: those since the 3rd less those since the 6th
    assert day["stats"]["interactions"] == since["interactions"] - later["interactions"] > 0
    usage = laptop.json("usage", "daily", "--team", "--since", "2026-11-03", "--until",
                        "2026-11-05")  # fmt: skip
    assert day["usage"]["daily"]["totals"] == usage["totals"]
    # sessions are whole units, as locally: every session was last used on the 6th
    assert day["sessions"] == []
    sixth = laptop.json("report", "--team", "--since", "2026-11-06", "--until", "2026-11-06")
    assert len(sixth["sessions"]) == 8
    assert {s["last_used"][:10] for s in sixth["sessions"]} == {"2026-11-06"}
    assert {r["date"] for r in usage["rows"]} == {"2026-11-03", "2026-11-04", "2026-11-05"}

    groups = laptop.json("team", "stats", "--by", "feature")["groups"]
    one = laptop.json("report", "--team", "--feature", "feat1")
    assert one["stats"]["interactions"] == groups["feat1"]["interactions"] > 0
    assert one["stats"]["cost"] == groups["feat1"]["cost"]
    of_feature = laptop.json("team", "stats", "--by", "feature", "--feature", "feat1")
    assert _stats_figures(one["stats"]) == _stats_figures(of_feature)
    assert of_feature["feature"] == "feat1" and of_feature["total_sessions"] == 2
    assert list(one["stats"]["groups"]) == ["feat1"]
    assert {s["feature"] for s in one["sessions"]} == {"feat1"}
    assert len(one["sessions"]) == 2  # implement-feat1 on each machine
    # `aio usage` has no --feature: the library report under it, over the team
    feature_usage = team_usage_report(resolve(), "daily", Filters(feature="feat1"))
    assert one["usage"]["daily"]["totals"] == feature_usage["totals"]
    assert 0 < feature_usage["totals"]["requests"] < day["usage"]["daily"]["totals"]["requests"]


def test_team_report_page_is_offline_and_names_the_team_without_password(
    team_db: str, pg: PgServer, tmp_path: Path
) -> None:
    laptop, _runner = _team(tmp_path)
    with_password = pg.url(team_db.rsplit("/", 1)[1].split("?")[0], password=True)
    assert pg.password in with_password
    out = tmp_path / "team.html"
    result = laptop.aio("report", "--db", with_password, "--html", str(out))
    assert result.code == 0, result.err
    assert pg.password not in result.err + result.out
    page = out.read_text()
    assert pg.password not in page
    doc = laptop.json("report", "--db", with_password)
    masked = doc["team"]["target"]
    assert pg.password not in masked and "***" in masked, masked
    assert f"<code>{masked}</code>" in page and "aio team report" in page
    assert "2 machine(s) and 2 user(s)" in page
    # nothing loaded from any host: no external script, style, font, image or frame
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    # the local-workspace parts are left out, and the page says so
    assert "Workflow timelines" in page and "without <code>--team</code>" in page
    # the tables name the team's commands that print their rows
    assert "(aio team stats --by feature --json)" in page and "aio session stats" not in page
    assert "(aio usage daily --team --json)" in page
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page)
    assert found is not None
    data = json.loads(found.group(1))
    assert data["sessions"]["columns"][:3] == ["name", "user", "machine"]
    assert len(data["sessions"]["rows"]) == 8
    cost = re.search(r'id="stats-cost" data-value="([^"]+)"', page)
    assert cost and float(cost.group(1)) == doc["stats"]["cost"]
    usage = re.search(r'id="usage-requests" data-value="([^"]+)"', page)
    assert usage and int(usage.group(1)) == doc["usage"]["daily"]["totals"]["requests"]


def test_team_stats_and_report_refuse_bad_filters(team_db: str, tmp_path: Path) -> None:
    laptop = Machine(tmp_path / "laptop")
    laptop.json("team", "init")
    for command in (("team", "stats"), ("report", "--team")):
        for bad in (("--since", "2026-11-05", "--until", "2026-11-01"), ("--until", "soon"),
                    ("--feature", "../x")):  # fmt: skip
            result = laptop.aio(*command, *bad, "--json")
            assert result.code == 2 and result.err.count("\n") == 1, (command, bad, result.err)
            assert "Traceback" not in result.err


def test_team_report_server_down_is_one_line(tmp_path: Path) -> None:
    laptop = Machine(tmp_path / "laptop")
    out = tmp_path / "team.html"
    result = laptop.aio("report", "--db", "postgresql://nobody@127.0.0.1:1/x", "--html", str(out))
    assert result.code == 1, result.err
    assert result.err.count("\n") == 1 and result.err.startswith("aio: error: team "), result.err
    assert "Traceback" not in result.err and not out.exists()


@pytest.mark.parametrize(("version", "code", "says"), [
    (1, 1, "older than this aio needs"),
    (99, 5, "newer than this aio knows"),
])  # fmt: skip
def test_team_report_refuses_a_schema_it_cannot_read(
    team_db: str, tmp_path: Path, version: int, code: int, says: str
) -> None:
    with psycopg.connect(team_db, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA aio")
        conn.execute(
            "CREATE TABLE aio.migrations(version int PRIMARY KEY, applied_at timestamptz "
            "NOT NULL DEFAULT now(), aio_version text NOT NULL)"
        )
        conn.execute(schema.MIGRATIONS[1])
        conn.execute("INSERT INTO aio.migrations(version, aio_version) VALUES (%s, 'x')",
                     (version,))  # fmt: skip
    laptop = Machine(tmp_path / "laptop")
    for args in (("--json",), ("--html", str(tmp_path / "r.html"))):
        result = laptop.aio("report", "--team", *args)
        assert result.code == code, result.err
        assert result.err.count("\n") == 1 and says in result.err, result.err
        assert "Traceback" not in result.err
        if "--json" in args:  # the failure as a JSON document too, for a script reading it
            assert json.loads(result.out)["exit_code"] == code
        else:
            assert result.out == ""
    assert not (tmp_path / "r.html").exists()


def test_team_report_of_an_empty_team(team_db: str, tmp_path: Path) -> None:
    laptop = Machine(tmp_path / "laptop")
    laptop.json("team", "init")
    doc = laptop.json("report", "--team")
    assert doc["team"]["machines"] == 0 and doc["sessions"] == []
    assert doc["stats"]["interactions"] == 0 and doc["usage"]["daily"]["totals"]["requests"] == 0
    page = laptop.aio("report", "--team", "--html", "-")
    assert page.code == 0 and page.out.startswith("<!DOCTYPE html>"), page.err
    assert "No aio calls in scope." in page.out


@pytest.mark.process
def test_team_report_in_chromium(
    browser: Browser,  # noqa: F811 (the fixture of tests/report/test_browser.py)
    team_db: str,
    tmp_path: Path,
) -> None:
    """The team's page in a real headless Chromium: no console error, no request but the file,
    every chart drawn, the totals in the page equal the team's JSON reads."""
    laptop, _runner = _team(tmp_path)
    out = tmp_path / "team.html"
    result = laptop.aio("report", "--team", "--html", str(out))
    assert result.code == 0, result.err
    page = browser.page()
    try:
        load(page, out)
        assert drawn(page) == {
            "chart-daily", "chart-cache", "chart-tasks", "chart-features", "chart-savings",
        }  # fmt: skip

        usage = laptop.json("usage", "daily", "--team")["totals"]
        stats = laptop.json("team", "stats")
        assert _value(page, "usage-cost") == usage["cost"]
        assert _value(page, "usage-requests") == usage["requests"]
        assert _value(page, "stats-cost") == stats["cost"]
        assert _value(page, "stats-interactions") == stats["interactions"] == 48
        assert _value(page, "stats-sessions") == stats["total_sessions"] == 8
        assert _value(page, "stats-tokens") == stats["tokens"]["total"]
        assert _value(page, "flag-failed") == stats["failed_interactions"]
        assert page.evaluate("document.getElementById('flag-interrupted')") is None
        rows = page.evaluate("document.querySelectorAll('#session-table tbody tr').length")
        assert rows == 8
        page.evaluate("(() => { const f = document.getElementById('session-filter');"
                      " f.value = 'bo'; f.dispatchEvent(new Event('input')); })()")  # fmt: skip
        assert page.evaluate("document.querySelectorAll('#session-table tbody tr').length") == 4
        shot = screenshot(page, tmp_path / "team-report.png")
        print(f"\nteam report screenshot: {shot}")

        assert console_errors(page) == []
        assert requested(page) == [out.as_uri()]
    finally:
        page.close()

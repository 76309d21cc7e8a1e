"""The report document (``report.data.build``) as one self-contained HTML page.

Contract: ``render(doc) -> str`` is a complete HTML file that needs nothing from any host —
the charting library (Chart.js, vendored in ``report/vendor/``, see its ``README.md``), the
styles and the page's own script are inlined, no font is loaded (the system's UI font is
used), and the page carries a Content-Security-Policy (``default-src 'none'``) so a browser
refuses any request it might still try. Every chart's numbers are also in a table of the page
(tables of the small sections are written here; the sessions table, sortable and
filterable, is filled by the script from the embedded data). Each figure cell carries its
exact value in ``data-value``; the text shows it rounded. Light and dark follow the reader's
``prefers-color-scheme``.

The stacked by-feature chart shows the ``TOP_SERIES`` features of most cost and one "other"
series (the rest, added up per day) so a year of many features stays small. The per-feature
and per-task tables list their ``TABLE_ROWS`` costliest rows and say how many more the JSON
command prints; the sessions table holds every session in scope (its name says phase and
feature).
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

from ai_orchestrator.report.data import TASK_FEATURES

TOP_SERIES = 12
TOP_TASKS = 25
TABLE_ROWS = 200
SESSION_COLUMNS = (
    "name", "agent", "model", "outcome", "last_used", "interactions", "failed", "unpriced",
    "tokens", "cost",
)  # fmt: skip
TEAM_SESSION_COLUMNS = (
    "name", "user", "machine", "feature", "last_used", "interactions", "failed", "unpriced",
    "tokens", "cost",
)  # fmt: skip


def vendored(name: str) -> str:
    """A file of ``report/vendor`` (package data) as text."""
    return (resources.files("ai_orchestrator.report") / "vendor" / name).read_text("utf-8")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _usd(value: float) -> str:
    return f"${value:,.2f}" if abs(value) >= 0.01 or value == 0 else f"${value:.4f}"


def _num(value: int) -> str:
    return f"{value:,}"


def _cell(value: Any, kind: str = "") -> str:
    if kind == "usd":
        return f'<td class="n" data-value="{_e(value)}">{_usd(float(value))}</td>'
    if kind == "int":
        return f'<td class="n" data-value="{_e(value)}">{_num(int(value))}</td>'
    return f"<td>{_e(value if value not in (None, '') else '-')}</td>"


def _table(
    ident: str, caption: str, head: list[str], rows: list[str], foot: str = ""
) -> str:
    cols = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(rows) or f'<tr><td colspan="{len(head)}">none</td></tr>'
    return (
        f'<table id="{ident}"><caption>{_e(caption)}</caption><thead><tr>{cols}</tr></thead>'
        f"<tbody>{body}</tbody>{foot}</table>"
    )


def _usage_tables(usage: dict[str, Any], team: str = "") -> tuple[str, str]:
    """The per-day table, and the per-task one (or why there is none); ``team``: the
    ``--team`` of the commands named (" --team" on the team's page)."""
    daily = usage["daily"]
    rows = [
        "<tr>" + _cell(r["date"]) + _cell(r["requests"], "int") + _cell(r["input"], "int")
        + _cell(r["output"], "int") + _cell(r["cache_read"], "int")
        + _cell(r["cache_write"], "int") + _cell(r["cost"], "usd")
        + _cell(r["unpriced_requests"], "int") + "</tr>"
        for r in daily["rows"]
    ]  # fmt: skip
    t = daily["totals"]
    foot = (
        '<tfoot><tr id="usage-total"><th>Total</th>' + _cell(t["requests"], "int")
        + _cell(t["input"], "int") + _cell(t["output"], "int") + _cell(t["cache_read"], "int")
        + _cell(t["cache_write"], "int") + _cell(t["cost"], "usd")
        + _cell(t["unpriced_requests"], "int") + "</tr></tfoot>"
    )  # fmt: skip
    head = ["Day", "Requests", "Input", "Output", "Cache read", "Cache write", "Cost", "Unpriced"]
    daily_table = _table("daily-table", f"Per day (aio usage daily{team} --json)", head, rows, foot)
    if usage["monthly_by_task"] is None:
        return daily_table, (f"<p>More than {TASK_FEATURES} features in scope: per task with "
                             "<code>--feature F</code>.</p>")  # fmt: skip
    tasks = sorted(usage["monthly_by_task"]["rows"], key=lambda r: -r["cost"])
    more = _more(len(tasks), f"aio usage monthly --by task{team} --json")
    task_rows = [
        "<tr>" + _cell(r["month"]) + _cell(r["task"]) + _cell(r["requests"], "int")
        + _cell(r["input"] + r["output"] + r["cache_read"] + r["cache_write"], "int")
        + _cell(r["cost"], "usd") + "</tr>"
        for r in tasks[:TABLE_ROWS]
    ]  # fmt: skip
    task_table = _table(
        "task-table", f"Per month and task (aio usage monthly --by task{team} --json){more}",
        ["Month", "Feature:task", "Requests", "Tokens", "Cost"], task_rows,
    )  # fmt: skip
    return daily_table, task_table


def _more(count: int, command: str) -> str:
    if count <= TABLE_ROWS:
        return ""
    return f"; the {TABLE_ROWS} costliest of {count} rows (all: {command})"


def _feature_table(stats: dict[str, Any], command: str = "aio session stats") -> str:
    rows = []
    groups = sorted(stats["groups"].items(), key=lambda kv: -kv[1]["cost"])
    more = _more(len(groups), f"{command} --by feature --json")
    for name, g in groups[:TABLE_ROWS]:
        tok = g["tokens"]
        rows.append(
            "<tr>" + _cell(name) + _cell(g["sessions"], "int") + _cell(g["interactions"], "int")
            + _cell(tok["input"] + tok["output"] + tok["cache_read"] + tok["cache_write"], "int")
            + _cell(tok["cache_read"], "int") + _cell(g["cost"], "usd")
            + _cell(g["savings"], "usd") + _cell(g["unpriced_interactions"], "int") + "</tr>"
        )  # fmt: skip
    head = ["Feature", "Sessions", "Calls", "Tokens", "Cache read", "Cost", "Savings", "Unpriced"]
    return _table(
        "feature-table", f"Per feature ({command} --by feature --json){more}", head, rows
    )


def _savings_section(stats: dict[str, Any], command: str = "aio session stats") -> str:
    by_day = stats.get("by_day")
    if by_day == {}:
        return ('<section id="savings"><h2>Cache savings per day</h2><p>No aio calls in '
                "scope.</p></section>")  # fmt: skip
    if not by_day:
        return ("<section id=\"savings\"><h2>Cache savings per day</h2><p>Too many sessions in "
                "scope to read every log: narrow with <code>--feature</code> or "
                "<code>--since</code>.</p></section>")  # fmt: skip
    rows = [
        "<tr>" + _cell(day) + _cell(g["interactions"], "int") + _cell(g["cost"], "usd")
        + _cell(g["savings"], "usd") + "</tr>"
        for day, g in by_day.items()
    ]  # fmt: skip
    table = _table("savings-table", f"Per UTC day ({command} --by day --json)",
                   ["Day", "Calls", "Cost", "Cache savings"], rows)  # fmt: skip
    return (
        '<section id="savings"><h2>Cache savings per day</h2><div class="chart small">'
        '<canvas id="chart-savings" role="img" aria-label="aio calls: cost and cache savings '
        f'per day"></canvas></div><details><summary>Numbers</summary>{table}</details>'
        "</section>"
    )


def _model_table(stats: dict[str, Any], command: str = "aio session stats") -> str:
    rows = [
        "<tr>" + _cell(name) + _cell(g["interactions"], "int") + _cell(g["cost"], "usd")
        + _cell(g["savings"], "usd") + "</tr>"
        for name, g in stats["by_model"].items()
    ]  # fmt: skip
    return _table(
        "model-table", f"Per model ({command} --by model --json)",
        ["Model", "Calls", "Cost", "Savings"], rows,
    )  # fmt: skip


def _totals(doc: dict[str, Any]) -> str:
    stats = doc["stats"]
    items = [
        ("stats-cost", "aio calls: cost", stats["cost"], "usd"),
        ("stats-interactions", "aio calls", stats["interactions"], "int"),
        ("stats-sessions", "aio sessions", stats["total_sessions"], "int"),
        ("stats-tokens", "aio tokens", stats["tokens"]["total"], "int"),
        ("stats-savings", "cache savings", stats["cache_savings"], "usd"),
        ("stats-cache-share", "cache read share", stats["cache_read_share"], ""),
    ]
    if doc["usage"] is not None:
        t = doc["usage"]["daily"]["totals"]
        items[:0] = [
            ("usage-cost", "all agents: cost", t["cost"], "usd"),
            ("usage-requests", "all agents: requests", t["requests"], "int"),
        ]
    cards = []
    for ident, label, value, kind in items:
        shown = (
            _usd(value) if kind == "usd" else _num(value) if kind == "int"
            else f"{float(value) * 100:.1f}%"
        )  # fmt: skip
        cards.append(
            f'<div class="card"><div class="label">{_e(label)}</div>'
            f'<div class="big" id="{ident}" data-value="{_e(value)}">{shown}</div></div>'
        )
    return '<div class="cards">' + "".join(cards) + "</div>"


def _flags(flags: dict[str, Any]) -> str:
    items = [
        ("flag-unpriced", "unpriced aio calls (cost unknown, not in the cost)",
         flags["unpriced_interactions"]),
        ("flag-reported", "cost that is only the agent's own figure (USD)",
         flags["cost_reported"]),
        ("flag-failed", "failed aio calls", flags["failed_interactions"]),
        ("flag-interrupted", "interrupted aio calls", flags["interrupted_interactions"]),
    ]  # fmt: skip
    if flags["interrupted_interactions"] is None:  # the team's rollup has no outcomes
        items.pop()
    if "usage_unpriced_requests" in flags:
        items += [
            ("flag-usage-unpriced", "unpriced requests (all agents)",
             flags["usage_unpriced_requests"]),
            ("flag-usage-reported", "reported-only cost, all agents (USD)",
             flags["usage_reported_cost"]),
        ]  # fmt: skip
    rows = [
        f'<tr class="{"warn" if value else ""}"><td>{_e(label)}</td>'
        f'<td class="n" id="{ident}" data-value="{_e(value)}">{_e(value)}</td></tr>'
        for ident, label, value in items
    ]
    rows += [
        f'<tr class="warn"><td>failed with outcome {_e(outcome)}</td>'
        f'<td class="n" data-value="{n}">{n}</td></tr>'
        for outcome, n in flags["failed_by_outcome"].items()
    ]
    table = _table("flags-table", "Flags", ["What", "Count"], rows)
    names = flags["unpriced_sessions"] + flags["failed_sessions"]
    listed = (
        "<p>Sessions: " + ", ".join(f"<code>{_e(n)}</code>" for n in sorted(set(names))[:50])
        + ("…" if len(set(names)) > 50 else "") + "</p>"
        if names else ""
    )  # fmt: skip
    return table + listed


def _budgets(budgets: list[dict[str, Any]]) -> str:
    rows = [
        f'<tr class="{"warn" if b["over"] else ""}">' + _cell(b["feature"])
        + _cell(b["spent"], "usd")
        + (_cell(b["budget"], "usd") if b["budget"] else _cell("none"))
        + _cell(f"{b['share'] * 100:.0f}%" if b["share"] is not None else "-")
        + _cell(b["unpriced"], "int") + "</tr>"
        for b in budgets
    ]  # fmt: skip
    return _table(
        "budget-table", "Spent vs budget per feature (all of the feature's sessions)",
        ["Feature", "Spent", "Budget", "Used", "Unpriced calls"], rows,
    )  # fmt: skip


def _run_badges(runs: list[dict[str, Any]]) -> str:
    out = []
    for run in runs:
        kind = "red" if run.get("red") else "green" if run.get("green") else "none"
        out.append(
            f'<span class="badge {kind}" title="{_e(run.get("passed"))} passed, '
            f'{_e(run.get("failed"))} failed">{_e(run.get("label") or kind)}</span>'
        )
    return " ".join(out)


def _timelines(features: list[dict[str, Any]]) -> str:
    parts = []
    for f in features:
        tasks = "".join(
            f'<li><span class="badge {_e(t["status"])}">{_e(t["status"])}</span> '
            f"<b>{_e(t['id'])}</b> {_e(t['title'])}</li>"
            for t in f["tasks"]
        )
        rows = []
        for ev in f["events"]:
            findings = ev["findings"]
            extra = (
                ", ".join(f"{k} {v}" for k, v in findings.items() if v) if findings else ""
            )
            if ev.get("verdict"):
                extra = f"verdict {ev['verdict']}" + (f"; {extra}" if extra else "")
            rows.append(
                "<tr>" + _cell(ev["timestamp"]) + _cell(ev["command"]) + _cell(ev["task_id"])
                + f'<td><span class="badge {_e(ev["status"])}">{_e(ev["status"])}</span></td>'
                + f"<td>{_run_badges(ev['test_runs'])}</td>" + _cell(ev["fix_rounds"], "int")
                + _cell(extra) + _cell(ev["error"]) + "</tr>"
            )  # fmt: skip
        table = _table(
            f"timeline-{_e(f['feature'])}", f"History of {f['feature']}",
            ["When", "Command", "Task", "Status", "Test runs", "Fix rounds", "Findings",
             "Error"], rows,
        )  # fmt: skip
        parts.append(
            f"<details open><summary><b>{_e(f['feature'])}</b> — {_e(f['status'])} "
            f"{_e(f['description'])}</summary><ol class=\"tasks\">{tasks}</ol>{table}</details>"
        )
    return "".join(parts) or "<p>No features in this workspace (or no workspace).</p>"


def _top_series(
    rows: list[dict[str, Any]], key: str, days: list[str]
) -> dict[str, list[float]]:
    """Cost per day of each value of ``key``; beyond ``TOP_SERIES`` values, one "other"."""
    totals: dict[str, float] = {}
    for r in rows:
        label = r.get(key) or "(none)"
        totals[label] = totals.get(label, 0.0) + r["cost"]
    top = sorted(totals, key=lambda k: -totals[k])[:TOP_SERIES]
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[float]] = {k: [0.0] * len(days) for k in top}
    others = len(totals) - len(top)
    other_name = f"other ({others})"
    for r in rows:
        label = r.get(key) or "(none)"
        name = label if label in series else other_name
        series.setdefault(name, [0.0] * len(days))[index[r["date"]]] += r["cost"]
    return {k: [round(v, 6) for v in vals] for k, vals in series.items()}


def chart_data(doc: dict[str, Any]) -> dict[str, Any]:
    """What the page's script draws (and fills the sessions table with), compact."""
    columns = TEAM_SESSION_COLUMNS if doc.get("team") else SESSION_COLUMNS
    out: dict[str, Any] = {"sessions": {"columns": columns, "rows": [
        [s[c] for c in columns] for s in doc["sessions"]
    ]}}  # fmt: skip
    stats = doc["stats"]
    groups = sorted(stats["groups"].items(), key=lambda kv: -kv[1]["cost"])[:TOP_TASKS]
    out["features"] = {
        "labels": [name for name, _g in groups],
        "cost": [g["cost"] for _n, g in groups],
        "savings": [g["savings"] for _n, g in groups],
    }
    out["budgets"] = doc["budgets"]
    by_day = stats.get("by_day")
    if by_day:
        out["savings"] = {"days": list(by_day), "savings": [g["savings"] for g in by_day.values()],
                          "cost": [g["cost"] for g in by_day.values()]}  # fmt: skip
    usage = doc["usage"]
    if usage is None:
        return out
    daily = usage["daily"]["rows"]
    days = [r["date"] for r in daily]
    out["days"] = days
    out["cost"] = [r["cost"] for r in daily]
    out["cache_share"] = [
        round(r["cache_read"] / d, 4) if (d := r["input"] + r["cache_read"] + r["cache_write"])
        else 0 for r in daily
    ]  # fmt: skip
    out["stacks"] = {
        by: _top_series(usage[f"daily_by_{by}"]["rows"], by, days)
        for by in ("model", "agent", "feature")
    }
    by_task = usage["monthly_by_task"]
    tasks = sorted(by_task["rows"] if by_task else [], key=lambda r: -r["cost"])[:TOP_TASKS]
    out["tasks"] = {
        "labels": [f"{r['month']} {r['task']}" for r in tasks],
        "cost": [r["cost"] for r in tasks],
    }
    return out


def _json_script(ident: str, data: Any) -> str:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("</", "<\\/").replace("<!--", "<\\!--")
    return f'<script type="application/json" id="{ident}">{text}</script>'


def render(doc: dict[str, Any]) -> str:
    """The whole page (see the module docstring)."""
    filters = doc["filters"]
    stats_cmd = "aio team stats" if doc.get("team") else "aio session stats"
    scope = ", ".join(f"{k} {v}" for k, v in filters.items() if v) or "everything"
    usage = doc["usage"]
    if usage is not None:
        daily_table, task_table = _usage_tables(usage, " --team" if doc.get("team") else "")
        usage_part = (
            '<section id="cost"><h2>Cost per day</h2><div class="toggle" role="group">'
            '<button data-by="model" aria-pressed="true">by model</button>'
            '<button data-by="agent">by agent</button>'
            '<button data-by="feature">by feature</button></div>'
            '<div class="chart"><canvas id="chart-daily" role="img" '
            'aria-label="Cost per day, stacked; numbers in the table below"></canvas></div>'
            f"<details><summary>Numbers</summary>{daily_table}</details></section>"
            '<section id="cache"><h2>Cache share per day</h2><div class="chart small">'
            '<canvas id="chart-cache" role="img" aria-label="Share of input read from cache '
            'per day"></canvas></div></section>'
            '<section id="tasks"><h2>Cost by task</h2><div class="chart">'
            '<canvas id="chart-tasks" role="img" aria-label="Cost of the costliest tasks">'
            f"</canvas></div><details><summary>Numbers</summary>{task_table}</details></section>"
        )
    else:
        usage_part = (
            '<section id="cost"><h2>Cost per day</h2><p>No usage index: run '
            "<code>aio usage sync</code> first.</p></section>"
        )
    team = doc.get("team")
    if team:
        title = "aio team report"
        intro = (
            f"<p id=\"team\">The team's figures: database <code>{_e(team['target'])}</code>, "
            f"{_num(team['machines'])} machine(s) and {_num(team['users'])} user(s) that pushed "
            "usage.</p>"
        )
        sources = "<code>aio usage … --team --json</code> and <code>aio team stats --json</code>"
        local_only = (
            "<p>{} belong to a project's workspace on one machine: see <code>aio report</code> "
            "without <code>--team</code> in the project.</p>"
        )
        budgets_part = local_only.format("Budgets")
        outcomes = ("<p>The team database keeps failed calls, not their outcomes: per outcome "
                    "see each machine's <code>aio report</code>.</p>")  # fmt: skip
        timeline_part = local_only.format("Workflow timelines (tasks, red → green runs, fix "
                                          "rounds, review findings, verify results)")  # fmt: skip
    else:
        title = "aio report"
        intro = ""
        sources = "<code>aio usage … --json</code> and <code>aio session stats --json</code>"
        budgets_part = (
            '<div class="chart small"><canvas id="chart-budgets" role="img" '
            f'aria-label="Spent vs budget"></canvas></div>{_budgets(doc["budgets"])}'
        )
        outcomes = ""
        timeline_part = _timelines(doc["features"])
    style = _STYLE
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{title} — {_e(scope)}</title><style>{style}</style></head><body>"
        f"<header><h1>{title}</h1>{intro}<p>Scope: {_e(scope)}. Generated "
        f"{_e(doc['generated_at'])}. Figures are those of {sources} for the same filters.</p>"
        "</header>"
        f'<section id="totals"><h2>Totals</h2>{_totals(doc)}</section>'
        f"{usage_part}{_savings_section(doc['stats'], stats_cmd)}"
        '<section id="features"><h2>Cost and tokens by feature</h2><div class="chart">'
        '<canvas id="chart-features" role="img" aria-label="Cost and savings per feature">'
        f"</canvas></div>{_feature_table(doc['stats'], stats_cmd)}"
        f"{_model_table(doc['stats'], stats_cmd)}</section>"
        f'<section id="budgets"><h2>Budgets</h2>{budgets_part}</section>'
        f'<section id="flags"><h2>Flags</h2>{_flags(doc["flags"])}{outcomes}</section>'
        '<section id="sessions"><h2>Sessions</h2><input id="session-filter" type="search" '
        'placeholder="filter sessions (name, feature, model, outcome …)" '
        'aria-label="filter sessions"><p id="session-count"></p>'
        '<table id="session-table"><thead></thead><tbody></tbody></table></section>'
        f'<section id="timeline"><h2>Workflow</h2>{timeline_part}</section>'
        + "".join(f'<p class="problem">{_e(p)}</p>' for p in doc["problems"])
        + _json_script("report-data", chart_data(doc))
        + f"<script>{vendored('chart.umd.min.js')}</script><script>{_SCRIPT}</script>"
        "</body></html>"
    )


_STYLE = """
:root{--bg:#fff;--fg:#1b1f24;--muted:#59636e;--line:#d1d9e0;--card:#f6f8fa;--red:#cf222e;
--green:#1a7f37;--warn:#fff8c5;font-family:system-ui,sans-serif;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;
--line:#3d444d;--card:#151b23;--red:#f85149;--green:#3fb950;--warn:#3b2e00}}
body{background:var(--bg);color:var(--fg);margin:0 auto;max-width:1200px;padding:1rem}
h1,h2{font-weight:600}h2{border-bottom:1px solid var(--line);padding-bottom:.3rem}
header p,caption{color:var(--muted)}caption{text-align:left;padding:.3rem 0}
.cards{display:flex;flex-wrap:wrap;gap:.6rem}.card{background:var(--card);
border:1px solid var(--line);border-radius:6px;padding:.6rem .9rem;min-width:9rem}
.label{color:var(--muted);font-size:.85rem}.big{font-size:1.4rem;font-weight:600}
.chart{position:relative;height:320px}.chart.small{height:220px}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.85rem}
th,td{border-bottom:1px solid var(--line);padding:.25rem .4rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.warn td{background:var(--warn)}
thead th{cursor:pointer;user-select:none}.badge{border-radius:4px;padding:0 .35rem;
font-size:.8rem;border:1px solid var(--line)}.badge.red,.badge.failed,.badge.error,
.badge.interrupted,.badge.timeout{color:var(--red)}.badge.green,.badge.success,
.badge.completed{color:var(--green)}button{background:var(--card);color:var(--fg);
border:1px solid var(--line);border-radius:4px;padding:.2rem .6rem;cursor:pointer}
button[aria-pressed=true]{border-color:var(--fg);font-weight:600}
input[type=search]{width:100%;padding:.35rem;background:var(--card);color:var(--fg);
border:1px solid var(--line);border-radius:4px}.problem{color:var(--red)}
"""

_SCRIPT = """
(function(){
'use strict';
var D=JSON.parse(document.getElementById('report-data').textContent);
var css=function(n){return getComputedStyle(document.documentElement).getPropertyValue(n).trim();};
var PAL=['#4e79a7','#f28e2b','#e15759','#76b7b2','#59a14f','#edc948','#b07aa1','#ff9da7',
'#9c755f','#bab0ac','#86bcb6','#d37295','#8cd17d'];
var charts=[];var by='model';
function usd(v){v=Number(v);return '$'+(Math.abs(v)>=1||v===0?v.toFixed(2):v.toPrecision(2));}
function base(){Chart.defaults.color=css('--fg');Chart.defaults.borderColor=css('--line');
Chart.defaults.animation=false;Chart.defaults.maintainAspectRatio=false;}
function make(id,cfg){var el=document.getElementById(id);if(!el)return;
charts.push(new Chart(el,cfg));}
function trend(v){var o=[];for(var i=0;i<v.length;i++){var s=0,n=0;
for(var j=Math.max(0,i-6);j<=i;j++){s+=v[j];n++;}o.push(s/n);}return o;}
function daily(){var st=D.stacks[by];var names=Object.keys(st);
var ds=names.map(function(k,i){return {type:'bar',label:k,data:st[k],stack:'c',
backgroundColor:PAL[i%PAL.length]};});
ds.push({type:'line',label:'7-day average',data:trend(D.cost),borderColor:css('--fg'),
pointRadius:0,borderWidth:1.5});
make('chart-daily',{data:{labels:D.days,datasets:ds},options:{scales:{x:{stacked:true},
y:{stacked:true,ticks:{callback:usd}}},plugins:{tooltip:{callbacks:{label:function(c){
return c.dataset.label+': '+usd(c.parsed.y);}}}}}});}
function draw(){charts.forEach(function(c){c.destroy();});charts=[];base();
if(D.days){daily();
make('chart-cache',{type:'line',data:{labels:D.days,datasets:[{label:'cache read share',
data:D.cache_share,borderColor:PAL[3],pointRadius:0,fill:true,backgroundColor:PAL[3]+'55'}]},
options:{scales:{y:{min:0,max:1}}}});
make('chart-tasks',{type:'bar',data:{labels:D.tasks.labels,datasets:[{label:'cost',
data:D.tasks.cost,backgroundColor:PAL[1]}]},options:{indexAxis:'y',
scales:{x:{ticks:{callback:usd}}}}});}
if(D.savings)make('chart-savings',{type:'line',data:{labels:D.savings.days,datasets:[
{label:'cost',data:D.savings.cost,borderColor:PAL[0],pointRadius:2},
{label:'cache savings',data:D.savings.savings,borderColor:PAL[4],pointRadius:2}]},
options:{scales:{y:{ticks:{callback:usd}}}}});
make('chart-features',{type:'bar',data:{labels:D.features.labels,datasets:[
{label:'cost',data:D.features.cost,backgroundColor:PAL[0]},
{label:'cache savings',data:D.features.savings,backgroundColor:PAL[4]}]},
options:{scales:{y:{ticks:{callback:usd}}}}});
var b=D.budgets.filter(function(x){return x.budget;});
make('chart-budgets',{type:'bar',data:{labels:b.map(function(x){return x.feature;}),
datasets:[{label:'spent',data:b.map(function(x){return x.spent;}),backgroundColor:PAL[2]},
{label:'budget',data:b.map(function(x){return x.budget;}),backgroundColor:PAL[9]}]},
options:{indexAxis:'y',scales:{x:{ticks:{callback:usd}}}}});}
document.querySelectorAll('.toggle button').forEach(function(btn){
btn.addEventListener('click',function(){by=btn.dataset.by;
document.querySelectorAll('.toggle button').forEach(function(o){
o.setAttribute('aria-pressed',String(o===btn));});draw();});});
var S=D.sessions,key=S.columns.indexOf('last_used'),desc=true,LIMIT=500;
var tbl=document.getElementById('session-table'),flt=document.getElementById('session-filter');
tbl.tHead.innerHTML='<tr>'+S.columns.map(function(c,i){return '<th data-i="'+i+'">'+
c.replace('_',' ')+'</th>';}).join('')+'</tr>';
tbl.tHead.addEventListener('click',function(e){var i=e.target.dataset.i;if(i===undefined)return;
i=Number(i);desc=(key===i)?!desc:true;key=i;fill();});
flt.addEventListener('input',fill);
function fill(){var q=flt.value.toLowerCase();var rows=S.rows.filter(function(r){
return !q||r.join(' ').toLowerCase().indexOf(q)>=0;});
rows.sort(function(a,b){var x=a[key],y=b[key];if(x===y)return 0;if(x===null)return 1;
if(y===null)return -1;return (x<y?-1:1)*(desc?-1:1);});
var body=document.createElement('tbody');rows.slice(0,LIMIT).forEach(function(r){
var tr=document.createElement('tr');r.forEach(function(v,i){var td=document.createElement('td');
if(typeof v==='number'){td.className='n';td.dataset.value=v;
td.textContent=S.columns[i]==='cost'?usd(v):v.toLocaleString('en');}
else td.textContent=v===null?'-':v;
if(S.columns[i]==='outcome'&&v&&v!=='success')tr.className='warn';tr.appendChild(td);});
body.appendChild(tr);});tbl.replaceChild(body,tbl.tBodies[0]);
document.getElementById('session-count').textContent=rows.length+' of '+S.rows.length+
' sessions'+(rows.length>LIMIT?' (first '+LIMIT+' shown: filter to narrow)':'');}
fill();draw();
window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change',draw);
document.body.dataset.rendered='true';
})();
"""

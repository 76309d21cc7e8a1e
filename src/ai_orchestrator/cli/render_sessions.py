"""Human-readable rendering of sessions and statistics (rich tables on stdout)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_orchestrator.cli import output, tables
from ai_orchestrator.cli.tables import Cell, Column
from ai_orchestrator.core.causes import failure_cause
from ai_orchestrator.core.figures import duration
from ai_orchestrator.infra.timeutil import parse_iso, within_days

if TYPE_CHECKING:  # the store loads when a table is printed, not to complete a word
    from ai_orchestrator.core.interaction import Interaction
    from ai_orchestrator.infra.locks import Holder
    from ai_orchestrator.store import SessionView
    from ai_orchestrator.store.index import SessionRow
    from ai_orchestrator.store.summary import ModelBucket, SessionSummary


def _reported(cost: float, reported: float, agents: Sequence[str]) -> str:
    """A cost of which ``reported`` is only the agents' own figure, never shown plain:
    "$x reported by A" when all of it is, "$x incl. $y reported by A" when part is."""
    if reported <= 0:
        return output.money(cost)
    by = f"reported by {', '.join(agents) or 'the agent'}"
    if reported >= cost - 1e-12:
        return f"{output.money(cost)} {by}"
    return f"{output.money(cost)} incl. {output.money(reported)} {by}"


def cost_text(
    cost: float,
    unpriced: int,
    calls: int,
    bucket: Mapping[str, Any] | SessionSummary | ModelBucket | None = None,
) -> str:
    """A cost that says when it is incomplete: "unpriced" if no call of it could be
    priced, "$x + N unpriced" if some could not; and which part only the agent reported
    (``bucket``'s ``cost_reported`` and ``cost_reported_by``: a summary, one of its models,
    or a ``stats`` group)."""
    if unpriced and unpriced >= calls:
        return "unpriced"
    if bucket is None or isinstance(bucket, Mapping):
        bucket = bucket or {}
        reported = float(bucket.get("cost_reported") or 0.0)
        by: Sequence[str] = bucket.get("cost_reported_by") or []
    else:
        reported, by = bucket.cost_reported, bucket.cost_reported_by
    text = _reported(cost, reported, by)
    return f"{text} + {unpriced} unpriced" if unpriced else text


def _age_style(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "red"
    days = (now - moment).total_seconds() / 86400
    return "green" if days < 7 else "yellow" if days < 30 else "red"


def _list_cost(cost: float, unpriced: int, calls: int, reported: float) -> str:
    """``list``'s short cost: ``unpriced`` when no call could be priced, else the figure
    with ``*`` (some calls unpriced) and ``^`` (some only reported by the agent)."""
    if calls and unpriced >= calls:
        return "unpriced"
    return output.money(cost) + ("*" if unpriced else "") + ("^" if reported else "")


ACTIVE_DAYS = 30  # the default window of "active" (list/stats --days)


def list_status(summary: SessionSummary, active: bool) -> str:
    """The word the Status column shows, in the footer's terms: a session whose last call
    failed (or lost its conversation) says so; otherwise ``active`` (used within the
    window) or ``idle``. ``summary.status`` itself (``--json``) is unchanged."""
    status = summary.status
    if status in ("failed", "lost", "new"):
        return status
    return "active" if active else "idle"


LIST_COLUMNS = (
    Column("Session", ident=True),
    Column("Last used", drop=0),
    Column("Agent", drop=6, layout="wide"),
    Column("Model", drop=5, ident=True, layout="wide"),
    Column("Agent/model", drop=5, ident=True, layout="compact"),
    Column("Calls", justify="right", drop=4),
    Column("Tokens in/out", justify="right", drop=3, layout="wide"),
    Column("Cache read/write", justify="right", drop=7, layout="wide"),
    Column("Tokens", justify="right", drop=3, layout="compact"),
    Column("Cost", justify="right"),
    Column("Status"),
)


def print_list(
    rows: Sequence[SessionRow],
    root: Path,
    total: int,
    active: int,
    days: float,
    now: datetime,
    *,
    wide: bool = False,
) -> None:
    from ai_orchestrator.store.stats import active_cutoff, total_tokens

    cutoff = active_cutoff(days, now)
    cells: list[list[Cell]] = []
    for row in rows:
        s = row.summary
        moment = parse_iso(row.last_activity)
        tokens = row.tokens
        agent, model = s.agent or "-", s.model or "-"
        status = list_status(s, (row.last_activity or "") > cutoff)
        cells.append(
            [
                row.name,
                (tables.when(moment, now), _age_style(moment, now)),
                agent,
                model,
                f"{agent}/{model}",
                output.count(row.interactions),
                f"{output.count(tokens['input'])}/{output.count(tokens['output'])}",
                f"{output.count(tokens['cache_read'])}/{output.count(tokens['cache_write'])}",
                tables.short_count(total_tokens(tokens)),
                _list_cost(row.cost, row.unpriced, row.interactions, row.reported),
                (status + (" !" if row.problems else ""), _STATUS_STYLE.get(status, "")),
            ]
        )
    totals: list[Cell] | None = None
    if len(rows) > 1:
        summed = {k: sum(r.tokens[k] for r in rows) for k in rows[0].tokens}
        totals = [
            "Total",
            "",
            "",
            "",
            "",
            output.count(sum(r.interactions for r in rows)),
            f"{output.count(summed['input'])}/{output.count(summed['output'])}",
            f"{output.count(summed['cache_read'])}/{output.count(summed['cache_write'])}",
            tables.short_count(total_tokens(summed)),
            _list_cost(
                sum(r.cost for r in rows),
                sum(r.unpriced for r in rows),
                sum(r.interactions for r in rows),
                sum(r.reported for r in rows),
            ),
            "",
        ]
    console = output.out()
    tables.print_table(f"AI sessions in {root}", LIST_COLUMNS, cells, totals=totals, wide=wide)
    console.print(
        f"Total sessions: {total} (Active: {active}, used within {tables.days(days)}; "
        f"Idle: {total - active})",
        markup=False,
    )
    if any(r.problems for r in rows):
        console.print("! the session has problems (named on stderr above)", markup=False)
    if any(r.unpriced for r in rows):
        console.print(
            "* includes unpriced interactions (a model not in the price table, or usage the "
            "agent never reported)"
        )
    reporters = sorted({a for r in rows for a in r.reported_by})
    if reporters:
        console.print(
            f"^ includes costs reported by {', '.join(reporters)} (not computed: model not "
            "in the price table)",
            markup=False,
        )


_STATUS_STYLE = {"active": "green", "idle": "dim", "failed": "red", "lost": "red"}


def print_strays(strays: Sequence[Mapping[str, Any]]) -> None:
    """Shell-version sessions ``list`` cannot show as sessions (their names are invalid)."""
    if not strays:
        return
    console = output.out()
    console.print(
        f"Not migrated: {len(strays)} shell-version session(s) whose names are not "
        "<command>-<feature-id> (run: aio session migrate, or --rename OLD=NEW):",
        markup=False,
    )
    for item in strays:
        console.print(
            f"  {item['legacy_name']} -> {item['migrates_to']}: "
            f"{output.count(item['interactions'])} interaction(s), "
            f"{output.money(item['cost'])}, last used {tables.when(parse_iso(item['last_used']))}",
            markup=False,
        )


def print_not_aio(foreign: Sequence[Mapping[str, str]]) -> None:
    """Entries of the store that are not aio's: named once, never touched."""
    if not foreign:
        return
    console = output.out()
    console.print(
        f"Not aio's: {len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} in the store "
        "that aio did not make (left alone: never written into or removed):",
        markup=False,
    )
    for item in foreign:
        slash = "/" if item["kind"] == "directory" else ""
        console.print(f"  {item['name']}{slash}: {item['reason']}", markup=False)


INTERACTION_COLUMNS = (
    Column("When"),
    Column("Task", ident=True, drop=3),
    Column("Agent/model", ident=True, drop=4),
    Column("Outcome", max_width=40),
    Column("In/out", justify="right", drop=2),
    Column("Cache r/w", justify="right", drop=5),
    Column("Cost", justify="right"),
    Column("Time", justify="right", drop=1),
    Column("Prompt", max_width=40, drop=6),
)


def _interaction_rows(records: Sequence[Interaction], now: datetime) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for r in records:
        t = r.tokens
        outcome = r.outcome
        said = failure_cause(outcome, r.error) or outcome
        rows.append(
            [
                tables.local_time(parse_iso(r.timestamp), now),
                r.task_id or "-",
                f"{r.agent or '-'}/{r.model or '-'}",
                (said, "" if outcome == "success" else "red"),
                *(
                    ("unknown", "unknown")  # the agent reported no usage: never "0/0"
                    if r.usage_unknown
                    else (
                        f"{output.count(t.input)}/{output.count(t.output)}",
                        f"{output.count(t.cache_read)}/{output.count(t.cache_write)}",
                    )
                ),
                (
                    f"{output.money(r.cost)} reported by {r.agent or 'the agent'}"
                    if r.cost_source == "reported"
                    else "unknown"  # no usage, so no cost: not a price missing
                    if r.usage_unknown
                    else output.money(r.cost, unpriced=r.cost_source == "unpriced")
                ),
                duration(r.duration_ms / 1000),
                " ".join(r.prompt_preview.split()),
            ]
        )
    return rows


def pairs(width: int, *fields: str, sep: str = "    ") -> list[str]:
    """Short fields on one line (``sep`` apart) when they fit ``width``, else one a line: a
    long value is never broken across lines."""
    joined = sep.join(fields)
    return [joined] if len(joined) <= width else list(fields)


def savings_text(savings: float, unpriced: int, calls: int) -> str:
    """Cache savings are a price difference: none can be computed without a price."""
    return "unpriced" if calls and unpriced >= calls else output.money(savings)


def _moment(value: object, now: datetime) -> str:
    """A stored time for people: local date and time, and how long ago within a week."""
    moment = parse_iso(value)
    if moment is None:
        return "never"
    local = moment.astimezone().strftime("%Y-%m-%d %H:%M")
    recent = (now - moment).total_seconds() < 7 * 86400
    return f"{local} ({output.age(moment, now)})" if recent else local


def lineage_text(lineage: Mapping[str, Any]) -> str:
    """Where the session's conversation came from, in words (``workflow.phases.lineage``)."""
    method, parent = lineage.get("method"), lineage.get("session")
    if method == "fork" and parent:
        text = f"fork of {parent} ({lineage.get('agent')} {lineage.get('agent_session_id')}"
        point = lineage.get("fork_interactions")
        text += f", after its call {point})" if point else ")"
    elif method == "summary" and parent:
        text = f"new conversation primed with a summary of {parent} ({lineage.get('agent')})"
    else:
        text = "new conversation primed with the template's preamble"
    if lineage.get("template"):
        text += f"; template {lineage['template']}"
    return text


def print_show(
    view: SessionView,
    recent: Sequence[Interaction],
    holder: Holder | None,
    accounting: Mapping[str, Any] | None = None,
    *,
    wide: bool = False,
) -> None:
    console = output.out()
    now = datetime.now(UTC)
    s = view.summary
    t = s.tokens
    calls, unpriced = s.interaction_count, s.unpriced_interactions
    width = console.width
    last = s.last_outcome or "-"
    if recent and last not in ("-", "success") and recent[-1].outcome == last:
        cause = failure_cause(last, recent[-1].error)
        last = cause if cause.startswith(last) else f"{last} ({cause})" if cause else last
    path = f"Path: {view.path}"
    lines = [
        *pairs(width, "Session:", view.name, sep=" "),
        # a path too long for the terminal is never broken: the store it is in, then
        # Session and Store name it whole (STORE/SESSION)
        path if len(path) <= width else f"Store: {view.path.parent}",
        *pairs(width, f"Command: {s.session.command}", f"Feature: {s.session.feature_id}"),
        *pairs(width, f"Agent: {s.agent or '-'}", f"Model: {s.model or '-'}"),
        f"Agent session ID: {s.agent_session_id or '-'}",
        f"Working directory: {s.agent_cwd or '-'}",
        *([f"Lineage: {lineage_text(s.lineage)}"] if s.lineage is not None else []),
        *pairs(
            width,
            f"Status: {list_status(s, within_days(s.last_used, ACTIVE_DAYS, now))}",
            f"Last outcome: {last}",
        ),
        f"Created: {_moment(s.created_at, now)}",
        f"Last used: {_moment(s.last_used, now)}",
        f"In use: {'yes, by ' + holder.describe() if holder else 'no'}",
        f"Interactions: {calls} ({s.failed_interactions} failed)",
        "Tokens:",
        f"  Input: {output.count(t.input)}",
        f"  Output: {output.count(t.output)}",
        f"  Cache read: {output.count(t.cache_read)}",
        f"  Cache write: {output.count(t.cache_write)}",
        f"  Total: {output.count(t.total)}",
        f"Cost: {cost_text(s.cost, 0, calls, s)}" + (f" ({unpriced} unpriced)" if unpriced else "")
        if unpriced < calls or not calls
        else "Cost: unpriced",
        "Cache savings: "
        + savings_text(s.savings, unpriced, calls)
        + (
            f" ({accounting['cache_read_share']:.0%} of input served from cache)"
            if accounting
            else ""
        ),
    ]
    # Calls whose computed cost disagrees with the CLI's own figure by more than 1%.
    for m in (accounting or {}).get("cost_mismatches", []):
        relative = f"{m['relative']:+.1%}" if m["relative"] is not None else "reported $0"
        lines.append(
            f"Cost mismatch: {m['id']}: computed {output.money(m['computed'])}, "
            f"CLI reported {output.money(m['reported'])} ({relative})"
        )
    lines += _context_lines(s, now)
    for line in lines:
        console.print(line, markup=False)
    if s.by_model:
        models = ", ".join(
            f"{m}: {tables.plural(b.interactions, 'call')}, "
            + cost_text(b.cost, b.unpriced, b.interactions, b)
            for m, b in s.by_model.items()
        )
        console.print(f"By model: {models}", markup=False)
    if recent:
        tables.print_table(
            f"Recent interactions (last {len(recent)}, newest last)",
            INTERACTION_COLUMNS,
            _interaction_rows(recent, now),
            wide=wide,
        )
    elif not calls:
        console.print("No interactions recorded yet.")


def _context_lines(s: SessionSummary, now: datetime) -> list[str]:
    """The conversation's tracked size and its compactions (``calls.compaction``)."""
    lines = []
    if s.context is not None:
        lines.append(f"Context: {output.count(s.context.tokens)} tokens after the last call")
    for event in s.compactions:
        sizes = [event.get("before"), event.get("after")]
        shown = " → ".join("?" if v is None else output.count(v) for v in sizes)
        lines.append(
            f"Compacted: {_moment(event.get('at'), now)} ({event.get('method')}, "
            f"{event.get('trigger')}): {shown} tokens"
        )
    return lines


def print_stats(stats: Mapping[str, Any], root: Path, *, wide: bool = False) -> None:
    from ai_orchestrator.store.stats import total_tokens

    console = output.out()
    t = stats["tokens"]
    title = (
        f"Statistics for {stats['session_name']}"
        if "session_name" in stats
        else "AI session statistics"
    )
    lines = [
        title,
        f"Directory: {root}",
        f"Total sessions: {stats['total_sessions']}",
        f"Active sessions: {stats['active_sessions']} "
        f"(used within {tables.days(stats['active_days'])})",
        f"Total interactions: {output.count(stats['interactions'])}"
        f" ({stats['failed_interactions']} failed)",
        "Total tokens:",
        f"  Input: {output.count(t['input'])}",
        f"  Output: {output.count(t['output'])}",
        f"  Cache read: {output.count(t['cache_read'])}",
        f"  Cache write: {output.count(t['cache_write'])}",
        f"  Total: {output.count(t['total'])}",
        f"Total cost: {cost_text(stats['cost'], 0, stats['interactions'], stats)}"
        + (
            f" ({tables.plural(stats['unpriced_interactions'], 'unpriced interaction')}"
            " not included)"
            if stats["unpriced_interactions"]
            else ""
        ),
        "Cache savings: "
        + savings_text(
            stats["cache_savings"], stats["unpriced_interactions"], stats["interactions"]
        )
        + f" ({stats['cache_read_share']:.0%} of input served from cache)",
    ]
    for line in lines:
        console.print(line, markup=False)
    for item in stats.get("unreadable", []):
        console.print(f"Unreadable: {item['session_name']}: {item['error']}", markup=False)
    if stats["most_active"]:
        console.print("Most active sessions:")
        for item in stats["most_active"]:
            console.print(
                f"  - {item['session_name']} "
                f"({tables.plural(item['interactions'], 'interaction')})",
                markup=False,
            )
    if "groups" in stats:
        key = str(stats["by"]).capitalize()
        rows: list[list[Cell]] = []
        for name, g in stats["groups"].items():
            gt = g["tokens"]
            rows.append(
                [
                    name,
                    output.count(g["sessions"]),
                    output.count(g["interactions"]),
                    output.count(gt["input"]),
                    output.count(gt["output"]),
                    output.count(gt["cache_read"]),
                    output.count(gt["cache_write"]),
                    tables.short_count(total_tokens(gt)),
                    cost_text(g["cost"], g.get("unpriced_interactions", 0), g["interactions"], g),
                    savings_text(
                        g.get("savings", 0.0), g.get("unpriced_interactions", 0), g["interactions"]
                    ),
                ]
            )
        columns = (
            Column(key, ident=True),
            Column("Sessions", justify="right", drop=3),
            Column("Calls", justify="right", drop=2),
            Column("Input", justify="right", layout="wide", drop=1),
            Column("Output", justify="right", layout="wide", drop=1),
            Column("Cache read", justify="right", layout="wide", drop=1),
            Column("Cache write", justify="right", layout="wide", drop=1),
            Column("Tokens", justify="right", layout="compact"),
            Column("Cost", justify="right"),
            Column("Savings", justify="right", drop=4),
        )
        tables.print_table(f"By {stats['by']}", columns, rows, wide=wide)

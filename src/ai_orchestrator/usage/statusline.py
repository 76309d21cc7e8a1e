"""``aio statusline``: one line for Claude Code's ``statusLine`` command.

Reads the CLI's JSON on stdin and prints, separated by `` | ``:
``<model>``, ``session $X`` (this session's counted cost in the usage index, with the CLI's
own figure as ``reported $Y`` when it gives one), ``today $Z`` (every agent, local day),
``<feature>/<task>`` and ``budget left $B`` when the session belongs to an aio feature with a
budget, and the CLI's rate limits (``5h N%``, ``7d N%``) when present. A cost with unpriced
requests ends in ``+?``.

It appends the CLI's figures to the spool (``reported``) and reads the index read-only with a
short timeout; when the index is older than ``REFRESH_SECONDS`` it starts ``aio usage sync``
in the background (detached, output discarded), so figures trail by at most one sync. It never
fails: without an index it prints what stdin gave. Import-light (stdlib and ``spool`` only):
it runs on every turn.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time

from ai_orchestrator.usage.spool import append, log_error, read_input, usage_dir

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs every turn
if TYPE_CHECKING:
    from typing import Any

REFRESH_SECONDS = 15.0
_COUNTED = "covered IS NULL AND replay = 0"
_COST = "sum(CASE WHEN cost_source = 'unpriced' THEN 0 ELSE cost END)"
_UNPRICED = "sum(CASE WHEN cost_source = 'unpriced' THEN 1 ELSE 0 END)"


def _money(value: float | None, unpriced: int = 0) -> str:
    text = f"${value or 0:.2f}"
    return text + " +?" if unpriced else text


def _refresh(index: str) -> None:
    """Start a background sync when the index is stale (at most one per interval)."""
    stamp = os.path.join(usage_dir(), "statusline.stamp")
    try:
        if time.time() - os.stat(stamp).st_mtime < REFRESH_SECONDS:
            return
    except OSError:
        pass
    try:
        import subprocess

        with open(stamp, "a"):
            os.utime(stamp)
        subprocess.Popen(
            [sys.executable, "-m", "ai_orchestrator", "usage", "sync"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
    except OSError as exc:
        log_error(f"statusline: cannot start a background sync: {exc}")


def _figures(index: str, session: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not os.path.exists(index):
        return out
    db = sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=0.05)
    try:
        midnight = time.mktime((*time.localtime()[:3], 0, 0, 0, 0, 0, -1))
        out["today"] = db.execute(
            f"SELECT {_COST}, {_UNPRICED} FROM req WHERE {_COUNTED} AND ts >= ?",
            (int(midnight * 1000),),
        ).fetchone()
        if session:
            out["session"] = db.execute(
                f"SELECT {_COST}, {_UNPRICED}, max(feature), max(task) FROM req"
                f" WHERE {_COUNTED} AND session = ?",
                (session,),
            ).fetchone()
            feature = out["session"][2]
            if feature:
                budget = db.execute(
                    "SELECT budget FROM aio_calls WHERE feature = ? AND budget IS NOT NULL"
                    " ORDER BY end DESC LIMIT 1",
                    (feature,),
                ).fetchone()
                if budget:
                    spent = db.execute(
                        f"SELECT {_COST} FROM req WHERE {_COUNTED} AND feature = ?", (feature,)
                    ).fetchone()[0]
                    out["budget_left"] = max(0.0, budget[0] - (spent or 0.0))
    finally:
        db.close()
    return out


def line(event: dict[str, Any], figures: dict[str, Any]) -> str:
    """The status line for ``event`` (the CLI's JSON) and the index ``figures``."""
    model = event.get("model")
    name = model.get("display_name") or model.get("id") if isinstance(model, dict) else None
    parts = [str(name or "?")]
    session = figures.get("session")
    text = "session " + (_money(session[0], session[1]) if session else "$?")
    cost = event.get("cost")
    reported = cost.get("total_cost_usd") if isinstance(cost, dict) else None
    if isinstance(reported, int | float):
        text += f" (reported ${reported:.2f})"
    parts.append(text)
    today = figures.get("today")
    if today:
        parts.append("today " + _money(today[0], today[1]))
    if session and session[2]:
        parts.append(f"{session[2]}/{session[3]}" if session[3] else str(session[2]))
    if figures.get("budget_left") is not None:
        parts.append(f"budget left ${figures['budget_left']:.2f}")
    limits = event.get("rate_limits")
    if isinstance(limits, dict):
        for key, label in (("five_hour", "5h"), ("seven_day", "7d")):
            used = (
                limits.get(key, {}).get("used_percentage")
                if isinstance(limits.get(key), dict)
                else None
            )
            if isinstance(used, int | float):
                parts.append(f"{label} {used:.0f}%")
    return " | ".join(parts)


def run_statusline(argv: list[str]) -> int:
    """Print the line; always exit 0 (a broken status line must not disturb the CLI)."""
    event: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    try:
        event = read_input(argv)
        append("statusline", "claude", event)
        index = os.path.join(usage_dir(), "usage.sqlite")
        session = event.get("session_id")
        try:
            figures = _figures(index, session if isinstance(session, str) else None)
        except sqlite3.Error as exc:
            log_error(f"statusline: {exc}")
        _refresh(index)
    except Exception as exc:
        log_error(f"statusline: {type(exc).__name__}: {exc}")
    sys.stdout.write(line(event, figures) + "\n")
    sys.stdout.flush()
    return 0

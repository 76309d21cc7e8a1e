"""``ai-session list --json`` and ``stats --json`` (also ``aio session …``) without click.

Why: a warm listing of 10,000 sessions has a budget of 150 ms (issue 24), and importing
click, the command table and ``cli.session`` with its renderers costs a large share of it.
``cli.launch`` (``aio``) and ``cli.main.session_main`` (``ai-session``) hand their
arguments to ``parse`` first and run what it returns with ``cli.main.read_fast``.
``parse`` takes only the exact command lines ``PLAIN`` (an option, ``--help``, a
misspelling, completion: all go to click). What runs is what ``cli.session`` runs for
them (``session_rows.list_json``, ``session_rows.totals_json``), handled as
``cli.main.run`` handles a command: the streams guarded, stdout strict (a read command),
every error one line with its exit code, a lost stdout judged afterwards, the daily
retention run at the end. ``tests/cli/test_session_fast_path.py`` runs both paths as
processes over many stores and command lines and compares stdout, stderr and the exit
code byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ai_orchestrator.core import env

PLAIN = (["list", "--json"], ["stats", "--json"])


def parse(args: list[str], prog_name: str) -> Callable[[], None] | None:
    """The command to run (``cli.main.read_fast`` runs it) if ``args`` (after the
    program's name) is one of the plain JSON listings ``PLAIN``, else ``None`` (click
    runs the command)."""
    if prog_name == "aio":
        if args[:1] != ["session"]:
            return None
        args = args[1:]
    if args not in PLAIN or env.is_set("_AIO_COMPLETE") or env.is_set("_AI_SESSION_COMPLETE"):
        return None
    return partial(run, args[0])


def run(command: str) -> None:
    """What ``cli.session``'s ``list_cmd`` / ``stats_cmd`` do for ``PLAIN``."""
    from ai_orchestrator.cli import output
    from ai_orchestrator.cli.session_rows import list_json, totals_json
    from ai_orchestrator.store import SessionStore

    store = SessionStore()
    days = 30.0  # ``days_option``'s default, as click converts it (``Days``: a float)
    if command == "list":
        from datetime import UTC, datetime

        from ai_orchestrator.store.stats import active_cutoff

        cutoff = active_cutoff(days, datetime.now(UTC))
        list_json(store, "date", cutoff, False, days, False)
    else:
        stats, _rows, _foreign = totals_json(store, days, False)
        output.emit_json(stats)

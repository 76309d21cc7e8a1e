"""The rows ``aio session list`` and ``stats`` show: one discovery scan of the store, the
summary index's rows (a progress bar on a terminal while it rescans), the unreadable
sessions warned about on stderr and the store's entries that are not aio's."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TypeVar

import click

from ai_orchestrator.cli import output

if TYPE_CHECKING:  # the store loads when rows are read, not when `session` is imported
    from ai_orchestrator.store import SessionStore
    from ai_orchestrator.store.discovery import Discovery
    from ai_orchestrator.store.index import Listing, Query, SessionRow

T = TypeVar("T")

rescan_option = click.option(
    "--rescan",
    is_flag=True,
    help="Start the index over from the files (a plain listing already sees hand edits).",
)


def warn_unreadable(errors: list[tuple[str, str]]) -> None:
    for name, problem in errors:
        output.warn(f"{name}: skipped: {problem}")


def store_rows(
    store: SessionStore, *, rescan: bool = False, docs: bool = True
) -> tuple[list[SessionRow], list[dict[str, str]], list[dict[str, str]], Discovery]:
    """All readable rows; ``{session_name, error}`` for each unreadable session and each
    odd file that makes record, clean and repair refuse a listed one (``refused``); the
    store's entries that are not aio's (``{name, kind, reason}``); and the one scan they
    come from. A rescan (``--rescan``, or an index that cannot be trusted) shows a
    progress bar on stderr when that is a terminal."""
    no_query: Query[None] | None = None
    done, unreadable, foreign, found = store_listing(store, no_query, rescan=rescan, docs=docs)
    return done.rows, unreadable, foreign, found


def store_listing(
    store: SessionStore, query: Query[T] | None, *, rescan: bool = False, docs: bool = True
) -> tuple[Listing[T], list[dict[str, str]], list[dict[str, str]], Discovery]:
    """As ``store_rows``, with ``query`` answered over the index (``SummaryIndex.listing``:
    its ``rows`` are then only those the answer does not cover)."""
    from ai_orchestrator.store.index import SummaryIndex, unreadable_entries

    found = store.discover()
    bar = None
    if sys.stderr.isatty():
        from ai_orchestrator.cli.progress import ScanBar  # lazily: it imports the agents

        bar = ScanBar()
    try:
        done = SummaryIndex(store).listing(
            found, query, rescan=rescan, progress=bar, docs=docs
        )
    finally:
        if bar is not None:
            bar.close()
    errors = found.errors + done.errors
    warn_unreadable(errors)
    return done, unreadable_entries(done.rows, errors), [f.to_dict() for f in found.foreign], found

"""The rows ``aio session list`` and ``stats`` show: one discovery scan of the store, the
summary index's rows (a progress bar on a terminal while it rescans), the unreadable
sessions warned about on stderr and the store's entries that are not aio's; and the two
JSON documents read most (``list_json``, ``totals_json``).

No click here: ``cli.session_fast`` runs ``list --json`` and ``stats --json`` without it
(the same functions ``cli.session`` calls, so both paths print the same bytes)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ai_orchestrator.cli import output
from ai_orchestrator.core.schema import versioned

if TYPE_CHECKING:  # the store loads when rows are read, not when `session` is imported
    from ai_orchestrator.cli.progress import ScanBar
    from ai_orchestrator.store import SessionStore
    from ai_orchestrator.store.discovery import Discovery
    from ai_orchestrator.store.index import Listing, Query, SessionRow
    from ai_orchestrator.store.index_query import Documents, KeptList
    from ai_orchestrator.store.transfer import Stray

T = TypeVar("T")


def warn_unreadable(errors: list[tuple[str, str]]) -> None:
    for name, problem in errors:
        output.warn(f"{name}: skipped: {problem}")


class _Bar:
    """``ScanBar``, made when a rescan first reports (its module imports the agents' code,
    which a warm listing on a terminal does not need)."""

    def __init__(self) -> None:
        self.bar: ScanBar | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from ai_orchestrator.cli.progress import ScanBar

            self.bar = ScanBar()
        self.bar(done, total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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
    bar = _Bar() if sys.stderr.isatty() else None
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


def list_json(
    store: SessionStore, sort_key: str, cutoff: str, active: bool, days: float, rescan: bool
) -> None:
    """``list --json``: the documents come out of the index in order (``index_query``)."""
    from ai_orchestrator.store.index_query import (
        LIST_CACHE,
        KeptList,
        documents,
    )

    kept = KeptList(store.root / LIST_CACHE)
    try:
        done, unreadable, foreign, found = store_listing(
            store, documents(sort_key, cutoff, active, kept), rescan=rescan
        )
        _write_list(store, done, unreadable, foreign, found, (sort_key, cutoff, active, days),
                    kept if done.answer is not None else None)  # fmt: skip
    finally:
        if kept.file is not None:
            kept.file.close()


def _write_list(
    store: SessionStore,
    done: Listing[Documents],
    unreadable: list[dict[str, str]],
    foreign: list[dict[str, str]],
    found: Discovery,
    asked: tuple[str, str, bool, float],
    kept: KeptList | None,
) -> None:
    from ai_orchestrator.store.index_query import documents_of_rows

    sort_key, cutoff, active, days = asked
    answer = done.answer
    if answer is None:  # no index to ask: every row was read into ``rows``
        answer = documents_of_rows(done.rows, sort_key, cutoff, active)
    total, active_count, body = answer
    strays: list[dict[str, Any]] = []
    if found.may_hold_strays():  # (the transfer code loads only then)
        from ai_orchestrator.store.transfer import legacy_strays

        strays = legacy_strays(store, found)
    header = json.dumps(
        versioned({
            "session_dir": str(store.root),
            "total_sessions": total,
            "active_sessions": active_count,
            "active_days": days,
            "unreadable": unreadable,
            "not_migrated": strays,
            "not_aio": foreign,
            "sessions": [],
        }),
        ensure_ascii=False,
        indent=2,
    )
    # Indented like every other JSON document, except that each session is one line:
    # the index holds its JSON (UTF-8), so it is spliced, not re-encoded (re-indenting
    # 10,000 sessions would cost ~0.5 s, the whole budget of the listing).
    out = sys.stdout.buffer
    sys.stdout.flush()
    out.write(header[: -len("[]\n}")].encode("utf-8"))
    if kept is not None and kept.file is not None:  # the kept body of this index state
        out.write(b"[\n    ")
        while chunk := kept.file.read(1 << 20):
            out.write(chunk)
        out.write(b"\n  ]\n}\n")
    elif body:
        out.write(b"[\n    ")
        out.write(body)
        out.write(b"\n  ]\n}\n")
    else:
        out.write(b"[]\n}\n")
    out.flush()
    if kept is not None and kept.file is None and not done.stored:
        kept.keep(body)  # the index was unchanged: the next listing likely is too


def totals_json(
    store: SessionStore, days: float, rescan: bool
) -> tuple[dict[str, Any], list[SessionRow], list[dict[str, str]]]:
    """``stats`` without ``--session`` or ``--by``: its document (totals summed by SQLite
    over the index, ``index_query.totals``), the rows read into Python (for their problems)
    and the store's entries that are not aio's."""
    from ai_orchestrator.store.index import SessionRow
    from ai_orchestrator.store.index_query import totals
    from ai_orchestrator.store.stats import active_cutoff, compute_stats, stats_document, totals_of

    cutoff = active_cutoff(days, datetime.now(UTC))
    done, unreadable, foreign, found = store_listing(
        store, totals(cutoff), rescan=rescan, docs=False
    )
    rows, indexed = done.rows, done.answer  # rows: those the answer does not hold
    strays: dict[str, Stray] = {}
    if found.may_hold_strays():  # (the transfer code loads only then)
        from ai_orchestrator.store.transfer import stray_sessions

        strays = {s.target.name: s for s in stray_sessions(store, found)}
    # shell-version sessions not migrated yet count too, under their future names
    stray_rows = [SessionRow.from_view(s.view(store.root)) for s in strays.values()]
    rows += stray_rows
    if indexed is not None:  # (it holds the rows read from the files too)
        stats = stats_document(indexed + totals_of(stray_rows, cutoff), days)
    else:
        stats = compute_stats(
            rows,
            active_days=days,
            records_of=lambda n: strays[n].records if n in strays else store.read_log(n).records,
        )
    stats["unreadable"] = unreadable
    stats["not_aio"] = foreign
    return stats, rows, foreign

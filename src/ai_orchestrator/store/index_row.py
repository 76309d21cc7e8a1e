"""One session's row in the summary index (``store.index``): what ``list`` and ``stats``
need of it, as a tuple in the index's column order."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from ai_orchestrator.core.interaction import TOKEN_KEYS
from ai_orchestrator.core.names import SessionName
from ai_orchestrator.store.summary import SessionSummary, last_activity

if TYPE_CHECKING:
    from ai_orchestrator.store.session_store import SessionView
    from ai_orchestrator.store.summary_view import SummaryView

_INT64 = 2**63
_NUMBERS = frozenset(
    ("last_activity", "interactions", "failed", "unpriced", "cost", "savings", "reported")
) | {f"tok_{k}" for k in TOKEN_KEYS}
COLUMNS = (
    "name",
    "sig",
    "last_activity",
    "command",
    "feature_id",
    "interactions",
    "failed",
    "unpriced",
    "tok_input",
    "tok_output",
    "tok_cache_read",
    "tok_cache_write",
    "tok_reasoning",
    "cost",
    "savings",
    "reported",
    "reported_by",
    "problems",
    "doc",
)


TOKENS_SQL = "tok_input + tok_output + tok_cache_read + tok_cache_write"  # ``total_tokens``
# ``stats.sort_rows`` in SQL (text compares as code points in both): each order's key and
# the index on ``sessions`` that serves it (so 100,000 documents come out in order with
# no sort; the date index is scanned backwards).
ORDERS = {
    "name": ("name", None),
    "date": ("coalesce(last_activity, '') DESC, name DESC", "coalesce(last_activity, ''), name"),
    "tokens": (f"{TOKENS_SQL} DESC, name", f"({TOKENS_SQL}) DESC, name"),
    "cost": ("cost DESC, name", "cost DESC, name"),
}


def _dump_list(items: list[str]) -> str:
    return json.dumps(list(items)) if items else "[]"  # the common case, without the encoder


def _json_list(text: str) -> list[str]:
    return json.loads(text) if text != "[]" else []


class SessionRow(tuple[Any, ...]):
    """What ``list`` and ``stats`` need of one session; ``doc`` is its JSON document.

    A tuple in the index's column order (plus ``refused``), so a row read from the index
    is the database's tuple wrapped, not copied field by field: a warm listing of 100,000
    sessions builds 100,000 of them. Fields are read through properties."""

    __slots__ = ()

    name: str = property(itemgetter(0))  # type: ignore[assignment]
    last_activity: str | None = property(itemgetter(2))  # type: ignore[assignment]
    command: str = property(itemgetter(3))  # type: ignore[assignment]
    feature_id: str = property(itemgetter(4))  # type: ignore[assignment]
    interactions: int = property(itemgetter(5))  # type: ignore[assignment]
    failed: int = property(itemgetter(6))  # type: ignore[assignment]
    unpriced: int = property(itemgetter(7))  # type: ignore[assignment]
    token_counts: tuple[int, ...] = property(itemgetter(slice(8, 13)))  # type: ignore[assignment]
    cost: float = property(itemgetter(13))  # type: ignore[assignment]
    savings: float = property(itemgetter(14))  # type: ignore[assignment]
    reported: float = property(itemgetter(15))  # type: ignore[assignment]
    doc_bytes: bytes = property(itemgetter(18))  # type: ignore[assignment]

    @property
    def tokens(self) -> dict[str, int]:
        return dict(zip(TOKEN_KEYS, self[8:13], strict=True))

    @property
    def reported_by(self) -> list[str]:
        """Agents whose own figure is the reported part of the cost."""
        return _json_list(self[16])

    @property
    def problems(self) -> list[str]:
        return _json_list(self[17])

    @property
    def refused(self) -> list[str]:
        """``SessionView.refused`` (never cached: such a row is read every time)."""
        return _json_list(self[19]) if len(self) > 19 else []

    @property
    def doc(self) -> str:
        return bytes(self[18]).decode("utf-8")

    @property
    def document(self) -> dict[str, Any]:
        """The session's JSON document as the index keeps it (``SessionView.to_dict()``:
        the stored summary with ``path`` and ``problems``), for output and exports."""
        data: dict[str, Any] = json.loads(self[18])
        return data

    @property
    def view(self) -> SummaryView:
        """The few summary fields ``stats`` and the report read of every row, typed and
        decoded from the document on each read (``store.summary_view``: far quicker than
        ``summary`` over 10,000 rows)."""
        # imported here: msgspec costs a listing or a run 40 ms, and neither reads a view
        from ai_orchestrator.store.summary_view import SummaryView

        return SummaryView.decode(self[18])

    @property
    def summary(self) -> SessionSummary:
        """The session's summary, typed (parsed from ``document`` on each read; its
        ``to_json()`` is the stored summary, without the document's ``path`` and
        ``problems``)."""
        data = self.document
        data.pop("path", None)
        data.pop("problems", None)
        return SessionSummary.from_json(data, SessionName(self.command, self.feature_id))

    @staticmethod
    def columns(rows: Sequence[SessionRow]) -> dict[str, tuple[Any, ...]]:
        """The rows' numbers and dates as columns, transposed in one pass in C (totals over
        100,000 rows then cost a ``sum`` per column, not a property call per row)."""
        transposed = list(zip(*rows, strict=False)) if rows else [()] * len(COLUMNS)
        return {name: transposed[i] for i, name in enumerate(COLUMNS) if name in _NUMBERS}

    @classmethod
    def from_view(cls, view: SessionView) -> SessionRow:
        # the stored object: the index row is its serialisation
        return cls.from_summary(
            view.name, str(view.path), view.summary.to_json(), view.problems, view.refused
        )

    @classmethod
    def from_summary(
        cls,
        name: str,
        path: str,
        s: dict[str, Any],
        problems: list[str],
        refused: list[str],
    ) -> SessionRow:
        """The row of a session whose stored summary is ``s`` (its document: ``s`` with
        ``path`` and ``problems``, as ``SessionView.to_dict``), straight from the parsed
        summary: the index's lean first read (``store.index_lean``) needs no typed round
        trip (``SessionSummary.to_json`` is the stored object itself)."""
        doc = dict(s)
        doc["path"] = path
        doc["problems"] = list(problems)
        return cls(
            (
                name,
                None,
                last_activity(s),
                s["command"],
                s["feature_id"],
                int(s["interaction_count"]),
                int(s.get("failed_interactions", 0)),
                int(s.get("unpriced_interactions", 0)),
                *(int(s["tokens"].get(k, 0)) for k in TOKEN_KEYS),
                float(s["cost"]),
                float(s.get("savings", 0.0)),
                float(s.get("cost_reported") or 0.0),
                _dump_list([str(a) for a in s.get("cost_reported_by") or []]),
                _dump_list(problems),
                json.dumps(doc, ensure_ascii=False).encode("utf-8"),
                _dump_list(refused),
            )
        )

    def values(self, sig: bytes) -> tuple[object, ...]:
        """The index's columns, with the files' signature ``sig``."""
        return (self[0], sig, *self[2:19])

    def fits_sqlite(self) -> bool:
        """SQLite integers are 64-bit; a row beyond that is served uncached."""
        numbers = (self.interactions, self.failed, self.unpriced, *self.token_counts)
        return all(-_INT64 <= n < _INT64 for n in numbers)

    @classmethod
    def from_db(cls, row: tuple[Any, ...]) -> SessionRow:
        return cls(row)


def unreadable_entries(
    rows: Iterable[SessionRow], errors: Iterable[tuple[str, str]]
) -> list[dict[str, str]]:
    """``{session_name, error}`` for each session ``SummaryIndex.rows`` could not read, then
    for each odd file that makes record, clean and repair refuse a listed one (``refused``)."""
    unreadable = [{"session_name": name, "error": problem} for name, problem in errors]
    unreadable += [{"session_name": r.name, "error": odd} for r in rows for odd in r.refused]
    return unreadable

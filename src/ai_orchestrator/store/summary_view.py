"""A typed view of the few summary fields the hot readers need, decoded straight from the
index row's JSON document (``SessionRow.doc_bytes``, ``SessionView.to_dict()``'s form).

``SummaryView.decode(doc)`` is what ``store.stats`` (``--by model``/``--by lineage``) and
``report.data`` (each session's row, its failed calls per outcome, the by-model breakdown)
read for 10,000 to 100,000 sessions: building the whole ``SessionSummary`` per row was too
slow there, so msgspec decodes only these fields into frozen structs and skips the rest of
the document unread.

Tolerance, as the readers had it when they read the parsed document by key: a field of a
wrong type reads as absent (``None``, ``0``, empty), never as an error; integers of any
size are read as the stdlib reads them. A document msgspec refuses (``NaN``, a float out of
range, a lone surrogate: what ``json.dumps`` may write) or whose fields do not fit the
types is parsed by the stdlib and read field by field (``SummaryView.of``), with the
same result the fast path gives wherever both accept the document.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import msgspec

from ai_orchestrator.core.interaction import TOKEN_KEYS

NO_LINEAGE = "(no lineage)"


class TokenCounts(msgspec.Struct, frozen=True, gc=False):
    """A bucket's tokens (``core.interaction.TOKEN_KEYS``, in that order)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0

    def counts(self) -> tuple[int, ...]:
        """The counts in ``TOKEN_KEYS`` order."""
        return (self.input, self.output, self.cache_read, self.cache_write, self.reasoning)


assert tuple(TokenCounts.__struct_fields__) == TOKEN_KEYS  # one order, kept in one place


class BucketView(msgspec.Struct, frozen=True, gc=False):
    """One model's (or group's) share of a session: a value of the summary's ``by_model``
    and of ``store.summary.group_buckets``."""

    interactions: int = 0
    tokens: TokenCounts = TokenCounts()
    cost: float = 0.0
    savings: float = 0.0
    unpriced: int = 0
    cost_reported: float = 0.0
    cost_reported_by: tuple[str, ...] = ()

    @classmethod
    def of(cls, bucket: Mapping[str, Any]) -> BucketView:
        """A bucket read field by field (a wrong type reads as 0 / empty)."""
        counts = bucket.get("tokens")
        counts = counts if isinstance(counts, Mapping) else {}
        by = bucket.get("cost_reported_by")
        return cls(
            interactions=_int(bucket.get("interactions")),
            tokens=TokenCounts(*(_int(counts.get(k)) for k in TOKEN_KEYS)),
            cost=_float(bucket.get("cost")),
            savings=_float(bucket.get("savings")),
            unpriced=_int(bucket.get("unpriced")),
            cost_reported=_float(bucket.get("cost_reported")),
            cost_reported_by=tuple(a for a in by if isinstance(a, str))
            if isinstance(by, list)
            else (),
        )


class SummaryView(msgspec.Struct, frozen=True, gc=False):
    """What the hot readers need of a session's stored summary.

    ``failed_by_outcome`` is None unless every count in it is an integer (a bool or a float
    is not); ``lineage`` is the stored mapping (``workflow.phases.lineage``) or None."""

    agent: str | None = None
    model: str | None = None
    last_outcome: str | None = None
    failed_by_outcome: dict[str, int] | None = None
    lineage: dict[str, Any] | None = None
    by_model: dict[str, BucketView] = {}

    @classmethod
    def decode(cls, doc: bytes | str) -> SummaryView:
        """The view of a stored summary document (see the module for the tolerance)."""
        try:
            return _decode(doc)
        except msgspec.DecodeError:  # a ValidationError too: read it field by field
            data = json.loads(doc)
        return cls.of(data) if isinstance(data, Mapping) else cls()

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> SummaryView:
        """The view of a parsed summary, field by field."""
        failed = data.get("failed_by_outcome")
        if not isinstance(failed, Mapping) or any(
            not isinstance(k, str) or type(n) is not int for k, n in failed.items()
        ):
            failed = None
        lineage = data.get("lineage")
        buckets = data.get("by_model")
        return cls(
            agent=_str(data.get("agent")),
            model=_str(data.get("model")),
            last_outcome=_str(data.get("last_outcome")),
            failed_by_outcome=dict(failed) if failed is not None else None,
            lineage=dict(lineage) if isinstance(lineage, Mapping) else None,
            by_model={
                str(m): BucketView.of(b)
                for m, b in (buckets.items() if isinstance(buckets, Mapping) else ())
                if isinstance(b, Mapping)
            },
        )

    def lineage_label(self) -> str:
        """The session's group under ``--by lineage``: ``fork:<parent session>``,
        ``summary:<parent session>``, ``template:<name>`` or ``(no lineage)``."""
        lineage = self.lineage
        if lineage is None:
            return NO_LINEAGE
        method = str(lineage.get("method") or "unknown")
        parent = lineage.get("session") if method != "template" else lineage.get("template")
        return f"{method}:{parent}" if parent else method


_decode = msgspec.json.Decoder(SummaryView).decode


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int:
    """An integer count as stored; a finite float truncated (as ``int()`` read it)."""
    if type(value) is int:
        return value
    return int(value) if type(value) is float and math.isfinite(value) else 0


def _float(value: object) -> float:
    if type(value) is float:
        return value
    if type(value) is not int:
        return 0.0
    try:
        return float(value)
    except OverflowError:  # an integer beyond a float: as json.loads reads 1e400
        return math.copysign(math.inf, value)

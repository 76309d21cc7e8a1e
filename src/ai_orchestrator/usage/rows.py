"""Requests → rows of the usage index's ``req`` table (``Rows``), priced.

Per block of one file: the most complete snapshot of each key (Gemini: the last copy), priced
through the same path as ``aio run`` (``accounting.request_prices.RequestPricer``: the
backend's declared provider picks the price list); ``cost_source`` is ``computed``, else the
agent's ``reported`` figure, else ``unpriced`` (cost 0). A request whose token total exceeds
``MAX_TOKENS`` is not a count (hostile or broken input; SQLite's integers end at 2**63) and is
skipped. The sync's parent and its forked workers use the same ``Rows`` (only plain tuples
travel back to the parent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ai_orchestrator.accounting.request_prices import RequestPricer
    from ai_orchestrator.usage.parsers import Request

MAX_TOKENS = 2**53
Row = tuple[Any, ...]  # usage.db.REQ_COLUMNS, in order


class Rows:
    """Requests → index rows: the most complete snapshot of each key in a block, priced
    through the same path as ``aio run`` (``RequestPricer``). Used by the parent and, in a
    parallel sync, by each worker (so only plain tuples travel back to the parent)."""

    def __init__(self, gen: int, features: set[str]) -> None:
        self.gen, self.features = gen, features
        self._price: RequestPricer | None = None
        self._caps: dict[str, tuple[str | None, bool]] = {}

    def feature_of(self, branch: str | None) -> str | None:
        if not branch:
            return None
        if branch in self.features:
            return branch
        tail = branch.rsplit("/", 1)[-1]
        return tail if tail in self.features else None

    def __call__(self, found: list[Request]) -> tuple[list[Row], list[Row]]:
        """(rows whose most complete snapshot wins, rows whose last copy wins)."""
        best: dict[str, Request] = {}
        for request in found:
            if request.size > MAX_TOKENS or request.usage.reasoning > MAX_TOKENS:
                continue  # not a count (hostile or broken input; SQLite's integers end at 2**63)
            held = best.get(request.key)
            if held is None or request.last_wins or request.size >= held.size:
                best[request.key] = request
        most: list[Row] = []
        last: list[Row] = []
        if not best:
            return most, last
        price = self._price
        if price is None:
            from ai_orchestrator.accounting.request_prices import RequestPricer

            price = self._price = RequestPricer()
        caps, gen, feature_of = self._caps, self.gen, self.feature_of
        for r in best.values():
            declared = caps.get(r.agent)
            if declared is None:
                from ai_orchestrator.agents.registry import declared as declared_of

                held_caps = declared_of(r.agent)  # the backend's provider picks the prices
                declared = caps[r.agent] = (held_caps.provider, held_caps.notional_cost)
            cost, priced, note = price(
                r.agent, r.model, r.usage, provider=declared[0], notional=declared[1]
            )
            if priced:
                source = "computed"
            elif r.reported_cost is not None:
                cost, source = r.reported_cost, "reported"
            else:
                cost, source = 0.0, "unpriced"
            u = r.usage
            row = (
                r.key, "t", r.agent, r.model, r.ts, r.session, r.project, r.branch,
                u.input, u.output, u.cache_read, u.cache_write_5m, u.cache_write_1h, u.reasoning,
                1, cost, source, r.reported_cost, note, r.msg_id, int(r.sidechain),
                feature_of(r.branch), None, None, gen,
            )  # fmt: skip
            (last if r.last_wins else most).append(row)
        return most, last

"""What caching saved in a session, and which calls' costs disagree with the CLI's own.

Contract (used by ``aio session show``):

- ``cache_read_share(tokens)``: the share of input served from cache,
  ``cache_read / (input + cache_read + cache_write)`` (stored ``input`` excludes cache
  traffic), rounded to 4 places; 0.0 when there was no input. The same formula as
  ``aio session stats``.
- ``cost_mismatches(records)``: interactions whose cost we *computed* from the price table
  differs from the cost the CLI reported by more than ``pricing.REPORTED_TOLERANCE`` (1%).
  Only ``cost_source == "computed"`` records with a ``reported_cost`` are compared: a
  "reported" cost *is* the CLI's figure and an unpriced one has nothing to compare.
  ``relative`` is ``(computed - reported) / reported``, or ``None`` when the CLI reported
  $0 (the ratio is infinite; JSON has no infinity).
- ``session_accounting(summary, records)`` bundles both with the summed ``savings``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ai_orchestrator.accounting.pricing import compare_reported, is_mismatch
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.store.summary import SessionSummary


def cache_read_share(tokens: Mapping[str, int]) -> float:
    cache_read = int(tokens.get("cache_read", 0))
    prompt = int(tokens.get("input", 0)) + cache_read + int(tokens.get("cache_write", 0))
    return round(cache_read / prompt, 4) if prompt else 0.0


def cost_mismatches(records: Iterable[Interaction]) -> list[dict[str, Any]]:
    """``[{id, timestamp, computed, reported, relative}]`` for every mismatching call."""
    found = []
    for record in records:
        if record.cost_source != "computed":
            continue
        computed = float(record.cost)
        reported = record.reported_cost
        if reported is None:
            continue
        if not is_mismatch(computed, float(reported)):
            continue
        relative = compare_reported(computed, float(reported))
        found.append(
            {
                "id": record.id,
                "timestamp": record.timestamp,
                "computed": computed,
                "reported": float(reported),
                "relative": (
                    round(relative, 6) if relative is not None and math.isfinite(relative) else None
                ),
            }
        )
    return found


def session_accounting(summary: SessionSummary, records: Iterable[Interaction]) -> dict[str, Any]:
    """``{cache_savings, cache_read_share, cost_mismatches}`` for one session."""
    return {
        "cache_savings": summary.savings,
        "cache_read_share": cache_read_share(summary.tokens.to_json()),
        "cost_mismatches": cost_mismatches(records),
    }

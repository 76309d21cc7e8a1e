"""A conversation's size after a call, and the record of a compaction.

``context_size(result)`` is what the next request of the conversation starts from: the
prompt of the call's **last** request to its main model — input + cache read + cache write
tokens (the output becomes part of the next prompt; it is left out, as the agents' own
context meters do). Where it comes from, per backend:

- per-request usage (``AgentResult.requests``, Claude's stream): the last request (after
  a compaction the CLI did by itself mid-call, that request is already the smaller one);
- a call that only compacted (Claude's ``/compact``: a ``compact_boundary`` and no
  request): the CLI's ``post_tokens``;
- a call that made one request (the scripted agent, a one-turn call): its whole usage;
- otherwise (several requests and no breakdown: Gemini, Codex multi-turn calls) unknown,
  ``None``: a total over several requests is not the size of any of them.

``compaction_record`` is the ``compaction`` field of the record of a call that compacted
the conversation: the method (``agent``: the CLI's own compaction; ``summary``: a new
conversation primed with a hand-over), the trigger (``auto``/``manual``: aio's; ``agent``:
the CLI compacted by itself in an ordinary call, e.g. Claude Code past its window), the
size before (the CLI's ``pre_tokens`` when it said, else what aio had tracked) and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ai_orchestrator.agents.base import AgentResult
from ai_orchestrator.core.usage import ModelUsage


def _prompt(usage: ModelUsage) -> int:
    return usage.input + usage.cache_read + usage.cache_write


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def context_size(result: AgentResult) -> int | None:
    """The conversation's size after ``result`` (module docstring), ``None`` if unknown."""
    model = result.model
    requests = result.requests.get(model) if model else None
    if not requests and len(result.requests) == 1:
        requests = next(iter(result.requests.values()))
    if requests:
        return _prompt(requests[-1])
    if result.compaction is not None:  # a /compact call: no request of its own after it
        return _count(result.compaction.get("post_tokens"))
    usage = result.usage.get(model) if model else None
    if usage is None and len(result.usage) == 1:
        usage = next(iter(result.usage.values()))
    if usage is not None and usage.requests <= 1 and _prompt(usage) > 0:
        return _prompt(usage)
    return None


def compaction_record(
    marker: Mapping[str, Any] | None, result: AgentResult, after: int | None
) -> dict[str, Any] | None:
    """The record's ``compaction`` field: aio's ``marker`` (method, trigger, before …)
    with the sizes the CLI reported, where it did; for a call without a marker, what the
    CLI compacted by itself (``None`` when nothing was compacted)."""
    if marker is None:
        if result.compaction is None:
            return None
        marker = {"method": "agent", "trigger": "agent", "before": None}
    record = dict(marker)
    reported = result.compaction or {}
    before = _count(reported.get("pre_tokens"))
    if before is not None:
        record["before"] = before
    record["after"] = after
    if reported.get("trigger") is not None:
        record["agent_trigger"] = str(reported["trigger"])
    return record

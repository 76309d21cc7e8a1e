"""Claude usage arithmetic: normalise, merge lines with the result, undo restored totals.

Pure functions over ``ModelUsage``; ``claude.ClaudeStreamParser`` feeds them. Rules:

- ``anthropic_usage``: one Anthropic ``usage`` object → ``ModelUsage``. The TTL split comes from
  ``cache_creation.ephemeral_{5m,1h}_input_tokens``; without it all of
  ``cache_creation_input_tokens`` is 5m (the CLI's default TTL). The total always wins over an
  inconsistent split, so the split never inflates the count. ``reasoning`` is
  ``output_tokens_details.thinking_tokens`` when reported (it is part of ``output``).
- ``merge_usage``: per-model usage of one process, and its source.
  1. ``result.model_usage_since_last_result`` (CLI 2.1.3xx) → ``"delta"``: exactly this
     process's usage per model, even when ``modelUsage`` holds restored session totals.
  2. ``result.modelUsage`` → ``"model_usage"``: per-model totals (they include subagents),
     possibly including a resumed session's earlier totals (see ``restored_baseline``).
     For 1 and 2: cost from ``costUSD``, ``reasoning`` from ``thinkingTokens``, request counts
     from the deduplicated lines; the cache-write total is split by the entry's own
     ``cacheCreationEphemeral{5m,1h}InputTokens`` when present, else with the lines' split for
     that model when it sums exactly, else in the lines' proportion, else in the proportion of
     the result's ``usage.cache_creation``, else all 5m.
  3. only ``result.usage`` → ``"usage"``: the deduplicated lines per model plus the positive
     excess of the result over the lines, given to the primary model (per field: totals =
     max(result, lines)), because stream lines carry placeholder output counts. An all-zero
     result without lines (a refused resume, an API error) gives no usage at all.
  4. no result → ``"lines"`` (best effort; output counts may be placeholders).
- ``carried_totals`` / ``session_state``: the conversation's cumulative usage per model (and
  the CLI's cost) that a call leaves in ``state`` for the next one: what it resumed from plus
  its own usage (from the stream, or read back from the transcript for a stopped call).
- ``restored_baseline``: from 2.1.277 a resumed process restores the session's earlier totals
  into ``modelUsage``/``total_cost_usd`` (agent-clis.md §7.2; seen on 2.1.330 against the
  fake API). Only for source ``"model_usage"`` we subtract the earlier totals carried in
  ``state`` — and only when the data agrees: the result's prompt-side tokens (exact on stream
  lines) are closer to "earlier + this process" than to "this process". A CLI known to be
  older than 2.1.277 is never adjusted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from ai_orchestrator.agents._common import (
    as_dict,
    as_float,
    as_int,
    parse_version,
    prompt_side,
    usage_from_dict,
)
from ai_orchestrator.core.usage import ModelUsage

Source = Literal["delta", "model_usage", "usage", "lines"]
RESTORE_VERSION = (2, 1, 277)
_FIELDS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning")


def base_model(name: str) -> str:
    """``claude-opus-4-8[1m]`` → ``claude-opus-4-8``: modelUsage keys carry variant suffixes."""
    return re.sub(r"\[[^\]]*\]$", "", name)


def anthropic_usage(usage: dict[str, Any]) -> ModelUsage:
    """Normalise an Anthropic ``usage`` object (assistant line or result line)."""
    total_write = usage.get("cache_creation_input_tokens")
    split = as_dict(usage.get("cache_creation"))
    h1 = as_int(split.get("ephemeral_1h_input_tokens"))
    m5 = as_int(split.get("ephemeral_5m_input_tokens"))
    total = as_int(total_write) if total_write is not None else m5 + h1
    h1 = min(h1, total)
    return ModelUsage(
        input=as_int(usage.get("input_tokens")),
        output=as_int(usage.get("output_tokens")),
        cache_read=as_int(usage.get("cache_read_input_tokens")),
        cache_write_5m=total - h1,
        cache_write_1h=h1,
        reasoning=as_int(as_dict(usage.get("output_tokens_details")).get("thinking_tokens")),
    )


def split_write(total: int, m5: int, h1: int) -> tuple[int, int]:
    """Split ``total`` cache-write tokens into (5m, 1h) following the ratio ``m5 : h1``."""
    if m5 + h1 == 0:
        return total, 0
    if m5 + h1 == total:
        return m5, h1
    one_hour = round(total * h1 / (m5 + h1))
    return total - one_hour, one_hour


def merge_usage(
    lines: dict[str, ModelUsage], result: dict[str, Any] | None, init_model: str | None
) -> tuple[dict[str, ModelUsage], Source]:
    """Per-model usage of one process and where it came from (see the module docstring)."""
    lines = {m: _copy(u) for m, u in lines.items()}
    if result is None:
        return lines, "lines"
    since = as_dict(result.get("model_usage_since_last_result"))
    by_model = since or as_dict(result.get("modelUsage"))
    r_usage = as_dict(result.get("usage"))
    if by_model:
        r_split = anthropic_usage(r_usage)
        out: dict[str, ModelUsage] = {}
        for name, raw in by_model.items():
            seen = ModelUsage()
            for model, usage in lines.items():
                if base_model(model) == base_model(str(name)):
                    seen.add(usage)
            out[str(name)] = _entry_usage(as_dict(raw), seen if seen.cache_write else r_split)
            out[str(name)].requests = seen.requests
        return out, "delta" if since else "model_usage"
    totals = anthropic_usage(r_usage)
    if not lines:
        empty = all(getattr(totals, f) == 0 for f in _FIELDS)
        return ({} if empty else {init_model or "unknown": totals}), "usage"
    primary = init_model if init_model in lines else None
    primary = primary or max(lines, key=lambda m: lines[m].requests)
    for field in _FIELDS:
        excess = getattr(totals, field) - sum(getattr(u, field) for u in lines.values())
        if excess > 0:
            setattr(lines[primary], field, getattr(lines[primary], field) + excess)
    return lines, "usage"


def _entry_usage(entry: dict[str, Any], ref: ModelUsage) -> ModelUsage:
    """One ``modelUsage`` entry; its own TTL split when present (CLI 2.1.3xx), else ``ref``'s."""
    write = as_int(entry.get("cacheCreationInputTokens"))
    if (
        "cacheCreationEphemeral1hInputTokens" in entry
        or "cacheCreationEphemeral5mInputTokens" in entry
    ):
        h1 = min(write, as_int(entry.get("cacheCreationEphemeral1hInputTokens")))
        m5 = write - h1
    else:
        m5, h1 = split_write(write, ref.cache_write_5m, ref.cache_write_1h)
    return ModelUsage(
        input=as_int(entry.get("inputTokens")),
        output=as_int(entry.get("outputTokens")),
        cache_read=as_int(entry.get("cacheReadInputTokens")),
        cache_write_5m=m5,
        cache_write_1h=h1,
        reasoning=as_int(entry.get("thinkingTokens")),
        reported_cost=as_float(entry.get("costUSD")),
    )


def restored_baseline(
    usage: dict[str, ModelUsage],
    lines: dict[str, ModelUsage],
    prior: dict[str, ModelUsage],
    version: str | None,
) -> bool:
    """True when ``usage`` (from modelUsage) evidently includes the ``prior`` session totals."""
    parsed = parse_version(version)
    if not prior or (parsed is not None and parsed < RESTORE_VERSION):
        return False
    r_in = sum(prompt_side(u) for u in usage.values())
    l_in = sum(prompt_side(u) for u in lines.values())
    p_in = sum(prompt_side(u) for u in prior.values())
    return p_in > 0 and r_in >= p_in and abs(r_in - (p_in + l_in)) < abs(r_in - l_in)


def subtract_baseline(usage: dict[str, ModelUsage], prior: dict[str, ModelUsage]) -> None:
    """``usage -= prior`` per model, clamped at zero (cost included when both are known)."""
    for name, u in usage.items():
        base = prior.get(name, ModelUsage())
        for field in _FIELDS:
            setattr(u, field, max(0, getattr(u, field) - getattr(base, field)))
        if u.reported_cost is not None and base.reported_cost is not None:
            u.reported_cost = max(0.0, u.reported_cost - base.reported_cost)


def _copy(usage: ModelUsage) -> ModelUsage:
    out = ModelUsage()
    out.add(usage)
    return out


def carried_totals(state: Mapping[str, Any], resumed: bool) -> dict[str, ModelUsage]:
    """The cumulative per-model usage a resumed call starts from (``{}`` for a new one)."""
    if not resumed:
        return {}
    carried = as_dict(state.get("claude_session_totals"))
    return {str(m): usage_from_dict(as_dict(d)) for m, d in carried.items()}


def session_state(
    state: Mapping[str, Any], resumed: bool, usage: dict[str, ModelUsage], reported: float | None
) -> dict[str, Any]:
    """The state a call with ``usage`` (and the CLI's ``reported`` cost) leaves for the next."""
    totals = carried_totals(state, resumed)
    for name, part in usage.items():
        totals[name] = _copy(totals.get(name, ModelUsage()))
        totals[name].add(part)
    prior_cost = as_float(state.get("claude_session_cost")) if resumed else None
    return {
        "claude_session_totals": {m: u.to_dict() for m, u in totals.items()},
        "claude_session_cost": None if reported is None else reported + (prior_cost or 0.0),
    }


"""How many tokens a model's context holds: the model data first, a small table second.

``context_window(agent, model)`` returns ``(tokens, source)``: genai-prices' ``context_window``
for the model aio prices the call as (``model_names.resolve`` + ``pricing.lookup_model``,
so aliases and ``scripted-*`` demo models resolve as they do for prices), else ``KNOWN``
below, else ``(None, reason)``. The caller's own override (``[compaction] windows`` in the
user config, ``calls.compaction``) comes before both.

The window is the one the **agent** works with, which can be less than the API's: the
caller passes the backend's declared ``limit`` (``Capabilities.context_limit``) and the
model-name mark that lifts it. Claude Code, for one, runs a Claude model with a 200k-token
context unless the model is named with the ``[1m]`` suffix (``sonnet[1m]``), whatever the
API allows (genai-prices says 1M for claude-sonnet-4-6), and it compacts by itself past
that limit. Seen with the pinned CLI against the fake API: after a turn whose prompt was
500k tokens on claude-sonnet-4-6, the next resumed call began with the CLI's own
compaction (``compact_boundary``, trigger ``auto``, ``pre_tokens`` 500027).
"""

from __future__ import annotations

from ai_orchestrator.accounting import price_cards
from ai_orchestrator.accounting.model_names import resolve

# Models whose context window genai-prices 0.2.3 leaves out. Source: the input token limit
# on Google's model pages (ai.google.dev/gemini-api/docs/models, 2026-11).
KNOWN: dict[str, int] = {
    "gemini-2.5-pro": 1_048_576,
    "gemini-2.5-flash": 1_048_576,
    "gemini-2.5-flash-lite": 1_048_576,
}


def context_window(
    agent: str | None,
    model: str,
    *,
    limit: int | None = None,
    long_mark: str = "",
    label: str = "the agent",
) -> tuple[int | None, str]:
    """``(tokens, where it came from)``; ``(None, why not)`` when no source knows it.
    ``limit``: the agent's own context limit, lifted by ``long_mark`` in the model name."""
    window, source = _known_window(agent, model)
    if window is None:
        return None, source
    if limit is not None and not (long_mark and long_mark in model) and window > limit:
        return limit, f"{label}'s default context ({source} allows {window:,})"
    return window, source


def _known_window(agent: str | None, model: str) -> tuple[int | None, str]:
    """The window the model data or ``KNOWN`` gives, and where it came from (else ``None`` and
    why not); from the day's cache (``price_cards.load_window``) when there is one, so that
    the check before each resumed call does not import genai-prices (0.2-0.6 s)."""
    cached = price_cards.load_window(agent or "", model)
    if cached is not None:
        return cached
    from ai_orchestrator.accounting.pricing import NOT_INSTALLED, data_version, lookup_model

    day = price_cards.today()  # before the lookup: see price_cards.store
    name, provider_id, _notes = resolve(agent, model)
    found, reason = lookup_model(name, provider_id, None)
    window = found.model.context_window if found is not None else None
    result: tuple[int | None, str]
    if isinstance(window, int) and window > 0:
        result = window, f"{data_version()} ({found.model.id if found else name})"
    elif name in KNOWN:
        result = KNOWN[name], "aio's table (accounting/context_windows.py)"
    else:
        result = None, f"no context window known for {model!r}"
    if reason != NOT_INSTALLED:
        price_cards.store_window(agent or "", model, result[0], result[1], day)
    return result

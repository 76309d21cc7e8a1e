"""How many tokens a model's context holds: the model data first, a small table second.

``context_window(agent, model)`` returns ``(tokens, source)``: genai-prices' ``context_window``
for the model aio prices the call as (``model_names.resolve`` + ``pricing.lookup_model``,
so aliases and ``scripted-*`` demo models resolve as they do for prices), else ``KNOWN``
below, else ``(None, reason)``. The caller's own override (``[compaction] windows`` in the
user config, ``calls.compaction``) comes before both.
"""

from __future__ import annotations

from ai_orchestrator.accounting.model_names import resolve
from ai_orchestrator.accounting.pricing import data_version, lookup_model

# Models whose context window genai-prices 0.2.3 leaves out. Source: the input token limit
# on Google's model pages (ai.google.dev/gemini-api/docs/models, 2026-11).
KNOWN: dict[str, int] = {
    "gemini-2.5-pro": 1_048_576,
    "gemini-2.5-flash": 1_048_576,
    "gemini-2.5-flash-lite": 1_048_576,
}


def context_window(agent: str | None, model: str) -> tuple[int | None, str]:
    """``(tokens, where it came from)``; ``(None, why not)`` when no source knows it."""
    name, provider_id, _notes = resolve(agent, model)
    found, _reason = lookup_model(name, provider_id, None)
    window = found.model.context_window if found is not None else None
    if isinstance(window, int) and window > 0:
        return window, f"{data_version()} ({found.model.id if found else name})"
    if name in KNOWN:
        return KNOWN[name], "aio's table (accounting/context_windows.py)"
    return None, f"no context window known for {model!r}"

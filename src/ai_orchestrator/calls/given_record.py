"""Recording an interaction given from outside (``aio session record``: scripts and hooks).

``record_given(store, name, interaction)`` stores one interaction that aio did not run:

- without a ``cost`` it is validated and priced exactly like ``aio run`` prices
  (``accounting.call_cost.price_interaction``: ``unpriced`` when the model has no price, the
  agent's ``reported_cost`` then, if given — never a computed $0);
- without ``tokens``, ``usage_by_model``, ``cost`` and ``reported_cost`` its usage is not
  known: it is stored with ``usage_unknown: true`` and ``cost_source: unpriced`` (shown as
  "usage unknown", never as 0 tokens and $0); ``usage_unknown: true`` is never priced;
- from outside, a stored line is at most ``core.limits.MAX_RECORD_BYTES``;
- with an ``id`` it is stored at most once (``SessionStore.record_unique``), so a hook that
  retries after a failure cannot count a call twice; ``added`` says whether it was new;
- anything that is not a valid interaction is refused by the store (``InvalidInput``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_orchestrator.core.names import SessionName, as_session_name
from ai_orchestrator.store.records import check_record_size, normalize_interaction, stored_form
from ai_orchestrator.store.session_store import SessionStore


@dataclass(frozen=True)
class GivenRecord:
    """The stored interaction's id, and whether it was new."""

    id: Any  # as given (the store has validated it) or as the store assigned it
    added: bool


def priced_interaction(name: SessionName, interaction: dict[str, Any]) -> dict[str, Any]:
    """``interaction`` (which has no cost) validated and priced like ``aio run`` prices."""
    # Lazily: a hook recording a call that carries its cost never loads the pricing path.
    from ai_orchestrator.accounting.call_cost import price_interaction
    from ai_orchestrator.calls.recording import declared_pricing

    checked = normalize_interaction(interaction, name)
    priced = price_interaction(checked, declared_pricing(checked.agent))
    return {**interaction, **priced.record_fields()}


_USAGE_FIELDS = ("tokens", "usage_by_model", "cost", "reported_cost")


def record_given(store: SessionStore, name: str | SessionName, interaction: Any) -> GivenRecord:
    """Price (when it has no cost) and record ``interaction`` (decoded JSON: anything) in
    session ``name``: the one door from JSON (``normalize_interaction``), then typed."""
    session = as_session_name(name)
    if isinstance(interaction, dict):
        if all(interaction.get(key) is None for key in _USAGE_FIELDS):
            interaction = {**interaction, "usage_unknown": interaction.get("usage_unknown", True)}
        if interaction.get("cost") is None and interaction.get("usage_unknown") is not True:
            interaction = priced_interaction(session, interaction)
    # the whole record checked (types, size, JSON) before the store is touched
    checked = normalize_interaction(interaction, session)
    check_record_size(stored_form(checked)[1])
    if isinstance(interaction, dict) and "id" in interaction:
        added = store.record_unique(session, [checked])
        return GivenRecord(interaction["id"], bool(added))
    return GivenRecord(store.record(checked).id, True)

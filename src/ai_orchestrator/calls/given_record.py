"""Recording an interaction given from outside (``aio session record``: scripts and hooks).

``record_given(store, name, interaction)`` stores one interaction that aio did not run:

- without a ``cost`` it is validated and priced exactly like ``aio run`` prices
  (``calls.recording.price_interaction``: ``unpriced`` when the model has no price, the
  agent's ``reported_cost`` then, if given — never a computed $0);
- with an ``id`` it is stored at most once (``SessionStore.record_unique``), so a hook that
  retries after a failure cannot count a call twice; ``added`` says whether it was new;
- anything that is not a valid interaction is refused by the store (``InvalidInput``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_orchestrator.core.names import parse_session_name
from ai_orchestrator.store.records import normalize_interaction
from ai_orchestrator.store.session_store import SessionStore


@dataclass(frozen=True)
class GivenRecord:
    """The stored interaction's id, and whether it was new."""

    id: Any  # as given (the store has validated it) or as the store assigned it
    added: bool


def priced_interaction(name: str, interaction: dict[str, Any]) -> dict[str, Any]:
    """``interaction`` (which has no cost) validated and priced like ``aio run`` prices."""
    # Lazily: a hook recording a call that carries its cost never loads the pricing path.
    from ai_orchestrator.calls.recording import price_interaction

    checked = normalize_interaction(interaction, parse_session_name(name))
    return {**interaction, **price_interaction(checked)}


def record_given(store: SessionStore, name: str, interaction: Any) -> GivenRecord:
    """Price (when it has no cost) and record ``interaction`` (decoded JSON: anything) in
    session ``name``."""
    if isinstance(interaction, dict) and interaction.get("cost") is None:
        interaction = priced_interaction(name, interaction)
    if isinstance(interaction, dict) and "id" in interaction:
        added = store.record_unique(name, [interaction])
        return GivenRecord(interaction["id"], bool(added))
    return GivenRecord(store.record(name, interaction).id, True)

"""The session store: per-session directories of files that are the source of truth.

``session_store`` reads, records and locks (its docstring has the layout and invariants);
``lifecycle`` deletes, repairs, migrates and cleans whole sessions; ``index`` is the derived
summary cache for listings; ``transfer`` exports and imports; ``todo_log`` is the todo file.
Session names are ``core.names``; the lock files are ``infra.locks``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ai_orchestrator.store.session_store import SessionStore, SessionView

__all__ = ["SessionStore", "SessionView"]


def __getattr__(name: str) -> Any:
    """``SessionStore`` and ``SessionView`` load on first use (PEP 562): importing a light
    module of the store (``store.stats`` for its keys, to complete a word) loads no other."""
    if name in __all__:
        from ai_orchestrator.store import session_store

        return getattr(session_store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

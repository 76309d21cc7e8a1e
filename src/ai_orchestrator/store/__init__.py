"""The session store: per-session directories of files that are the source of truth.

``session_store`` reads, records and locks (its docstring has the layout and invariants);
``lifecycle`` deletes, repairs, migrates and cleans whole sessions; ``index`` is the derived
summary cache for listings; ``transfer`` exports and imports; ``todo_log`` is the todo file.
Session names are ``core.names``; the lock files are ``infra.locks``.
"""

from __future__ import annotations

from ai_orchestrator.store.session_store import SessionStore, SessionView

__all__ = ["SessionStore", "SessionView"]

"""The session store: per-session directories of files that are the source of truth.

See ``session_store`` for the layout and invariants, ``names`` for what a session name
may be, ``locks`` for the write and run locks, and ``transfer`` for export/import.
"""

from __future__ import annotations

from ai_orchestrator.store.session_store import SessionStore, SessionView

__all__ = ["SessionStore", "SessionView"]

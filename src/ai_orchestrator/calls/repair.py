"""Repairing one session completely: the store's repair, then a call whose aio died.

``repair(store, name)`` is the use case behind ``aio session repair``. It runs
``store.lifecycle.repair_session`` (summary rebuilt from the log, unreadable lines
quarantined, modes fixed, leftovers removed), then ``calls.recover.recover_session``: an
agent call in flight when aio died is recorded from the agent's own files and its todo
closed. The store cannot do the second step itself (recovery prices and reads agent files,
rooms above it), which is why the two meet here and not in ``cli/``.

The report is the store's repair report plus ``recovered_call`` (the id of the record
recovery wrote or found, else ``None``) and ``recovery_skipped`` (why a pending call was
not checked: a run still holds the session; ``None`` otherwise). A problem recovery runs
into with an odd file is added to ``cannot_fix`` unless repair named that file already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_orchestrator.calls.recover import Recovered, recover_session
from ai_orchestrator.core.errors import SessionBusy, StoreError, StoreFileError
from ai_orchestrator.store.lifecycle import repair_session
from ai_orchestrator.store.pending import PENDING
from ai_orchestrator.store.session_store import SessionStore


@dataclass
class Repaired:
    """What ``repair`` did: the report (``--json`` document) and the recovered call."""

    report: dict[str, Any]
    recovered: Recovered | None


def repair(store: SessionStore, name: str) -> Repaired:
    """Repair session ``name`` and recover a call whose aio died (see the module doc)."""
    report = repair_session(store, name)
    skipped: str | None = None
    try:
        recovered = recover_session(store, name)
    except SessionBusy as exc:  # a run (or a dying agent's watchdog) still holds it
        recovered = None
        if (store.path_of(name) / PENDING).exists():
            skipped = f"a call in flight was not checked: {exc}; run repair again once it is free"
    except StoreFileError as exc:  # e.g. an odd .run.lock: repair names it, recovery waits
        recovered = None
        if not any(str(exc.filename) in problem for problem in report["cannot_fix"]):
            report["cannot_fix"].append(str(exc))
    report["recovered_call"] = None if recovered is None else recovered.record.id
    report["recovery_skipped"] = skipped
    return Repaired(report, recovered)


def settle_pending(store: SessionStore, name: str) -> str:
    """For ``clean`` (``store.lifecycle.Settle``): record the call the pending-call marker
    of session ``name`` stands for, under its run lock; what was done. Raises when the call
    could not be recorded (a run holds the session, an odd or unusable marker), so that
    ``clean`` keeps the session instead of removing an unrecorded call."""
    recovered = recover_session(store, name)
    if recovered is None:
        if (store.path_of(name) / PENDING).exists():
            raise StoreError(f"{PENDING} could not be read")
        raise StoreError(f"its {PENDING} was unusable (kept as pending-call.corrupt-*.json)")
    state = "recorded now" if recovered.added else "it had been recorded already"
    return f"recovered its interrupted call {recovered.record.id} ({state})"

"""Recovering a call whose aio died: nothing spent goes unrecorded, nothing twice.

``session_call`` writes a pending-call marker (``store.pending``) under the session's run
lock before it launches the agent, and removes it once the call's interaction is stored and
its todo closed. A marker still there when the run lock is next taken (the next ``aio run``
or workflow phase, or ``aio session repair``) means that aio died during the call. When a
later aio holds the run lock, the earlier agent is gone (the lock outlives the agent), so its
files are complete.

The marker (``pending_marker``) holds: ``record_id`` (the id the call's record gets, so the
two can never both be stored), ``todo_id``, ``agent``, ``session_id`` (resumed or minted id;
for a new Codex thread it is filled in as soon as the stream names the thread),
``resume_id``, ``cwd``, ``started_at``, ``model``, ``task_id``, ``action``, ``state`` (the
backend state the call started from: the Codex usage baseline) and the redacted ``prompt``.

``recover_pending(store, name)`` (caller holds the run lock) is crash-safe and idempotent:

1. The record with ``record_id`` already in the log (the call finished) → nothing added.
   Otherwise the call is recorded with outcome ``interrupted``: its usage read back from the
   agent's own files (``readback``, the path every stopped call takes: only what this call
   added), priced by the
   same path as every call (``recording.build_record``), ``cost_source: transcript`` and
   ``usage_source`` naming the file kind and path — or, with no file (or none holding a
   response of this call), zero tokens,
   ``cost_source: unpriced``, ``usage_unknown: true`` (never a silent $0). It is stored with
   ``record_unique`` (a repeat after a crash adds nothing). When the file was found the
   record carries the conversation id and the backend state after the call (the next Codex
   call diffs from the recovered cumulative usage).
   A marker with a ``finished`` note (``finished_note``, written in place by
   ``store.pending.finish_pending`` when the agent finished but its record could not be
   stored, e.g. on a full disk) is recorded as what it was: the real outcome, error, text,
   duration and usage (the agent's files still win per model where they count more), with
   a ``session_note`` saying the record was stored late and why — never "killed?".
2. The call's todo, if still in progress, is closed (from the stored record).
3. Only then the marker is removed.

``recover_session(store, name)`` is the same under a run lock it takes itself (``repair``);
``SessionBusy`` while a run holds the session. A marker that cannot be turned into a valid
record (edited by hand) is set aside (``pending-call.corrupt-*.json``), never blocking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_orchestrator.agents._common import usage_from_dict
from ai_orchestrator.agents.base import AgentRequest, AgentResult
from ai_orchestrator.calls.readback import adopt, read_call_usage
from ai_orchestrator.calls.recording import build_record
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.core.names import SessionName, as_session_name
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.core.usage import OUTCOMES
from ai_orchestrator.infra.redact import redact
from ai_orchestrator.infra.timeutil import format_iso, parse_iso
from ai_orchestrator.store import SessionStore, todo_log
from ai_orchestrator.store.pending import read_pending, remove_pending, set_aside_pending

if TYPE_CHECKING:
    from ai_orchestrator.agents.homes.agent_files import FileUsage

CONFIRMED = "conversation_confirmed"  # agent_state key: the conversation is known to exist
_REQUIRED = ("record_id", "todo_id", "agent", "cwd", "started_at")


@dataclass
class Recovered:
    """What recovery did for one marker."""

    record: Interaction
    added: bool  # False: the call had been recorded already


def pending_marker(
    *,
    record_id: str,
    todo_id: str,
    request: AgentRequest,
    agent: str,
    started_at: datetime,
    task_id: str | None,
    action: str,
    session_id: str | None = None,
) -> dict[str, Any]:
    """The marker for a call about to launch ``request``."""
    return versioned({
        "record_id": record_id,
        "todo_id": todo_id,
        "agent": agent,
        "session_id": session_id or request.resume_id,
        "resume_id": request.resume_id,
        "cwd": str(request.cwd),
        "started_at": format_iso(started_at),
        "model": request.model,
        "task_id": task_id,
        "action": action,
        "state": dict(request.state),
        "prompt": redact(request.prompt),
    })


def _valid(marker: dict[str, Any]) -> bool:
    return all(isinstance(marker.get(k), str) and marker[k] for k in _REQUIRED) and (
        parse_iso(marker["started_at"]) is not None
    )


def recover_pending(store: SessionStore, name: str | SessionName) -> Recovered | None:
    """Record the call a marker in ``name`` stands for (see the module docstring)."""
    if not store.exists(name):
        return None
    directory = store.path_of(name)
    marker = read_pending(directory)
    if marker is None:
        return None
    if not _valid(marker):
        set_aside_pending(directory)
        return None
    record_id = marker["record_id"]
    stored = next((r for r in store.read_log(name).records if r.id == record_id), None)
    added = stored is None
    if stored is None:
        try:
            session = as_session_name(name)
            store.record_unique(session, [_interrupted_record(marker, session)])
        except InvalidInput:  # a marker edited into nonsense must not block the session
            set_aside_pending(directory)
            return None
        stored = next(r for r in store.read_log(name).records if r.id == record_id)
    _close_todo(marker["todo_id"], str(name), stored)
    remove_pending(directory)
    return Recovered(stored, added)


def recover_session(store: SessionStore, name: str) -> Recovered | None:
    """``recover_pending`` under the session's run lock (refused while a run holds it)."""
    from ai_orchestrator.infra.locks import current_command

    if not store.exists(name):
        return None
    lock = store.run_lock(name, timeout=0, command=current_command())
    try:
        return recover_pending(store, name)
    finally:
        lock.release()


def _interrupted_record(marker: dict[str, Any], session: SessionName) -> Interaction:
    agent, cwd = marker["agent"], Path(marker["cwd"])
    started = parse_iso(marker["started_at"])
    assert started is not None  # checked by _valid
    raw_state = marker.get("state")
    state: dict[str, Any] = raw_state if isinstance(raw_state, dict) else {}
    session_id = marker.get("session_id") if isinstance(marker.get("session_id"), str) else None
    resume_id = marker.get("resume_id") if isinstance(marker.get("resume_id"), str) else None
    finished = _finished(marker)
    if finished is not None:
        session_id = finished.session_id or session_id
    found = read_call_usage(agent, session_id, cwd, started, state, resume_id)
    if finished is not None:
        result, note = finished, _late_note(marker["finished"])
        result.state = {**state, **result.state}
    else:
        note = None
        result = AgentResult(
            agent=agent,
            outcome="interrupted",
            session_id=session_id,
            model=marker.get("model"),
            error=_explain(agent, found),
            state=dict(state),
        )
    known = adopt(result, found)
    if finished is None and found is not None and found.last_at is not None:
        result.duration_ms = max(0, int((found.last_at - started).total_seconds() * 1000))
    exists = found is not None or (finished is not None and finished.session_id is not None)
    new_state = {**result.state, CONFIRMED: True} if exists else None
    return build_record(
        str(marker.get("prompt") or ""),
        result,
        session=session,
        record_id=marker["record_id"],
        timestamp=format_iso(started),
        task_id=marker.get("task_id"),
        model=marker.get("model"),
        cwd=cwd,
        session_id=session_id if exists else resume_id,
        action=str(marker.get("action") or "resumed"),
        state=new_state,
        keep_raw_events=False,
        note=note,
        usage_known=known,  # nothing in the agent's file: usage_unknown, unpriced
        found=found,
        source_always=True,
    )


def finished_note(
    result: AgentResult, session_id: str | None, state: dict[str, Any] | None, failure: str
) -> dict[str, Any]:
    """What the marker keeps about a call whose agent finished but whose record could not
    be stored (``store.pending.finish_pending``): enough to record it as it was."""
    return {
        "outcome": result.outcome,
        "error": (result.error or "")[:300] or None,
        "text": (result.text or "")[:200],
        "exit_code": result.exit_code,
        "duration_ms": result.duration_ms,
        "session_id": session_id,
        "model": result.model,
        "usage": {m: u.to_dict() for m, u in result.usage.items()},
        "reported_cost": result.reported_cost,
        "state": {k: v for k, v in (state or {}).items() if k != CONFIRMED},
        "failure": failure[:300],
    }


def _finished(marker: dict[str, Any]) -> AgentResult | None:
    """The result a ``finished_note`` in ``marker`` describes (``None``: none, or unusable)."""
    note = marker.get("finished")
    if not isinstance(note, dict) or note.get("outcome") not in OUTCOMES:
        return None
    raw_usage, raw_state = note.get("usage"), note.get("state")
    usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    state: dict[str, Any] = raw_state if isinstance(raw_state, dict) else {}
    cost = note.get("reported_cost")

    def text(key: str) -> str | None:
        value = note.get(key)
        return value if isinstance(value, str) and value else None

    def number(key: str) -> int | None:
        value = note.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return AgentResult(
        agent=str(marker["agent"]),
        outcome=note["outcome"],
        text=text("text") or "",
        session_id=text("session_id"),
        model=text("model") or marker.get("model"),
        usage={str(m): usage_from_dict(u) for m, u in usage.items() if isinstance(u, dict)},
        reported_cost=float(cost) if isinstance(cost, int | float) else None,
        duration_ms=number("duration_ms") or 0,
        exit_code=number("exit_code"),
        error=text("error"),
        state=dict(state),
    )


def _late_note(note: dict[str, Any]) -> str:
    failure = note.get("failure") if isinstance(note.get("failure"), str) else "unknown error"
    return (
        "recorded later from the pending-call marker: the agent finished, but storing this "
        f"record failed ({failure})"
    )


def _explain(agent: str, found: FileUsage | None) -> str:
    prefix = "aio ended during this call (killed?)"
    if found is None:
        return f"{prefix}; no {agent} session file found for it, so its usage is unknown"
    return f"{prefix}; usage read back from the {found.kind} {found.path}"


def _close_todo(todo_id: str, name: str, record: Interaction) -> None:
    """Close the call's todo unless something already did."""
    mine = [r for r in todo_log.read_records().records if r["id"] == todo_id]
    if mine and todo_log.fold(mine)[0]["status"] != "in_progress":
        return
    unpriced = record.cost_source == "unpriced"
    tokens = record.tokens.to_json()
    if record.outcome == "success":
        todo_log.end(todo_id, name, record.cost, tokens, "completed",
                  record.response_preview, unpriced=unpriced)
        return
    todo_log.error(todo_id, name, f"{record.outcome}: {record.error or 'no detail'}",
                actual_cost=record.cost, tokens=tokens, unpriced=unpriced)

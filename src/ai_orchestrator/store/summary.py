"""The session summary (``metadata.json``): a fold over the interactions log.

``empty_summary`` then ``apply_interaction`` for each record, in order. Appending uses
the same step, so a summary rebuilt from the log always equals one maintained
incrementally; that is what lets the store repair a stale or corrupt summary without
losing anything. Only ``created_at``, the conversation fields of a session that has
none in its log (a migrated shell-version session) and ``legacy_name`` (the shell-version
name a session was carried over from) are not derived from the log alone; a rebuild
carries them over from the previous summary (``carried``).

Per-model buckets (``by_model``) and breakdowns (``group_buckets``) hold interactions,
tokens, cost, savings, how many calls could not be priced (``unpriced``) and how much of
the cost is only the agent's own figure (``cost_reported``, by ``cost_reported_by``; also
summed in the summary), so an unpriced model never shows as $0 and a reported cost never
as a computed one without saying so. A call's cost per model is
``core.cost_split.split_by_model``.

One-off calls (``session_action == "fresh"``, e.g. ``aio run --no-session``) never replace
the stored conversation (agent session id, working directory, backend state), so the
next normal run resumes the conversation it had before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ai_orchestrator import SCHEMA_VERSION
from ai_orchestrator.core.cost_split import reported_part, split_by_model
from ai_orchestrator.core.interaction import TOKEN_KEYS, Interaction, Tokens
from ai_orchestrator.core.names import SessionName
from ai_orchestrator.infra.timeutil import day_of, format_iso, now_iso, parse_iso

CONVERSATION_FIELDS = ("agent", "agent_session_id", "agent_cwd", "agent_state", "model")
# Carried across rebuilds too: the shell-version name a migrated or imported session had
# before it was given a valid one (also on each of its converted records).
CARRIED_FIELDS = (*CONVERSATION_FIELDS, "legacy_name")
BUCKET_KEYS = (
    "interactions",
    "tokens",
    "cost",
    "savings",
    "unpriced",
    "cost_reported",
    "cost_reported_by",
)


def _bucket() -> dict[str, Any]:
    return {
        "interactions": 0,
        "tokens": {k: 0 for k in TOKEN_KEYS},
        "cost": 0.0,
        "savings": 0.0,
        "unpriced": 0,
        "cost_reported": 0.0,
        "cost_reported_by": [],
    }


def add_reported(target: dict[str, Any], amount: float, agents: Iterable[str | None]) -> None:
    """Count ``amount`` of ``target``'s cost as only reported by ``agents`` (not computed)."""
    if amount <= 0:
        return
    target["cost_reported"] = round(float(target.get("cost_reported") or 0.0) + amount, 10)
    known = set(target.get("cost_reported_by") or [])
    target["cost_reported_by"] = sorted(known | {agent or "the agent" for agent in agents})


def _add_to_bucket(
    bucket: dict[str, Any],
    tokens: Tokens,
    cost: float,
    savings: float = 0.0,
    unpriced: bool = False,
    reported: float = 0.0,
    agent: str | None = None,
) -> None:
    bucket["interactions"] += 1
    for key in TOKEN_KEYS:
        bucket["tokens"][key] += getattr(tokens, key)
    bucket["cost"] = round(bucket["cost"] + cost, 10)
    bucket["savings"] = round(bucket["savings"] + savings, 10)
    bucket["unpriced"] += 1 if unpriced else 0
    add_reported(bucket, reported, [agent])


def empty_summary(
    session: SessionName, created_at: str | None = None, base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    moment = parse_iso(created_at)
    created_at = format_iso(moment) if moment else None
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "session_name": session.name,
        "command": session.command,
        "feature_id": session.feature_id,
        "agent": None,
        "agent_session_id": None,
        "agent_cwd": None,
        "agent_state": {},
        "model": None,
        "status": "new",
        "last_outcome": None,
        "created_at": created_at or now_iso(),
        "last_used": None,
        "interaction_count": 0,
        "tokens": {k: 0 for k in TOKEN_KEYS},
        "cost": 0.0,
        "savings": 0.0,
        "unpriced_interactions": 0,
        "cost_reported": 0.0,
        "cost_reported_by": [],
        "failed_interactions": 0,
        "by_model": {},
        "log_size": 0,
        "corrupt_lines": 0,
        "torn_tail": 0,
    }
    summary.update(carried(base or {}))
    return summary


def carried(previous: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``previous`` worth keeping across a rebuild (``CARRIED_FIELDS``)."""
    out: dict[str, Any] = {}
    for field in CARRIED_FIELDS:
        value = previous.get(field)
        if field == "agent_state":
            if isinstance(value, Mapping) and value:
                out[field] = dict(value)
        elif isinstance(value, str) and value:
            out[field] = value
    return out


def _status_for(outcome: str) -> str:
    if outcome == "success":
        return "active"
    if outcome.endswith("session_lost"):
        return "lost"
    return "failed"


def apply_interaction(summary: dict[str, Any], record: Interaction) -> None:
    """Fold one stored interaction into ``summary`` (in place)."""
    summary["interaction_count"] += 1
    for key in TOKEN_KEYS:
        summary["tokens"][key] += getattr(record.tokens, key)
    summary["cost"] = round(summary["cost"] + float(record.cost), 10)
    if record.savings is not None:
        summary["savings"] = round(summary["savings"] + float(record.savings), 10)
    if record.cost_source == "unpriced":
        summary["unpriced_interactions"] += 1
    outcome = record.outcome
    if outcome != "success":
        summary["failed_interactions"] += 1
    fresh = record.fresh
    if record.legacy_name:
        summary["legacy_name"] = record.legacy_name
    if record.model:
        summary["model"] = record.model
    # The stored conversation (agent, id, cwd, state) changes as one: only a call that names
    # a conversation replaces it. A one-off call, or one that died before its new
    # conversation was named (another cwd, another agent), leaves it reachable as it was.
    holds = bool(summary.get("agent_session_id"))
    moves = not fresh and (bool(record.agent_session_id) or not holds)
    if record.agent and (moves or not holds):
        summary["agent"] = record.agent
    if moves:
        if record.agent_session_id:
            summary["agent_session_id"] = record.agent_session_id
        if record.cwd:
            summary["agent_cwd"] = record.cwd
        if record.agent_state is not None:
            summary["agent_state"] = dict(record.agent_state)
    summary["status"] = _status_for(outcome)
    summary["last_outcome"] = outcome
    timestamp = record.timestamp
    if summary["last_used"] is None or timestamp > summary["last_used"]:
        summary["last_used"] = timestamp
    if timestamp < summary["created_at"]:
        summary["created_at"] = timestamp

    shares = split_by_model(record)
    add_reported(summary, reported_part(record, shares), [record.agent])
    for share in shares:
        bucket = summary["by_model"].setdefault(share.model, _bucket())
        _add_to_bucket(
            bucket,
            share.tokens,
            share.cost,
            share.savings,
            share.unpriced,
            share.cost if share.reported else 0.0,
            record.agent,
        )


def group_buckets(records: Iterable[Interaction], by: str) -> dict[str, dict[str, Any]]:
    """Per-``day`` (UTC) or per-``task`` buckets of interactions, tokens, cost and savings.

    These are computed from the log on demand rather than kept in the summary, so the
    summary stays small (``list``/``stats`` read 10,000 of them in well under a second).
    """
    buckets: dict[str, dict[str, Any]] = {}
    for record in records:
        if by == "day":
            key = day_of(record.timestamp) or "unknown"
        elif by == "task":
            key = record.task_id or "(no task)"
        else:
            raise ValueError(f"cannot group interactions by {by!r}")
        _add_to_bucket(
            buckets.setdefault(key, _bucket()),
            record.tokens,
            record.cost,
            float(record.savings or 0.0),
            record.cost_source == "unpriced",
            reported_part(record),
            record.agent,
        )
    return buckets


def build_summary(
    session: SessionName,
    records: Iterable[Interaction],
    created_at: str | None = None,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    summary = empty_summary(session, created_at, base)
    for record in records:
        apply_interaction(summary, record)
    return summary


def last_activity(summary: Mapping[str, Any]) -> str | None:
    """When the session was last used (or created, if never), as a stored timestamp."""
    value = summary.get("last_used") or summary.get("created_at")
    return value if isinstance(value, str) else None


_SUMMARY_TYPES: dict[str, type | tuple[type, ...]] = {
    "schema_version": int,
    "session_name": str,
    "command": str,
    "feature_id": str,
    "status": str,
    "created_at": str,
    "interaction_count": int,
    "tokens": dict,
    "cost": (int, float),
    "savings": (int, float),
    "unpriced_interactions": int,
    "failed_interactions": int,
    "by_model": dict,
    "log_size": int,
    "corrupt_lines": int,
    "agent_state": dict,
}


def summary_problem(summary: object, session: SessionName) -> str | None:
    """Why ``summary`` cannot be trusted, or ``None`` if it is well-formed."""
    if not isinstance(summary, dict):
        return f"metadata.json holds a {type(summary).__name__}, not an object"
    for key, kind in _SUMMARY_TYPES.items():
        value = summary.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"metadata.json field '{key}' is missing or has the wrong type"
    if summary["session_name"] != session.name:
        return f"metadata.json names session {summary['session_name']!r}"
    tokens = summary["tokens"]
    if any(not isinstance(tokens.get(k), int) for k in TOKEN_KEYS):
        return "metadata.json field 'tokens' has the wrong shape"
    if summary["last_used"] is not None and not isinstance(summary["last_used"], str):
        return "metadata.json field 'last_used' has the wrong type"
    if not isinstance(summary.get("torn_tail", 0), int):
        return "metadata.json field 'torn_tail' has the wrong type"
    return None


def summary_outdated(summary: Mapping[str, Any]) -> bool:
    """True for a well-formed summary written before per-model unpriced counts and
    savings existed: it is rebuilt from the log quietly (nothing is wrong with it)."""
    return any(
        not isinstance(bucket, Mapping) or any(k not in bucket for k in BUCKET_KEYS)
        for bucket in summary["by_model"].values()
    )

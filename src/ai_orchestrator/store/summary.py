"""The session summary (``metadata.json``): a fold over the interactions log.

``empty_summary`` then ``apply_interaction`` for each record, in order. Appending uses
the same step, so a summary rebuilt from the log always equals one maintained
incrementally; that is what lets the store repair a stale or corrupt summary without
losing anything. Only ``created_at``, the conversation fields of a session that has
none in its log (a migrated shell-version session) and ``legacy_name`` (the shell-version
name a session was carried over from) are not derived from the log alone; a rebuild
carries them over from the previous summary (``carried``). ``lineage`` (absent unless a
record carries one) is the ``lineage`` of the newest record that has one: where the
session's conversation came from (another feature's, a template's; ``workflow.phases.lineage``).

Per-model buckets (``by_model``) and breakdowns (``group_buckets``) hold interactions,
tokens, cost, savings, how many calls could not be priced (``unpriced``) and how much of
the cost is only the agent's own figure (``cost_reported``, by ``cost_reported_by``; also
summed in the summary), so an unpriced model never shows as $0 and a reported cost never
as a computed one without saying so.

One-off calls (``session_action == "fresh"``, e.g. ``aio run --no-session``) never replace
the stored conversation (agent session id, working directory, backend state), so the
next normal run resumes the conversation it had before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ai_orchestrator.core.interaction import TOKEN_KEYS, Interaction, Tokens
from ai_orchestrator.core.names import SessionName
from ai_orchestrator.core.outcomes import session_status
from ai_orchestrator.core.schema import SCHEMA_KEY, versioned
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
    summary: dict[str, Any] = versioned({
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
    })
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


def _shares(total: float, weights: list[int]) -> list[float]:
    """``total`` split in proportion to ``weights`` (equally when they are all zero)."""
    whole = sum(weights)
    if whole <= 0:
        return [total / len(weights)] * len(weights)
    return [total * w / whole for w in weights]


ModelShare = tuple[str, Tokens, float, float, bool, bool]


def _models_of(record: Interaction) -> list[ModelShare]:
    """(model, tokens, cost, savings, unpriced, reported) per model used in the call;
    ``reported``: that cost is the agent's own figure, we could not compute it."""
    savings = float(record.savings or 0.0)
    per_model = record.usage_by_model
    if per_model is None:
        model = record.model or "unknown"
        unpriced = record.cost_source == "unpriced"
        reported = record.cost_source == "reported"
        return [(model, record.tokens, float(record.cost), savings, unpriced, reported)]
    # An empty breakdown is a call that used no model: nothing to attribute.
    models: list[str] = []
    tokens: list[Tokens] = []
    costs: list[float] = []
    model_savings: list[float | None] = []
    priced: list[bool] = []
    reported_by_cli: list[bool] = []
    for model, usage in per_model.items():
        models.append(model)
        tokens.append(usage.tokens())
        known = usage.priced is not False
        cost = float(usage.cost or 0.0)
        reported_by_cli.append(not known and usage.reported_cost is not None)
        if usage.reported_cost is not None and not known:
            cost, known = float(usage.reported_cost), True  # the CLI's own per-model figure
        costs.append(cost)
        priced.append(known)
        model_savings.append(usage.savings)
    unknown = [i for i, known in enumerate(priced) if not known]
    if unknown and record.cost_source == "reported":
        # The call's cost is the CLI's reported total: what the priced models do not
        # account for is what the unpriced ones cost.
        known_cost = sum(c for c, p in zip(costs, priced, strict=True) if p)
        rest = max(0.0, float(record.cost) - known_cost)
        weights = [tokens[i].input + tokens[i].output + tokens[i].cache_read for i in unknown]
        for i, share in zip(unknown, _shares(rest, weights), strict=True):
            costs[i], priced[i], reported_by_cli[i] = round(share, 10), True, True
    if all(s is None for s in model_savings) and models:
        # Older records keep savings per call only; cache reads earn them.
        split = _shares(savings, [t.cache_read for t in tokens])
    else:
        split = [float(s or 0.0) for s in model_savings]
    return [
        (models[i], tokens[i], costs[i], round(split[i], 10), not priced[i], reported_by_cli[i])
        for i in range(len(models))
    ]


def reported_part(record: Interaction, shares: list[ModelShare] | None = None) -> float:
    """How much of the call's cost is the agent's own figure that we could not compute."""
    if record.cost_source != "reported":
        return 0.0
    shares = _models_of(record) if shares is None else shares
    if not shares:
        return float(record.cost)
    return sum(share[2] for share in shares if share[5])


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
    if record.lineage:  # the origin of the newest conversation that had one (linked, templated)
        summary["lineage"] = dict(record.lineage)
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
    summary["status"] = session_status(outcome)
    summary["last_outcome"] = outcome
    timestamp = record.timestamp
    if summary["last_used"] is None or timestamp > summary["last_used"]:
        summary["last_used"] = timestamp
    if timestamp < summary["created_at"]:
        summary["created_at"] = timestamp
    # The conversation's size (``calls.context``) and its compactions: present only once a
    # call said them, so summaries of sessions without them keep their shape.
    if record.context_tokens is not None and not fresh:
        summary["context"] = {
            "tokens": record.context_tokens, "model": record.model, "at": timestamp,
        }  # fmt: skip
    if record.compaction is not None:
        summary.setdefault("compactions", []).append({"at": timestamp, **record.compaction})

    shares = _models_of(record)
    add_reported(summary, reported_part(record, shares), [record.agent])
    for model, tokens, cost, model_savings, unpriced, reported in shares:
        bucket = summary["by_model"].setdefault(model, _bucket())
        _add_to_bucket(
            bucket, tokens, cost, model_savings, unpriced, cost if reported else 0.0, record.agent
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
    SCHEMA_KEY: int,
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

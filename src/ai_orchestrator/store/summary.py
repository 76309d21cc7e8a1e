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
as a computed one without saying so. A call's cost per model is
``core.cost_split.split_by_model``.

One-off calls (``session_action == "fresh"``, e.g. ``aio run --no-session``) never replace
the stored conversation (agent session id, working directory, backend state), so the
next normal run resumes the conversation it had before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ai_orchestrator.core.cost_split import reported_part, split_by_model
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
        # Per outcome too (present once a call failed): the report's failure flags then
        # need no log. A summary with failures but without it is outdated (rebuilt).
        failed = summary.setdefault("failed_by_outcome", {})
        failed[outcome] = failed.get(outcome, 0) + 1
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


@dataclass(frozen=True, slots=True)
class ModelBucket:
    """One model's totals in a session (a value of ``SessionSummary.by_model``)."""

    interactions: int = 0
    tokens: Tokens = dataclasses.field(default_factory=Tokens)
    cost: float = 0.0
    savings: float = 0.0
    unpriced: int = 0
    cost_reported: float = 0.0
    cost_reported_by: tuple[str, ...] = ()


def _count(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _usd(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _tokens_of(value: object) -> Tokens:
    return Tokens.from_json(value) if isinstance(value, Mapping) else Tokens()


def _names(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def _bucket_of(b: Mapping[str, Any]) -> ModelBucket:
    return ModelBucket(
        interactions=_count(b.get("interactions")),
        tokens=_tokens_of(b.get("tokens")),
        cost=_usd(b.get("cost")),
        savings=_usd(b.get("savings")),
        unpriced=_count(b.get("unpriced")),
        cost_reported=_usd(b.get("cost_reported")),
        cost_reported_by=_names(b.get("cost_reported_by")),
    )


class ModelBuckets(Mapping[str, ModelBucket]):
    """``SessionSummary.by_model``: the stored buckets typed on first use, all at once (a
    listing reads thousands of summaries' agent and model, rarely their buckets: building
    them was over half of ``from_json``)."""

    __slots__ = ("_raw", "_typed")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw
        self._typed: dict[str, ModelBucket] | None = None

    def _all(self) -> dict[str, ModelBucket]:
        if self._typed is None:
            raw = self._raw.items()
            self._typed = {str(m): _bucket_of(b) for m, b in raw if isinstance(b, Mapping)}
        return self._typed

    def __getitem__(self, model: str) -> ModelBucket:
        return self._all()[model]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"ModelBuckets({self._all()!r})"


@dataclass(frozen=True, slots=True)
class ContextSize:
    """The conversation's size after its last call that said it (``calls.context``)."""

    tokens: int
    model: str | None
    at: str | None


def _context_of(value: object) -> ContextSize | None:
    if not isinstance(value, Mapping):
        return None
    tokens = value.get("tokens")
    if not isinstance(tokens, int) or isinstance(tokens, bool):
        return None
    return ContextSize(tokens, _text(value.get("model")), _text(value.get("at")))


def _events(value: object) -> tuple[Mapping[str, Any], ...]:
    return tuple(e for e in value if isinstance(e, Mapping)) if isinstance(value, list) else ()


def _failures(value: object) -> Mapping[str, int]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): n for k, n in value.items() if type(n) is int}


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """A session's summary as read (``metadata.json``, or folded from its log), typed and
    frozen: what every room outside the store reads. ``to_json()`` is the stored object
    itself (key order included), for ``--json``, exports and the index."""

    session: SessionName
    status: str
    created_at: str
    last_used: str | None
    last_outcome: str | None
    interaction_count: int
    failed_interactions: int
    unpriced_interactions: int
    tokens: Tokens
    cost: float
    savings: float
    cost_reported: float
    cost_reported_by: tuple[str, ...]
    by_model: Mapping[str, ModelBucket]
    agent: str | None
    agent_session_id: str | None
    agent_cwd: str | None
    agent_state: Mapping[str, Any]
    model: str | None
    legacy_name: str | None
    log_size: int
    corrupt_lines: int
    torn_tail: int
    # Present once a call said them (``apply_interaction``): failed calls per outcome, the
    # conversation's origin (``workflow.phases.lineage``), its size and its compactions.
    failed_by_outcome: Mapping[str, int] = dataclasses.field(default_factory=dict)
    lineage: Mapping[str, Any] | None = None
    context: ContextSize | None = None
    compactions: tuple[Mapping[str, Any], ...] = ()
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.session.name

    @property
    def last_activity(self) -> str | None:
        """When the session was last used (or created, if never)."""
        return self.last_used or self.created_at or None

    def to_json(self) -> dict[str, Any]:
        return dict(self.data)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], session: SessionName) -> SessionSummary:
        """A summary the store built or checked (``summary_problem``) as an object."""
        state = data.get("agent_state")
        buckets = data.get("by_model")
        return cls(
            session=session,
            status=str(data.get("status") or "new"),
            created_at=str(data.get("created_at") or ""),
            last_used=_text(data.get("last_used")),
            last_outcome=_text(data.get("last_outcome")),
            interaction_count=_count(data.get("interaction_count")),
            failed_interactions=_count(data.get("failed_interactions")),
            unpriced_interactions=_count(data.get("unpriced_interactions")),
            tokens=_tokens_of(data.get("tokens")),
            cost=_usd(data.get("cost")),
            savings=_usd(data.get("savings")),
            cost_reported=_usd(data.get("cost_reported")),
            cost_reported_by=_names(data.get("cost_reported_by")),
            by_model=ModelBuckets(buckets if isinstance(buckets, Mapping) else {}),
            agent=_text(data.get("agent")),
            agent_session_id=_text(data.get("agent_session_id")),
            agent_cwd=_text(data.get("agent_cwd")),
            agent_state=dict(state) if isinstance(state, Mapping) else {},
            model=_text(data.get("model")),
            legacy_name=_text(data.get("legacy_name")),
            log_size=_count(data.get("log_size")),
            corrupt_lines=_count(data.get("corrupt_lines")),
            torn_tail=_count(data.get("torn_tail")),
            failed_by_outcome=_failures(data.get("failed_by_outcome")),
            lineage=lineage if isinstance(lineage := data.get("lineage"), Mapping) else None,
            context=_context_of(data.get("context")),
            compactions=_events(data.get("compactions")),
            data=data,
        )


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
    savings, or failed calls per outcome, existed: it is rebuilt from the log quietly
    (nothing is wrong with it)."""
    if summary["failed_interactions"] and not isinstance(
        summary.get("failed_by_outcome"), Mapping
    ):
        return True
    return any(
        not isinstance(bucket, Mapping) or any(k not in bucket for k in BUCKET_KEYS)
        for bucket in summary["by_model"].values()
    )

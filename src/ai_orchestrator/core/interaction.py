"""The interaction record — one agent call — as typed, frozen values every room shares.

``Interaction`` holds every field of the stored schema (see ``INTERACTION_FIELDS``) as a
typed attribute; ``Tokens`` is its token breakdown and ``ModelPart`` one model's share of
the call (a value of ``usage_by_model``). Readers use attributes, never record keys.

Contract
    - ``Interaction.from_json`` is a *structural* conversion of a record that
      ``store.records.normalize_interaction`` has already validated; that function is the
      one door for untrusted input (the store's edge). Everywhere else a record is an
      ``Interaction``: ``aio run`` builds it once from the agent's result
      (``calls.recording.build_record``) and the store checks it on its attributes.
    - ``to_json()`` returns exactly the JSON object that is stored and printed: the fields
      in the order they were read (``key_order``; a record built in code uses the order
      ``aio run`` has always written), values as read, ``null`` kept where it was written.
      So ``Interaction.from_json(d).to_json() == d`` for every validated ``d``, key order
      included: ``--json`` output and exports stay byte-compatible.
    - Unknown keys, and known keys whose stored value has another type than ours (records
      of older versions), are kept verbatim in ``extra`` at their place and never lost on
      an export/import round trip; the typed attribute is then ``None``.
    - Frozen means no attribute is ever reassigned (``with_changes`` makes a new record);
      the JSON containers inside (``agent_state``, ``todos``, ``raw_events``, ``extra``) are
      the stored data itself and must be treated as read-only.

Adding an optional field (e.g. a new ``exit_code``-like datum): add the attribute with a
``None`` default to ``Interaction``, its name to ``OPTIONAL_FIELDS`` (where new records
write it) and its type check to ``_TYPES``; validation of caller input goes into
``store.records.normalize_interaction``. Records without it keep loading (``None``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, TypeVar

from ai_orchestrator.core.names import SessionName
from ai_orchestrator.core.schema import SCHEMA_KEY

TOKEN_KEYS = ("input", "output", "cache_read", "cache_write", "reasoning")

# The call's own fields and its pricing, in the order ``aio run`` writes them (the store
# then adds ``STORE_FIELDS``); a record built in code is written in this order.
CALL_FIELDS = (
    "task_id", "agent", "agent_session_id", "cwd", "branch", "model", "prompt",
    "prompt_preview", "response_preview", "tokens", "duration_ms", "outcome", "exit_code",
    "error", "turns", "session_action", "cli_version", "tools_used", "todos", "agent_state",
    "agent_session_ref", "session_note", "usage_by_model", "cost", "cost_source",
    "reported_cost", "savings", "budget_usd", "spent_before", "over_budget", "raw_events",
)  # fmt: skip
STORE_FIELDS = (SCHEMA_KEY, "id", "timestamp", "session_name", "command", "feature_id")
# Written by recovery, imports and migrations, and (``escalated_from``: the lineage of an
# escalated conversation's first call) by ``aio escalate``; ``lineage``: where the first
# call of a linked or templated feature's conversation came from (``workflow.phases.lineage``).
MARKER_FIELDS = (
    "usage_source", "usage_unknown", "imported_from", "legacy_name", "escalated_from", "lineage",
)  # fmt: skip
# The conversation's size after the call (``context_tokens``: the last request's prompt,
# cache included) and, on a compaction's record, what it did (``calls.compaction``).
CONTEXT_FIELDS = ("context_tokens", "compaction")
# Omitted from a new record's JSON while ``None`` (every other field is written, as null
# when unknown: ``exit_code``, ``reported_cost``, ``task_id`` …).
OPTIONAL_FIELDS = frozenset(
    {
        "cwd", "branch", "error", "turns", "session_action", "cli_version", "tools_used",
        "todos", "agent_state", "agent_session_ref", "session_note", "usage_by_model",
        "savings", "budget_usd", "spent_before", "over_budget", "raw_events", *MARKER_FIELDS,
        *CONTEXT_FIELDS,
    }
)  # fmt: skip
INTERACTION_FIELDS = frozenset((*CALL_FIELDS, *STORE_FIELDS, *MARKER_FIELDS, *CONTEXT_FIELDS))
_ORDER = (*CALL_FIELDS, *STORE_FIELDS, *MARKER_FIELDS, *CONTEXT_FIELDS)

_NUMBER = (int, float)
_SESSION_KEYS = frozenset({"session_name", "command", "feature_id"})  # ``Interaction.session``
_TYPES: dict[str, tuple[type, ...]] = {
    SCHEMA_KEY: (int,),
    "id": (str,),
    "timestamp": (str,),
    "task_id": (str,),
    "agent": (str,),
    "agent_session_id": (str,),
    "cwd": (str,),
    "branch": (str,),
    "model": (str,),
    "prompt": (str,),
    "prompt_preview": (str,),
    "response_preview": (str,),
    "duration_ms": (int,),
    "outcome": (str,),
    "exit_code": (int,),
    "error": (str,),
    "turns": (int,),
    "session_action": (str,),
    "cli_version": (str,),
    "tools_used": (list,),
    "todos": (list,),
    "agent_state": (dict,),
    "agent_session_ref": (str,),
    "session_note": (str,),
    "cost": _NUMBER,
    "cost_source": (str,),
    "reported_cost": _NUMBER,
    "savings": _NUMBER,
    "budget_usd": _NUMBER,
    "spent_before": _NUMBER,
    "over_budget": (bool,),
    "raw_events": (list,),
    "usage_source": (dict,),
    "usage_unknown": (bool,),
    "imported_from": (str,),
    "legacy_name": (str,),
    "escalated_from": (dict,),
    "context_tokens": (int,),
    "compaction": (dict,),
    "lineage": (dict,),
}


@dataclass(frozen=True)
class Tokens:
    """A call's tokens: ``input`` excludes cache reads and writes, ``output`` includes
    reasoning (``reasoning`` is informational, never added again)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_read + self.cache_write

    def to_json(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in TOKEN_KEYS}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tokens:
        return cls(**{key: int(data.get(key) or 0) for key in TOKEN_KEYS})


_PART_INTS = (*TOKEN_KEYS, "cache_write_5m", "cache_write_1h", "requests")
_PART_MONEY = ("cost", "reported_cost", "savings")
_PART_FIELDS = (*_PART_INTS, *_PART_MONEY, "priced")
_PART_TYPES: dict[str, tuple[type, ...]] = {
    **{key: (int,) for key in _PART_INTS},
    **{key: _NUMBER for key in _PART_MONEY},
    "priced": (bool,),
}


@dataclass(frozen=True)
class ModelPart:
    """One model's usage (and price) in one call; ``None``: not stated for this model.

    ``priced`` is False when no price was known for the model (its ``cost`` is then not
    a computed figure). Other keys (``model_ref``, ``note``, …) are kept in ``extra``.
    """

    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    cache_write_5m: int | None = None
    cache_write_1h: int | None = None
    reasoning: int | None = None
    requests: int | None = None
    cost: float | None = None
    reported_cost: float | None = None
    savings: float | None = None
    priced: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    key_order: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def tokens(self) -> Tokens:
        """The breakdown in a call's terms (an untimed cache write is the timed ones' sum)."""
        timed = (self.cache_write_5m or 0) + (self.cache_write_1h or 0)
        return Tokens(
            input=self.input or 0,
            output=self.output or 0,
            cache_read=self.cache_read or 0,
            cache_write=self.cache_write or timed,
            reasoning=self.reasoning or 0,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelPart:
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            kinds = _PART_TYPES.get(key)
            if kinds is not None and type(value) in kinds:
                values[key] = value
            else:
                extra[key] = value
        return _fast(cls, _PART_DEFAULTS, values, extra, tuple(data))

    def to_json(self) -> dict[str, Any]:
        return _ordered(
            self.key_order, _PART_FIELDS, self.extra, lambda key: getattr(self, key), _always
        )


def _always(key: str) -> bool:
    return True


def _ordered(
    order: tuple[str, ...],
    known: tuple[str, ...],
    extra: Mapping[str, Any],
    value_of: Callable[[str], object],
    optional: Callable[[str], bool],
) -> dict[str, Any]:
    """The JSON object: ``order`` first (extra values win at their place), then any
    other set field in ``known`` order, then the remaining extras."""
    out: dict[str, Any] = {}
    known_set = set(known)
    for key in order:
        if key in extra:
            out[key] = extra[key]
        elif key in known_set:
            out[key] = _plain(value_of(key))
    for key in known:
        if key not in out and key not in extra:
            value = value_of(key)
            if value is not None or not optional(key):
                out[key] = _plain(value)
    for key, value in extra.items():
        out.setdefault(key, value)
    return out


def _plain(value: object) -> Any:
    if isinstance(value, Tokens | ModelPart):
        return value.to_json()
    if (
        isinstance(value, Mapping)
        and value
        and all(isinstance(v, ModelPart) for v in value.values())
    ):
        return {model: part.to_json() for model, part in value.items()}
    return value


@dataclass(frozen=True)
class Interaction:
    """One recorded agent call (see the module docstring; fields as in the README's
    storage section). ``session`` stands for the stored ``session_name``, ``command`` and
    ``feature_id``; ``cost`` is USD (``cost_source`` says whose figure it is)."""

    session: SessionName
    id: str
    timestamp: str
    schema_version: int = 1
    task_id: str | None = None
    agent: str | None = None
    agent_session_id: str | None = None
    model: str | None = None
    prompt: str | None = None
    prompt_preview: str = ""
    response_preview: str = ""
    tokens: Tokens = field(default_factory=Tokens)
    cost: float = 0.0
    cost_source: str = "computed"
    reported_cost: float | None = None
    duration_ms: int = 0
    outcome: str = "success"
    exit_code: int | None = None
    # optional (absent from older records)
    cwd: str | None = None
    branch: str | None = None  # the git branch checked out in ``cwd`` (infra.git_head)
    error: str | None = None
    turns: int | None = None
    session_action: str | None = None
    cli_version: str | None = None
    tools_used: list[str] | None = None
    todos: list[Any] | None = None
    agent_state: dict[str, Any] | None = None
    agent_session_ref: str | None = None
    session_note: str | None = None
    usage_by_model: Mapping[str, ModelPart] | None = None
    savings: float | None = None
    budget_usd: float | None = None
    spent_before: float | None = None
    over_budget: bool | None = None
    raw_events: list[Any] | None = None
    usage_source: dict[str, Any] | None = None  # where recovered usage was read back
    usage_unknown: bool | None = None
    imported_from: str | None = None
    legacy_name: str | None = None
    escalated_from: dict[str, Any] | None = None  # the conversation this one continues
    context_tokens: int | None = None  # the last request's prompt size (cache included)
    compaction: dict[str, Any] | None = None  # this call compacted the conversation
    lineage: dict[str, Any] | None = None  # another feature's or a template's conversation
    extra: Mapping[str, Any] = field(default_factory=dict)
    key_order: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def session_name(self) -> str:
        return self.session.name

    @property
    def command(self) -> str:
        return self.session.command

    @property
    def feature_id(self) -> str:
        return self.session.feature_id

    @property
    def fresh(self) -> bool:
        """A one-off call (``aio run --no-session``): it never replaces the conversation."""
        return self.session_action == "fresh"

    def with_changes(self, **changes: Any) -> Interaction:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return _ordered(
            self.key_order,
            _ORDER,
            self.extra,
            lambda key: getattr(self, key),
            lambda key: key in OPTIONAL_FIELDS,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Interaction:
        """A validated record (``store.records.normalize_interaction``) as an object."""
        session = SessionName(str(data["command"]), str(data["feature_id"]))
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            kinds = _TYPES.get(key)
            # exact types: JSON makes no subclasses, and a bool is no count here
            if kinds is not None and (value is None or type(value) in kinds):
                values[key] = value
            elif key == "tokens" and isinstance(value, Mapping):
                values[key] = Tokens.from_json(value)
            elif key == "usage_by_model" and isinstance(value, Mapping):
                values[key] = {str(m): ModelPart.from_json(u) for m, u in value.items()}
            elif key not in _SESSION_KEYS:
                extra[key] = value
        values["session"] = session
        return _fast(cls, _INTERACTION_DEFAULTS, values, extra, tuple(data))


_Built = TypeVar("_Built", ModelPart, Interaction)


def _defaults(cls: type) -> dict[str, Any]:
    """The class's field defaults (``extra`` and ``key_order`` are always given)."""
    out: dict[str, Any] = {}
    for item in fields(cls):
        if item.default is not MISSING:
            out[item.name] = item.default
        elif item.name == "tokens":
            out[item.name] = Tokens()  # frozen: one instance can be shared
    return out


_PART_DEFAULTS = _defaults(ModelPart)
_INTERACTION_DEFAULTS = _defaults(Interaction)


def _fast(
    cls: type[_Built],
    defaults: dict[str, Any],
    values: dict[str, Any],
    extra: dict[str, Any],
    order: tuple[str, ...],
) -> _Built:
    """An instance of ``cls`` from values ``from_json`` has type-checked, without the
    frozen ``__init__`` (one ``object.__setattr__`` per field: half the cost of reading a
    log). Equal to ``cls(**values, extra=extra, key_order=order)``."""
    built = object.__new__(cls)
    built.__dict__.update(defaults)
    built.__dict__.update(values)
    built.__dict__["extra"] = extra
    built.__dict__["key_order"] = order
    return built

"""Interaction records at the store's edge: validation, ids and the stored line.

An *interaction* is one agent call, stored as one JSON line in ``interactions.jsonl`` and
passed around as a frozen ``core.interaction.Interaction``. ``normalize_interaction`` is
the one door from JSON to that type: it turns caller input (ours, an ``Interaction``, or
the earlier shell version's shape with ``tokens{input,output}``) into the stored shape,
filling defaults and refusing wrong types with ``InvalidInput`` naming the field, and
returns the ``Interaction``; ``stored_form``/``serialize`` go back to JSON (redacted).
Unknown fields are kept (``Interaction.extra``). A record built in code (``aio run``,
recovery) never goes through JSON on the way in: ``check_interaction`` applies the same
rules to its attributes.
A record without ``cost`` is ``unpriced`` (or ``reported`` with its ``reported_cost``),
never a computed $0; callers that can price (``aio session record``) do so first.

Invariant: a record that ``normalize_interaction`` accepts can be folded into a summary
(``summary.apply_interaction``), serialised and indexed — every field the fold reads is
type-checked here, integers are at most 2**53 (exact in JSON doubles, and sums of many
stay inside SQLite's 64-bit integers) and money at most $1e9 (sums stay finite). So a
poisoned record is refused before anything is written, and a line that fails here when
read back is counted as unreadable instead of breaking the session.

Stored interaction fields: ``schema_version, id, timestamp, session_name, command,
feature_id, task_id, agent, agent_session_id, cwd, branch, model, prompt, prompt_preview,
response_preview, tokens{input, output, cache_read, cache_write, reasoning}, cost,
cost_source, reported_cost, duration_ms, outcome, exit_code`` plus optional
``usage_by_model``, ``savings``, ``session_action``, ``agent_state``, ``todos``,
``raw_events``, ``usage_unknown``. ``exit_code`` is the agent process's own exit status
(``None`` when it never started; a record without it loads as ``None``).
``usage_unknown: true`` (with ``cost_source: unpriced``) says the agent reported no usage:
its zero tokens and cost are placeholders, shown as "unknown", never as 0 / $0.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.interaction import TOKEN_KEYS, Interaction
from ai_orchestrator.core.limits import (
    MAX_JSON_DEPTH,
    MAX_PROMPT_BYTES,
    MAX_RECORD_BYTES,
    check_depth,
    check_size,
)
from ai_orchestrator.core.names import (
    SessionName,
    parse_session_name,
    validate_feature_id,
    validate_id,
)
from ai_orchestrator.core.schema import SCHEMA_KEY, versioned
from ai_orchestrator.core.usage import OUTCOMES
from ai_orchestrator.infra.redact import redact, redact_value
from ai_orchestrator.infra.timeutil import format_iso, now_iso, parse_iso

# Never redacted (validated instead: ids by ``names.validate_id``, names by
# ``names.parse_session_name``, the timestamp by ``parse_iso``), so a secret-looking id
# keeps its identity and an import stays idempotent.
IDENTITY_FIELDS = (
    SCHEMA_KEY,
    "id",
    "timestamp",
    "session_name",
    "command",
    "feature_id",
    "task_id",
    "agent_session_id",
)
USAGE_INT_KEYS = (*TOKEN_KEYS, "cache_write_5m", "cache_write_1h", "requests")
USAGE_MONEY_KEYS = ("cost", "reported_cost", "savings")
# "transcript": tokens read back from the agent's own files (a call aio lost), priced
COST_SOURCES = ("reported", "computed", "unpriced", "transcript")
PREVIEW_CHARS = 100
MAX_INT = 2**53
MAX_USD = 1e9


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """First ``limit`` characters, with ``...`` when cut (the seed's prompt_preview).

    The head of the text is redacted as written, *before* it is flattened and cut: cut
    first, it could end in a piece of a secret too short for any rule to recognise, and
    flattened first, a YAML value on the next line would no longer look like one."""
    flat = " ".join(redact(text[: limit + 4096]).split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


def _fail(field: str, expected: str, value: object) -> InvalidInput:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidInput(f"interaction field '{field}' must be {expected}, got {shown}")


def _int(value: object, field: str) -> int:
    expected = "a non-negative integer (at most 2**53)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(field, expected, value)
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        raise _fail(field, expected, value)
    if not 0 <= value <= MAX_INT:
        raise _fail(field, expected, value)
    return int(value)


def _money(value: object, field: str) -> float:
    expected = "a non-negative number of USD (at most 1e9)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(field, expected, value)
    if isinstance(value, int) and value > MAX_USD:
        raise _fail(field, expected, value)
    number = float(value)
    if not math.isfinite(number) or not 0 <= number <= MAX_USD:
        raise _fail(field, expected, value)
    return number


def _opt_money(record: Mapping[str, Any], field: str) -> float | None:
    value = record.get(field)
    return None if value is None else _money(value, field)


def _opt_str(record: Mapping[str, Any], field: str, strict: bool = False) -> str | None:
    """A string field; ``strict`` (new input): a string only, where a line written by an
    earlier version may hold a number, read back as its text."""
    value = record.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _fail(field, "a string", value)
    if strict and not isinstance(value, str):
        raise _fail(field, "a string", value)
    return str(value)


# The outcome words a record may hold (README: success | error:<class> | timeout |
# interrupted); ``error:<class>`` takes any class of ``core.usage.OUTCOMES``.
PLAIN_OUTCOMES = ("success", "timeout", "interrupted")
_ERROR_OUTCOMES = frozenset(f"error:{word}" for word in OUTCOMES)
# A timestamp after this many seconds from now is refused: a clock slightly ahead is fine,
# a record from the future (year 9999) would sort first forever and is not a real call.
FUTURE_SLACK_S = 86400.0


def _check_outcome(outcome: object) -> str:
    if isinstance(outcome, str) and (outcome in PLAIN_OUTCOMES or outcome in _ERROR_OUTCOMES):
        return outcome
    raise _fail("outcome", "success, timeout, interrupted or error:<class>", outcome)


def _check_timestamp(moment: datetime) -> None:
    if moment.timestamp() > time.time() + FUTURE_SLACK_S:
        raise _fail("timestamp", "a date-time that is not in the future", format_iso(moment))


def _check_new_fields(record: Mapping[str, Any]) -> None:
    """Types and ranges of the optional fields a caller may give (new input only)."""
    turns = record.get("turns")
    if turns is not None:
        _int(turns, "turns")
    if record.get("context_tokens") is not None:
        _int(record["context_tokens"], "context_tokens")
    compaction = record.get("compaction")
    if compaction is not None and not isinstance(compaction, Mapping):
        raise _fail("compaction", "an object {method, before, after}", compaction)
    for flag in ("over_budget", "usage_unknown"):
        value = record.get(flag)
        if value is not None and not isinstance(value, bool):
            raise _fail(flag, "true or false", value)
    for money in ("budget_usd", "spent_before"):
        if record.get(money) is not None:
            _money(record[money], money)
    if record.get("usage_unknown") is True:
        tokens = record.get("tokens")
        counted = isinstance(tokens, Mapping) and any(
            tokens.get(key) not in (None, 0) for key in TOKEN_KEYS
        )
        if counted or record.get("usage_by_model") or record.get("cost") not in (None, 0):
            raise InvalidInput(
                "interaction has usage_unknown: true but also tokens or a cost: leave "
                "usage_unknown out when the usage is known"
            )


def _opt_id(record: Mapping[str, Any], field: str, stored: bool) -> str | None:
    value = _opt_str(record, field)
    if stored:
        return value  # read back as written, whatever rule applied then
    if not value:
        return None  # an empty optional id means none
    return validate_id(value, f"interaction field '{field}'")


def _tokens(value: object) -> dict[str, int]:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise _fail("tokens", "an object like {input, output, cache_read, cache_write}", value)
    out = {key: 0 for key in TOKEN_KEYS}
    for key, raw in value.items():
        if key in out:
            out[key] = _int(raw, f"tokens.{key}")
        elif key == "total":
            continue  # derived; recomputed on read
        else:
            raise _fail(f"tokens.{key}", f"one of {', '.join(TOKEN_KEYS)}", key)
    return out


def _usage_by_model(value: object) -> dict[str, dict[str, Any]] | None:
    """Per-model usage: numbers the fold adds up must be valid, other keys are kept."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail("usage_by_model", "an object keyed by model", value)
    out: dict[str, dict[str, Any]] = {}
    for model, usage in value.items():
        if not isinstance(model, str) or not model:
            raise _fail("usage_by_model", "an object keyed by model name", model)
        where = f"usage_by_model.{model}"
        if not isinstance(usage, Mapping):
            raise _fail(where, "an object of token counts", usage)
        clean = dict(usage)
        for key in USAGE_INT_KEYS:
            if usage.get(key) is not None:
                clean[key] = _int(usage[key], f"{where}.{key}")
        for key in USAGE_MONEY_KEYS:
            if usage.get(key) is not None:
                clean[key] = _money(usage[key], f"{where}.{key}")
        priced = usage.get("priced")
        if priced is not None and not isinstance(priced, bool):
            raise _fail(f"{where}.priced", "true or false", priced)
        out[model] = clean
    return out


def new_record_id() -> str:
    """A new record's id: 128 random bits, like ``uuid4().hex``."""
    return os.urandom(16).hex()


def content_id(record: Mapping[str, Any]) -> str:
    """A stable id derived from a record's content (for imports of id-less records)."""
    import hashlib  # lazily: only imports of id-less records need it

    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return "c-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def content_ids(items: Iterable[Mapping[str, Any]]) -> list[str]:
    """Ids for the id-less records of one session, in order.

    The first record with a given content gets ``content_id``; the n-th identical one
    gets ``<content_id>-<n>``. So two identical calls both survive, and converting or
    importing the same list again yields the same ids (and therefore adds nothing).
    """
    seen: Counter[str] = Counter()
    ids = []
    for item in items:
        cid = content_id(item)
        seen[cid] += 1
        ids.append(cid if seen[cid] == 1 else f"{cid}-{seen[cid]}")
    return ids


def normalize_interaction(
    raw: object, session: SessionName, *, stored: bool = False
) -> Interaction:
    """Validate and complete one interaction for ``session``; raises ``InvalidInput``.

    ``raw`` is caller input (a JSON object) or an ``Interaction`` (checked again: the
    store writes only what passes here). Ids must follow ``names.validate_id``.
    ``stored``: the record is read back from a log, where lines written before that rule
    (any 1-128 character id) stay readable.
    """
    if isinstance(raw, Interaction):
        raw = raw.to_json()
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"an interaction must be a JSON object, got {type(raw).__name__}")
    record: dict[str, Any] = dict(raw)
    for bound in ("session_name", "feature_id", "command"):
        given = record.get(bound)
        expected = getattr(session, "name" if bound == "session_name" else bound)
        if given not in (None, expected):
            raise InvalidInput(
                f"interaction field '{bound}' is {given!r} but the session is {session.name}"
            )
    if not stored:
        check_depth(record, MAX_JSON_DEPTH, "the interaction")
        _check_new_fields(record)
    record_id = record.get("id")
    if record_id is None:
        record_id = new_record_id()
    elif not stored:
        validate_id(record_id, "interaction field 'id'")
    elif not isinstance(record_id, str) or not 1 <= len(record_id) <= 128:
        raise _fail("id", "a string of 1-128 characters", record_id)

    timestamp = record.get("timestamp")
    if timestamp is None:
        timestamp = now_iso()
    else:
        moment = parse_iso(timestamp)
        if moment is None:
            raise _fail("timestamp", "an ISO-8601 date-time", timestamp)
        if not stored:
            _check_timestamp(moment)
        timestamp = format_iso(moment)

    prompt = record.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise _fail("prompt", "a string", prompt)
    if prompt is not None and not stored:
        check_size(len(prompt.encode("utf-8", "surrogatepass")), MAX_PROMPT_BYTES, "the prompt")
    prompt_preview = _opt_str(record, "prompt_preview")
    if prompt_preview is None:
        prompt_preview = preview(prompt or "")
    response_preview = _opt_str(record, "response_preview") or ""

    reported_cost = _opt_money(record, "reported_cost")
    cost_source = record.get("cost_source")
    if record.get("usage_unknown") is True and not stored:
        cost, cost_source = 0.0, "unpriced"  # placeholders: shown as unknown, never $0
    elif record.get("cost") is None:
        # No cost: the agent's own figure if there is one, else unpriced (never a $0
        # that claims to be computed). ``aio session record`` prices such records first.
        cost = reported_cost or 0.0
        if cost_source is None:
            cost_source = "reported" if reported_cost is not None else "unpriced"
    else:
        cost = _money(record["cost"], "cost")
    if cost_source is None:
        cost_source = "reported" if reported_cost is not None else "computed"
    if cost_source not in COST_SOURCES:
        raise _fail("cost_source", f"one of {', '.join(COST_SOURCES)}", cost_source)

    outcome = record.get("outcome", "success")
    if not isinstance(outcome, str) or not outcome:
        raise _fail("outcome", "a string such as success or error:<class>", outcome)
    if not stored:
        _check_outcome(outcome)
    exit_code = record.get("exit_code")
    if exit_code is not None and (
        isinstance(exit_code, bool) or not isinstance(exit_code, int) or abs(exit_code) > MAX_INT
    ):
        raise _fail("exit_code", "an integer", exit_code)
    state = record.get("agent_state")
    if state is not None and not isinstance(state, Mapping):
        raise _fail("agent_state", "an object", state)

    record.update(
        versioned({
            "id": record_id,
            "timestamp": timestamp,
            "session_name": session.name,
            "command": session.command,
            "feature_id": session.feature_id,
            "task_id": _opt_id(record, "task_id", stored),
            "agent": _opt_str(record, "agent", strict=not stored),
            "agent_session_id": _opt_id(record, "agent_session_id", stored),
            "model": _opt_str(record, "model", strict=not stored),
            "prompt": prompt if prompt is not None else None,
            "prompt_preview": prompt_preview,
            "response_preview": response_preview,
            "tokens": _tokens(record.get("tokens")),
            "cost": cost,
            "cost_source": cost_source,
            "reported_cost": reported_cost,
            "duration_ms": _int(record.get("duration_ms", 0), "duration_ms"),
            "outcome": outcome,
            "exit_code": exit_code,
        })
    )
    for field in ("cwd", "branch", "session_action"):
        if field in record:
            record[field] = _opt_str(record, field, strict=not stored)
    if "savings" in record:
        record["savings"] = _opt_money(record, "savings")
    if "usage_by_model" in record:
        record["usage_by_model"] = _usage_by_model(record["usage_by_model"])
    return Interaction.from_json(record)


def of_session(record: Interaction, session: SessionName) -> Interaction:
    """``record`` when it belongs to ``session``; ``InvalidInput`` naming both otherwise."""
    if record.session != session:
        raise InvalidInput(
            f"interaction field 'session_name' is {record.session_name!r} but the session "
            f"is {session.name}"
        )
    return record


_CONTAINERS = ("tools_used", "todos", "agent_state", "raw_events", "usage_source", "escalated_from")


def check_interaction(record: Interaction) -> Interaction:
    """``record`` (built in code: ``aio run``, recovery, or already through
    ``normalize_interaction``) checked against the rules ``normalize_interaction`` applies
    to new input, on its attributes (no round trip through JSON); raises ``InvalidInput``.

    The same helpers hold the rules, so a record passes here exactly when its JSON would
    pass the door: ids, timestamp, prompt size, nesting, counts, money, outcome words.
    """
    for name in ("id", "task_id", "agent_session_id"):
        value = getattr(record, name)
        if value is not None:
            validate_id(value, f"interaction field '{name}'")
    moment = parse_iso(record.timestamp)
    if moment is None:
        raise _fail("timestamp", "an ISO-8601 date-time", record.timestamp)
    _check_timestamp(moment)
    if record.prompt is not None:
        size = len(record.prompt.encode("utf-8", "surrogatepass"))
        check_size(size, MAX_PROMPT_BYTES, "the prompt")
    # the record itself is the first level of its JSON
    for name in _CONTAINERS:
        check_depth(getattr(record, name), MAX_JSON_DEPTH - 1, "the interaction")
    for value in record.extra.values():
        check_depth(value, MAX_JSON_DEPTH - 1, "the interaction")
    for key in TOKEN_KEYS:
        _int(getattr(record.tokens, key), f"tokens.{key}")
    _int(record.duration_ms, "duration_ms")
    if record.turns is not None:
        _int(record.turns, "turns")
    for name in ("cost", "reported_cost", "savings", "budget_usd", "spent_before"):
        value = getattr(record, name)
        if value is not None:
            _money(value, name)
    for name in ("over_budget", "usage_unknown"):
        value = getattr(record, name)
        if value is not None and not isinstance(value, bool):
            raise _fail(name, "true or false", value)
    if record.cost_source not in COST_SOURCES:
        raise _fail("cost_source", f"one of {', '.join(COST_SOURCES)}", record.cost_source)
    _check_outcome(record.outcome)
    code = record.exit_code
    if code is not None and (isinstance(code, bool) or abs(code) > MAX_INT):
        raise _fail("exit_code", "an integer", code)
    for model, part in (record.usage_by_model or {}).items():
        where = f"usage_by_model.{model}"
        for key in USAGE_INT_KEYS:
            if getattr(part, key) is not None:
                _int(getattr(part, key), f"{where}.{key}")
        for key in USAGE_MONEY_KEYS:
            if getattr(part, key) is not None:
                _money(getattr(part, key), f"{where}.{key}")
        for value in part.extra.values():
            check_depth(value, MAX_JSON_DEPTH - 3, "the interaction")
    if record.usage_unknown is True and (
        record.tokens.total or record.tokens.reasoning or record.usage_by_model or record.cost
    ):
        raise InvalidInput(
            "interaction has usage_unknown: true but also tokens or a cost: leave "
            "usage_unknown out when the usage is known"
        )
    return record


# The ids of an escalation's lineage (``escalated_from``, a history event's
# ``details.escalation``): kept as given when valid — a key named like ``session`` would
# otherwise be taken for a secret — and redacted like any other text when not.
LINEAGE_IDS = ("session", "agent_session_id", "feature", "template", "fork_record_id")


def _valid_lineage_id(key: str, value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        if key == "session":
            parse_session_name(value)
        elif key in ("feature", "template"):
            validate_feature_id(value)
        else:
            validate_id(value, key)
    except InvalidInput:
        return False
    return True


def redact_lineage(lineage: object) -> Any:
    """``lineage`` with secrets redacted, its valid ids (``LINEAGE_IDS``) kept."""
    if not isinstance(lineage, Mapping):
        return redact_value(lineage)
    keep = [k for k in LINEAGE_IDS if _valid_lineage_id(k, lineage.get(k))]
    return redact_value(dict(lineage), keep=keep)


def stored_form(record: Interaction) -> tuple[Interaction, bytes]:
    """The record as stored (secrets redacted) and its JSON line (with newline).

    The summary is folded from the redacted record, so a summary rebuilt from the log
    equals the one maintained while appending. ``IDENTITY_FIELDS`` are stored as given
    (validated, never redacted). Raises ``InvalidInput`` for content JSON
    cannot hold (NaN or Infinity in a field we do not validate, nesting too deep),
    before anything is written.
    """
    try:
        plain = record.to_json()
        redacted: dict[str, Any] = redact_value(plain, keep=IDENTITY_FIELDS)
        if record.escalated_from is not None:
            redacted["escalated_from"] = redact_lineage(record.escalated_from)
        if record.lineage is not None:
            redacted["lineage"] = redact_lineage(record.lineage)
        line = json.dumps(redacted, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        data = (line + "\n").encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"interaction holds text that is not valid Unicode (a lone surrogate such as "
            f"{exc.object[exc.start:exc.end]!r})"
        ) from None
    except (ValueError, TypeError, RecursionError) as exc:
        why = "it holds NaN or Infinity" if "Out of range float" in str(exc) else str(exc)
        raise InvalidInput(f"interaction cannot be stored as JSON: {why}") from None
    if redacted == plain:
        return record, data  # nothing secret: the record as it is (no second shape)
    # A secret was masked: the stored record is the masked one. Its keys are ours or were
    # validated on the way in; masking keeps every value's type, so this stays structural.
    return Interaction.from_json(redacted), data


def check_record_size(line: bytes) -> None:
    """``InvalidInput`` for a stored line over ``MAX_RECORD_BYTES`` (input from outside)."""
    check_size(len(line), MAX_RECORD_BYTES, "the interaction")


def serialize(record: Interaction) -> bytes:
    """One redacted JSON line (with trailing newline) for ``interactions.jsonl``."""
    return stored_form(record)[1]

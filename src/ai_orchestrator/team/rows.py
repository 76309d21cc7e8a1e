"""Log lines → rows of ``aio.interactions`` (``COLUMNS``), validated like the store reads them.

``parse_lines`` turns the complete lines of a log chunk into rows and counts the lines that
are not records. The door is the store's own (``store.records.normalize_interaction``, as
``store.logfile.parse_log`` uses it), with two differences:

- A stored line without an id gets the id of its content (``store.records.content_id``)
  rather than a fresh random one on every read: read again after a restore, it is the same
  row.
- **A fast path** for the common line, a first push of a million calls being CPU-bound on
  validation: ``fast_row`` accepts a line only when every field the store's validation checks
  is already in the exact, canonical form that validation would leave unchanged (the form
  aio itself writes: a canonical UTC time stamp, integer token counts, a known cost source,
  no ``usage_by_model``, …); anything else — odd, old, hostile or multi-model — returns
  ``None`` and takes the full validation. So the fast path never accepts a line the store
  would refuse, and gives the same row (``tests/team/test_rows.py`` checks both on every
  variation).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ai_orchestrator.core.cost_split import reported_part
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.interaction import TOKEN_KEYS, Interaction
from ai_orchestrator.core.names import SessionName
from ai_orchestrator.infra.redact import redact
from ai_orchestrator.store.records import (
    COST_SOURCES,
    MAX_INT,
    MAX_USD,
    content_id,
    normalize_interaction,
)

COLUMNS = (
    "id", "machine_id", "user_name", "session_name", "command", "feature_id", "task_id",
    "branch", "agent", "model", "ts", "input", "output", "cache_read", "cache_write",
    "reasoning", "cost", "cost_source", "cost_reported", "savings", "outcome", "duration_ms",
    "agent_session_id", "prompt",
)  # fmt: skip
TS, COMMAND, FEATURE = COLUMNS.index("ts"), COLUMNS.index("command"), COLUMNS.index("feature_id")
BRANCH = COLUMNS.index("branch")

_loads: Callable[[bytes], Any] = json.loads
try:  # several times faster than the stdlib on the common line (``parse_lines``)
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency
    pass

_CANONICAL_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")
_FAST_SOURCES = frozenset(COST_SOURCES) - {"reported"}
_TOKEN_NAMES = frozenset((*TOKEN_KEYS, "total"))


def row_of(record: Interaction, machine_id: str, user: str, with_prompts: bool) -> tuple[Any, ...]:
    """The ``COLUMNS`` of one validated interaction."""
    t = record.tokens
    prompt = redact(record.prompt) if with_prompts and record.prompt else None
    return (
        record.id, machine_id, user, record.session_name, record.command,
        record.feature_id, record.task_id, record.branch, record.agent, record.model,
        record.timestamp,
        t.input, t.output, t.cache_read, t.cache_write, t.reasoning, repr(float(record.cost)),
        record.cost_source, repr(float(reported_part(record))),
        repr(float(record.savings or 0.0)), record.outcome, record.duration_ms,
        record.agent_session_id, prompt,
    )  # fmt: skip


def _count(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_INT


def _usd(value: object) -> bool:
    return ((type(value) is float and math.isfinite(value)) or type(value) is int) and (
        0 <= value <= MAX_USD
    )


def fast_row(
    d: dict[str, Any], session: SessionName, machine_id: str, user: str, with_prompts: bool
) -> tuple[Any, ...] | None:
    """The row of a line already in canonical form, else ``None`` (module doc)."""
    return fast_rows(session, machine_id, user, with_prompts)(d)


def fast_rows(
    session: SessionName, machine_id: str, user: str, with_prompts: bool
) -> Callable[[dict[str, Any]], tuple[Any, ...] | None]:
    """``fast_row`` for one session's lines, what is the same for each of them looked up
    once (a first push runs it a million times)."""
    name, command, feature = session.name, session.command, session.feature_id
    match, sources, token_names = _CANONICAL_TS.match, _FAST_SOURCES, _TOKEN_NAMES
    isfinite, parse_time = math.isfinite, datetime.fromisoformat

    def row(d: dict[str, Any]) -> tuple[Any, ...] | None:
        get = d.get
        rid, ts, source, tokens, cost = (
            get("id"), get("timestamp"), get("cost_source"), get("tokens"), get("cost")
        )  # fmt: skip
        if (
            type(rid) is not str or not 1 <= len(rid) <= 128
            or type(ts) is not str or not match(ts)
            or get("session_name") != name or get("command") != command
            or get("feature_id") != feature
            or type(source) is not str or source not in sources
            or type(tokens) is not dict
            or not ((type(cost) is float and isfinite(cost)) or type(cost) is int)
            or not 0 <= cost <= MAX_USD
            or "usage_by_model" in d
        ):  # fmt: skip
            return None
        outcome, exit_code, duration = get("outcome"), get("exit_code"), get("duration_ms")
        prompt, savings, reported, state = (
            get("prompt"), get("savings"), get("reported_cost"), get("agent_state")
        )  # fmt: skip
        task, agent, agent_session, model = (
            get("task_id"), get("agent"), get("agent_session_id"), get("model")
        )  # fmt: skip
        cwd, action, branch = get("cwd"), get("session_action"), get("branch")
        if (
            type(outcome) is not str or not outcome
            or not (exit_code is None
                    or (type(exit_code) is int and -MAX_INT <= exit_code <= MAX_INT))
            or type(duration) is not int or not 0 <= duration <= MAX_INT
            or not (prompt is None or type(prompt) is str)
            or type(get("response_preview")) is not str
            or type(get("prompt_preview")) is not str
            or not (savings is None or _usd(savings))
            or not (reported is None or _usd(reported))
            or not (state is None or type(state) is dict)
            or not (task is None or type(task) is str)
            or not (agent is None or type(agent) is str)
            or not (agent_session is None or type(agent_session) is str)
            or not (model is None or type(model) is str)
            or not (cwd is None or type(cwd) is str)
            or not (action is None or type(action) is str)
            or not (branch is None or type(branch) is str)
            or not token_names.issuperset(tokens)
        ):  # fmt: skip
            return None
        tget = tokens.get
        i, o, r, w, z = (
            tget("input", 0), tget("output", 0), tget("cache_read", 0), tget("cache_write", 0),
            tget("reasoning", 0),
        )  # fmt: skip
        if (
            type(i) is not int or type(o) is not int or type(r) is not int
            or type(w) is not int or type(z) is not int
            or not (0 <= i <= MAX_INT and 0 <= o <= MAX_INT and 0 <= r <= MAX_INT
                    and 0 <= w <= MAX_INT and 0 <= z <= MAX_INT)
        ):  # fmt: skip
            return None
        try:  # the pattern lets 2026-13-45 through; the store's parse does not
            parse_time(ts[:-1])
        except ValueError:
            return None
        text = redact(prompt) if with_prompts and prompt else None
        return (
            rid, machine_id, user, name, command, feature, task, branch, agent, model, ts,
            i, o, r, w, z, repr(float(cost)), source, "0.0", repr(float(savings or 0.0)),
            outcome, duration, agent_session, text,
        )  # fmt: skip

    return row


def _encodable(value: Any) -> Any:
    """``value`` with lone surrogates (``"\\ud800"`` is valid JSON, not valid UTF-8) replaced,
    so the row can be sent; the store reads such a line as a record, so must the team."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    return value


def _stdlib_row(
    raw: bytes, session: SessionName, machine_id: str, user: str, with_prompts: bool
) -> tuple[Any, ...]:
    """The row of one line by the store's own reading: the stdlib parser (it takes what
    orjson refuses: ``NaN``, lone surrogates, integers past 64 bits) and full validation."""
    line: str | bytes
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        line = raw
    parsed = json.loads(line)
    if b"\\u" in raw:
        parsed = _encodable(parsed)
    if isinstance(parsed, dict):
        row = fast_row(parsed, session, machine_id, user, with_prompts)
        if row is not None:
            return row
        if parsed.get("id") is None:
            parsed["id"] = content_id(parsed)
    record = normalize_interaction(parsed, session, stored=True)
    return row_of(record, machine_id, user, with_prompts)


def parse_lines(
    data: bytes, session: SessionName, machine_id: str, user: str, with_prompts: bool
) -> tuple[list[tuple[Any, ...]], int]:
    """The rows of the complete lines in ``data``, and how many lines were not records.

    Each line is parsed by orjson first (several times faster than the stdlib); a line it
    refuses, or whose result the fast path does not take, is read again the store's way
    (``_stdlib_row``), so orjson's stricter grammar and its floats for integers past 64 bits
    never change which lines are records or what their rows hold."""
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    fast = fast_rows(session, machine_id, user, with_prompts)
    corrupt = 0
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            parsed = _loads(raw)
        except ValueError:
            parsed = None
        if type(parsed) is dict:
            row = fast(parsed)
            if row is not None:
                append(row)
                continue
        try:
            append(_stdlib_row(raw, session, machine_id, user, with_prompts))
        except (ValueError, InvalidInput, RecursionError):
            corrupt += 1
    return rows, corrupt

"""``aio history --model M --stats``: a feature's history and agent calls by phase and model.

- ``model_matches(wanted, model)``: case-insensitive containment, so ``--model opus`` matches
  ``claude-opus-4-6`` and ``opus``, and a full id matches itself; no model never matches.
- ``events_for_model``: the history events that involved a matching model — the event's own
  model, or the model of any agent call among its ``details.steps`` (an escalated
  ``implement`` ran two models).
- ``call_stats``: every agent call recorded for the feature in the session store (all its
  sessions ``<phase>-<feature>``, including ``aio run`` calls there), grouped by phase (the
  session's command) and model: calls, tokens, cost, unpriced calls (their cost is unknown, not
  $0), ``usage_unknown`` calls (the agent reported no usage: left out of the tokens and the
  cost, never counted as 0) and outcomes (``success``, ``error:<class>``, ``timeout``,
  ``interrupted`` … counted). The store, not ``history.jsonl``, is the source: it holds every
  call once, whatever command made it. A session that cannot be read is skipped and named in
  ``problems``. Pure reads: nothing is locked or written.
"""

from __future__ import annotations

from typing import Any

from ai_orchestrator.core.errors import NotFound, StoreError
from ai_orchestrator.core.interaction import Interaction
from ai_orchestrator.core.names import parse_session_name, validate_feature_id
from ai_orchestrator.store import SessionStore

TOKEN_KEYS = ("input", "output", "cache_read", "cache_write")


def model_matches(wanted: str, model: object) -> bool:
    return isinstance(model, str) and wanted.strip().lower() in model.lower()


def events_for_model(events: list[dict[str, Any]], wanted: str) -> list[dict[str, Any]]:
    def involved(event: dict[str, Any]) -> bool:
        if model_matches(wanted, event.get("model")):
            return True
        details = event.get("details")
        steps = details.get("steps") if isinstance(details, dict) else None
        return any(
            isinstance(s, dict) and model_matches(wanted, s.get("model")) for s in steps or []
        )

    return [e for e in events if involved(e)]


def _row(phase: str, model: str | None) -> dict[str, Any]:
    return {
        "phase": phase,
        "model": model,
        "calls": 0,
        "tokens": dict.fromkeys(TOKEN_KEYS, 0),
        "cost": 0.0,
        "unpriced": 0,
        "usage_unknown": 0,
        "outcomes": {},
    }


def _add(row: dict[str, Any], record: Interaction) -> None:
    row["calls"] += 1
    row["unpriced"] += record.cost_source == "unpriced"
    outcome = str(record.outcome or "unknown")
    row["outcomes"][outcome] = row["outcomes"].get(outcome, 0) + 1
    if record.usage_unknown:  # the agent reported none: counted apart, never as 0 tokens
        row["usage_unknown"] += 1
        return
    tokens = record.tokens.to_json()
    for key in TOKEN_KEYS:
        value = tokens.get(key, 0)
        row["tokens"][key] += value if isinstance(value, int) else 0
    row["cost"] = round(row["cost"] + float(record.cost or 0.0), 10)


def call_stats(store: SessionStore, feature_id: str, model: str | None = None) -> dict[str, Any]:
    """``{rows: [...], totals, problems}`` (see the module docstring)."""
    validate_feature_id(feature_id)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    totals = _row("all", None)
    problems: list[str] = []
    try:
        names = store.names()
    except (StoreError, OSError) as exc:
        return {"rows": [], "totals": totals, "problems": [f"session store: {exc}"]}
    for name in names:
        session = parse_session_name(name)
        if session.feature_id != feature_id:
            continue
        try:
            log = store.read_log(name)
        except (StoreError, NotFound, OSError) as exc:
            problems.append(f"{name}: skipped: {exc}")
            continue
        for record in log.records:
            used = record.model
            if model is not None and not model_matches(model, used):
                continue
            key = (session.command, used or "")
            _add(rows.setdefault(key, _row(session.command, used)), record)
            _add(totals, record)
    ordered = [rows[k] for k in sorted(rows)]
    return {"rows": ordered, "totals": totals, "problems": problems}

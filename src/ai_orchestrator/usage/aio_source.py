"""aio's own recorded interactions as usage-index rows, and what marks their transcripts.

``aio_rows(interaction, gen)`` → the ``req`` rows of one recorded call (origin ``a``, one
per model of ``usage_by_model``, else one for the call's model and tokens; key
``a:<interaction id>:<model>``), its ``aio_calls`` window and its Claude message ids.

aio's runs are never counted twice: the agent CLI aio drove also wrote its transcript, which
the index reads like any other. A transcript request is *covered* by an aio call (and left
out of every total) when

1. its Claude ``message.id`` appears among the call's recorded stream events, or
2. it belongs to the same agent and agent session id, at a time inside the call's window:
   ``[timestamp - duration - SLACK, timestamp + duration + SLACK]`` (a call's time stamp is
   its end, or its start when recovery recorded it).

Requests of an aio-driven agent session outside every call's window (the user resumed the
conversation by hand) are interactive: they count, attributed to that session's feature and
to the task of the latest aio call before them.

The cost of an aio row is the one aio recorded (its ``cost_source`` kept): the index never
prices an aio call again.
"""

from __future__ import annotations

from typing import Any

from ai_orchestrator.core.interaction import Interaction, ModelPart
from ai_orchestrator.usage.parsers import to_ms

SLACK_MS = 5_000

CallRow = tuple[str, str, str | None, int, int, str, str | None, str, int, float | None]


def _part_rows(interaction: Interaction) -> list[tuple[str, ModelPart | None]]:
    parts = interaction.usage_by_model
    if parts:
        return [(str(model), part) for model, part in parts.items()]
    return [(interaction.model or "unknown", None)]


def aio_rows(
    interaction: Interaction, gen: int
) -> tuple[list[tuple[Any, ...]], CallRow | None, list[str]]:
    """(req rows, the call's window row, its Claude message ids) for one recorded call."""
    end = to_ms(interaction.timestamp)
    if end is None:
        return [], None, []
    agent = interaction.agent or "unknown"
    rows: list[tuple[Any, ...]] = []
    total_cost = interaction.cost
    source = interaction.cost_source or "computed"
    for index, (model, part) in enumerate(_part_rows(interaction)):
        if part is None:
            tokens = interaction.tokens
            counts = (tokens.input, tokens.output, tokens.cache_read, tokens.cache_write, 0)
            reasoning, requests = tokens.reasoning, 1
            cost, row_source = total_cost, source
        else:
            t = part.tokens()
            m5, h1 = part.cache_write_5m, part.cache_write_1h
            timed = m5 is not None or h1 is not None
            counts = (
                t.input, t.output, t.cache_read,
                (m5 or 0) if timed else t.cache_write, (h1 or 0) if timed else 0,
            )  # fmt: skip
            reasoning, requests = t.reasoning, part.requests or 1
            if source == "computed":
                cost, row_source = part.cost or 0.0, "computed"
            else:  # the call's figure is not per model: all of it on its first row
                cost, row_source = (total_cost if index == 0 else 0.0), source
        rows.append(
            (
                f"a:{interaction.id}:{model}", "a", agent, model, end,
                interaction.agent_session_id, interaction.cwd, interaction.branch,
                *counts, reasoning, requests, float(cost), row_source,
                interaction.reported_cost if index == 0 else None, None, None, 0,
                interaction.feature_id, interaction.task_id, interaction.session_name, gen,
            )
        )  # fmt: skip
    call: CallRow | None = None
    if interaction.agent_session_id:
        span = max(0, interaction.duration_ms) + SLACK_MS
        call = (
            interaction.id, agent, interaction.agent_session_id, end - span, end + span,
            interaction.feature_id, interaction.task_id, interaction.session_name, gen,
            interaction.budget_usd,
        )  # fmt: skip
    return rows, call, _message_ids(interaction)


def _message_ids(interaction: Interaction) -> list[str]:
    """The API message ids of a Claude call's recorded stream events."""
    if interaction.agent != "claude" or not interaction.raw_events:
        return []
    found = []
    for event in interaction.raw_events:
        if isinstance(event, dict) and event.get("type") == "assistant":
            message = event.get("message")
            msg_id = message.get("id") if isinstance(message, dict) else None
            if isinstance(msg_id, str) and msg_id:
                found.append(msg_id)
    return found

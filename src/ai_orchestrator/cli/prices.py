"""``aio prices MODEL``: the rates aio uses to price a model, and where they come from.

Shows the per-million-token rates (input, output, cache read, 5-minute and 1-hour cache
writes), long-context tiers, the matched model id, the provider and the price data
version, all from ``accounting.rate_report.rates_for``. A model the price data does not know
is reported as "unpriced" (with the reason) and the command exits 1 — also under
``--json``, which then still writes the document.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import click

from ai_orchestrator.agents.registry import KNOWN_KEYS
from ai_orchestrator.cli import output
from ai_orchestrator.core.errors import InvalidInput, Unpriced
from ai_orchestrator.core.figures import exact_usd

if TYPE_CHECKING:  # the price data loads to show a card, not to complete a word
    from ai_orchestrator.accounting.rate_report import RateCard

RATE_LABELS = {
    "input": "Input",
    "output": "Output",
    "cache_read": "Cache read",
    "cache_write_5m": "Cache write (5m)",
    "cache_write_1h": "Cache write (1h)",
}


@output.reads
@click.command("prices", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model")
@click.option(
    "--agent",
    type=click.Choice(KNOWN_KEYS),
    help="The agent the model runs under (picks the provider); default: inferred.",
)
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
@click.pass_context
def prices(ctx: click.Context, model: str, agent: str | None, as_json: bool) -> None:
    """Show the rates used to price MODEL (USD per million tokens)."""
    from ai_orchestrator.accounting.rate_report import rates_for
    from ai_orchestrator.agents.registry import declared

    if not model.strip():
        raise InvalidInput("MODEL is empty: give a model name, e.g. aio prices claude-sonnet-4-5")
    caps = declared(agent)  # the backend's provider picks the price list
    card = rates_for(agent, model, provider=caps.provider, notional=caps.notional_cost)
    if as_json:
        data = dataclasses.asdict(card)
        data["unit"] = "USD per million tokens"
        output.emit_json(data)
    elif not card.priced:
        output.out().print(
            f"Model: {card.query}\nunpriced: {card.note or 'no price data'} "
            f"(price data: {card.data_version})",
            markup=False,
        )
    else:
        _print_card(card)
    if not card.priced:
        # The one documented failure line (stdout above keeps the card, also under --json).
        raise Unpriced(card.query, card.note or "no price data")


def _print_card(card: RateCard) -> None:
    console = output.out()
    matched = card.model_ref or "-"
    if card.model_name:
        matched += f" ({card.model_name})"
    lines = [
        f"Model: {card.query}",
        f"Matched: {matched}    Provider: {card.provider or '-'}",
        "Rates (USD per million tokens):",
    ]
    width = max(len(label) for label in RATE_LABELS.values())
    for key, label in RATE_LABELS.items():
        lines.append(f"  {label + ':':<{width + 1}} {exact_usd(card.rates.get(key))}")
    for tier in card.tiers:
        rates = ", ".join(
            f"{RATE_LABELS[k].lower()} {exact_usd(v)}"
            for k, v in tier.rates.items()
            if k in RATE_LABELS
        )
        lines.append(f"Long-context tier (prompt > {tier.above:,} tokens): {rates}")
    if card.context_window:
        lines.append(f"Context window: {card.context_window:,} tokens")
    data = card.data_version + (f" ({card.data_date})" if card.data_date else "")
    lines.append(f"Price data: {data}")
    if card.note:
        lines.append(f"Note: {card.note}")
    for line in lines:
        console.print(line, markup=False)

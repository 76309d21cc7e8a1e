"""How figures read in one-line messages, the same in every room (plain text, no markup).

- ``token_line(tokens)``: ``"1,200 in / 56 out / 3,400 cache read / 800 cache write"`` —
  always all four kinds, so a call line and a total never disagree about what they count.
- ``exact_usd(value)``: a dollar amount never rounded away: cents always, more digits only
  when they exist (``$3.00``, ``$0.0273``, ``$0.125``) — for budgets and rates, where
  ``$0.03`` for 0.0273 would be wrong.
"""

from __future__ import annotations

from collections.abc import Mapping


def token_line(tokens: Mapping[str, object]) -> str:
    def n(key: str) -> str:
        value = tokens.get(key)
        return f"{int(value) if isinstance(value, int | float) else 0:,}"

    return (
        f"{n('input')} in / {n('output')} out / {n('cache_read')} cache read / "
        f"{n('cache_write')} cache write"
    )


def exact_usd(value: float | None) -> str:
    if value is None:
        return "-"
    whole, _, frac = f"{value:,.6f}".partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"${whole}.{frac}"

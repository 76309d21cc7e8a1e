"""How figures read in one-line messages, the same in every room (plain text, no markup).

- ``token_line(tokens)``: ``"1,200 in / 56 out / 3,400 cache read / 800 cache write"`` —
  always all four kinds, so a call line and a total never disagree about what they count.
- ``exact_usd(value)``: a dollar amount never rounded away: cents always, more digits only
  when they exist (``$3.00``, ``$0.0273``, ``$0.125``) — for budgets and rates, where
  ``$0.03`` for 0.0273 would be wrong.
- ``usd(value)``: a cost in a table or a summary: four decimals (``$1.2345``), two from
  $100 (``$1,234.50``), and a figure below $0.0001 keeps two significant digits
  (``$0.000027``) instead of reading ``$0.0000``.
- ``duration(seconds)``: ``4.2s`` under a minute, ``13m 54s``, ``2h 05m``, ``3d 04h``: never
  ``834.0s``.
"""

from __future__ import annotations

import math
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


def usd(value: float) -> str:
    if value >= 100:
        return f"${value:,.2f}"
    if 0 < value < 0.0001:
        decimals = 1 - math.floor(math.log10(value))  # two significant digits
        return f"${value:.{decimals}f}"
    return f"${value:,.4f}"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(0.0, seconds):.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d {whole % 86400 // 3600:02d}h"

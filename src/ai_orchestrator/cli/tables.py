"""Tables that fit the terminal and never cut an identifier; human times; plurals.

Contract:
- A table is a list of ``Column`` specs and rows of cells (one cell per column; a cell is
  text, or ``(text, style)`` — colour only ever decorates, the text alone carries the
  meaning). Cells are plain text, never rich markup.
- Layout, as ccusage does it: below ``COMPACT_BELOW`` columns the *compact* layout is used
  (columns marked ``layout="wide"`` are left out, those marked ``layout="compact"`` — merged
  or shortened variants — come in). Then, if the table is still wider than the terminal,
  columns with the highest ``drop`` rank go first (``drop=0``: never dropped).
- ``wide=True`` (``--wide``) shows every ``wide``/``both`` column and never drops or
  squeezes one: the table gets the width it needs (the terminal may wrap the rows).
- No cell is wrapped. Identifier columns (``ident=True``) are never cut (a column that
  cannot fit is dropped by its rank instead); free-text columns (``max_width``) take the
  width the others leave, at most ``max_width``, and are cut with an ellipsis ("…"),
  never silently.
- The *stacked* layout, for rows whose name is long (a 64-character feature id): the name
  column (``name=True``, else the first ``ident`` column with ``drop=0``) is lifted onto a
  line of its own, and the row's other cells follow on the next line, indented, aligned
  under headers of their own. It is used when the one-line table cannot fit at all, or
  when the name takes more than ``NAME_SHARE`` of the width and stacking shows at least
  two more columns; so short names keep one line per row.
  Every line of either layout fits the terminal (short of a single name wider than it).
- The title is printed on its own line (no trailing spaces); a totals row, when given,
  follows a rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from ai_orchestrator.cli import output
from ai_orchestrator.infra.timeutil import local_text

if TYPE_CHECKING:
    from rich.console import Console

COMPACT_BELOW = 100
ELASTIC_MIN = 12  # a free-text column is never squeezed below this (an ellipsis cuts it)
Cell = str | tuple[str, str]
Layout = Literal["both", "wide", "compact"]


@dataclass(frozen=True)
class Column:
    header: str
    justify: Literal["left", "right"] = "left"
    drop: int = 0
    ident: bool = False
    layout: Layout = "both"
    max_width: int | None = None
    name: bool = False


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 interaction``, ``2 interactions``, ``1 day``, ``1,200 calls``."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def days(value: float) -> str:
    """``30 days``, ``1 day``, ``0.5 days``."""
    return f"{value:g} {'day' if value == 1 else 'days'}"


def short_count(value: int) -> str:
    """A token count in at most six characters: ``950``, ``12.3k``, ``4.6M``."""
    for limit, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if value >= limit:
            scaled = value / limit
            return f"{scaled:.1f}{suffix}" if scaled < 100 else f"{scaled:.0f}{suffix}"
    return str(value)


def when(moment: datetime | None, now: datetime | None = None) -> str:
    """A table's time: relative within a week ("just now", "5m ago", "3h ago", "2d ago"),
    else the local date ("2025-01-12"). Exact ISO times belong in ``--json`` only."""
    if moment is None:
        return "never"
    now = now or datetime.now(UTC)
    if (now - moment).total_seconds() < 7 * 86400:
        return output.age(moment, now)
    return moment.astimezone().strftime("%Y-%m-%d")


def local_time(moment: datetime | None, now: datetime | None = None) -> str:
    """An event's local time: ``21:03:15`` today, ``2026-11-30 21:03`` on other days."""
    return local_text(moment, now)


def ellipsis(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` cells with "…" when longer."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(0, width - 1)] + "…"


def _text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell[0]


def _natural(
    column: Column, rows: Sequence[Sequence[Cell]], index: int, *, wide: bool = False
) -> int:
    """The width the column's longest cell needs (free text: at most ``max_width``, unless
    ``wide``, which shows it whole)."""
    from rich.cells import cell_len

    widths = [cell_len(column.header)]
    widths += [cell_len(line) for row in rows for line in _text(row[index]).splitlines() or [""]]
    natural = max(widths)
    return min(natural, column.max_width) if column.max_width and not wide else natural


def _needed(widths: Sequence[int]) -> int:
    # The default box: "│ a │ b │" -> one space each side and one border per column, plus one.
    return sum(widths) + 3 * len(widths) + 1


NAME_SHARE = 0.4  # a name wider than this share of the terminal may stack
INDENT = 2  # the stacked layout: figures under their name
GAP = 2  # the stacked layout: between two figures


def _stacked_needed(widths: Sequence[int]) -> int:
    return INDENT + sum(widths) + GAP * max(0, len(widths) - 1)


def name_column(columns: Sequence[Column]) -> int | None:
    """The column the stacked layout lifts onto a line of its own (see the docstring)."""
    for i, c in enumerate(columns):
        if c.name:
            return i
    return next((i for i, c in enumerate(columns) if c.ident and not c.drop), None)


def choose_columns(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    width: int,
    *,
    wide: bool = False,
    stacked: bool = False,
) -> list[int]:
    """Indexes of the columns to show at ``width`` terminal columns (see the docstring);
    ``stacked``: the columns under the name line (the name column itself excluded)."""
    compact = not wide and width < COMPACT_BELOW
    lifted = name_column(columns) if stacked else None
    shown = [
        i
        for i, c in enumerate(columns)
        if (c.layout == "both" or c.layout == ("compact" if compact else "wide")) and i != lifted
    ]
    if wide:
        return shown
    needed = _stacked_needed if stacked else _needed
    natural = {i: _natural(columns[i], rows, i) for i in shown}
    for i in shown:  # free text gives way (print_table) instead of pushing columns out
        if columns[i].max_width is not None:
            natural[i] = min(natural[i], ELASTIC_MIN)
    droppable = sorted((i for i in shown if columns[i].drop), key=lambda i: -columns[i].drop)
    while droppable and needed([natural[i] for i in shown]) > width:
        rank = columns[droppable[0]].drop
        for i in [i for i in droppable if columns[i].drop == rank]:
            if needed([natural[j] for j in shown]) <= width:
                break
            shown.remove(i)
            droppable.remove(i)
    return shown


def use_stacked(
    columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int, *, wide: bool = False
) -> bool:
    """True when the stacked layout reads better at ``width`` (see the docstring)."""
    if wide or name_column(columns) is None:
        return False
    one_line = choose_columns(columns, rows, width)
    natural = [
        min(_natural(columns[i], rows, i), ELASTIC_MIN)
        if columns[i].max_width is not None
        else _natural(columns[i], rows, i)
        for i in one_line
    ]
    if _needed(natural) > width:
        return True
    lifted = name_column(columns)
    assert lifted is not None
    if _natural(columns[lifted], rows, lifted) <= width * NAME_SHARE:
        return False  # a short name keeps one line per row
    under = choose_columns(columns, rows, width, stacked=True)
    return len(under) + 1 >= len(one_line) + 2


def _fit_elastic(
    columns: Sequence[Column], shown: Sequence[int], natural: dict[int, int], spare: int
) -> None:
    """Free-text columns share what the others leave (``spare``), never below their floor."""
    elastic = [i for i in shown if columns[i].max_width is not None]
    for i in elastic:
        room = spare // len(elastic)
        natural[i] = max(min(natural[i], room), min(natural[i], ELASTIC_MIN))


def _print_stacked(
    title: str | None,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    totals: Sequence[Cell] | None,
    console: Console,
) -> None:
    from rich.cells import cell_len
    from rich.text import Text

    lifted = name_column(columns)
    assert lifted is not None
    everything = [*rows, *([totals] if totals else [])]
    shown = choose_columns(columns, everything, console.width, stacked=True)
    natural = {i: _natural(columns[i], everything, i) for i in shown}
    fixed = _stacked_needed([natural[i] for i in shown if columns[i].max_width is None])
    gaps = GAP * sum(1 for i in shown if columns[i].max_width is not None)
    _fit_elastic(columns, shown, natural, console.width - fixed - gaps)

    def line(cells: Sequence[Cell], header: bool = False) -> Text:
        out = Text(" " * INDENT, style="bold" if header else "")
        for n, i in enumerate(shown):
            cell = cells[i]
            raw, style = (cell, "") if isinstance(cell, str) else cell
            value = ellipsis(raw, natural[i]) if columns[i].max_width else " ".join(raw.split())
            pad = " " * max(0, natural[i] - cell_len(value))
            last = n == len(shown) - 1
            text = pad + value if columns[i].justify == "right" else value + ("" if last else pad)
            out.append(text, style="bold" if header else style)
            if not last:
                out.append(" " * GAP)
        out.rstrip()
        return out

    def name(cell: Cell, bold: bool = False) -> Text:
        raw, style = (cell, "") if isinstance(cell, str) else cell
        return Text(raw, style="bold" if bold else style, no_wrap=True)

    rule_width = min(console.width, _stacked_needed([natural[i] for i in shown]))
    rule = Text("─" * rule_width, style="dim")
    if title:
        console.print(title, markup=False, highlight=False)
    console.print(name(columns[lifted].header, bold=True), soft_wrap=True)
    console.print(line([c.header for c in columns], header=True))
    console.print(rule)
    for row in rows:
        console.print(name(row[lifted]), soft_wrap=True)
        console.print(line(row))
    if totals:
        console.print(rule)
        console.print(name(totals[lifted], bold=True), soft_wrap=True)
        console.print(line(totals), style="bold")


def print_table(
    title: str | None,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    *,
    totals: Sequence[Cell] | None = None,
    wide: bool = False,
    console: Console | None = None,
) -> None:
    """Render ``rows`` (and ``totals``) as a table fitted to the console (see the docstring)."""
    from rich.table import Table
    from rich.text import Text

    console = console or output.out()
    everything = [*rows, *([totals] if totals else [])]
    if use_stacked(columns, everything, console.width, wide=wide):
        _print_stacked(title, columns, rows, totals, console)
        return
    shown = choose_columns(columns, everything, console.width, wide=wide)
    natural = {i: _natural(columns[i], everything, i, wide=wide) for i in shown}
    if not wide:
        # Columns with a max_width (free text) give way: they get what the others leave.
        fixed = _needed([natural[i] for i in shown if columns[i].max_width is None])
        elastic = sum(1 for i in shown if columns[i].max_width is not None)
        _fit_elastic(columns, shown, natural, console.width - fixed - 3 * elastic)
    table = Table(show_edge=True)
    for i in shown:
        c = columns[i]
        table.add_column(
            c.header,
            justify=c.justify,
            no_wrap=True,
            overflow="ellipsis",
            min_width=natural[i],
            max_width=natural[i] if c.max_width is not None and not wide else None,
        )

    def text(cell: Cell) -> Text:
        return Text(cell) if isinstance(cell, str) else Text(cell[0], style=cell[1])

    def cells(row: Sequence[Cell]) -> list[Text]:
        return [text(row[i]) for i in shown]

    for n, row in enumerate(rows):
        table.add_row(*cells(row), end_section=totals is not None and n == len(rows) - 1)
    if totals:
        table.add_row(*cells(totals), style="bold")
    if title:
        console.print(title, markup=False, highlight=False)
    needed = _needed([natural[i] for i in shown])
    if needed > console.width:
        # --wide, or an identifier wider than the terminal: as wide as it needs (print's
        # own width= is capped at the console's); the terminal wraps what it cannot show.
        width = console.width
        console.width = needed
        try:
            console.print(table, crop=False)
        finally:
            console.width = width
    else:
        console.print(table)

"""``cli.tables``: layouts that fit, identifiers never cut, human times and plurals."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from ai_orchestrator.cli import tables
from ai_orchestrator.cli.tables import Column, choose_columns, plural, print_table

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
COLUMNS = (
    Column("Name", ident=True),
    Column("Detail", drop=2, layout="wide"),
    Column("Short", layout="compact"),
    Column("Extra", drop=1),
    Column("Note", max_width=30, drop=3),
)
ROW = ["a-rather-long-session-name-that-must-stay-whole", "d" * 30, "s", "e" * 12, "n" * 50]


def headers(shown: list[int]) -> list[str]:
    return [COLUMNS[i].header for i in shown]


def test_compact_below_100_columns_and_wide_otherwise() -> None:
    assert headers(choose_columns(COLUMNS, [ROW], 99)) == ["Name", "Short", "Extra", "Note"]
    assert headers(choose_columns(COLUMNS, [ROW], 200)) == ["Name", "Detail", "Extra", "Note"]


def test_columns_go_by_rank_and_never_the_identifier() -> None:
    # Note counts with 12 columns (free text gives way); it goes first (rank 3), then Extra
    assert headers(choose_columns(COLUMNS, [ROW], 114)) == ["Name", "Detail", "Extra", "Note"]
    assert headers(choose_columns(COLUMNS, [ROW], 100)) == ["Name", "Detail", "Extra"]
    assert headers(choose_columns(COLUMNS, [ROW], 99)) == ["Name", "Short", "Extra", "Note"]
    assert headers(choose_columns(COLUMNS, [ROW], 60)) == ["Name", "Short"]
    assert headers(choose_columns(COLUMNS, [ROW], 20)) == ["Name", "Short"]
    assert headers(choose_columns(COLUMNS, [ROW], 20, wide=True)) == [
        "Name",
        "Detail",
        "Extra",
        "Note",
    ]


@pytest.mark.parametrize("width", [40, 80, 120])
def test_an_identifier_is_never_cut_and_free_text_gets_an_ellipsis(width: int) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None)
    print_table("Title", COLUMNS, [ROW], console=console)
    text = buffer.getvalue()
    assert ROW[0] in text
    assert "Title\n" in text  # the title alone on its line, no trailing spaces
    if "Note" in text:
        assert "n" * 50 not in text and "…" in text


def test_wide_prints_every_column_uncropped() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=40, color_system=None)
    print_table(None, COLUMNS, [ROW], console=console, wide=True)
    text = buffer.getvalue()
    # --wide: free text whole too (an error's cause is never cut there)
    assert ROW[1] in text and ROW[3] in text and ROW[-1] in text and "…" not in text
    assert max(len(line) for line in text.splitlines()) > 40


def test_plurals_and_days() -> None:
    assert plural(1, "interaction") == "1 interaction"
    assert plural(0, "interaction") == "0 interactions"
    assert plural(1200, "call") == "1,200 calls"
    assert tables.days(1) == "1 day" and tables.days(30) == "30 days"
    assert tables.days(0.5) == "0.5 days"


def test_human_times() -> None:
    assert tables.when(NOW - timedelta(minutes=5), NOW) == "5m ago"
    assert tables.when(NOW - timedelta(days=3, hours=1), NOW) == "3d ago"
    old = datetime(2024, 3, 15, 12, tzinfo=UTC)
    assert tables.when(old, NOW) == old.astimezone().strftime("%Y-%m-%d")
    assert tables.when(None, NOW) == "never"
    assert tables.local_time(old, NOW) == old.astimezone().strftime("%Y-%m-%d %H:%M")
    assert tables.short_count(950) == "950"
    assert tables.short_count(12_345) == "12.3k" and tables.short_count(2_520_729) == "2.5M"


LONG = "implement-" + "f" * 64  # the longest session name of a valid feature id
FIGURES = (
    Column("Session", ident=True),
    Column("Last used"),
    Column("Calls", justify="right", drop=2),
    Column("Cost", justify="right"),
    Column("Why", max_width=30, drop=1),
)


@pytest.mark.parametrize("width", [80, 120])
def test_a_name_too_long_for_a_row_goes_on_its_own_line(width: int) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None)
    rows = [[LONG, "2d ago", "12", "$0.000027", "529 overloaded " * 5]]
    print_table("Title", FIGURES, rows, totals=["Total", "", "12", "$0.000027", ""],
                console=console)  # fmt: skip
    lines = buffer.getvalue().splitlines()
    assert all(len(line) <= width for line in lines), lines
    if width > 100:  # room for a row: one line, what fits
        assert any(LONG in line and "$0.000027" in line for line in lines), lines
        return
    assert LONG in lines  # whole, alone on its line
    figures = lines[lines.index(LONG) + 1]
    assert figures.startswith("  2d ago") and "12" in figures and "$0.000027" in figures
    assert "Total" in lines and "  Last used" in lines[2]


def test_short_names_keep_one_line_per_row() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, color_system=None)
    print_table(None, FIGURES, [["plan-calc", "2d ago", "12", "$1.00", "x"]], console=console)
    row = next(line for line in buffer.getvalue().splitlines() if "plan-calc" in line)
    assert "2d ago" in row and "$1.00" in row  # the one-line table, boxed
    assert row.startswith("│")


def test_small_costs_keep_their_digits_and_durations_read_as_time() -> None:
    from ai_orchestrator.cli.output import money
    from ai_orchestrator.core.figures import duration

    assert money(0.0000266) == "$0.000027" and money(0.00012) == "$0.0001"
    assert money(1.23456) == "$1.2346" and money(1234.5) == "$1,234.50"
    assert money(0.0) == "$0.0000" and money(None, unpriced=True) == "unpriced"
    assert duration(834.0) == "13m 54s" and duration(4.25) == "4.2s"
    assert duration(3 * 3600 + 5 * 60 + 9) == "3h 05m" and duration(60) == "1m 00s"

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

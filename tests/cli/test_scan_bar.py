"""The rescan progress bar: on a terminal only, redrawn in place, gone when done."""

from __future__ import annotations

import pytest

from ai_orchestrator.cli.progress import ScanBar
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.index import SummaryIndex
from tests.helpers import as_record, interaction


def test_the_bar_counts_up_and_is_erased(capsys: pytest.CaptureFixture[str]) -> None:
    bar = ScanBar()
    for done in (0, 5_000, 10_000):
        bar(done, 10_000)
    bar.close()
    err = capsys.readouterr().err
    assert "Reading sessions" in err and "5,000/10,000" in err and "10,000/10,000" in err
    assert err.endswith("\r\033[K") and "\n" not in err


def test_no_bar_for_a_small_store(capsys: pytest.CaptureFixture[str]) -> None:
    bar = ScanBar()
    bar(0, 999)
    bar.close()
    assert capsys.readouterr().err == ""


def test_a_rescan_reports_its_progress_and_a_warm_listing_does_not(session_dir: object) -> None:
    store = SessionStore()
    for i in range(3):
        store.record(as_record(f"plan-p{i}", interaction()))
    told: list[tuple[int, int]] = []
    SummaryIndex(store).rows(progress=lambda d, t: told.append((d, t)))  # first: a rescan
    assert told[0] == (0, 3) and told[-1] == (3, 3)
    told.clear()
    SummaryIndex(store).rows(progress=lambda d, t: told.append((d, t)))
    assert told == []
    SummaryIndex(store).rows(rescan=True, progress=lambda d, t: told.append((d, t)))
    assert told[-1] == (3, 3)

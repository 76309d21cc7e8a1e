"""Every ``--json`` read command prints, byte for byte, what it printed when the recorded
store was made (``build_recorded_store.py``): changes to how records are typed, validated
or passed between rooms must not change any output shape, key order or number format.

Also: recording the same interactions again writes the same lines (ids aside), so new
records keep the stored shape of old ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.golden.build_recorded_store import RECORDS
from tests.golden.golden_cases import CASES, RECORDED, Case, capture
from tests.helpers import aio_inprocess

GOLDENS = Path(__file__).resolve().parent / "goldens"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_read_command_output_is_byte_identical(case: Case, tmp_path: Path) -> None:
    expected = (GOLDENS / f"{case.name}.out").read_bytes()
    got = capture(case, tmp_path, inprocess=True)
    assert got.startswith(b"exit=0\n"), got[:400]
    assert got == expected, f"{case.name}: output changed (aio {' '.join(case.args)})"


def _lines_of(store: Path, session: str) -> list[str]:
    text = (store / session / "interactions.jsonl").read_text()
    # ids are random per recording; everything else must be identical
    return [re.sub(r'"id":"[0-9a-f]{32}"', '"id":"<ID>"', line) for line in text.splitlines()]


def test_recording_again_writes_the_same_lines(session_dir: Path) -> None:
    for name, record in RECORDS:
        aio_inprocess("session", "record", name, input=json.dumps(record)).expect(0)
    for session in ("review-calc-basics", "run-multi-model"):
        assert _lines_of(session_dir, session) == _lines_of(RECORDED / "store", session)

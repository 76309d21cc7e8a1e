"""The context window of (agent, model) is cached for the day like a price card, so the check
before every resumed ``aio run`` never imports genai-prices: the cached answer equals the
lookup's for every kind of model (data window, aio's table, none known, aliases, an agent's
limit), and anything odd about the cache file means a fresh lookup, never a wrong window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from ai_orchestrator.accounting import context_windows, price_cards, pricing
from ai_orchestrator.accounting.context_windows import context_window

CASES: list[tuple[str | None, str]] = [
    ("claude", "claude-sonnet-4-5"),
    ("claude", "sonnet"),  # an alias resolved through the data
    ("claude", "claude-sonnet-4-6"),  # 1M in the data
    ("claude", "sonnet[1m]"),
    ("gemini", "gemini-2.5-pro"),  # aio's table
    ("gemini", "gemini-2.5-flash-lite"),
    ("codex", "gpt-5"),
    ("claude", "claude-nonexistent-9"),  # nothing knows it
    ("opencode", "mystery-model"),
    (None, "claude-haiku-4-5"),  # no agent
    ("scripted", "scripted-sonnet"),
]


def _uncached(agent: str | None, model: str, **kw: Any) -> tuple[int | None, str]:
    with (
        patch.object(price_cards, "load_window", return_value=None),
        patch.object(price_cards, "store_window", return_value=False),
    ):
        return context_window(agent, model, **kw)


def _refuse(*args: object, **kwargs: object) -> Any:
    raise AssertionError("the cached path looked the model up")


def _cached_only(agent: str | None, model: str, **kw: Any) -> tuple[int | None, str]:
    with (
        patch.object(pricing, "lookup_model", _refuse),
        patch.object(context_windows, "resolve", _refuse),
    ):
        return context_window(agent, model, **kw)


@pytest.mark.parametrize(("agent", "model"), CASES)
def test_the_cached_window_is_the_lookups(agent: str | None, model: str) -> None:
    expected = _uncached(agent, model)
    first = context_window(agent, model)  # looks up and files the entry
    assert first == expected
    assert _cached_only(agent, model) == expected
    limited = {"limit": 200_000, "long_mark": "[1m]", "label": "Claude Code"}
    assert _cached_only(agent, model, **limited) == _uncached(agent, model, **limited)


def test_the_window_cache_file_shape() -> None:
    context_window("claude", "claude-sonnet-4-5")
    context_window("claude", "claude-nonexistent-9")
    data = json.loads(Path(price_cards.windows_file()).read_text())
    assert data["format"] == price_cards.FORMAT
    assert data["stamp"] == price_cards.data_stamp()
    assert data["date"] == price_cards.today()
    cards = data["cards"]
    found = cards[price_cards.card_key("claude", "claude-sonnet-4-5")]
    assert isinstance(found["window"], int) and found["window"] > 0
    assert cards[price_cards.card_key("claude", "claude-nonexistent-9")] == {
        "window": None,
        "source": "no context window known for 'claude-nonexistent-9'",
    }
    # the price cards' own file is not touched by the windows
    assert not Path(price_cards.cache_file()).exists()


BAD_ENTRIES: list[object] = [
    {"window": 0, "source": "x"},
    {"window": -5, "source": "x"},
    {"window": 1.5, "source": "x"},
    {"window": True, "source": "x"},
    {"window": "200000", "source": "x"},
    {"window": 1000, "source": None},
    {"window": 1000, "source": 3},
    {"window": 1000},
    {"window": 1000, "source": "x", "extra": 1},
    [1000, "x"],
    None,
    "1000",
]


@pytest.mark.parametrize("entry", BAD_ENTRIES)
def test_a_damaged_entry_is_looked_up_again(entry: object) -> None:
    expected = _uncached("claude", "claude-sonnet-4-5")
    context_window("claude", "claude-sonnet-4-5")
    path = Path(price_cards.windows_file())
    data = json.loads(path.read_text())
    data["cards"][price_cards.card_key("claude", "claude-sonnet-4-5")] = entry
    path.write_text(json.dumps(data))
    assert price_cards.load_window("claude", "claude-sonnet-4-5") is None
    assert context_window("claude", "claude-sonnet-4-5") == expected
    assert _cached_only("claude", "claude-sonnet-4-5") == expected  # filed again


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"\xff\xfe", b"[]", b'{"format": 1}', b"null", b'{"format":1,"cards":[]}'],
)
def test_a_corrupt_window_file_is_ignored_and_rebuilt(content: bytes) -> None:
    expected = _uncached("gemini", "gemini-2.5-pro")
    path = Path(price_cards.windows_file())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    assert context_window("gemini", "gemini-2.5-pro") == expected
    assert _cached_only("gemini", "gemini-2.5-pro") == expected


def test_another_day_or_data_stamp_is_looked_up_again(monkeypatch: pytest.MonkeyPatch) -> None:
    context_window("claude", "claude-sonnet-4-5")
    today = price_cards.today
    monkeypatch.setattr(price_cards, "today", lambda: "2999-01-01")
    assert price_cards.load_window("claude", "claude-sonnet-4-5") is None
    monkeypatch.setattr(price_cards, "today", today)
    assert price_cards.load_window("claude", "claude-sonnet-4-5") is not None
    monkeypatch.setattr(price_cards, "data_stamp", lambda: "another stamp")
    assert price_cards.load_window("claude", "claude-sonnet-4-5") is None


def test_a_custom_price_snapshot_neither_reads_nor_files_windows() -> None:
    from genai_prices.data_snapshot import get_snapshot, set_custom_snapshot

    context_window("claude", "claude-sonnet-4-5")
    set_custom_snapshot(get_snapshot())
    try:
        assert price_cards.load_window("claude", "claude-sonnet-4-5") is None
        context_window("claude", "claude-haiku-4-5")
    finally:
        set_custom_snapshot(None)
    cards = json.loads(Path(price_cards.windows_file()).read_text())["cards"]
    assert price_cards.card_key("claude", "claude-haiku-4-5") not in cards


def test_an_unwritable_cache_is_only_slower(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    expected = _uncached("claude", "claude-sonnet-4-5")
    assert context_window("claude", "claude-sonnet-4-5") == expected
    assert context_window("claude", "claude-sonnet-4-5") == expected


_PROCESS = """
import json, sys
from ai_orchestrator.accounting.context_windows import context_window
result = context_window(sys.argv[1], sys.argv[2], limit=200000, long_mark="[1m]")
heavy = [m for m in ("genai_prices", "pydantic", "httpx", "httpx2") if m in sys.modules]
print(json.dumps({"result": result, "heavy": heavy}))
"""


@pytest.mark.process  # a real process: a fresh interpreter
def test_a_second_process_knows_the_window_without_genai_prices() -> None:
    def run() -> dict[str, Any]:
        argv = [sys.executable, "-c", _PROCESS, "claude", "claude-sonnet-4-6"]
        out = subprocess.run(argv, capture_output=True, text=True, check=True, env=os.environ)
        data: dict[str, Any] = json.loads(out.stdout)
        return data

    cold, warm = run(), run()
    assert "genai_prices" in cold["heavy"]
    assert warm["heavy"] == [], warm
    assert warm["result"] == cold["result"]
    assert cold["result"][0] == 200_000  # the agent's limit below the data's 1M

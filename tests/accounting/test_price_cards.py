"""The rate-card fast path prices exactly like genai-prices, without importing it.

``slow_path()`` forces genai-prices (no card read or written); ``card_only()`` makes any use of
genai-prices (name resolution or model lookup) fail the test, so a result obtained under it
came from a cached card. The cache file lives in the per-test ``XDG_CACHE_HOME``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.helpers import examples

from ai_orchestrator.accounting import price_cards, pricing
from ai_orchestrator.accounting.model_names import normalize_model
from ai_orchestrator.accounting.pricing import PriceResult, price_usage
from ai_orchestrator.core.usage import ModelUsage

MODELS: list[tuple[str, str]] = [
    ("claude", "claude-sonnet-4-5"),  # long-context tier above 200k
    ("claude", "claude-opus-4-8"),
    ("claude", "claude-haiku-4-5"),
    ("claude", "opus"),  # alias, resolved through the genai-prices data
    ("claude", "claude-2"),  # no cache prices: derived from Anthropic's multipliers
    ("claude", "claude-sonnet-4-6"),  # dated (conditional) prices
    ("gemini", "gemini-2.5-pro"),  # long-context tier above 200k
    ("gemini", "gemini-2.5-flash"),
    ("codex", "gpt-5"),
    ("codex", "gpt-5-codex"),  # priced as gpt-5
    ("codex", "gpt-5-pro"),  # no cache-read price: parent rate
    ("claude", "claude-nonexistent-9"),  # unknown
    ("gemini", "gemma-4-31b-it"),  # known without token prices
    ("opencode", "mystery-model"),
    ("scripted", "scripted-sonnet"),
    ("scripted", "scripted-gemini-2.5-pro"),
]
UNPRICED = {"claude-nonexistent-9", "gemma-4-31b-it", "mystery-model"}
HEAVY = ("genai_prices", "pydantic", "httpx")


@contextmanager
def slow_path() -> Iterator[None]:
    """Price with genai-prices only: no card is read or written."""
    with (
        patch.object(price_cards, "load", return_value=None),
        patch.object(price_cards, "store", return_value=False),
    ):
        yield


@contextmanager
def card_only() -> Iterator[None]:
    """Fail if pricing consults genai-prices (name resolution or model lookup)."""

    def refuse(*args: object, **kwargs: object) -> Any:
        raise AssertionError("the fast path used genai-prices")

    with patch.object(pricing, "resolve", refuse), patch.object(pricing, "lookup_model", refuse):
        yield


def prime(agent: str, model: str) -> price_cards.Card:
    if price_cards.load(agent, model) is None:
        price_usage(agent, model, ModelUsage())
    card = price_cards.load(agent, model)
    assert card is not None, (agent, model)
    return card


def assert_same(fast: PriceResult, slow: PriceResult) -> None:
    assert abs(fast.cost - slow.cost) <= 1e-12, (fast, slow)
    assert dataclasses.replace(fast, cost=slow.cost) == slow


def cache_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(price_cards.cache_file()).read_bytes())
    return data


def write_cache(data: object) -> None:
    path = Path(price_cards.cache_file())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())


def usage(
    inp: int = 0, out: int = 0, read: int = 0, w5m: int = 0, w1h: int = 0, requests: int = 0
) -> ModelUsage:
    return ModelUsage(
        input=inp,
        output=out,
        cache_read=read,
        cache_write_5m=w5m,
        cache_write_1h=w1h,
        requests=requests,
    )


# --- the property: card path == genai-prices path ------------------------------------------------

EDGES = [0, 1, 999, 66_667, 100_000, 128_000, 199_999, 200_000, 200_001, 272_000, 1_000_000]
COUNT = st.one_of(
    st.integers(0, 3000), st.integers(0, 400_000), st.integers(0, 4_000_000), st.sampled_from(EDGES)
)


@st.composite
def one_usage(draw: st.DrawFn, requests: int = 1) -> ModelUsage:
    u = ModelUsage(
        input=draw(COUNT),
        output=draw(COUNT),
        cache_read=draw(COUNT),
        cache_write_5m=draw(st.one_of(st.just(0), COUNT)),
        cache_write_1h=draw(st.one_of(st.just(0), COUNT)),
        requests=requests,
    )
    u.reasoning = draw(st.integers(0, u.output))  # part of output, informational
    return u


@st.composite
def scenario(draw: st.DrawFn) -> tuple[ModelUsage, list[ModelUsage] | None]:
    kind = draw(st.sampled_from(["aggregate", "requests", "excess", "unrelated"]))
    if kind == "aggregate":  # n > 1: the tier follows the mean prompt
        return draw(one_usage(requests=draw(st.integers(0, 40)))), None
    requests = draw(st.lists(one_usage(), min_size=1, max_size=4))
    if kind == "unrelated":  # per-request figures that do not add up to the aggregate
        return draw(one_usage(requests=draw(st.integers(0, 6)))), requests
    total = ModelUsage()
    for r in requests:
        total.add(r)
    if kind == "excess":  # the aggregate holds tokens the requests do not
        total.add(draw(one_usage(requests=draw(st.integers(0, 5)))))
    return total, requests


@settings(max_examples=examples(400))
@given(model=st.sampled_from(MODELS), case=scenario())
def test_property_card_path_equals_genai_prices(
    model: tuple[str, str], case: tuple[ModelUsage, list[ModelUsage] | None]
) -> None:
    agent, name = model
    total, requests = case
    card = prime(agent, name)
    assert card.usable
    with slow_path():
        slow = price_usage(agent, name, total, requests=requests)
    with card_only():
        fast = price_usage(agent, name, total, requests=requests)
    assert_same(fast, slow)


INPUT_RATES = {"claude-sonnet-4-5": (3.0, 6.0), "gemini-2.5-pro": (1.25, 2.5)}  # base, long


def test_mean_prompt_tier_boundaries_match() -> None:
    # Aggregates whose mean prompt is exactly at, just below and just above the threshold.
    for n in (2, 3, 7):
        for delta in (-1, 0, 1):
            prompt = 200_000 * n + delta
            u = usage(inp=prompt - 123_457, read=123_457, out=999, requests=n)
            for agent, model in (("claude", "claude-sonnet-4-5"), ("gemini", "gemini-2.5-pro")):
                prime(agent, model)
                with slow_path():
                    slow = price_usage(agent, model, u)
                with card_only():
                    fast = price_usage(agent, model, u)
                assert_same(fast, slow)
                assert "mean prompt" in (fast.note or "")
                assert fast.rates["input"] == INPUT_RATES[model][delta > 0]


# --- what the cards hold ----------------------------------------------------------------------


def test_cards_for_each_kind_of_model_roundtrip_exactly() -> None:
    for agent, model in MODELS:
        card = prime(agent, model)
        assert price_cards.decode_card(price_cards.encode_card(card)) == card
        if model in UNPRICED:
            assert card.reason and card.model_ref is None and card.levels == ()
        else:
            assert card.reason is None and card.exact and card.daily
            assert len(card.levels) == len(card.thresholds) + 1
    assert prime("claude", "claude-sonnet-4-5").thresholds == (200_000,)
    sonnet = prime("claude", "claude-sonnet-4-5").levels
    assert sonnet[0].final["input"] == Decimal(3) and sonnet[1].final["input"] == Decimal(6)
    assert prime("claude", "opus").model_ref == normalize_model("opus")
    assert prime("scripted", "scripted-sonnet").notes == (
        f"scripted demo model: notional cost, priced as {normalize_model('sonnet')}",
    )
    assert prime("claude", "claude-2").levels[0].derived == {
        "cache_read",
        "cache_write_5m",
        "cache_write_1h",
    }
    assert prime("codex", "gpt-5-codex").model_ref == "gpt-5"
    raw = cache_json()
    assert raw["date"] == price_cards.today() and raw["stamp"] == price_cards.data_stamp()
    assert raw["cards"]["6:claude:claude-sonnet-4-5"]["levels"][1]["final"]["output"] == "22.5"


def test_models_with_other_priced_units_are_not_exact() -> None:
    import genai_prices

    # Perplexity's sonar charges per request as well as per token.
    sonar = genai_prices.calc_price(genai_prices.Usage(), "sonar", provider_id="perplexity")
    card = pricing._make_card([], "perplexity", sonar, None)
    assert card.reason is None and not card.exact and not card.usable
    sonnet = genai_prices.calc_price(genai_prices.Usage(), "claude-sonnet-4-5")
    assert pricing._make_card([], "anthropic", sonnet, None).exact


def test_time_of_day_prices_always_use_genai_prices() -> None:
    u = usage(inp=5000, out=700, read=20_000)
    first = price_usage("opencode", "deepseek-reasoner", u)
    card = price_cards.load("opencode", "deepseek-reasoner")
    assert card is not None and card.reason is None and not card.daily and not card.usable
    calls: list[object] = []
    real = pricing.lookup_model

    def spy(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    with patch.object(pricing, "lookup_model", spy):
        again = price_usage("opencode", "deepseek-reasoner", u)
    assert calls and again == first


def test_unusable_card_is_not_used() -> None:
    prime("claude", "claude-haiku-4-5")
    data = cache_json()
    entry = data["cards"]["6:claude:claude-haiku-4-5"]
    entry["levels"][0]["final"]["input"] = "100"  # doctored: would show if the card were used
    entry["exact"] = False
    write_cache(data)
    result = price_usage("claude", "claude-haiku-4-5", usage(inp=1_000_000))
    assert abs(result.cost - 1.0) <= 1e-12


# --- validity: stamp, date, corruption ----------------------------------------------------------


def test_a_card_is_used_for_its_stamp_and_date_only() -> None:
    prime("claude", "claude-haiku-4-5")
    data = cache_json()
    data["cards"]["6:claude:claude-haiku-4-5"]["levels"][0]["final"]["input"] = "100"
    u = usage(inp=1_000_000)
    write_cache(data)
    assert price_usage("claude", "claude-haiku-4-5", u).cost == 100.0  # the card is what prices
    write_cache({**data, "date": "2000-01-01"})
    assert price_usage("claude", "claude-haiku-4-5", u).cost == 1.0  # yesterday's card: ignored
    write_cache({**data, "stamp": "genai-prices=0.0.1|elsewhere"})
    assert price_usage("claude", "claude-haiku-4-5", u).cost == 1.0  # other data: ignored


def test_changed_stamp_rebuilds_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    prime("claude", "claude-sonnet-4-5")
    prime("codex", "gpt-5")
    monkeypatch.setattr(price_cards, "data_stamp", lambda: "upgraded-data")
    assert price_cards.load("claude", "claude-sonnet-4-5") is None
    u = usage(inp=1000, out=1000, read=10_000)
    with slow_path():
        slow = price_usage("claude", "claude-sonnet-4-5", u)
    assert_same(price_usage("claude", "claude-sonnet-4-5", u), slow)
    data = cache_json()
    assert data["stamp"] == "upgraded-data" and list(data["cards"]) == [
        "6:claude:claude-sonnet-4-5"
    ]
    with card_only():
        assert_same(price_usage("claude", "claude-sonnet-4-5", u), slow)


def test_new_utc_day_rebuilds_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    prime("gemini", "gemini-2.5-pro")
    monkeypatch.setattr(price_cards, "today", lambda: "2099-12-31")
    assert price_cards.load("gemini", "gemini-2.5-pro") is None
    price_usage("gemini", "gemini-2.5-pro", usage(inp=10))
    assert cache_json()["date"] == "2099-12-31"
    assert price_cards.load("gemini", "gemini-2.5-pro") is not None


def test_a_lookup_across_midnight_is_filed_under_the_day_that_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The day is taken before genai-prices looks the model up: if the UTC date changes
    during the lookup, the card must not be filed as valid for the new day (whose dated
    prices the lookup may not have seen)."""
    clock = ["2099-12-30"]
    real_lookup = pricing.lookup_model

    def lookup_across_midnight(*args: Any) -> Any:
        found = real_lookup(*args)
        clock[0] = "2099-12-31"
        return found

    monkeypatch.setattr(price_cards, "today", lambda: clock[0])
    monkeypatch.setattr(pricing, "lookup_model", lookup_across_midnight)
    price_usage("gemini", "gemini-2.5-flash", usage(inp=10))
    assert cache_json()["date"] == "2099-12-30"
    assert price_cards.load("gemini", "gemini-2.5-flash") is None  # now 2099-12-31


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_data_stamp_follows_the_installed_package(tmp_path: Path) -> None:
    """Without importing it: version from the dist-info name, size and mtime of the data."""
    site = tmp_path / "site"
    package = site / "genai_prices"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise SystemExit('imported')\n")
    (package / "data.py").write_text("providers = []\n")
    (site / "genai_prices-9.8.7.dist-info").mkdir()
    code = (
        "import sys\n"
        "from ai_orchestrator.accounting import price_cards\n"
        "print(price_cards.data_stamp())\n"
        "assert 'genai_prices' not in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}

    def stamp() -> str:
        run = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        return run.stdout.strip()

    first = stamp()
    assert "genai-prices=9.8.7" in first and str(package) in first
    assert stamp() == first
    (package / "data.py").write_text("providers = [1]\n")  # new data
    second = stamp()
    assert second != first
    os.utime(package / "data.py", ns=(0, 0))
    assert stamp() not in (first, second)
    (site / "genai_prices-9.8.7.dist-info").rename(site / "genai_prices-9.9.0.dist-info")
    assert "genai-prices=9.9.0" in stamp()


CORRUPT: list[object] = [
    b"",
    b"{",
    b"\xff\xfe\x00garbage",
    b"[]",
    b"null",
    b'{"format": 1}',
    {"format": 2},
    {"cards": []},
    {"cards": {"6:claude:claude-sonnet-4-5": []}},
    {"cards": {"6:claude:claude-sonnet-4-5": {"levels": "x"}}},
]
CARD_DAMAGE: list[tuple[str, Any]] = [
    ("levels", []),
    ("levels", None),
    ("thresholds", [200_000, 100_000]),
    ("thresholds", [True]),
    ("thresholds", [-1]),
    ("thresholds", []),  # two levels for no threshold
    ("model_ref", None),
    ("provider", 7),
    ("notes", [1]),
    ("exact", "yes"),
    ("anthropic", None),
    ("levels.0.final.input", "NaN"),
    ("levels.0.final.input", "-3"),
    ("levels.0.final.input", "three"),
    ("levels.0.final.input", 3),
    ("levels.1.used.output", "Infinity"),
    ("levels.0.known", ["input", "bogus"]),
    ("levels.0.derived", "input"),
    ("levels.0.final", {"input": "3"}),
]


@pytest.mark.parametrize("content", CORRUPT, ids=range(len(CORRUPT)))
def test_corrupt_cache_file_is_ignored_and_rebuilt(content: object) -> None:
    if isinstance(content, dict):
        content = {
            "format": 1,
            "stamp": price_cards.data_stamp(),
            "date": price_cards.today(),
            **content,
        }
    write_cache(content)
    assert price_cards.load("claude", "claude-sonnet-4-5") is None
    _check_correct_and_rebuilt()


@pytest.mark.parametrize(("where", "value"), CARD_DAMAGE, ids=[w for w, _ in CARD_DAMAGE])
def test_damaged_card_is_ignored_and_rebuilt(where: str, value: Any) -> None:
    prime("claude", "claude-sonnet-4-5")
    data = cache_json()
    node = data["cards"]["6:claude:claude-sonnet-4-5"]
    *path, last = where.split(".")
    for step in path:
        node = node[int(step)] if step.isdigit() else node[step]
    node[last] = value
    write_cache(data)
    assert price_cards.load("claude", "claude-sonnet-4-5") is None
    _check_correct_and_rebuilt()


def _check_correct_and_rebuilt() -> None:
    u = usage(inp=100, out=2000, read=250_000, w5m=300, w1h=20, requests=1)
    with slow_path():
        slow = price_usage("claude", "claude-sonnet-4-5", u)
    assert_same(price_usage("claude", "claude-sonnet-4-5", u), slow)
    assert price_cards.load("claude", "claude-sonnet-4-5") is not None  # rebuilt
    with card_only():
        assert_same(price_usage("claude", "claude-sonnet-4-5", u), slow)


def test_unwritable_cache_is_only_slower(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    u = usage(inp=1000, out=100, read=5000)
    first = price_usage("codex", "gpt-5", u)
    assert price_usage("codex", "gpt-5", u) == first
    assert first.priced and price_cards.load("codex", "gpt-5") is None
    card = prime_card_of("codex", "gpt-5")
    assert price_cards.store("codex", "gpt-5", card, price_cards.today()) is False


def prime_card_of(agent: str, model: str) -> price_cards.Card:
    name, provider, notes = pricing.resolve(agent, model)
    zero, reason = pricing.lookup_model(name, provider, None)
    return pricing._make_card(notes, provider, zero, reason)


def test_cache_file_location_and_modes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert price_cards.cache_file() == str(
        tmp_path / "xdg" / "ai-orchestrator" / "price-cards.json"
    )
    prime("codex", "gpt-5")
    path = Path(price_cards.cache_file())
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    monkeypatch.delenv("XDG_CACHE_HOME")
    home = Path(os.environ["HOME"])
    assert price_cards.cache_file() == str(home / ".cache" / "ai-orchestrator" / "price-cards.json")


def test_cache_keeps_at_most_max_cards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(price_cards, "MAX_CARDS", 3)
    for model in ("gpt-5", "gpt-5-codex", "gpt-5-pro", "gpt-5.3-codex"):
        prime("codex", model)
    assert list(cache_json()["cards"]) == [
        "5:codex:gpt-5-codex",
        "5:codex:gpt-5-pro",
        "5:codex:gpt-5.3-codex",
    ]


# --- when the card is not used ------------------------------------------------------------------


def test_negative_counts_fall_back_to_genai_prices() -> None:
    prime("claude", "claude-sonnet-4-5")
    bad = usage(inp=-5, out=10)
    with slow_path():
        slow = price_usage("claude", "claude-sonnet-4-5", bad)
    result = price_usage("claude", "claude-sonnet-4-5", bad)
    assert result == slow and not result.priced and "rejected" in (result.note or "")


def test_historic_prices_never_read_or_write_cards() -> None:
    u = usage(inp=1000, out=1000, read=250_000, requests=1)
    at = datetime(2026, 2, 1, tzinfo=UTC)
    before = price_usage("claude", "claude-sonnet-4-6", u, at=at)
    assert not Path(price_cards.cache_file()).exists()
    prime("claude", "claude-sonnet-4-6")  # today's flat price
    assert price_usage("claude", "claude-sonnet-4-6", u, at=at) == before
    assert price_usage("claude", "claude-sonnet-4-6", u).cost < before.cost


def test_custom_price_data_disables_cards() -> None:
    from genai_prices.data_snapshot import DataSnapshot, get_snapshot, set_custom_snapshot

    prime("claude", "claude-haiku-4-5")
    data = cache_json()
    data["cards"]["6:claude:claude-haiku-4-5"]["levels"][0]["final"]["input"] = "100"
    write_cache(data)
    set_custom_snapshot(DataSnapshot(providers=get_snapshot().providers, from_auto_update=True))
    try:
        assert price_cards.custom_snapshot_active()
        assert price_usage("claude", "claude-haiku-4-5", usage(inp=1_000_000)).cost == 1.0
        assert price_usage("claude", "claude-opus-4-8", usage(inp=1)).priced
    finally:
        set_custom_snapshot(None)
    assert "6:claude:claude-opus-4-8" not in cache_json()["cards"]


# --- import cost ---------------------------------------------------------------------------------

_PROCESS = """
import dataclasses, json, sys, time
t0 = time.perf_counter()
from ai_orchestrator.accounting.pricing import price_usage
from ai_orchestrator.core.usage import ModelUsage
t1 = time.perf_counter()
u = ModelUsage(input=1200, output=800, cache_read=240_000, cache_write_5m=3000, requests=1)
result = price_usage(sys.argv[1], sys.argv[2], u)
t2 = time.perf_counter()
print(json.dumps({
    "import_ms": (t1 - t0) * 1e3,
    "price_ms": (t2 - t1) * 1e3,
    "heavy": [m for m in HEAVY if m in sys.modules],
    "result": dataclasses.asdict(result),
}))
""".replace("HEAVY", repr(HEAVY))


def _price_in_subprocess(agent: str, model: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-c", _PROCESS, agent, model], capture_output=True, text=True, check=True
    )
    data: dict[str, Any] = json.loads(run.stdout)
    return data


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_second_process_prices_from_the_card_without_genai_prices(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cold = []
    for i in range(3):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"cold-{i}"))
        cold.append(_price_in_subprocess("claude", "sonnet"))
        assert "genai_prices" in cold[-1]["heavy"]  # the first process builds the card
    warm = [_price_in_subprocess("claude", "sonnet") for _ in range(5)]
    for run in warm:
        assert run["heavy"] == [], run  # no genai-prices, pydantic or httpx
        assert run["result"] == cold[0]["result"]
    assert cold[0]["result"]["cost"] > 0 and cold[0]["result"]["model_ref"] == normalize_model(
        "sonnet"
    )
    cold_ms = statistics.median(r["price_ms"] for r in cold)
    warm_ms = statistics.median(r["price_ms"] for r in warm)
    warm_import = statistics.median(r["import_ms"] for r in warm)
    print(
        f"\nprice_usage in a fresh process: cold {cold_ms:.1f} ms, cached {warm_ms:.1f} ms "
        f"(+ {warm_import:.1f} ms to import pricing and ModelUsage)"
    )
    assert warm_ms < cold_ms  # a loose sanity check only; the timings are reported above


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_accounting_imports_stay_light() -> None:
    code = (
        "import sys\n"
        "import ai_orchestrator.accounting\n"
        "import ai_orchestrator.accounting.pricing\n"
        "import ai_orchestrator.accounting.price_cards\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert 'ai_orchestrator.store' not in sys.modules, 'store imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

"""``aio prices MODEL``: the rates used, for a known and an unknown model (real processes)."""

from __future__ import annotations

from tests.helpers import aio_inprocess as aio

# genai-prices 0.2.3 (pinned in pyproject) for claude-sonnet-4-5, USD per million tokens
SONNET_45 = {
    "input": 3.0,
    "output": 15.0,
    "cache_read": 0.3,
    "cache_write_5m": 3.75,
    "cache_write_1h": 6.0,
}
SONNET_45_LONG = {
    "input": 6.0,
    "output": 22.5,
    "cache_read": 0.6,
    "cache_write_5m": 7.5,
    "cache_write_1h": 12.0,
}


def test_known_model_json() -> None:
    result = aio("prices", "claude-sonnet-4-5", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["priced"] is True
    assert data["model_ref"] == "claude-sonnet-4-5" and data["provider"] == "anthropic"
    assert data["rates"] == SONNET_45
    assert data["tiers"] == [{"above": 200000, "rates": SONNET_45_LONG}]
    assert data["data_version"] == "genai-prices 0.2.3"
    assert data["unit"] == "USD per million tokens"


def test_known_model_human() -> None:
    result = aio("prices", "claude-sonnet-4-5")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert "Matched: claude-sonnet-4-5 (Claude Sonnet 4.5)    Provider: anthropic" in lines
    rates = {line.split(":")[0].strip(): line.split(":")[1].strip() for line in lines[3:8]}
    assert rates == {
        "Input": "$3.00",
        "Output": "$15.00",
        "Cache read": "$0.30",
        "Cache write (5m)": "$3.75",
        "Cache write (1h)": "$6.00",
    }
    assert any(
        line.startswith("Long-context tier (prompt > 200,000 tokens): input $6.00")
        for line in lines
    )
    assert "Price data: genai-prices 0.2.3" in lines


def test_agent_picks_the_provider() -> None:
    gemini = aio("prices", "gemini-2.5-pro", "--agent", "gemini", "--json").json()
    assert gemini["provider"] == "google" and gemini["rates"]["input"] == 1.25
    assert "cache_write_5m" not in gemini["rates"]  # Google prices no cache writes here
    # the same model looked up as a Claude model is not in Anthropic's price list
    wrong = aio("prices", "gemini-2.5-pro", "--agent", "claude", "--json")
    assert wrong.code == 1 and wrong.json()["priced"] is False
    assert aio("prices", "gpt-5", "--agent", "nobody").code == 2


def test_unknown_model_is_unpriced_exit_1() -> None:
    result = aio("prices", "totally-made-up-model")
    assert result.code == 1
    assert "unpriced" in result.out
    assert "totally-made-up-model" in result.out and "$" not in result.out
    as_json = aio("prices", "totally-made-up-model", "--json")
    assert as_json.code == 1
    data = as_json.json()
    assert data["priced"] is False and data["rates"] == {} and data["model_ref"] is None
    assert "not in the genai-prices 0.2.3 data" in data["note"]


def test_listed_in_help() -> None:
    out = aio("--help").out
    assert "prices" in out and "todo" in out


def test_empty_model_is_a_usage_error() -> None:
    result = aio("prices", " ")
    assert result.code == 2 and "MODEL is empty" in result.err


def test_a_claude_alias_names_no_model_under_gemini_or_codex() -> None:
    # Google's price list carries Claude models too: the alias must not land on one of them.
    for agent in ("gemini", "codex"):
        result = aio("prices", "haiku", "--agent", agent, "--json")
        assert result.code == 1, result.err
        data = result.json()
        assert data["priced"] is False and data["model_ref"] is None
        assert "Claude Code alias" in data["note"]
    claude = aio("prices", "haiku", "--agent", "claude", "--json").json()
    assert claude["priced"] is True and claude["provider"] == "anthropic"
    assert claude["model_ref"].startswith("claude-haiku-")

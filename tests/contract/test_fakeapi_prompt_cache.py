"""The fake API's token counting and prompt-cache emulation (``tests/fakeapi/prompt_cache.py``),
on hand-built request sequences with the numbers worked out by hand.

Every block below is sized so that its canonical form (``["kind",{block}]``, compact JSON)
is exactly 400 bytes = 100 tokens: a system text block of 364 characters, a user text of 366,
an assistant text of 361. The session benchmark (``benchmarks/bench_sessions.py``) trusts these
rules; a wrong prefix match, a breakpoint counted in the wrong part, or a count that depends
on where ``cache_control`` sits fails here.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from tests.fakeapi import FakeAPIServer
from tests.fakeapi.prompt_cache import (
    PromptCache,
    output_tokens,
    prompt_blocks,
    tokens_of,
)

CC = {"type": "ephemeral"}


def system(ch: str, *, cached: bool = False) -> dict[str, Any]:
    return {"type": "text", "text": ch * 364, **({"cache_control": CC} if cached else {})}


def user(ch: str, *, cached: bool = False) -> dict[str, Any]:
    block = {"type": "text", "text": ch * 366, **({"cache_control": CC} if cached else {})}
    return {"role": "user", "content": [block]}


def assistant(ch: str, *, cached: bool = False) -> dict[str, Any]:
    block = {"type": "text", "text": ch * 361, **({"cache_control": CC} if cached else {})}
    return {"role": "assistant", "content": [block]}


def request(*messages: dict[str, Any], sys_cached: bool = True) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-6", "system": [system("S", cached=sys_cached)],
            "messages": list(messages)}


def usage(acc: Any) -> tuple[int, int, int]:
    return acc.input_tokens, acc.cache_read_input_tokens, acc.cache_creation_input_tokens


def test_block_sizes_are_what_the_numbers_below_assume() -> None:
    body = request(user("u"), assistant("a"))
    assert [b.tokens for b in prompt_blocks(body)] == [100, 100, 100]
    assert [len(b.canonical.encode()) for b in prompt_blocks(body)] == [400, 400, 400]
    # a string content is one text block, counted the same
    assert prompt_blocks({"messages": [{"role": "user", "content": "u" * 366}]})[0].tokens == 100
    assert tokens_of("abcd") == 1 and tokens_of("abcde") == 2 and tokens_of("é" * 2) == 1


def test_a_conversation_reads_its_earlier_prefix_and_writes_only_the_new_part() -> None:
    cache = PromptCache(min_tokens=150)
    # R1: system marked (100 < 150: ignored), first user turn marked (200): all written
    assert usage(cache.account(request(user("1", cached=True)))) == (0, 0, 200)
    # R2: the same prefix + answer + next turn: 200 read, 200 written
    r2 = request(user("1"), assistant("A"), user("2", cached=True))
    assert usage(cache.account(r2)) == (0, 200, 200)
    # R2 again: everything up to its breakpoint is cached now
    assert usage(cache.account(r2)) == (0, 400, 0)
    # R3: breakpoint earlier, one block after it: that block is plain input
    r3 = request(user("1"), assistant("A", cached=True), user("3"))
    assert usage(cache.account(r3)) == (100, 200, 100)


def test_a_changed_block_breaks_the_prefix_and_fresh_conversations_share_the_system() -> None:
    cache = PromptCache(min_tokens=100)  # the system block alone (100) is cacheable now
    assert usage(cache.account(request(user("1"), assistant("A"), user("2", cached=True)))) == (
        0, 0, 400)
    # a fresh conversation: the same system prompt, a different first turn
    assert usage(cache.account(request(user("9", cached=True)))) == (0, 100, 100)
    # the first user turn changed: only the system prefix (100) matches
    assert usage(cache.account(request(user("X"), assistant("A"), user("2", cached=True)))) == (
        0, 100, 300)


def test_cache_control_placement_and_its_absence() -> None:
    cache = PromptCache(min_tokens=150)
    body = request(user("1"), assistant("A"), user("2"), sys_cached=False)
    assert usage(cache.account(body)) == (300 + 100, 0, 0)  # nothing marked: all input
    moved = request(user("1", cached=True), assistant("A"), user("2"), sys_cached=False)
    assert sum(b.tokens for b in prompt_blocks(moved)) == 400  # marks never change counts
    assert usage(cache.account(moved)) == (200, 0, 200)


def test_minimum_length_and_lookback() -> None:
    short = PromptCache()  # the default minimum: 1024 tokens
    small = request(user("1", cached=True))
    assert usage(short.account(small)) == (200, 0, 0)
    assert usage(short.account(small)) == (200, 0, 0)  # never cached: below the minimum
    narrow = PromptCache(min_tokens=150, lookback=2)  # a breakpoint and the block before it
    assert usage(narrow.account(request(user("1", cached=True)))) == (0, 0, 200)  # stores #1
    # breakpoint #2: positions 2 and 1 are looked up, #1 is cached
    near = request(user("1"), assistant("A", cached=True))
    assert usage(narrow.account(near)) == (0, 200, 100)  # stores #2
    # breakpoint #4: positions 4 and 3 are looked up; #2 is out of reach
    far = request(user("1"), assistant("A"), user("2"), assistant("B", cached=True))
    assert usage(narrow.account(far)) == (0, 0, 500)


def test_output_tokens_count_text_and_tool_inputs() -> None:
    assert output_tokens({"text": "x" * 40}) == 10
    assert output_tokens({"text": "x" * 41, "tool_use": {"name": "Write", "input": {"a": 1}}}) == (
        11 + 2)  # '{"a":1}' is 7 bytes
    assert output_tokens({"text": ""}) == 1  # never zero


def _post(url: str, body: Any) -> list[dict[str, Any]]:
    req = urllib.request.Request(url + "/v1/messages", data=json.dumps(body).encode(),
                                 method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read().decode()
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


def test_the_server_replies_with_the_counted_usage_and_keeps_it_on_the_request() -> None:
    with FakeAPIServer(prompt_cache=PromptCache(min_tokens=150)) as api:
        api.script([{"text": "y" * 20}, {"text": "z" * 8, "usage": {"output_tokens": 77}}])
        tools = {"tools": [{"name": "t", "input_schema": {}}], "stream": True}
        first = {**request(user("1", cached=True)), **tools}
        events = _post(api.url, first)
        start = events[0]["message"]["usage"]
        tool_tokens = prompt_blocks(first)[0].tokens
        assert (start["input_tokens"], start["cache_read_input_tokens"],
                start["cache_creation_input_tokens"]) == (0, 0, tool_tokens + 200)
        assert start["cache_creation"] == {"ephemeral_5m_input_tokens": tool_tokens + 200,
                                           "ephemeral_1h_input_tokens": 0}
        assert events[-2]["usage"]["output_tokens"] == 5
        second = {**request(user("1"), assistant("A"), user("2", cached=True)), **tools}
        events = _post(api.url, second)
        start = events[0]["message"]["usage"]
        assert (start["input_tokens"], start["cache_read_input_tokens"],
                start["cache_creation_input_tokens"]) == (0, tool_tokens + 200, 200)
        assert events[-2]["usage"]["output_tokens"] == 77  # a turn's own usage wins
        side = _post(api.url, {**request(user("1")), "stream": True})  # no tools: a side request
        assert side[0]["message"]["usage"]["input_tokens"] == 200  # marked below the minimum
        logged = [r.usage for r in api.requests]
        assert [u["cache_read_input_tokens"] for u in logged if u] == [0, tool_tokens + 200, 0]
        assert logged[2] is not None and logged[2]["output_tokens"] == tokens_of(
            "OK (fake default reply).")

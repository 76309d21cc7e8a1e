"""Token counting and prompt caching by prefix, emulated for the fake Anthropic API.

The fake answers with scripted usage unless a ``PromptCache`` is given to the server
(``FakeAPIServer(prompt_cache=PromptCache())``): then every ``POST /v1/messages`` (main and
side requests alike) is counted from what the client actually sent, and the usage in the
reply is the emulator's, so the CLI, its transcript and aio record these numbers.

Counting (an approximation, applied identically to every request):

- The prompt is a sequence of *blocks* in Anthropic's cache order: each entry of ``tools``,
  then ``system`` (a string is one block, a list one block per entry), then each content
  block of each message (a string ``content`` is one text block).
- A block's tokens are ``ceil(bytes / 4)`` of its canonical form: the compact JSON (keys
  sorted, UTF-8) of ``[kind, block]`` where ``kind`` is ``tool``, ``system`` or the
  message's role and ``block`` has its ``cache_control`` removed. Moving a breakpoint never
  changes a count; a role change does.
- Output tokens: ``ceil(bytes / 4)`` of the reply's text plus each tool call's compact JSON
  input (``output_tokens(turn)``).

Caching (a simplified, documented form of Anthropic's rule):

- A *breakpoint* is a block carrying ``cache_control``. Breakpoints whose prefix is shorter
  than ``min_tokens`` (1024, the Sonnet/Opus 4 minimum) are ignored, as the API ignores them.
- The cache is one store for all requests (the API's cache is per organisation, not per
  conversation), keyed by a hash of the whole prefix up to and including a block.
- Read: for each breakpoint, the prefixes ending at it and at each of the 19 blocks before
  it (``lookback`` = 20 positions in all, the API's lookback) are looked up; the longest
  cached prefix found is ``cache_read_input_tokens``.
- Write: the blocks after the read prefix up to the last breakpoint are
  ``cache_creation_input_tokens`` (all 5-minute cache), and every breakpoint's prefix is
  stored.
- ``input_tokens``: the blocks after the last breakpoint (every block when nothing is
  marked or nothing is long enough).
- Entries never expire (the real 5-minute TTL would only make a slow run pay more writes,
  in both modes alike). Requests are accounted in arrival order, under a lock.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass
from typing import Any

from .turns import Turn, text_parts, tool_uses

MIN_CACHEABLE_TOKENS = 1024
LOOKBACK_BLOCKS = 20


def tokens_of(text: str) -> int:
    """``ceil(UTF-8 bytes / 4)``: the one token approximation used everywhere here."""
    return math.ceil(len(text.encode("utf-8")) / 4)


def _canonical(kind: str, block: Any) -> str:
    if isinstance(block, dict):
        block = {k: v for k, v in block.items() if k != "cache_control"}
    return json.dumps([kind, block], sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Block:
    """One block of a prompt: its canonical form, token count and breakpoint mark."""

    canonical: str
    tokens: int
    breakpoint: bool


def prompt_blocks(body: Any) -> list[Block]:
    """The request's blocks in cache order (tools, system, messages); see the module doc."""
    if not isinstance(body, dict):
        return []
    raw: list[tuple[str, Any]] = [("tool", t) for t in body.get("tools") or []]
    system = body.get("system")
    if isinstance(system, str):
        raw.append(("system", {"type": "text", "text": system}))
    elif isinstance(system, list):
        raw.extend(("system", b) for b in system)
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role"))
        content = message.get("content")
        if isinstance(content, str):
            raw.append((role, {"type": "text", "text": content}))
        elif isinstance(content, list):
            raw.extend((role, b) for b in content)
    blocks = []
    for kind, block in raw:
        canonical = _canonical(kind, block)
        marked = isinstance(block, dict) and bool(block.get("cache_control"))
        blocks.append(Block(canonical, tokens_of(canonical), marked))
    return blocks


def output_tokens(turn: Turn) -> int:
    """Tokens of what the fake answers for ``turn``: its text and its tool calls' inputs."""
    parts = list(text_parts(turn))
    for tool in tool_uses(turn, "toolu_"):
        parts.append(json.dumps(tool.input, sort_keys=True, separators=(",", ":"),
                                ensure_ascii=False))
    return max(1, sum(tokens_of(p) for p in parts))


@dataclass(frozen=True)
class Accounted:
    """One request's counted usage (Anthropic's field names)."""

    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int

    def usage(self) -> dict[str, Any]:
        """The usage fields for the reply (the 5m/1h split: all 5-minute)."""
        return {"input_tokens": self.input_tokens,
                "cache_read_input_tokens": self.cache_read_input_tokens,
                "cache_creation_input_tokens": self.cache_creation_input_tokens,
                "cache_creation": {"ephemeral_5m_input_tokens": self.cache_creation_input_tokens,
                                   "ephemeral_1h_input_tokens": 0}}


class PromptCache:
    """The emulated cache; ``account(body)`` counts one request and updates the cache."""

    def __init__(self, min_tokens: int = MIN_CACHEABLE_TOKENS,
                 lookback: int = LOOKBACK_BLOCKS) -> None:
        self.min_tokens = min_tokens
        self.lookback = lookback
        self._entries: set[str] = set()
        self._lock = threading.Lock()

    def account(self, body: Any) -> Accounted:
        """Usage of one request; stores its breakpoints' prefixes for later requests."""
        blocks = prompt_blocks(body)
        keys: list[str] = []
        cumulative: list[int] = []
        digest = hashlib.sha256()
        total = 0
        for block in blocks:
            digest.update(block.canonical.encode("utf-8") + b"\0")
            keys.append(digest.hexdigest())
            total += block.tokens
            cumulative.append(total)
        marks = [i for i, b in enumerate(blocks)
                 if b.breakpoint and cumulative[i] >= self.min_tokens]
        if not marks:
            return Accounted(total, 0, 0)
        last = marks[-1]
        with self._lock:
            read_end = -1  # index of the last block of the longest cached prefix
            for mark in marks:
                for pos in range(mark, max(-1, mark - self.lookback), -1):
                    if keys[pos] in self._entries:
                        read_end = max(read_end, pos)
                        break
            self._entries.update(keys[m] for m in marks)
        read = cumulative[read_end] if read_end >= 0 else 0
        return Accounted(input_tokens=total - cumulative[last], cache_read_input_tokens=read,
                         cache_creation_input_tokens=cumulative[last] - read)

    def clear(self) -> None:
        """Forget every cached prefix."""
        with self._lock:
            self._entries.clear()

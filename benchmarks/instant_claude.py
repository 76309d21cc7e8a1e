#!/usr/bin/env python3
"""An instant stand-in for ``claude -p --output-format stream-json``: one init line and
one result line with usage, printed immediately (for benchmarks/bench_run.py)."""

import json
import sys

SID = "11111111-1111-4111-8111-111111111111"
sys.stdin.read()
usage = {
    "inputTokens": 10,
    "outputTokens": 2,
    "cacheReadInputTokens": 100,
    "cacheCreationInputTokens": 0,
    "costUSD": 0.00009,
}
print(
    json.dumps(
        {
            "type": "system",
            "subtype": "init",
            "session_id": SID,
            "model": "claude-sonnet-4-5",
            "claude_code_version": "2.1.240",
        }
    )
)
print(
    json.dumps(
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "result": "ok",
            "session_id": SID,
            "num_turns": 1,
            "duration_ms": 1,
            "total_cost_usd": 0.00009,
            "usage": {"input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": 100},
            "modelUsage": {"claude-sonnet-4-5": usage},
        }
    )
)

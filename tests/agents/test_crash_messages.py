"""A crashed agent's error is its real cause line, never a stack-trace tail cut mid-word.

Seen with the real Gemini CLI (0.61): with a read-only HOME it prints Node stack traces and
error-object dumps after the fatal line, and the kept tail started mid-word; SIGKILLed
before any other output, its only stderr is a start-up "True color" warning, which was shown
as the reason. ``tests/agents/streams/gemini-readonly-home.stderr`` is that CLI's stderr
(paths shortened).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_orchestrator.agents._common import stderr_tail
from ai_orchestrator.agents.base import AgentRequest, ProcessExit
from ai_orchestrator.agents.gemini import GeminiBackend

STREAMS = Path(__file__).parent / "streams"
TRUE_COLOR = (
    "Warning: True color (24-bit) support not detected. Using a terminal with true color "
    "enabled will result in a better visual experience.\n"
)


def _gemini_error(exit: ProcessExit) -> str | None:
    parser = GeminiBackend().parser(AgentRequest(prompt="hi", cwd=Path("/tmp")))
    return parser.finish(exit).error


def test_gemini_read_only_home_shows_the_fatal_line() -> None:
    stderr = (STREAMS / "gemini-readonly-home.stderr").read_text()
    error = _gemini_error(ProcessExit(exit_code=1, stderr=stderr, duration_ms=5))
    assert error is not None
    assert error.startswith("An unexpected critical error occurred:Error: EROFS: read-only")
    assert "\n" not in error and " at async " not in error and "errno" not in error


def test_gemini_killed_says_killed_not_the_start_up_warning() -> None:
    exit = ProcessExit(exit_code=137, stderr=TRUE_COLOR, duration_ms=5, signal=9)
    assert _gemini_error(exit) == "killed by signal 9 (SIGKILL)"


NODE_TRACE = (
    "Error: ENOSPC: no space left on device, write\n"
    + "    at async writeFile (node:internal/fs/promises:1219:14)\n" * 40
    + "  errno: -28,\n  code: 'ENOSPC',\n}\n\nNode.js v22.12.0\n"
)
PY_TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/x/y.py", line 3, in <module>\n'
    "    main()\n"
    "PermissionError: [Errno 13] Permission denied: '/home/u/.codex/auth.json'\n"
)


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (NODE_TRACE, "Error: ENOSPC: no space left on device, write"),
        (PY_TRACE, "main()\nPermissionError: [Errno 13] Permission denied: "
                   "'/home/u/.codex/auth.json'"),
        ("x" * 50 + " " + "word " * 200, ("x" * 50 + " " + "word " * 200)[:599].rstrip() + "…"),
        ("one\n" + "long line " * 80, "long line " * 59 + "long line…"),
    ],
    ids=["node-trace", "python-trace", "one-long-line", "long-last-line"],
)
def test_the_tail_keeps_the_cause_and_never_starts_mid_word(stderr: str, expected: str) -> None:
    tail = stderr_tail(stderr)
    assert tail == expected
    first = tail.split("\n")[0].removesuffix("…")
    assert any(line.strip().startswith(first) for line in stderr.splitlines())

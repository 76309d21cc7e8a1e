"""Small helpers shared by the backend adapters (private to ``ai_orchestrator.agents``).

Invariants: every helper is pure and total — a malformed JSON value never raises, it maps to
a neutral value (0, ``None``, ``{}``), because CLI output formats change weekly and an unknown
or broken field must never make a run unreadable. Only ``flag_value`` and ``permission_mode``
(and ``approval_flags``, through them) raise (on our own inputs, before anything is launched).
"""

from __future__ import annotations

import json
import re
import signal as _signal
from collections.abc import Mapping
from typing import Any, TypedDict

from ai_orchestrator.agents.base import PERMISSION_MODES, Permission, ProcessExit, Progress
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.usage import ModelUsage, Outcome
from ai_orchestrator.infra.lazy_re import lazy_pattern

TOKEN_FIELDS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning")

# Compiled on first use (``infra.lazy_re``): only a failed call's output is classified.
_AUTH = lazy_pattern(
    r"\b401\b|\b403\b|invalid.api.key|api key not valid|not logged in|/login|authenticat"
    r"|unauthori[sz]ed|oauth token|permission_denied|invalid auth",
    re.IGNORECASE,
)
_RATE = lazy_pattern(
    r"\b429\b|rate.?limit|hit your limit|usage limit|too many requests|resource_exhausted"
    r"|quota",
    re.IGNORECASE,
)


def permission_mode(mode: str, agent: str, accepted: tuple[str, ...]) -> str:
    """``mode`` if agent ``agent`` accepts it (one of ``accepted``); ``InvalidInput``."""
    if mode not in accepted:
        raise InvalidInput(
            f"invalid permission mode {mode!r} for {agent}; use one of {', '.join(accepted)}"
        )
    return mode


def flag_value(value: str, what: str) -> str:
    """``value`` if it is safe as an argv token after a flag (it can never read as a flag)."""
    if not value or value.startswith("-") or any(c in value for c in "\n\r\x00"):
        raise InvalidInput(f"invalid {what}: {value!r}")
    return value


def approval_flags(
    permission: Permission,
    agent: str,
    approval_modes: Mapping[str, str],
    own_modes: tuple[str, ...],
    tool_names: Mapping[str, str],
) -> list[str]:
    """``--approval-mode`` and ``--allowed-tools`` of the Gemini CLI and its fork Qwen Code
    (same flags; their mode and tool names differ): ``permission.mode`` in our vocabulary
    mapped by ``approval_modes``, or one of the CLI's ``own_modes`` as it is (anything else
    is refused before launch); each allowed tool by the CLI's name for it (``tool_names``;
    ``Bash(git diff:*)`` names the tool ``Bash``), each once."""
    argv = []
    if permission.mode:
        mode = permission_mode(permission.mode, agent, (*PERMISSION_MODES, *own_modes))
        argv += ["--approval-mode", approval_modes.get(mode, mode)]
    if permission.allowed_tools:
        tools = [flag_value(t, "tool").strip() for t in permission.allowed_tools]
        named = [tool_names.get(re.sub(r"\(.*\)$", "", tool), tool) for tool in tools]
        argv += ["--allowed-tools", ",".join(dict.fromkeys(named))]
    return argv


def load_event(line: str) -> dict[str, Any] | None:
    """The JSON object on ``line``, or ``None`` for anything else (noise, arrays, garbage)."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def as_int(value: Any) -> int:
    """A non-negative int from a JSON value; anything else counts as 0."""
    if type(value) is int:  # the common case first: the usage index calls this per token field
        return value if value > 0 else 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(0, int(value))


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def classify_error_text(text: str, status: int | None = None) -> Outcome | None:
    """``auth`` / ``rate_limit`` from an HTTP status or error prose, else ``None``."""
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limit"
    if _AUTH.search(text):
        return "auth"
    if _RATE.search(text):
        return "rate_limit"
    return None


def stopped_by_us(exit: ProcessExit, timeout: float | None) -> tuple[Outcome, str] | None:
    """``timeout`` / ``interrupted`` with a plain message when *we* stopped the agent, else
    ``None``. Only the runner's flags count: a signal from anybody else is not a Ctrl-C."""
    if exit.timed_out:
        return "timeout", f"timed out after {timeout:g} s" if timeout else "timed out"
    if exit.interrupted:
        return "interrupted", "interrupted (Ctrl-C or a stop signal to aio)"
    return None


def killed_message(sig: int, detail: str = "") -> str:
    """``killed by signal 15 (SIGTERM)``, plus the agent's last words when it left any."""
    try:
        name = f" ({_signal.Signals(sig).name})"
    except ValueError:
        name = ""
    return f"killed by signal {sig}{name}" + (f": {detail}" if detail else "")


def one_line(text: str) -> str:
    """``text`` with its lines joined by spaces: an error message is one line on stderr."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


# Lines of a stack trace or of an error object's dump (Node, Python): never the cause itself.
_TRACE = lazy_pattern(
    r"^\s+(at |\.\.\. \d+ more|File \"|[A-Za-z_$][\w$]*: )|^\s*[{}\]\[]+,?\s*$|^\s*\^+\s*$"
    r"|^Node\.js v\d|^Traceback \(most recent call last\)"
)


def stderr_tail(
    text: str, limit: int = 600, noise: tuple[str, ...] = (), cause: tuple[str, ...] = ()
) -> str:
    """The last few meaningful stderr lines: lines starting with ``noise`` and stack-trace
    lines are skipped; the last line containing a ``cause`` marker, when there is one, is the
    whole answer. Cut at line boundaries (a line cut on its own keeps its start): the text
    never starts mid-word."""
    raw = [ln for ln in (text or "").splitlines() if ln.strip()]
    raw = [ln for ln in raw if not ln.strip().startswith(noise)] if noise else raw
    lines = [ln.strip() for ln in raw]
    meaningful = [ln.strip() for ln in raw if not _TRACE.search(ln)] or lines[-1:]
    marked = [ln for ln in meaningful if any(m in ln for m in cause)]
    kept = marked[-1:] or meaningful[-5:]
    while len(kept) > 1 and len("\n".join(kept)) > limit:
        kept = kept[1:]
    joined = "\n".join(kept)
    return joined if len(joined) <= limit else joined[: limit - 1].rstrip() + "…"


def usage_from_dict(data: dict[str, Any]) -> ModelUsage:
    """Inverse of ``ModelUsage.to_dict`` (tolerant of missing keys)."""
    usage = ModelUsage(reported_cost=as_float(data.get("reported_cost")))
    for field in (*TOKEN_FIELDS, "requests"):
        setattr(usage, field, as_int(data.get(field)))
    return usage


def subtract(total: ModelUsage, part: ModelUsage) -> None:
    """``total -= part`` for the token counters (used when a dedupe copy is replaced)."""
    for field in (*TOKEN_FIELDS, "requests"):
        setattr(total, field, getattr(total, field) - getattr(part, field))


class ProgressTokens(TypedDict):
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


def progress_tokens(usage: ModelUsage) -> ProgressTokens:
    """The ``Progress`` token fields of ``usage`` (same meaning as the recorded totals)."""
    return {
        "input_tokens": usage.input,
        "output_tokens": usage.output,
        "cache_read_tokens": usage.cache_read,
        "cache_write_tokens": usage.cache_write,
    }


def prompt_side(usage: ModelUsage) -> int:
    """All prompt tokens: plain input + cache read + cache write."""
    return usage.input + usage.cache_read + usage.cache_write


def total_of(usage: dict[str, ModelUsage]) -> ModelUsage:
    total = ModelUsage()
    for part in usage.values():
        total.add(part)
    return total


def parse_version(text: str | None) -> tuple[int, ...] | None:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text or "")
    return tuple(int(g) for g in match.groups()) if match else None


class ProgressTracker:
    """Returns a snapshot only when it differs from the previous one (spinner updates)."""

    def __init__(self) -> None:
        self._last = Progress()

    def update(self, progress: Progress) -> Progress | None:
        if progress == self._last:
            return None
        self._last = progress
        return progress

"""A live one-line progress display on stderr for long agent calls and lock waits, and
``ScanBar``, the bar of a session-store rescan.

Shows an animated spinner, elapsed time, turns, tokens, cost so far and the current (or
last) tool, refreshed a few times a second. While the call waits for a busy session it
shows who holds it and for how long. Disabled (a no-op) when ``enabled`` is false: the
caller passes false when stdout is not a terminal or under ``--json``, so pipes and scripts
never see control sequences.

Invariants: the line is exactly one terminal row at any width (parts are dropped, least
useful first, then the rest is cut with an ellipsis); the token words mean what they mean
in the per-call summary line (``core.figures.token_line``): ``in`` is plain input, cache reads and
writes are counted apart.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ai_orchestrator.agents.base import Progress
from ai_orchestrator.core.figures import duration, usd
from ai_orchestrator.infra.locks import Holder, WaitReport

# rich's "dots" spinner, driven by our own clock so every refresh advances it.
FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
FRAME_SECONDS = 0.08


def seconds_text(seconds: float) -> str:
    """``4.2s`` under a minute, ``2m 05s`` above (``core.figures.duration``)."""
    return duration(seconds)


def frame_at(elapsed: float) -> str:
    return FRAMES[int(elapsed / FRAME_SECONDS) % len(FRAMES)]


def fit(parts: list[tuple[int, str]], width: int, sep: str = " · ") -> str:
    """Join ``(priority, text)`` parts into at most ``width`` characters: parts with the
    highest priority number go first (priority 0 parts stay), then the result is cut with
    an ellipsis."""
    kept = list(parts)
    while len(sep.join(t for _, t in kept)) > width and any(p for p, _ in kept):
        kept.remove(max(kept, key=lambda p: p[0]))
    text = sep.join(t for _, t in kept)
    if len(text) > width:
        text = text[: max(0, width - 1)] + "…"
    return text


LABEL_ROOM = 12  # the elapsed time and its separator, which a label never pushes out
WAIT_ROOM = 48  # "waiting 13m 54s for the session · held by pid …": the name goes above


def label_fits(label: str, width: int, room: int = LABEL_ROOM) -> bool:
    """Whether ``label`` leaves ``room`` for the elapsed time on a line ``width`` columns
    wide; when it does not, the label is printed once above the line and left out of it."""
    return len(label) + room <= width


def progress_text(label: str, elapsed: float, state: Progress, width: int) -> str:
    """The whole line (spinner frame included) for ``state``, ``width`` columns at most. A
    label too long to leave room for the elapsed time is left out (``label_fits``)."""
    parts: list[tuple[int, str]] = [(0, seconds_text(elapsed))]
    if label_fits(label, width):
        parts.insert(0, (0, label))
    if state.turns:
        from ai_orchestrator.cli.tables import plural  # here: most calls draw no line

        parts.append((3, plural(state.turns, "turn")))
    has_tokens = state.input_tokens or state.output_tokens or state.cache_read_tokens
    if has_tokens or state.cache_write_tokens:
        parts.append((1, f"{state.input_tokens:,} in / {state.output_tokens:,} out"))
        cache = state.cache_read_tokens + state.cache_write_tokens
        if cache:
            parts.append(
                (5, f"{state.cache_read_tokens:,} cache read / {state.cache_write_tokens:,} "
                    "cache write")
            )
    if state.cost is not None:
        parts.append((2, usd(state.cost)))
    if state.tool:
        parts.append((2, f"{'tool' if state.tool_running else 'last tool'}: {state.tool}"))
    return f"{frame_at(elapsed)} " + fit(parts, max(1, width - 2))


def waiting_text(
    label: str, holder: str, waited: float, width: int, what: str = "the session"
) -> str:
    waiting = f"waiting {seconds_text(waited)} for {what}"
    parts = [
        (0, waiting),
        (0, f"held by {holder}"),  # cut, never dropped: the pid comes first
    ]
    if label_fits(label, width, len(waiting) + 8):
        parts.insert(0, (0, label))
    return f"{frame_at(waited)} " + fit(parts, max(1, width - 2))


class ProgressLine:
    def __init__(self, *, enabled: bool, label: str) -> None:
        self.enabled = enabled
        self.label = label
        self.state = Progress()
        self.started = time.monotonic()
        # (holder, monotonic start of the wait, what is waited for)
        self.waiting: tuple[str, float, str] | None = None
        self._live: Any = None

    def _render(self) -> Any:
        from rich.text import Text

        width = self._live.console.width if self._live is not None else 80
        now = time.monotonic()
        if self.waiting is not None:
            holder, since, what = self.waiting
            line = waiting_text(self.label, holder, now - since, width - 1, what)
        else:
            line = progress_text(self.label, now - self.started, self.state, width - 1)
        return Text(line, no_wrap=True, overflow="ellipsis")

    def update(self, progress: Progress) -> None:
        self.state = progress

    def wait(self, holder: str | None, what: str = "the session") -> None:
        """Show the lock wait (``holder`` is who holds ``what``) or end it (``None``);
        the call's clock starts again when the wait ends."""
        if holder is None:
            self.waiting = None
            self.started = time.monotonic()
        else:
            since = self.waiting[1] if self.waiting is not None else time.monotonic()
            self.waiting = (holder, since, what)

    def wait_reporter(
        self, name: str, info: Callable[[str], None], what: str = "the session"
    ) -> WaitReport:
        """A ``locks.acquire`` ``on_wait`` for ``name`` (a session, or a feature with
        ``what="the feature"``): the live line shows the holder and the time waited (off
        a terminal one line says who holds it); once the lock is taken one line says how
        long the wait was."""
        told = False

        def report(holder: Holder | None, waited: float) -> None:
            nonlocal told
            if holder is None:
                self.wait(None)
                info(f"{name}: waited {seconds_text(waited)} for {what}")
                return
            if not told and not self.enabled:
                info(f"{name}: waiting for {what}: held by {holder.describe()}")
            told = True
            self.wait(holder.describe(), what)

        return report

    def __enter__(self) -> ProgressLine:
        if self.enabled:
            from rich.live import Live

            from ai_orchestrator.cli.output import err

            if not label_fits(self.label, err().width - 1, WAIT_ROOM):
                # the line keeps the elapsed time; the name it cannot hold goes above it
                err().print(self.label, markup=False, highlight=False, crop=False)
            self._live = Live(
                get_renderable=self._render,
                console=err(),
                refresh_per_second=12,
                transient=True,
                vertical_overflow="crop",
            )
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


class ScanBar:
    """``Reading sessions ███░░░ 1,234/100,000`` on stderr, redrawn in place (a rescan of
    the session store; the caller creates it only when stderr is a terminal)."""

    WIDTH = 30

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total < 1000:
            return  # over in a blink: no bar
        filled = self.WIDTH * done // total
        bar = "█" * filled + "░" * (self.WIDTH - filled)
        sys.stderr.write(f"\rReading sessions {bar} {done:,}/{total:,}")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

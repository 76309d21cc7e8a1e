"""A live one-line progress display on stderr for long agent calls.

Shows elapsed time, turns, tokens, cost so far and the tool in use, refreshed a few times a
second. Disabled (a no-op) when ``enabled`` is false: the caller passes false when stdout is
not a terminal or under ``--json``, so pipes and scripts never see control sequences.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from ai_orchestrator.agents.base import Progress


class ProgressLine:
    def __init__(self, *, enabled: bool, label: str) -> None:
        self.enabled = enabled
        self.label = label
        self.state = Progress()
        self.started = time.monotonic()
        self._live: Any = None

    def _render(self) -> Any:
        from rich.spinner import Spinner

        s = self.state
        parts = [f"{self.label}", f"{time.monotonic() - self.started:5.1f}s"]
        if s.turns:
            parts.append(f"{s.turns} turn{'s' if s.turns != 1 else ''}")
        if s.input_tokens or s.output_tokens:
            parts.append(f"{s.input_tokens:,} in / {s.output_tokens:,} out")
        if s.cost is not None:
            parts.append(f"${s.cost:.4f}")
        if s.tool:
            parts.append(f"tool: {s.tool}")
        return Spinner("dots", text=" · ".join(parts))

    def update(self, progress: Progress) -> None:
        self.state = progress

    def __enter__(self) -> ProgressLine:
        if self.enabled:
            from rich.live import Live

            from ai_orchestrator.cli.output import err

            self._live = Live(
                get_renderable=self._render, console=err(), refresh_per_second=8, transient=True
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

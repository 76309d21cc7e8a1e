"""The live progress line's text: one row at any width, with the summary line's words."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ai_orchestrator.agents.base import Progress
from ai_orchestrator.cli.progress import FRAMES, progress_text, waiting_text

counts = st.integers(min_value=0, max_value=10**12)


@given(
    label=st.text(min_size=0, max_size=200).map(lambda t: t.replace("\n", " ")),
    width=st.integers(min_value=3, max_value=400),
    elapsed=st.floats(min_value=0, max_value=10**6),
    tokens=st.tuples(counts, counts, counts, counts),
    turns=st.integers(min_value=0, max_value=10**6),
    tool=st.none() | st.text(max_size=80).map(lambda t: t.replace("\n", " ")),
    cost=st.none() | st.floats(min_value=0, max_value=10**6),
)
def test_the_line_never_exceeds_the_width(
    label: str,
    width: int,
    elapsed: float,
    tokens: tuple[int, int, int, int],
    turns: int,
    tool: str | None,
    cost: float | None,
) -> None:
    state = Progress(
        turns=turns,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cache_read_tokens=tokens[2],
        cache_write_tokens=tokens[3],
        tool=tool,
        cost=cost,
    )
    line = progress_text(label, elapsed, state, width)
    assert len(line) <= width and "\n" not in line
    assert line[0] in FRAMES
    assert len(waiting_text(label, tool or "pid 1", elapsed, width)) <= width


def test_essential_parts_stay_and_optional_ones_go_first() -> None:
    state = Progress(
        turns=3, input_tokens=1200, output_tokens=56, cache_read_tokens=30000,
        cache_write_tokens=500, cost=0.0123, tool="Bash", tool_running=True,
    )
    wide = progress_text("claude · implement-calc", 12.5, state, 200)
    assert "1,200 in / 56 out" in wide and "30,000 cache read / 500 cache write" in wide
    assert "3 turns" in wide and "$0.0123" in wide and "tool: Bash" in wide
    narrow = progress_text("claude · implement-calc", 12.5, state, 60)
    assert "cache read" not in narrow and "turns" not in narrow  # dropped first
    assert "claude · implement-calc · 12.5s · 1,200 in / 56 out" in narrow


def test_the_spinner_moves_with_time() -> None:
    frames = {progress_text("x", t / 10, Progress(), 40)[0] for t in range(20)}
    assert len(frames) > 5


def test_a_long_session_name_never_pushes_the_elapsed_time_out() -> None:
    label = "claude · implement-" + "f" * 64
    for width in (40, 80, 100):
        line = progress_text(label, 834.0, Progress(input_tokens=5), width)
        assert "13m 54s" in line and len(line) <= width, line
        assert "waiting 13m 54s" in waiting_text(label, "pid 1", 834.0, width)
    assert label in progress_text(label, 1.0, Progress(), 200)  # when it fits, it is there

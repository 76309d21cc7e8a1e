"""Every table and screen at 80 and 120 columns with the longest valid feature id (64
characters): no line wider than the terminal, every identifier and value whole.

Runs each read command in a real terminal (tmux, ``test_screens.Terminal``) over a store
with many models, unpriced calls, a failed call whose usage is unknown, a timeout and a
529, and compares two captures: the screen as shown, and the same with the lines the
terminal wrapped joined again (``capture-pane -J``). When nothing wraps, both are equal
and every line fits; an identifier is checked whole in the screen itself.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.core.names import validate_feature_id
from ai_orchestrator.store import SessionStore
from tests.cli.test_screens import OLD, Terminal, hours_ago, terminal_env
from tests.helpers import aio, as_record, interaction

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

FEATURE = "payments-refactor-with-idempotent-refunds-and-retries-for-gw-v22"
OTHER = "search"
SESSIONS = [f"{c}-{FEATURE}" for c in ("plan", "implement", "review", "verify")]
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:")
OVERLOADED = (
    'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
)


def test_the_feature_id_is_the_longest_valid_one() -> None:
    assert len(FEATURE) == 64 and validate_feature_id(FEATURE) == FEATURE
    with pytest.raises(InvalidInput):
        validate_feature_id(FEATURE + "x")


@pytest.fixture
def terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Terminal]:
    store_dir = tmp_path / "store"
    monkeypatch.setenv("SESSION_DIR", str(store_dir))
    todo_file = store_dir / "todos.jsonl"
    monkeypatch.setenv("TODO_FILE", str(todo_file))
    store = SessionStore()
    store.record(as_record(
        SESSIONS[0],
        interaction(
            timestamp=hours_ago(50), agent="gemini", model="gemini-2.5-pro", cost=0.0000266,
            tokens={"input": 12, "output": 3, "cache_read": 0, "cache_write": 0},
        ),
    ))
    for n, model in enumerate(("claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5")):
        store.record(as_record(
            SESSIONS[1],
            interaction(timestamp=hours_ago(10 - n), model=model, task_id="T1.1", cost=0.25 * n),
        ))
    store.record(as_record(
        SESSIONS[1],
        interaction(
            timestamp=hours_ago(6), model="mystery-model-9000-preview", cost=0.0,
            cost_source="unpriced", task_id="T1.2",
        ),
    ))
    store.record(as_record(
        SESSIONS[1],
        interaction(
            timestamp=hours_ago(5), outcome="error:api_error", error=OVERLOADED, cost=0.0,
            cost_source="unpriced", usage_unknown=True, task_id="T1.2",
            tokens={"input": 0, "output": 0, "cache_read": 0, "cache_write": 0},
        ),
    ))
    store.record(as_record(
        SESSIONS[2],
        interaction(
            timestamp=hours_ago(4), outcome="timeout", error="timed out after 600 s",
            model="mystery-model-9000-preview", cost=0.0, cost_source="unpriced",
        ),
    ))
    store.record(as_record(SESSIONS[3], interaction(timestamp=OLD, model="o3", agent="codex",
                                          cost=0.0, cost_source="unpriced")))  # fmt: skip
    todos = [
        {"type": "start", "id": f"todo-2024031512000{n}-00000000000{n}", "timestamp": OLD,
         "session_name": name, "feature_id": FEATURE, "task_id": "T1.1", "agent": "claude",
         "model": "claude-sonnet-4-5", "content": f"🤖 AI Session: {name}",
         "status": "in_progress", "priority": "medium", "estimated_cost": 0.2,
         "estimate_basis": "feature"}
        for n, name in enumerate(SESSIONS[:2])
    ]  # fmt: skip
    todo_file.write_text("".join(json.dumps(t) + "\n" for t in todos))
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    assert aio("init", OTHER, "Search").code == 0
    assert aio("init", FEATURE, "Refunds without double charges").code == 0
    history = root / ".aio" / "features" / FEATURE / "history.jsonl"
    with history.open("a") as handle:
        for status, error in (
            ("failed", f"claude failed in session {SESSIONS[1]} (api_error): {OVERLOADED}"),
            ("timeout", f"claude timed out in session {SESSIONS[2]}: timed out after 600 s"),
            ("interrupted", f"interrupted: the claude run in {SESSIONS[1]} was stopped"),
        ):
            handle.write(json.dumps({
                "schema_version": 1, "timestamp": hours_ago(3), "command": "implement",
                "arguments": {}, "agent": "claude", "model": "sonnet", "status": status,
                "duration_ms": 834_000, "task_id": "T1.2", "session": SESSIONS[1],
                "error": error, "details": {},
            }) + "\n")  # fmt: skip
    term = Terminal(terminal_env(store_dir, todo_file), root)
    yield term
    term.close()


COMMANDS = {
    "session list": ("session", "list"),
    "session show": ("session", "show", SESSIONS[1]),
    "session stats": ("session", "stats", "--by", "model"),
    "status": ("status", FEATURE),
    "features": ("features",),
    "todo list": ("todo", "list"),
    "todo report": ("todo", "report"),
    "history": ("history", FEATURE),
    "history --failed": ("history", FEATURE, "--failed"),
    "history --stats": ("history", FEATURE, "--stats"),
}


@pytest.mark.process  # screens of a real terminal (tmux)
@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_screen_fits_with_the_longest_ids(terminal: Terminal, name: str, width: int) -> None:
    args = (*COMMANDS[name], "--color", "never")
    screen = terminal.run(width, *args)
    rejoined = terminal.run(width, *args, joined=True)
    joined = "\n".join(line.rstrip() for line in rejoined.split("\n"))
    lines = screen.splitlines()
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, screen
    assert screen == joined, f"the terminal wrapped a line:\n{joined}"
    assert FEATURE in screen or name.startswith("session stats"), screen
    for ident in (FEATURE, *SESSIONS):  # whole, or not shown at all
        assert screen.count(ident[:30]) == screen.count(ident), f"{ident} cut:\n{screen}"
    assert not ISO.search(screen), "raw ISO time outside --json"
    assert "834.0s" not in screen


@pytest.mark.process  # screens of a real terminal (tmux)
def test_the_session_list_stacks_names_and_keeps_its_columns(terminal: Terminal) -> None:
    narrow = terminal.run(80, "session", "list", "--color", "never")
    wide = terminal.run(120, "session", "list", "--color", "never")
    for name in SESSIONS:  # each name on a line of its own, whole
        assert f"\n{name}\n" in narrow and f"\n{name}\n" in wide
    # at 120 columns every column of the wide layout is there, not 4 of 9
    for header in ("Last used", "Agent", "Model", "Calls", "Tokens in/out", "Cache read/write",
                   "Cost", "Status"):  # fmt: skip
        assert header in wide, wide
    figures = narrow.splitlines()[narrow.splitlines().index(SESSIONS[0]) + 1]
    assert "$0.000027" in figures  # a small cost keeps its digits
    verify_row = narrow.splitlines()[narrow.splitlines().index(SESSIONS[3]) + 1]
    assert "unpriced" in verify_row and "$0.0000" not in verify_row


@pytest.mark.process  # screens of a real terminal (tmux)
def test_failures_show_their_cause_in_words(terminal: Terminal) -> None:
    show = terminal.run(120, "session", "show", SESSIONS[1], "--color", "never")
    assert "529 overloaded" in show and "unknown" in show
    review = terminal.run(80, "session", "show", SESSIONS[2], "--color", "never")
    assert "timeout after 600 s" in review
    assert "Cache savings: unpriced" in review  # no price, so no saving computed
    failed = terminal.run(120, "history", FEATURE, "--failed", "--color", "never")
    assert "529 overloaded" in failed and "timeout after 600 s" in failed
    assert "interrupted" in failed and "init" not in failed
    assert "failed in session" not in failed  # the boilerplate is gone
    assert "13m 54s" in failed
    wide = terminal.run(80, "history", FEATURE, "--wide", "--color", "never", joined=True)
    assert "529 overloaded" in wide

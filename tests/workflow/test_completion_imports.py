"""Tab completion stays cheap (the budget is 150 ms, ``benchmarks/bench_complete.py``):
the click-free path (``cli.complete_fast``) loads none of the heavy modules, nor click; and
click's completion, which answers what that path leaves to it, imports a command's module to
learn its parameters, so a module that loads the agent-call machinery, the store or rich at
import time would make it slow. Each completion runs in a fresh interpreter, as the shell
runs it, and reports which heavy modules it loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ai_orchestrator.cli.complete_values import store_root as _store_root
from ai_orchestrator.cli.main import COMMANDS
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.session_store import default_store_root
from tests.helpers import as_record, interaction
from tests.workflow.conftest import FEATURE, Project, init_and_plan, run

pytestmark = pytest.mark.process

# What none of the completions needs (each is a large share of a completion's time).
HEAVY = (
    "rich",
    "rich.console",
    "ai_orchestrator.calls.conversation",
    "ai_orchestrator.calls.session_call",
    "ai_orchestrator.agents.process.runner",
    "ai_orchestrator.accounting.pricing",
    "ai_orchestrator.store.session_store",
    "ai_orchestrator.store.index",
    "ai_orchestrator.store.discovery",
    "ai_orchestrator.team.config",
    "ai_orchestrator.workflow.model.feature",
    "ai_orchestrator.cli.progress",
)
CHILD = """
import json, sys
from ai_orchestrator.cli.{module} import {entry}
if {click!r}:
    from ai_orchestrator.cli import complete_fast
    complete_fast.answer = lambda program: None  # what click answers
try:
    {entry}()
except SystemExit:
    pass
heavy = {heavy!r}
print("LOADED " + json.dumps([m for m in heavy if m in sys.modules]))
"""


def complete(
    line: str,
    cwd: Path,
    prog: str = "aio",
    heavy: tuple[str, ...] = HEAVY,
    click: bool = False,
) -> tuple[list[str], list[str]]:
    """The values offered for the last word of ``line``, and which of ``heavy`` it loaded
    (``click``: as click's completion answers it)."""
    words = line.split()
    index = len(words) if line.endswith(" ") else len(words) - 1
    variable = "_AI_SESSION_COMPLETE" if prog == "ai-session" else "_AIO_COMPLETE"
    module, entry = ("main", "session_main") if prog == "ai-session" else ("launch", "main")
    code = CHILD.format(module=module, entry=entry, heavy=heavy, click=click)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, variable: "bash_complete", "COMP_WORDS": line, "COMP_CWORD": str(index)},
    )
    assert done.returncode == 0 and not done.stderr, done.stderr
    rows = done.stdout.splitlines()
    loaded = json.loads(rows[-1].removeprefix("LOADED "))
    return [r.split(",", 1)[1] for r in rows if r.startswith("plain,")], loaded


def test_each_kind_of_value_completes_without_loading_the_heavy_modules(
    project: Project,
) -> None:
    init_and_plan(project, [])
    SessionStore().record(as_record("review-calc", interaction(model="claude-opus-4-1")))
    run("session", "list")  # builds the index that model completion reads
    root = project.root
    cases = {
        "aio verify --agent ": "claude",
        "aio implement --agent ": "gemini",
        "aio escalate --to ": "codex",
        "aio run --model ": "claude-opus-4-1",
        "aio plan --model ": "opus",
        "aio session show rev": "review-calc",
        "aio session delete ": "review-calc",
        "aio session stats --session ": "review-calc",
        "aio run ": "review-calc",
        "aio status ": FEATURE,
        "aio history ": FEATURE,
        "aio implement --task T": "T1.1",
        "aio task set ": "T1.1",
    }
    for line, expected in cases.items():
        values, loaded = complete(line, root, heavy=(*HEAVY, "click"))
        assert expected in values, (line, values)  # the completer ran and found it
        assert loaded == [], (line, loaded)
        values, loaded = complete(line, root, click=True)
        assert expected in values, (line, values)
        assert loaded == [], (line, loaded)
    values, loaded = complete("ai-session show rev", root, prog="ai-session", heavy=("click",))
    assert values == ["review-calc"] and loaded == []
    # a feature id is a directory name: no YAML parser for it (a task id needs one)
    values, loaded = complete("aio status ", root, heavy=("yaml",))
    assert FEATURE in values and loaded == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_completing_any_command_s_options_loads_no_heavy_module(
    command: str, tmp_path: Path
) -> None:
    """Every command: its options complete without the heavy modules, nor click; through
    click too (a module that needs them imports them inside its functions)."""
    exempt = {  # not yet lean (their option choices come from these modules)
        "todo": {"ai_orchestrator.store.session_store", "ai_orchestrator.store.discovery"},
        "report": set(HEAVY),
    }
    values, loaded = complete(f"aio {command} --", tmp_path, heavy=(*HEAVY, "click"))
    assert values or command in ("hook",), command  # options were offered
    assert loaded == [], (command, loaded)
    values, loaded = complete(f"aio {command} --", tmp_path, click=True)
    assert values or command in ("hook",), command
    assert set(loaded) <= exempt.get(command, set()), (command, loaded)


@pytest.mark.parametrize("value", [None, "", "/srv/sessions", "relative/store", "~/x"])
def test_completion_reads_the_store_where_the_store_is(
    value: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cli.complete`` names the store root itself (importing the store would cost most of
    a completion); it must be the store's own answer for every SESSION_DIR."""
    if value is None:
        monkeypatch.delenv("SESSION_DIR", raising=False)
    else:
        monkeypatch.setenv("SESSION_DIR", value)
    assert Path(_store_root()) == default_store_root()

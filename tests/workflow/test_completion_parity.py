"""Tab completion without click (``cli.complete_fast``) prints exactly what click's own
completion prints, byte for byte, for bash, zsh and fish: over command lines made from every
command of the tree (subcommands, options, option values, arguments, ``--opt=``, after
``--``) and hand-picked ones (unknown commands and options, quotes, short options, a colon
in a value, a second argument, ``ai-session``).

Each completion runs in its own forked process of one driver (``DRIVER``), as the shell
would start it, once through the fast path and once through click with the fast path
switched off; the driver has imported click and the command modules beforehand, which
changes nothing in the output and makes a case milliseconds instead of a fresh start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.cli.complete_fast import TREE_FILE
from ai_orchestrator.cli.complete_tree import describe
from ai_orchestrator.store import SessionStore
from tests.helpers import as_record, interaction
from tests.workflow.conftest import FEATURE, Project, init_and_plan, run

pytestmark = pytest.mark.process

DRIVER = r"""
import importlib, json, os, sys
cases = json.load(sys.stdin)
import click
from ai_orchestrator.cli import complete_fast, main, root, session
from ai_orchestrator.cli.commands import COMMANDS
for module, _, _ in COMMANDS.values():
    importlib.import_module(module)


def child(path, program, shell, words, cword):
    variable = "_AIO_COMPLETE" if program == "aio" else "_AI_SESSION_COMPLETE"
    os.environ[variable] = shell + "_complete"
    os.environ["COMP_WORDS"] = words
    os.environ["COMP_CWORD"] = cword
    code = 0
    try:
        if path == "fast":
            data = complete_fast.answer(program)
            os.write(1, b"FALLBACK" if data is None else data)
        else:
            complete_fast.answer = lambda program: None  # click answers
            (main.main if program == "aio" else main.session_main)()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    sys.stdout.flush()
    os._exit(code)


def forked(cases, path, folder, at_once=3):
    # each case in its own forked child (at_once at a time), its stdout in a file
    running, results = {}, [None] * len(cases)
    for index, case in enumerate([*cases, *[None] * at_once]):
        if len(running) >= at_once or (case is None and running):
            pid, status = os.wait()
            done = running.pop(pid)
            with open(os.path.join(folder, str(done)), "rb") as file:
                results[done] = [file.read().decode("latin-1"), os.waitstatus_to_exitcode(status)]
        if case is None:
            continue
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            out = os.open(os.path.join(folder, str(index)), os.O_WRONLY | os.O_CREAT, 0o600)
            os.dup2(out, 1)
            child(path, *case)
        running[pid] = index
    return results


folder = sys.argv[1]
results = list(zip(forked(cases, "fast", folder), forked(cases, "click", folder + "-click")))
print(json.dumps(results))
"""


def test_the_tree_file_is_the_commands_as_they_are() -> None:
    """``complete_tree.json`` is what ``describe()`` makes of the click commands now: a
    changed option, help text or completer without ``make complete-tree`` fails here."""
    fresh = json.loads(json.dumps(describe()))
    assert json.loads(Path(TREE_FILE).read_text(encoding="utf-8")) == fresh, (
        "cli/complete_tree.json is stale: run `make complete-tree` and commit it"
    )


def lines_from_the_tree(tree: dict[str, Any]) -> list[str]:
    """For every command: the next word, an option, each option's value (``--o ``, and
    ``--o c`` and ``--o=`` where it completes), a first argument started and a second one."""
    lines: list[str] = []

    def walk(node: dict[str, Any], path: str) -> None:
        lines.extend([f"{path} ", f"{path} -"])
        for param in node["params"]:
            if param["kind"] == "option" and param["takes_value"] and not param.get("hidden"):
                opt = param["opts"][-1]
                lines.append(f"{path} {opt} ")
                if param.get("complete", {"type": "none"})["type"] != "none":
                    lines.extend([f"{path} {opt} c", f"{path} {opt}="])
        if any(p["kind"] == "argument" for p in node["params"]):
            lines.extend([f"{path} c", f"{path} {FEATURE} "])
        for name, _, _, sub in node.get("commands", ()):
            walk(sub, f"{path} {name}")

    walk(tree["programs"]["aio"], "aio")
    return lines


HAND_PICKED = [
    "aio",
    "aio s",
    "aio bogus ",
    "aio bogus -",
    "aio --bogus ",
    "aio --color ",
    "aio --color=n",
    "aio --color never s",
    "aio --color never session sh",
    "aio -- ",
    "aio -- session ",
    "aio session bogus --",
    "aio session show rev",
    "aio session show 'rev",
    'aio session show "review-c',
    "aio session show review-calc ",
    "aio session show review-calc -",
    "aio session show -- -",
    "aio session show -- rev",
    "aio session stats --session ",
    "aio session stats --session rev --",
    "aio session delete review-calc ",
    "aio run ",
    "aio run rev",
    "aio run review-calc ",
    "aio run review-calc 'do it' -",
    "aio run --model ",
    "aio run --model cl",
    "aio run --model=",
    "aio run --model claude-x:y ",
    "aio run --bogus ",
    "aio run --bogus x ",
    "aio run -- -",
    "aio run -- rev",
    "aio run --agent claude --model ",
    "aio run --agent=claude --",
    "aio run -h -",
    "aio implement --task T",
    "aio implement --task=T1",
    f"aio implement {FEATURE} --task ",
    "aio implement search-service --task ",
    "aio implement --task T1.1 --",
    "aio implement --task T1.1 --task ",
    "aio implement --bogus --task ",
    "aio verify --agent ",
    "aio verify --agent -",
    "aio verify --agent cl",
    "aio verify --agent --",
    f"aio verify --agent {FEATURE} ",
    "aio task set ",
    f"aio task set {FEATURE} ",
    f"aio task set {FEATURE} T1.1 --status ",
    "aio task set --status C",
    "aio status ",
    "aio status c",
    f"aio status {FEATURE} ",
    f"aio status {FEATURE} --",
    "aio history --model ",
    "aio todo list --feature ",
    "aio completion ",
    "aio completion z",
    "aio completion zsh --program ",
    "aio prices ",
    "aio escalate --to ",
    "aio init new --template ",
    "aio init new --from ",
    f"aio link {FEATURE} ",
    "aio template save x --from pl",
    "aio usage daily --agent ",
    "aio usage daily --since ",
    "aio hook ",
    "aio hook claude ",
    "aio report --output ",
    "aio session import ",
    "aio --version ",
    "aio -V -",
    "aio review --compare ",
    "aio review --compare claude ",
    "aio review --compare claude gemini ",
    "aio review --compare claude gemini -",
    "aio review --compare=claude ",
    "aio run -m ",
    "aio run -mop -",
    "aio run -m opus -a ",
    "aio run -a claude -m",
    "aio implement -acl",
    "aio implement -a claude -",
    "aio run 'hello world' --model ",
    'aio run "a b" ',
    "aio verify -a ",
    "aio verify -a -",
    "aio verify --agent=claude --",
    "aio verify -h -",
    "aio session delete -y ",
    "aio session delete -yz -",
    "aio session clean -y -",
    "aio session export -o ",
    "aio session export -ofile -",
    "aio session import --rename a=b --rename ",
    "aio session import --rename a=b -",
    "aio session show é",
    "aio session show review-calc extra ",
    "aio status calc extra -",
]
SESSION_LINES = [
    "ai-session ",
    "ai-session s",
    "ai-session -",
    "ai-session --",
    "ai-session show ",
    "ai-session show rev",
    "ai-session stats --session ",
    "ai-session stats -",
    "ai-session bogus ",
    "ai-session -- show ",
]


def cases_for(shell: str, program: str, lines: list[str]) -> list[list[str]]:
    """The environment each shell's completion script gives aio for ``lines`` (the cursor
    at the end): bash and zsh the index of the word, fish the word itself."""
    out = []
    for line in lines:
        words = line.split()
        ends = line.endswith(" ") or line == program
        index = len(words) if ends else len(words) - 1
        current = "" if ends else words[-1]
        out.append([program, shell, line, current if shell == "fish" else str(index)])
    return out


@pytest.fixture
def workspace(project: Project) -> Path:
    init_and_plan(project, [])
    assert run("init", "search-service").code == 0
    store = SessionStore()
    store.record(as_record("review-calc", interaction(model="claude-x:y")))
    store.record(as_record("implement-calc", interaction(model="gpt-5-codex")))
    run("session", "list")  # the index, which model completion reads
    return project.root


def compare(cwd: Path, cases: list[list[str]], tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out-click").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(tmp_path / "out")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=900,
    )
    assert done.returncode == 0 and not done.stderr, done.stderr[-3000:]
    results = json.loads(done.stdout)
    differ = []
    for case, ((fast, _), (slow, slow_code)) in zip(cases, results, strict=True):
        assert fast != "FALLBACK", f"the fast path did not answer {case}"
        assert slow_code == 0, (case, slow)
        if fast != slow:
            differ.append((case, fast, slow))
    assert not differ, f"{len(differ)} of {len(cases)} differ; first: {differ[:3]}"


CHUNKS = 4  # the bash lines in parts: each a test of its own (its own timeout, its own worker)


@pytest.mark.timeout(900)  # hundreds of processes; the machine may be loaded
@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_fast_completion_equals_click_s_for_bash_on_every_command(
    chunk: int, workspace: Path, tmp_path: Path
) -> None:
    tree = json.loads(Path(TREE_FILE).read_text(encoding="utf-8"))
    lines = (lines_from_the_tree(tree) + HAND_PICKED)[chunk::CHUNKS]
    cases = cases_for("bash", "aio", lines)
    if chunk == 0:
        cases += cases_for("bash", "ai-session", SESSION_LINES)
    compare(workspace, cases, tmp_path)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_fast_completion_equals_click_s_for_zsh_and_fish(
    shell: str, workspace: Path, tmp_path: Path
) -> None:
    """The lines whose output differs by shell (help texts, a colon in a value, fish's
    word) and a sample of the rest."""
    tree = json.loads(Path(TREE_FILE).read_text(encoding="utf-8"))
    lines = lines_from_the_tree(tree)[::5] + HAND_PICKED
    cases = cases_for(shell, "aio", lines) + cases_for(shell, "ai-session", SESSION_LINES)
    compare(workspace, cases, tmp_path)

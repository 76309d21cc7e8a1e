"""What the click-free completion (``cli.complete_fast``) leaves to click, and the guards of
the tree it reads (``cli.complete_tree``): anything it does not mirror exactly — another
instruction or shell, a command line click itself cannot read, a missing or foreign tree, a
command or parameter the tree marks as not mirrored — is answered by click, never guessed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from ai_orchestrator.cli import complete_fast
from ai_orchestrator.cli.complete_tree import _node
from ai_orchestrator.store import SessionStore
from tests.helpers import as_record, interaction


def ask(
    monkeypatch: pytest.MonkeyPatch, line: str, instruction: str = "bash_complete", **env: str
) -> bytes | None:
    words = line.split()
    index = len(words) if line.endswith(" ") else len(words) - 1
    monkeypatch.setenv("_AIO_COMPLETE", instruction)
    monkeypatch.setenv("COMP_WORDS", env.get("words", line))
    monkeypatch.setenv("COMP_CWORD", env.get("cword", str(index)))
    return complete_fast.answer("aio")


def test_it_answers_what_it_mirrors(monkeypatch: pytest.MonkeyPatch) -> None:
    SessionStore().record(as_record("review-calc", interaction()))
    assert ask(monkeypatch, "aio session show rev") == b"plain,review-calc\n"
    assert ask(monkeypatch, "aio session show zzz") == b"\n"  # nothing: click prints "\n" too
    assert ask(monkeypatch, "aio completion ") == b"plain,bash\nplain,zsh\nplain,fish\n"
    zsh = ask(monkeypatch, "aio sess", "zsh_complete")  # type, value, help: three lines
    assert zsh is not None and zsh.startswith(b"plain\nsession\nManage stored agent sessions")
    assert zsh.count(b"\n") == 3
    fish = ask(monkeypatch, "aio sess", "fish_complete", cword="sess")
    assert fish is not None and fish.startswith(b"plain,session\tManage stored agent sessions")
    assert fish.count(b"\n") == 1


@pytest.mark.parametrize(
    "instruction", ["bash_source", "zsh_source", "powershell_complete", "tcsh_complete", "x"]
)
def test_other_instructions_go_to_click(monkeypatch: pytest.MonkeyPatch, instruction: str) -> None:
    assert ask(monkeypatch, "aio ses", instruction) is None


def test_a_command_line_click_cannot_read_goes_to_click(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ask(monkeypatch, "aio ses", cword="one") is None  # click fails on it: its message
    assert ask(monkeypatch, "aio ses", "fish_complete", cword=" ") is None
    monkeypatch.delenv("COMP_WORDS")
    assert complete_fast.answer("aio") is None


def _tree_with(tmp_path: Path, change: Any) -> str:
    tree = json.loads(Path(complete_fast.TREE_FILE).read_text(encoding="utf-8"))
    change(tree)
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(tree), encoding="utf-8")
    return str(path)


def _command(tree: dict[str, Any], *path: str) -> dict[str, Any]:
    node = tree["programs"]["aio"]
    for name in path:
        node = next(row[3] for row in node["commands"] if row[0] == name)
    return node


def test_a_missing_or_foreign_tree_goes_to_click(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(complete_fast, "TREE_FILE", str(tmp_path / "missing.json"))
    assert ask(monkeypatch, "aio ses") is None
    (tmp_path / "foreign.json").write_text('{"programs": {"aio": [1, 2]}}')
    monkeypatch.setattr(complete_fast, "TREE_FILE", str(tmp_path / "foreign.json"))
    assert ask(monkeypatch, "aio ses") is None
    (tmp_path / "torn.json").write_text('{"programs": {"aio": ')
    monkeypatch.setattr(complete_fast, "TREE_FILE", str(tmp_path / "torn.json"))
    assert ask(monkeypatch, "aio ses") is None


def test_another_click_than_the_tree_s_goes_to_click(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The fast path mirrors the completion of the click the tree was described with."""

    def other(tree: dict[str, Any]) -> None:
        tree["click"] = "8.1.0"

    assert ask(monkeypatch, "aio sess") is not None  # the click installed: answered
    monkeypatch.setattr(complete_fast, "TREE_FILE", _tree_with(tmp_path, other))
    assert ask(monkeypatch, "aio sess") is None


def test_what_the_tree_marks_as_not_mirrored_goes_to_click(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def mark(tree: dict[str, Any]) -> None:
        _command(tree, "run")["fallback"] = True
        status = _command(tree, "status")
        next(p for p in status["params"] if p["name"] == "feature")["complete"] = {
            "type": "unknown"
        }
        implement = _command(tree, "implement")
        next(p for p in implement["params"] if p["name"] == "feature")["value"] = "unknown"

    monkeypatch.setattr(complete_fast, "TREE_FILE", _tree_with(tmp_path, mark))
    assert ask(monkeypatch, "aio run --model ") is None  # a command click must parse
    assert ask(monkeypatch, "aio status ") is None  # a type completing in its own way
    assert ask(monkeypatch, "aio status --js") == b"plain,--json\n"  # its options: mirrored
    # the task completer reads FEATURE, whose value the tree does not know
    assert ask(monkeypatch, "aio implement --task ") is None
    assert ask(monkeypatch, "aio implement --model op") == b"plain,opus\n"
    assert ask(monkeypatch, "aio sess") is not None  # the rest still answers


def test_describe_marks_what_the_fast_path_cannot_mirror() -> None:
    """A callback not known to be silent, a type with its own completion, a chained group,
    a normalising context: each is described so that click answers it."""

    def noisy(ctx: click.Context, param: click.Parameter, value: object) -> object:
        click.echo("side effect")
        return value

    class Colour(click.ParamType):
        name = "colour"

        def shell_complete(
            self, ctx: click.Context, param: click.Parameter, incomplete: str
        ) -> list[Any]:
            return []

    @click.command()
    @click.option("--level", callback=noisy)
    def loud(level: str) -> None: ...

    @click.command()
    @click.option("--paint", type=Colour())
    def painted(paint: str) -> None: ...

    @click.group(chain=True)
    def chained() -> None: ...

    @click.command(context_settings={"token_normalize_func": str.lower})
    def folded() -> None: ...

    @click.command()
    @click.option("--label")
    @click.argument("path", type=click.Path(file_okay=False))
    def plain(label: str, path: str) -> None: ...

    def described(command: click.Command) -> dict[str, Any]:
        with command.make_context("x", [], resilient_parsing=True) as ctx:
            return _node(command, ctx)

    assert described(loud).get("fallback") is True
    assert described(chained).get("fallback") is True
    assert described(folded).get("fallback") is True
    paint = next(p for p in described(painted)["params"] if p["name"] == "paint")
    assert paint["complete"] == {"type": "unknown"}
    node = described(plain)
    assert "fallback" not in node
    params = {p["name"]: p for p in node["params"]}
    assert params["label"]["value"] == "plain" and "complete" not in params["label"]
    assert params["path"]["complete"] == {"item": "dir", "type": "path"}


@pytest.mark.process  # the installed `aio` program, as the shell runs it
def test_the_program_hands_what_it_does_not_mirror_to_click(tmp_path: Path) -> None:
    aio = Path(sys.executable).parent / "aio"
    env = {**os.environ, "_AIO_COMPLETE": "bash_source"}
    done = subprocess.run([aio], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "complete -o nosort -F _aio_completion aio" in done.stdout
    env = {**os.environ, "_AIO_COMPLETE": "bash_complete", "COMP_WORDS": "aio ses"}
    env["COMP_CWORD"] = "1"
    done = subprocess.run([aio], env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "plain,session\n", "")
    closed = subprocess.run(
        [aio], env=env, capture_output=True, timeout=120, preexec_fn=lambda: os.close(1)
    )
    assert closed.returncode == 1 and closed.stderr == b""  # no output, no traceback

"""The README's examples, run: every command line of its code blocks in a fresh HOME and
store (they must succeed as written), and every ``aio …``/``ai-session …`` inline example
names a command that exists with options that command has.

Lines that need the whole toolchain or a network (``make …``, ``pip …``) are skipped by
name; everything else a reader would paste is executed by bash.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from ai_orchestrator.cli.main import cli
from ai_orchestrator.cli.session import session

README = Path(__file__).resolve().parents[1] / "README.md"
SKIPPED = ("make ", "pip ", "uv ", "git clone", "cd ", "source ", "eval ")
INLINE = re.compile(r"`((?:aio|ai-session) [^`]+)`")


def code_lines() -> list[str]:
    lines, inside, shell = [], False, False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            shell = not inside and line.strip() in ("```bash", "```sh", "```shell")
            inside = not inside
            continue
        text = line.strip()
        if inside and shell and text and not text.startswith("#"):
            lines.append(text.split("  #")[0].strip())
    return [line for line in lines if not line.startswith(SKIPPED)]


@pytest.mark.process  # a real process: a fresh interpreter, concurrency or a tool
def test_every_code_block_line_runs_in_a_fresh_home(tmp_path: Path) -> None:
    home = tmp_path / "readme-home"  # fresh: no directory of it exists yet
    home.mkdir()
    bin_dir = Path(sys.executable).parent
    env = {
        "HOME": str(home),
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "SESSION_DIR": str(tmp_path / "store"),
        "NO_COLOR": "1",
    }
    lines = code_lines()
    assert any(line.startswith("aio completion") for line in lines)
    for line in lines:
        done = subprocess.run(
            ["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"README line fails: {line}\n{done.stderr}"
    assert (home / ".local/share/bash-completion/completions/aio").read_text().strip()


def _command(words: list[str]) -> tuple[click.Command, list[str]]:
    """The deepest command ``words`` name, and the words after it."""
    command: click.Command = session if words[0] == "ai-session" else cli
    ctx = click.Context(command)
    rest = words[1:]
    while isinstance(command, click.Group) and rest:
        found = command.get_command(ctx, rest[0])
        if found is None:
            break
        command, rest = found, rest[1:]
    return command, rest


def inline_examples() -> list[str]:
    return sorted(set(INLINE.findall(README.read_text())))


@pytest.mark.parametrize("example", inline_examples())
def test_every_inline_example_names_a_real_command_and_options(example: str) -> None:
    try:
        words = shlex.split(example.replace("\\|", "|"))
    except ValueError:
        words = example.replace("\\|", "|").split()
    command, rest = _command(words)
    if isinstance(command, click.Group) and rest and "|" in rest[0]:
        for alternative in rest[0].split("|"):  # `aio session list|show|stats`
            assert command.get_command(click.Context(command), alternative), alternative
        return
    if isinstance(command, click.Group):
        assert not rest or rest[0].startswith(("-", "<", "[", "…")) or rest[0].isupper(), (
            f"{example}: no such command {rest[0]!r}"
        )
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    options |= {"--help", "-h"}
    for word in rest:
        for option in re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", word):
            if option.startswith("--") or len(option) == 2:
                assert option in options, f"{example}: {command.name} has no {option}"


def test_inline_examples_were_found() -> None:
    examples = inline_examples()
    assert len(examples) > 40
    assert any(e.startswith("aio verify") for e in examples)
    assert os.path.exists(README)

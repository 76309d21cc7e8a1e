"""Help and completion as a person uses them: ``aio --help`` in workflow order, examples in
every command's help that really parse, and completion scripts that work in a real bash."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from ai_orchestrator.cli.examples import EXAMPLES
from ai_orchestrator.cli.main import COMMANDS, cli
from tests.helpers import aio, aio_inprocess


def test_help_lists_the_commands_in_workflow_order() -> None:
    result = aio_inprocess("--help")
    assert result.code == 0
    text = result.out
    sections = ["Workflow:", "Sessions and single calls:", "Usage and reports:", "Setup:"]
    positions = [text.index(title) for title in sections]
    assert positions == sorted(positions)
    order = [text.index(f"\n  {name} ") for name in ("init", "plan", "implement", "review")]
    assert order == sorted(order) and order[-1] < text.index("\n  verify ")
    for name in COMMANDS:  # every command is listed, once
        assert text.count(f"\n  {name} ") == 1, name
    assert "Examples:" in text


def command_at(path: str) -> click.Command:
    command: click.Command = cli
    ctx = click.Context(cli)
    for part in path.split():
        assert isinstance(command, click.Group)
        found = command.get_command(ctx, part)
        assert found is not None, path
        command = found
    return command


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_every_example_is_shown_and_parses(path: str, tmp_path: Path) -> None:
    command = command_at(path)
    help_text = aio_inprocess(*path.split(), "--help").out
    assert "Examples:" in help_text
    for example in EXAMPLES[path]:
        assert example.split("   #")[0].strip() in help_text
        line = example.split("  #")[0]
        line = line.rsplit("| ", 1)[-1] if line.startswith("git ") else line.split(" | ")[0]
        words = shlex.split(line.split(">")[0])
        if words[0] == "aio":
            words = words[1:]
        words = words[len(path.split()) - 1 :] if " " in path else words[1:]
        (tmp_path / "all.json").write_text("[]")
        (tmp_path / "old.json").write_text("[]")
        with command.make_context(path, words, resilient_parsing=False) as ctx:
            assert ctx.command is command


@pytest.mark.process  # the ai-session entry point adds its own examples
def test_ai_session_help_shows_its_own_name() -> None:
    result = aio("list", "--help", prog="ai-session")
    assert "  ai-session list --active" in result.out
    assert "aio session" not in result.out


@pytest.mark.process  # a real bash
@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize(
    ("line", "expected"),
    [("aio imp", "implement"), ("aio run --ag", "--agent"), ("ai-session li", "list")],
)
def test_bash_completion_completes(line: str, expected: str, tmp_path: Path) -> None:
    script = aio_inprocess("completion", "bash")
    assert script.code == 0
    assert "_AIO_COMPLETE" in script.out and "_AI_SESSION_COMPLETE" in script.out
    (tmp_path / "completion.bash").write_text(script.out)
    words = line.split()
    function = "_ai_session_completion" if words[0] == "ai-session" else "_aio_completion"
    bin_dir = Path(sys.executable).parent
    probe = (
        f"source {tmp_path / 'completion.bash'}; COMP_WORDS=({line}); "
        f"COMP_CWORD={len(words) - 1}; {function} {words[0]}; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    done = subprocess.run(
        ["bash", "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert expected in done.stdout.split(), (done.stdout, done.stderr)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_completion_scripts_for_zsh_and_fish(shell: str) -> None:
    result = aio_inprocess("completion", shell)
    assert result.code == 0
    assert f"_AIO_COMPLETE={shell}_complete" in result.out
    assert f"_AI_SESSION_COMPLETE={shell}_complete" in result.out


def test_completion_refuses_an_unknown_shell() -> None:
    result = aio_inprocess("completion", "tcsh")
    assert result.code == 2 and result.err.startswith("aio: error: invalid value for ")
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.err


@pytest.mark.parametrize(
    "shell", [pytest.param("bash", marks=pytest.mark.process), "zsh", "fish"]
)  # click asks bash for its version
def test_one_programs_script_per_file(shell: str) -> None:
    """Shells load completion files by the command's name: each file completes its own."""
    both = aio_inprocess("completion", shell).out
    only = {
        p: aio_inprocess("completion", shell, "--program", p).out for p in ("aio", "ai-session")
    }
    session_only = only["ai-session"]
    assert "_AI_SESSION_COMPLETE" in session_only and "_AIO_COMPLETE" not in session_only
    assert "_AIO_COMPLETE" in only["aio"] and "_AI_SESSION_COMPLETE" not in only["aio"]
    assert both == only["aio"] + only["ai-session"]


@pytest.mark.parametrize(
    ("prog", "args", "usage"),
    [
        ("aio", (), "Usage: aio [OPTIONS] COMMAND"),
        ("aio", ("session",), "Usage: aio session [OPTIONS] COMMAND"),
        ("aio", ("todo",), "Usage: aio todo [OPTIONS] COMMAND"),
        ("aio", ("features", "--help"), "Usage: aio features [OPTIONS]"),
        ("ai-session", (), "Usage: ai-session [OPTIONS] COMMAND"),
    ],
)
def test_a_bare_group_prints_its_help_as_git_and_gh_do(
    prog: str, args: tuple[str, ...], usage: str
) -> None:
    result = aio_inprocess(*args, prog=prog)
    assert result.code == 0, result.err
    assert result.out.startswith(usage) and result.err == ""
    # the help as a block of lines, never run together into one error line
    assert "\nCommands:" in result.out or "\nWorkflow:" in result.out or "Options:" in result.out
    assert len(result.out.splitlines()) > 5 and "error:" not in result.out


@pytest.mark.parametrize(
    ("args", "meant"),
    [(("sesion",), "session"), (("statsu",), "status"), (("todo", "lsit"), "list")],
)
def test_a_mistyped_command_gets_did_you_mean(args: tuple[str, ...], meant: str) -> None:
    result = aio_inprocess(*args)
    assert result.code == 2
    assert "Did you mean" in result.err and f"'{meant}'" in result.err
    assert result.err.count("\n") == 1

"""Setup commands: ``aio config check`` (problems of ``.aio/config.toml``) and
``aio completion bash|zsh|fish`` (the shell's completion script, from click)."""

from __future__ import annotations

import click

from ai_orchestrator.cli import output
from ai_orchestrator.core.errors import InvalidInput

SHELLS = ("bash", "zsh", "fish")


@click.group("config", context_settings={"help_option_names": ["-h", "--help"]})
def config_group() -> None:
    """The project's configuration (.aio/config.toml)."""


@output.reads
@config_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
def config_check_cmd(as_json: bool) -> None:
    """Flag unknown keys (ignored: a typo?) and bad values in .aio/config.toml.

    Every problem is listed at once; exit 2 when the workflow would refuse the file.
    """
    from ai_orchestrator.workflow.project.configcheck import check_config
    from ai_orchestrator.workflow.project.workspace import Workspace

    path = Workspace.find().config_file
    problems = check_config(path)
    errors = sum(1 for p in problems if p.error)
    if as_json:
        output.emit_json(
            {
                "config_file": str(path),
                "exists": path.exists(),
                "ok": not errors,
                "problems": [p.to_dict() for p in problems],
            }
        )
    else:
        for problem in problems:
            kind = "error" if problem.error else "warning"
            where = f"{problem.key}: " if problem.key else ""
            click.echo(f"{kind}: {where}{problem.message}")
        if not problems:
            state = "ok" if path.exists() else "not created (the defaults apply)"
            click.echo(f"{path}: {state}")
    if errors:
        raise InvalidInput(f"{path}: {errors} error{'s' if errors != 1 else ''}")


@output.reads
@config_group.command("detect")
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
def config_detect_cmd(as_json: bool) -> None:
    """The test command aio would detect for this project now (what `aio init` writes as
    test_command), beside the one .aio/config.toml sets; changes nothing."""
    from ai_orchestrator.workflow.project.config import detect_test_command, load_config
    from ai_orchestrator.workflow.project.workspace import Workspace

    ws = Workspace.find()
    detected = detect_test_command(ws.project_root)
    configured = load_config(ws.config_file).test_command
    if as_json:
        output.emit_json({"detected": detected, "configured": configured})
        return
    click.echo(f"Detected test command: {detected or 'none (no marker of a known runner)'}")
    shown = configured if isinstance(configured, str) or configured is None else " ".join(
        configured
    )
    click.echo(f"Configured (.aio/config.toml): {shown or 'none'}")


@output.reads
@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.option(
    "--program",
    type=click.Choice(("aio", "ai-session")),
    default=None,
    help="Only this program's script (default: both, for eval). Shells load a completion "
    "file by the command's name, so install one file per program.",
)
def completion_cmd(shell: str, program: str | None) -> None:
    """Print the completion script for SHELL (install it as the README says)."""
    from click.shell_completion import get_completion_class

    from ai_orchestrator.cli.main import cli
    from ai_orchestrator.cli.session import session

    for command, prog in ((cli, "aio"), (session, "ai-session")):
        if program is not None and prog != program:
            continue
        cls = get_completion_class(shell)
        assert cls is not None
        var = f"_{prog.replace('-', '_').upper()}_COMPLETE"
        click.echo(cls(command, {}, prog, var).source())

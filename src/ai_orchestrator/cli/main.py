"""Entry points ``aio`` and ``ai-session`` and the one place errors become exit codes.

Subcommands are imported lazily (``LazyGroup``) so ``aio --version`` and ``aio --help``
do not pay for rich, YAML or the agent backends.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import Any

import click

from ai_orchestrator import __version__
from ai_orchestrator.cli import output
from ai_orchestrator.core.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, AioError

# name -> (module, attribute, one-line help shown in `aio --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "session": ("ai_orchestrator.cli.session", "session", "Manage stored agent sessions."),
    "prices": ("ai_orchestrator.cli.prices", "prices", "Show the rates used to price a model."),
    "todo": ("ai_orchestrator.cli.todo", "todo", "Session todos: estimated vs actual cost."),
    "run": ("ai_orchestrator.cli.run", "run_cmd", "Run one agent call in a named session."),
    "doctor": ("ai_orchestrator.cli.doctor", "doctor_cmd", "Check installed agent CLIs."),
    # workflow (issue 4)
    "init": ("ai_orchestrator.cli.workflow", "init_cmd", "Create a feature in .aio/."),
    "plan": ("ai_orchestrator.cli.workflow", "plan_cmd", "Plan a feature (session plan-F)."),
    "tasks": ("ai_orchestrator.cli.workflow", "tasks_cmd", "List a feature's tasks."),
    "next": ("ai_orchestrator.cli.workflow", "next_cmd", "Show the next ready task."),
    "implement": (
        "ai_orchestrator.cli.workflow",
        "implement_cmd",
        "Implement a task test-first (session implement-F).",
    ),
    "review": ("ai_orchestrator.cli.workflow", "review_cmd", "Review code (session review-F)."),
    "verify": ("ai_orchestrator.cli.workflow", "verify_cmd", "Run the tests in a fresh context."),
    "status": ("ai_orchestrator.cli.features", "status_cmd", "Feature progress, tokens, cost."),
    "features": ("ai_orchestrator.cli.features", "features_cmd", "List all features."),
    "history": ("ai_orchestrator.cli.features", "history_cmd", "A feature's command history."),
    "switch": ("ai_orchestrator.cli.features", "switch_cmd", "Set the current feature."),
    "demo": ("ai_orchestrator.cli.demo", "demo_cmd", "Offline scripted end-to-end demo."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attr, _ = self.lazy[cmd_name]
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.lazy[name][2]) for name in self.list_commands(ctx) if name in self.lazy]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "-V", "--version", prog_name="aio", message="%(prog)s %(version)s"
)
@output.color_option
def cli() -> None:
    """aio — drive AI coding agents through a feature workflow with persistent sessions."""


def _fail(message: str, code: int) -> int:
    click.echo(f"aio: error: {message}", err=True)
    return code


def run(command: click.Command, argv: list[str] | None, prog_name: str) -> int:
    """Invoke ``command`` and turn every outcome into an exit code (never a traceback
    for bad input; unexpected errors are one line unless ``AIO_DEBUG`` is set)."""
    try:
        result = command.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        exc.show()
        return EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aio: aborted", err=True)
        return EXIT_INTERRUPTED
    except AioError as exc:
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        click.echo("aio: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `aio session export | head`); not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        # The library names its files (StoreFileError, above); this is the net for any
        # other file the system refused: still one line with the cause, never a trace.
        if os.environ.get("AIO_DEBUG"):
            raise
        from ai_orchestrator.infra.fsutil import file_error

        return _fail(str(file_error(exc.filename, exc)), EXIT_FAILURE)
    except Exception as exc:
        if os.environ.get("AIO_DEBUG"):
            raise
        return _fail(
            f"internal error: {type(exc).__name__}: {exc} (set AIO_DEBUG=1 for a traceback)",
            EXIT_FAILURE,
        )
    return result if isinstance(result, int) else 0


def stop_signals_interrupt() -> None:
    """SIGTERM and SIGHUP (a closed terminal) stop aio exactly like Ctrl-C: they raise
    ``KeyboardInterrupt`` (the agent runner turns all three into its clean stop while an agent
    runs). A signal already ignored (``nohup``) stays ignored."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, signal.default_int_handler)


def main(argv: list[str] | None = None) -> None:
    stop_signals_interrupt()
    sys.exit(run(cli, argv, "aio"))


def session_main(argv: list[str] | None = None) -> None:
    """``ai-session`` is exactly ``aio session``."""
    from ai_orchestrator.cli.session import session

    stop_signals_interrupt()
    sys.exit(run(session, argv, "ai-session"))

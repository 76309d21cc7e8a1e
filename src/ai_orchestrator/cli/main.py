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
    "usage": ("ai_orchestrator.cli.usage", "usage", "Usage of every agent session (index)."),
    "team": ("ai_orchestrator.cli.team", "team", "Share usage with a team (PostgreSQL)."),
    "hooks": ("ai_orchestrator.cli.hooks", "hooks_group", "Install aio's hooks into agents."),
    "hook": ("ai_orchestrator.cli.hooks", "hook_cmd", "Spool one agent hook event (stdin)."),
    "statusline": ("ai_orchestrator.cli.hooks", "statusline_cmd", "Claude Code status line."),
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
    "verify": ("ai_orchestrator.cli.verify", "verify_cmd", "Run the tests in a fresh context."),
    "escalate": (
        "ai_orchestrator.cli.escalate",
        "escalate_cmd",
        "Hand a conversation to a stronger model or another agent.",
    ),
    "status": ("ai_orchestrator.cli.features", "status_cmd", "Feature progress, tokens, cost."),
    "features": (
        "ai_orchestrator.cli.housekeeping",
        "features_group",
        "List all features; `features clean` removes or archives them.",
    ),
    "task": ("ai_orchestrator.cli.housekeeping", "task_group", "Set a task's status by hand."),
    "history": ("ai_orchestrator.cli.features", "history_cmd", "A feature's command history."),
    "switch": ("ai_orchestrator.cli.features", "switch_cmd", "Set the current feature."),
    "demo": ("ai_orchestrator.cli.demo", "demo_cmd", "Offline scripted end-to-end demo."),
    "install": ("ai_orchestrator.cli.install", "install_group", "Install Claude Code commands."),
    "uninstall": ("ai_orchestrator.cli.install", "uninstall_group", "Remove what aio installed."),
    "config": ("ai_orchestrator.cli.setup", "config_group", "Check .aio/config.toml."),
    "completion": (
        "ai_orchestrator.cli.setup",
        "completion_cmd",
        "Print the shell completion script (bash, zsh, fish).",
    ),
}

# `aio --help` in the order of the work: a feature's workflow, then sessions and single
# calls, then what it cost, then setting up.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Workflow",
        (
            "init", "plan", "tasks", "next", "implement", "escalate", "review", "verify",
            "status", "switch", "task",
        ),
    ),
    ("Sessions and single calls", ("run", "session")),
    ("Usage and reports", ("features", "history", "todo", "prices", "usage", "team")),
    ("Setup", ("doctor", "config", "completion", "install", "uninstall", "hooks", "demo")),
)


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        ordered = [name for _, names in SECTIONS for name in names]
        rest = sorted((set(super().list_commands(ctx)) | set(self.lazy)) - set(ordered))
        return ordered + rest

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attr, _ = self.lazy[cmd_name]
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            from ai_orchestrator.cli.examples import add_examples

            add_examples(command, cmd_name)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        listed = set()
        for title, names in SECTIONS:
            rows = [(name, self.lazy[name][2]) for name in names if name in self.lazy]
            listed |= set(names)
            with formatter.section(title):
                formatter.write_dl(rows)
        rest = [(n, self.lazy[n][2]) for n in self.list_commands(ctx) if n not in listed]
        if rest:
            with formatter.section("Other"):
                formatter.write_dl(rest)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "-V", "--version", prog_name="aio", message="%(prog)s %(version)s"
)
@output.color_option
def cli() -> None:
    """aio — drive AI coding agents through a feature workflow with persistent sessions.

    \b
    Examples:
      aio init auth-service "Login with sessions"
      aio plan "Design the login flow"
      aio implement --task T1.1
      aio review && aio verify
      aio run "explain this repository"
      aio session list
    """


def wants_json(argv: list[str]) -> bool:
    """``--json`` among the options (not after ``--``, where it would be an argument)."""
    return "--json" in (argv[: argv.index("--")] if "--" in argv else argv)


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


class Failure:
    """Says a failure the one documented way: ``<prog>: error: <message>`` on stderr, and
    under ``--json`` also ``{"error", "exit_code"}`` on stdout unless the command already
    wrote its JSON document there (one document per run)."""

    def __init__(self, prog_name: str, as_json: bool) -> None:
        self.prog_name, self.as_json = prog_name, as_json

    def __call__(self, message: str, code: int, *, label: str | None = "error") -> int:
        from ai_orchestrator.cli import output

        text = one_line(message)
        said = f"{label}: {text}" if label else text
        click.echo(f"{self.prog_name}: {said}", file=sys.stderr)
        if self.as_json and not output.json_emitted():
            output.emit_json({"error": text, "exit_code": code})
        return code


def usage_message(exc: click.UsageError) -> str:
    """click's usage error as one sentence with the way to the command's help."""
    message = one_line(exc.format_message()).rstrip(".")
    message = message[:1].lower() + message[1:]
    if exc.ctx is not None:
        message += f" (see '{exc.ctx.command_path} --help')"
    return message


def _show_debug_log() -> None:
    """``AIO_DEBUG``: the library's debug log (e.g. each agent launch) on stderr."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("aio: debug: %(message)s"))
    logger = logging.getLogger("ai_orchestrator")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def run(command: click.Command, argv: list[str] | None, prog_name: str) -> int:
    """Invoke ``command`` and turn every outcome into an exit code (never a traceback
    for bad input; unexpected errors are one line unless ``AIO_DEBUG`` is set)."""
    args = sys.argv[1:] if argv is None else argv
    fail = Failure(prog_name, wants_json(args))
    if os.environ.get("AIO_DEBUG"):
        _show_debug_log()
    try:
        result = command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        return fail(usage_message(exc), EXIT_USAGE)
    except click.ClickException as exc:
        return fail(exc.format_message(), exc.exit_code)
    except click.exceptions.Abort:
        return fail("aborted", EXIT_INTERRUPTED, label=None)
    except AioError as exc:
        return fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED, label=None)
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

        return fail(str(file_error(exc.filename, exc)), EXIT_FAILURE)
    except Exception as exc:
        if os.environ.get("AIO_DEBUG"):
            raise
        return fail(
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
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):  # as fast as `aio --version`: no session module
        click.echo(f"ai-session {__version__}")
        sys.exit(0)
    from ai_orchestrator.cli.examples import add_examples
    from ai_orchestrator.cli.session import session

    add_examples(session, "session", prog="ai-session")
    stop_signals_interrupt()
    sys.exit(run(session, argv, "ai-session"))

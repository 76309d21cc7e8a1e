"""Entry points ``aio`` and ``ai-session`` and the one place errors become exit codes.

Subcommands are imported lazily (``LazyGroup``) so ``aio --version`` and ``aio --help``
do not pay for rich, YAML or the agent backends.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
from typing import Any

import click

from ai_orchestrator import __version__
from ai_orchestrator.cli import output, streams
from ai_orchestrator.core import env
from ai_orchestrator.core.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    AioError,
    AlreadyReported,
    OutputLost,
)

# name -> (module, attribute, one-line help shown in `aio --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "session": ("ai_orchestrator.cli.session", "session", "Manage stored agent sessions."),
    "prices": ("ai_orchestrator.cli.prices", "prices", "Show the rates used to price a model."),
    "todo": ("ai_orchestrator.cli.todo", "todo", "Session todos: estimated vs actual cost."),
    "run": ("ai_orchestrator.cli.run", "run_cmd", "Run one agent call in a named session."),
    "doctor": ("ai_orchestrator.cli.doctor", "doctor_cmd", "Check installed agent CLIs."),
    "usage": ("ai_orchestrator.cli.usage", "usage", "Usage of every agent session (index)."),
    "report": ("ai_orchestrator.cli.report", "report_cmd", "One offline HTML report (charts)."),
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
    "template": (
        "ai_orchestrator.cli.templates",
        "template_group",
        "Session templates that new features start from.",
    ),
    "link": (
        "ai_orchestrator.cli.templates",
        "link_cmd",
        "Start a feature's conversations from another feature's.",
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
            "status", "switch", "task", "template", "link",
        ),
    ),
    ("Sessions and single calls", ("run", "session")),
    ("Usage and reports", ("features", "history", "todo", "prices", "usage", "report", "team")),
    (
        "Setup",
        (
            "doctor", "config", "completion", "install", "uninstall", "hooks", "hook",
            "statusline", "demo",
        ),
    ),
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
            if env.is_set("_AIO_COMPLETE") or env.is_set("_AI_SESSION_COMPLETE"):
                from ai_orchestrator.cli.complete import add_completion

                add_completion(command)
            return command
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        unknown = name and not name.startswith("-") and not ctx.resilient_parsing
        if unknown and self.get_command(ctx, name) is None:
            # click suggests only from commands already imported; ours are lazy
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3)
            said = ", ".join(repr(c) for c in close)
            hint = f" Did you mean {said}?" if len(close) == 1 else (
                f" (Did you mean one of: {said}?)" if close else ""
            )
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)

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

        streams.set_strict(False)  # the failure is said; a lost stdout now changes nothing
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


GROUPS = frozenset(
    {
        "session", "features", "task", "install", "uninstall", "config", "todo", "usage",
        "hooks", "team",
    }
)  # fmt: skip


def command_words(args: list[str], prog_name: str) -> str:
    """The command ``args`` name, as words (``session list``, ``run``; ``help`` when help
    or the version is asked for), read the way click reads them."""
    words = [] if prog_name == "aio" else ["session"]
    start = len(words)
    options = args[: args.index("--")] if "--" in args else args
    if any(arg in ("-h", "--help", "-V", "--version") for arg in options):
        return "help"
    skip = False
    for arg in options:
        if skip:
            skip = False
        elif arg == "--color":
            skip = True
        elif not arg.startswith("-"):
            words.append(arg)
            if len(words) - start == 2 or words[-1] not in GROUPS:
                break
    return " ".join(words)


def stdout_is_result(root: click.Command, words: str, prog_name: str) -> bool:
    """Whether the command ``words`` names is a read command (``output.reads``, declared on
    the command). Help, a group named alone (it prints its help or its list) are reads; an
    unknown command is not (it fails with a usage error before any output)."""
    if words in ("", "help"):
        return True
    parts = words.split()[0 if prog_name == "aio" else 1 :]
    command = root
    for word in parts:
        if not isinstance(command, click.Group):
            return False
        found = command.get_command(click.Context(command, info_name=word), word)
        if found is None:
            return False
        command = found
    if isinstance(command, click.Group):
        return True
    return output.declared_reader(command) is True


def _lost_output(code: int, reads: bool, prog_name: str, fail: Failure) -> int:
    """The exit code once the command is over, given what happened to its stdout."""
    streams.set_strict(False)
    lost = streams.failure("stdout")
    if lost is None or code != 0:
        return code  # a failed command said why on stderr; its code stands
    if reads:
        if lost.errno == errno.EPIPE:
            return code
        return fail(f"cannot write the output to stdout: {lost.cause}", EXIT_FAILURE)
    click.echo(
        f"{prog_name}: warning: done (anything this command stores is stored; do not run it "
        f"again), but its report to stdout was lost: {lost.cause}",
        file=sys.stderr,
    )
    return code


def run(command: click.Command, argv: list[str] | None, prog_name: str) -> int:
    """Invoke ``command`` and turn every outcome into an exit code (never a traceback
    for bad input; unexpected errors are one line unless ``AIO_DEBUG`` is set)."""
    args = sys.argv[1:] if argv is None else argv
    fail = Failure(prog_name, wants_json(args))
    words = command_words(args, prog_name)
    reads = _reads(command, words, prog_name)
    streams.set_strict(reads)
    code = _lost_output(_run(command, args, prog_name, fail), reads, prog_name, fail)
    completing = env.is_set("_AIO_COMPLETE") or env.is_set("_AI_SESSION_COMPLETE")
    if words not in ("", "help", "completion", "session clean") and not completing:
        _auto_retention()
    return code


def _auto_retention() -> None:
    """The daily retention run when ``[retention] auto = true`` (``store.retention``): the
    check is reading the user config file; the policy's modules load only when it is on.
    Never on the hook/statusline path (``cli/launch.py`` does not come here)."""
    from ai_orchestrator.core.errors import InvalidInput

    try:  # the import too: with no file descriptor left it fails like the read would
        from ai_orchestrator.infra.user_config import read_table

        if read_table("retention").get("auto") is not True:
            return
    except (InvalidInput, OSError):
        return  # said by the commands that read it (session clean --policy, config)
    from ai_orchestrator.cli.session_upkeep import auto_retention

    auto_retention()


def _reads(command: click.Command, words: str, prog_name: str) -> bool:
    try:
        return stdout_is_result(command, words, prog_name)
    except Exception:  # a command that fails to import fails again, and is reported, in _run
        return False


def _run(command: click.Command, args: list[str], prog_name: str, fail: Failure) -> int:
    if env.get("AIO_DEBUG"):
        _show_debug_log()
    try:
        result = command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        # A bare group (`aio`, `ai-session`, `aio session`, `aio todo`) asks for its help,
        # as `git`, `gh` and `uv` read it: the help on stdout, exit 0.
        click.echo(exc.ctx.get_help())
        return 0
    except click.UsageError as exc:
        return fail(usage_message(exc), EXIT_USAGE)
    except click.ClickException as exc:
        return fail(exc.format_message(), exc.exit_code)
    except click.exceptions.Abort as exc:
        # click turns a Ctrl-C inside a command (e.g. `verify --watch` waiting) into Abort
        stopped = isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt)
        return fail("interrupted" if stopped else "aborted", EXIT_INTERRUPTED, label=None)
    except OutputLost as exc:
        return 0 if exc.errno == errno.EPIPE else fail(str(exc), exc.exit_code)
    except AlreadyReported as exc:
        return exc.exit_code  # the command's own output said what failed
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
        if env.get("AIO_DEBUG"):
            raise
        from ai_orchestrator.infra.fsutil import file_error

        return fail(str(file_error(exc.filename, exc)), EXIT_FAILURE)
    except Exception as exc:
        if env.get("AIO_DEBUG"):
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
    streams.install()
    stop_signals_interrupt()
    sys.exit(run(cli, argv, "aio"))


def session_main(argv: list[str] | None = None) -> None:
    """``ai-session`` is exactly ``aio session``."""
    args = sys.argv[1:] if argv is None else argv
    streams.install()
    if args in (["--version"], ["-V"]):  # as fast as `aio --version`: no session module
        click.echo(f"ai-session {__version__}")
        lost = streams.failure("stdout")
        if lost is not None and lost.errno != errno.EPIPE:
            Failure("ai-session", False)(f"cannot write the output to stdout: {lost.cause}", 1)
            sys.exit(EXIT_FAILURE)
        sys.exit(0)
    from ai_orchestrator.cli.examples import add_examples
    from ai_orchestrator.cli.session import session

    add_examples(session, "session", prog="ai-session")
    if env.is_set("_AI_SESSION_COMPLETE"):
        from ai_orchestrator.cli.complete import add_completion

        add_completion(session)
    stop_signals_interrupt()
    sys.exit(run(session, argv, "ai-session"))

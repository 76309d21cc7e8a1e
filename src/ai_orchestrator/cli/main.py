"""Entry points ``aio`` and ``ai-session`` and the one place errors become exit codes.

Subcommands are imported lazily (``cli.root.LazyGroup``) so ``aio --version`` and ``aio
--help`` do not pay for rich, YAML or the agent backends; click itself is imported only for
the commands it parses (``aio run``'s fast path, ``run_fast``, goes without it).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from ai_orchestrator import __version__
from ai_orchestrator.cli import output, streams
from ai_orchestrator.cli.commands import COMMANDS, SECTIONS  # noqa: F401 - re-exported
from ai_orchestrator.core import env
from ai_orchestrator.core.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    AioError,
    AlreadyReported,
    OutputLost,
)

if TYPE_CHECKING:
    import click

    from ai_orchestrator.cli.run_call import RunArgs


def __getattr__(name: str) -> Any:
    """``cli`` (the ``aio`` group) and ``LazyGroup`` live in ``cli.root`` (they need click,
    which ``run_fast`` does without)."""
    if name in ("cli", "LazyGroup"):
        from ai_orchestrator.cli import root

        return getattr(root, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        streams.echo(f"{self.prog_name}: {said}", file=sys.stderr)
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
    import click

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
    streams.echo(
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
    import click

    def invoke() -> object:
        try:
            return command.main(args=args, prog_name=prog_name, standalone_mode=False)
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

    return _guarded(invoke, fail)


def _guarded(invoke: Callable[[], object], fail: Failure) -> int:
    """``invoke()``'s exit code: its own (an int), else 0; every error of aio's, and any
    other, as one line and its exit code (a traceback only with ``AIO_DEBUG``)."""
    if env.get("AIO_DEBUG"):
        _show_debug_log()
    try:
        result = invoke()
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


def run_fast(params: RunArgs, args: list[str]) -> None:
    """``aio ARGS`` (``run …``) without click (``cli.run_call``): what ``main`` does for
    ``aio run`` (``run`` with ``run_cmd``, a writing command), for the arguments
    ``run_call.parse`` read; never returns."""
    from ai_orchestrator.cli import run_call

    streams.install()
    stop_signals_interrupt()
    fail = Failure("aio", wants_json(args))
    streams.set_strict(False)

    def invoke() -> object:
        # What click's Command.main (standalone_mode=False) does around run_cmd.
        try:
            return run_call.call(params)
        except (EOFError, KeyboardInterrupt) as exc:
            streams.echo("", file=sys.stderr)  # click: "the blank line closes the ^C echo"
            stopped = isinstance(exc, KeyboardInterrupt)
            return fail("interrupted" if stopped else "aborted", EXIT_INTERRUPTED, label=None)
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            raise SystemExit(1) from exc  # click ends the process there, exit 1

    code = _lost_output(_guarded(invoke, fail), False, "aio", fail)
    if not (env.is_set("_AIO_COMPLETE") or env.is_set("_AI_SESSION_COMPLETE")):
        _auto_retention()
    exit_now(code)


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` as ``sys.exit`` would, without the interpreter's
    teardown (freeing every object of the ~200 modules ``aio run`` loads: ~10% of its cost
    per call, issue 24). What the teardown does that matters is done here first: the
    ``atexit`` functions run (logging's flush, coverage's save) and stdout and stderr are
    flushed (guarded streams: a failed write was already remembered, ``streams.failure``).
    aio writes its files through descriptors, each record fsynced before the call returns,
    so no buffered file is left to lose. With another thread still running (nothing on the
    ``aio run`` path starts one), ``sys.exit`` waits for it as usual."""
    import threading  # already loaded by the run path (subprocess); cheap otherwise

    if threading.active_count() > 1:
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):  # a closed or broken stream: nothing to keep
            if stream is not None:
                stream.flush()
    os._exit(code)


def stop_signals_interrupt() -> None:
    """SIGTERM and SIGHUP (a closed terminal) stop aio exactly like Ctrl-C: they raise
    ``KeyboardInterrupt`` (the agent runner turns all three into its clean stop while an agent
    runs). A signal already ignored (``nohup``) stays ignored."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, signal.default_int_handler)


def main(argv: list[str] | None = None) -> None:
    from ai_orchestrator.cli.root import cli

    streams.install()
    stop_signals_interrupt()
    sys.exit(run(cli, argv, "aio"))


def read_fast(command: Callable[[], object], prog_name: str) -> None:
    """Run a read command without click (``cli.session_fast``) as ``run`` runs one through
    click: streams guarded, stdout strict, errors as one line and their exit codes, the
    daily retention run at the end; never returns."""
    streams.install()
    stop_signals_interrupt()
    fail = Failure(prog_name, True)  # (only `--json` command lines come here)
    streams.set_strict(True)

    def invoke() -> object:
        try:  # what click's Command.main (standalone_mode=False) does around a command
            return command()
        except (EOFError, KeyboardInterrupt) as exc:
            streams.echo("", file=sys.stderr)
            stopped = isinstance(exc, KeyboardInterrupt)
            return fail("interrupted" if stopped else "aborted", EXIT_INTERRUPTED, label=None)

    code = _lost_output(_guarded(invoke, fail), True, prog_name, fail)
    if not (env.is_set("_AIO_COMPLETE") or env.is_set("_AI_SESSION_COMPLETE")):
        _auto_retention()
    sys.exit(code)


def session_main(argv: list[str] | None = None) -> None:
    """``ai-session`` is exactly ``aio session``."""
    args = sys.argv[1:] if argv is None else argv
    if argv is None:  # `list --json`, `stats --json`: without click (``cli.session_fast``)
        from ai_orchestrator.cli.session_fast import parse

        listing = parse(args, "ai-session")
        if listing is not None:
            read_fast(listing, "ai-session")
    streams.install()
    if args in (["--version"], ["-V"]):  # as fast as `aio --version`: no session module
        streams.echo(f"ai-session {__version__}")
        lost = streams.failure("stdout")
        if lost is not None and lost.errno != errno.EPIPE:
            Failure("ai-session", False)(f"cannot write the output to stdout: {lost.cause}", 1)
            sys.exit(EXIT_FAILURE)
        sys.exit(0)
    if env.get("_AI_SESSION_COMPLETE"):  # tab completion without click (cli.complete_fast)
        from ai_orchestrator.cli.complete_fast import run as complete

        code = complete("ai-session")
        if code is not None:
            sys.exit(code)
    from ai_orchestrator.cli.examples import add_examples
    from ai_orchestrator.cli.session import session

    add_examples(session, "session", prog="ai-session")
    if env.is_set("_AI_SESSION_COMPLETE"):
        from ai_orchestrator.cli.complete import add_completion

        add_completion(session)
    stop_signals_interrupt()
    sys.exit(run(session, argv, "ai-session"))

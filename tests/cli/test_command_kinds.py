"""Every command declares what its stdout is (``output.reads`` / ``output.writes``), so a new
command cannot be forgotten: ``cli.main`` reads the declaration to decide whether a lost
stdout fails the command (``cli.streams``)."""

from __future__ import annotations

from collections.abc import Iterator

import click

from ai_orchestrator.cli import output
from ai_orchestrator.cli.main import COMMANDS, cli, stdout_is_result


def _leaves(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{path} {name}".strip()
            yield from _leaves(sub, f"{path} {name}".strip())
    else:
        yield path, command


def test_every_command_declares_whether_its_stdout_is_its_result() -> None:
    leaves = dict(_leaves(cli, ""))
    assert set(COMMANDS) <= {words.split()[0] for words in leaves} | {"session"}
    undeclared = sorted(w for w, c in leaves.items() if output.declared_reader(c) is None)
    assert not undeclared, f"declare @output.reads or @output.writes on: {undeclared}"


def test_the_read_commands_are_the_ones_whose_stdout_is_their_result() -> None:
    readers = {w for w, c in _leaves(cli, "") if output.declared_reader(c)}
    assert readers == {
        "session list", "session show", "session stats", "session path", "session help",
        "session export", "prices", "doctor", "status", "tasks", "next", "history",
        "todo report", "todo list", "config check", "config detect", "completion",
        "usage daily", "usage weekly", "usage monthly", "usage session", "usage blocks",
        "hooks status", "team status", "team stats", "template list", "template show",
    }  # fmt: skip


def test_every_command_with_json_but_no_reads_is_a_writer_on_purpose() -> None:
    """A command with ``--json`` reads unless it is one of these, which store or change
    something and print a report of it."""
    with_json = {
        w for w, c in _leaves(cli, "") if any(p.name == "as_json" for p in c.params)
    }
    writers = {w for w in with_json if output.declared_reader(_command(w)) is False}
    assert writers <= {
        "run", "plan", "implement", "review", "verify", "escalate", "init", "switch",
        "features clean", "task set", "session clean", "session import", "session migrate",
        "session record", "session delete", "session repair", "install claude-commands",
        "uninstall claude-commands", "hooks install", "hooks uninstall", "usage sync",
        "team init", "team push", "report", "demo", "session pin", "session unpin",
        "session compact", "template save", "template delete", "link",
    }, writers  # fmt: skip


def _command(words: str) -> click.Command:
    return dict(_leaves(cli, ""))[words]


def test_help_groups_and_unknown_commands() -> None:
    assert stdout_is_result(cli, "", "aio") and stdout_is_result(cli, "help", "aio")
    for group in ("session", "usage", "team", "features", "todo", "config"):
        assert stdout_is_result(cli, group, "aio"), group
    assert not stdout_is_result(cli, "no-such-command", "aio")
    assert not stdout_is_result(cli, "session no-such", "aio")
    assert stdout_is_result(cli, "session list", "aio")
    assert not stdout_is_result(cli, "session record", "aio")
    assert not stdout_is_result(cli, "run", "aio")


def test_ai_session_words_start_at_the_session_group() -> None:
    from ai_orchestrator.cli.session import session

    assert stdout_is_result(session, "session list", "ai-session")
    assert not stdout_is_result(session, "session import", "ai-session")
    assert stdout_is_result(session, "session", "ai-session")

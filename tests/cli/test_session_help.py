"""``ai-session help [COMMAND]`` and ``aio session help [COMMAND]`` (the shell version's help)."""

from __future__ import annotations

from tests.helpers import aio_inprocess


def test_help_lists_every_command() -> None:
    result = aio_inprocess("help", prog="ai-session")
    assert result.code == 0 and result.err == ""
    assert result.out.startswith("Usage: ai-session")
    for command in ("list", "show", "stats", "clean", "export", "import", "help"):
        assert f"\n  {command} " in result.out


def test_help_of_one_command_is_its_full_help() -> None:
    result = aio_inprocess("help", "clean", prog="ai-session")
    assert result.code == 0
    assert result.out.startswith("Usage: ai-session clean")
    assert "--older-than" in result.out and "--dry-run" in result.out
    same = aio_inprocess("session", "help", "show")
    assert same.code == 0 and same.out.startswith("Usage: aio session show")
    assert "--last" in same.out


def test_help_of_an_unknown_command_is_exit_2() -> None:
    result = aio_inprocess("help", "nope", prog="ai-session")
    assert result.code == 2 and result.out == ""
    assert "Unknown command: 'nope'" in result.err and "list" in result.err
    assert "Traceback" not in result.err

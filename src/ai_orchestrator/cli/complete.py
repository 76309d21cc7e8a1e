"""Tab completion through click: each parameter gets the completer its name calls for.

Click asks a parameter's ``shell_complete`` for the values when the shell completes a word;
``add_completion(command)`` gives every parameter of a command (and its subcommands) the
completer its name calls for (the values come from ``cli.complete_values``). ``aio`` and
``ai-session`` usually answer without click (``cli.complete_fast``, from the description
``cli.complete_tree`` makes of these commands); click answers what that path does not
mirror.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from click.shell_completion import CompletionItem

from ai_orchestrator.cli.complete_values import COMPLETERS

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]

# (command, parameter) -> completer, where the name alone would mislead
BY_COMMAND: dict[tuple[str, str], str | None] = {
    ("run", "args"): "first_session",
    ("set", "args"): "features_then_tasks",
    ("init", "feature"): None,  # a new id: nothing to complete
    ("escalate", "to"): "agents",
}
# parameter name -> completer (the names the commands give their parameters)
BY_NAME: dict[str, str] = {
    "agent": "agents",
    "agent_choice": "agents",
    "agent_name": "agents",
    "to_agent": "agents",
    "model": "models",
    "to_model": "models",
    "feature": "features",
    "task": "tasks",
    "task_id": "tasks",
    "template": "templates",
    "template_name": "templates",
    "other": "features",
}
SESSION_PARAMS = ("name", "names", "session", "session_name", "from_session")


def _adapter(name: str) -> Completer:
    """Completer ``name`` as click calls it. A completion that cannot complete offers
    nothing: never a message in the prompt."""
    values = COMPLETERS[name]

    def complete(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        try:
            found = values(ctx.params, ctx.args, param.name or "", incomplete)
        except Exception:
            return []
        return [CompletionItem(v) for v in found]

    return complete


ADAPTERS: dict[str, Completer] = {name: _adapter(name) for name in COMPLETERS}


def add_completion(command: click.Command) -> None:
    """Give each parameter of ``command`` (and of its subcommands) its completer."""
    for param in command.params:
        key = (command.name or "", param.name or "")
        completer = BY_COMMAND[key] if key in BY_COMMAND else BY_NAME.get(param.name or "")
        if key not in BY_COMMAND and completer is None and param.name in SESSION_PARAMS:
            completer = "sessions"
        if completer is not None and _completes_values(param):
            # click's own hook for shell_complete
            param._custom_shell_complete = ADAPTERS[completer]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_completion(sub)


def _completes_values(param: Any) -> bool:
    """Flags and fixed choices complete themselves."""
    return not getattr(param, "is_flag", False) and not isinstance(
        getattr(param, "type", None), click.Choice
    )

"""The description of the command tree that tab completion reads without click.

Click's own completion imports click and the command's module: more than the 150 ms budget
(``benchmarks/bench_complete.py``). So ``aio`` and ``ai-session`` answer a completion
without click (``cli.complete_fast``) from ``complete_tree.json``: what click's completion
looks at, for every command — its subcommands (name, short help, hidden), its parameters
(option names, how many values each takes, help, hidden, which completer or choices, whether
its value is a plain string) and the parse settings. ``describe()`` makes it from the click
commands; ``make complete-tree`` (``write_tree()``) writes it, and a test fails when the
file differs from a fresh ``describe()``, so it cannot go stale unnoticed. A command whose
parameters the fast path could not mirror exactly (a callback not known to be silent while
completing, a chained group, a normalising context, …) is described as ``"fallback"``, and
a parameter type that completes in its own way as ``"unknown"``: their completions go to
click.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import click

from ai_orchestrator.cli.complete import ADAPTERS, add_completion
from ai_orchestrator.cli.complete_fast import PARAM_DEFAULTS, TREE_FILE

# Callbacks that run while click parses a completion's words and neither print nor change
# what is completed (an error in one only empties that parameter's value, which no
# completer reads). A parameter with any other callback makes its command "fallback".
SILENT_CALLBACKS = {
    "click.decorators:help_option.<locals>.show_help",
    "click.decorators:version_option.<locals>.callback",
    "ai_orchestrator.cli.output:_set_color_option",
    "ai_orchestrator.cli.usage:day_option",
    "ai_orchestrator.cli.team:_since",
}


def describe() -> dict[str, Any]:
    """What the fast path needs of ``aio`` and ``ai-session`` (see the module docstring)."""
    from ai_orchestrator.agents.registry import KNOWN_KEYS
    from ai_orchestrator.cli.root import cli
    from ai_orchestrator.cli.session import session

    programs = {}
    for prog, root in (("aio", cli), ("ai-session", session)):
        with root.make_context(prog, [], resilient_parsing=True) as ctx:
            programs[prog] = _node(root, ctx)
    click_version = importlib.metadata.version("click")
    return {"agents": list(KNOWN_KEYS), "click": click_version, "programs": programs}


def _node(command: click.Command, ctx: click.Context) -> dict[str, Any]:
    add_completion(command)
    params = [_param(p, ctx) for p in command.get_params(ctx)]
    names = [p["name"] for p in params]
    for p in params:  # two parameters storing into one name: click arbitrates the value
        if names.count(p["name"]) > 1:
            p["value"] = "unknown"
    silent = [p.pop("silent") for p in params]
    node: dict[str, Any] = {
        "interspersed": ctx.allow_interspersed_args,
        "ignore_unknown": ctx.ignore_unknown_options,
        "params": params,
    }
    mirrored = (
        ctx.token_normalize_func is None
        and ctx.default_map is None
        and ctx.auto_envvar_prefix is None
        and not getattr(command, "chain", False)
        and all(silent)
        and all(o[:1] == "-" for p in params for o in p["opts"] + p.get("secondary", []))
    )
    if not mirrored:
        node["fallback"] = True
    if isinstance(command, click.Group):
        rows = []
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None:
                continue
            with sub.make_context(name, [], parent=ctx, resilient_parsing=True) as sub_ctx:
                rows.append([name, sub.get_short_help_str(), sub.hidden, _node(sub, sub_ctx)])
        node["commands"] = rows
    return node


def _param(param: click.Parameter, ctx: click.Context) -> dict[str, Any]:
    option = isinstance(param, click.Option)
    callback = param.callback
    where = f"{getattr(callback, '__module__', '')}:{getattr(callback, '__qualname__', '')}"
    plain = (
        isinstance(param.type, click.types.StringParamType)
        and callback is None
        and param.expose_value
        and param.envvar is None
        and not param.multiple
        and param.nargs in (1, -1)
        and (param.default is None or repr(param.default) == "Sentinel.UNSET")
        and not getattr(param, "_flag_needs_value", False)
        and not getattr(param, "is_flag", False)
    )
    described = {
        "kind": "option" if option else "argument",
        "name": param.name,
        "opts": list(param.opts) if option else [],
        "secondary": list(param.secondary_opts) if option else [],
        "takes_value": not option
        or not (getattr(param, "is_flag", False) or getattr(param, "count", False)),
        "nargs": param.nargs,
        "multiple": param.multiple,
        "flag_needs_value": bool(getattr(param, "_flag_needs_value", False)),
        "hidden": bool(getattr(param, "hidden", False)),
        "required": param.required,
        "help": getattr(param, "help", None),
        "value": "plain" if plain else "unknown",
        "complete": _how_it_completes(param, ctx),
        "silent": callback is None or where in SILENT_CALLBACKS,
    }
    return {k: v for k, v in described.items() if PARAM_DEFAULTS.get(k, ...) != v}


def _how_it_completes(param: click.Parameter, ctx: click.Context) -> dict[str, Any]:
    custom = param._custom_shell_complete
    if custom is not None:
        named = [name for name, adapter in ADAPTERS.items() if adapter is custom]
        return {"type": "values", "name": named[0]} if named else {"type": "unknown"}
    kind = type(param.type).shell_complete
    if kind is click.ParamType.shell_complete:
        return {"type": "none"}
    if kind is click.Choice.shell_complete and isinstance(param.type, click.Choice):
        choices = [param.type.normalize_choice(c, ctx) for c in param.type.choices]
        return {"type": "choice", "choices": choices, "case_sensitive": param.type.case_sensitive}
    if kind is click.Path.shell_complete and isinstance(param.type, click.Path):
        folders = param.type.dir_okay and not param.type.file_okay
        return {"type": "path", "item": "dir" if folders else "file"}
    if kind is click.File.shell_complete:
        return {"type": "path", "item": "file"}
    return {"type": "unknown"}


def write_tree() -> None:
    """Write ``complete_tree.json`` from the commands as they are now."""
    # a value a line (diffable), no indentation (a third of the size: read on every completion)
    text = json.dumps(describe(), indent=0, ensure_ascii=False, sort_keys=True)
    Path(TREE_FILE).write_text(text + "\n", encoding="utf-8")

"""Tab completion without click: the same bytes click's completion prints, in a third of
its time (the budget is 150 ms including the interpreter's start; ``import click`` alone is
~65 ms, ``benchmarks/bench_complete.py``).

``answer(program)`` reads click's completion protocol (``_AIO_COMPLETE`` /
``_AI_SESSION_COMPLETE`` = ``bash_complete``, ``zsh_complete`` or ``fish_complete``, with
``COMP_WORDS`` and ``COMP_CWORD``) and walks ``complete_tree.json`` (written from the click
commands by ``cli.complete_tree.describe``; a test keeps it equal) the way click 8's
``shell_completion`` walks the commands: the words are parsed command by command as click's
parser does with ``resilient_parsing`` (``_parse``), then the word being completed is a
subcommand or option name, an option's value or an argument's value (``_resolve``), and the
values come from ``cli.complete_values``, as click's completers get them.

It returns ``None`` — the caller then runs click — for anything it does not mirror: another
instruction (``bash_source``, another shell), another click version than the tree's (what
it mirrors is that version's algorithm), a missing or unreadable tree, a command the
tree marks ``fallback``, a completer reading a parameter whose value it does not know, text
that cannot be encoded. A test runs both over many command lines for each shell and
compares the output byte for byte.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from ai_orchestrator.core import env

TREE_FILE = os.path.join(os.path.dirname(__file__), "complete_tree.json")
UNSET = object()  # click's ``UNSET``: a parameter the words gave no value
NEEDS_VALUE = object()  # click's ``FLAG_NEEDS_VALUE``: ``--agent`` without its NAME
Node = dict[str, Any]
# A parameter's fields when the tree leaves them out (``describe`` writes only the others)
PARAM_DEFAULTS: Node = {
    "secondary": [],
    "nargs": 1,
    "multiple": False,
    "flag_needs_value": False,
    "hidden": False,
    "required": False,
    "help": None,
    "value": "unknown",
    "complete": {"type": "none"},
}
Item = tuple[str, str, "str | None"]  # type, value, help: click's ``CompletionItem``


class Context:
    """What click's ``Context`` holds that completion reads."""

    def __init__(self, node: Node, parent: Context | None) -> None:
        self.node, self.parent = node, parent
        self.params: dict[str, object] = {}  # the values of the "plain" parameters
        self.from_words: set[str] = set()  # names whose source is the command line
        self.args: list[str] = []
        self.protected: list[str] = []


def answer(program: str) -> bytes | None:
    """What click would print for this completion of ``program``, or ``None`` (see above)."""
    variable = "_AIO_COMPLETE" if program == "aio" else "_AI_SESSION_COMPLETE"
    shell, _, instruction = env.get(variable).partition("_")
    if instruction != "complete" or shell not in FORMATS:
        return None
    if not (env.is_set("COMP_WORDS") and env.is_set("COMP_CWORD")):
        return None
    try:
        with open(TREE_FILE, encoding="utf-8") as file:
            tree = json.load(file)
        if not _same_click(tree["click"]):
            return None  # another click may complete otherwise: it answers itself
        root = tree["programs"][program]
        args, incomplete = _words(shell, env.get("COMP_WORDS"), env.get("COMP_CWORD"))
        items = _completions(tree, root, args, incomplete)
        if items is None:
            return None
        return ("\n".join(FORMATS[shell](*item) for item in items) + "\n").encode()
    except (OSError, ValueError, LookupError, TypeError, AttributeError):
        return None  # no tree, a tree of another shape, a COMP_CWORD click cannot read


def run(program: str) -> int | None:
    """Print the completion and return the exit code, or ``None`` for click to answer."""
    data = answer(program)
    if data is None:
        return None
    try:  # unbuffered: nothing left for the interpreter to flush into a closed pipe
        view = memoryview(data)
        while view:
            view = view[os.write(1, view) :]
    except OSError:
        return 1
    return 0


def _same_click(version: str) -> bool:
    """Whether the click installed is the one the tree was described with (this module
    mirrors that click's completion), without importing it: its ``dist-info`` directory,
    one ``stat`` per entry of ``sys.path``."""
    import sys

    marker = f"click-{version}.dist-info"
    return any(os.path.isdir(os.path.join(folder or ".", marker)) for folder in sys.path)


def _words(shell: str, words: str, cword: str) -> tuple[list[str], str]:
    """click's ``get_completion_args`` of each shell: the complete words after the
    program's name, and the word being completed."""
    cwords = _split(words)
    if shell == "fish":  # COMP_CWORD holds the partial word, which COMP_WORDS ends with
        incomplete = _split(cword)[0] if cword else ""
        args = cwords[1:]
        if incomplete and args and args[-1] == incomplete:
            args.pop()
        return args, incomplete
    index = int(cword)
    try:
        incomplete = cwords[index]
    except IndexError:
        incomplete = ""
    return cwords[1:index], incomplete


def _split(string: str) -> list[str]:
    """click's ``split_arg_string``: ``shlex`` that keeps an unfinished last word."""
    import shlex

    lex = shlex.shlex(string, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    out: list[str] = []
    try:
        out.extend(lex)
    except ValueError:
        out.append(lex.token)
    return out


def _completions(tree: Node, root: Node, args: list[str], incomplete: str) -> list[Item] | None:
    """click's ``ShellComplete.get_completions``."""
    ctx = _resolve_context(root, args)
    if ctx is None:
        return None
    # click's _resolve_incomplete: "--opt=value" completes value; "--" ends the options.
    # "-" is the one option prefix of every command (``describe`` marks any other fallback)
    if incomplete == "=":
        incomplete = ""
    elif "=" in incomplete and incomplete[:1] == "-":
        name, _, incomplete = incomplete.partition("=")
        args.append(name)
    if "--" not in args and incomplete[:1] == "-":
        return _command_items(ctx, incomplete)
    params = ctx.node["params"]
    for param in params:
        if _wants_value(args, param):
            return _param_items(tree, ctx, param, incomplete)
    for param in params:
        if param["kind"] == "argument" and (
            param["nargs"] == -1 or param["name"] not in ctx.from_words
        ):
            return _param_items(tree, ctx, param, incomplete)
    return _command_items(ctx, incomplete)


def _resolve_context(root: Node, args: list[str]) -> Context | None:
    """click's ``_resolve_context``: the context of the last command the words name."""
    ctx = _context(root, list(args), None)
    while ctx is not None and "commands" in ctx.node:
        rest = ctx.protected + ctx.args
        if not rest:
            break
        sub = next((row[3] for row in ctx.node["commands"] if row[0] == rest[0]), None)
        if sub is None:
            break
        ctx = _context(sub, rest[1:], ctx)
    return ctx


def _wants_value(args: list[str], param: Node) -> bool:
    """click's ``_is_incomplete_option``: the last complete words are this option's name
    and fewer values than it takes."""
    if param["kind"] != "option" or not param["takes_value"]:
        return False
    for index, arg in enumerate(reversed(args)):
        if index + 1 > param["nargs"]:
            return False
        if arg[:1] == "-":
            return arg in param["opts"]
    return False


def _command_items(ctx: Context, incomplete: str) -> list[Item]:
    """click's ``Group.shell_complete`` / ``Command.shell_complete``: subcommands, then the
    options not given yet when the word starts like one."""
    items: list[Item] = [
        ("plain", name, short)
        for name, short, hidden, _ in ctx.node.get("commands", ())
        if name.startswith(incomplete) and not hidden
    ]
    if incomplete and not incomplete[0].isalnum():
        for param in ctx.node["params"]:
            given = not param["multiple"] and param["name"] in ctx.from_words
            if param["kind"] != "option" or param["hidden"] or given:
                continue
            names = param["opts"] + param["secondary"]
            items += [("plain", n, param["help"]) for n in names if n.startswith(incomplete)]
    return items


def _param_items(tree: Node, ctx: Context, param: Node, incomplete: str) -> list[Item] | None:
    """click's ``Parameter.shell_complete``: the completer's values, or the type's."""
    how = param["complete"]
    kind = how["type"]
    if kind == "none":
        return []
    if kind == "choice":
        if how["case_sensitive"]:
            return [("plain", c, None) for c in how["choices"] if c.startswith(incomplete)]
        low = incomplete.lower()
        return [("plain", c, None) for c in how["choices"] if c.lower().startswith(low)]
    if kind == "path":
        return [(how["item"], incomplete, None)]
    if kind != "values":
        return None
    name = how["name"]
    if name == "agents":  # the registry's keys, as described (importing it costs ~10 ms)
        return [("plain", a, None) for a in sorted(set(tree["agents"])) if a.startswith(incomplete)]
    from ai_orchestrator.cli.complete_values import COMPLETERS, READS

    declared = {p["name"] for p in ctx.node["params"]}
    for read in READS.get(name, ()):
        if (read or param["name"]) in declared and (read or param["name"]) not in ctx.params:
            return None  # a value click would have converted or arbitrated: ask click
    try:
        found = COMPLETERS[name](ctx.params, ctx.args, param["name"] or "", incomplete)
    except Exception:  # as cli.complete's adapter: a completer that fails offers nothing
        return []
    return [("plain", value, None) for value in found]


def _context(node: Node, args: list[str], parent: Context | None) -> Context | None:
    """click's ``Command.make_context`` with ``resilient_parsing``: the parameters' sources
    and plain values, and the words left over."""
    if node.get("fallback"):
        return None
    if not node.get("filled"):
        node["params"] = [{**PARAM_DEFAULTS, **param} for param in node["params"]]
        node["filled"] = True
    ctx = Context(node, parent)
    opts, rest = _parse(node, args)
    ctx.from_words = {name for name, value in opts.items() if value is not UNSET}
    for param in node["params"]:
        if param["value"] != "plain":
            continue
        raw = opts.get(param["name"], UNSET)
        if param["nargs"] == -1:
            value: object = () if raw is UNSET else tuple(raw)  # type: ignore[arg-type]
            ctx.params[param["name"]] = None if param["required"] and not value else value
        else:
            ctx.params[param["name"]] = None if raw is UNSET else raw
    if "commands" in node:  # a group keeps the subcommand's name apart
        ctx.protected, ctx.args = rest[:1], rest[1:]
    else:
        ctx.args = rest
    return ctx


def _parse(node: Node, args: list[str]) -> tuple[dict[str, object], list[str]]:
    """click's ``_OptionParser.parse_args`` in resilient mode: the values by parameter name
    and the words left; a usage error (``ValueError``; ``LookupError``: no such option)
    stops the parse where it is, arguments unassigned, as click's does."""
    short: dict[str, Node] = {}
    long: dict[str, Node] = {}
    for param in node["params"]:
        for opt in param["opts"] + param["secondary"]:
            prefix, rest = _split_opt(opt)
            (short if len(prefix) == 1 and len(rest) == 1 else long)[opt] = param
    opts: dict[str, object] = {}
    largs: list[str] = []
    rargs = list(args)
    ignore_unknown = node["ignore_unknown"]

    def store(param: Node, value: object) -> None:
        if param["multiple"]:  # the values themselves matter only for plain parameters
            opts[param["name"]] = [value]
        else:
            opts[param["name"]] = value  # a flag's constant or a count: never UNSET

    def value_of(param: Node) -> object:
        nargs = param["nargs"]
        if len(rargs) < nargs:
            if param["flag_needs_value"]:
                return NEEDS_VALUE
            raise ValueError("requires an argument")
        if nargs == 1:
            following = rargs[0]
            if param["flag_needs_value"] and following[:1] == "-" and len(following) > 1:
                return NEEDS_VALUE
            return rargs.pop(0)
        value = tuple(rargs[:nargs])
        del rargs[:nargs]
        return value

    def match_long(opt: str, explicit: str | None) -> None:
        param = long.get(opt)
        if param is None:
            raise LookupError(opt)
        if param["takes_value"]:
            if explicit is not None:
                rargs.insert(0, explicit)
            store(param, value_of(param))
        elif explicit is not None:
            raise ValueError("does not take a value")
        else:
            store(param, True)

    def match_short(arg: str) -> None:
        prefix, unknown = arg[0], []
        for i, ch in enumerate(arg[1:], start=2):
            param = short.get(prefix + ch)
            if param is None:
                if ignore_unknown:
                    unknown.append(ch)
                    continue
                raise LookupError(prefix + ch)
            if not param["takes_value"]:
                store(param, True)
                continue
            if i < len(arg):  # the rest of the word is the value
                rargs.insert(0, arg[i:])
            store(param, value_of(param))
            if i < len(arg):
                break
        if ignore_unknown and unknown:
            largs.append(prefix + "".join(unknown))

    def match(arg: str) -> None:
        opt, eq, explicit = arg.partition("=")
        try:
            match_long(opt, explicit if eq else None)
        except LookupError:
            if arg[:2] != "--":
                match_short(arg)
            elif ignore_unknown:
                largs.append(arg)
            else:
                raise

    try:
        while rargs:
            arg = rargs.pop(0)
            if arg == "--":
                break
            if arg[:1] == "-" and len(arg) > 1:
                match(arg)
            elif node["interspersed"]:
                largs.append(arg)
            else:
                rargs.insert(0, arg)
                break
        arguments = [p for p in node["params"] if p["kind"] == "argument"]
        values, left = _unpack(largs + rargs, [p["nargs"] for p in arguments])
        for param, value in zip(arguments, values, strict=True):
            if param["nargs"] > 1 and isinstance(value, tuple):
                holes = sum(v is UNSET for v in value)
                if holes == len(value):
                    value = UNSET
                elif holes:
                    raise ValueError("takes more values")
            opts[param["name"]] = UNSET if value == () else value
        largs = left
    except (LookupError, ValueError):
        pass
    return opts, largs


def _split_opt(opt: str) -> tuple[str, str]:
    first = opt[:1]
    if first.isalnum():
        return "", opt
    if opt[1:2] == first:
        return opt[:2], opt[2:]
    return first, opt[1:]


def _unpack(args: list[str], nargs_spec: list[int]) -> tuple[list[object], list[str]]:
    """click's ``_unpack_args``: each argument's words (``UNSET`` where none was given; a
    ``nargs=-1`` argument takes what the ones after it leave), and the words left over."""
    words = list(args)
    values: list[object] = []
    star: int | None = None

    def fetch() -> object:
        if not words:
            return UNSET
        return words.pop(0) if star is None else words.pop()

    spec = list(nargs_spec)
    while spec:
        nargs = spec.pop(0) if star is None else spec.pop()
        if nargs == 1:
            values.append(fetch())
        elif nargs > 1:
            taken = [fetch() for _ in range(nargs)]
            if star is not None:
                taken.reverse()
            values.append(tuple(taken))
        elif nargs < 0:
            star = len(values)
            values.append(UNSET)
    if star is not None:
        values[star] = tuple(words)
        words = []
        values[star + 1 :] = reversed(values[star + 1 :])
    return values, words


def _bash(kind: str, value: str, help: str | None) -> str:
    return f"{kind},{value}"


def _zsh(kind: str, value: str, help: str | None) -> str:
    shown = help or "_"
    if shown != "_":  # _describe splits value and help at the first unescaped colon
        value = value.replace(":", r"\:")
    return f"{kind}\n{value}\n{shown}"


def _fish(kind: str, value: str, help: str | None) -> str:
    if help:
        shown = help.replace("\n", "\\n").replace("\t", " ")
        return f"{kind},{value}\t{shown}"
    return f"{kind},{value}"


FORMATS: dict[str, Callable[[str, str, str | None], str]] = {
    "bash": _bash,
    "zsh": _zsh,
    "fish": _fish,
}

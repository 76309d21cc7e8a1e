"""Tab completion of values: agent names, models, session names, feature ids and task ids.

Click asks a parameter's ``shell_complete`` for the values when the shell completes a word;
``add_completion(command)`` gives every parameter of a command (and its subcommands) the
completer its name calls for. Completers read only what is cheap and already there, and
never fail (a missing store, project or plan completes nothing):

- agents: the registry's keys; models: the short aliases, and the models of the
  ``RECENT_SESSIONS`` sessions used last, from the store's index (``index.sqlite``,
  read-only, one query; every session's would cost 100 ms at 10,000 sessions) — the index
  is a cache, so a store never listed yet offers the aliases only;
- sessions: the store's directory names; features: ``.aio/features/``; tasks: the ids in
  the plan of the feature on the command line, else the current one; templates: the names
  under ``SESSION_DIR/templates/``.

The budget is 150 ms per completion (``benchmarks/bench_complete.py``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

ALIASES = ("opus", "sonnet", "haiku")
RECENT_SESSIONS = 1000
Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def _items(values: Iterable[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(v) for v in sorted(set(values)) if v.startswith(incomplete)]


def agents(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from ai_orchestrator.agents.registry import KNOWN_KEYS

    return _items(KNOWN_KEYS, incomplete)


def _store_root() -> Path:
    """``store.session_store.default_store_root`` without importing the store package (its
    modules would be most of a completion's time): ``core.env.session_dir`` (stdlib only);
    a test keeps the two equal."""
    from ai_orchestrator.core import env

    return Path(env.session_dir())


def models(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    import sqlite3

    found = set(ALIASES)
    index = _store_root() / "index.sqlite"
    if index.is_file():
        with contextlib.suppress(sqlite3.Error):
            conn = sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=0.05)
            try:
                # the index keeps each session's summary document in ``docs`` (store/index.py)
                rows = conn.execute(
                    "WITH recent AS (SELECT CAST(doc AS TEXT) AS doc FROM docs WHERE name IN"
                    " (SELECT name FROM sessions ORDER BY last_activity DESC LIMIT ?))"
                    " SELECT DISTINCT key FROM recent, json_each(recent.doc, '$.by_model')"
                    " UNION SELECT DISTINCT json_extract(doc, '$.model') FROM recent",
                    (RECENT_SESSIONS,),
                ).fetchall()
            finally:
                conn.close()
            found |= {r[0] for r in rows if isinstance(r[0], str) and r[0]}
    return _items(found, incomplete)


def sessions(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    names: list[str] = []
    with contextlib.suppress(OSError), os.scandir(_store_root()) as entries:
        names = [e.name for e in entries if not e.name.startswith(".") and e.is_dir()]
    return _items((n for n in names if "-" in n), incomplete)


def _features_dir() -> Path | None:
    from ai_orchestrator.core.errors import AioError
    from ai_orchestrator.workflow.project.workspace import Workspace

    try:
        return Workspace.find().features_dir
    except (AioError, OSError):
        return None


def features(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    root = _features_dir()
    names: list[str] = []
    if root is not None:
        with contextlib.suppress(OSError), os.scandir(root) as entries:
            names = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
    return _items(names, incomplete)


def tasks(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    import yaml

    from ai_orchestrator.core.errors import AioError
    from ai_orchestrator.workflow.model.plan import plan_from_data
    from ai_orchestrator.workflow.project.workspace import Workspace

    try:
        ws = Workspace.find()
        # while completing, click leaves the words before the cursor in ctx.args
        words = [ctx.params.get("feature"), *ctx.args]
        named = [w for w in words if isinstance(w, str) and w in ws.feature_ids()]
        feature = ws.resolve_feature(named[0] if named else None)
        # what ``feature.load_plan`` reads, without that module (it imports the store), and
        # with libyaml's parser where PyYAML has it: a tenth of the pure-Python one's time
        plan_file = ws.feature(feature).plan_file
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        text = plan_file.read_text(encoding="utf-8") if plan_file.is_file() else None
        plan = plan_from_data(yaml.load(text, Loader=loader)) if text is not None else None
    except (AioError, OSError, ValueError, yaml.YAMLError):
        return []
    return _items((t.id for t in plan.tasks()) if plan else (), incomplete)


def first_session(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """``aio run [SESSION] PROMPT``: sessions for the first word only."""
    return [] if ctx.params.get(param.name or "") else sessions(ctx, param, incomplete)


def features_then_tasks(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """``aio task set [FEATURE] TASK``: features and the current feature's tasks."""
    return features(ctx, param, incomplete) + tasks(ctx, param, incomplete)


def templates(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Session template names (``SESSION_DIR/templates/<name>.json``)."""
    folder = _store_root() / "templates"
    names = [p.stem for p in folder.glob("*.json")] if folder.is_dir() else []
    return _items(names, incomplete)


# (command, parameter) -> completer, where the name alone would mislead
BY_COMMAND: dict[tuple[str, str], Completer | None] = {
    ("run", "args"): first_session,
    ("set", "args"): features_then_tasks,
    ("init", "feature"): None,  # a new id: nothing to complete
    ("escalate", "to"): agents,
}
# parameter name -> completer (the names the commands give their parameters)
BY_NAME: dict[str, Completer] = {
    "agent": agents,
    "agent_choice": agents,
    "agent_name": agents,
    "to_agent": agents,
    "model": models,
    "to_model": models,
    "feature": features,
    "task": tasks,
    "task_id": tasks,
    "template": templates,
    "template_name": templates,
    "other": features,
}
SESSION_PARAMS = ("name", "names", "session", "session_name", "from_session")


def add_completion(command: click.Command) -> None:
    """Give each parameter of ``command`` (and of its subcommands) its completer."""
    for param in command.params:
        key = (command.name or "", param.name or "")
        completer = BY_COMMAND[key] if key in BY_COMMAND else BY_NAME.get(param.name or "")
        if key not in BY_COMMAND and completer is None and param.name in SESSION_PARAMS:
            completer = sessions
        if completer is not None and _completes_values(param):
            # click's own hook for shell_complete
            param._custom_shell_complete = _never_failing(completer)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_completion(sub)


def _never_failing(completer: Completer) -> Completer:
    """A completion that cannot complete offers nothing: never a message in the prompt."""

    def complete(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        try:
            return completer(ctx, param, incomplete)
        except Exception:
            return []

    return complete


def _completes_values(param: Any) -> bool:
    """Flags and fixed choices complete themselves."""
    return not getattr(param, "is_flag", False) and not isinstance(
        getattr(param, "type", None), click.Choice
    )

"""The values tab completion offers: agent names, models, session names, feature ids, task
ids and template names. No click: click's completion (``cli.complete``) and the click-free
fast path (``cli.complete_fast``) both call these, so both offer the same words.

Each completer is ``(params, args, name, incomplete) -> sorted values``: the values of the
command's parameters parsed so far (click's ``ctx.params``), the words click left unparsed
(``ctx.args``), the completing parameter's name and the word typed so far. ``READS`` names
the parameters a completer looks at (the fast path answers only when it knows their values).
Completers read only what is cheap and already there, and never fail (a missing store,
project or plan completes nothing; a caller treats an exception as no values):

- agents: the registry's keys; models: the short aliases, and the models of the
  ``RECENT_SESSIONS`` sessions used last, from the store's index (``index.sqlite``,
  read-only, one query; every session's would cost 100 ms at 10,000 sessions) — the index
  is a cache, so a store never listed yet offers the aliases only;
- sessions: the store's directory names (one ``scandir``, no call per session);
  features: ``.aio/features/``; tasks: the ids in the plan of the feature on the command
  line, else the current one; templates: the names under ``SESSION_DIR/templates/``.

The budget is 150 ms per completion (``benchmarks/bench_complete.py``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence

ALIASES = ("opus", "sonnet", "haiku")
RECENT_SESSIONS = 1000
Values = Callable[[Mapping[str, object], Sequence[str], str, str], list[str]]


def _matching(values: Iterable[str], incomplete: str) -> list[str]:
    return [v for v in sorted(set(values)) if v.startswith(incomplete)]


def agents(
    params: Mapping[str, object], args: Sequence[str], name: str, incomplete: str
) -> list[str]:
    from ai_orchestrator.agents.registry import KNOWN_KEYS

    return _matching(KNOWN_KEYS, incomplete)


def store_root() -> str:
    """``store.session_store.default_store_root`` without importing the store package (its
    modules would be most of a completion's time): ``core.env.session_dir`` (stdlib only; a
    string, so that listing sessions needs no ``pathlib``); a test keeps the two equal."""
    from ai_orchestrator.core import env

    return env.session_dir()


def models(
    params: Mapping[str, object], args: Sequence[str], name: str, incomplete: str
) -> list[str]:
    import sqlite3

    found = set(ALIASES)
    index = os.path.join(store_root(), "index.sqlite")
    if os.path.isfile(index):
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
    return _matching(found, incomplete)


def sessions(
    params: Mapping[str, object], args: Sequence[str], name: str, incomplete: str
) -> list[str]:
    names: list[str] = []
    # the entry's type comes with the listing (d_type): no system call per session
    with contextlib.suppress(OSError), os.scandir(store_root()) as entries:
        names = [e.name for e in entries if not e.name.startswith(".") and e.is_dir()]
    return _matching((n for n in names if "-" in n), incomplete)


def features(
    params: Mapping[str, object], args: Sequence[str], name: str, incomplete: str
) -> list[str]:
    # ``Workspace.find().features_dir`` without the workspace module (its file-writing and
    # locking modules would be a third of the completion's time): a project without
    # ``.aio/`` has no such directory, and the listing fails as Workspace.find would
    from ai_orchestrator.workflow.project.location import AIO_DIR, find_project_root

    names: list[str] = []
    with contextlib.suppress(OSError):
        root = find_project_root()
        if root is not None:
            with os.scandir(root / AIO_DIR / "features") as entries:
                names = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
    return _matching(names, incomplete)


def tasks(
    params: Mapping[str, object], args: Sequence[str], name: str, incomplete: str
) -> list[str]:
    # what ``Workspace.resolve_feature`` and ``feature.load_plan`` do, without their modules
    # (the workspace's locking and writing, the plan's dataclasses: half this completion's
    # time), and with libyaml's parser where PyYAML has it (a tenth of the pure-Python one's)
    import yaml

    from ai_orchestrator.workflow.model.plan_data import task_ids
    from ai_orchestrator.workflow.project import location

    try:
        root = location.find_project_root()
        aio_dir = None if root is None else root / location.AIO_DIR
        known = [] if aio_dir is None else location.feature_ids(aio_dir)
        # while completing, click leaves the words before the cursor in ctx.args
        words = [params.get("feature"), *args]
        named = [w for w in words if isinstance(w, str) and w in known]
        feature = named[0] if named else (aio_dir and location.current_feature(aio_dir))
        if aio_dir is None or feature not in known:
            return []  # no project, no such feature, no current one
        plan_file = aio_dir / "features" / str(feature) / "plan.yaml"
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        text = plan_file.read_text(encoding="utf-8") if plan_file.is_file() else None
        ids = task_ids(yaml.load(text, Loader=loader)) if text is not None else []
    except (OSError, ValueError, yaml.YAMLError):
        return []
    return _matching(ids, incomplete)


def first_session(
    params: Mapping[str, object], args: Sequence[str], name: str, incomplete: str
) -> list[str]:
    """``aio run [SESSION] PROMPT``: sessions for the first word only."""
    return [] if params.get(name) else sessions(params, args, name, incomplete)


def features_then_tasks(
    params: Mapping[str, object], args: Sequence[str], name: str, incomplete: str
) -> list[str]:
    """``aio task set [FEATURE] TASK``: features and the current feature's tasks."""
    return features(params, args, name, incomplete) + tasks(params, args, name, incomplete)


def templates(
    params: Mapping[str, object], args: Sequence[str], name: str, incomplete: str
) -> list[str]:
    """Session template names (``SESSION_DIR/templates/<name>.json``)."""
    from pathlib import Path

    folder = Path(store_root(), "templates")
    names = [p.stem for p in folder.glob("*.json")] if folder.is_dir() else []
    return _matching(names, incomplete)


COMPLETERS: dict[str, Values] = {
    "agents": agents,
    "models": models,
    "sessions": sessions,
    "features": features,
    "tasks": tasks,
    "first_session": first_session,
    "features_then_tasks": features_then_tasks,
    "templates": templates,
}
# the parameters each completer reads from ``params`` ("" is the completing parameter)
READS: dict[str, tuple[str, ...]] = {
    "tasks": ("feature",),
    "features_then_tasks": ("feature",),
    "first_session": ("",),
}

"""One backend, one place: no module outside a backend's own names that backend.

The rule, checked by parsing ``src/`` with ``ast`` (nothing is imported):

    A string constant equal to a backend key (the keys of ``agents/registry.py``'s
    ``_BACKENDS``, read from its source, so a new backend is covered the moment it is
    registered) appears only in
    - ``agents/registry.py`` (one line per backend, and ``DEFAULT_AGENT``);
    - the backend's own modules: ``agents/<key>.py``, ``agents/<key>_*.py`` and
      ``agents/homes/<key>_*.py`` — and each names only its own key;
    - the documented exceptions in ``EXCEPTIONS`` below, each with its reason.

A per-agent branch (``if agent == "claude"``), a per-agent table (``{"claude": …}``) or a
default (``agent="claude"``) all need the literal, so all are caught; what a caller needs to
know about a backend it reads from the declaration instead (``registry.capabilities(key)``,
``agents.base.Capabilities``). An exception that is no longer needed fails too, so the list
stays exact.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.test_architecture import nodes_of

PACKAGE = "ai_orchestrator"
SRC = Path(__file__).resolve().parent.parent / "src" / PACKAGE
REGISTRY = "agents/registry.py"

# module (relative to the package) -> (the keys it may name, why it cannot ask the registry)
EXCEPTIONS: dict[str, tuple[frozenset[str], str]] = {
    "agents/homes/locations.py": (
        frozenset({"claude"}),
        "the directory name ~/.config/claude: the stdlib-only spelling of where each CLI "
        "keeps its files, imported by the hook and the usage index on every run without "
        "the adapters",
    ),
    "accounting/model_names.py": (
        frozenset({"claude", "gemini", "codex"}),
        "model-name prefixes of the price data (claude-*, gemini-*, codex-mini), not agent "
        "keys; accounting may not import agents",
    ),
    "store/legacy.py": (
        frozenset({"claude"}),
        "the shell version's records name no agent: it only ever ran Claude Code (a frozen "
        "data format); store may not import agents",
    ),
    "workflow/demo.py": (
        frozenset({"scripted"}),
        "the offline demo is built on the scripted agent by design (its home directory)",
    ),
    # The usage index reads the files of every agent session on this machine (most of them
    # never run by aio) and installs hooks into each CLI's own settings: its vocabulary is
    # the *file kind* of those files and settings (claude, codex, gemini, gemini-json), which
    # shares its spelling with the backend keys (where each kind is found comes from the
    # backends' ``Capabilities.session_files``; how it is parsed is here). Moving the readers
    # into the backends is the next step for this room; until then these are its per-kind
    # modules.
    "usage/aio_source.py": (frozenset({"claude"}), "the usage index: Claude message ids"),
    "usage/hooks.py": (
        frozenset({"claude", "gemini", "codex"}),
        "the usage index: hooks installed into each CLI's settings file",
    ),
    "usage/opencode_db.py": (
        frozenset({"opencode"}),
        "the usage index: OpenCode's SQLite store, read by a watermark",
    ),
    "usage/parsers.py": (
        frozenset({"claude", "gemini", "codex", "qwen"}),
        "the usage index: one parser per file kind",
    ),
    "usage/sources.py": (
        frozenset({"claude", "gemini", "codex", "qwen", "opencode"}),
        "the usage index: the file kinds and where they are found",
    ),
    "usage/statusline.py": (
        frozenset({"claude"}),
        "the usage index: Claude Code's status line (no other CLI has one)",
    ),
    "usage/sync.py": (frozenset({"gemini"}), "the usage index: gemini's two file kinds"),
}


def backend_keys() -> list[str]:
    """The keys of ``_BACKENDS`` in ``agents/registry.py``, read from its source."""
    for node in nodes_of(SRC / REGISTRY):
        target: ast.expr | None = None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id == "_BACKENDS":
            assert isinstance(value, ast.Dict), "_BACKENDS must stay a literal dict"
            keys = [k.value for k in value.keys if isinstance(k, ast.Constant)]
            assert all(isinstance(k, str) for k in keys)
            return [str(k) for k in keys]
    raise AssertionError(f"no _BACKENDS table in {REGISTRY}")


def owner(rel: str, keys: list[str]) -> str | None:
    """The backend whose own module ``rel`` is (``agents/<key>.py``, ``agents/<key>_*.py``,
    ``agents/homes/<key>_*.py``), else ``None``."""
    parts = rel.split("/")
    if parts[0] != "agents" or len(parts) not in (2, 3):
        return None
    if len(parts) == 3 and parts[1] != "homes":
        return None
    stem = parts[-1].removesuffix(".py")
    for key in keys:
        if (len(parts) == 2 and stem == key) or stem.startswith(key + "_"):
            return key
    return None


def named_keys(path: Path, keys: list[str]) -> list[tuple[str, int]]:
    """Every (key, line) where a string constant of ``path`` equals a backend key."""
    return sorted(
        (node.value, node.lineno)
        for node in nodes_of(path)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in keys
    )


def modules() -> list[tuple[str, Path]]:
    return sorted(
        (path.relative_to(SRC).as_posix(), path)
        for path in SRC.rglob("*.py")
        if "__pycache__" not in path.parts
    )


def test_the_registry_knows_the_backends() -> None:
    assert {"claude", "gemini", "codex", "scripted"} <= set(backend_keys())


def test_only_a_backends_own_modules_and_the_registry_name_it() -> None:
    keys = backend_keys()
    problems = []
    for rel, path in modules():
        if rel == REGISTRY:
            continue
        mine = owner(rel, keys)
        allowed = EXCEPTIONS.get(rel, (frozenset(), ""))[0] | ({mine} if mine else set())
        for key, line in named_keys(path, keys):
            if key not in allowed:
                problems.append(f"{rel}:{line} names the agent {key!r}")
    assert not problems, (
        "ask the backend's declaration (registry.capabilities) instead of naming it:\n"
        + "\n".join(problems)
    )


def test_every_exception_is_still_needed() -> None:
    keys = backend_keys()
    stale = []
    for rel, (allowed, reason) in EXCEPTIONS.items():
        assert reason, f"{rel}: an exception needs its reason"
        path = SRC / rel
        found = {key for key, _ in named_keys(path, keys)} if path.exists() else set()
        if not allowed <= found:
            stale.append(f"{rel}: no longer names {sorted(allowed - found)}")
    assert not stale, "drop these from EXCEPTIONS:\n" + "\n".join(stale)


def test_the_registry_names_each_backend_once_plus_the_default() -> None:
    keys = backend_keys()
    counts = {key: 0 for key in keys}
    for key, _ in named_keys(SRC / REGISTRY, keys):
        counts[key] += 1
    default = next(
        node.value.value
        for node in nodes_of(SRC / REGISTRY)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "DEFAULT_AGENT" for t in node.targets)
        and isinstance(node.value, ast.Constant)
    )
    counts[str(default)] -= 1
    assert counts == {key: 1 for key in keys}


def test_the_rule_catches_a_branch_a_table_and_a_default(tmp_path: Path) -> None:
    """The check itself can fail: each shape of naming an agent is found."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        'def f(agent):\n'
        '    if agent == "gemini":\n'
        '        return 1\n'
        'TABLE = {"codex": "openai"}\n'
        'def g(agent="claude"):\n'
        '    return f"{agent}-claude"\n',  # not a key: a longer string
        encoding="utf-8",
    )
    assert named_keys(sample, backend_keys()) == [("claude", 5), ("codex", 4), ("gemini", 2)]


def test_ownership_by_module_name() -> None:
    keys = backend_keys()
    assert owner("agents/claude.py", keys) == "claude"
    assert owner("agents/claude_usage.py", keys) == "claude"
    assert owner("agents/homes/claude_transcript.py", keys) == "claude"
    assert owner("agents/scripted_cli.py", keys) == "scripted"
    assert owner("agents/registry.py", keys) is None
    assert owner("agents/process/claude_x.py", keys) is None
    assert owner("usage/claude.py", keys) is None
    assert owner("agents/claudex.py", keys) is None

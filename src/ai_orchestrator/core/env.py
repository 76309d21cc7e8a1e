"""Every environment variable aio reads, with its meaning, and the paths they decide.

The one module that touches ``os.environ`` (``tests/test_architecture.py`` checks it): a
reader calls ``get(NAME)``, and ``NAME`` must be declared in ``VARIABLES`` (an undeclared
name raises ``KeyError``, so a new variable cannot go undocumented). The README's
environment table is checked against ``VARIABLES`` by ``tests/core/test_env.py``.

Paths computed from the environment live here too, once each: the session store
(``session_dir``), its usage directory (``usage_dir``), aio's cache and config directories
(``cache_dir``, ``config_dir``) and the scripted agent's home (``scripted_home``). The agent
CLIs' own homes are in ``agents/homes/locations.py`` (they read ``get`` too).

Invariant: standard library only, importing nothing of ours and nothing heavy: ``aio hook``
and ``aio statusline`` import it on their fast path. Paths are strings (``os.path``), so the
hook need not import ``pathlib``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

VARIABLES: dict[str, str] = {
    "SESSION_DIR": "Session store location (default `~/.ai-sessions`).",
    "USE_SESSIONS": "`true` (default) resumes stored conversations; `false` starts fresh ones.",
    "AI_MODEL": "Default model: `sonnet`, `opus`, `haiku` or a full model id.",
    "AIO_AGENT": "Default agent for `aio run` (default `claude`).",
    "AIO_AGENT_<KEY>_EXECUTABLE": "Binary for agent KEY (`CLAUDE`, `GEMINI`, `CODEX`, ...).",
    "AIO_AGENT_<KEY>_EXTRA_ARGS": "Extra arguments for agent KEY (split like a shell would).",
    "AIO_SCRIPTED_SCENARIO": "Scenario file of the offline `scripted` agent.",
    "AIO_SCRIPTED_HOME": "State directory of the `scripted` agent (default `~/.aio-scripted`).",
    "TODO_FILE": "Session todo log (default `$SESSION_DIR/todos.jsonl`).",
    "AIO_PROJECT_DIR": "Project root holding `.aio/` (default: found from the current directory).",
    "AIO_FSYNC": "`0` skips fsync (faster; a power cut might lose the last writes).",
    "AIO_DEBUG": "Tracebacks for internal errors and a trace of each agent launch on stderr.",
    "CLAUDE_CONFIG_DIR": "Claude Code's home (one path or a comma-separated list).",
    "CODEX_HOME": "Codex CLI's home (default `~/.codex`).",
    "GEMINI_CLI_HOME": "The directory holding Gemini CLI's `.gemini` (default `~`).",
    "IS_SANDBOX": "`1`: Claude Code may bypass permissions as root (a container or sandbox).",
    "AIO_TEAM_DB": "The team database for `aio team` (libpq connection string or URL).",
    "AIO_TEAM_USER": "The user name on rows pushed to the team database.",
    "AIO_TEAM_BATCH_ROWS": "Rows per team push transaction (default 10,000).",
    "AIO_COMPACT_THRESHOLD": "When to compact a conversation: a window fraction, `80%` or `off`.",
    "PGPASSWORD": "libpq's password variable: masked in every message of `aio team`.",
    "XDG_CONFIG_HOME": "Where the user config `aio/config.toml` is read (default `~/.config`).",
    "XDG_CACHE_HOME": "Where aio keeps its caches, `ai-orchestrator/` (default `~/.cache`).",
    "XDG_DATA_HOME": "Where OpenCode keeps `opencode/opencode.db` (default `~/.local/share`).",
    "OPENCODE_DB": "OpenCode's SQLite store (absolute, or relative to its data directory).",
    "QWEN_HOME": "Qwen Code's directory (default `~/.qwen`), where its chat files are.",
    "HOME": "The user's home (the default of every path above).",
    "USER": "The login name on team rows when the system has none (`aio team`).",
    "NO_COLOR": "No colour and no other escape sequence; `--color always` overrides it.",
    "TZ": "The time zone of local dates (usage reports, `aio report`), as the C library reads it.",
    "TZDIR": "Where the C library finds the zone file `TZ` names (default `/usr/share/zoneinfo`).",
    "PYTHONPATH": "Kept, with aio's package prepended, for the `scripted` agent's process.",
    "_AIO_COMPLETE": "Set by the shell completion script of `aio` (click's protocol).",
    "_AI_SESSION_COMPLETE": "Set by the shell completion script of `ai-session`.",
    "COMP_WORDS": "The command line being completed (set by the completion scripts).",
    "COMP_CWORD": "The index (fish: the text) of the word being completed (ditto).",
}
"""Name -> one line saying what it does. ``<KEY>`` stands for an agent key in capitals."""

LIBPQ_PREFIX = "PG"
"""libpq reads its own ``PG*`` variables (``PGHOST``, ``PGSERVICE``, ...); aio only passes
the environment on (``environ``) and checks whether any is set (``libpq_set``)."""

_PATTERNS = [
    re.compile("^" + re.escape(name).replace("<KEY>", "[A-Z0-9_]+") + "$")
    for name in VARIABLES
    if "<KEY>" in name
]


def _declared(name: str) -> str:
    if name not in VARIABLES and not any(p.match(name) for p in _PATTERNS):
        raise KeyError(f"{name} is not declared in ai_orchestrator.core.env.VARIABLES")
    return name


def get(name: str, default: str = "", env: Mapping[str, str] | None = None) -> str:
    """The value of the declared variable ``name`` (``default`` when unset or empty)."""
    value = (os.environ if env is None else env).get(_declared(name))
    return value if value else default


def is_set(name: str) -> bool:
    """Whether ``name`` is in the environment at all (even empty)."""
    return _declared(name) in os.environ


def put(name: str, value: str | None) -> None:
    """Set (``None``: remove) a declared variable for this process and its children."""
    if value is None:
        os.environ.pop(_declared(name), None)
    else:
        os.environ[_declared(name)] = value


def environ() -> dict[str, str]:
    """A copy of the whole environment: what a child process inherits, and what libpq and
    the launch trace read (they pass it on; aio reads only the declared names)."""
    return dict(os.environ)


def libpq_set(names: tuple[str, ...], env: Mapping[str, str] | None = None) -> bool:
    """Whether any of libpq's variables ``names`` is set (non-empty)."""
    source = os.environ if env is None else env
    return any(source.get(name) for name in names if name.startswith(LIBPQ_PREFIX))


# --- paths ---------------------------------------------------------------------------------


def home(env: Mapping[str, str] | None = None) -> str:
    """The user's home: ``$HOME`` when set in ``env``, else the system's answer."""
    return get("HOME", env=env) or os.path.expanduser("~")


def session_dir(env: Mapping[str, str] | None = None) -> str:
    """The session store as given: ``$SESSION_DIR``, else ``~/.ai-sessions`` (not resolved)."""
    return get("SESSION_DIR", env=env) or os.path.join(os.path.expanduser("~"), ".ai-sessions")


USAGE_DIR = "usage"
"""The usage index's directory inside the store (``usage/index.sqlite``, ``usage/spool``)."""


def usage_dir(env: Mapping[str, str] | None = None) -> str:
    """``$SESSION_DIR/usage``: the usage index and the hook spool."""
    return os.path.join(session_dir(env), USAGE_DIR)


def cache_dir(env: Mapping[str, str] | None = None) -> str:
    """``$XDG_CACHE_HOME/ai-orchestrator`` (default ``~/.cache/ai-orchestrator``)."""
    base = get("XDG_CACHE_HOME", env=env) or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ai-orchestrator")


def config_dir(env: Mapping[str, str] | None = None) -> str:
    """``$XDG_CONFIG_HOME/aio`` (default ``$HOME/.config/aio``): the user config file's home."""
    base = get("XDG_CONFIG_HOME", env=env) or os.path.join(home(env), ".config")
    return os.path.join(base, "aio")


def scripted_home() -> str:
    """The ``scripted`` agent's state directory (``$AIO_SCRIPTED_HOME``, else
    ``~/.aio-scripted``)."""
    return get("AIO_SCRIPTED_HOME") or os.path.join(os.path.expanduser("~"), ".aio-scripted")

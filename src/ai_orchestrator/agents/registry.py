"""Backend registry: key → adapter, its declared capabilities, executable and extra arguments.

Keys equal the binary names: ``claude``, ``gemini``, ``codex``, plus ``scripted`` (the
offline demo agent, run with the current Python interpreter). A backend is one line of
``_BACKENDS``; what it can do is declared on its class (``base.Capabilities``) and read
here (``capabilities``, ``can_fork``, ``agent_for_provider``, ``auto_planners``), so no caller
keeps a table keyed by agent name. Overrides per backend:

- ``AIO_AGENT_<KEY>_EXECUTABLE``: the binary to run (a path, or a name looked up on PATH).
- ``AIO_AGENT_<KEY>_EXTRA_ARGS``: extra argv, split like a POSIX shell (``shlex``) but never
  run through one; the caller appends them to ``AgentRequest.extra_args``.

(``calls.options.check_options`` lets a backend refuse a call's values before any work.)

Invariants: an unknown key raises ``InvalidInput`` naming the known keys; a missing or
non-executable binary raises ``AgentNotFound`` naming the key, what was looked for and the
override variable, before anything is launched. Backends are imported lazily so importing
the registry stays cheap.
"""

from __future__ import annotations

import importlib
import os
import sys

from ai_orchestrator.agents.base import Backend, Capabilities
from ai_orchestrator.core import env
from ai_orchestrator.core.errors import AgentNotFound, InvalidInput

_BACKENDS: dict[str, tuple[str, str]] = {
    "claude": ("ai_orchestrator.agents.claude", "ClaudeBackend"),
    "gemini": ("ai_orchestrator.agents.gemini", "GeminiBackend"),
    "codex": ("ai_orchestrator.agents.codex", "CodexBackend"),
    "opencode": ("ai_orchestrator.agents.opencode", "OpenCodeBackend"),
    "qwen": ("ai_orchestrator.agents.qwen", "QwenBackend"),
    "scripted": ("ai_orchestrator.agents.scripted", "ScriptedBackend"),
}
KNOWN_KEYS: tuple[str, ...] = tuple(_BACKENDS)
# The backend ``aio run`` and the workflow's phases use when none is named.
DEFAULT_AGENT = "claude"


def _backend_class(key: str) -> type[Backend]:
    module_name, class_name = _BACKENDS[_check_key(key)]
    cls: type[Backend] = getattr(importlib.import_module(module_name), class_name)
    return cls


def capabilities(key: str) -> Capabilities:
    """What backend ``key`` declares it can do (``base.Capabilities``)."""
    return _backend_class(key).capabilities


def declared(key: str | None) -> Capabilities:
    """``capabilities(key)`` for a backend key; for any other name (a record imported or
    given from outside, an agent of the usage index no backend runs) nothing is declared:
    the defaults of ``Capabilities``."""
    return capabilities(key) if key in _BACKENDS else Capabilities()


def label(key: str) -> str:
    """Backend ``key``'s name in a sentence (``Capabilities.label``, else the key)."""
    return declared(key).label or key


def can_fork(key: str) -> bool:
    """Whether backend ``key`` can fork a conversation (``AgentRequest.fork``)."""
    return capabilities(key).fork


def agent_for_provider(provider: str | None) -> str | None:
    """The first backend (in ``KNOWN_KEYS`` order) whose models the price data files under
    ``provider``; ``None`` when no backend runs that provider's models."""
    if provider is None:
        return None
    return next((k for k in KNOWN_KEYS if capabilities(k).provider == provider), None)


def auto_planners() -> list[str]:
    """The backends ``plan.agent = "auto"`` tries, in order (``Capabilities.auto_planner``)."""
    ranked = [(capabilities(k).auto_planner, k) for k in KNOWN_KEYS]
    return [k for rank, k in sorted((r, k) for r, k in ranked if r is not None)]


def _check_key(key: str) -> str:
    if key not in _BACKENDS:
        known = ", ".join(KNOWN_KEYS)
        raise InvalidInput(f"unknown agent {key!r}; known agents: {known}")
    return key


def _env_name(key: str, suffix: str) -> str:
    return f"AIO_AGENT_{key.upper()}_{suffix}"


def get_backend(key: str) -> Backend:
    """A fresh adapter for ``key``."""
    return _backend_class(key)()


def resolve_executable(key: str) -> str:
    """The absolute path of the binary for ``key`` (see the module docstring)."""
    var = _env_name(_check_key(key), "EXECUTABLE")
    wanted = env.get(var).strip()
    if not wanted and capabilities(key).built_in:
        return sys.executable
    wanted = wanted or key
    import shutil  # here: shutil pulls in bz2/lzma, and the usage index reads the registry

    found = shutil.which(wanted)
    if found is None:
        where = "is not executable" if os.sep in wanted else "was not found on PATH"
        raise AgentNotFound(wanted, where, agent=key, variable=var)
    return os.path.abspath(found)


def extra_args(key: str) -> list[str]:
    """Extra argv for ``key`` from ``AIO_AGENT_<KEY>_EXTRA_ARGS`` (empty when unset)."""
    var = _env_name(_check_key(key), "EXTRA_ARGS")
    try:
        import shlex

        return shlex.split(env.get(var))
    except ValueError as exc:  # unbalanced quotes
        raise InvalidInput(f"{var} cannot be parsed: {exc}") from exc

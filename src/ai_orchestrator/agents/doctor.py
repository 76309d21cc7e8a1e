"""``aio doctor``: which agent CLIs are installed, at which versions — checked once.

Versions come from ``<binary> --version`` and are cached by (binary path, size, mtime) in
``$XDG_CACHE_HOME/ai-orchestrator/doctor.json`` (default ``~/.cache/…``), so repeated
checks cost nothing and an upgraded binary is noticed. Agent calls never run a preflight
(the earlier shell version spawned ``claude --help`` before every call).

``installed_version(path)`` is what an agent call records as ``cli_version`` when the stream
does not say (Gemini, Codex): the doctor cache entry if it is still valid, else the
``version`` of the npm package the binary belongs to (a file read). It never starts a
process, and gives ``None`` when neither is known.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from ai_orchestrator.agents import registry
from ai_orchestrator.core.errors import AgentNotFound
from ai_orchestrator.infra.fsutil import atomic_write


@dataclass
class AgentCheck:
    agent: str
    installed: bool
    path: str | None
    version: str | None
    tested_version: str | None
    problem: str | None = None


def cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ai-orchestrator" / "doctor.json"


def _load_cache() -> dict[str, dict[str, str]]:
    try:
        data = json.loads(cache_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_cache(cache: dict[str, dict[str, str]]) -> None:
    path = cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(cache, indent=1).encode())
    except OSError:
        pass  # a cache we cannot write is only slower next time


def _version_of(path: str, timeout: float) -> tuple[str | None, str | None]:
    try:
        proc = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"'{path} --version' failed: {exc}"
    text = (proc.stdout or proc.stderr).strip().splitlines()
    if proc.returncode != 0 or not text:
        return None, f"'{path} --version' exited {proc.returncode}"
    return text[0].strip(), None


def _stamp(path: str) -> str | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


def _short(version: str | None) -> str | None:
    """``codex-cli 0.169.0`` → ``0.169.0`` (what Claude's own stream reports)."""
    match = re.search(r"\d+\.\d+\.\d+\S*", version or "")
    return match.group(0) if match else None


def _package_version(path: str) -> str | None:
    """The ``version`` of the npm package whose ``bin`` ``path`` is (resolved symlinks)."""
    here = Path(os.path.realpath(path)).parent
    for folder in (here, *list(here.parents)[:4]):
        try:
            data = json.loads((folder / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("version"), str) and data.get("bin"):
            return _short(data["version"])
    return None


def installed_version(path: str) -> str | None:
    """The version of the agent binary ``path`` without running it (see module docstring)."""
    hit = _load_cache().get(path)
    if isinstance(hit, dict) and hit.get("stamp") == _stamp(path) and hit.get("version"):
        return _short(hit["version"])
    return _package_version(path)


def check_agents(timeout: float = 20.0) -> list[AgentCheck]:
    cache = _load_cache()
    checks = []
    changed = False
    for key in registry.KNOWN_KEYS:
        declared = registry.capabilities(key)
        tested = declared.tested_version
        if declared.built_in:
            checks.append(AgentCheck(key, True, None, "built in (offline demo)", None))
            continue
        try:
            path = registry.resolve_executable(key)
        except AgentNotFound as exc:
            checks.append(AgentCheck(key, False, None, None, tested, str(exc)))
            continue
        stamp = _stamp(path)
        hit = cache.get(path)
        if hit and stamp is not None and hit.get("stamp") == stamp:
            version, problem = hit.get("version"), hit.get("problem")
        else:
            version, problem = _version_of(path, timeout)
            cache[path] = {"stamp": stamp or "", "version": version or "", "problem": problem or ""}
            changed = True
        checks.append(
            AgentCheck(key, True, path, version or None, tested, problem or None)
        )
    if changed:
        _save_cache(cache)
    return checks


def as_dicts(checks: list[AgentCheck]) -> list[dict[str, object]]:
    return [asdict(c) for c in checks]

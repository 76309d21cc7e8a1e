"""``aio hooks install|uninstall|status``: aio's hook entries in the agents' own settings.

What is installed (the command is ``<aio> hook <agent>``, which only appends the event to
the spool and exits 0, see ``spool``):

- **claude** (CLI 2.1.330): ``hooks`` in ``settings.json`` — ``SessionStart``, ``Stop``,
  ``SubagentStop``, ``SessionEnd`` (user scope: ``$CLAUDE_CONFIG_DIR`` or ``~/.claude``;
  project scope: ``./.claude/settings.json``).
- **gemini** (CLI 0.61): ``hooks`` in ``settings.json`` — ``SessionStart``, ``AfterAgent``
  (its end of a turn), ``SessionEnd`` (user: ``~/.gemini``; project: ``./.gemini``).
- **codex** (CLI 0.169): the ``notify`` program in ``config.toml`` (user:
  ``$CODEX_HOME``; project: ``./.codex``); it is called after every turn with the event as
  its last argument. Codex's own hooks need an experimental feature flag, ``notify`` does not.
  A ``notify`` already set to another program is left alone (``status`` says so).

Rules: every other setting is kept (JSON: key order and values; TOML: every other byte). The
file's bytes before the first install are kept in ``<file>.aio-backup`` (or a note that the
file did not exist). ``uninstall`` removes exactly aio's entries; when what remains equals the
backup's content, the backup's bytes are written back (byte-identical), else the remaining
settings are written (the user changed something since); a file aio created is removed.
Writes are atomic (``fsutil.atomic_write``). A settings file that is not valid JSON (or a
``hooks`` key of the wrong shape) is refused with ``InvalidInput``, never overwritten.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_orchestrator.agents.homes.locations import claude_projects_dirs, codex_home, gemini_tmp_dir
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.infra.fsutil import atomic_write

AGENTS = ("claude", "gemini", "codex")
EVENTS = {
    "claude": ("SessionStart", "Stop", "SubagentStop", "SessionEnd"),
    "gemini": ("SessionStart", "AfterAgent", "SessionEnd"),
}
BACKUP = ".aio-backup"
_NO_FILE = b"aio: no file before install\n"
_MARK = "# notify: added by aio hooks install"


def aio_command() -> list[str]:
    """How the agent runs aio: the ``aio`` script beside this Python, else ``python -m``."""
    script = Path(sys.executable).with_name("aio")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "ai_orchestrator"]


def hook_command(agent: str) -> str:
    return shlex.join([*aio_command(), "hook", agent])


def settings_file(agent: str, scope: str, cwd: Path | None = None) -> Path:
    base = cwd or Path.cwd()
    if agent == "claude":
        root = claude_projects_dirs()[0].parent if scope == "user" else base / ".claude"
        return root / "settings.json"
    if agent == "gemini":
        root = gemini_tmp_dir().parent if scope == "user" else base / ".gemini"
        return root / "settings.json"
    return (codex_home() if scope == "user" else base / ".codex") / "config.toml"


@dataclass
class HookState:
    """What is installed for one agent in one settings file."""

    agent: str
    scope: str
    path: str
    installed: list[str]  # aio's events found in the file (codex: ["notify"])
    missing: list[str]
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent, "scope": self.scope, "path": self.path,
            "installed": self.installed, "missing": self.missing, "note": self.note,
        }  # fmt: skip


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None


def _settings(path: Path, raw: bytes | None) -> dict[str, Any]:
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"{path} is not valid JSON ({exc}); not changed") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{path} is not a JSON object; not changed")
    hooks = value.get("hooks", {})
    if not isinstance(hooks, dict) or not all(isinstance(v, list) for v in hooks.values()):
        raise InvalidInput(f"{path}: 'hooks' is not an object of lists; not changed")
    return value


def _ours(entry: Any, command: str) -> bool:
    hooks = entry.get("hooks") if isinstance(entry, dict) else None
    return isinstance(hooks, list) and any(
        isinstance(h, dict) and h.get("command") == command for h in hooks
    )


def _json_installed(settings: dict[str, Any], agent: str) -> list[str]:
    command = hook_command(agent)
    hooks = settings.get("hooks", {})
    return [e for e in EVENTS[agent] if any(_ours(x, command) for x in hooks.get(e, []))]


def _encode(settings: dict[str, Any]) -> bytes:
    return (json.dumps(settings, indent=2, ensure_ascii=False) + "\n").encode()


def _backup(path: Path, raw: bytes | None) -> None:
    backup = path.with_name(path.name + BACKUP)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not backup.exists():
        atomic_write(backup, _NO_FILE if raw is None else raw, mode=0o600)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777  # the user's own mode stays
    except OSError:
        mode = 0o600
    atomic_write(path, data, mode=mode)


def _toml_notify(raw: bytes | None) -> tuple[str | None, list[str]]:
    """(the ``notify = …`` line, the file's lines); only top-level keys count."""
    lines = (raw or b"").decode("utf-8", errors="surrogateescape").splitlines(keepends=True)
    for line in lines:
        if line.lstrip().startswith("["):
            break
        if re.match(r"\s*notify\s*=", line):
            return line, lines
    return None, lines


def status(agent: str, scope: str) -> HookState:
    path = settings_file(agent, scope)
    raw = _read(path)
    if agent == "codex":
        line, _ = _toml_notify(raw)
        ours = line is not None and json.dumps([*aio_command(), "hook", "codex"]) in line
        note = "notify runs another program: left alone" if line and not ours else None
        return HookState(agent, scope, str(path), ["notify"] if ours else [],
                         [] if ours else ["notify"], note)  # fmt: skip
    installed = _json_installed(_settings(path, raw), agent)
    missing = [e for e in EVENTS[agent] if e not in installed]
    return HookState(agent, scope, str(path), installed, missing)


def install(agent: str, scope: str) -> HookState:
    """Merge aio's entries into the agent's settings (see the module docstring)."""
    path = settings_file(agent, scope)
    raw = _read(path)
    if agent == "codex":
        line, _lines = _toml_notify(raw)
        if line is None:
            notify = f"notify = {json.dumps([*aio_command(), 'hook', 'codex'])}\n"
            _backup(path, raw)
            _write(path, f"{_MARK}\n{notify}".encode() + (raw or b""))
        return status(agent, scope)
    settings = _settings(path, raw)
    command = hook_command(agent)
    hooks = settings.setdefault("hooks", {})
    changed = False
    for event in EVENTS[agent]:
        entries = hooks.setdefault(event, [])
        if not any(_ours(e, command) for e in entries):
            hook: dict[str, Any] = {"type": "command", "command": command}
            if agent == "claude":
                hook["timeout"] = 10  # seconds (Gemini counts milliseconds: its default)
            entries.append({"hooks": [hook]})
            changed = True
    if changed:
        _backup(path, raw)
        _write(path, _encode(settings))
    return status(agent, scope)


def uninstall(agent: str, scope: str) -> HookState:
    """Remove exactly aio's entries (see the module docstring)."""
    path = settings_file(agent, scope)
    raw = _read(path)
    if raw is None:
        return status(agent, scope)
    backup_path = path.with_name(path.name + BACKUP)
    backup = _read(backup_path)
    if agent == "codex":
        text = raw.decode("utf-8", errors="surrogateescape")
        notify = f"notify = {json.dumps([*aio_command(), 'hook', 'codex'])}\n"
        if notify not in text:
            return status(agent, scope)
        left = text.replace(f"{_MARK}\n{notify}", "", 1).replace(notify, "", 1)
        _restore(path, left.encode("utf-8", errors="surrogateescape"), backup, backup_path)
        return status(agent, scope)
    settings = _settings(path, raw)
    command = hook_command(agent)
    hooks = settings.get("hooks", {})
    if not _json_installed(settings, agent):
        return status(agent, scope)
    for event in EVENTS[agent]:
        kept = [e for e in hooks.get(event, []) if not _ours(e, command)]
        if kept:
            hooks[event] = kept
        else:
            hooks.pop(event, None)
    if not hooks:
        settings.pop("hooks", None)
    before = None
    if backup is not None and backup != _NO_FILE:
        try:
            before = json.loads(backup)
        except ValueError:
            before = None
    if backup is not None and (
        (backup == _NO_FILE and not settings) or (before is not None and before == settings)
    ):
        _restore(path, backup, backup, backup_path)
    else:
        _restore(path, _encode(settings), backup, backup_path)
    return status(agent, scope)


def _restore(path: Path, data: bytes, backup: bytes | None, backup_path: Path) -> None:
    if backup == _NO_FILE and data in (b"", _NO_FILE):
        path.unlink()
    else:
        _write(path, backup if backup is not None and data == backup else data)
    if backup is not None:
        with contextlib.suppress(OSError):
            os.unlink(backup_path)

"""Where the team database is, who pushes, from which machine — and keeping the password out.

Connection target, first found wins:

1. ``--db URL`` (any libpq connection string: ``postgresql://…`` URL or ``key=value``),
2. the ``AIO_TEAM_DB`` environment variable,
3. ``db = "…"`` in the ``[team]`` table of the user config file
   (``$XDG_CONFIG_HOME/aio/config.toml``, else ``~/.config/aio/config.toml``),
4. nothing: libpq's own environment (``PGSERVICE``, ``PGHOST``, ``PGDATABASE`` …) when one of
   those is set; else ``InvalidInput`` saying how to configure it.

libpq does the rest (``~/.pgpass``, ``PGPASSFILE``, ``PGPASSWORD``, ``sslmode``,
``pg_service.conf``): aio passes the string through unchanged.

Password rules: aio never writes a connection string to its files (the local state keeps only
the masked target), and ``mask`` / ``scrub`` take every password out of anything shown: the
``password`` of the string (URL user-info, ``password=`` key or query parameter) and
``PGPASSWORD``. A config *file* holding a password is refused: it belongs in ``~/.pgpass``.

The machine id is a random UUID created once per store (``SESSION_DIR/team/machine.json``,
0600, created with a hard link so two racing pushes agree on one id) with the host name
beside it; it travels with a restored backup, so pushing the backup again adds nothing.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_orchestrator.core import env as aio_env
from ai_orchestrator.core.errors import InvalidInput, StoreError
from ai_orchestrator.infra.fsutil import atomic_write, ensure_private_dir, read_bytes
from ai_orchestrator.infra.user_config import config_path, read_table
from ai_orchestrator.store.discovery import TEAM_DIR

MACHINE_FILE = "machine.json"
STATE_FILE = "state.json"
LOCK_FILE = "push.lock"
MASK = "***"

_LIBPQ_ENV = ("PGSERVICE", "PGHOST", "PGHOSTADDR", "PGDATABASE", "PGPORT")
_URL_PASSWORD = re.compile(
    r"(?P<head>postgres(?:ql)?://[^:/?#@\s]*:)(?P<pw>[^/?#\s]*)(?=@[^@/?#\s]*(?:[/?#\s]|$))"
)
_KEY_PASSWORD = re.compile(
    r"(?P<head>(?:^|[\s&?])password\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^\s&]*)"
)


@dataclass(frozen=True)
class TeamSettings:
    """The resolved connection string, where it came from, and the user name to record."""

    dsn: str
    source: str
    user: str

    @property
    def target(self) -> str:
        """The connection target with every password masked (safe to print and store)."""
        return mask(self.dsn) if self.dsn else "(libpq environment)"


def _passwords(dsn: str, env: Mapping[str, str]) -> list[str]:
    found = [m.group("pw") for m in _URL_PASSWORD.finditer(dsn)]
    found += [m.group("pw").strip("'") for m in _KEY_PASSWORD.finditer(dsn)]
    if env.get("PGPASSWORD"):
        found.append(env["PGPASSWORD"])
    # Percent-encoded passwords in a URL are also shown decoded by some messages.
    from urllib.parse import unquote

    found += [unquote(pw) for pw in found]
    return sorted({pw for pw in found if pw}, key=len, reverse=True)


def mask(dsn: str) -> str:
    """``dsn`` with its password replaced by ``***`` (URL user-info or ``password=``)."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, dsn)
    return _KEY_PASSWORD.sub(lambda m: m.group("head") + MASK, text)


def scrub(text: str, dsn: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` (e.g. a driver's error message) with every password of ``dsn`` and
    ``PGPASSWORD`` replaced by ``***``, and any connection string in it masked."""
    env = aio_env.environ() if env is None else env
    for password in _passwords(dsn, env):
        text = text.replace(password, MASK)
    return mask(text)


def _file_settings(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    team = read_table("team", env)
    for key in ("db", "user"):
        if key in team and not isinstance(team[key], str):
            raise InvalidInput(f"{path}: [team] {key} must be a string")
    return team


def resolve(
    db: str | None = None, user: str | None = None, env: Mapping[str, str] | None = None
) -> TeamSettings:
    """The team settings from the flag, the environment, the config file (module doc)."""
    env = aio_env.environ() if env is None else env
    path = config_path(env)
    team = _file_settings(path, env)
    file_db = team.get("db")
    if isinstance(file_db, str) and _passwords(file_db, {}):
        raise InvalidInput(
            f"{path}: [team] db holds a password; aio never keeps one in its files: "
            "remove it and put it in ~/.pgpass (or PGPASSFILE, or a pg_service.conf entry)"
        )
    if db:
        dsn, source = db, "--db"
    elif env.get("AIO_TEAM_DB"):
        dsn, source = env["AIO_TEAM_DB"], "AIO_TEAM_DB"
    elif file_db:
        dsn, source = file_db, str(path)
    elif any(env.get(name) for name in _LIBPQ_ENV):
        dsn, source = "", "libpq environment"
    else:
        raise InvalidInput(
            "no team database: pass --db URL, set AIO_TEAM_DB, or set db in the [team] "
            f"table of {path} (see docs/team.md)"
        )
    name = user or env.get("AIO_TEAM_USER") or team.get("user") or _login(env)
    return TeamSettings(dsn=dsn, source=source, user=str(name))


def _login(env: Mapping[str, str]) -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return env.get("USER") or "unknown"


@dataclass(frozen=True)
class Machine:
    machine_id: str
    hostname: str


def team_dir(store_root: Path) -> Path:
    return store_root / TEAM_DIR


def machine(store_root: Path) -> Machine:
    """This store's machine identity, created on first use (module doc)."""
    directory = team_dir(store_root)
    path = directory / MACHINE_FILE
    data = read_bytes(path)
    if data is None:
        ensure_private_dir(directory, what="team directory")
        fresh = {"machine_id": str(uuid.uuid4()), "hostname": socket.gethostname()}
        temp = directory / f".{MACHINE_FILE}.{uuid.uuid4().hex}"
        atomic_write(temp, json.dumps(fresh).encode())
        try:
            os.link(temp, path)  # fails if a racing push created it first: theirs wins
        except FileExistsError:
            pass
        finally:
            temp.unlink(missing_ok=True)
        data = read_bytes(path)
    try:
        parsed = json.loads(data or b"")
        return Machine(str(parsed["machine_id"]), str(parsed.get("hostname") or ""))
    except (ValueError, KeyError, TypeError):
        raise StoreError(
            f"{path} is not aio's machine identity: move it away to create a new one "
            "(the team database then sees this store as a new machine)"
        ) from None


def read_state(store_root: Path) -> dict[str, Any]:
    """The local copy of the last push (masked target, time, per-session watermarks)."""
    data = read_bytes(team_dir(store_root) / STATE_FILE)
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def write_state(store_root: Path, state: Mapping[str, Any]) -> None:
    directory = team_dir(store_root)
    ensure_private_dir(directory, what="team directory")
    atomic_write(directory / STATE_FILE, json.dumps(state, sort_keys=True).encode())

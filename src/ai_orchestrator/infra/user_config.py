"""The user config file: ``$XDG_CONFIG_HOME/aio/config.toml`` (else ``~/.config/aio/config.toml``).

One file for the settings that belong to the user and their store rather than to a project
(the project's own settings are ``.aio/config.toml``, ``workflow.project.config``). Each
room reads its own table: ``[team]`` (``team.config``), ``[retention]``
(``store.retention``), ``[compaction]`` (``calls.compaction``).

``read_table`` never fails on a missing file (an empty table) and raises ``InvalidInput``
(exit 2) naming the file for one that is not UTF-8 TOML, or whose table is not a table.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ai_orchestrator.core import env as aio_env
from ai_orchestrator.core.errors import InvalidInput
from ai_orchestrator.infra.fsutil import read_bytes


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The user config file (the directory is ``core.env.config_dir``)."""
    return Path(aio_env.config_dir(env)) / "config.toml"


def read_table(name: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``[name]`` table of the user config file (``{}`` when there is none)."""
    path = config_path(env)
    data = read_bytes(path)
    if data is None:
        return {}
    import tomllib  # only when there is a file: every `aio run` asks, few users have one

    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"{path}: not valid TOML ({exc})") from None
    table = parsed.get(name, {})
    if not isinstance(table, dict):
        raise InvalidInput(f"{path}: [{name}] must be a table")
    return table

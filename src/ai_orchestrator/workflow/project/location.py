"""Where the project is: its root and the name of its ``.aio/`` directory.

Apart from ``workspace`` (which re-exports both) because finding the project needs only the
standard library and ``core.env``: tab completion of feature ids (``cli.complete_values``)
runs on every Tab press and must not load the workspace's file-writing and locking modules.

Root discovery: ``$AIO_PROJECT_DIR`` when set; otherwise the nearest directory, walking up
from ``start`` (default: the cwd), that contains ``.aio/`` or ``.git``; otherwise ``None``.
"""

from __future__ import annotations

from pathlib import Path

from ai_orchestrator.core import env

AIO_DIR = ".aio"


def find_project_root(start: Path | None = None) -> Path | None:
    """``$AIO_PROJECT_DIR``, else the nearest ancestor with ``.aio/`` or ``.git``, else None."""
    override = env.get("AIO_PROJECT_DIR").strip()
    if override:
        return Path(override).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / AIO_DIR).is_dir() or (candidate / ".git").exists():
            return candidate
    return None

"""Where the project is: its root, the name of its ``.aio/`` directory, the ids of its
features and the current one.

Apart from ``workspace`` (which re-exports the first two and answers the last two through
these functions) because this needs only the standard library and ``core.env``: tab
completion of feature and task ids (``cli.complete_values``) runs on every Tab press and
must not load the workspace's file-writing and locking modules.

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


def feature_ids(aio_dir: Path) -> list[str]:
    """The features of the workspace ``aio_dir`` (their ``feature.yaml`` exists), sorted."""
    features = aio_dir / "features"
    if not features.is_dir():
        return []
    return sorted(p.name for p in features.iterdir() if (p / "feature.yaml").is_file())


def current_feature(aio_dir: Path) -> str | None:
    """The feature ``aio switch`` set (``.aio/current``), if any."""
    try:
        value = (aio_dir / "current").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return value or None

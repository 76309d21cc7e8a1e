"""Features: ``aio init``, ``feature.yaml`` and ``plan.yaml`` persistence.

``feature.yaml``: ``schema_version, id, description, status, active_task, agent_in_use,
model_in_use, created_at, updated_at``. ``model_in_use`` is a model id (the one chosen, else
the one the agent reported), never an agent's name; ``None`` until an agent has answered.
The feature ``status`` is derived from the plan whenever the plan is saved: ``new`` (no
plan, or no tasks) → ``planned`` (no task started) → ``in_progress`` (some task completed,
in progress or failed) → ``completed`` (every task completed).
``active_task`` is the task an ``implement`` is working on right now (None otherwise).

Invariants: ``init_feature`` creates the feature directory with an exclusive ``mkdir``, so two
concurrent inits of one id cannot both succeed (the loser gets ``AioError`` "already
exists", exit 1); ``config.toml`` is written only if absent, and atomically
(``write_new_file``: complete temp file, then ``link`` into place, which never replaces an
existing file — so a crash or a concurrent init leaves no config, the whole config, or the
other init's config, never a partial one). All other files are replaced atomically. Callers
that modify a feature's plan hold the feature lock.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_orchestrator.core.errors import AioError, PlanNotFound, StoreError
from ai_orchestrator.core.names import validate_feature_id
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra.fsutil import (
    PUBLIC_FILE_MODE,
    fsync_dir,
    fsync_fd,
    unique_suffix,
    write_all,
)
from ai_orchestrator.infra.timeutil import now_iso
from ai_orchestrator.workflow.model.plan import Plan, plan_from_data
from ai_orchestrator.workflow.project.config import config_template
from ai_orchestrator.workflow.project.history import append_event, elapsed_ms, make_event
from ai_orchestrator.workflow.project.workspace import (
    FeaturePaths,
    Workspace,
    read_yaml,
    write_yaml,
)

DEFAULT_DESCRIPTION = ""


@dataclass
class InitResult:
    feature_id: str
    paths: FeaturePaths
    config_written: bool
    workspace: Workspace


def write_new_file(path: Path, data: bytes, mode: int = PUBLIC_FILE_MODE) -> bool:
    """Create ``path`` with ``data`` atomically unless it exists; True when written.

    The data goes to a temp file first (fsynced), which is then hard-linked to ``path``;
    ``link`` fails when ``path`` exists, so an existing file is never replaced and no
    reader ever sees a partial file. The temp file is always removed.
    """
    tmp = path.with_name(f".{path.name}.tmp-{unique_suffix()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            write_all(fd, data)
            fsync_fd(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)  # not subject to the umask, like the atomic_write files
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_dir(path.parent)
        return True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def init_feature(ws: Workspace, feature_id: str, description: str | None) -> InitResult:
    """Create feature ``feature_id`` (and the workspace on first use)."""
    started = time.monotonic()
    validate_feature_id(feature_id)
    ws.features_dir.mkdir(parents=True, exist_ok=True)
    config_written = False
    if not ws.config_file.exists():
        template = config_template(ws.project_root).encode("utf-8")
        config_written = write_new_file(ws.config_file, template)
    paths = ws.feature(feature_id)
    try:
        paths.root.mkdir()
    except FileExistsError:
        raise AioError(f"feature {feature_id!r} already exists in {ws.dir}") from None
    paths.artifacts.mkdir()
    now = now_iso()
    save_feature(
        paths,
        versioned({
            "id": feature_id,
            "description": (description or DEFAULT_DESCRIPTION).strip(),
            "status": "new",
            "active_task": None,
            "model_in_use": None,
            "created_at": now,
            "updated_at": now,
        }),
    )
    paths.history_file.touch()
    append_event(
        paths.history_file,
        make_event(
            "init",
            arguments={"description": description or ""},
            status="success",
            duration_ms=elapsed_ms(started),
        ),
    )
    return InitResult(feature_id, paths, config_written, ws)


def load_feature(paths: FeaturePaths) -> dict[str, Any]:
    data = read_yaml(paths.feature_file)
    if not isinstance(data, dict):
        raise StoreError(f"{paths.feature_file} is not a mapping")
    return data


def save_feature(paths: FeaturePaths, data: dict[str, Any]) -> None:
    write_yaml(paths.feature_file, data)


def reported_model(steps: list[dict[str, Any]]) -> str | None:
    """The model the agent last reported in a command's ``steps`` (``None`` if none did)."""
    models = [s.get("model") for s in steps if isinstance(s.get("model"), str) and s["model"]]
    return models[-1] if models else None


def update_feature(paths: FeaturePaths, **changes: Any) -> dict[str, Any]:
    data = load_feature(paths)
    data.update(changes)
    data["updated_at"] = now_iso()
    save_feature(paths, data)
    return data


def load_plan(paths: FeaturePaths, *, required: bool = True) -> Plan | None:
    if not paths.plan_file.is_file():
        if required:
            feature = paths.root.name
            raise PlanNotFound(feature)
        return None
    try:
        return plan_from_data(read_yaml(paths.plan_file))
    except ValueError as exc:
        raise StoreError(f"{paths.plan_file} is not a valid plan: {exc}") from exc


def derived_status(plan: Plan | None) -> str:
    if plan is None or not plan.tasks():
        return "new"
    counts = plan.counts()
    if counts["completed"] == counts["total"]:
        return "completed"
    if counts["completed"] or counts["in_progress"] or counts["failed"]:
        return "in_progress"
    return "planned"


def save_plan(paths: FeaturePaths, plan: Plan) -> None:
    plan.meta["updated_at"] = now_iso()
    write_yaml(paths.plan_file, plan.to_dict())
    update_feature(paths, status=derived_status(plan))

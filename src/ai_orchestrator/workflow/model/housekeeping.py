"""Feature housekeeping: ``aio features clean`` and ``aio task set``.

``clean_features(ws, criteria, mode, dry_run)`` removes or archives the features that match
**every** criterion given (``CleanCriteria``; at least one is required, so nothing is ever
cleaned by accident):

- ``completed`` — the feature's status is ``completed`` (every task of its plan completed);
- ``stale_days`` — no activity for that many days (the newest of ``feature.yaml``'s
  ``updated_at`` and the last history event);
- ``empty`` — no task in a plan, no artifact file, and no history beyond ``aio init``;
- ``pattern`` — a shell glob on the feature id (``fnmatch``).

Modes: ``delete`` (the default), ``archive`` (move the whole feature directory to
``.aio/archive/<UTC stamp>/features/<id>/`` — the same layout as ``.aio/features/``, so
``mv .aio/archive/<stamp>/features/<id> .aio/features/`` restores it), ``preserve-artifacts``
(archive only ``artifacts/`` there, delete the rest).

Invariants:

- A feature whose lock is held (a plan, implement, verify … in progress) is never touched:
  the lock is tried without waiting and the feature is reported ``skipped`` with the holder.
  The lock is held while the feature is removed or moved.
- Every change is recorded: one ``clean`` event per feature in the workspace's own log
  ``.aio/history.jsonl`` (the feature's log goes with it) and, when archived, also in the
  archived feature's ``history.jsonl`` before it moves. A dry run changes and records nothing.
- A cleaned feature that was the current one stops being current.

``set_task`` changes one task by hand (``TaskEdit``: its status, one of ``plan.STATUSES``,
and/or the model ``implement`` uses for it), under the feature lock, through ``save_plan`` (so
the feature's derived status follows), with a ``task`` event in the feature's history
(``arguments``: what was set, ``details``: the previous values).
"""

from __future__ import annotations

import contextlib
import fnmatch
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ai_orchestrator.agents.base import check_model
from ai_orchestrator.core.errors import AioError, InvalidInput, SessionBusy, TaskNotFound
from ai_orchestrator.core.schema import versioned
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.timeutil import now_iso, parse_iso
from ai_orchestrator.workflow.model.feature import load_feature, load_plan, save_plan
from ai_orchestrator.workflow.model.plan import STATUSES, Task
from ai_orchestrator.workflow.project.history import append_event, make_event, read_events
from ai_orchestrator.workflow.project.workspace import FeaturePaths, Workspace

Mode = Literal["delete", "archive", "preserve-artifacts"]
ARCHIVE_DIR = "archive"


@dataclass(frozen=True)
class CleanCriteria:
    completed: bool = False
    stale_days: float | None = None
    empty: bool = False
    pattern: str | None = None

    def given(self) -> bool:
        return self.completed or self.empty or self.stale_days is not None or bool(self.pattern)


@dataclass
class CleanItem:
    feature_id: str
    action: str  # deleted | archived | artifacts_archived | skipped (dry run: would_…)
    reasons: list[str] = field(default_factory=list)
    destination: str | None = None
    skipped_because: str | None = None


@dataclass
class CleanReport:
    dry_run: bool
    mode: Mode
    items: list[CleanItem] = field(default_factory=list)
    unreadable: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return versioned({
            "dry_run": self.dry_run,
            "mode": self.mode,
            "items": [asdict(i) for i in self.items],
            "unreadable": self.unreadable,
        })


def _last_activity(paths: FeaturePaths, feature: dict[str, Any]) -> datetime | None:
    events, _ = read_events(paths.history_file)
    moments = [parse_iso(feature.get("updated_at"))]
    moments += [parse_iso(e.get("timestamp")) for e in events[-1:]]
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def _is_empty(paths: FeaturePaths) -> bool:
    plan = load_plan(paths, required=False)
    if plan is not None and plan.tasks():
        return False
    if paths.artifacts.is_dir() and any(p.is_file() for p in paths.artifacts.rglob("*")):
        return False
    events, bad = read_events(paths.history_file)
    return not bad and all(e.get("command") == "init" for e in events)


def matches(paths: FeaturePaths, criteria: CleanCriteria, now: datetime) -> list[str] | None:
    """Why the feature at ``paths`` matches every criterion given, or None when one fails."""
    feature_id = paths.root.name
    reasons: list[str] = []
    if criteria.pattern is not None:
        if not fnmatch.fnmatchcase(feature_id, criteria.pattern):
            return None
        reasons.append(f"matches {criteria.pattern!r}")
    feature = load_feature(paths) if (criteria.completed or criteria.stale_days) else {}
    if criteria.completed:
        if feature.get("status") != "completed":
            return None
        reasons.append("completed")
    if criteria.stale_days is not None:
        last = _last_activity(paths, feature)
        if last is not None and now - last < timedelta(days=criteria.stale_days):
            return None
        reasons.append(f"no activity for {criteria.stale_days:g}+ days")
    if criteria.empty:
        if not _is_empty(paths):
            return None
        reasons.append("empty")
    return reasons


def _record(ws: Workspace, item: CleanItem, mode: Mode) -> None:
    event = make_event(
        "clean",
        arguments={"mode": mode},
        status="success",
        duration_ms=1,
        details={k: v for k, v in asdict(item).items() if v not in (None, [])},
    )
    append_event(ws.dir / "history.jsonl", event)


def _apply(ws: Workspace, paths: FeaturePaths, item: CleanItem, mode: Mode, stamp: str) -> None:
    if mode == "delete":
        shutil.rmtree(paths.root)
        item.action = "deleted"
        return
    target = ws.dir / ARCHIVE_DIR / stamp / "features" / paths.root.name
    target.parent.mkdir(parents=True, exist_ok=True)
    item.destination = str(target)
    if mode == "archive":
        event = make_event(
            "clean",
            arguments={"mode": mode},
            status="success",
            duration_ms=1,
            details={"action": "archived", "destination": str(target)},
        )
        append_event(paths.history_file, event)
        paths.root.rename(target)
        item.action = "archived"
        return
    target.mkdir()
    if paths.artifacts.is_dir():
        paths.artifacts.rename(target / "artifacts")
    shutil.rmtree(paths.root)
    item.action = "artifacts_archived"


def clean_features(
    ws: Workspace,
    criteria: CleanCriteria,
    *,
    mode: Mode = "delete",
    dry_run: bool = False,
    now: datetime | None = None,
) -> CleanReport:
    """Clean the features matching ``criteria`` (see the module docstring)."""
    if not criteria.given():
        raise InvalidInput("give at least one of --completed, --stale DAYS, --empty, --pattern P")
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    report = CleanReport(dry_run, mode)
    current = ws.current()
    for feature_id in ws.feature_ids():
        paths = ws.feature(feature_id)
        try:
            reasons = matches(paths, criteria, now)
        except AioError as exc:  # an unreadable feature.yaml or plan: reported, left alone
            report.unreadable.append({"feature_id": feature_id, "error": str(exc)})
            continue
        if reasons is None:
            continue
        item = CleanItem(feature_id, "would_" + _verb(mode), reasons)
        report.items.append(item)
        try:
            lock = locks.acquire(paths.lock_file, timeout=0, what=f"feature {feature_id}")
        except SessionBusy as exc:
            item.action, item.skipped_because = "skipped", str(exc)
            continue
        with lock:
            if dry_run:
                continue
            _apply(ws, paths, item, mode, stamp)
        _record(ws, item, mode)
        if feature_id == current:
            with contextlib.suppress(FileNotFoundError):
                ws.current_file.unlink()
    return report


def _verb(mode: Mode) -> str:
    return {"delete": "delete", "archive": "archive", "preserve-artifacts": "archive_artifacts"}[
        mode
    ]


@dataclass(frozen=True)
class TaskEdit:
    """What ``aio task set`` changes: a new status and/or a model (``clear_model`` drops it)."""

    status: str | None = None
    model: str | None = None
    clear_model: bool = False

    def check(self) -> None:
        if self.status is None and self.model is None and not self.clear_model:
            raise InvalidInput("nothing to set: give --status S, --model M or --clear-model")
        if self.model is not None and self.clear_model:
            raise InvalidInput("--model and --clear-model exclude each other")
        if self.status is not None and self.status not in STATUSES:
            raise InvalidInput(
                f"--status: {self.status!r} is not a task status; use {', '.join(STATUSES)}"
            )
        if self.model is not None:
            check_model(self.model)


def set_task(
    ws: Workspace, feature_id: str, task_id: str, edit: TaskEdit, *, lock_timeout: float
) -> tuple[Task, dict[str, str | None]]:
    """Apply ``edit`` to ``task_id`` by hand; the task and the previous value of each field
    changed (``status``, ``model``)."""
    edit.check()
    paths = ws.existing_feature(feature_id)
    with ws.lock_feature(feature_id, timeout=lock_timeout):
        plan = load_plan(paths)
        assert plan is not None
        task = plan.task(task_id)
        if task is None:
            raise TaskNotFound(task_id, feature_id, [t.id for t in plan.tasks()])
        previous: dict[str, str | None] = {}
        arguments: dict[str, Any] = {}
        if edit.status is not None:
            previous["status"], arguments["status"] = task.status, edit.status
            _set_status(task, edit.status)
        if edit.model is not None or edit.clear_model:
            previous["model"], arguments["model"] = task.model, edit.model
            task.model = edit.model
        save_plan(paths, plan)
        append_event(
            paths.history_file,
            make_event(
                "task",
                arguments=arguments,
                status="success",
                duration_ms=1,
                task_id=task_id,
                details={"action": "set", **{f"previous_{k}": v for k, v in previous.items()}},
            ),
        )
    return task, previous


def _set_status(task: Task, status: str) -> None:
    now = now_iso()
    task.status = status
    if status == "in_progress":
        task.started_at = task.started_at or now
    task.completed_at = now if status == "completed" else None
    task.failure_reason = "set by hand (aio task set)" if status == "failed" else None

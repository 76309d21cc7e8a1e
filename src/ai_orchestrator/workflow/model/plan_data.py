"""A plan as parsed JSON/YAML, before it becomes a ``Plan`` (``workflow.model.plan``): the
shapes accepted (``{"plan": {...}}``, a bare list of phases, ``{"phases": [...]}``), the
problems of shape (``ValueError``, one line), the key aliases of a task's id.

Apart from ``plan`` because it needs no dataclass: tab completion of task ids
(``cli.complete_values``) reads the ids from here, and loading ``plan``'s dataclasses would be
a fifth of that completion's time.
"""

from __future__ import annotations

from typing import Any


def text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def first(raw: dict[str, Any], *keys: str) -> Any:
    """The value of the first of ``keys`` that ``raw`` has (not ``None``)."""
    for key in keys:
        if key in raw and raw[key] is not None:
            return raw[key]
    return None


def normalized(data: Any) -> dict[str, Any]:
    """``data`` as ``{"phases": [...], ...}``; ``ValueError`` when it is no plan."""
    if isinstance(data, dict) and isinstance(data.get("plan"), dict):
        data = data["plan"]
    if isinstance(data, list):
        data = {"phases": data}
    if not isinstance(data, dict) or not isinstance(data.get("phases"), list):
        raise ValueError('expected a JSON object with a "phases" list')
    return data


def raw_tasks(raw_phase: Any, index: int) -> list[dict[str, Any]]:
    """The tasks of phase number ``index`` (from 1); ``ValueError`` when malformed."""
    if not isinstance(raw_phase, dict):
        raise ValueError(f"phase {index} is not an object")
    tasks = raw_phase.get("tasks") or []
    if not isinstance(tasks, list):
        raise ValueError(f'phase {index}: "tasks" is not a list')
    for raw_task in tasks:
        if not isinstance(raw_task, dict):
            raise ValueError(f"phase {index}: a task is not an object")
    return tasks


def task_id(raw_task: dict[str, Any]) -> str:
    return text(first(raw_task, "id", "task_id", "taskId"))


def task_ids(data: Any) -> list[str]:
    """The id of every task of the plan ``data``, in plan order (``Plan.tasks()``'s)."""
    phases = normalized(data)["phases"]
    return [task_id(t) for n, phase in enumerate(phases, start=1) for t in raw_tasks(phase, n)]

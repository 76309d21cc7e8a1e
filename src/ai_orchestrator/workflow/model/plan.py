"""The feature plan: phases → tasks, validated, stored as ``plan.yaml``.

Task fields: ``id`` (``T<phase>.<n>``), ``title``, ``description``,
``acceptance_criteria[]``, ``test_requirements[]``, ``dependencies[]`` (task ids), ``agent``,
``model`` (optional: the model ``implement`` uses for this task, set by ``aio task set --model``),
``status`` (``pending | in_progress | completed | failed``), ``failure_reason`` (failed only),
``started_at`` / ``completed_at``.

``plan_from_answer`` turns an agent's JSON (lenient about key aliases such as ``task_id``,
``name``, ``depends_on``, and a string where a list is expected) into a ``Plan`` and
``validate`` lists every problem: ids well-formed and unique, titles present, dependencies
existing, no self-dependency, no cycle. A plan that has problems is never saved.
``merge_statuses`` carries the status (and failure reason, timestamps) of every task id that
still exists from the previous plan into a re-plan. ``ready`` = pending/failed with every
dependency completed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ai_orchestrator.core.schema import SCHEMA_KEY, versioned
from ai_orchestrator.infra.timeutil import now_iso
from ai_orchestrator.workflow.model.plan_data import first as _first
from ai_orchestrator.workflow.model.plan_data import normalized, raw_tasks, task_id
from ai_orchestrator.workflow.model.plan_data import text as _text

TASK_ID = re.compile(r"^T(\d+)\.(\d+)$")
STATUSES = ("pending", "in_progress", "completed", "failed")


@dataclass
class Task:
    id: str
    title: str
    description: str = ""
    acceptance_criteria: list[str] = field(default_factory=list)
    test_requirements: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    agent: str | None = None
    model: str | None = None
    status: str = "pending"
    failure_reason: str | None = None
    started_at: str | None = None
    completed_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "acceptance_criteria": list(self.acceptance_criteria),
            "test_requirements": list(self.test_requirements),
            "dependencies": list(self.dependencies),
            "agent": self.agent,
            "status": self.status,
        }
        if self.model:
            data["model"] = self.model
        if self.failure_reason:
            data["failure_reason"] = self.failure_reason
        if self.started_at:
            data["started_at"] = self.started_at
        if self.completed_at:
            data["completed_at"] = self.completed_at
        return data


@dataclass
class Phase:
    number: int
    name: str
    tasks: list[Task] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.number, "name": self.name, "tasks": [t.to_dict() for t in self.tasks]}


@dataclass
class Plan:
    phases: list[Phase] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # feature, planner, timestamps

    def tasks(self) -> list[Task]:
        return [t for p in self.phases for t in p.tasks]

    def task(self, task_id: str) -> Task | None:
        return next((t for t in self.tasks() if t.id == task_id), None)

    def set_status(self, task_id: str, status: str, reason: str | None = None) -> Task:
        """Move an existing task to ``status``, stamping when it started or completed."""
        task = self.task(task_id)
        assert task is not None
        task.status, task.failure_reason = status, reason
        if status == "in_progress":
            task.started_at, task.completed_at = now_iso(), None
        elif status == "completed":
            task.completed_at = now_iso()
        return task

    def counts(self) -> dict[str, int]:
        counts = {s: 0 for s in STATUSES}
        for t in self.tasks():
            counts[t.status] = counts.get(t.status, 0) + 1
        counts["total"] = len(self.tasks())
        return counts

    def unmet_dependencies(self, task: Task) -> list[str]:
        unmet = []
        for dep in task.dependencies:
            other = self.task(dep)
            if other is None or other.status != "completed":
                unmet.append(dep)
        return unmet

    def ready(self) -> list[Task]:
        return [
            t
            for t in self.tasks()
            if t.status in ("pending", "failed", "in_progress") and not self.unmet_dependencies(t)
        ]

    def next_task(self) -> Task | None:
        """The first ready task, preferring in_progress, then pending, then failed ones."""
        order = {"in_progress": 0, "pending": 1, "failed": 2}
        ready = self.ready()
        return min(ready, key=lambda t: order[t.status]) if ready else None

    def to_dict(self) -> dict[str, Any]:
        return versioned(self.meta, phases=[p.to_dict() for p in self.phases])


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            if isinstance(item, dict):  # {"criterion": "..."} and friends
                item = next((v for v in item.values() if isinstance(v, str)), str(item))
            text = _text(item)
            if text:
                items.append(text)
        return items
    return [_text(value)]


def task_from_dict(raw: dict[str, Any], default_agent: str | None = None) -> Task:
    status = _text(raw.get("status")) or "pending"
    return Task(
        id=task_id(raw),
        title=_text(_first(raw, "title", "name", "summary")),
        description=_text(raw.get("description")),
        acceptance_criteria=_list(_first(raw, "acceptance_criteria", "acceptanceCriteria")),
        test_requirements=_list(_first(raw, "test_requirements", "testRequirements", "tests")),
        dependencies=_list(_first(raw, "dependencies", "depends_on", "dependsOn")),
        agent=_text(raw.get("agent")) or default_agent,
        model=_text(raw.get("model")) or None,
        status=status if status in STATUSES else "pending",
        failure_reason=_text(raw.get("failure_reason")) or None,
        started_at=_text(raw.get("started_at")) or None,
        completed_at=_text(raw.get("completed_at")) or None,
    )


def plan_from_data(data: Any, default_agent: str | None = None) -> Plan:
    """A ``Plan`` from parsed JSON/YAML (no validation; see ``validate``)."""
    data = normalized(data)
    plan = Plan(meta={k: v for k, v in data.items() if k not in ("phases", SCHEMA_KEY)})
    for index, raw_phase in enumerate(data["phases"], start=1):
        tasks = raw_tasks(raw_phase, index)
        number = _first(raw_phase, "id", "phase", "phase_id", "number")
        match = re.search(r"\d+", str(number)) if number is not None else None
        phase = Phase(
            number=int(match.group()) if match else index,
            name=_text(_first(raw_phase, "name", "title")) or f"Phase {index}",
        )
        for raw_task in tasks:
            phase.tasks.append(task_from_dict(raw_task, default_agent))
        plan.phases.append(phase)
    return plan


def validate(plan: Plan) -> list[str]:
    """Every problem of ``plan`` (empty when it is valid)."""
    problems: list[str] = []
    tasks = plan.tasks()
    if not tasks:
        problems.append("the plan has no tasks")
    seen: set[str] = set()
    for task in tasks:
        label = task.id or "(task without id)"
        if not TASK_ID.match(task.id):
            problems.append(f"task id {task.id!r} is not of the form T<phase>.<n> (e.g. T1.2)")
        if task.id in seen:
            problems.append(f"task id {task.id} is used more than once")
        seen.add(task.id)
        if not task.title:
            problems.append(f"task {label} has no title")
    ids = {t.id for t in tasks}
    for task in tasks:
        for dep in task.dependencies:
            if dep == task.id:
                problems.append(f"task {task.id} depends on itself")
            elif dep not in ids:
                problems.append(f"task {task.id} depends on {dep!r}, which is not in the plan")
    cycle = find_cycle(tasks)
    if cycle:
        problems.append("dependency cycle: " + " -> ".join(cycle))
    return problems


def find_cycle(tasks: list[Task]) -> list[str] | None:
    graph = {t.id: [d for d in t.dependencies if d != t.id] for t in tasks}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in graph.get(node, []):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def merge_statuses(new: Plan, old: Plan | None) -> list[str]:
    """Carry statuses of surviving task ids from ``old`` into ``new``; returns those ids."""
    if old is None:
        return []
    kept = []
    for task in new.tasks():
        previous = old.task(task.id)
        if previous is not None and previous.status != "pending":
            task.status = previous.status
            task.failure_reason = previous.failure_reason
            task.started_at = previous.started_at
            task.completed_at = previous.completed_at
            kept.append(task.id)
    return kept


JSON_SHAPE = """\
{
  "phases": [
    {
      "id": 1,
      "name": "short phase name",
      "tasks": [
        {
          "id": "T1.1",
          "title": "short imperative title",
          "description": "what to build and where",
          "acceptance_criteria": ["observable behaviour that must hold", "..."],
          "test_requirements": ["the tests that prove it", "..."],
          "dependencies": [],
          "agent": "claude"
        }
      ]
    }
  ]
}"""

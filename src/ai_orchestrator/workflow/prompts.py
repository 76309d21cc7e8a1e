"""Prompt texts of the workflow phases (pure functions of the plan, the task and results).

Every implement prompt carries the task's description, acceptance criteria and test
requirements plus the plan context: the feature description, every other task's title and
status, and the dependencies' titles and criteria. The agent is told the exact test command
that ``aio`` will run itself, and that ``aio`` (not the agent's claim) decides red/green.
The escalation texts (``HANDOFF_REQUEST``, ``DEFAULT_CONTINUE``) are here too.
"""

from __future__ import annotations

from ai_orchestrator.workflow.model.plan import JSON_SHAPE, Plan, Task


def _bullets(items: list[str], empty: str = "(none given)") -> str:
    return "\n".join(f"- {item}" for item in items) if items else f"- {empty}"


def _either(names: list[str]) -> str:
    """``a, b or c``."""
    return " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def plan_prompt(
    feature_id: str,
    description: str,
    request: str,
    *,
    active_task: str | None,
    previous: Plan | None,
    context: str | None,
    agents: list[str],
) -> str:
    """The planner's prompt; ``agents`` are the agents a task may be assigned to."""
    parts = [
        f"You are planning the feature `{feature_id}`.",
        f"Feature description: {description or '(none given)'}",
        f"Current request: {request}",
    ]
    if active_task:
        parts.append(f"Note: currently working on task {active_task}.")
    if previous is not None and previous.tasks():
        listing = "\n".join(f"- {t.id} [{t.status}] {t.title}" for t in previous.tasks())
        parts.append(
            "The current plan (keep the ids of tasks that stay the same; completed work stays "
            f"completed):\n{listing}"
        )
    if context:
        parts.append(f"Repository context:\n{context}")
    parts.append(
        "Create an implementation plan that follows acceptance-test-driven development "
        "(ATDD/TDD): clear phases with specific, small tasks; for every task the acceptance "
        "criteria (observable behaviour) and the test requirements (the tests that prove the "
        "criteria, written before the code); the task dependencies; and an agent assignment "
        f"({_either(agents)}).\n"
        "Rules: task ids are T<phase>.<n> (T1.1, T1.2, T2.1 …) and unique; dependencies name "
        "task ids of this plan and form no cycle; do not modify any files now.\n"
        "Answer with ONLY one JSON document (you may put it in a ```json fence) of this shape:\n"
        f"{JSON_SHAPE}"
    )
    return "\n\n".join(parts)


def plan_correction(problems: list[str]) -> str:
    return (
        "Your plan could not be used:\n"
        + _bullets(problems)
        + "\n\nAnswer again with the complete, corrected plan as ONE JSON document of the same "
        "shape, and nothing else."
    )


def task_context(plan: Plan, task: Task, description: str) -> str:
    others = [t for t in plan.tasks() if t.id != task.id]
    deps = [d for d in (plan.task(i) for i in task.dependencies) if d is not None]
    dep_text = "\n".join(
        f"- {d.id} {d.title} [{d.status}]: " + "; ".join(d.acceptance_criteria or [d.description])
        for d in deps
    )
    return "\n\n".join(
        [
            f"Feature: {description or '(no description)'}",
            f"Task {task.id}: {task.title}\n{task.description}".rstrip(),
            f"Acceptance criteria:\n{_bullets(task.acceptance_criteria)}",
            f"Test requirements:\n{_bullets(task.test_requirements)}",
            f"Dependencies (already done):\n{dep_text or '- none'}",
            "Other tasks of the plan (do not implement them now):\n"
            + _bullets([f"{t.id} [{t.status}] {t.title}" for t in others], "none"),
        ]
    )


def tests_prompt(context: str, test_command: str, *, tdd: bool) -> str:
    kind = "unit tests for the smallest next behaviour" if tdd else "acceptance tests"
    return (
        f"{context}\n\n"
        f"Step 1 (RED): write the {kind} for task's acceptance criteria and test requirements "
        "ONLY — do not implement the production code yet. Use clear behaviour-describing test "
        "names and cover edge and error cases. The tests must FAIL now because the "
        f"implementation does not exist yet. aio will run `{test_command}` itself and check "
        "that they fail. Reply with a short summary listing the test files you wrote."
    )


def tests_resume_note(files: list[str]) -> str:
    """Added to the tests prompt when an earlier run of this step was interrupted."""
    written = (
        "These test files were written for this task then: " + ", ".join(files) + ". Check "
        "them and complete them where they are (they count as this task's tests); do not "
        "start over in other files."
        if files
        else "No test file of this task was written then."
    )
    return f"Note: an earlier run of this step was interrupted before aio checked red. {written}"


def tests_pass_correction(reason: str, summary: str, test_command: str) -> str:
    return (
        f"`{test_command}` reports {summary}, and this is not the required red: {reason}. "
        "The tests you write for this task must exist as test files, exercise the new "
        "behaviour and FAIL until it is implemented (failures of other, existing tests do not "
        "count). Write or change the task's tests accordingly. Do not implement it yet."
    )


def implement_prompt(test_command: str) -> str:
    return (
        "Step 2 (GREEN): now implement the task so that all tests pass, with clean, "
        "maintainable code that follows the project's patterns, with error handling. The "
        "tests that failed at red are pinned: do not edit, skip, rename or delete them, nor "
        "change conftest.py files or the pytest configuration — aio checks them and a changed "
        f"test is not green. aio will run `{test_command}` itself. Reply with a short "
        "summary of what you changed."
    )


def implement_only_prompt(context: str) -> str:
    return (
        f"{context}\n\nImplement this task now (no test-first step was requested). Reply with a "
        "short summary of what you changed."
    )


def fix_prompt(test_command: str, reason: str, tail: str, round_no: int, rounds: int) -> str:
    return (
        f"`{test_command}` is not green yet: {reason}; fix round {round_no} of {rounds}. "
        "Fix the implementation, not the tests: the tests pinned at red, their conftest.py "
        "files and the pytest configuration must stay as they were (never delete, edit, "
        "rename or skip the task's tests) so that every test passes. The end of the output:\n"
        f"```\n{tail}\n```"
    )


def refactor_prompt(test_command: str) -> str:
    return (
        "Step 3 (REFACTOR): the tests pass. Improve the structure of the code you wrote — "
        "remove duplication, improve names and readability — without changing behaviour. "
        f"The tests must stay green; aio will run `{test_command}` again afterwards."
    )


# Escalation (``phases.handover``): what the old conversation is asked for, and how the new
# one is told to go on when the user gave no prompt.
HANDOFF_REQUEST = (
    "This conversation is being handed over to {target} ({reason}). Write the hand-over for "
    "whoever continues it, who will NOT see this conversation: the goal; what has been done "
    "(files changed, decisions and why); what was tried and failed, with the exact errors; "
    "what remains and the next concrete step. Be specific and complete but brief. Reply with "
    "the hand-over only; change no files."
)
DEFAULT_CONTINUE = (
    "Continue the work from where it stands. Start by saying in two or three sentences what "
    "you understand the current state and the next step to be, then do that step."
)

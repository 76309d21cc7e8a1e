"""Every typed error carries its data as fields, and its message is built from them.

``CASES`` holds, for every error class of ``core/errors.py`` but the generic bases and the
data-less signal, one or more constructions (as its raisers build it), the fields it must
carry and the exact message (the text users and other tests see: it must not change when
an error gains fields). A new error class without a case fails
``test_every_error_class_has_a_case``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ai_orchestrator.core import errors
from ai_orchestrator.core.errors import AioError

# Generic bases (their subclasses name the thing), and a signal that is never shown.
WITHOUT_DATA = {
    "AioError": "the base of every error",
    "InvalidInput": "a value the caller gave is not allowed: the base of the usage errors",
    "NotFound": "the base of the not-found errors (a session, a feature, a plan, a task "
    "raise the subclass that names it)",
    "StoreError": "the base of the store's errors",
    "BadPriceCard": "an internal signal (a cached card that does not decode), never shown",
}


@dataclass(frozen=True)
class Case:
    cls: type[AioError]
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    exit_code: int = errors.EXIT_FAILURE
    build: Callable[..., AioError] | None = None  # a named constructor, else the class

    def make(self) -> AioError:
        return (self.build or self.cls)(*self.args, **self.kwargs)


E = errors
TIMEOUT = E.AgentTimeout("claude", "plan-x", "no output for 600s")
CASES = [
    Case(E.AlreadyReported, ("critical findings",), fields={"what": "critical findings"},
         message="critical findings"),
    Case(E.Unpriced, ("mystery", "unknown model"), fields={"model": "mystery",
         "reason": "unknown model"}, message="mystery: unpriced (unknown model)"),
    Case(E.SessionNotFound, ("plan-x",), fields={"session": "plan-x", "detail": ""},
         message="session not found: plan-x"),
    Case(E.SessionNotFound, ("plan-x", "removed meanwhile"),
         fields={"session": "plan-x", "detail": "removed meanwhile"},
         message="session not found: plan-x (removed meanwhile)"),
    Case(E.FeatureNotFound, ("calc",), fields={"feature": "calc"},
         message="feature 'calc' does not exist (run `aio init calc`)"),
    Case(E.PlanNotFound, ("calc",), fields={"feature": "calc"},
         message="feature 'calc' has no plan yet (run `aio plan calc \"PROMPT\"`)"),
    Case(E.TaskNotFound, ("t9", "calc", ["t1", "t2"]),
         fields={"task_id": "t9", "feature": "calc", "tasks": ("t1", "t2")},
         message="task 't9' is not in the plan of calc (tasks: t1, t2)"),
    Case(E.TaskNotFound, ("t9", "calc", []), fields={"tasks": ()},
         message="task 't9' is not in the plan of calc (tasks: none)"),
    Case(E.StoreFileError, ("cannot write /s/x: disk full", 28, "/s/x", "nothing was recorded"),
         fields={"errno": 28, "filename": "/s/x", "outcome": "nothing was recorded"},
         message="cannot write /s/x: disk full; nothing was recorded"),
    Case(E.OutputLost, ("stdout", 32, "broken pipe"),
         fields={"stream": "stdout", "errno": 32, "cause": "broken pipe"},
         message="cannot write the output to stdout: broken pipe"),
    Case(E.UnsafeStore, ("/s/plan-x", "it is a symbolic link", "session directory"),
         fields={"path": "/s/plan-x", "reason": "it is a symbolic link",
                 "what": "session directory"},
         message="refusing session directory /s/plan-x: it is a symbolic link"),
    Case(E.UnsafeStore, ("/s/x.jsonl", "it is a symbolic link"), fields={"what": ""},
         message="refusing /s/x.jsonl: it is a symbolic link"),
    Case(E.SessionBusy, ("session plan-x", "pid 7", 2.5),
         fields={"what": "session plan-x", "holder": "pid 7", "waited": 2.5},
         message="session plan-x is busy: held by pid 7; gave up after waiting 2.5s"),
    Case(E.SessionPinned, ("plan-x",), fields={"session": "plan-x"},
         message="plan-x is pinned; kept (run: aio session unpin plan-x)"),
    Case(E.BudgetExceeded, ("feature calc", 1.5, 1.0), fields={"subject": "feature calc",
         "spent": 1.5, "limit": 1.0}, exit_code=errors.EXIT_BUDGET, build=E.BudgetExceeded.over,
         message="feature calc has spent $1.5000 of its $1.00 budget; no agent call was made"),
    Case(E.AgentTimeout, ("claude", "plan-x", "no output for 600s"),
         fields={"agent": "claude", "session": "plan-x", "detail": "no output for 600s"},
         message="claude timed out in session plan-x: no output for 600s",
         exit_code=errors.EXIT_TIMEOUT),
    Case(E.PlannersFailed, (("claude", "gemini"), TIMEOUT),
         fields={"planners": ("claude", "gemini"), "last_error": TIMEOUT},
         message=f"all planners failed to produce a plan; last error: {TIMEOUT}",
         exit_code=errors.EXIT_TIMEOUT),
    Case(E.Interrupted, (), {"agent": "codex", "session": "run-x"},
         fields={"agent": "codex", "session": "run-x", "task_id": None},
         message="interrupted: the codex run in run-x was stopped",
         exit_code=errors.EXIT_INTERRUPTED),
    Case(E.Interrupted, (), {"task_id": "t2"}, fields={"task_id": "t2"},
         message="interrupted: task t2 marked failed", exit_code=errors.EXIT_INTERRUPTED),
    Case(E.AgentLaunchError, (None, "empty command line"),
         fields={"executable": None, "reason": "empty command line"},
         message="cannot start agent: empty command line"),
    Case(E.AgentLaunchError, ("/bin/claude", "working directory /p not found"),
         fields={"executable": "/bin/claude"},
         message="cannot start agent '/bin/claude': working directory /p not found"),
    Case(E.AgentNotFound, ("claude", "was not found on PATH"),
         {"agent": "claude", "variable": "AIO_AGENT_CLAUDE_EXECUTABLE"},
         fields={"executable": "claude", "reason": "was not found on PATH", "agent": "claude",
                 "variable": "AIO_AGENT_CLAUDE_EXECUTABLE", "notes": ()},
         message="agent 'claude': 'claude' was not found on PATH; install it or set "
         "AIO_AGENT_CLAUDE_EXECUTABLE to its path"),
    Case(E.AgentNotFound, ("/x/gemini", "is not a runnable program"), {"notes": ("no call",)},
         fields={"executable": "/x/gemini", "agent": None, "notes": ("no call",)},
         message="agent executable '/x/gemini' is not a runnable program (no call)"),
    Case(E.AgentFailed, ("gemini", "plan-x", "error:rate_limit", "429"),
         fields={"agent": "gemini", "session": "plan-x", "outcome": "error:rate_limit",
                 "detail": "429"},
         message="gemini failed in session plan-x (error:rate_limit): 429"),
    Case(E.CompactionFailed, ("claude gave an empty hand-over", "plan-x", "summary"),
         fields={"session": "plan-x", "method": "summary"},
         message="claude gave an empty hand-over"),
    Case(E.SessionLost, ("plan-x", "abc"), fields={"session": "plan-x", "stored_id": "abc"},
         message="the agent no longer has the conversation stored in session plan-x (abc); "
         "rerun with --new-session to start a new one (the old context is gone)"),
    Case(E.SessionElsewhere, ("plan-x", "codex", "/a", "/b"),
         fields={"session": "plan-x", "agent": "codex", "stored_cwd": "/a", "cwd": "/b"},
         message="session plan-x holds a codex conversation started in /a, not in this "
         "project (/b); refusing to resume it here. Use --new-session to start a new "
         "conversation for this project (replacing the stored one), or use another feature id"),
    Case(E.UnknownConversation, ("--continue", "run-x"),
         fields={"flag": "--continue", "session": "run-x", "known": None, "agent": None},
         message="--continue: session run-x has no agent conversation to continue",
         exit_code=errors.EXIT_USAGE),
    Case(E.UnknownConversation, ("--resume zz", "run-x"), {"known": {"b", "a"}},
         fields={"known": ("a", "b")},
         message="--resume zz: not a conversation of session run-x (its conversations: a, b)",
         exit_code=errors.EXIT_USAGE),
    Case(E.UnknownConversation, ("--resume zz", "run-x"), {"known": set()},
         message="--resume zz: not a conversation of session run-x (its conversations: none)",
         exit_code=errors.EXIT_USAGE),
    Case(E.UnknownConversation, ("--continue", "run-x"),
         {"agent": "gemini", "asked_agent": "claude"},
         fields={"agent": "gemini", "asked_agent": "claude"},
         message="--continue: the conversation in session run-x is a gemini conversation, "
         "not claude; add --agent gemini", exit_code=errors.EXIT_USAGE),
    Case(E.InvalidPlan, ("no tasks", "/a/plan-rejected.txt"),
         fields={"reason": "no tasks", "kept": "/a/plan-rejected.txt"},
         message="the planner's answer is not a valid plan: no tasks (the planner's raw "
         "answer: /a/plan-rejected.txt)"),
    Case(E.InvalidPlan, ("no tasks",), fields={"kept": ""},
         message="the planner's answer is not a valid plan: no tasks"),
    Case(E.InvalidReview, ("not JSON",), fields={"reason": "not JSON"},
         message="the review answer is not usable: not JSON"),
    Case(E.InvalidVerdict, ("not JSON",), fields={"reason": "not JSON"},
         message="the verifier's answer is not usable: not JSON"),
    Case(E.TestsNotRed, ("t1", "they passed", "log.txt"),
         fields={"task_id": "t1", "reason": "they passed", "log": "log.txt"},
         message="task t1: the task's tests did not fail before the implementation "
         "(they passed); see log.txt"),
    Case(E.TestsFailed, ("t1", 3, "2 failed", "log.txt"),
         fields={"task_id": "t1", "rounds": 3, "reason": "2 failed", "log": "log.txt"},
         message="task t1: not green after 3 fix round(s): 2 failed; see log.txt"),
    Case(E.CoverageTooLow, (80.0, 71.254), fields={"required": 80.0, "percent": 71.254},
         message="coverage 71.25% is under the required 80%"),
    Case(E.CoverageTooLow, (80.5, None), fields={"percent": None},
         message="no coverage figure came out of the run (--check-coverage 80.5)"),
    Case(E.TestRunnerError, ("t1", "no module named pytest", "set test_command"),
         {"step": "red", "log": "logs/t1.txt"},
         fields={"task_id": "t1", "detail": "no module named pytest", "fix": "set test_command",
                 "step": "red", "log": "logs/t1.txt"},
         message="task t1: the tests never ran, so red cannot be judged — no module named "
         "pytest; set test_command; log: logs/t1.txt"),
    Case(E.TestRunnerError, ("t1", "`nox` not found", "set test_command (now: nox)"),
         fields={"step": None},
         message="task t1 was not started: the test command cannot run — `nox` not found; "
         "set test_command (now: nox)"),
    Case(E.DependencyNotMet, ("t3", ["t1", "t2"]), fields={"task_id": "t3",
         "unmet": ["t1", "t2"]}, message="task t3 depends on t1, t2, not completed yet "
         "(implement those first, or: aio implement --task t3 --force)"),
    Case(E.ScenarioError, ("scenario s.yaml does not parse: bad",), {"scenario": "s.yaml"},
         fields={"scenario": "s.yaml", "path": None, "session_id": None},
         message="scenario s.yaml does not parse: bad", exit_code=errors.EXIT_USAGE),
    Case(E.SessionRefused, ("abc", "unknown"), fields={"session_id": "abc",
         "reason": "unknown"}, message="No conversation found with session ID: abc"),
    Case(E.SessionRefused, ("abc", "in use"), fields={"reason": "in use"},
         message="Error: Session ID abc is already in use."),
    Case(E.SessionRefused, ("abc", "exhausted"), {"scenario": "/s.yaml", "steps": 2},
         fields={"scenario": "/s.yaml", "steps": 2},
         message="scenario exhausted: all 2 steps of /s.yaml used"),
    Case(E.CommandConflict, ([("/c/plan.md", "is a symbolic link; aio leaves it alone "
         "(remove or rename it)")],), {"installing": False},
         fields={"conflicts": (("/c/plan.md", "is a symbolic link; aio leaves it alone "
                                "(remove or rename it)"),), "installing": False},
         message="/c/plan.md is a symbolic link; aio leaves it alone (remove or rename it)"),
    Case(E.CommandConflict, ([("/c/a.md", "exists and is not aio's"),
                              ("/c/b.md", "exists and is not aio's")],), {"installing": True},
         message="not installing (nothing was written): /c/a.md exists and is not aio's; "
         "/c/b.md exists and is not aio's — rename your command, or remove it if it is an "
         "old copy of aio's"),
    Case(E.TeamError, ("refused", "postgres://u:***@h/db"),
         fields={"target": "postgres://u:***@h/db"}, message="refused"),
    Case(E.TeamSchemaTooNew, ("newer schema", "t", 9, 4), fields={"found": 9, "known": 4},
         message="newer schema", exit_code=errors.EXIT_TEAM_SCHEMA),
    Case(E.TemplateNotFound, ("base",), fields={"template": "base"},
         message="no template named 'base' (see `aio template list`)"),
    Case(E.TemplateExists, ("template 'base' exists already (--force replaces it)", "base"),
         fields={"template": "base"},
         message="template 'base' exists already (--force replaces it)"),
    Case(E.TemplateSeedMissing, ("seed gone", "base", "plan-x"),
         fields={"template": "base", "session": "plan-x"}, message="seed gone"),
    Case(E.LinkRefused, ("cannot link feature a to itself", "a", "a", "self"),
         fields={"feature": "a", "other": "a", "reason": "self"},
         message="cannot link feature a to itself", exit_code=errors.EXIT_USAGE),
    Case(E.FeatureInUse, ("in use", "a", ["plan-a"]),
         fields={"feature": "a", "sessions": ["plan-a"]}, message="in use"),
]


def error_classes() -> dict[str, type[AioError]]:
    return {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, AioError)
    }


def test_every_error_class_has_a_case() -> None:
    covered = {case.cls.__name__ for case in CASES}
    missing = sorted(set(error_classes()) - covered - set(WITHOUT_DATA))
    assert not missing, f"add a case (its fields and exact message) for: {missing}"
    assert not covered & set(WITHOUT_DATA)
    assert set(WITHOUT_DATA) <= set(error_classes())


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.cls.__name__}-{i}" for i, c in enumerate(CASES)]
)
def test_each_error_carries_its_fields_and_says_them(case: Case) -> None:
    error = case.make()
    assert type(error) is case.cls
    assert str(error) == case.message
    assert error.exit_code == case.exit_code
    for name, value in case.fields.items():
        assert getattr(error, name) == value, name
    assert case.cls in {c.cls for c in CASES if c.fields}, "one case checks the fields"


@pytest.mark.parametrize("name", sorted(set(error_classes()) - set(WITHOUT_DATA)))
def test_each_class_with_data_declares_fields_beyond_the_message(name: str) -> None:
    """An error that describes a thing has at least one field of its own: the thing."""
    cls = error_classes()[name]
    case = next(c for c in CASES if c.cls is cls and c.fields)
    error = case.make()
    own = {k for k in vars(error) if not k.startswith("_")} - {"message"}
    assert own, f"{name} carries its data only in its message"


def test_a_not_found_error_is_still_a_not_found() -> None:
    """The subclasses keep every ``except NotFound`` (and exit 1) working."""
    for cls in (E.SessionNotFound, E.FeatureNotFound, E.PlanNotFound, E.TaskNotFound,
                E.TemplateNotFound):
        assert issubclass(cls, E.NotFound)
    assert issubclass(E.AgentNotFound, E.AgentLaunchError)
    assert issubclass(E.UnsafeStore, E.StoreError)


def test_a_note_adds_to_an_agent_not_found_and_keeps_its_fields() -> None:
    error = E.AgentNotFound("codex", "was not found on PATH", agent="codex", variable="V")
    noted = error.noting("nothing was run").noting("no session was created")
    assert str(noted) == f"{error} (nothing was run) (no session was created)"
    assert (noted.executable, noted.agent, noted.variable) == ("codex", "codex", "V")
    assert noted.notes == ("nothing was run", "no session was created")

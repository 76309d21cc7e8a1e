"""The command table of ``aio``: each command's module, attribute and one-line help
(``COMMANDS``), and the sections of ``aio --help`` (``SECTIONS``). Data only, no click:
``cli.root`` builds the group from it, ``cli.main`` and the completion read it.
"""

from __future__ import annotations

# name -> (module, attribute, one-line help shown in `aio --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "session": ("ai_orchestrator.cli.session", "session", "Manage stored agent sessions."),
    "prices": ("ai_orchestrator.cli.prices", "prices", "Show the rates used to price a model."),
    "todo": ("ai_orchestrator.cli.todo", "todo", "Session todos: estimated vs actual cost."),
    "run": ("ai_orchestrator.cli.run", "run_cmd", "Run one agent call in a named session."),
    "doctor": ("ai_orchestrator.cli.doctor", "doctor_cmd", "Check installed agent CLIs."),
    "usage": ("ai_orchestrator.cli.usage", "usage", "Usage of every agent session (index)."),
    "report": ("ai_orchestrator.cli.report", "report_cmd", "One offline HTML report (charts)."),
    "team": ("ai_orchestrator.cli.team", "team", "Share usage with a team (PostgreSQL)."),
    "hooks": ("ai_orchestrator.cli.hooks", "hooks_group", "Install aio's hooks into agents."),
    "hook": ("ai_orchestrator.cli.hooks", "hook_cmd", "Spool one agent hook event (stdin)."),
    "statusline": ("ai_orchestrator.cli.hooks", "statusline_cmd", "Claude Code status line."),
    # workflow (issue 4)
    "init": ("ai_orchestrator.cli.workflow", "init_cmd", "Create a feature in .aio/."),
    "plan": ("ai_orchestrator.cli.workflow", "plan_cmd", "Plan a feature (session plan-F)."),
    "tasks": ("ai_orchestrator.cli.workflow", "tasks_cmd", "List a feature's tasks."),
    "next": ("ai_orchestrator.cli.workflow", "next_cmd", "Show the next ready task."),
    "implement": (
        "ai_orchestrator.cli.workflow",
        "implement_cmd",
        "Implement a task test-first (session implement-F).",
    ),
    "review": ("ai_orchestrator.cli.workflow", "review_cmd", "Review code (session review-F)."),
    "verify": ("ai_orchestrator.cli.verify", "verify_cmd", "Run the tests in a fresh context."),
    "escalate": (
        "ai_orchestrator.cli.escalate",
        "escalate_cmd",
        "Hand a conversation to a stronger model or another agent.",
    ),
    "template": (
        "ai_orchestrator.cli.templates",
        "template_group",
        "Session templates that new features start from.",
    ),
    "link": (
        "ai_orchestrator.cli.templates",
        "link_cmd",
        "Start a feature's conversations from another feature's.",
    ),
    "status": ("ai_orchestrator.cli.features", "status_cmd", "Feature progress, tokens, cost."),
    "features": (
        "ai_orchestrator.cli.housekeeping",
        "features_group",
        "List all features; `features clean` removes or archives them.",
    ),
    "task": ("ai_orchestrator.cli.housekeeping", "task_group", "Set a task's status by hand."),
    "history": ("ai_orchestrator.cli.features", "history_cmd", "A feature's command history."),
    "switch": ("ai_orchestrator.cli.features", "switch_cmd", "Set the current feature."),
    "demo": ("ai_orchestrator.cli.demo", "demo_cmd", "Offline scripted end-to-end demo."),
    "install": ("ai_orchestrator.cli.install", "install_group", "Install Claude Code commands."),
    "uninstall": ("ai_orchestrator.cli.install", "uninstall_group", "Remove what aio installed."),
    "config": ("ai_orchestrator.cli.setup", "config_group", "Check .aio/config.toml."),
    "completion": (
        "ai_orchestrator.cli.setup",
        "completion_cmd",
        "Print the shell completion script (bash, zsh, fish).",
    ),
}

# `aio --help` in the order of the work: a feature's workflow, then sessions and single
# calls, then what it cost, then setting up.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Workflow",
        (
            "init", "plan", "tasks", "next", "implement", "escalate", "review", "verify",
            "status", "switch", "task", "template", "link",
        ),
    ),
    ("Sessions and single calls", ("run", "session")),
    ("Usage and reports", ("features", "history", "todo", "prices", "usage", "report", "team")),
    (
        "Setup",
        (
            "doctor", "config", "completion", "install", "uninstall", "hooks", "hook",
            "statusline", "demo",
        ),
    ),
)

"""``aio doctor``: installed agent CLIs, their versions, the session store's health, and
whether the project's test command can run (``workflow.project.testcheck``: a dry run where the
runner has one; reported, never a reason for a non-zero exit)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ai_orchestrator.cli import output

if TYPE_CHECKING:
    from ai_orchestrator.workflow.testing.testcheck import CommandCheck


@output.reads
@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
def doctor_cmd(as_json: bool) -> int:
    """Check which agent CLIs are installed (versions cached by binary) and the store."""
    from ai_orchestrator.agents.doctor import as_dicts, check_agents
    from ai_orchestrator.store import SessionStore

    checks = check_agents()
    tests = _check_tests()
    store = SessionStore()
    try:
        exists = store.check_root()
        store_state = "ok" if exists else "not created yet"
    except Exception as exc:  # report, don't crash: this is a diagnostic command
        store_state = f"unusable: {exc}"
    if as_json:
        output.emit_json(
            {
                "agents": as_dicts(checks),
                "session_dir": str(store.root),
                "session_store": store_state,
                "test_command": tests.to_dict(),
            }
        )
    else:
        from rich.table import Table

        # The title on its own line: rich pads a table's title to the table's width.
        table_title = "Agent CLIs"
        table = Table()
        for column in ("Agent", "Installed", "Version", "Tested with", "Path / problem"):
            table.add_column(column)
        for c in checks:
            table.add_row(
                c.agent,
                "yes" if c.installed else "no",
                c.version or "-",
                c.tested_version or "-",
                c.problem or c.path or "",
            )
        output.out().print(table_title, markup=False)
        output.out().print(table)
        output.out().print(f"Session store: {store.root} ({store_state})")
        output.out().print(tests.line(), markup=False, highlight=False)
    return 0 if store_state.startswith(("ok", "not")) else 1


def _check_tests() -> CommandCheck:
    """The project's (or, outside one, the current directory's) test command, dry-run."""
    from ai_orchestrator.workflow.project.configcheck import check_project
    from ai_orchestrator.workflow.project.workspace import find_project_root

    return check_project(find_project_root() or Path.cwd())

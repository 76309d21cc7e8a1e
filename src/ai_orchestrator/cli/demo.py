"""``aio demo [--dir DIR]``: the whole workflow offline, with the SCRIPTED agent.

init → plan → implement T1.1 and T1.2 (red → green with real test runs; T1.2 needs one fix
round) → verify --ci → status → ``ai-session list`` / ``stats``. Uses a temporary
``SESSION_DIR`` unless the user set one (said on stderr), a private scripted-agent home, and
leaves the project directory in place (its path is printed).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from ai_orchestrator.cli import output
from ai_orchestrator.cli.wf_render import hooks, print_plan

BANNER = "SCRIPTED DEMO — an offline scripted agent replays a fixed scenario; no real AI is called"


def _section(title: str) -> None:
    from rich.markup import escape

    output.out().print()
    output.out().print(f"[bold]== {escape(title)} ==[/bold]")


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to create the demo project (default: a temp dir).",
)
def demo_cmd(directory: Path | None) -> int:
    """Run the whole workflow offline with the scripted agent on a small Python project."""
    from ai_orchestrator.cli.main import run as run_cli
    from ai_orchestrator.cli.session import session
    from ai_orchestrator.workflow import demo
    from ai_orchestrator.workflow.features import init_feature
    from ai_orchestrator.workflow.implement import ImplementOptions, run_implement
    from ai_orchestrator.workflow.planning import run_plan
    from ai_orchestrator.workflow.runctx import open_feature
    from ai_orchestrator.workflow.verify import run_verify
    from ai_orchestrator.workflow.workspace import Workspace

    output.info(BANNER)
    output.out().print(f"[bold yellow]{BANNER}[/bold yellow]")
    project = (directory or Path(tempfile.mkdtemp(prefix="aio-demo-"))).resolve()
    if os.environ.get("SESSION_DIR"):
        output.info(f"Using your SESSION_DIR: {os.environ['SESSION_DIR']}")
    else:
        os.environ["SESSION_DIR"] = tempfile.mkdtemp(prefix="aio-demo-sessions-")
        output.info(
            f"Using a temporary SESSION_DIR: {os.environ['SESSION_DIR']} "
            "(set SESSION_DIR to keep the demo's sessions elsewhere)"
        )
    os.environ["AIO_SCRIPTED_HOME"] = tempfile.mkdtemp(prefix="aio-demo-agent-")
    os.environ["AIO_PROJECT_DIR"] = str(project)
    os.environ.pop("AI_MODEL", None)

    command, is_git = demo.create_project(project)
    os.chdir(project)
    output.info(f"Demo project: {project}{' (git repository)' if is_git else ''}")

    _section(f"aio init {demo.FEATURE}")
    ws = Workspace.find(for_init=True)
    init_feature(ws, demo.FEATURE, demo.DESCRIPTION)
    ws.set_current(demo.FEATURE)
    demo.write_demo_config(ws.config_file, command)
    output.out().print(f"Created {ws.feature(demo.FEATURE).root}")

    ctx = open_feature(demo.FEATURE, hooks())
    _section(f'aio plan {demo.FEATURE} "{demo.PLAN_PROMPT}"   [scripted]')
    outcome = run_plan(ctx, demo.PLAN_PROMPT)
    print_plan(outcome.plan, f"Plan for {demo.FEATURE} (scripted)")

    for task_id in demo.TASKS:
        _section(f"aio implement {demo.FEATURE} --task {task_id}   [scripted]")
        result = run_implement(ctx, task_id, ImplementOptions())
        for test_run in result.test_runs:
            verdict = "green" if test_run.green else "red" if test_run.red else "not run"
            if test_run.label.startswith("red") and test_run.red:
                verdict = "red (required)"
            output.out().print(f"  {test_run.label:<10} {verdict:<15} {test_run.summary()}")
        output.out().print(
            f"  {task_id}: {result.task.status} after {len(result.steps)} agent call(s)"
        )

    _section(f"aio verify {demo.FEATURE} --ci")
    verified = run_verify(ctx, ci=True)
    output.out().print(f"  {'PASS' if verified.ok else 'FAIL'}: {verified.run.summary()}")
    output.out().print(f"  JUnit XML: {verified.ci_path}")

    _section("ai-session list")
    run_cli(session, ["list"], "ai-session")
    _section("ai-session stats")
    run_cli(session, ["stats"], "ai-session")

    output.info("Costs above are notional: scripted models are priced as their namesakes.")
    _section("Done")
    output.out().print(f"The demo project is in {project}")
    output.out().print(f"Try: cd {project} && SESSION_DIR={os.environ['SESSION_DIR']} aio status")
    return 0 if verified.ok else 1

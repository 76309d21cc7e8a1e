"""``aio demo [--dir DIR] [--session-dir STORE]``: the whole workflow offline, with the
SCRIPTED agent.

init → plan → implement T1.1 and T1.2 (red → green with real test runs; T1.2 needs one fix
round) → verify --ci → status → ``ai-session list`` / ``stats``. The demo keeps its own
session store and scripted-agent state inside the project (``demo.DemoState``) — an exported
``SESSION_DIR`` (and ``TODO_FILE``) is ignored (said on stderr), so a demo never writes its
notional costs into the user's store and runs the same any number of times. ``--session-dir``
records into another store instead; the demo's conversations there are then replaced
(``--new-session``), since the store may hold those of an earlier demo. The project is left
in place; its path, the store and a pasteable ``aio status`` line are printed at the end.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from ai_orchestrator.cli import output
from ai_orchestrator.cli.render_workflow import hooks, print_plan
from ai_orchestrator.core import env

BANNER = "SCRIPTED DEMO — an offline scripted agent replays a fixed scenario; no real AI is called"


def _section(title: str) -> None:
    from rich.markup import escape

    output.out().print()
    output.out().print(f"[bold]== {escape(title)} ==[/bold]")


@output.writes
@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to create the demo project (default: a temp dir).",
)
@click.option(
    "--session-dir",
    "session_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Record into this session store instead of the demo's own (DIR/.aio/demo/sessions).",
)
def demo_cmd(directory: Path | None, session_dir: Path | None) -> int:
    """Run the whole workflow offline with the scripted agent on a small Python project."""
    from ai_orchestrator.cli.main import run as run_cli
    from ai_orchestrator.cli.session import session
    from ai_orchestrator.workflow import demo
    from ai_orchestrator.workflow.model.feature import init_feature
    from ai_orchestrator.workflow.phases.implement import ImplementOptions, run_implement
    from ai_orchestrator.workflow.phases.plan import PlanOptions, run_plan
    from ai_orchestrator.workflow.phases.verify import run_verify
    from ai_orchestrator.workflow.project.workspace import Workspace
    from ai_orchestrator.workflow.runctx import open_feature

    output.info(BANNER)
    output.out().print(f"[bold yellow]{BANNER}[/bold yellow]")
    project = (directory or Path(tempfile.mkdtemp(prefix="aio-demo-"))).resolve()
    command, is_git = demo.create_project(project)
    state = demo.DemoState.inside(project, session_dir)
    state.create()
    if state.own_store and env.get("SESSION_DIR"):
        output.info(
            f"Not using your SESSION_DIR ({env.get('SESSION_DIR')}): the demo keeps its own "
            "store (--session-dir to record into another)"
        )
    env.put("SESSION_DIR", str(state.sessions))
    if state.own_store:
        env.put("TODO_FILE", None)  # the session todos go with the demo's own store
    env.put("AIO_SCRIPTED_HOME", str(state.scripted))
    env.put("AIO_PROJECT_DIR", str(project))
    env.put("AI_MODEL", None)
    os.chdir(project)
    output.info(f"Demo project: {project}{' (git repository)' if is_git else ''}")
    output.info(f"Session store: {state.sessions}")

    _section(f"aio init {demo.FEATURE}")
    ws = Workspace.find(for_init=True)
    init_feature(ws, demo.FEATURE, demo.DESCRIPTION)
    ws.set_current(demo.FEATURE)
    demo.write_demo_config(ws.config_file, command)
    output.out().print(f"Created {ws.feature(demo.FEATURE).root}")

    ctx = open_feature(demo.FEATURE, hooks())
    _section(f'aio plan {demo.FEATURE} "{demo.PLAN_PROMPT}"   [scripted]')
    # In another store, an earlier demo's conversations of this feature may exist.
    replace = not state.own_store
    outcome = run_plan(ctx, demo.PLAN_PROMPT, PlanOptions(new_session=replace))
    print_plan(outcome.plan, f"Plan for {demo.FEATURE} (scripted)")

    for task_id in demo.TASKS:
        _section(f"aio implement {demo.FEATURE} --task {task_id}   [scripted]")
        options = ImplementOptions(new_session=replace and task_id == demo.TASKS[0])
        result = run_implement(ctx, task_id, options)
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
    con = output.out()
    con.print(f"The demo project:     {project}", markup=False, highlight=False)
    con.print(f"Its session store:    {state.sessions}", markup=False, highlight=False)
    con.print(f"Scripted agent state: {state.scripted}", markup=False, highlight=False)
    con.print(
        f"Try: {state.status_command(project, demo.aio_command())}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return 0 if verified.ok else 1

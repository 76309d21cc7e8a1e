"""``aio template save|list|show|delete`` and ``aio link``: parse, call the library, render.

Templates live in ``store.templates`` (files under ``SESSION_DIR/templates``) and are built by
``workflow.model.origin.build_template``; a link is ``workflow.model.origin.link_feature``.
Read commands take ``--json`` (stdout: one JSON document); messages go to stderr.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import click

from ai_orchestrator.cli import output
from ai_orchestrator.core.errors import AioError

json_option = click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")


def _templates() -> Any:
    from ai_orchestrator.store import SessionStore
    from ai_orchestrator.store.templates import TemplateStore

    return TemplateStore(SessionStore().root)


def _row(template: dict[str, Any]) -> dict[str, Any]:
    seed = template.get("seed") or {}
    return {
        "name": template["name"],
        "description": template["description"],
        "created_at": template["created_at"],
        "phases": template["phases"],
        "budget_usd": template["budget_usd"],
        "seed_session": seed.get("session"),
        "seed_agent": seed.get("agent"),
        "preamble_chars": len(template["preamble"]),
    }


@click.group("template")
def template_group() -> None:
    """Session templates: a preamble, per-phase settings, a budget and a seed conversation
    that new features start from (aio init FEATURE --template NAME)."""


@output.writes
@template_group.command("save")
@click.argument("template_name", metavar="NAME")
@click.option(
    "--from",
    "from_session",
    default=None,
    metavar="SESSION",
    help="Seed conversation: the one SESSION holds (its agent and model too).",
)
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Settings file (TOML for .toml, else JSON): description, preamble, "
              "phases, budget_usd, seed_session.")  # fmt: skip
@click.option("--preamble", default=None, help="Context preamble (conventions, architecture).")
@click.option("--description", default=None, help="One line saying what the template is for.")
@click.option("--budget", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Budget in USD of each feature made from it.")  # fmt: skip
@click.option("--summary", default=None,
              help="Summary of the seed conversation for agents that cannot fork "
              "(default: aio's digest of its calls).")  # fmt: skip
@click.option("--force", is_flag=True, help="Replace a template of that name.")
@json_option
def save_cmd(
    template_name: str,
    from_session: str | None,
    file: Path | None,
    preamble: str | None,
    description: str | None,
    budget: float | None,
    summary: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Save template NAME from a session's conversation (--from) and/or a file (--file)."""
    name = template_name
    from ai_orchestrator.core.errors import InvalidInput
    from ai_orchestrator.core.limits import MAX_TEMPLATE_BYTES, check_size
    from ai_orchestrator.core.names import validate_template_name
    from ai_orchestrator.store import SessionStore
    from ai_orchestrator.workflow.model.origin import build_template, read_template_file

    validate_template_name(name)
    if from_session is None and file is None:
        raise InvalidInput("template save needs --from SESSION or --file F (or both)")
    given: dict[str, Any] = {}
    if file is not None:
        try:
            if not stat.S_ISREG(os.stat(file).st_mode):  # a FIFO would block: never opened
                raise InvalidInput(f"cannot read {file}: not a regular file")
            with file.open("rb") as source:
                data = source.read(MAX_TEMPLATE_BYTES + 1)
            check_size(len(data), MAX_TEMPLATE_BYTES, f"template file {file}")
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(
                f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
        given = read_template_file(text, file.suffix)
    for key, value in (
        ("preamble", preamble),
        ("description", description),
        ("budget_usd", budget),
    ):
        if value is not None:
            given[key] = value
    store = SessionStore()
    template = build_template(store, name, from_session=from_session, given=given, summary=summary)
    path = _templates().save(template, replace=force)
    output.info(f"Saved template {name} to {path}")
    if template["seed"]:
        seed = template["seed"]
        output.info(
            f"Seed conversation: {seed['agent']} {seed['agent_session_id']} of {seed['session']}"
        )
    if as_json:
        output.emit_json(template)


@output.reads
@template_group.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """Every template: description, seed session, phases, budget."""
    kept = _templates()
    rows, problems = [], []
    for name in kept.names():
        try:
            rows.append(_row(kept.load(name)))
        except (AioError, OSError) as exc:  # a bad file is named, the rest listed
            problems.append({"name": name, "error": str(exc)})
    for problem in problems:
        output.warn(f"template {problem['name']}: {problem['error']}")
    if as_json:
        output.emit_json({"templates": rows, "unreadable": problems})
        return
    if not rows:
        output.info("No templates (aio template save NAME --from SESSION|--file F)")
        return
    for row in rows:
        seed = (
            f"seed {row['seed_session']} ({row['seed_agent']})"
            if row["seed_session"]
            else "no seed"
        )
        phases = (
            ", ".join(
                f"{p}: {'/'.join(str(v) for k, v in s.items() if k in ('agent', 'model'))}"
                for p, s in row["phases"].items()
            )
            or "no phase settings"
        )
        budget = output.money(row["budget_usd"]) if row["budget_usd"] else "no budget"
        click.echo(f"{row['name']}  {seed}  {phases}  {budget}  {row['description']}".rstrip())


@output.reads
@template_group.command("show")
@click.argument("template_name", metavar="NAME")
@json_option
def show_cmd(template_name: str, as_json: bool) -> None:
    """Everything template NAME holds."""
    template = _templates().load(template_name)
    if as_json:
        output.emit_json(template)
        return
    click.echo(
        f"Template {template['name']}"
        + (f": {template['description']}" if template["description"] else "")
    )
    click.echo(f"Created: {template['created_at']}")
    click.echo(
        f"Budget: {output.money(template['budget_usd']) if template['budget_usd'] else 'none'}"
    )
    for phase, settings in template["phases"].items():
        shown = ", ".join(f"{k}={v}" for k, v in settings.items())
        click.echo(f"Phase {phase}: {shown}")
    seed = template["seed"]
    if seed:
        click.echo(
            f"Seed: {seed['session']} ({seed['agent']} {seed['agent_session_id']}, "
            f"{seed['interactions']} call(s))"
        )
    click.echo("Preamble:" + (f"\n{template['preamble']}" if template["preamble"] else " none"))


@output.writes
@template_group.command("delete")
@click.argument("template_name", metavar="NAME")
def delete_cmd(template_name: str) -> None:
    """Delete template NAME (features made from it keep their copy)."""
    _templates().delete(template_name)
    output.info(f"Deleted template {template_name}")


@output.writes
@click.command("link")
@click.argument("feature")
@click.argument("other")
@click.option("--force", is_flag=True,
              help="Link even when FEATURE's conversations have started (applies to its next "
              "new conversation, e.g. --new-session).")  # fmt: skip
@json_option
def link_cmd(feature: str, other: str, force: bool, as_json: bool) -> None:
    """FEATURE's new plan/implement conversations start from OTHER's conversation."""
    from ai_orchestrator.cli.render_workflow import hooks
    from ai_orchestrator.workflow.model.origin import link_feature
    from ai_orchestrator.workflow.runctx import open_feature

    ctx = open_feature(feature, hooks(live=False))
    with ctx.lock():
        origin = link_feature(ctx.ws, ctx.store, ctx.paths, ctx.feature_id, other, force=force)
    output.info(
        f"Linked {ctx.feature_id} to {other}: its new plan/implement conversations "
        f"start from {other}'s"
    )
    if as_json:
        output.emit_json({"feature": ctx.feature_id, "linked_from": other, "origin": origin})

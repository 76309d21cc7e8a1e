"""Session templates with the scripted agent: ``aio template save|list|show|delete`` and
``aio init FEATURE --template NAME``.

The scripted agent cannot fork, so a template's seed conversation reaches a new feature as a
fresh conversation primed with the template's summary (aio says so); the fork path is in
test_link_claude.py (fake Claude) and tests/contract (real Claude). What is checked: what a
template holds (from a session, from a TOML/JSON file), that a feature made from it gets its
phase settings, budget and preamble, the lineage of its first call, storage under
SESSION_DIR/templates (not a foreign entry), export/import round trips, and that every
hostile input (names of every invalid class, bad files, a missing template, a template whose
seed session was deleted) is one line with its exit code and changes nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ai_orchestrator.core.errors import EXIT_FAILURE, EXIT_USAGE
from tests.workflow.conftest import (
    FEATURE,
    Project,
    init_and_plan,
    interactions,
    plan_answer,
    run,
)

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes

NEW = "billing"
PREAMBLE = "Use type hints everywhere. Money is Decimal, never float."


def _store() -> Path:
    return Path(os.environ["SESSION_DIR"])


def _one_line(err: str) -> None:
    lines = [line for line in err.strip().splitlines() if not line.startswith("aio: debug")]
    assert len(lines) == 1 and "Traceback" not in err, err


def test_save_from_a_session_then_a_new_feature_starts_from_its_seed(project: Project) -> None:
    init_and_plan(project, [{"answer": plan_answer()}])
    parent = interactions(f"plan-{FEATURE}")
    saved = run(
        "template", "save", "py-service", "--from", f"plan-{FEATURE}",
        "--preamble", PREAMBLE, "--budget", "7.5", "--json",
    ).expect(0)  # fmt: skip
    template = saved.json()
    assert template["seed"]["session"] == f"plan-{FEATURE}"
    assert template["seed"]["agent_session_id"] == parent[0]["agent_session_id"]
    assert template["seed"]["interactions"] == 1
    assert template["seed"]["record_id"] == parent[0]["id"]
    assert "plan it" in template["seed"]["summary"]  # aio's digest of the seed's calls
    # the seed's agent and model become its phase's settings
    assert template["phases"] == {"plan": {"agent": "scripted", "model": parent[0]["model"]}}
    assert template["budget_usd"] == 7.5
    path = _store() / "templates" / "py-service.json"
    assert json.loads(path.read_text())["name"] == "py-service"
    assert oct(path.stat().st_mode & 0o777) == "0o600"

    listed = run("template", "list", "--json").expect(0).json()
    assert [t["name"] for t in listed["templates"]] == ["py-service"]
    assert listed["templates"][0]["seed_session"] == f"plan-{FEATURE}"
    shown = run("template", "show", "py-service", "--json").expect(0).json()
    assert shown == template
    assert "Seed: plan-calc" in run("template", "show", "py-service").expect(0).out
    # aio's own directory: never listed as an entry that is not aio's
    sessions = run("session", "list", "--json").expect(0).json()
    assert not sessions.get("not_aio")

    run("init", NEW, "--template", "py-service").expect(0)
    planned = run("plan", NEW, "plan billing").expect(0)
    assert "cannot fork" in planned.err and f"summary of plan-{FEATURE}" in planned.err
    [first] = interactions(f"plan-{NEW}")
    assert first["prompt"].index(PREAMBLE) < first["prompt"].index("plan billing")
    assert "plan it" in first["prompt"]  # the seed's summary
    assert first["agent_session_id"] != parent[0]["agent_session_id"]
    lineage = first["lineage"]
    assert lineage["method"] == "summary" and lineage["via"] == "template"
    assert lineage["template"] == "py-service" and lineage["session"] == f"plan-{FEATURE}"
    stats = run("session", "stats", "--by", "lineage", "--json").expect(0).json()
    assert stats["groups"][f"summary:plan-{FEATURE}"]["sessions"] == 1
    shown_session = run("session", "show", f"plan-{NEW}").expect(0).out
    assert "template py-service" in shown_session


def test_a_file_template_gives_settings_budget_and_preamble(
    project: Project, tmp_path: Path
) -> None:
    project.scenario([{"answer": plan_answer()}])
    spec = tmp_path / "svc.toml"
    spec.write_text(
        'description = "Python services"\n'
        f'preamble = "{PREAMBLE}"\n'
        "budget_usd = 3.25\n"
        '[phases.plan]\nmodel = "tmodel"\n'
    )
    run("template", "save", "svc", "--file", str(spec)).expect(0)
    run("init", NEW, "--template", "svc").expect(0)
    from ai_orchestrator.workflow.runctx import open_feature

    ctx = open_feature(NEW)
    assert ctx.config.budget_for(NEW) == 3.25
    assert ctx.config.phase("plan").model == "tmodel"
    assert ctx.config.budget_for(FEATURE) is None  # other features keep the config's
    run("plan", NEW, "plan it").expect(0)
    [first] = interactions(f"plan-{NEW}")
    assert first["model"] == "scripted-tmodel"
    assert first["prompt"].startswith("[aio] Conventions and notes for this feature (template svc)")
    assert first["lineage"]["method"] == "template" and first["lineage"]["template"] == "svc"
    # The template is copied into the feature: deleting it changes nothing for the feature.
    run("template", "delete", "svc").expect(0)
    assert run("template", "list", "--json").expect(0).json()["templates"] == []
    assert open_feature(NEW).config.budget_for(NEW) == 3.25


def test_templates_round_trip_through_export_and_import(project: Project, tmp_path: Path) -> None:
    init_and_plan(project, [])
    run("template", "save", "py", "--from", f"plan-{FEATURE}", "--preamble", PREAMBLE).expect(0)
    exported = tmp_path / "all.json"
    run("session", "export", "--output", str(exported)).expect(0)
    objects = json.loads(exported.read_text())
    assert [o["template"]["name"] for o in objects if "template" in o] == ["py"]
    # the seed's `jq '[.[].interactions[].cost] | add'` still works with a template in it
    assert sum(c["cost"] for o in objects for c in o["interactions"]) >= 0
    csv = run("session", "export", "--format", "csv").expect(0).out
    assert csv.count("\n") == 2  # the header and the one call: a template is no row

    original = run("template", "show", "py", "--json").expect(0).json()
    os.environ["SESSION_DIR"] = str(tmp_path / "elsewhere")
    imported = run("session", "import", str(exported), "--json").expect(0).json()
    assert imported["templates_added"] == ["py"]
    assert run("template", "show", "py", "--json").expect(0).json() == original
    again = run("session", "import", str(exported), "--json").expect(0).json()
    assert again["templates_already_present"] == ["py"] and again["templates_added"] == []

    run("template", "save", "py", "--file", str(_file(tmp_path, {"preamble": "x"})), "--force")
    refused = run("session", "import", str(exported))
    assert refused.code == EXIT_FAILURE and "template 'py' exists with other content" in refused.err
    _one_line(refused.err)
    assert run("template", "show", "py", "--json").expect(0).json()["preamble"] == "x"


def _file(tmp_path: Path, data: object, name: str = "t.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# ------------------------------------------------------------------------ hostile input


def test_a_missing_template_is_refused_before_anything_exists(project: Project) -> None:
    project.scenario([])
    result = run("init", NEW, "--template", "nope")
    assert result.code == EXIT_FAILURE and "no template named 'nope'" in result.err
    _one_line(result.err)
    assert not (project.root / ".aio" / "features" / NEW).exists()
    for command in (("show", "nope"), ("delete", "nope")):
        missing = run("template", *command)
        assert missing.code == EXIT_FAILURE and "no template named 'nope'" in missing.err


def test_a_template_whose_seed_session_was_deleted(project: Project) -> None:
    init_and_plan(project, [{"answer": plan_answer()}])
    run("template", "save", "py", "--from", f"plan-{FEATURE}").expect(0)
    run("init", NEW, "--template", "py").expect(0)
    run("session", "delete", f"plan-{FEATURE}", "--yes").expect(0)

    refused = run("init", "later", "--template", "py")
    assert refused.code == EXIT_FAILURE
    assert "its seed session plan-calc was deleted" in refused.err
    _one_line(refused.err)
    assert not (project.root / ".aio" / "features" / "later").exists()

    # A feature made before the deletion is refused at its first call, before anything runs.
    history = project.root / ".aio" / "features" / NEW / "history.jsonl"
    before = history.read_text()
    planned = run("plan", NEW, "plan it")
    assert planned.code == EXIT_FAILURE and "seed session plan-calc was deleted" in planned.err
    assert not (_store() / f"plan-{NEW}").exists() and history.read_text() == before


def test_a_seed_session_without_a_conversation(project: Project) -> None:
    project.scenario([])
    missing = run("template", "save", "py", "--from", "plan-ghost")
    assert missing.code == EXIT_FAILURE and "session plan-ghost does not exist" in missing.err
    bad = run("template", "save", "py", "--from", "not a session")
    assert bad.code == EXIT_USAGE and "invalid session name" in bad.err
    nothing = run("template", "save", "py")
    assert nothing.code == EXIT_USAGE and "--from SESSION or --file F" in nothing.err
    assert not (_store() / "templates").exists() or not os.listdir(_store() / "templates")


VALID = ["a", "7", "a1", "a-b", "x" * 63, "y" * 64, "0-" + "z" * 62, "py-service-2"]
INVALID = [
    "", "A", "Py", "-a", "a-", "a_b", "a.b", "a/b", "../a", ".hidden", "a b", "ä", "z" * 65,
    "a\nb", "a\x00b", "templates", "-",
]  # fmt: skip


@pytest.mark.parametrize("name", VALID)
def test_every_valid_name_class_is_accepted(project: Project, tmp_path: Path, name: str) -> None:
    project.scenario([])
    run("template", "save", name, "--file", str(_file(tmp_path, {"preamble": "p"}))).expect(0)
    assert run("template", "show", name, "--json").expect(0).json()["name"] == name


@pytest.mark.parametrize("name", INVALID)
def test_every_invalid_name_is_one_line_and_exit_2(
    project: Project, tmp_path: Path, name: str
) -> None:
    project.scenario([])
    if name == "templates":  # a valid name: only proves the directory name is no clash
        run("template", "save", name, "--file", str(_file(tmp_path, {}))).expect(0)
        return
    for args in (
        ("template", "save", name, "--file", str(_file(tmp_path, {}))),
        ("template", "show", name),
        ("template", "delete", name),
        ("init", NEW, "--template", name),
    ):
        result = run(*args)
        assert result.code == EXIT_USAGE, (args, result.err)
        # a name that starts with "-" is an option to the parser: refused there, as usage
        assert "invalid template name" in result.err or name.startswith("-")
        _one_line(result.err)
    assert not (project.root / ".aio" / "features" / NEW).exists()


BAD_FILES = [
    ({"surprise": 1}, "unknown key 'surprise'"),
    ({"phases": {"deploy": {}}}, "unknown phase 'deploy'"),
    ({"phases": {"plan": {"agent": "hal"}}}, "unknown agent 'hal'"),
    ({"phases": {"plan": {"colour": "red"}}}, "unknown key 'colour'"),
    ({"phases": {"plan": {"allowed_tools": "Read"}}}, "must be a list"),
    ({"budget_usd": -1}, "above 0"),
    ({"budget_usd": "ten"}, "number of USD"),
    ({"budget_usd": 1e300}, "at most 1e9"),
    ({"preamble": 5}, "must be text"),
    ({"name": "other"}, "the file names template 'other'"),
    ({"seed": {"session": "plan-x"}}, "names no conversation"),
    ([1, 2], "must hold a table"),
]


@pytest.mark.parametrize(("data", "said"), BAD_FILES)
def test_a_bad_template_file_is_refused_in_one_line(
    project: Project, tmp_path: Path, data: object, said: str
) -> None:
    project.scenario([])
    result = run("template", "save", "t", "--file", str(_file(tmp_path, data)))
    assert result.code == EXIT_USAGE and said in result.err, result.err
    _one_line(result.err)
    assert not (_store() / "templates" / "t.json").exists()


def test_unparseable_and_unreadable_files(project: Project, tmp_path: Path) -> None:
    project.scenario([])
    broken = tmp_path / "t.toml"
    broken.write_text("preamble = \n")
    for path in (broken, tmp_path / "absent.json"):
        result = run("template", "save", "t", "--file", str(path))
        assert result.code == EXIT_USAGE, result.err
        _one_line(result.err)
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe{")
    result = run("template", "save", "t", "--file", str(binary))
    assert result.code == EXIT_USAGE
    _one_line(result.err)
    nan = tmp_path / "nan.json"
    nan.write_text('{"budget_usd": NaN}')
    assert run("template", "save", "t", "--file", str(nan)).code == EXIT_USAGE


def test_an_existing_template_is_replaced_only_with_force(project: Project, tmp_path: Path) -> None:
    project.scenario([])
    run("template", "save", "t", "--file", str(_file(tmp_path, {"preamble": "one"}))).expect(0)
    again = run("template", "save", "t", "--file", str(_file(tmp_path, {"preamble": "two"})))
    assert again.code == EXIT_FAILURE and "exists already" in again.err
    _one_line(again.err)
    assert run("template", "show", "t", "--json").json()["preamble"] == "one"
    run("template", "save", "t", "--file", str(_file(tmp_path, {"preamble": "two"})), "--force")
    assert run("template", "show", "t", "--json").json()["preamble"] == "two"


def test_a_corrupt_template_file_is_named_and_the_rest_listed(
    project: Project, tmp_path: Path
) -> None:
    project.scenario([])
    run("template", "save", "good", "--file", str(_file(tmp_path, {"preamble": "p"}))).expect(0)
    (_store() / "templates" / "bad.json").write_text("{not json")
    listed = run("template", "list", "--json").expect(0)
    data = listed.json()
    assert [t["name"] for t in data["templates"]] == ["good"]
    assert data["unreadable"][0]["name"] == "bad" and "bad.json" in listed.err
    shown = run("template", "show", "bad")
    assert shown.code == EXIT_FAILURE and "not valid JSON" in shown.err
    _one_line(shown.err)


def test_a_hand_edited_origin_is_named_in_one_line(project: Project, tmp_path: Path) -> None:
    project.scenario([])
    run("template", "save", "t", "--file", str(_file(tmp_path, {"preamble": "p"}))).expect(0)
    run("init", NEW, "--template", "t").expect(0)
    feature = project.root / ".aio" / "features" / NEW / "feature.yaml"
    feature.write_text(feature.read_text().replace("preamble: p", "preamble: 5"))
    result = run("plan", NEW, "plan it")
    assert (
        result.code == EXIT_FAILURE
        and "feature.yaml: 'origin.template' is not usable" in result.err
    )
    _one_line(result.err)


def test_oversized_and_odd_files_are_refused_without_hanging(
    project: Project, tmp_path: Path
) -> None:
    project.scenario([])
    big = _file(tmp_path, {"preamble": "x" * (4 * 1024 * 1024 + 1)}, "big.json")
    result = run("template", "save", "t", "--file", str(big))
    assert result.code == EXIT_USAGE and "template preamble" in result.err
    _one_line(result.err)
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (9 * 1024 * 1024 + 1))
    result = run("template", "save", "t", "--file", str(huge))
    assert result.code == EXIT_USAGE and "9 MiB" in result.err
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    result = run("template", "save", "t", "--file", str(fifo))
    assert result.code == EXIT_USAGE and "not a regular file" in result.err
    result = run("template", "save", "t", "--file", str(tmp_path))
    assert result.code == EXIT_USAGE
    _one_line(result.err)
    assert not (_store() / "templates" / "t.json").exists()

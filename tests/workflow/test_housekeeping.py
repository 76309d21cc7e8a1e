"""``aio features clean`` and ``aio task set`` through the CLI (issue 13, item 3)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import aio

pytestmark = pytest.mark.process  # the project's git and its test command run as real processes

PLAN = {
    "phases": [
        {
            "id": 1,
            "name": "Basics",
            "tasks": [
                {"id": "T1.1", "title": "Add", "status": "pending"},
                {"id": "T1.2", "title": "Divide", "status": "pending", "dependencies": ["T1.1"]},
            ],
        }
    ]
}
OLD = "2020-01-01T00:00:00Z"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    monkeypatch.setenv("AIO_PROJECT_DIR", str(root))
    return root


def feature_dir(root: Path, feature: str) -> Path:
    return root / ".aio" / "features" / feature


def init(root: Path, feature: str, *, plan: bool = False) -> Path:
    assert aio("init", feature, "--no-switch").code == 0
    directory = feature_dir(root, feature)
    if plan:
        (directory / "plan.yaml").write_text(yaml.safe_dump(PLAN), encoding="utf-8")
    return directory


def events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def make_stale(directory: Path) -> None:
    data = yaml.safe_load((directory / "feature.yaml").read_text())
    data["updated_at"] = OLD
    (directory / "feature.yaml").write_text(yaml.safe_dump(data))
    old = [dict(e, timestamp=OLD) for e in events(directory / "history.jsonl")]
    (directory / "history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in old))


@contextmanager
def holding_lock(lock: Path) -> Iterator[None]:
    """Another process holds the feature lock, as a running plan/implement/verify does."""
    code = (
        "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
        "print('locked', flush=True); time.sleep(120)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(lock)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"locked"
        yield
    finally:
        proc.kill()
        proc.wait()


def test_task_set_validates_saves_and_records(ws: Path) -> None:
    directory = init(ws, "f", plan=True)
    done = aio("task", "set", "f", "T1.1", "--status", "completed", "--json")
    assert done.code == 0, done.err
    assert done.json()["previous_status"] == "pending"
    plan = yaml.safe_load((directory / "plan.yaml").read_text())
    task = plan["phases"][0]["tasks"][0]
    assert task["status"] == "completed" and task["completed_at"]
    assert yaml.safe_load((directory / "feature.yaml").read_text())["status"] == "in_progress"
    last = events(directory / "history.jsonl")[-1]
    assert (last["command"], last["task_id"], last["arguments"]) == (
        "task",
        "T1.1",
        {"status": "completed"},
    )
    assert last["details"]["previous_status"] == "pending"

    assert aio("switch", "f").code == 0
    assert aio("task", "set", "T1.2", "--status", "completed").code == 0  # current feature
    assert yaml.safe_load((directory / "feature.yaml").read_text())["status"] == "completed"

    before = (directory / "plan.yaml").read_text(), len(events(directory / "history.jsonl"))
    bad = aio("task", "set", "f", "T1.1", "--status", "done")
    assert bad.code == 2 and "not a task status" in bad.err and "Traceback" not in bad.err
    missing = aio("task", "set", "f", "T9.9", "--status", "failed")
    assert missing.code == 1 and "T9.9" in missing.err
    after = (directory / "plan.yaml").read_text(), len(events(directory / "history.jsonl"))
    assert after == before


def test_task_set_waits_for_a_running_command(ws: Path) -> None:
    directory = init(ws, "f", plan=True)
    (ws / ".aio" / "config.toml").write_text("lock_timeout = 1\n")
    with holding_lock(directory / ".lock"):
        busy = aio("task", "set", "f", "T1.1", "--status", "failed")
    assert busy.code == 1 and "busy" in busy.err
    assert yaml.safe_load((directory / "plan.yaml").read_text())["phases"][0]["tasks"][0][
        "status"
    ] == ("pending")


def test_clean_needs_a_criterion_and_dry_run_changes_nothing(ws: Path) -> None:
    init(ws, "a", plan=True)
    assert aio("task", "set", "a", "T1.1", "--status", "completed").code == 0
    assert aio("task", "set", "a", "T1.2", "--status", "completed").code == 0
    refused = aio("features", "clean")
    assert refused.code == 2 and "at least one" in refused.err
    dry = aio("features", "clean", "--completed", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert [(i["feature_id"], i["action"]) for i in dry.json()["items"]] == [("a", "would_delete")]
    assert feature_dir(ws, "a").is_dir()
    assert not (ws / ".aio" / "history.jsonl").exists()


def test_clean_deletes_archives_and_records(ws: Path) -> None:
    init(ws, "done", plan=True)
    for task in ("T1.1", "T1.2"):
        assert aio("task", "set", "done", task, "--status", "completed").code == 0
    init(ws, "blank")
    busy = init(ws, "busy-one", plan=True)
    old = init(ws, "old-one", plan=True)
    (old / "artifacts" / "review.json").write_text("{}")
    make_stale(old)
    assert aio("switch", "done").code == 0

    deleted = aio("features", "clean", "--completed")
    assert deleted.code == 0, deleted.err
    assert "done: deleted (completed)" in deleted.out
    assert not feature_dir(ws, "done").exists()
    assert not (ws / ".aio" / "current").exists()  # it was the current feature

    archived = aio("features", "clean", "--empty", "--archive", "--json")
    assert archived.code == 0, archived.err
    (item,) = archived.json()["items"]
    assert (item["feature_id"], item["action"]) == ("blank", "archived")
    target = Path(item["destination"])
    assert target.parent.parent.parent == ws / ".aio" / "archive"
    assert events(target / "history.jsonl")[-1]["details"]["action"] == "archived"
    # restorable: the archive has the features/ layout
    shutil.move(str(target), str(feature_dir(ws, "blank")))
    listed = aio("features", "--json")
    assert "blank" in [f["feature_id"] for f in listed.json()["features"]]

    kept = aio("features", "clean", "--stale", "30", "--preserve-artifacts", "--json")
    assert kept.code == 0, kept.err
    (item,) = kept.json()["items"]
    assert item["feature_id"] == "old-one" and item["action"] == "artifacts_archived"
    assert (Path(item["destination"]) / "artifacts" / "review.json").read_text() == "{}"
    assert not old.exists()

    with holding_lock(busy / ".lock"):
        skipped = aio("features", "clean", "--pattern", "busy-*")
    assert skipped.code == 1
    assert "busy-one: skipped" in skipped.err and "busy" in skipped.err
    assert (busy / "feature.yaml").is_file()

    log = events(ws / ".aio" / "history.jsonl")
    assert [(e["command"], e["details"]["feature_id"], e["details"]["action"]) for e in log] == [
        ("clean", "done", "deleted"),
        ("clean", "blank", "archived"),
        ("clean", "old-one", "artifacts_archived"),
    ]


def test_clean_criteria_combine(ws: Path) -> None:
    init(ws, "x-old")
    make_stale(feature_dir(ws, "x-old"))
    init(ws, "x-new")
    init(ws, "y-old")
    make_stale(feature_dir(ws, "y-old"))
    result = aio("features", "clean", "--stale", "30", "--pattern", "x-*", "--json")
    assert result.code == 0, result.err
    assert [i["feature_id"] for i in result.json()["items"]] == ["x-old"]
    assert feature_dir(ws, "x-new").is_dir() and feature_dir(ws, "y-old").is_dir()

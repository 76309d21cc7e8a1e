"""``aio install claude-commands`` / ``aio uninstall claude-commands`` next to the user's own
commands: only aio's files are ever written or removed, a name taken by the user is refused
before anything is written, a file of ours the user edited is kept, and a hostile manifest
cannot make aio delete anything else. (The real Claude CLI runs them in
tests/contract/test_claude_commands_real.py.)"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from tests.helpers import aio_inprocess

NAMES = ("aio-status", "aio-tasks", "aio-history", "aio-plan", "aio-implement", "aio-review",
         "aio-verify", "aio-escalate")  # fmt: skip
MINE = "---\ndescription: my own command\n---\nDo my thing.\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    monkeypatch.setenv("AIO_PROJECT_DIR", str(root))
    return root


def commands(root: Path) -> Path:
    return root / ".claude" / "commands"


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if not p.is_symlink()}


def test_install_writes_every_command_next_to_the_users_own(project: Path) -> None:
    target = commands(project)
    target.mkdir(parents=True)
    (target / "mine.md").write_text(MINE)
    result = aio_inprocess("install", "claude-commands", "--scope", "project", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["directory"] == str(target) and data["written"] == [f"{n}.md" for n in NAMES]
    assert (target / "mine.md").read_text() == MINE
    for name in NAMES:
        text = (target / f"{name}.md").read_text()
        front = yaml.safe_load(text.split("---\n")[1])  # valid YAML front matter
        assert front["description"].startswith("aio: ")
        assert front["allowed-tools"] == f"Bash(aio {name.removeprefix('aio-')}:*)"
        assert f"aio {name.removeprefix('aio-')} $ARGUMENTS" in text
    assert "!`aio status $ARGUMENTS`" in (target / "aio-status.md").read_text()
    manifest = json.loads((target / ".aio-commands.json").read_text())
    assert sorted(manifest["files"]) == sorted(f"{n}.md" for n in NAMES)
    assert oct(os.stat(target / "aio-plan.md").st_mode & 0o777) == "0o644"
    # Again: an update in place, nothing else changes.
    before = snapshot(target)
    again = aio_inprocess("install", "claude-commands", "--scope", "project")
    assert again.code == 0 and snapshot(target) == before


def test_a_name_the_user_already_uses_is_refused_and_nothing_is_written(project: Path) -> None:
    target = commands(project)
    target.mkdir(parents=True)
    (target / "aio-status.md").write_text(MINE)
    os.chmod(target / "aio-status.md", 0o644)
    (target / "aio-plan.md").symlink_to(project / "elsewhere.md")
    result = aio_inprocess("install", "claude-commands", "--scope", "project")
    assert result.code == 1 and "nothing was written" in result.err
    assert "aio-status.md exists and is not aio's" in result.err
    assert "aio-plan.md is a symbolic link" in result.err and "Traceback" not in result.err
    assert sorted(p.name for p in target.iterdir()) == ["aio-plan.md", "aio-status.md"]
    assert (target / "aio-status.md").read_text() == MINE
    assert stat.S_IMODE(os.stat(target / "aio-status.md").st_mode) == 0o644  # not even its mode
    assert not (project / "elsewhere.md").exists()


def test_uninstall_removes_only_ours_and_keeps_what_the_user_changed(project: Path) -> None:
    target = commands(project)
    assert aio_inprocess("install", "claude-commands", "--scope", "project").code == 0
    (target / "mine.md").write_text(MINE)
    (target / "aio-review.md").write_text("my edited review command\n")
    # An edited file of ours is the user's now: a reinstall does not overwrite it.
    refused = aio_inprocess("install", "claude-commands", "--scope", "project")
    assert refused.code == 1 and "aio-review.md exists and is not aio's" in refused.err
    result = aio_inprocess("uninstall", "claude-commands", "--scope", "project", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["kept"] == ["aio-review.md"] and "aio-review.md" not in data["removed"]
    assert len(data["removed"]) == len(NAMES) - 1
    assert sorted(p.name for p in target.iterdir()) == ["aio-review.md", "mine.md"]
    assert (target / "mine.md").read_text() == MINE
    warned = aio_inprocess("install", "claude-commands", "--scope", "project", "--remove")
    assert warned.code == 0  # nothing of ours left: nothing to do
    assert (target / "aio-review.md").exists()


def test_a_hostile_manifest_cannot_delete_other_files(project: Path) -> None:
    target = commands(project)
    assert aio_inprocess("install", "claude-commands", "--scope", "project").code == 0
    victim = project / "victim.md"
    victim.write_text("keep me")
    (target / "mine.md").write_text(MINE)
    pairs = (("mine.md", target / "mine.md"), ("../../victim.md", victim))
    digest = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in pairs}
    (target / ".aio-commands.json").write_text(json.dumps({"files": digest}))
    result = aio_inprocess("uninstall", "claude-commands", "--scope", "project")
    assert result.code == 0, result.err
    assert victim.read_text() == "keep me" and (target / "mine.md").read_text() == MINE
    # A corrupt manifest: nothing is ours by the manifest, but exact copies still are.
    (target / ".aio-commands.json").write_text("{not json")
    assert aio_inprocess("install", "claude-commands", "--scope", "project").code == 0
    assert json.loads((target / ".aio-commands.json").read_text())["files"]


def test_user_scope_goes_to_the_claude_config_dir(tmp_path: Path) -> None:
    result = aio_inprocess("install", "claude-commands", "--json")
    assert result.code == 0, result.err
    expected = Path(os.environ["CLAUDE_CONFIG_DIR"]) / "commands"
    assert result.json()["directory"] == str(expected)
    assert (expected / "aio-status.md").is_file()
    assert aio_inprocess("uninstall", "claude-commands").code == 0
    assert sorted(p.name for p in expected.iterdir()) == []


def test_bad_scope_is_a_usage_error() -> None:
    result = aio_inprocess("install", "claude-commands", "--scope", "global")
    assert result.code == 2 and "global" in result.err

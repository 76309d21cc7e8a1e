"""``infra.git_head.branch_at``: the branch of a directory read from git's own files, and a
recorded call carrying it (``calls.recording.build_record``) into the usage index's rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ai_orchestrator.agents.base import AgentResult
from ai_orchestrator.calls.recording import build_record
from ai_orchestrator.core.names import as_session_name
from ai_orchestrator.core.usage import ModelUsage
from ai_orchestrator.infra.git_head import branch_at
from ai_orchestrator.store.records import normalize_interaction
from ai_orchestrator.usage.aio_source import aio_rows
from tests.helpers import git_init


def _on(repo: Path, branch: str) -> Path:
    git_init(repo)
    (repo / ".git" / "HEAD").write_text(f"ref: refs/heads/{branch}\n")
    return repo


def test_plain_clone_and_its_subdirectories(tmp_path: Path) -> None:
    repo = _on(tmp_path / "repo", "feat/login")
    deep = repo / "src" / "pkg"
    deep.mkdir(parents=True)
    assert branch_at(repo) == "feat/login"
    assert branch_at(deep) == "feat/login"
    assert branch_at(str(deep)) == "feat/login"


def test_linked_worktree_and_submodule_gitdir_files(tmp_path: Path) -> None:
    main = _on(tmp_path / "main", "main")
    admin = main / ".git" / "worktrees" / "wt"
    admin.mkdir(parents=True)
    (admin / "HEAD").write_text("ref: refs/heads/s22-team\n")
    wt = tmp_path / "wt"
    wt.mkdir()
    (wt / ".git").write_text(f"gitdir: {admin}\n")
    assert branch_at(wt) == "s22-team"
    # a submodule's .git file names its git dir relative to itself
    sub = main / "vendor" / "lib"
    sub.mkdir(parents=True)
    modules = main / ".git" / "modules" / "lib"
    modules.mkdir(parents=True)
    (modules / "HEAD").write_text("ref: refs/heads/release-1.x\n")
    (sub / ".git").write_text("gitdir: ../../.git/modules/lib\n")
    assert branch_at(sub) == "release-1.x"
    assert branch_at(main / "vendor") == "main"


@pytest.mark.parametrize(
    "head",
    [
        "0123456789abcdef0123456789abcdef01234567\n",  # detached
        "ref: refs/tags/v1\n",
        "ref: refs/heads/\n",
        "ref: refs/heads/a b\n",
        "ref: refs/heads/" + "x" * 300 + "\n",
        "ref: refs/heads/" + "y" * 5000 + "\n",
        "",
    ],
)
def test_no_branch_is_none(tmp_path: Path, head: str) -> None:
    repo = _on(tmp_path / "repo", "main")
    (repo / ".git" / "HEAD").write_text(head)
    assert branch_at(repo) is None


def test_broken_or_hostile_layouts_are_none_and_never_block(tmp_path: Path) -> None:
    assert branch_at(tmp_path / "not-there") is None
    plain = tmp_path / "plain"
    plain.mkdir()
    bad_file = tmp_path / "badfile"
    bad_file.mkdir()
    (bad_file / ".git").write_text("not a gitdir line\n")
    assert branch_at(bad_file) is None
    dangling = tmp_path / "dangling"
    dangling.mkdir()
    (dangling / ".git").write_text("gitdir: /nonexistent/x\n")
    assert branch_at(dangling) is None
    binary = _on(tmp_path / "binary", "main")
    (binary / ".git" / "HEAD").write_bytes(b"ref: refs/heads/\xff\xfe\n")
    assert branch_at(binary) is None
    fifo = tmp_path / "fifo"
    git_init(fifo)
    (fifo / ".git" / "HEAD").unlink()
    os.mkfifo(fifo / ".git" / "HEAD")  # nobody writes: a blocking open would hang here
    assert branch_at(fifo) is None


def _result() -> AgentResult:
    return AgentResult(agent="claude", outcome="success", session_id="s-1",
                       model="claude-sonnet-4-5", text="ok",
                       usage={"claude-sonnet-4-5": ModelUsage(input=10, output=5)},
                       duration_ms=1000, exit_code=0)  # fmt: skip


def test_a_recorded_call_carries_its_branch_into_the_usage_index(tmp_path: Path) -> None:
    session = as_session_name("implement-login")
    repo = _on(tmp_path / "repo", "feature/login")
    (repo / "src").mkdir()
    record = build_record("do it", _result(), session=session, task_id="T1", model=None,
                          cwd=repo / "src", session_id="s-1", action="new", state=None)  # fmt: skip
    assert record.branch == "feature/login"
    stored = record.to_json()
    keys = list(stored)
    assert keys[keys.index("cwd") + 1] == "branch"
    # written and read back by the store's own validation, it keeps the branch
    assert normalize_interaction(stored, session, stored=True).branch == "feature/login"
    rows, _call, _ids = aio_rows(record, 1)
    assert [row[7] for row in rows] == ["feature/login"]  # req.branch
    # outside a repository: no branch key at all, as before
    plain = tmp_path / "plain"
    plain.mkdir()
    outside = build_record("do it", _result(), session=session, task_id="T1", model=None,
                           cwd=plain, session_id="s-1", action="new", state=None)  # fmt: skip
    assert outside.branch is None and "branch" not in outside.to_json()
    assert [row[7] for row in aio_rows(outside, 1)[0]] == [None]

"""A full disk around an agent call: nothing half-made is left, the error names the file, and a
call whose record could not be written is recovered later as what it was.

- Before a new session's first call (the todo log or the pending-call marker cannot be
  written): no empty "new" session, no ``.pending-call.json.tmp-*``, and the one-line error
  names the file. An existing session is never removed for it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from ai_orchestrator.calls.recover import recover_session
from ai_orchestrator.calls.session_call import CallOptions, run_in_session
from ai_orchestrator.core.errors import StoreFileError
from ai_orchestrator.store import SessionStore
from tests.fakes.harness import FakeAgents
from tests.fakes.inprocess import FakeLauncher, recorded
from tests.helpers import aio_inprocess

NAME = "implement-disk"


def _full(*args: Any) -> Any:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*tmp-*"))


def _full_disk_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write of data fails (creating directories and empty files still works)."""
    monkeypatch.setattr(os, "write", _full)
    monkeypatch.setattr(os, "pwrite", _full)


@pytest.mark.parametrize("where", ["everywhere", "marker"])
def test_a_new_sessions_first_call_on_a_full_disk_leaves_nothing_and_names_the_file(
    where: str,
    fakes: FakeAgents,
    fake_launcher: FakeLauncher,
    project: Path,
    session_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as patch:
        if where == "everywhere":
            _full_disk_everywhere(patch)
            named = "todos"  # the first write of a call: its todo
        else:
            patch.setattr("ai_orchestrator.store.pending.write_all", _full)
            named = "pending-call.json"
        with pytest.raises(StoreFileError) as failure:
            run_in_session(SessionStore(), NAME, "go", CallOptions(agent="codex", cwd=project))
    assert named in str(failure.value) and "no space left" in str(failure.value).lower()
    assert not SessionStore().exists(NAME)
    assert SessionStore().names() == []
    assert _leftovers(session_dir) == []
    assert fake_launcher.calls == []  # the agent never started


def test_the_cli_says_it_in_one_line_naming_the_marker(
    fakes: FakeAgents,
    fake_launcher: FakeLauncher,
    project: Path,
    session_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("ai_orchestrator.store.pending.write_all", _full)
    result = aio_inprocess("run", NAME, "go", "--agent", "codex", cwd=project, debug=False)
    assert result.code != 0
    errors = [line for line in result.err.splitlines() if line.startswith("aio: error:")]
    assert len(errors) == 1 and "pending-call.json" in errors[0], result.err
    assert "no space left" in errors[0]
    assert "Traceback" not in result.err
    assert not (session_dir / NAME).exists()


def test_an_existing_session_is_kept_when_the_marker_cannot_be_written(
    fakes: FakeAgents,
    fake_launcher: FakeLauncher,
    project: Path,
    session_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_launcher.enqueue(*recorded("codex"))
    first = run_in_session(SessionStore(), NAME, "go", CallOptions(agent="codex", cwd=project))
    assert first.result.ok
    with monkeypatch.context() as patch:
        patch.setattr("ai_orchestrator.store.pending.write_all", _full)
        with pytest.raises(StoreFileError):
            run_in_session(SessionStore(), NAME, "again", CallOptions(agent="codex", cwd=project))
    assert [r.id for r in SessionStore().read_log(NAME).records] == [first.record.id]
    assert _leftovers(session_dir) == []


# -- the record of a finished call fails on a full disk: recovered as what it was -------------


def test_a_call_whose_record_failed_is_recovered_with_its_real_outcome_not_as_killed(
    fakes: FakeAgents,
    fake_launcher: FakeLauncher,
    project: Path,
    session_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ai_orchestrator.calls.session_call import Notice
    from ai_orchestrator.store import todo_log

    lines = recorded("codex")
    fake_launcher.enqueue(*lines)  # the same call stored normally, for reference
    stored = run_in_session(SessionStore(), "implement-reference", "go",
                            CallOptions(agent="codex", cwd=project)).record

    real_write = os.write

    def disk_fills(invocation: Any) -> None:  # while the agent runs
        os.write = _full

    fake_launcher.enqueue(*lines, effect=disk_fills)
    try:
        with pytest.raises(StoreFileError) as failure:
            run_in_session(SessionStore(), NAME, "go", CallOptions(agent="codex", cwd=project))
    finally:
        os.write = real_write  # space freed
    assert "nothing was recorded" in str(failure.value)
    assert SessionStore().read_log(NAME).records == []

    # The next call of the session records it first, and says what it was.
    notices: list[Notice] = []
    fake_launcher.enqueue(*lines)
    run_in_session(SessionStore(), NAME, "next", CallOptions(agent="codex", cwd=project),
                   on_notice=notices.append)
    assert any("finished (success) but its record could not be stored" in n.text
               for n in notices), notices
    assert not any("cut off" in n.text for n in notices)
    record = SessionStore().read_log(NAME).records[0]
    assert record.outcome == "success" and record.error is None
    assert record.tokens == stored.tokens and record.cost == stored.cost
    assert record.agent_session_id == stored.agent_session_id
    assert record.session_note is not None
    assert "the agent finished" in record.session_note and "no space" in record.session_note
    assert "killed" not in (record.session_note + (record.response_preview or ""))
    todo = [t for t in todo_log.list_todos(None, None) if t["session_name"] == NAME]
    assert [t["status"] for t in todo] == ["completed", "completed"]  # it and the next call
    assert not (session_dir / NAME / "pending-call.json").exists()
    assert recover_session(SessionStore(), NAME) is None  # recorded once

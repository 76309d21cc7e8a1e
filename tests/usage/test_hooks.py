"""aio hooks: merged into the agents' settings, removed byte-identically; ``aio hook`` never
fails the agent (store locked, broken, read-only) and the next sync reads the spool."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ai_orchestrator.usage import hooks
from ai_orchestrator.usage.sync import open_index, sync
from tests.helpers import aio_inprocess

USER_SETTINGS = (
    '{\n    "model": "opus",\n    "permissions": {"allow": ["Bash(ls:*)"]},\n'
    '    "hooks": {\n        "Stop": [{"hooks": [{"type": "command",'
    ' "command": "notify-send done"}]}],\n'
    '        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "x"}]}]\n'
    '    },\n    "statusLine": {"type": "command", "command": "mine"}\n}\n'
)


@pytest.mark.parametrize("agent", ["claude", "gemini"])
def test_install_merges_and_uninstall_restores_the_bytes(isolated_home: Path, agent: str) -> None:
    path = hooks.settings_file(agent, "user")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(USER_SETTINGS)
    os.chmod(path, 0o644)
    state = hooks.install(agent, "user")
    assert state.installed == list(hooks.EVENTS[agent]) and state.missing == []
    merged = json.loads(path.read_text())
    assert merged["model"] == "opus" and merged["statusLine"]["command"] == "mine"
    assert merged["permissions"] == {"allow": ["Bash(ls:*)"]}
    stop_event = "Stop" if agent == "claude" else "AfterAgent"
    commands = [h["command"] for e in merged["hooks"][stop_event] for h in e["hooks"]]
    assert commands[-1] == hooks.hook_command(agent)
    if agent == "claude":
        assert commands[0] == "notify-send done"  # the user's own Stop hook is kept, first
    assert merged["hooks"]["PreToolUse"][0]["matcher"] == "Bash"
    assert (path.stat().st_mode & 0o777) == 0o644
    again = hooks.install(agent, "user")  # idempotent: nothing doubled
    assert json.loads(path.read_text()) == merged and again.installed == state.installed
    gone = hooks.uninstall(agent, "user")
    assert gone.installed == []
    assert path.read_text() == USER_SETTINGS  # byte-identical
    assert not path.with_name(path.name + hooks.BACKUP).exists()


def test_uninstall_keeps_changes_the_user_made_meanwhile(isolated_home: Path) -> None:
    path = hooks.settings_file("claude", "user")
    path.parent.mkdir(parents=True)
    path.write_text(USER_SETTINGS)
    hooks.install("claude", "user")
    data = json.loads(path.read_text())
    data["theme"] = "dark"
    path.write_text(json.dumps(data))
    hooks.uninstall("claude", "user")
    after = json.loads(path.read_text())
    assert after["theme"] == "dark" and after["hooks"] == json.loads(USER_SETTINGS)["hooks"]


def test_a_settings_file_aio_created_is_removed_again(isolated_home: Path) -> None:
    path = hooks.settings_file("claude", "project")
    assert not path.exists()
    hooks.install("claude", "project")
    assert path.exists()
    hooks.uninstall("claude", "project")
    assert not path.exists()


def test_invalid_settings_are_refused_untouched(isolated_home: Path) -> None:
    path = hooks.settings_file("claude", "user")
    path.parent.mkdir(parents=True)
    path.write_text("{broken")
    result = aio_inprocess("hooks", "install", "--agent", "claude")
    assert result.code == 2 and "not valid JSON" in result.err
    assert path.read_text() == "{broken"


def test_codex_notify_is_added_and_removed_byte_identically(isolated_home: Path) -> None:
    path = hooks.settings_file("codex", "user")
    path.parent.mkdir(parents=True)
    original = 'model = "gpt-5"\n\n[profiles.fast]\nmodel = "gpt-5-mini"\n'
    path.write_text(original)
    assert hooks.install("codex", "user").installed == ["notify"]
    assert "notify = " in path.read_text().split("[profiles.fast]")[0]
    assert hooks.uninstall("codex", "user").installed == []
    assert path.read_text() == original
    path.write_text('notify = ["my-notifier"]\n' + original)
    state = hooks.install("codex", "user")
    assert state.installed == [] and state.note is not None  # someone else's notify stays
    assert path.read_text().startswith('notify = ["my-notifier"]')


def test_status_json_says_what_is_installed_where(isolated_home: Path) -> None:
    aio_inprocess("hooks", "install", "--agent", "claude")
    shown = aio_inprocess("hooks", "status", "--json")
    assert shown.code == 0
    states = {s["agent"]: s for s in json.loads(shown.out)["hooks"]}
    assert states["claude"]["installed"] == list(hooks.EVENTS["claude"])
    assert states["gemini"]["installed"] == [] and states["codex"]["installed"] == []


def _hook(
    event: str, env: dict[str, str] | None = None, *args: str
) -> subprocess.CompletedProcess[str]:
    code = "from ai_orchestrator.cli.launch import main; import sys; sys.argv[0]='aio'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "hook", "claude", *args],
        input=event, capture_output=True, text=True, timeout=30,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


EVENT = json.dumps({
    "session_id": "s-1", "transcript_path": "/nowhere/s-1.jsonl", "cwd": "/work/p",
    "hook_event_name": "Stop", "last_assistant_message": "secret text",
})  # fmt: skip


@pytest.mark.process  # the hook's start-up as a real process
def test_the_hook_spools_and_the_next_sync_records_the_session(isolated_home: Path) -> None:
    done = _hook(EVENT)
    assert (done.returncode, done.stdout) == (0, "")
    spooled = list((isolated_home / ".ai-sessions" / "usage" / "spool").glob("*.jsonl"))
    assert len(spooled) == 1
    assert "secret text" not in spooled[0].read_text()  # never the assistant's message
    assert sync().hook_events == 1
    conn = open_index()
    try:
        row = conn.execute("SELECT agent, session, transcript, cwd, last_event FROM hook_sessions")
        assert row.fetchall() == [("claude", "s-1", "/nowhere/s-1.jsonl", "/work/p", "Stop")]
    finally:
        conn.close()
    assert sync().hook_events == 0  # read once


@pytest.mark.process  # the hook's start-up as a real process
def test_the_hook_never_fails(isolated_home: Path, tmp_path: Path) -> None:
    store = isolated_home / ".ai-sessions"
    # the index locked by a running sync: the hook does not wait for it
    (store / "usage").mkdir(parents=True)
    with open(store / "usage" / "sync.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert _hook(EVENT).returncode == 0
    # the store is a file, not a directory
    broken = tmp_path / "broken"
    broken.write_text("x")
    result = _hook(EVENT, {"SESSION_DIR": str(broken)})
    assert (result.returncode, result.stdout) == (0, "")
    # a read-only store
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        assert _hook(EVENT, {"SESSION_DIR": str(ro / "store")}).returncode == 0
    finally:
        os.chmod(ro, 0o700)
    # garbage, nothing, and a Codex notify argument
    assert _hook("not json").returncode == 0
    assert _hook("").returncode == 0
    notify = json.dumps({"type": "agent-turn-complete", "thread-id": "t-9", "cwd": "/w"})
    assert _hook("", None, notify).returncode == 0
    sync()
    conn = open_index()
    try:
        sessions = {r[0] for r in conn.execute("SELECT session FROM hook_sessions")}
    finally:
        conn.close()
    assert {"s-1", "t-9"} <= sessions
    log = (store / "usage" / "hook.log").read_text()
    assert "no JSON event" in log

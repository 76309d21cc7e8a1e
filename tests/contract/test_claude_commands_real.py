"""aio's slash commands run by the REAL Claude Code CLI, headless, against the fake model API.

``aio install claude-commands`` writes them; ``claude -p "/aio-status calc"`` must find the
command (project scope, and user scope under ``$CLAUDE_CONFIG_DIR``), run ``aio status calc``
before the request (the ``!`…``` line, allowed by the command's ``allowed-tools``) and send
the expanded prompt — so the model receives aio's real output for this project. A user's own
command in the same directory keeps working after ``aio uninstall claude-commands``, and ours
is gone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.raw_drivers import DRIVERS
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import OfflineCli

pytestmark = pytest.mark.real_cli

AIO = "from ai_orchestrator.cli.main import main; main()"


def _user_text(fake_api: FakeAPIServer) -> str:
    [request] = fake_api.main_requests("anthropic")
    history = DRIVERS["claude"].history(request.body)
    return "\n".join(text for role, text in history if role == "user")


def test_slash_commands_reach_the_model_expanded(
    fake_api: FakeAPIServer, claude_cli: OfflineCli, tmp_path: Path
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    env = {
        **claude_cli.env,
        # aio itself, for the command's !`aio status …` line and for the setup below
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), claude_cli.env["PATH"]]),
        "SESSION_DIR": str(tmp_path / "sessions"),
        "AIO_PROJECT_DIR": str(project),
    }

    def aio(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", AIO, *args],
            cwd=project, env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def claude(prompt: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*claude_cli.argv, "-p", prompt, "--output-format", "json"],
            cwd=project, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip

    assert aio("init", "calc", "A calculator for the slash command test").returncode == 0
    mine = project / ".claude" / "commands" / "mine.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("---\ndescription: mine\n---\nMY-OWN-COMMAND with $ARGUMENTS\n")
    installed = aio("install", "claude-commands", "--scope", "project")
    assert installed.returncode == 0, installed.stderr

    fake_api.script([{"text": "calc has no plan yet."}])
    result = claude("/aio-status calc")
    assert result.returncode == 0, result.stderr
    text = _user_text(fake_api)
    assert "Output of `aio status calc` in this project" in text  # the expanded command
    assert "Feature: calc" in text  # aio really ran: its output is in the prompt
    assert "A calculator for the slash command test" in text
    assert "/aio-status" not in text.replace("<command-name>/aio-status</command-name>", "")

    # User scope: the same commands from $CLAUDE_CONFIG_DIR/commands.
    user_env = {**os.environ, **env}
    user_dir = Path(env.get("CLAUDE_CONFIG_DIR") or Path(env["HOME"]) / ".claude") / "commands"
    scoped = subprocess.run(
        [sys.executable, "-c", AIO, "install", "claude-commands", "--scope", "user", "--json"],
        cwd=project, env={**user_env, "CLAUDE_CONFIG_DIR": str(user_dir.parent)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert scoped.returncode == 0, scoped.stderr
    assert (user_dir / "aio-tasks.md").is_file()
    assert aio("uninstall", "claude-commands", "--scope", "project").returncode == 0
    fake_api.reset()
    fake_api.script([{"text": "one init event."}])
    env["CLAUDE_CONFIG_DIR"] = str(user_dir.parent)
    result = claude("/aio-history calc")
    assert result.returncode == 0, result.stderr
    text = _user_text(fake_api)
    assert "Output of `aio history calc` in this project" in text and "History of calc" in text
    # aio failing (no plan yet): Claude Code shows aio's error and asks the model nothing.
    fake_api.reset()
    failed = claude("/aio-tasks calc")
    assert "has no plan yet" in failed.stdout and fake_api.main_requests("anthropic") == []

    # The user's own command is untouched and still works; the project's aio ones are gone.
    fake_api.reset()
    fake_api.script([{"text": "ok"}])
    assert claude("/mine hello").returncode == 0
    assert "MY-OWN-COMMAND with hello" in _user_text(fake_api)
    assert sorted(p.name for p in mine.parent.iterdir()) == ["mine.md"]

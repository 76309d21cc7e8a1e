"""``aio run --resume ID`` with the REAL Claude Code CLI against the fake model API: the CLI
accepts the argv aio builds for an earlier conversation the session's records name, and the
model receives THAT conversation (not the one stored last)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.contract.raw_drivers import DRIVERS
from tests.fakeapi import FakeAPIServer
from tests.fakeapi.clis import MODELS

pytestmark = pytest.mark.real_cli


def aio_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ai_orchestrator", "run", "run-x", *args, "--json",
         "--model", MODELS["claude"], "--cwd", str(cwd)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_resume_an_earlier_conversation_by_id(
    agent_env: Callable[[str], None],
    fake_api: FakeAPIServer,
    cli_workdir: Path,
    session_dir: Path,
) -> None:
    agent_env("claude")
    driver = DRIVERS["claude"]
    fake_api.script(
        [
            {"text": "Answer one.", "usage": driver.sent_usage(1)},
            {"text": "Answer two.", "usage": driver.sent_usage(2)},
            {"text": "Answer three.", "usage": driver.sent_usage(3)},
        ]
    )
    one = aio_run(cli_workdir, "prompt alpha")
    assert one.returncode == 0, one.stderr
    two = aio_run(cli_workdir, "prompt beta", "--new-session")
    assert two.returncode == 0, two.stderr
    first = json.loads(one.stdout)["agent_session_id"]
    assert json.loads(two.stdout)["agent_session_id"] != first

    three = aio_run(cli_workdir, "prompt gamma", "--resume", first)
    assert three.returncode == 0, three.stderr
    doc = json.loads(three.stdout)
    assert doc["agent_session_id"] == first and doc["session_action"] == "resumed"
    assert doc["exit_code"] == 0 and doc["usage_unknown"] is False
    texts = " ".join(t for _r, t in driver.history(fake_api.main_requests(driver.api)[-1].body))
    assert "prompt alpha" in texts and "Answer one." in texts
    assert "prompt beta" not in texts  # the conversation asked for, not the stored one

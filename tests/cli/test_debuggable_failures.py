"""The test helpers make failures debuggable: ``AIO_DEBUG=1`` in every aio they run (an
unexpected exception shows its traceback), and ``Result.expect`` shows a failed command's
output."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

from ai_orchestrator.cli import session as session_cli
from tests import helpers
from tests.helpers import Result, aio, aio_inprocess


def _explode(*args: object, **kwargs: object) -> None:
    raise RuntimeError("unexpected bug")


def test_expect_returns_the_result_or_fails_with_stdout_and_stderr() -> None:
    ok = Result(0, "data\n", "")
    assert ok.expect() is ok
    with pytest.raises(AssertionError) as failed:
        Result(1, "partial output\n", "aio: error: it broke\n").expect(0)
    message = str(failed.value)
    assert "exit code 1, expected 0" in message
    assert "partial output" in message and "aio: error: it broke" in message


def test_an_unexpected_exception_in_process_propagates_with_debug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_cli, "_store", _explode)  # where `session list` opens the store
    with pytest.raises(RuntimeError, match="unexpected bug"):
        aio_inprocess("session", "list")
    quiet = aio_inprocess("session", "list", debug=False)  # what a user sees
    assert quiet.code == 1
    assert quiet.err.startswith("aio: error: internal error: RuntimeError: unexpected bug")


def test_the_subprocess_helper_runs_aio_with_aio_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, str] | None] = []

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.append(kwargs.get("env"))
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(helpers.subprocess, "run", fake_run)
    aio("session", "list")
    aio("session", "list", debug=False)
    assert seen[0] is not None and seen[0]["AIO_DEBUG"] == "1"
    assert seen[0]["HOME"] == os.environ["HOME"]  # the test's isolated environment, plus it
    assert seen[1] is None  # inherits the test's environment, where AIO_DEBUG is removed

"""Shared helpers for tests: run the real CLI in a subprocess (``aio``) or in this process
(``aio_inprocess``); ``git_init`` (an empty repository without a git process); sample
interactions and a store written by the earlier shell version.

Both runners set ``AIO_DEBUG=1`` unless ``debug=False``: an unexpected exception then shows
its traceback instead of one "internal error" line. Tests of that one line (and of the
OSError net in ``cli.main.run``) pass ``debug=False``. ``Result.expect(code)`` asserts the
exit code and shows the command's stdout and stderr when it differs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def expect(self, code: int = 0) -> Result:
        """``self`` when it exited ``code``; else fail showing its stdout and stderr."""
        assert self.code == code, shown(self.code, code, self.out, self.err)
        return self


def shown(got: int, wanted: int, out: str, err: str) -> str:
    """A failure message for a command that exited ``got`` instead of ``wanted``."""
    return f"exit code {got}, expected {wanted}\n--- stdout ---\n{out}\n--- stderr ---\n{err}"


def debug_env(debug: bool = True) -> dict[str, str] | None:
    """The environment for a subprocess of aio: ours plus ``AIO_DEBUG=1`` (None: inherit)."""
    return {**os.environ, "AIO_DEBUG": "1"} if debug else None


def aio(
    *args: str,
    input: str | None = None,
    timeout: float = 60,
    prog: str = "aio",
    debug: bool = True,
) -> Result:
    """Run ``aio`` (or ``ai-session`` with prog="ai-session") as a real process."""
    if prog == "ai-session":
        code = "from ai_orchestrator.cli.main import session_main; session_main()"
    else:
        code = "from ai_orchestrator.cli.main import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=debug_env(debug),
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def aio_inprocess(
    *args: str,
    input: str | None = None,
    timeout: float = 60,
    prog: str = "aio",
    debug: bool = True,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Result:
    """Run ``aio ARGS`` (or ``ai-session``) in this process (in ``cwd``, ``env`` on top) through
    click's ``CliRunner`` isolation and the real entry point's error-to-exit-code mapping
    (``cli.main.run``); cwd and environment are restored afterwards. For
    logic tests; what needs a real process (signals, a killed aio, start-up cost, file
    descriptors) keeps ``aio``. ``timeout`` is accepted for the same call shape and unused.
    """
    from click.testing import CliRunner

    from ai_orchestrator.cli import output
    from ai_orchestrator.cli.main import cli, run
    from ai_orchestrator.cli.session import session

    overrides: dict[str, str | None] = {"AIO_DEBUG": "1" if debug else None, **(env or {})}
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    output._emitted.clear()  # per process: "a JSON document went to stdout" starts false
    try:
        if cwd is not None:
            os.chdir(cwd)
        with CliRunner().isolation(input=input, env=overrides) as (out, err, _):
            code = run(session if prog == "ai-session" else cli, list(args), prog)
    finally:  # a command may set variables (the demo's SESSION_DIR): a process would lose them
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
    return Result(code, out.getvalue().decode(), err.getvalue().decode())


def examples(full: int) -> int:
    """``full`` Hypothesis examples, scaled like the loaded profile's default count (100 in
    the ``aio`` profile: all of them; 25 in ``fast``, the one ``make test-fast`` loads)."""
    from hypothesis import settings

    return max(1, full * settings.default.max_examples // 100)


def as_record(name: Any, raw: Any) -> Any:
    """What ``SessionStore.record`` takes: ``raw`` (test JSON, or an ``Interaction``) of
    session ``name`` through the store's one door for JSON (``normalize_interaction``)."""
    from ai_orchestrator.core.interaction import Interaction
    from ai_orchestrator.core.names import as_session_name
    from ai_orchestrator.store.records import normalize_interaction

    session = as_session_name(name)
    if isinstance(raw, Interaction) and raw.session == session:
        return raw
    return normalize_interaction(raw, session)


def as_records(name: Any, items: Any) -> list[Any]:
    """``as_record`` of each of ``items`` (for ``SessionStore.record_unique``)."""
    return [as_record(name, item) for item in items]


def git_init(path: Path) -> None:
    """Make ``path`` an empty git repository as ``git init`` would, without a git process: the
    layout git itself recognises (HEAD, config, objects, refs)."""
    git = path / ".git"
    for folder in ("objects/info", "objects/pack", "refs/heads", "refs/tags"):
        (git / folder).mkdir(parents=True, exist_ok=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "config").write_text(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n"
    )


def interaction(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "agent": "claude",
        "model": "claude-sonnet-4-5",
        "prompt": "implement the thing",
        "tokens": {"input": 100, "output": 50, "cache_read": 1000, "cache_write": 200},
        "cost": 0.0125,
        "duration_ms": 1500,
        "outcome": "success",
    }
    record.update(overrides)
    return record


# A session as the earlier shell version (ai-session.sh) stored it: every interaction
# inside metadata.json.
LEGACY_METADATA: dict[str, Any] = {
    "created_at": "2026-10-01T10:00:00Z",
    "last_used": "2026-10-02T11:00:00Z",
    "session_id": "9b1f3c2e-5d4a-4e8b-9a61-2f0c7d3e1a55",
    "command": "claude",
    "session_name": "implement-payment-gateway",
    "interactions": [
        {
            "timestamp": "2026-10-01T10:00:00Z",
            "model": "claude-3-sonnet",
            "prompt_preview": "Task: T1.1...",
            "tokens": {"input": 150, "output": 50},
            "cost": 0.0012,
            "duration_ms": 3000,
        },
        {
            "timestamp": "2026-10-02T11:00:00Z",
            "model": "claude-3-opus",
            "prompt_preview": "Task: T1.2",
            "tokens": {"input": 1, "output": 3},
            "cost": 0.000048,
            "duration_ms": 1200,
        },
    ],
}


def write_legacy_store(root: Path) -> None:
    """A store under ``root`` as the shell version left it (loose modes included)."""
    session = root / "implement-payment-gateway"
    session.mkdir(parents=True)
    os.chmod(root, 0o755)
    (session / "metadata.json").write_text(json.dumps(LEGACY_METADATA))
    (session / ".lock").write_text("")
    os.chmod(session / ".lock", 0o644)

"""No agent outlives aio (``agents.watchdog``): whatever ends ``aio run`` — SIGKILL, SIGTERM,
SIGHUP — every process of the agent's tree is gone within 5 s, and while any of it lives no
other run can take the session's run lock.

The agent is a Python script standing in for ``claude``: it starts a detached writer (its
own session, like Gemini's tool shells) that appends a timestamp to a file every 50 ms, and
both ignore SIGTERM, so only the watchdog's SIGKILL after the grace period ends them. The
second ``aio run`` on the same session uses the fake ``claude``; its first log line must come
after the writer's last write.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest

from ai_orchestrator.agents.base import Invocation
from ai_orchestrator.agents.process import runner
from ai_orchestrator.store import SessionStore
from tests.agents.runner_kit import LineParser
from tests.fakes.harness import FakeAgents, pid_alive

# the lifetime of real agent processes
pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc"),
]

STUBBORN_AGENT = """
import json, os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
out = os.environ["LIFETIME_DIR"]
writer = subprocess.Popen(
    [sys.executable, "-c", '''
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    with open(sys.argv[1], "a") as fh:
        fh.write(f"{time.time()}\\\\n")
    time.sleep(0.05)
''', os.path.join(out, "writes")],
    start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
with open(os.path.join(out, "tree.json"), "w") as fh:
    json.dump({"agent": os.getpid(), "writer": writer.pid}, fh)
print(json.dumps({"type": "system", "subtype": "init", "session_id": "x"}), flush=True)
while True:
    time.sleep(1)
"""


def _stubborn_agent(tmp_path: Path) -> Path:
    path = tmp_path / "stubborn-claude"
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(STUBBORN_AGENT))
    path.chmod(0o755)
    return path


def _wait_for(predicate: object, seconds: float) -> bool:
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def _start_aio(project: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ai_orchestrator", "run", "run-life", "hello", "--agent", "claude"],
        cwd=project,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP], ids=str)
def test_nothing_of_the_agent_outlives_aio_and_the_lock_outlives_the_agent(
    sig: signal.Signals, tmp_path: Path, fakes: FakeAgents, project: Path
) -> None:
    life = tmp_path / "life"
    life.mkdir()
    first = _start_aio(
        project,
        {"AIO_AGENT_CLAUDE_EXECUTABLE": str(_stubborn_agent(tmp_path)), "LIFETIME_DIR": str(life)},
    )
    tree: dict[str, int] = {}
    try:
        assert _wait_for(lambda: (life / "writes").exists(), 30), first.communicate(timeout=5)
        tree = json.loads((life / "tree.json").read_text())
        first.send_signal(sig)
        killed_at = time.monotonic()
        # At once, before the tree is gone: a second run on the same session.
        second = _start_aio(project, {"AIO_AGENT_CLAUDE_EXECUTABLE": fakes.executable("claude")})
        _, err = second.communicate(timeout=60)
        _, first_err = first.communicate(timeout=30)
        assert _wait_for(lambda: not any(pid_alive(p) for p in tree.values()), 5.0), (
            f"a process of the agent's tree outlived aio by "
            f"{time.monotonic() - killed_at:.1f} s: {tree}"
        )
    finally:
        for pid in tree.values():
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert second.returncode == 0, err
    last_write = float((life / "writes").read_text().split()[-1])
    second_started = min(datetime.fromisoformat(r["time"]).timestamp() for r in fakes.records())
    assert second_started > last_write, "the second run started while the agent still wrote"
    if sig == signal.SIGKILL:
        assert first.returncode == -signal.SIGKILL
    else:  # the same clean stop as Ctrl-C: the call is recorded as interrupted, exit 130
        assert first.returncode == 130, first_err
        outcomes = [i.outcome for i in SessionStore().read_log("run-life").records]
        assert outcomes == ["interrupted", "success"]


def test_the_agent_inherits_no_descriptor_but_its_stdio(tmp_path: Path) -> None:
    # The run lock (hold_fds), the lifeline and the ready pipe stay with the watchdog: an
    # agent holding the lock's descriptor would keep the session locked after its own death.
    lock = os.open(tmp_path / "lock", os.O_RDWR | os.O_CREAT)
    script = "import os; print(sorted(int(f) for f in os.listdir('/proc/self/fd')))"
    parser = LineParser()
    try:
        runner.run(
            Invocation(argv=[sys.executable, "-c", script], cwd=tmp_path),
            parser,
            timeout=30,
            hold_fds=[lock],
        )
    finally:
        os.close(lock)
    assert json.loads(parser.lines[0]) == [0, 1, 2, 3]  # 3: listdir's own /proc/self/fd


@pytest.mark.parametrize(
    ("body", "code", "sig"),
    [
        ("sys.exit(42)", 42, None),
        ("os.kill(os.getpid(), signal.SIGABRT); time.sleep(30)", 128 + 6, signal.SIGABRT),
        ("os.kill(os.getpid(), signal.SIGHUP); time.sleep(30)", 128 + 1, signal.SIGHUP),
    ],
)
def test_the_watchdog_ends_exactly_as_the_agent_did(
    tmp_path: Path, body: str, code: int, sig: signal.Signals | None
) -> None:
    parser = LineParser()
    argv = [sys.executable, "-c", "import os, signal, sys, time\n" + body]
    runner.run(Invocation(argv=argv, cwd=tmp_path), parser, timeout=30)
    assert parser.exit is not None
    assert (parser.exit.exit_code, parser.exit.signal) == (code, sig)
    assert not list(tmp_path.glob("core*")), "the re-raised signal dumped a core"


def _has_open(pid: int, suffix: str) -> bool:
    try:
        return any(
            os.readlink(f"/proc/{pid}/fd/{fd}").endswith(suffix)
            for fd in os.listdir(f"/proc/{pid}/fd")
        )
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=str)
def test_sigterm_and_sighup_outside_the_agent_call_stop_aio_like_ctrl_c(
    sig: signal.Signals, fakes: FakeAgents, project: Path
) -> None:
    # aio waits for the run lock (held here): no agent runs, the runner's handlers are not
    # installed. SIGTERM and SIGHUP must end as Ctrl-C (SIGINT) does: exit 130 with click's
    # one line, not death by the signal.
    store = SessionStore()
    with store.run_lock("run-life", timeout=5):
        waiting = _start_aio(project, {})
        assert _wait_for(lambda: _has_open(waiting.pid, "/run-life/.run.lock"), 30)
        waiting.send_signal(sig)
        _, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 130, err
    assert err.strip().splitlines()[-1] == "aio: interrupted"
    assert fakes.records() == [], "an agent was started"

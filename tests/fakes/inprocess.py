"""An in-process fake agent process: the session call and the workflow without spawning.

In the spirit of ``llm``'s mock model: a test *enqueues* what the agent does — the stdout
lines it prints (parsed by the backend's real parser), or a finished ``AgentResult`` — and
the ``fake_launcher`` fixture swaps it in for ``calls.session_call.launch``, the one seam
between the session call and the process layer (``agents.runner``). Everything above the
seam is the real code: invocation building, session planning and resume, recovery markers,
budget, pricing, the store and the workflow.

- ``enqueue(*lines, exit_code=0, stderr="", …)``: the next launch "prints" ``lines`` (dicts
  are JSON-encoded) and exits with ``exit_code``; ``timed_out`` / ``interrupted`` are
  reported as the runner would. ``effect(invocation)`` runs first (an agent's file edits).
- ``enqueue_result(result)``: the next launch returns ``result`` as it is (no parser).
- ``scripted=True``: with an empty queue, a launch of the offline ``scripted`` agent runs its
  ``scripted_cli`` in this process (its argv, stdin, cwd and env overrides), so workflow
  scenarios work unchanged; its lines then go through the scripted backend's parser.
- ``fake_clis=True``: with an empty queue, a launch of a fake CLI (``tests/fakes/bin/claude``,
  ``gemini``, ``codex``) runs that fake's ``main`` in this process the same way
  (``run_fake_cli``), so the ``fakes`` fixture's scenarios work unchanged. A fake's injected
  crash ends it with its exit code and message as the process would; what only a process can
  do (a SIGTERM death, a hang, a background child) fails the test with ``ProcessForbidden``:
  such a test is marked ``process``.

``recorded(agent)`` gives a backend's recorded success stream (``tests/agents/streams``).

Every launch is kept in ``calls`` (the ``Invocation``: argv, stdin, cwd, env). A launch with
nothing enqueued fails the test with the argv, never silently succeeds.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_orchestrator.agents.base import AgentResult, Invocation, ProcessExit, Progress, StreamParser
from ai_orchestrator.agents.scripted import AGENT_MODULE
from tests.spawnguard import ProcessForbidden

STREAMS = Path(__file__).resolve().parents[1] / "agents" / "streams"


def recorded(agent: str, kind: str = "success") -> list[str]:
    """The stdout lines of ``agent``'s recorded ``kind`` stream (``<agent>-<kind>.jsonl``)."""
    return (STREAMS / f"{agent}-{kind}.jsonl").read_text().splitlines()


@dataclass
class Reply:
    """What one launch does: prints ``lines`` and ends as described, or returns ``result``."""

    lines: Sequence[str] = ()
    exit_code: int | None = 0
    stderr: str = ""
    timed_out: bool = False
    interrupted: bool = False
    signal: int | None = None
    duration_ms: int = 1
    result: AgentResult | None = None
    effect: Callable[[Invocation], None] | None = None


class FakeLauncher:
    """A stand-in for ``agents.runner.run`` that plays enqueued replies (module docstring)."""

    def __init__(self, *, scripted: bool = False, fake_clis: bool = False) -> None:
        self.replies: deque[Reply] = deque()
        self.calls: list[Invocation] = []
        self.progress: list[Progress] = []
        self.scripted = scripted
        self.fake_clis = fake_clis

    def enqueue(
        self,
        *lines: str | dict[str, Any],
        exit_code: int | None = 0,
        stderr: str = "",
        timed_out: bool = False,
        interrupted: bool = False,
        signal: int | None = None,
        effect: Callable[[Invocation], None] | None = None,
    ) -> None:
        text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
        self.replies.append(
            Reply(text, exit_code, stderr, timed_out, interrupted, signal, effect=effect)
        )

    def enqueue_result(self, result: AgentResult) -> None:
        self.replies.append(Reply(result=result))

    def __call__(
        self,
        invocation: Invocation,
        parser: StreamParser,
        *,
        timeout: float | None,
        on_progress: Callable[[Progress], None] | None = None,
        hold_fds: Sequence[int] = (),
    ) -> AgentResult:
        self.calls.append(invocation)
        if self.replies:
            reply = self.replies.popleft()
        elif self.scripted and invocation.argv[1:3] == ["-m", AGENT_MODULE]:
            reply = run_scripted(invocation)
        elif self.fake_clis and Path(invocation.argv[0]).parent == FAKE_BIN:
            reply = run_fake_cli(invocation)
        else:
            raise AssertionError(f"agent launched with nothing enqueued: {invocation.argv}")
        if reply.effect is not None:
            reply.effect(invocation)
        if reply.result is not None:
            return reply.result
        for line in reply.lines:
            progress = parser.feed(line)
            if progress is not None:
                self.progress.append(progress)
                if on_progress is not None:
                    on_progress(progress)
        ended = ProcessExit(
            exit_code=reply.exit_code,
            stderr=reply.stderr,
            duration_ms=reply.duration_ms,
            timed_out=reply.timed_out,
            interrupted=reply.interrupted,
            signal=reply.signal,
        )
        return parser.finish(ended)


def run_scripted(invocation: Invocation) -> Reply:
    """Run the scripted agent's CLI in this process, as its process would run."""
    from ai_orchestrator.agents import scripted_cli

    stdin = io.TextIOWrapper(io.BytesIO(invocation.stdin or b""), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code: int | None = 0
    with _environment(invocation), _streams(stdin, out, err):
        saved_argv = sys.argv
        sys.argv = [AGENT_MODULE, *invocation.argv[3:]]
        try:
            scripted_cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.argv = saved_argv
    return Reply(out.getvalue().splitlines(), code, err.getvalue())


FAKES = Path(__file__).resolve().parent
FAKE_BIN = FAKES / "bin"


def run_fake_cli(invocation: Invocation) -> Reply:
    """Run the fake CLI ``invocation.argv[0]`` names in this process, as its process would run
    (its argv, stdin, cwd and environment overrides)."""
    exit_code, out, err = run_fake(
        Path(invocation.argv[0]).name,
        invocation.argv[1:],
        stdin=invocation.stdin or b"",
        cwd=Path(invocation.cwd),
        env=dict(invocation.env),
        unset=tuple(invocation.unset_env),
    )
    return Reply(out.splitlines(), exit_code, err)


def run_fake(
    agent: str,
    args: Sequence[str],
    *,
    stdin: bytes,
    cwd: Path,
    env: dict[str, str],
    unset: Sequence[str] = (),
) -> tuple[int, str, str]:
    """Run fake ``agent``'s ``main`` with ``args`` in this process: (exit code, stdout,
    stderr)."""
    module = _fake_module(agent)
    common = sys.modules["_fakecommon"]
    stdin_stream = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = 0
    saved_argv, saved_die = sys.argv, module.die
    module.die = _die_in_process
    with _environment_of(cwd, env, unset), _streams(stdin_stream, out, err):
        sys.argv = [str(FAKE_BIN / agent), *args]
        try:
            common.run_main(agent, module.main)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.argv, module.die = saved_argv, saved_die
    return code, out.getvalue(), err.getvalue()


def _fake_module(agent: str) -> Any:
    """The fake CLI module of ``agent`` (``tests/fakes/fake_<agent>.py``), imported once."""
    name = f"fake_{agent}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FAKES / f"{name}.py")
        if spec is None or spec.loader is None:
            raise AssertionError(f"no fake CLI for {agent!r}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _die_in_process(kind: str, agent: str, failure: dict[str, Any]) -> None:
    """The fakes' process-level failures in this process: a crash exits with its message and
    code (as ``os._exit`` would, without the exit record); the others need a process."""
    if kind == "crash":
        message = failure.get("message", f"{agent}: unexpected error: fake crash (injected)")
        sys.stderr.write(message + "\n")
        raise SystemExit(int(failure.get("exit_code", 1)))
    raise ProcessForbidden(
        f"the fake {agent}'s {kind!r} failure needs a real process: mark the test `process`"
    )


@contextlib.contextmanager
def _environment(invocation: Invocation) -> Iterator[None]:
    with _environment_of(Path(invocation.cwd), dict(invocation.env), invocation.unset_env):
        yield


@contextlib.contextmanager
def _environment_of(cwd: Path, env: dict[str, str], unset: Sequence[str]) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(env)
    for name in unset:
        os.environ.pop(name, None)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


@contextlib.contextmanager
def _streams(stdin: io.TextIOWrapper, out: io.StringIO, err: io.StringIO) -> Iterator[None]:
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = stdin, out, err
    try:
        yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved

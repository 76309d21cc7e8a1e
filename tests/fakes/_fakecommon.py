"""Machinery shared by the fake agent CLIs (``fake_claude.py`` … ``fake_codex.py``). Stdlib only.

What lives here and why it is shared:

- ``Scenario``: the JSON file named by ``FAKE_AGENT_SCENARIO``. Turns are consumed in order
  across invocations; the cursor lives in ``<scenario>.state.json`` next to it and is only
  touched under an ``flock`` on ``<scenario>.lock``, so concurrent fakes each get their own
  turn. Validation failures (bad argv, unknown session) consume no turn: the real CLIs
  fail before any API call.
- ``Ids``: ids derived from ``seed`` and the invocation number, so a scenario replays the
  same ids every time (without a scenario they are random).
- ``log_event``: one JSON line per event appended to ``FAKE_AGENT_LOG`` (one ``write`` on an
  ``O_APPEND`` fd, so concurrent fakes never interleave inside a record).
- ``apply_edit``: the file edits a turn really performs, confined to the working directory.
- ``Out``: prints JSON lines on stdout, flushed at once (a streaming reader must see them),
  with the scenario's ``event_delay`` between lines.

Every problem with the scenario itself exits 97 (turn meant for another CLI, exhausted with
``strict``) or 98 (edit outside the cwd, bad JSON) so a test can tell it from an injected
failure.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

SCENARIO_ENV = "FAKE_AGENT_SCENARIO"
LOG_ENV = "FAKE_AGENT_LOG"
EXIT_SCENARIO = 97
EXIT_BAD_SCENARIO = 98

# Environment variables recorded in the log (present ones only; secrets are masked).
_LOGGED_PREFIXES = ("CLAUDE", "ANTHROPIC", "GEMINI", "GOOGLE", "CODEX", "OPENAI", "AIO_", "FAKE_")
_LOGGED_NAMES = ("HOME", "PATH", "AI_MODEL", "SESSION_DIR", "TODO_FILE", "NO_COLOR", "TERM")
_SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD")

DEFAULT_USAGE = {
    "input": 100,
    "output": 50,
    "cache_read": 0,
    "cache_write_5m": 0,
    "cache_write_1h": 0,
    "reasoning": 0,
}


class Fail(Exception):
    """Stop the fake: ``message`` goes to stderr, then exit with ``code``."""

    def __init__(self, code: int, message: str, stdout_lines: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.stdout_lines = stdout_lines or []


# -- time, ids -----------------------------------------------------------------------------


def now_iso() -> str:
    stamp = _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def now_utc() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


class Ids:
    """Deterministic ids: a hash of (seed, agent, invocation, counter)."""

    _ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    def __init__(self, seed: Any, agent: str, invocation: int) -> None:
        self._base = f"{seed}:{agent}:{invocation}"
        self._n = 0

    def _digest(self, kind: str) -> bytes:
        self._n += 1
        return hashlib.sha256(f"{self._base}:{kind}:{self._n}".encode()).digest()

    def uuid4(self) -> str:
        return str(uuid.UUID(bytes=self._digest("uuid4")[:16], version=4))

    def uuid7(self) -> str:
        """UUIDv7-shaped (version nibble 7, RFC variant), like Codex thread ids."""
        raw = bytearray(self._digest("uuid7")[:16])
        raw[6] = (raw[6] & 0x0F) | 0x70
        raw[8] = (raw[8] & 0x3F) | 0x80
        return str(uuid.UUID(bytes=bytes(raw)))

    def token(self, prefix: str, length: int = 24) -> str:
        number = int.from_bytes(self._digest(prefix), "big")
        chars = []
        for _ in range(length):
            number, rem = divmod(number, len(self._ALPHABET))
            chars.append(self._ALPHABET[rem])
        return prefix + "".join(chars)


# -- scenario ------------------------------------------------------------------------------


class Scenario:
    """The scenario file plus its cursor state (see module docstring)."""

    def __init__(self, agent: str) -> None:
        self.agent = agent
        path = os.environ.get(SCENARIO_ENV)
        self.path = Path(path) if path else None
        self.data: dict[str, Any] = {}
        if self.path is not None:
            try:
                self.data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise Fail(EXIT_BAD_SCENARIO, f"fake-{agent}: cannot read scenario: {exc}") from exc
            if not isinstance(self.data, dict):
                raise Fail(EXIT_BAD_SCENARIO, f"fake-{agent}: scenario must be a JSON object")
        self.seed = self.data.get("seed", 0)
        self.settings: dict[str, Any] = dict(self.data.get(agent) or {})
        self.invocation = self._next_invocation()
        self.ids = Ids(self.seed if self.path else uuid.uuid4().hex, agent, self.invocation)
        self.turn_index: int | None = None

    @contextlib.contextmanager
    def _locked_state(self) -> Any:
        assert self.path is not None
        lock_path = self.path.with_name(self.path.name + ".lock")
        state_path = self.path.with_name(self.path.name + ".state.json")
        with open(lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = json.loads(state_path.read_text()) if state_path.exists() else {}
            except ValueError:
                state = {}
            yield state
            tmp = state_path.with_name(state_path.name + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(state))
            os.replace(tmp, state_path)

    def _next_invocation(self) -> int:
        if self.path is None:
            return 0
        with self._locked_state() as state:
            state["invocations"] = int(state.get("invocations", 0)) + 1
            return int(state["invocations"])

    def take_turn(self) -> dict[str, Any]:
        """The next turn for this CLI (``{}`` = the built-in default answer)."""
        turns = self.data.get("turns", [])
        if isinstance(turns, dict):
            queue, key = list(turns.get(self.agent) or []), self.agent
        else:
            queue, key = list(turns), "*"
        if self.path is None:
            return {}
        with self._locked_state() as state:
            cursors = state.setdefault("cursor", {})
            index = int(cursors.get(key, 0))
            if index >= len(queue):
                if self.data.get("strict"):
                    raise Fail(
                        EXIT_SCENARIO,
                        f"fake-{self.agent}: scenario exhausted ({len(queue)} turns)",
                    )
                default = self.data.get("default_turn") or {}
                cursors[key] = index + 1
                self.turn_index = index
                return dict(default)
            turn = queue[index]
            wanted = turn.get("agent")
            if wanted and wanted != self.agent:
                raise Fail(
                    EXIT_SCENARIO,
                    f"fake-{self.agent}: scenario turn {index} is meant for {wanted}",
                )
            cursors[key] = index + 1
            self.turn_index = index
            return dict(turn)


# -- logging -------------------------------------------------------------------------------


def logged_env() -> dict[str, str]:
    env = {}
    for name, value in os.environ.items():
        if name in _LOGGED_NAMES or name.startswith(_LOGGED_PREFIXES):
            secret = any(marker in name for marker in _SECRET_MARKERS)
            env[name] = "<set>" if secret and value else value
    return env


def log_event(agent: str, event: str, **fields: Any) -> None:
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    record = {"event": event, "agent": agent, "pid": os.getpid(), "time": now_iso(), **fields}
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def log_start(agent: str, argv: list[str], stdin_text: str | None, prompt: str | None) -> None:
    log_event(
        agent,
        "start",
        argv=argv,
        cwd=os.getcwd(),
        stdin=stdin_text,
        prompt=prompt,
        env=logged_env(),
    )


# -- stdin / stdout ------------------------------------------------------------------------


def read_stdin() -> str | None:
    """All of stdin as text, or ``None`` when stdin is a terminal or closed."""
    stream = sys.stdin
    if stream is None:
        return None
    try:
        if stream.isatty():
            return None
        return stream.buffer.read().decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return None


class Out:
    """JSON lines on stdout, flushed one by one."""

    def __init__(self, event_delay: float = 0.0) -> None:
        self.event_delay = float(event_delay or 0.0)

    def raw(self, text: str) -> None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        if self.event_delay:
            time.sleep(self.event_delay)

    def line(self, obj: Any) -> None:
        self.raw(dumps(obj))


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def append_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        for record in records:
            fh.write(dumps(record) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            records.append(obj)
    return records


# -- turns ---------------------------------------------------------------------------------


def failure_of(turn: dict[str, Any]) -> dict[str, Any] | None:
    failure = turn.get("failure")
    if failure is None:
        return None
    if isinstance(failure, str):
        return {"kind": failure}
    return dict(failure)


def models_of(turn: dict[str, Any], default_model: str) -> list[tuple[str, dict[str, Any]]]:
    """``[(model, usage)]``; the first entry is the main model (see README: usage)."""
    usage = turn.get("usage")
    if not usage:
        return [(default_model, dict(DEFAULT_USAGE))]
    models = []
    for model, counts in usage.items():
        full = {key: 0 for key in DEFAULT_USAGE}
        full.update(counts or {})
        models.append((model, full))
    return models


def split(total: int, parts: int) -> list[int]:
    """``total`` spread over ``parts`` non-negative ints (the remainder goes to the last)."""
    parts = max(1, parts)
    base = total // parts
    return [base] * (parts - 1) + [total - base * (parts - 1)]


def pre_output(turn: dict[str, Any], out: Out) -> None:
    """Noise lines and the initial delay that precede a turn's real output."""
    for noise in turn.get("noise", []):
        out.raw(str(noise))
    if turn.get("delay"):
        time.sleep(float(turn["delay"]))


def spawn_background(agent: str, turn: dict[str, Any]) -> None:
    """A leftover child in our process group that holds stdout/stderr open (hygiene tests)."""
    seconds = turn.get("background_seconds")
    if not seconds:
        return
    child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({float(seconds)})"])
    log_event(agent, "background", child_pid=child.pid)


def die(kind: str, agent: str, failure: dict[str, Any]) -> None:
    """The process-level failures shared by all fakes: crash, sigterm, hang."""
    if kind == "crash":
        sys.stdout.flush()
        sys.stderr.write(
            failure.get("message", f"{agent}: unexpected error: fake crash (injected)") + "\n"
        )
        sys.stderr.flush()
        os._exit(int(failure.get("exit_code", 1)))
    if kind == "sigterm":
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(60)
    if kind == "hang":
        if failure.get("ignore_term"):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sys.stdout.flush()
        while True:
            time.sleep(3600)


# -- edits ---------------------------------------------------------------------------------


def resolve_edit_path(cwd: Path, rel: str, agent: str) -> Path:
    path = Path(rel)
    if path.is_absolute() or ".." in path.parts:
        raise Fail(EXIT_BAD_SCENARIO, f"fake-{agent}: edit path must be relative: {rel!r}")
    full = (cwd / path).resolve()
    if cwd.resolve() not in (full, *full.parents):
        raise Fail(EXIT_BAD_SCENARIO, f"fake-{agent}: edit escapes the working dir: {rel!r}")
    return full


def plan_edit(cwd: Path, edit: dict[str, Any], agent: str) -> dict[str, Any]:
    """Describe an edit without performing it: op, path, kind (add/update/delete), texts."""
    full = resolve_edit_path(cwd, str(edit.get("path", "")), agent)
    existed = full.exists()
    old_text = full.read_text(encoding="utf-8") if existed and full.is_file() else ""
    info: dict[str, Any] = {"path": str(full), "rel": edit["path"], "existed": existed}
    if edit.get("delete"):
        info.update(op="delete", kind="delete", new_text=None)
    elif "replace" in edit:
        old, new = edit["replace"]["old"], edit["replace"]["new"]
        info.update(op="replace", kind="update", old=old, new=new)
        info["new_text"] = old_text.replace(old, new, 1) if old in old_text else None
        if info["new_text"] is None:
            info["error"] = f"String to replace not found in file: {old!r}"
    elif "append" in edit:
        info.update(op="append", kind="update" if existed else "add")
        info["new_text"] = old_text + str(edit["append"])
    else:
        info.update(op="write", kind="update" if existed else "add")
        info["new_text"] = str(edit.get("content", ""))
    info["old_text"] = old_text
    return info


def perform_edit(info: dict[str, Any]) -> None:
    path = Path(info["path"])
    if info["op"] == "delete":
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(info["new_text"], encoding="utf-8")


def line_delta(info: dict[str, Any]) -> tuple[int, int]:
    """(lines added, lines removed) of an edit, for Gemini's ``files`` stats."""
    old = info.get("old_text") or ""
    new = info.get("new_text") or ""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    added = sum(1 for line in new_lines if line not in old_lines)
    removed = sum(1 for line in old_lines if line not in new_lines)
    return added, removed


def run_main(agent: str, main: Any) -> None:
    """Call ``main()``; turn ``Fail`` into stderr + exit code and log the exit."""
    try:
        code = int(main() or 0)
    except Fail as fail:
        for line in fail.stdout_lines:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
        if fail.message:
            sys.stderr.write(fail.message.rstrip("\n") + "\n")
        sys.stderr.flush()
        code = fail.code
    log_event(agent, "exit", exit_code=code)
    sys.stdout.flush()
    sys.exit(code)

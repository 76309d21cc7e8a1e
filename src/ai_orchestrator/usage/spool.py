"""The hook spool: what ``aio hook`` and ``aio statusline`` append, and the next sync reads.

Layout: ``SESSION_DIR/usage/spool/<UTC date>.jsonl``, one JSON object per line::

    {"v": 1, "kind": "hook"|"statusline", "agent": "claude", "ts": <ms>, "event": {...}}

``event`` keeps only the fields the index uses (``KEPT``; long strings cut at ``MAX_TEXT``):
never the prompt or the assistant's message. Writes are one ``write(2)`` of one complete
line on an ``O_APPEND`` descriptor, so concurrent hooks never interleave and a crash leaves
at most a torn last line, which the reader skips (it reads complete lines only). One file per
UTC day: the sync reads each file from its stored offset and removes files older than
``KEEP_DAYS`` it has read to the end, so no writer ever appends to a file being removed.

``append`` never raises: a failure is written to ``SESSION_DIR/usage/hook.log`` (or, if that
fails too, nowhere) and reported as ``False``. Import-light: stdlib only, no other module of
ours, because the hook and the statusline run on every agent turn.
"""

from __future__ import annotations

# The stdlib json, not orjson: importing orjson costs about three times as much CPU (it
# imports dataclasses, inspect, uuid, typing), and a hook event is small.
import json
import os
import time

from ai_orchestrator.core import env

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs every turn
if TYPE_CHECKING:
    from typing import Any

KEPT = (
    "session_id", "transcript_path", "cwd", "hook_event_name", "source", "reason",
    "agent_id", "agent_type", "agent_transcript_path", "stop_hook_active", "model", "turn_id",
    "thread-id", "turn-id", "type", "cost", "rate_limits", "workspace", "version", "timestamp",
)  # fmt: skip
MAX_TEXT = 4096
MAX_INPUT = 1024 * 1024
KEEP_DAYS = 7


def usage_dir() -> str:
    return env.usage_dir()


def spool_dir() -> str:
    return os.path.join(usage_dir(), "spool")


def _trim(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, dict) and depth < 3:
        return {str(k)[:64]: _trim(v, depth + 1) for k, v in list(value.items())[:32]}
    if isinstance(value, bool | int | float) or value is None:
        return value
    return None


def kept_fields(event: dict[str, Any]) -> dict[str, Any]:
    return {key: _trim(event[key]) for key in KEPT if key in event}


def log_error(message: str) -> None:
    """One line in ``usage/hook.log``; silent when even that fails."""
    try:
        path = os.path.join(usage_dir(), "hook.log")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, f"{stamp} {message}\n".encode(errors="replace")[:8192])
        finally:
            os.close(fd)
    except Exception:
        pass


def append(kind: str, agent: str, event: dict[str, Any]) -> bool:
    """Append one spool line (see the module docstring); False (logged) on failure."""
    try:
        now = time.time()
        stamp = int(now * 1000)
        line = json.dumps(
            {"v": 1, "kind": kind, "agent": agent, "ts": stamp, "event": kept_fields(event)},
            separators=(",", ":"),
        ).encode()
        directory = spool_dir()
        os.makedirs(directory, mode=0o700, exist_ok=True)
        name = time.strftime("%Y-%m-%d", time.gmtime(now)) + ".jsonl"
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
        fd = os.open(os.path.join(directory, name), flags, 0o600)
        try:
            data = line + b"\n"
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(f"short write to the spool ({written} of {len(data)} bytes)")
        finally:
            os.close(fd)
        return True
    except Exception as exc:
        log_error(f"{kind} {agent}: cannot append to the spool: {type(exc).__name__}: {exc}")
        return False


def read_input(argv: list[str], stdin_fd: int = 0, timeout: float = 2.0) -> dict[str, Any]:
    """The event: a JSON argument (Codex ``notify`` passes it as the last argument), else
    JSON on stdin, read for at most ``timeout`` seconds and ``MAX_INPUT`` bytes; ``{}``
    when there is none or it is not a JSON object."""
    raw = b""
    if argv and argv[-1].lstrip().startswith("{"):
        raw = argv[-1].encode()
    else:
        import select

        deadline = time.monotonic() + timeout
        chunks: list[bytes] = []
        size = 0
        try:
            while size < MAX_INPUT:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([stdin_fd], [], [], left)[0]:
                    break
                chunk = os.read(stdin_fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except (OSError, ValueError):
            pass
        raw = b"".join(chunks)[:MAX_INPUT]
    try:
        value = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def run_hook(agent: str, argv: list[str]) -> int:
    """``aio hook AGENT``: spool the event on stdin (or argv) and return 0, always."""
    try:
        event = read_input(argv)
        if not event:
            log_error(f"hook {agent}: no JSON event on stdin")
        append("hook", agent, event or {"hook_event_name": "unknown"})
    except BaseException as exc:
        log_error(f"hook {agent}: {type(exc).__name__}: {exc}")
    return 0

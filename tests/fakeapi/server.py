"""``FakeAPIServer``: one local HTTP server that fakes the Anthropic, Gemini and OpenAI APIs.

Contract:
- ``start()`` binds 127.0.0.1 on an OS-assigned port and serves from a daemon thread;
  ``stop()`` releases hung requests and shuts down. Also a context manager. ``url`` is
  ``http://127.0.0.1:<port>`` (no path; Codex needs ``url + "/v1"``).
- Routing: ``POST .../v1/messages`` (Anthropic), ``POST .../models/<m>:<method>`` (Gemini),
  ``POST .../responses`` (OpenAI Responses), ``POST .../chat/completions`` (OpenAI Chat
  Completions), ``HEAD /`` -> 200, anything else -> 404 JSON.
- ``script(turns, append=False)`` replaces the queue of scripted turns (see ``turns.py``).
  Only *main* requests (body carries ``tools``) pop a turn; when the queue is empty they get
  ``default_turn``. Side requests get a default answer and never touch the queue.
- ``requests`` is the in-memory log of every request (``RecordedRequest``: method, path,
  query, lower-cased headers, parsed JSON body, api, main, the turn it consumed, and once
  answered the status and response headers such as ``request-id``), appended *before* the
  answer is sent (so a hung request is visible). ``reset()`` clears log and queue.
- Control endpoints for out-of-process use: ``POST /__script`` (JSON list of turns),
  ``POST /__reset``, ``GET /__log``.
- ``prompt_cache`` (``prompt_cache.PromptCache``): when given, every Anthropic
  ``/v1/messages`` request is counted from its content with prompt caching emulated by
  prefix, and the reply's usage is that count (a turn's own ``usage`` keys still win); the
  count is kept on the request as ``usage``. Without it, usage is the scripted one.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import anthropic, gemini, openai, openai_chat
from .prompt_cache import PromptCache, output_tokens
from .turns import DEFAULT_TEXT, Turn, validate
from .wire import Reply

_GEMINI_PATH = re.compile(r"/models/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)$")
HANG_LIMIT_S = 3600.0


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    api: str | None = None
    main: bool = False
    turn: Turn | None = None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    usage: dict[str, Any] | None = None
    time: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable form (used by ``GET /__log`` and the JSONL log)."""
        return asdict(self)


class FakeAPIServer:
    """Scriptable fake model API server; see the module docstring."""

    def __init__(self, default_turn: Turn | None = None, log_file: Path | None = None,
                 prompt_cache: PromptCache | None = None) -> None:
        self.default_turn: Turn = default_turn or {"text": DEFAULT_TEXT}
        self.log_file = log_file
        self.prompt_cache = prompt_cache
        self._queue: deque[Turn] = deque()
        self._log: list[RecordedRequest] = []
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeAPIServer:
        """Bind 127.0.0.1:<free port> and serve in a background thread."""
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._stopping.clear()
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fakeapi", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung requests, stop serving, close the socket."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeAPIServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (server must be started)."""
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL without a path, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.port}"

    # -- scripting and log -----------------------------------------------------------------
    def script(self, turns: list[Turn], *, append: bool = False) -> None:
        """Replace (or with ``append``, extend) the queue of turns for main requests."""
        checked = [validate(t) for t in turns]
        with self._lock:
            if not append:
                self._queue.clear()
            self._queue.extend(checked)

    @property
    def pending(self) -> list[Turn]:
        """Scripted turns not yet consumed."""
        with self._lock:
            return list(self._queue)

    def reset(self) -> None:
        """Forget the request log and the scripted queue."""
        with self._lock:
            self._queue.clear()
            self._log.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._log)

    def main_requests(self, api: str | None = None) -> list[RecordedRequest]:
        """Requests that consumed a turn (optionally only for ``api``)."""
        return [r for r in self.requests if r.main and (api is None or r.api == api)]

    def wait_for_requests(self, count: int, *, main_only: bool = True,
                          timeout: float = 30.0) -> list[RecordedRequest]:
        """Block until at least ``count`` (main) requests arrived; raise ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                got = [r for r in self._log if r.main or not main_only]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"only {len(got)} of {count} requests after {timeout}s")
                self._lock.wait(left)

    # -- used by the handler ---------------------------------------------------------------
    def _record(self, rec: RecordedRequest) -> None:
        with self._lock:
            if rec.main:
                rec.turn = self._queue.popleft() if self._queue else validate(self.default_turn)
            self._log.append(rec)
            self._lock.notify_all()
        if self.log_file is not None:
            with self.log_file.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec.to_json(), default=str) + "\n")

    def _control(self, path: str, body: Any) -> Reply | None:
        if path == "/__script":
            self.script(list(body or []))
            return Reply.json({"queued": len(self.pending)})
        if path == "/__reset":
            self.reset()
            return Reply.json({"ok": True})
        if path == "/__log":
            return Reply.json([r.to_json() for r in self.requests])
        return None

    def _wait_hang(self) -> None:
        self._stopping.wait(HANG_LIMIT_S)


class _Handler(BaseHTTPRequestHandler):
    server_version = "fakeapi/1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            data = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.headers.get("content-encoding", "").lower() == "gzip":
            data = gzip.decompress(data)
        return data

    def _handle(self) -> None:
        fake: FakeAPIServer = self.server.fake  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        raw = self._read_body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        control = fake._control(split.path, body)
        if control is not None:
            self._send(control)
            return
        rec = RecordedRequest(
            method=self.command, path=split.path,
            query={k: v[0] for k, v in parse_qs(split.query).items()},
            headers={k.lower(): v for k, v in self.headers.items()}, body=body)
        rec.api, rec.main = _classify(self.command, split.path, body)
        fake._record(rec)
        turn = rec.turn or {}
        if fake.prompt_cache is not None and _counted(rec, turn):
            counted = fake.prompt_cache.account(rec.body).usage()
            counted["output_tokens"] = output_tokens(turn if rec.main else {"text": DEFAULT_TEXT})
            rec.usage = {**counted, **(turn.get("usage") or {})}
        if turn.get("delay"):
            time.sleep(float(turn["delay"]))
        if turn.get("hang"):
            fake._wait_hang()
            self.close_connection = True
            return
        reply = _reply(rec, turn)
        rec.status, rec.response_headers = reply.status, dict(reply.headers)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            if reply.events is None:
                self.send_header("content-length", str(len(reply.body)))
            self.send_header("connection", "close")
            self.end_headers()
            if self.command == "HEAD":
                return
            if reply.events is None:
                self.wfile.write(reply.body)
            else:
                for event in reply.events:
                    self.wfile.write(event)
                    self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def _classify(method: str, path: str, body: Any) -> tuple[str | None, bool]:
    """Return (api, is_main) for a request."""
    if method != "POST":
        return None, False
    if path.endswith("/v1/messages"):
        return "anthropic", anthropic.is_main(body)
    if match := _GEMINI_PATH.search(path):
        return "gemini", match["method"] == "streamGenerateContent" and gemini.is_main(body)
    if path.endswith("/responses"):
        return "openai", openai.is_main(body)
    if path.endswith("/chat/completions"):
        return "openai_chat", openai_chat.is_main(body)
    if path.endswith("/v1/messages/count_tokens"):
        return "anthropic", False
    return None, False


def _counted(rec: RecordedRequest, turn: Turn) -> bool:
    """Whether the prompt cache accounts this request: an answered Anthropic message."""
    return (rec.api == "anthropic" and rec.path.endswith("/v1/messages")
            and not turn.get("error") and not turn.get("hang"))


def _reply(rec: RecordedRequest, turn: Turn) -> Reply:
    if rec.method == "HEAD":
        return Reply(status=200)
    error = turn.get("error")
    if rec.api == "anthropic":
        if rec.path.endswith("/count_tokens"):
            return Reply.json({"input_tokens": max(1, len(json.dumps(rec.body)) // 4)})
        if error:
            return anthropic.error_reply(error, rec.body)
        answer = turn if rec.main else {"text": DEFAULT_TEXT}
        if rec.usage is not None:
            answer = {**answer, "usage": rec.usage}
        return anthropic.render(answer, rec.body)
    if rec.api == "gemini":
        match = _GEMINI_PATH.search(rec.path)
        assert match is not None
        model, method = match["model"], match["method"]
        stream = method == "streamGenerateContent"
        if error:
            return gemini.error_reply(error, stream, model)
        if method == "countTokens":
            return gemini.count_tokens(rec.body)
        if not rec.main:
            return gemini.side_reply(rec.body, model)
        return gemini.render(turn, model, stream)
    if rec.api == "openai":
        if error:
            return openai.error_reply(error)
        return openai.render(turn if rec.main else {"text": DEFAULT_TEXT}, rec.body)
    if rec.api == "openai_chat":
        if error:
            return openai_chat.error_reply(error, rec.body)
        return openai_chat.render(turn if rec.main else {"text": DEFAULT_TEXT}, rec.body)
    return Reply.json({"error": {"message": f"fakeapi: no route for {rec.method} {rec.path}"}},
                      status=404)

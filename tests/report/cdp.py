"""A small Chrome DevTools Protocol client for the report's browser test (stdlib only).

``Browser.start()`` launches headless Chromium on a free debugging port in a new profile;
``page()`` connects to its page over a plain websocket (RFC 6455: masked text frames out,
unfragmented frames in, which is what Chromium sends). ``Page.call(method, **params)`` waits
for the answer and keeps every event received meanwhile in ``events``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio",
)  # fmt: skip


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    """One websocket connection to a page target."""

    def __init__(self, ws_url: str) -> None:
        match = re.match(r"ws://([^/:]+):(\d+)(/.*)", ws_url)
        assert match, ws_url
        host, port, path = match.group(1), int(match.group(2)), match.group(3)
        self.sock = socket.create_connection((host, port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("websocket handshake closed")
            head += chunk
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("websocket closed")
            data += chunk
        return data

    def _send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def _recv(self) -> dict[str, Any]:
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._exact(8))[0]
            payload = self._exact(n)
            if b0 & 0x0F == 0x1:
                message: dict[str, Any] = json.loads(payload)
                return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self._send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = self._recv()
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._recv()
            self.events.append(message)
            if message.get("method") == method:
                return message
        raise TimeoutError(method)

    def evaluate(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def close(self) -> None:
        self.sock.close()


class Browser:
    """Headless Chromium with a debugging port, in a new profile directory."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="aio-chromium-")
        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             "--host-resolver-rules=MAP * ~NOTFOUND", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.port = self._port()

    def _port(self) -> int:
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 60
        seen = []
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                break
            seen.append(line)
            match = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if match:
                return int(match.group(1))
        self.stop()
        raise RuntimeError("chromium did not open its debugging port:\n" + "".join(seen[-20:]))

    def page(self) -> Page:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as r:
            targets = json.loads(r.read())
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        return Page(url)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def screenshot(page: Page, path: Path) -> Path:
    shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


_CANVAS_INK = """(() => Array.from(document.querySelectorAll('canvas')).map(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let ink = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) ink++;
  return [c.id, c.width, c.height, ink];
}))()"""


def drawn(page: Page) -> set[str]:
    """The ids of the page's canvases, once the report's script said it rendered and every
    canvas has a size and ink on it (more than 500 painted pixels)."""
    assert page.evaluate("document.body.dataset.rendered") == "true"
    inks = page.evaluate(_CANVAS_INK)
    for ident, width, height, ink in inks:
        assert width > 0 and height > 0 and ink > 500, (ident, width, height, ink)
    return {c[0] for c in inks}


def load(page: Page, path: Path) -> None:
    """Open the file ``path`` in ``page`` (1280×900, every event recorded) and wait for it."""
    for domain in ("Runtime", "Log", "Network", "Page"):
        page.call(f"{domain}.enable")
    page.call("Emulation.setDeviceMetricsOverride", width=1280, height=900,
              deviceScaleFactor=1, mobile=False)  # fmt: skip
    page.call("Page.navigate", url=path.as_uri())
    page.wait_for("Page.loadEventFired")


def console_errors(page: Page) -> list[dict[str, Any]]:
    """Every exception, console error/warning/assert and log error/warning so far."""
    return [
        e for e in page.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Runtime.consoleAPICalled"
            and e["params"]["type"] in ("error", "warning", "assert"))
        or (e.get("method") == "Log.entryAdded"
            and e["params"]["entry"]["level"] in ("error", "warning"))
    ]  # fmt: skip


def requested(page: Page) -> list[str]:
    """The URL of every request the page sent so far."""
    return [
        e["params"]["request"]["url"] for e in page.events
        if e.get("method") == "Network.requestWillBeSent"
    ]  # fmt: skip

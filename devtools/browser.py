"""Headless Chromium driven over the DevTools protocol on a pipe: no driver binary, no port, no extra package.

Chromium started with --remote-debugging-pipe reads JSON commands from fd 3 and writes replies and events to fd 4,
each message ended by a NUL byte (what Puppeteer does by default). That is all a test needs: open a page,
evaluate JavaScript, screenshot a rectangle.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

# Without the background-networking flags Chromium keeps dialling Google services this closed network refuses.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--remote-debugging-pipe",
    # A hidden headless page must not be throttled like a background tab: the test measures playback timing.
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
)
H264 = 'video/mp4; codecs="avc1.42C01F"'


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium with one page; call close() (or use as a context manager)."""

    def __init__(self, executable: str, width: int = 1400, height: int = 1000, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.console: list[str] = []  # console messages and uncaught exceptions of the page, for failure reports
        self._profile = tempfile.mkdtemp(prefix="facedaemon-chromium-")
        self._next_id = 0
        self._lock = threading.Lock()
        self._replies: dict[int, dict] = {}
        self._arrived = threading.Condition(self._lock)
        self._closed = False
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        argv = [executable, *FLAGS, f"--user-data-dir={self._profile}", f"--window-size={width},{height}",
                "about:blank"]

        def wire_fds() -> None:  # the child's fd 3 and 4 are the pipe ends the protocol lives on
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, preexec_fn=wire_fds, pass_fds=(3, 4),
                                        start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()
        self.session = self._attach()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------------- protocol
    def _read(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                with self._lock:
                    self._closed = True
                    self._arrived.notify_all()
                return
            pending += chunk
            *messages, pending = pending.split(b"\0")
            for raw in messages:
                self._dispatch(json.loads(raw))

    def _dispatch(self, message: dict) -> None:
        if "id" in message:
            with self._lock:
                self._replies[message["id"]] = message
                self._arrived.notify_all()
            return
        params = message.get("params", {})
        if message.get("method") == "Runtime.consoleAPICalled":
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))
            self.console.append(f"console.{params.get('type')}: {text}")
        elif message.get("method") == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.console.append(f"exception: {details.get('exception', {}).get('description', details)}")

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float | None = None) -> dict:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        message: dict = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        with self._lock:
            if not self._arrived.wait_for(lambda: ident in self._replies or self._closed, timeout or self.timeout):
                raise BrowserError(f"{method}: no reply from Chromium")
            if ident not in self._replies:
                raise BrowserError(f"{method}: Chromium exited ({self.process.poll()})")
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _attach(self) -> str:
        targets = self.send("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        session = self.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page.enable", "Runtime.enable"):
            self.send(domain, session=session)
        return session

    # ---------------------------------------------------------------------------------------------- page
    def goto(self, url: str) -> None:
        reply = self.send("Page.navigate", {"url": url}, session=self.session)
        if reply.get("errorText"):
            raise BrowserError(f"cannot open {url}: {reply['errorText']}")

    def evaluate(self, expression: str, timeout: float | None = None):
        """Value of a JavaScript expression (promises are awaited); BrowserError if it throws."""
        reply = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                               "returnByValue": True}, session=self.session, timeout=timeout)
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            raise BrowserError(f"{expression[:80]!r} threw {details.get('exception', {}).get('description', details)}")
        return reply["result"].get("value")

    def rect(self, selector: str) -> dict[str, float]:
        """The element's bounding box in CSS pixels of the page."""
        found = self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                              " if (!e) return null; e.scrollIntoView({block: 'center'});"
                              " const r = e.getBoundingClientRect();"
                              " return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; })()")
        if not found:
            raise BrowserError(f"no element matches {selector!r}")
        return found

    def screenshot(self, clip: dict[str, float] | None = None) -> bytes:
        """PNG of the viewport, or of clip (page CSS pixels) at scale 1."""
        params: dict = {"format": "png"}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        return base64.b64decode(self.send("Page.captureScreenshot", params, session=self.session)["data"])

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            if self.process.poll() is None:
                self.send("Browser.close", timeout=5)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):  # its own session: the group is Chromium and its helpers
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self._to_child)
        self._reader.join(5)
        with contextlib.suppress(OSError):
            os.close(self._from_child)
        shutil.rmtree(self._profile, ignore_errors=True)


def save_png(data: bytes, path: Path) -> Path:
    path.write_bytes(data)
    return path


def video_state(browser: Chromium, selector: str) -> dict:
    """currentTime, the buffered end, readyState, paused and the error of a <video>."""
    return browser.evaluate(
        f"(() => {{ const v = document.querySelector({json.dumps(selector)}); if (!v) return null;"
        " const b = v.buffered; return {time: v.currentTime, end: b.length ? b.end(b.length - 1) : null,"
        " ready: v.readyState, paused: v.paused, error: v.error && (v.error.message || String(v.error.code)),"
        " rate: v.playbackRate}; })()")


def read_delay(browser: Chromium, selector: str) -> tuple[float | None, float]:
    """One glass-to-glass sample of a pattern camera's <video>: (delay in s or None if unreadable, capture s).

    The delay is the wall clock halfway through the screenshot minus the time the pattern coded into the frame
    on screen (facedaemon.sources.pattern_code); browser and daemon share this machine's clock.
    """
    import cv2
    import numpy as np

    from facedaemon.sources.pattern_code import decode_code, delay_ms

    clip = browser.rect(selector)
    before = time.time()
    png = browser.screenshot(clip)
    after = time.time()
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    code = decode_code(image) if image is not None else None
    if code is None:
        return None, after - before
    return delay_ms(round((before + after) / 2 * 1000), code) / 1000, after - before


def wait_until(predicate, timeout: float, what: str, browser: Chromium | None = None, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    console = "\n".join(browser.console[-20:]) if browser else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})\n{console}")

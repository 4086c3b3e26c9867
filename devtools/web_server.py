"""The real gunicorn alone (no cameras, no recognition worker), started by the daemon's own WebServer, with
every line it relays into the daemon's logging kept for the test to read."""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from devtools.processes import descendants, free_port
from facedaemon.config import load
from facedaemon.daemon.web_server import WebServer
from facedaemon.logs import OneLineFormatter


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("facedaemon"):  # what the daemon logs, not the test's HTTP client
            self.lines.append(self.format(record))


@dataclass
class RunningWeb:
    port: int
    folder: Path
    handler: _Lines
    server: WebServer
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=60, **kwargs)

    def worker_pids(self) -> list[int]:
        assert self.server.pid is not None
        return sorted(descendants(self.server.pid))

    def log(self) -> str:
        return "\n".join(self.handler.lines)

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return self.log()
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not in the log within {timeout:.0f} s:\n{self.log()[-3000:]}")


@contextlib.contextmanager
def web_server(folder: Path, **overrides) -> Iterator[RunningWeb]:
    port = free_port()
    (folder / "faces").mkdir(exist_ok=True)
    config_path = folder / "facedaemon.yaml"
    http = {"listen": f"127.0.0.1:{port}", **overrides.pop("http", {})}
    config_path.write_text(yaml.safe_dump({
        "faces_dir": str(folder / "faces"), "runtime_dir": str(folder / "run"), "cache_dir": str(folder / "cache"),
        "http": http, "cameras": {"cam": {"source": "pattern"}}, **overrides}))
    handler = _Lines()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    server = WebServer(load(config_path), config_path)
    server.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"gunicorn did not listen:\n{handler.lines}"
                time.sleep(0.2)
        yield RunningWeb(port, folder, handler, server)
    finally:
        server.stop()
        root.removeHandler(handler)
        root.setLevel(old_level)

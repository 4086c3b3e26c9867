"""The documented caching front (etc/nginx/facedaemon.conf) run for real on loopback, and a relay that counts the
requests that get through it to the daemon.

The repository's file is used as it is, with only its addresses and cache folders replaced; the wrapper gives
nginx a private prefix (temp folders, pid, logs) so that it never touches /etc/nginx, /var/lib/nginx or /run.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools import REPO
from devtools.processes import free_port, stop_process

CONF = REPO / "etc" / "nginx" / "facedaemon.conf"

WRAPPER = """{user}
worker_processes {workers};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    log_format front '$request_uri $status $upstream_cache_status $upstream_addr';
    log_subrequest on;
    access_log {access_log};
    include {tmp}/facedaemon.conf;
}}
"""


def front_conf(port: int, upstream_port: int, tmp: Path) -> str:
    """The repository's config with the listen address, the daemon's address and the cache folders replaced."""
    text = CONF.read_text()
    for old, new in [("listen 80;", f"listen 127.0.0.1:{port};"),
                     ("server 127.0.0.1:8080;", f"server 127.0.0.1:{upstream_port};"),
                     ("/var/cache/nginx/facedaemon-hls", str(tmp / "cache-hls")),
                     ("/var/cache/nginx/facedaemon-auth", str(tmp / "cache-auth"))]:
        assert text.count(old) == 1, f"{CONF}: expected {old!r} once"
        text = text.replace(old, new)
    return text


@dataclass
class Front:
    process: subprocess.Popen
    port: int
    tmp: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def error_log(self) -> str:
        path = self.tmp / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process, timeout=10)  # SIGTERM: nginx's fast shutdown of the master and its workers


def start_front(nginx: str, tmp: Path, upstream_port: int, *, workers: int = 1, connections: int = 4096,
                access_log: bool = True) -> Front:
    """nginx in the foreground with the repository's config, on a free loopback port, checked with -t first."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (tmp / "facedaemon.conf").write_text(front_conf(port, upstream_port, tmp))
    user = "user root;" if os.geteuid() == 0 else ""  # workers must reach the test's private (0700) folders
    (tmp / "nginx.conf").write_text(WRAPPER.format(
        user=user, workers=workers, connections=connections, tmp=tmp,
        access_log=f"{tmp}/access.log front" if access_log else "off"))
    argv = [nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")]
    checked = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, f"nginx -t refused the config:\n{checked.stderr}"
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    front = Front(process, port, tmp)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert process.poll() is None, f"nginx exited with {process.returncode}:\n{front.error_log()}"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return front
        time.sleep(0.05)
    front.stop()
    raise AssertionError(f"nginx did not listen on {port}:\n{front.error_log()}")


_REQUEST_LINE = re.compile(rb"(?:GET|HEAD|POST|DELETE|PUT) (\S+) HTTP/1\.[01]\r\n")


@dataclass
class CountingRelay:
    """A TCP relay between nginx and the daemon that records every request path it carries."""

    target_port: int
    port: int = 0
    paths: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _listener: socket.socket | None = None
    _sockets: list[socket.socket] = field(default_factory=list)

    def start(self) -> CountingRelay:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self._listener, self.port = listener, listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def count(self, path: str) -> int:
        with self._lock:
            return self.paths.count(path)

    def matching(self, prefix: str) -> list[str]:
        with self._lock:
            return [path for path in self.paths if path.startswith(prefix)]

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
                upstream.settimeout(None)
            except OSError:  # the daemon's web server is restarting: nginx sees a refused connection, as without us
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, requests: bool) -> None:
        pending = b""
        try:
            while data := source.recv(65536):
                if requests:
                    pending = self._record(pending + data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def _record(self, data: bytes) -> bytes:
        """Record complete request lines; return what may still be the start of one."""
        end = 0
        for match in _REQUEST_LINE.finditer(data):
            with self._lock:
                self.paths.append(match[1].decode(errors="replace"))
            end = match.end()
        rest = data[end:]
        return rest[-512:]  # a request line split over two reads is completed by the next

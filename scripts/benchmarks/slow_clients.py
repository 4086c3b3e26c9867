#!/usr/bin/env python3
"""Hostile-client load on the real gunicorn (loopback only, bounded): idle sockets, slowloris, a non-reader.

Starts the web server exactly as the daemon does (facedaemon.daemon.web_server) on a free 127.0.0.1 port, then:

  idle/slow  keep N connections open at once: half connect and send nothing, half send a partial request head
             and one more header byte every 2 s (reconnecting whenever the server cuts them), while /healthz is
             fetched on a fresh connection every 50 ms; prints how many were open and the /healthz p50/p99/max.
  nonreader  pipeline GET requests on one connection and never read a reply; prints how long until the server
             closes the connection (capped at --nonreader-cap seconds).

  .venv/bin/python scripts/benchmarks/slow_clients.py --connections 1000 --seconds 30
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from facedaemon.config import load  # noqa: E402
from facedaemon.daemon.web_server import WebServer  # noqa: E402

PARTIAL_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def web_server(folder: Path, workers: int = 1):
    """The real gunicorn, started and stopped by the daemon's own WebServer; yields its port."""
    port = free_port()
    (folder / "faces").mkdir(exist_ok=True)
    config_path = folder / "facedaemon.yaml"
    config_path.write_text(yaml.safe_dump({
        "faces_dir": str(folder / "faces"), "runtime_dir": str(folder / "run"),
        "http": {"listen": f"127.0.0.1:{port}", "workers": workers},
        "cameras": {"cam": {"source": "pattern"}},
    }))
    server = WebServer(load(config_path), config_path)
    server.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            time.sleep(0.2)
        yield port
    finally:
        server.stop()


def fetch(port: int, path: str = "/healthz", timeout: float = 15.0) -> float | None:
    """Seconds for one request on a fresh connection until the whole reply head arrived; None if it failed."""
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    return None
                data += chunk
        return time.monotonic() - started if data.startswith(b"HTTP/1.1 ") else None
    except OSError:
        return None


@dataclass
class SlowCrowd:
    """N hostile connections kept open (reconnecting when cut), from one thread."""

    port: int
    count: int
    sockets: list[socket.socket | None] = field(default_factory=list)
    reconnects: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def open_one(self, index: int) -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        except OSError:
            return None
        sock.setblocking(False)
        if index % 2:
            with contextlib.suppress(OSError):
                sock.send(PARTIAL_HEAD)
        return sock

    def run(self) -> None:
        self.sockets = [self.open_one(i) for i in range(self.count)]
        while not self._stop.wait(2.0):
            for index, sock in enumerate(self.sockets):
                if sock is None or self._closed(sock, drip=bool(index % 2)):
                    if sock is not None:
                        sock.close()
                    self.reconnects += 1
                    self.sockets[index] = self.open_one(index)

    @staticmethod
    def _closed(sock: socket.socket, drip: bool) -> bool:
        try:
            if sock.recv(4096) == b"":
                return True
        except BlockingIOError:
            pass
        except OSError:
            return True
        if drip:
            try:
                sock.send(b"X")
            except BlockingIOError:
                pass
            except OSError:
                return True
        return False

    def open_now(self) -> int:
        return sum(1 for s in self.sockets if s is not None)

    def stop(self) -> None:
        self._stop.set()
        for sock in self.sockets:
            if sock is not None:
                sock.close()


def measure_slow(port: int, connections: int, seconds: float) -> dict:
    crowd = SlowCrowd(port, connections)
    thread = threading.Thread(target=crowd.run, daemon=True)
    thread.start()
    time.sleep(3.0)  # all connected before measuring
    latencies, failures, held = [], 0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        took = fetch(port)
        if took is None:
            failures += 1
        else:
            latencies.append(took)
        held.append(crowd.open_now())
        time.sleep(0.05)
    crowd.stop()
    thread.join(5)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None
    return {"connections": connections, "held_min": min(held), "requests": len(latencies), "failures": failures,
            "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p99_ms": round(p99 * 1000, 1) if p99 is not None else None,
            "max_ms": round(latencies[-1] * 1000, 1) if latencies else None, "reconnects": crowd.reconnects}


def measure_nonreader(port: int, cap: float) -> dict:
    """Pipeline requests without reading: seconds until the server closes the connection (None: not within cap)."""
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # our side fills up soon, as a stalled reader's would
    sock.connect(("127.0.0.1", port))
    sock.settimeout(1.0)
    started = time.monotonic()
    sent = 0
    try:
        while time.monotonic() - started < cap:
            try:
                sock.send(request)
                sent += 1
            except TimeoutError:
                continue  # the server stopped reading from us: it is blocked sending to us
            except OSError:
                return {"cut_after_s": round(time.monotonic() - started, 1), "requests_sent": sent}
        return {"cut_after_s": None, "requests_sent": sent}
    finally:
        sock.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--nonreader-cap", type=float, default=90.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, web_server(Path(tmp), args.workers) as port:
        result = {"slow": measure_slow(port, args.connections, args.seconds),
                  "nonreader": measure_nonreader(port, args.nonreader_cap)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The sd_notify protocol of the real daemon, against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from devtools.daemon import Daemons, RunningDaemon, status
from tests import ffmpegs

pytestmark = pytest.mark.e2e

WATCHDOG_USEC = 1_000_000  # the daemon pings every 0.5 s


class NotifyListener:
    """Binds NOTIFY_SOCKET and records (monotonic time, message) for every datagram, like systemd does."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="fdnotify-")  # short: AF_UNIX paths are limited to 108 bytes
        self.path = str(Path(self._dir) / "notify")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            with self._lock:
                self.messages.append((time.monotonic(), data.decode()))

    def snapshot(self) -> list[tuple[float, str]]:
        with self._lock:
            return list(self.messages)

    def first(self, prefix: str) -> tuple[float, str] | None:
        return next(((at, text) for at, text in self.snapshot() if text.startswith(prefix)), None)

    def count(self, message: str, after: float = 0.0) -> int:
        return sum(1 for at, text in self.snapshot() if text == message and at > after)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)


@pytest.fixture
def listener():
    listening = NotifyListener()
    yield listening
    listening.close()


def notifying_daemon(daemons: Daemons, tmp: Path, cameras: dict, listener: NotifyListener) -> RunningDaemon:
    env = {"NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    return daemons(tmp, cameras, env=env, ready=None)


def test_ready_after_frames_then_watchdog_then_stopping(tmp_path, listener, run_daemon):
    cameras = {"cam": {"source": "pattern", "width": 320, "height": 240, "fps": 10, "recognize": False}}
    daemon = notifying_daemon(run_daemon, tmp_path, cameras, listener)
    ready = daemon.wait_for(lambda: listener.first("READY=1"), 60, "READY=1 on NOTIFY_SOCKET")
    assert "STATUS=streaming 1 of 1 camera(s)" in ready[1]
    assert status(daemon)["cameras"]["cam"]["last_frame"] is not None, "READY=1 before the first frame"
    before_ready = [text for at, text in listener.snapshot() if at < ready[0]]
    assert "WATCHDOG=1" not in before_ready, before_ready

    daemon.wait_for(lambda: listener.count("WATCHDOG=1", after=ready[0]) >= 4, 30, "repeated WATCHDOG=1")
    assert daemon.stop() < 15
    assert daemon.process.returncode == 0, daemon.log()[-2000:]
    assert listener.first("STOPPING=1") is not None, listener.snapshot()


def short_clip(path: Path, seconds: float) -> Path:
    subprocess.run([ffmpegs.SUITE(), "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc=size=320x240:rate=15:duration={seconds}", "-pix_fmt", "yuv420p", str(path)],
                   check=True, timeout=60)
    return path


def test_watchdog_pings_stop_when_the_only_camera_stops(tmp_path, listener, run_daemon):
    clip = short_clip(tmp_path / "clip.mp4", seconds=6)
    cameras = {"clip": {"source": str(clip), "loop": False, "recognize": False}}
    daemon = notifying_daemon(run_daemon, tmp_path, cameras, listener)
    ready = daemon.wait_for(lambda: listener.first("READY=1"), 60, "READY=1 on NOTIFY_SOCKET")
    daemon.wait_for(lambda: status(daemon)["cameras"]["clip"]["state"] == "ended", 90,
                    "the clip camera to stop streaming", interval=0.1)
    ended = time.monotonic()
    assert listener.count("WATCHDOG=1", after=ready[0]) >= 1, "no WATCHDOG=1 while the clip played"
    daemon.wait_for(lambda: listener.first("STATUS=streaming 0 of 1"), 10, "STATUS=streaming 0 of 1")
    time.sleep(4 * WATCHDOG_USEC / 1e6)  # eight ping intervals
    # One ping may have been on its way when the state changed; none after that.
    late = listener.count("WATCHDOG=1", after=ended + 1.0)
    assert late == 0, f"{late} WATCHDOG=1 after the only camera stopped: {listener.snapshot()[-12:]}"
    assert daemon.process.poll() is None, "the daemon exits by itself; systemd's watchdog should restart it"

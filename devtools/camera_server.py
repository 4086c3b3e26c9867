"""A real IP camera on loopback for the fault tests and the chaos soak: tests/e2e/rtsp_camera.py (GStreamer's RTSP
server under Debian's python) started, killed, frozen and restarted by pid."""

from __future__ import annotations

import select
import signal
import subprocess
from pathlib import Path

from devtools import REPO
from devtools.processes import SYSTEM_PYTHON

CAMERA_SCRIPT = REPO / "tests" / "e2e" / "rtsp_camera.py"


class RtspCamera:
    """rtsp_camera.py on 127.0.0.1:port; killed, restarted, frozen and thawed by pid."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.url = f"rtsp://127.0.0.1:{port}/cam"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        assert self.process is None
        with self.log_path.open("ab") as err:
            self.process = subprocess.Popen([SYSTEM_PYTHON, "-I", str(CAMERA_SCRIPT), "--port", str(self.port)],
                                            stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        assert self.process.stdout is not None
        # The first line comes once the server listens (or the process ends: EOF).
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline().decode(errors="replace") if ready else "(nothing in time)"
        if "serving" not in line:
            self.kill()
            raise AssertionError(f"the RTSP camera did not start: {line!r}\n{self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a frozen one too
            process.kill()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

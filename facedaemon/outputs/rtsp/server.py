"""RTSP output: the H.264 that ffmpeg already encodes for HLS, served by GStreamer's RTSP server (a sidecar).

    ffmpeg ──tee──> HLS files
              └──> pipe ──RtspFeed (daemon: split into access units, never blocks ffmpeg)──> unix socket
                                                      ──> sidecar_gst.py (system python + GStreamer) ──> viewers

One sidecar process serves every camera (one mount each). The daemon owns it: probes once whether GStreamer's
RTSP server can load (if not, RTSP is off with one log line and nothing else changes), starts it, restarts it
with backoff when it dies, and stops it. Nothing on this path can stall ffmpeg: the feed always drains the pipe
and drops access units (until the next keyframe) when the sidecar cannot keep up or is down.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from facedaemon.children.backoff import Backoff
from facedaemon.children.process import ManagedProcess
from facedaemon.children.restarter import Restarter
from facedaemon.config.models import LOOPBACK_HOSTS, Config
from facedaemon.outputs.rtsp.feed import RtspFeed
from facedaemon.outputs.rtsp.sidecar_gst import EXIT_UNAVAILABLE

log = logging.getLogger(__name__)

SIDECAR = Path(__file__).with_name("sidecar_gst.py")
PROBE_TIMEOUT = 30.0  # GStreamer builds its plugin registry on first use: seconds on a Pi
PIPE_SIZE = 1 << 20
PACKAGES = "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"


# ---------------------------------------------------------------------------------------------- pure parts


def sidecar_args(python: str, listen: str, mounts: list[tuple[str, str, int]], script: Path = SIDECAR) -> list[str]:
    """The sidecar's command line; mounts are (camera, path, inherited socket fd)."""
    args = [python, "-I", str(script), "--listen", listen]  # -I: no user site or env that could shadow gi
    for camera, path, fd in mounts:
        args += ["--mount", camera, path, str(fd)]
    return args


# ---------------------------------------------------------------------------------------------- the server


class RtspServer:
    """Owner of the sidecar: probe, start, check (restart with backoff), stop."""

    def __init__(self, config: Config, *, script: Path = SIDECAR,
                 on_restart: Callable[[str], None] | None = None) -> None:
        self._python = config.rtsp.python
        self._listen = config.rtsp.listen
        self._host = config.rtsp.host
        self._script = script
        self._paths = {camera.name: camera.rtsp_path for camera in config.cameras
                       if camera.enabled and camera.rtsp.enabled}
        self._feeds: dict[str, RtspFeed] = {}
        self._process: ManagedProcess | None = None
        self._restarter = Restarter("rtsp", backoff=Backoff(first=1.0, cap=30.0, healthy_after=60.0),
                                    on_restart=on_restart)
        self.available = False

    def start(self) -> bool:
        """Probe for GStreamer's RTSP server and start it; False (RTSP off, said once in the log) if missing."""
        if not self._paths:
            return False
        why = self._probe()
        if why is not None:
            log.warning("rtsp: RTSP output is off for camera(s) %s: %s (install the Debian packages %s, or set "
                        "rtsp.python to a python3 that has them)", ", ".join(self._paths), why, PACKAGES)
            return False
        self.available = True
        if not (self._host in LOOPBACK_HOSTS or self._host.startswith("127.")):
            log.warning("rtsp: serving %s on %s without a login: anyone who can reach it can watch",
                        ", ".join(self._paths), self._listen)
        self._feeds = {camera: RtspFeed(camera) for camera in self._paths}
        self._spawn()
        return True

    @property
    def restarts(self) -> int:
        return self._restarter.restarts

    def feed(self, camera: str) -> RtspFeed | None:
        """Where the camera's encoder sends its H.264; None when this camera has no RTSP output."""
        return self._feeds.get(camera)

    def check(self, now: float | None = None) -> None:
        """Restart the sidecar with backoff if it died."""
        if not self.available:
            return
        now = time.monotonic() if now is None else now
        process = self._process
        if process is not None and process.alive():
            return
        if process is not None:
            self._process = None
            process.stop(0.5)  # reap, and close our ends of its sockets
            if process.returncode == EXIT_UNAVAILABLE:
                self._disable(process)
                return
            delay = self._restarter.failed(f"server exited with {process.returncode}", now)
            log.error("rtsp: server exited with %s; restarting in %.0f s; its last output: %s",
                      process.returncode, delay, process.stderr_tail(lines=5).replace("\n", " | ") or "(none)")
        if not self._restarter.waiting(now):
            self._spawn()

    def stop(self, timeout: float = 3.0) -> None:
        # The server first: a send blocked on it then fails at once instead of running out its timeout.
        if self._process is not None:
            self._process.stop(timeout)
            self._process = None
        for feed in self._feeds.values():
            feed.close()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _probe(self) -> str | None:
        """None if the sidecar can load GStreamer's RTSP server, else why not."""
        try:
            result = subprocess.run([self._python, "-I", str(self._script), "--probe"], stdin=subprocess.DEVNULL,
                                    capture_output=True, timeout=PROBE_TIMEOUT, check=False)
        except FileNotFoundError:
            return f"interpreter {self._python} not found"
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"cannot run {self._python}: {exc}"
        if result.returncode == 0:
            return None
        said = result.stderr.decode("utf-8", "replace").strip().splitlines()
        return said[-1] if said else f"probe exited with {result.returncode}"

    def _spawn(self) -> None:
        ours, theirs = {}, {}
        for camera in self._paths:
            ours[camera], theirs[camera] = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        mounts = [(camera, path, theirs[camera].fileno()) for camera, path in self._paths.items()]
        argv = sidecar_args(self._python, self._listen, mounts, self._script)
        try:
            self._process = ManagedProcess(argv, name="rtsp-server", pass_fds=[fd for _, _, fd in mounts],
                                           on_line=_log_line)
        except OSError as exc:
            for sock in (*ours.values(), *theirs.values()):
                sock.close()
            self._restarter.failed(f"cannot start the server: {exc}")
            log.error("rtsp: cannot start the server with %s: %s", self._python, exc)
            return
        for camera, sock in theirs.items():
            sock.close()  # the child has its copy; ours must go so the child sees EOF when we close our end
            self._feeds[camera].connect(ours[camera])
        self._restarter.started()
        log.info("rtsp: server started on %s (pid %d) for camera(s) %s", self._listen, self._process.pid,
                 ", ".join(self._paths))

    def _disable(self, process: ManagedProcess) -> None:
        self.available = False
        for feed in self._feeds.values():
            feed.close()
        log.warning("rtsp: RTSP output is off: %s", process.stderr_tail(lines=1) or "GStreamer is unavailable")


def _log_line(line: str) -> None:
    """The sidecar's lines already name their camera ("camera door: ...") or say "rtsp: ..."."""
    log.info("%s", line if line.startswith(("camera ", "rtsp")) else f"rtsp: {line}")

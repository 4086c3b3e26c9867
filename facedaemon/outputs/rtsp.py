"""RTSP output: the H.264 that ffmpeg already encodes for HLS, served by GStreamer's RTSP server (a sidecar).

    ffmpeg ──tee──> HLS files
              └──> pipe ──RtspFeed (daemon: split into access units, never blocks ffmpeg)──> unix socket
                                                      ──> rtsp_server_gst.py (system python + GStreamer) ──> viewers

One sidecar process serves every camera (one mount each). The daemon owns it: probes once whether GStreamer's
RTSP server can load (if not, RTSP is off with one log line and nothing else changes), starts it, restarts it
with backoff when it dies, and stops it. Nothing on this path can stall ffmpeg: the feed always drains the pipe
and drops access units (until the next keyframe) when the sidecar cannot keep up or is down.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from facedaemon.children.backoff import Backoff
from facedaemon.children.process import ManagedProcess
from facedaemon.config.models import LOOPBACK_HOSTS, Config
from facedaemon.outputs.rtsp_server_gst import EXIT_UNAVAILABLE, HEADER, KEYFRAME

log = logging.getLogger(__name__)

SIDECAR = Path(__file__).with_name("rtsp_server_gst.py")
PROBE_TIMEOUT = 30.0  # GStreamer builds its plugin registry on first use: seconds on a Pi
SEND_TIMEOUT = 2.0  # a sidecar that takes nothing for this long is stuck: drop its socket (it then exits)
QUEUE_FRAMES = 60  # access units buffered per camera while the sidecar is briefly busy
READ_SIZE = 1 << 16
PIPE_SIZE = 1 << 20
PACKAGES = "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"

_START_CODE = b"\x00\x00\x01"
_NAL_IDR, _NAL_SEI, _NAL_SPS, _NAL_PPS, _NAL_AUD = 5, 6, 7, 8, 9
_VCL = (1, 5)
# NAL types that open a new access unit once the current one has a picture (H.264 7.4.1.2.3).
_AU_OPENERS = {_NAL_SEI, _NAL_SPS, _NAL_PPS, _NAL_AUD, 14, 15, 16, 17, 18}
_MAX_PENDING = 16 << 20  # bytes without a start code: not H.264, start over


# ---------------------------------------------------------------------------------------------- pure parts


@dataclass(frozen=True, slots=True)
class AccessUnit:
    data: bytes  # Annex-B: each NAL unit behind a 4-byte start code
    key: bool  # holds an IDR picture (and then its SPS/PPS)


class AccessUnitSplitter:
    """Cuts an Annex-B H.264 byte stream, fed in arbitrary chunks, into whole access units (frames).

    An access unit is emitted when the next one begins, so the newest frame waits one frame interval. Keyframes
    that arrive without SPS/PPS (encoders that send them once, out of band) get the last ones seen, so every
    keyframe is a place a new viewer can start.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._nals: list[bytes] = []
        self._has_picture = False
        self._sps: bytes | None = None
        self._pps: bytes | None = None

    def feed(self, data: bytes) -> list[AccessUnit]:
        self._pending += data
        units: list[AccessUnit] = []
        for nal in self._complete_nals():
            unit = self._add(nal)
            if unit is not None:
                units.append(unit)
        # The next frame's first header is enough to know this one is complete: do not wait for its end.
        head = self._pending[3:5]
        if self._has_picture and head and _opens_unit(head):
            unit = self._finish()
            if unit is not None:
                units.append(unit)
        return units

    def flush(self) -> list[AccessUnit]:
        """At end of stream: the last access unit (its final NAL unit ends with the stream)."""
        nal, self._pending = _strip_start(self._pending), b""
        unit = self._add(nal) if nal else None
        last = self._finish()
        return [u for u in (unit, last) if u is not None]

    def _complete_nals(self) -> list[bytes]:
        """NAL units (without start codes) that the next start code has closed; the rest stays pending."""
        buf = self._pending
        first = buf.find(_START_CODE)
        if first < 0:
            if len(buf) > _MAX_PENDING:
                self._pending = b""
            return []
        nals, start = [], first + 3
        while (end := buf.find(_START_CODE, start)) >= 0:
            nals.append(buf[start:end].rstrip(b"\x00"))  # zeros before a start code belong to it
            start = end + 3
        self._pending = buf[start - 3:]
        return [nal for nal in nals if nal]

    def _add(self, nal: bytes) -> AccessUnit | None:
        kind = nal[0] & 0x1F
        done = None
        if self._has_picture and _opens_unit(nal):
            done = self._finish()
        if kind == _NAL_SPS:
            self._sps = nal
        elif kind == _NAL_PPS:
            self._pps = nal
        self._nals.append(nal)
        self._has_picture = self._has_picture or kind in _VCL
        return done

    def _finish(self) -> AccessUnit | None:
        nals, self._nals, self._has_picture = self._nals, [], False
        kinds = [nal[0] & 0x1F for nal in nals]
        if not any(kind in _VCL for kind in kinds):
            return None
        key = _NAL_IDR in kinds
        if key and _NAL_SPS not in kinds and self._sps is not None and self._pps is not None:
            at = 1 if kinds[0] == _NAL_AUD else 0
            nals = [*nals[:at], self._sps, self._pps, *nals[at:]]
        return AccessUnit(b"".join(b"\x00\x00\x00\x01" + nal for nal in nals), key)


def _opens_unit(nal: bytes) -> bool:
    """Whether a NAL unit (at least its first two bytes) starts a new access unit after a picture."""
    kind = nal[0] & 0x1F
    if kind in _AU_OPENERS:
        return True
    return kind in _VCL and len(nal) > 1 and bool(nal[1] & 0x80)  # first_mb_in_slice == 0: a new picture


def _strip_start(buf: bytes) -> bytes:
    at = buf.find(_START_CODE)
    return buf[at + 3:].rstrip(b"\x00") if at >= 0 else b""


def frame_message(unit: AccessUnit) -> bytes:
    """One access unit as the sidecar reads it (rtsp_server_gst.read_message)."""
    return HEADER.pack(len(unit.data), KEYFRAME if unit.key else 0) + unit.data


def sidecar_args(python: str, listen: str, mounts: list[tuple[str, str, int]], script: Path = SIDECAR) -> list[str]:
    """The sidecar's command line; mounts are (camera, path, inherited socket fd)."""
    args = [python, "-I", str(script), "--listen", listen]  # -I: no user site or env that could shadow gi
    for camera, path, fd in mounts:
        args += ["--mount", camera, path, str(fd)]
    return args


# ---------------------------------------------------------------------------------------------- the feed


class RtspFeed:
    """One camera's access units from its ffmpeg to the sidecar. attach() is called by the encoder with the read
    end of each new ffmpeg's H.264 pipe; connect() by the server with each new sidecar's socket."""

    def __init__(self, camera: str, *, queue_frames: int = QUEUE_FRAMES, send_timeout: float = SEND_TIMEOUT) -> None:
        self.camera = camera
        self._queue: queue.Queue[AccessUnit] = queue.Queue(maxsize=queue_frames)
        self._send_timeout = send_timeout
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._need_key = True
        self._closed = threading.Event()
        self.sent = 0
        self.dropped = 0
        self._sender = threading.Thread(target=self._send_loop, name=f"rtsp-send-{camera}", daemon=True)
        self._sender.start()

    def attach(self, fd: int) -> None:
        """Take ownership of fd (a new ffmpeg's H.264 output) and drain it until that ffmpeg ends."""
        threading.Thread(target=self._read_loop, args=(fd,), name=f"rtsp-read-{self.camera}", daemon=True).start()

    def connect(self, sock: socket.socket | None) -> None:
        """Send to sock from now on (None: nowhere); the previous socket is closed."""
        with self._lock:
            old, self._sock, self._need_key = self._sock, sock, True
        if old is not None:
            old.close()

    def close(self) -> None:
        """Stop sending (readers keep draining ffmpeg's pipe until it ends, so ffmpeg never blocks)."""
        self._closed.set()
        self.connect(None)
        self._sender.join(timeout=2.0)

    def _read_loop(self, fd: int) -> None:
        splitter = AccessUnitSplitter()
        try:
            while chunk := os.read(fd, READ_SIZE):
                for unit in splitter.feed(chunk):
                    self._offer(unit)
        except OSError as exc:
            log.warning("camera %s: reading ffmpeg's H.264 for RTSP failed: %s", self.camera, exc)
        finally:
            os.close(fd)

    def _offer(self, unit: AccessUnit) -> None:
        if self._closed.is_set() or self._sock is None:
            return
        with self._lock:
            if self._need_key and not unit.key:
                self.dropped += 1
                return
            try:
                self._queue.put_nowait(unit)
                self._need_key = False
            except queue.Full:  # the sidecar is behind: skip to the next keyframe rather than smear the picture
                self._need_key = True
                self.dropped += 1

    def _send_loop(self) -> None:
        while not self._closed.is_set():
            try:
                unit = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            with self._lock:
                sock = self._sock
            if sock is None:
                continue
            try:
                sock.settimeout(self._send_timeout)
                sock.sendall(frame_message(unit))
                self.sent += 1
            except OSError as exc:
                # Stuck or gone: a half-sent message would put the stream out of step, so give up this socket.
                # Closing it makes a stuck sidecar exit; the server restarts it with a fresh one.
                if not self._closed.is_set():
                    log.warning("camera %s: RTSP hand-off failed (%s); dropping until the server is back",
                                self.camera, exc)
                with self._lock:
                    if self._sock is sock:
                        self._sock = None
                sock.close()


# ---------------------------------------------------------------------------------------------- the server


class RtspServer:
    """Owner of the sidecar: probe, start, check (restart with backoff), stop."""

    def __init__(self, config: Config, *, script: Path = SIDECAR) -> None:
        self._python = config.rtsp.python
        self._listen = config.rtsp.listen
        self._host = config.rtsp.host
        self._script = script
        self._paths = {camera.name: camera.rtsp_path for camera in config.cameras
                       if camera.enabled and camera.rtsp.enabled}
        self._feeds: dict[str, RtspFeed] = {}
        self._process: ManagedProcess | None = None
        self._backoff = Backoff(first=1.0, cap=30.0, healthy_after=60.0)
        self._retry_at = 0.0
        self.available = False
        self.restarts = 0

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
            delay = self._backoff.failed()
            self._retry_at = now + delay
            log.error("rtsp: server exited with %s; restarting in %.0f s; its last output: %s",
                      process.returncode, delay, process.stderr_tail(lines=5).replace("\n", " | ") or "(none)")
        if now >= self._retry_at:
            self.restarts += 1
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
            self._retry_at = time.monotonic() + self._backoff.failed()
            log.error("rtsp: cannot start the server with %s: %s", self._python, exc)
            return
        for camera, sock in theirs.items():
            sock.close()  # the child has its copy; ours must go so the child sees EOF when we close our end
            self._feeds[camera].connect(ours[camera])
        self._backoff.started()
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

"""One camera's H.264 from ffmpeg's second output (a pipe) to the RTSP sidecar's socket: split into access units,
queued, never blocking ffmpeg (drops until the next keyframe when the sidecar is slow or down). Daemon process.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading

from facedaemon.outputs.rtsp.annexb import AccessUnit, AccessUnitSplitter, frame_message

log = logging.getLogger(__name__)


SEND_TIMEOUT = 2.0  # a sidecar that takes nothing for this long is stuck: drop its socket (it then exits)
QUEUE_FRAMES = 60  # access units buffered per camera while the sidecar is briefly busy
READ_SIZE = 1 << 16


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

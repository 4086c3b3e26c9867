"""The live path's fan-out (daemon process): each camera's fMP4 from ffmpeg's live pipe, cut into frames, to every
viewer that a web worker connects to runtime_dir/live.sock.

    ffmpeg ──pipe──> LiveFeed (reader thread per ffmpeg run: FragmentSplitter) ──> LiveHub ──unix socket──> web
                                                                                 (one thread, non-blocking
                                                                                  sends, a ViewerQueue each)

Nothing here can slow ffmpeg or the camera: the reader always drains the pipe, and each viewer's socket is written
without blocking; a viewer whose socket stays full loses frames (its own) and restarts at a keyframe.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from facedaemon.outputs.live.boxes import FragmentSplitter, Piece, StreamError
from facedaemon.outputs.live.fanout import MAX_QUEUED, ViewerQueue
from facedaemon.runtime import live as contract

log = logging.getLogger(__name__)

READ_SIZE = 1 << 16
MAX_VIEWERS = 20  # config live.max_viewers
FULL_LOG_SECONDS = 60.0  # a camera at its viewer cap is logged at most this often
SEND_BUFFER = 64 * 1024  # per viewer beyond its queue (Linux doubles it): small, or a slow viewer's delay hides there
MAX_GOP = 300  # frames kept since the last keyframe for new viewers (10 s at 30 fps; more: keyframes are lost)


OnViewers = Callable[[str, int], None]  # camera, viewers now
OnFrames = Callable[[str, int, int], None]  # camera, fragments sent, fragments dropped (since the last call)


@dataclass(eq=False)
class _Viewer:
    sock: socket.socket
    camera: str | None = None  # None until its request line arrived
    request: bytes = b""
    queue: ViewerQueue = field(default_factory=ViewerQueue)
    started: bool = False  # has its init segment
    reported: tuple[int, int] = (0, 0)  # sent, dropped already counted


@dataclass(eq=False)
class _Camera:
    init: Piece | None = None
    gop: list[Piece] = field(default_factory=list)
    run: int = 0  # which ffmpeg run feeds it: a late end of an old run must not close the new run's viewers


class LiveFeed:
    """One camera's sink for ffmpeg's live pipe (the Encoder's live_sink): attach() owns each run's read end."""

    def __init__(self, camera: str, hub: LiveHub) -> None:
        self.camera = camera
        self._hub = hub

    def attach(self, fd: int) -> None:
        run = self._hub.new_run(self.camera)
        threading.Thread(target=self._read_loop, args=(fd, run), name=f"live-read-{self.camera}",
                         daemon=True).start()

    def _read_loop(self, fd: int, run: int) -> None:
        splitter = FragmentSplitter()
        broken = False
        try:
            while chunk := os.read(fd, READ_SIZE):
                if broken:
                    continue  # keep draining: ffmpeg must never block on this pipe
                try:
                    for piece in splitter.feed(chunk):
                        self._hub.publish(self.camera, run, piece)
                except StreamError as exc:
                    log.warning("camera %s: live stream from ffmpeg is unreadable (%s); live view off until "
                                "ffmpeg restarts", self.camera, exc)
                    broken = True
                    self._hub.end_run(self.camera, run)
        except OSError as exc:
            log.warning("camera %s: reading ffmpeg's live stream failed: %s", self.camera, exc)
        finally:
            os.close(fd)
            self._hub.end_run(self.camera, run)


class LiveHub:
    """Serves runtime_dir/live.sock: one thread, every viewer of every camera."""

    def __init__(self, runtime_dir: Path, *, on_viewers: OnViewers | None = None, on_frames: OnFrames | None = None,
                 max_queued: int = MAX_QUEUED, max_viewers: int = MAX_VIEWERS) -> None:
        self.path = contract.socket_path(runtime_dir)
        self.max_viewers = max_viewers  # per camera; the arbiter sets it again on a reload
        self._full_said: dict[str, float] = {}  # camera -> when "full" was last logged (monotonic)
        self._on_viewers = on_viewers or (lambda _camera, _count: None)
        self._on_frames = on_frames or (lambda _camera, _sent, _dropped: None)
        self._max_queued = max_queued
        self._lock = threading.Lock()
        self._cameras: dict[str, _Camera] = {}
        self._viewers: set[_Viewer] = set()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    # -- owner ---------------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.path.unlink(missing_ok=True)  # a previous daemon's socket
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        contract.bind(listener, self.path)
        listener.listen(128)
        listener.setblocking(False)
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._loop, name="live-hub", daemon=True)
        self._thread.start()
        log.info("live: serving low-latency streams on %s", self.path)

    def feed(self, camera: str) -> LiveFeed:
        with self._lock:
            self._cameras.setdefault(camera, _Camera())
        return LiveFeed(camera, self)

    def remove(self, camera: str) -> None:
        """The camera stopped (or left the config): its viewers' streams end."""
        with self._lock:
            self._cameras.pop(camera, None)
            self._close_viewers(camera)

    def stop(self) -> None:
        self._closed.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with self._lock:
            for viewer in list(self._viewers):
                self._drop(viewer)
        if self._listener is not None:
            self._listener.close()
        self.path.unlink(missing_ok=True)
        self._selector.close()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)

    # -- from the feeds' reader threads ---------------------------------------------------------------------------
    def new_run(self, camera: str) -> int:
        with self._lock:
            state = self._cameras.setdefault(camera, _Camera())
            state.run += 1
            return state.run

    def end_run(self, camera: str, run: int) -> None:
        """That ffmpeg run ended: its viewers' streams end (the page reconnects and gets the next run's)."""
        with self._lock:
            state = self._cameras.get(camera)
            if state is None or state.run != run:
                return
            state.init, state.gop = None, []
            self._close_viewers(camera, started_only=True)

    def publish(self, camera: str, run: int, piece: Piece) -> None:
        with self._lock:
            state = self._cameras.get(camera)
            if state is None or state.run != run:
                return
            if piece.kind == "init":
                self._close_viewers(camera, started_only=True)  # they hold the old run's init
                state.init, state.gop = piece, []
            else:
                if piece.key or len(state.gop) >= MAX_GOP:
                    state.gop = []  # a new list: viewers that started copied the old one
                state.gop.append(piece)
            for viewer in self._viewers:
                if viewer.camera == camera:
                    self._give(viewer, state, piece)
        self._wake()

    # -- hub thread -------------------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._closed.is_set():
            try:
                self._turn()
            except Exception:  # a bug here must not end every live view for good: log it, keep serving
                log.exception("live: hub error")
                self._closed.wait(0.5)

    def _turn(self) -> None:
        for key, events in self._selector.select(timeout=1.0):
            if key.fileobj is self._listener:
                self._accept()
            elif key.fileobj == self._wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
            else:
                self._on_viewer(key.data, events)
        with self._lock:
            for viewer in list(self._viewers):
                if viewer.queue.pending():
                    self._flush(viewer)

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            sock, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        viewer = _Viewer(sock, queue=ViewerQueue(max_queued=self._max_queued))
        with self._lock:
            self._viewers.add(viewer)
        self._selector.register(sock, selectors.EVENT_READ, viewer)

    def _on_viewer(self, viewer: _Viewer, events: int) -> None:
        if events & selectors.EVENT_READ:
            try:
                data = viewer.sock.recv(contract.MAX_REQUEST)
            except BlockingIOError:
                data = None
            except OSError:
                data = b""
            with self._lock:
                if viewer not in self._viewers:
                    return
                if data == b"":  # the web worker hung up: its viewer left
                    self._drop(viewer)
                    return
                if data and viewer.camera is None:
                    self._on_request(viewer, data)

    def _on_request(self, viewer: _Viewer, data: bytes) -> None:
        viewer.request += data
        camera = contract.parse_request(viewer.request)
        if camera is None:
            if b"\n" in viewer.request or len(viewer.request) >= contract.MAX_REQUEST:
                self._refuse(viewer, "bad request")
            return
        state = self._cameras.get(camera)
        if state is None:
            self._refuse(viewer, "no such camera on the live path")
            return
        if self.max_viewers == 0:
            self._refuse(viewer, "the live path is off (live.max_viewers: 0); the page plays HLS")
            return
        watching = self._count(camera)
        if watching >= self.max_viewers:
            self._refuse(viewer, f"camera {camera} has {watching} live viewers, live.max_viewers allows "
                                 f"{self.max_viewers}; the page plays HLS")
            self._say_full(camera, watching)
            return
        viewer.camera = camera
        with contextlib.suppress(OSError):
            viewer.sock.send(contract.OK)
        self._on_viewers(camera, self._count(camera))
        if state.init is not None:
            self._begin(viewer, state)

    # -- under the lock -------------------------------------------------------------------------------------------
    def _give(self, viewer: _Viewer, state: _Camera, piece: Piece) -> None:
        if piece.kind == "init":
            self._begin(viewer, state)
        elif viewer.started:
            viewer.queue.offer(piece)
            self._account(viewer)

    def _begin(self, viewer: _Viewer, state: _Camera) -> None:
        assert state.init is not None
        viewer.queue.start(state.init, state.gop)
        viewer.started = True

    def _flush(self, viewer: _Viewer) -> None:
        while chunk := viewer.queue.chunk():
            try:
                sent = viewer.sock.send(chunk)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self._drop(viewer)
                return
            viewer.queue.wrote(sent)
        self._account(viewer)
        wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if viewer.queue.pending() else 0)
        if self._selector.get_key(viewer.sock).events != wanted:
            self._selector.modify(viewer.sock, wanted, viewer)

    def _account(self, viewer: _Viewer) -> None:
        sent, dropped = viewer.queue.sent, viewer.queue.dropped
        if viewer.camera is not None and (sent, dropped) != viewer.reported:
            self._on_frames(viewer.camera, sent - viewer.reported[0], dropped - viewer.reported[1])
            viewer.reported = (sent, dropped)

    def _refuse(self, viewer: _Viewer, why: str) -> None:
        with contextlib.suppress(OSError):
            viewer.sock.send(contract.REFUSED + why.encode() + b"\n")
        self._drop(viewer)

    def _close_viewers(self, camera: str, *, started_only: bool = False) -> None:
        for viewer in list(self._viewers):
            if viewer.camera == camera and (viewer.started or not started_only):
                self._drop(viewer)

    def _drop(self, viewer: _Viewer) -> None:
        if viewer not in self._viewers:
            return
        self._viewers.discard(viewer)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(viewer.sock)
        viewer.sock.close()
        if viewer.camera is not None:
            self._account(viewer)
            self._on_viewers(viewer.camera, self._count(viewer.camera))

    def _say_full(self, camera: str, watching: int) -> None:
        now = time.monotonic()
        if now - self._full_said.get(camera, float("-inf")) >= FULL_LOG_SECONDS:
            self._full_said[camera] = now
            log.warning("live: camera %s: %d viewers, the most live.max_viewers allows; more are sent to HLS",
                        camera, watching)

    def _count(self, camera: str) -> int:
        return sum(1 for viewer in self._viewers if viewer.camera == camera)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"\0")


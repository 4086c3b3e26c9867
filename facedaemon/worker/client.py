"""Owner of the recognition child process (face encoding holds the GIL, so it cannot share our process).

Frames go to the child through one SharedMemory block per camera; requests and results are small messages.
Each child gets fresh queues: a child killed while holding a queue's lock would otherwise wedge its successor.
What the cameras read back (results, requests in flight, counts) is on the result board (board.py).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from facedaemon import yuv
from facedaemon.children.backoff import Backoff
from facedaemon.children.restarter import Restarter
from facedaemon.worker.board import ResultBoard, WorkerStats
from facedaemon.worker.entry import run_child
from facedaemon.worker.frames import FrameBlocks
from facedaemon.worker.logs import LogForwarder
from facedaemon.worker.protocol import ChildSettings, Request

if TYPE_CHECKING:
    from facedaemon.config.models import Config
    from facedaemon.faces.types import Box, RecognitionResult
    from facedaemon.history.visits import Thumb

log = logging.getLogger(__name__)

READ_POLL_SECONDS = 0.2
CV2_IMPORT_WAIT_SECONDS = 5.0  # OpenCV's loader puts sys.path back within ~30 ms of its start


@dataclass
class _Generation:
    """One child process and everything that dies with it."""

    process: Any
    requests: Any
    results: Any
    logs: LogForwarder
    reader: threading.Thread | None = None
    halt: threading.Event = field(default_factory=threading.Event)
    ready: bool = False


class RecognitionWorker:
    def __init__(
        self,
        config: Config,
        *,
        on_result: Callable[[RecognitionResult], None] | None = None,
        backoff: Backoff | None = None,
        stall_seconds: float = 30.0,
        on_restart: Callable[[str], None] | None = None,
    ) -> None:
        self._settings = child_settings(config)
        self._on_result = on_result
        self._backoff = backoff
        self._on_restart = on_restart
        self._restarter = Restarter("worker", backoff=backoff or Backoff(), on_restart=on_restart)
        self._stall_seconds = stall_seconds
        self._ctx = multiprocessing.get_context("spawn")
        self._life = threading.RLock()  # start / check / stop
        self._lock = threading.Lock()  # the frame blocks, shared with camera threads; a submit holds it throughout
        self._gen: _Generation | None = None
        self._stopping = False
        self._frames = FrameBlocks()  # under _lock
        self._board = ResultBoard()
        self.gallery: dict | None = None  # the child's gallery summary once ready
        self.on_shot: Callable[[Thumb], None] | None = None  # best-shot thumbnails, for the history

    # -- lifecycle -------------------------------------------------------------------------------------------

    def reconfigure(self, config: Config, timeout: float = 3.0) -> None:
        """A reload changed recognition: a new child on the new settings behind the same client, so the cameras
        keep reading this result board. Counts and backoff start afresh, as for a new worker."""
        self.stop(timeout=timeout)
        with self._life:
            self._settings = child_settings(config)
            self._restarter = Restarter("worker", backoff=self._backoff or Backoff(), on_restart=self._on_restart)
            self._board.reset()
            self.gallery = None
        self.start()

    def start(self) -> None:
        with self._life:
            self._stopping = False
            gen = self._gen
            if gen is not None and gen.process.is_alive():
                return
            if gen is not None:  # died and not yet noticed by check()
                self._gen = None
                self._close_generation(gen)
                self._board.drop_in_flight()
            self._restarter.retry_now()
            self._spawn()

    def check(self) -> None:
        """Restart a dead or stalled child (with backoff); called periodically by the arbiter."""
        with self._life:
            if self._stopping:
                return
            gen = self._gen
            if gen is not None and gen.process.is_alive():
                if not self._stalled():
                    return
                log.warning("recognition: no result for %.0f s; killing the worker", self._stall_seconds)
                _end_process(gen.process, ask=None, deadline=time.monotonic() + 2.0)
            if gen is not None:
                self._bury(gen)
            if self._restarter.due():
                self._restarter.retry_now()
                try:
                    self._spawn()
                except OSError as exc:
                    self._restarter.failed(f"cannot start worker: {exc}")
                    log.error("recognition: cannot start worker: %s", exc)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the child to exit, then terminate, then kill; bounded by ~timeout. Safe in any state."""
        deadline = time.monotonic() + timeout
        with self._life:
            self._stopping = True
            self._restarter.retry_now()
            gen, self._gen = self._gen, None
            if gen is not None:
                _end_process(gen.process, ask=gen.requests, deadline=deadline)
                self._close_generation(gen)
            with self._lock:
                self._frames.release_all()
            self._board.drop_in_flight()

    # -- state -----------------------------------------------------------------------------------------------

    def alive(self) -> bool:
        gen = self._gen
        return gen is not None and gen.process.is_alive()

    def ready(self) -> bool:
        gen = self._gen
        return gen is not None and gen.ready and gen.process.is_alive()

    @property
    def pid(self) -> int | None:
        gen = self._gen
        return gen.process.pid if gen is not None else None

    @property
    def restarts(self) -> int:
        return self._restarter.restarts

    def stats(self) -> WorkerStats:
        return self._board.stats(restarts=self._restarter.restarts)

    def latest(self, camera: str) -> RecognitionResult | None:
        """The newest result for the camera (read once per output frame)."""
        return self._board.latest(camera)

    def in_flight(self, camera: str) -> bool:
        return self._board.in_flight(camera)

    def shared_memory_names(self) -> list[str]:
        with self._lock:
            return self._frames.names()

    # -- requests --------------------------------------------------------------------------------------------

    def submit(self, camera: str, frame: np.ndarray, frame_time: float, hint: Box | None = None) -> bool:
        """Hand an I420 frame (see yuv.py) to the child; False at once if busy for this camera or not ready.

        The child converts it to BGR: that work is off the camera's thread, and half the bytes are copied.
        hint: where the picture changed, when that is why the frame is sent (the child looks there first)."""
        if not yuv.is_i420(frame):
            got = f"{frame.dtype} {frame.shape}"
            raise ValueError(f"camera {camera}: expected an I420 frame (uint8, H*3/2 x W, even sizes), got {got}")
        gen = self._gen
        with self._lock:  # the block of a camera with a request in flight is the child's until it answers
            if gen is None or not gen.ready or self._board.in_flight(camera):
                self._board.refused()
                return False
            block = self._frames.put(camera, frame)
            self._board.sent(camera)
        try:
            gen.requests.put(Request(camera, block.name, tuple(frame.shape), frame_time, hint))
        except (ValueError, AssertionError, OSError):  # the queue closed: stop() or a restart raced us
            self._board.unsent(camera)
            return False
        return True

    def _stalled(self) -> bool:
        waited = self._board.waited()
        return waited is not None and waited > self._stall_seconds

    # -- child generations -----------------------------------------------------------------------------------

    def _spawn(self) -> None:
        # Read by the child's OpenBLAS at import: its spare thread spins after every gallery match, stealing the
        # core that capture and ffmpeg need; one thread matches 100,000 faces within the 5 ms budget anyway.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        log_queue = self._ctx.Queue()
        gen = _Generation(
            process=None,
            requests=self._ctx.Queue(),
            results=self._ctx.Queue(),
            logs=LogForwarder(log_queue),
        )
        gen.process = self._ctx.Process(
            target=run_child,
            args=(self._settings, gen.requests, gen.results, log_queue),
            name="facedaemon-recognition",
            daemon=True,
        )
        gen.logs.start()
        try:
            _await_cv2_import()
            gen.process.start()
        except BaseException:
            self._close_generation(gen)
            raise
        gen.reader = threading.Thread(target=self._read, args=(gen,), name="recognition-results", daemon=True)
        gen.reader.start()
        self._gen = gen
        self._restarter.started()
        log.info("recognition: worker started (pid %s)", gen.process.pid)

    def _bury(self, gen: _Generation) -> None:
        """Forget a dead child: drop its in-flight requests so cameras can submit again; plan a restart."""
        if self._gen is gen:
            self._gen = None
            self._board.drop_in_flight(abandoned=True)
            self._close_generation(gen)
            delay = self._restarter.failed(f"worker exited with code {gen.process.exitcode}")
            log.warning(
                "recognition: worker (pid %s) exited with code %s; restarting in %.1f s",
                gen.process.pid, gen.process.exitcode, delay,
            )

    def _close_generation(self, gen: _Generation) -> None:
        gen.ready = False
        gen.halt.set()
        if gen.reader is not None and gen.reader is not threading.current_thread():
            gen.reader.join(timeout=0.5)
        gen.logs.stop(timeout=0.5)
        for q in (gen.requests, gen.results):
            q.close()
            # Do not let interpreter exit wait on a feeder thread whose reader is gone.
            q.cancel_join_thread()

    def _read(self, gen: _Generation) -> None:
        while not gen.halt.is_set():
            try:
                message = gen.results.get(timeout=READ_POLL_SECONDS)
            except queue.Empty:
                continue
            except (EOFError, OSError, ValueError):
                return  # the queue was closed under us or the child died mid-message
            except Exception as exc:  # a garbled message: check() notices the dead or stalled child
                log.warning("recognition: unreadable message from the worker: %s", exc)
                return
            self._dispatch(gen, message)

    def _dispatch(self, gen: _Generation, message: tuple) -> None:
        kind = message[0]
        if kind == "ready":
            self.gallery = message[1]
            gen.ready = True
            log.info(
                "recognition: ready, %d people from %d images (%d skipped)",
                len(message[1]["people"]), message[1]["images"], len(message[1]["skipped"]),
            )
        elif kind == "result":
            self._deliver(message[1])
        elif kind == "shot":
            if self.on_shot is not None:
                self.on_shot(message[1])
        elif kind == "error":
            camera = message[1]
            self._board.failed(camera)
            log.warning("camera %s: recognition failed: %s", camera, message[2])

    def _deliver(self, result: RecognitionResult) -> None:
        self._board.post(result)
        if self._on_result is not None:
            try:
                self._on_result(result)
            except Exception:
                log.exception("camera %s: on_result callback failed", result.camera)


def _end_process(process: Any, *, ask: Any, deadline: float) -> None:
    """Ask (sentinel on the request queue), wait, SIGTERM, wait, SIGKILL, reap: at most deadline + 1 s."""
    if process.pid is None:
        return  # never started
    if ask is not None and process.is_alive():
        with contextlib.suppress(Exception):
            ask.put_nowait(None)
        process.join(max(0.0, (deadline - time.monotonic()) * 0.6))
    if process.is_alive():
        process.terminate()
        process.join(max(0.1, deadline - time.monotonic()))
    if process.is_alive():
        process.kill()
        process.join(1.0)
    if process.is_alive():
        log.error("recognition: worker pid %s survived SIGKILL", process.pid)


def child_settings(config: Config) -> ChildSettings:
    return ChildSettings(
        faces_dir=config.faces_dir,
        cache_dir=config.encodings_cache_dir,
        recognition=config.recognition,
        runtime_dir=config.runtime_dir,
        unknowns_dir=config.unknowns_dir if config.unknowns.save else None,
        history=config.history.enabled,
    )


def _await_cv2_import(deadline: float = CV2_IMPORT_WAIT_SECONDS) -> None:
    """OpenCV's loader puts its own folder first on sys.path while `import cv2` runs (opencv issue 18502), and a
    spawned child starts from the parent's sys.path as it is at start(): a worker spawned while another thread ran
    the first `import cv2` found cv2/typing for `typing` and died at start (chaos soaks, twice). The import lock is
    not enough: the native module sits in sys.modules, not marked as initializing, for the ~10 ms of its own start,
    and an `import cv2` then returns at once. So wait for the path itself to be put back."""
    import cv2

    folder = os.path.dirname(os.path.realpath(cv2.__file__))
    waited_until = time.monotonic() + deadline
    while any(_inside(entry, folder) for entry in sys.path if entry):
        if time.monotonic() > waited_until:
            log.warning("recognition: OpenCV's folder %s is still on sys.path; starting the worker anyway", folder)
            return
        time.sleep(0.005)


def _inside(entry: str, folder: str) -> bool:
    path = os.path.realpath(entry)
    return path == folder or path.startswith(folder + os.sep)

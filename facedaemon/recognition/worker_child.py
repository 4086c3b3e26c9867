"""The recognition child process: loads the models and gallery, then serves one frame request at a time.

Messages (all small; frames travel through shared memory):
  parent → child: Request, or None to stop.
  child → parent: ("ready", summary dict) | ("result", RecognitionResult) | ("error", camera, text).
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import multiprocessing
import queue
import signal
import time
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from pathlib import Path
from typing import Any

import numpy as np

from facedaemon.config.models import RecognitionConfig
from facedaemon.recognition.matcher import KnownFaces, match_many
from facedaemon.recognition.tracker import Tracker, needs_encoding
from facedaemon.recognition.types import FaceResult, RecognitionResult

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # how often an idle child checks that its parent is still there


@dataclass(frozen=True)
class ChildSettings:
    faces_dir: Path
    cache_dir: Path | None
    recognition: RecognitionConfig
    log_level: str = "info"
    expire_seconds: float = 1.0  # a track unseen this long is forgotten (a face coming back is encoded again)
    coast_seconds: float = 0.6  # a named track the detector missed is still reported this long


@dataclass(frozen=True)
class Request:
    camera: str
    shm_name: str
    shape: tuple[int, int, int]
    frame_time: float


@dataclass
class CameraState:
    tracker: Tracker
    shape: tuple[int, int, int] | None = None


@dataclass
class Child:
    settings: ChildSettings
    known: KnownFaces = field(default_factory=KnownFaces)
    cameras: dict[str, CameraState] = field(default_factory=dict)
    blocks: dict[str, shared_memory.SharedMemory] = field(default_factory=dict)

    def frame(self, request: Request) -> np.ndarray:
        """A view of the request's frame; the parent does not touch that block until we answer."""
        block = self.blocks.get(request.camera)
        if block is None or block.name != request.shm_name:
            if block is not None:
                block.close()
            block = shared_memory.SharedMemory(name=request.shm_name)
            self.blocks[request.camera] = block
        return np.ndarray(request.shape, dtype=np.uint8, buffer=block.buf)

    def camera(self, request: Request) -> CameraState:
        state = self.cameras.get(request.camera)
        if state is None or state.shape != request.shape:
            # A new resolution makes old boxes meaningless: start the camera's tracks afresh.
            state = CameraState(Tracker(expire_seconds=self.settings.expire_seconds), request.shape)
            self.cameras[request.camera] = state
        return state

    def recognise(self, request: Request) -> RecognitionResult:
        from facedaemon.recognition import engine

        started = time.perf_counter()
        rec = self.settings.recognition
        frame = self.frame(request)
        small = engine.prepare(frame, rec.scale)
        found = engine.detect(small, rec.model, rec.upsample)
        boxes = engine.scale_boxes(found, frame.shape[1] / small.shape[1], frame.shape)
        boxes = [b for b in boxes if b[2] > b[0] and b[1] > b[3]]
        now = time.monotonic()
        tracker = self.camera(request).tracker
        tracks = tracker.update(boxes, now)
        due = [t for t in tracks if needs_encoding(t, now, rec.recheck_seconds)]
        if due:
            encodings = engine.encode(engine.to_rgb(frame), [t.box for t in due])
            for track, m in zip(due, match_many(self.known, encodings, rec.tolerance), strict=True):
                track.vote(m.name, m.distance, m.confidence, now)
        del frame  # release the shared buffer before we answer
        shown = tracks + tracker.coasting(tracks, now, self.settings.coast_seconds)
        faces = tuple(
            FaceResult(t.name, t.evidence.confidence, t.evidence.distance, t.box, t.id) for t in shown
        )
        elapsed = time.perf_counter() - started
        return RecognitionResult(request.camera, request.frame_time, faces, elapsed, len(due))

    def close(self) -> None:
        for block in self.blocks.values():
            # BufferError: a view is still alive; the OS unmaps at exit anyway.
            with contextlib.suppress(BufferError):
                block.close()
        self.blocks.clear()


def child_main(settings: ChildSettings, requests: Any, results: Any, log_queue: Any) -> None:
    """Entry point of the spawned process."""
    # Ctrl-C reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _log_to_parent(log_queue, settings.log_level)
    child = Child(settings)
    try:
        child.known, summary = _load(settings)
        results.put(("ready", summary))
        _serve(child, requests, results)
    finally:
        child.close()


def _log_to_parent(log_queue: Any, level: str) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.handlers.QueueHandler(log_queue))
    root.setLevel(level.upper())


def _load(settings: ChildSettings) -> tuple[KnownFaces, dict]:
    from facedaemon.recognition import engine
    from facedaemon.recognition.gallery import GalleryError, load_gallery

    engine.face_recognition_module()  # load dlib's models before we report ready
    try:
        model = settings.recognition.model
        known, summary = load_gallery(settings.faces_dir, settings.cache_dir, model=model)
    except GalleryError as exc:
        log.error("recognition: %s; every face will be Unknown", exc)
        return KnownFaces(), {"people": [], "images": 0, "skipped": [], "encoded": 0, "cached": 0}
    return known, {
        "people": list(summary.people),
        "images": summary.images,
        "skipped": [(str(path), reason) for path, reason in summary.skipped],
        "encoded": summary.encoded,
        "cached": summary.cached,
    }


def _serve(child: Child, requests: Any, results: Any) -> None:
    parent = multiprocessing.parent_process()
    while True:
        try:
            request = requests.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                log.warning("recognition: parent process is gone; exiting")
                return
            continue
        if request is None:
            return
        try:
            results.put(("result", child.recognise(request)))
        except Exception as exc:  # one bad frame must not take the worker down
            log.exception("camera %s: recognition failed", request.camera)
            results.put(("error", request.camera, f"{type(exc).__name__}: {exc}"))

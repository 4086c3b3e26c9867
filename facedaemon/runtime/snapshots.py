"""Snapshots of arrivals: a small JPEG of the annotated output frame (privacy blur applied) at each "recognised"
event, for notifications (Home Assistant, webhooks), served behind the login at /api/snapshots/<camera>/<id>.jpg.

The daemon writes runtime_dir/snapshots/<camera>/<id>.jpg (atomically) from a thread of its own; the web app
(another process) only reads them. Bounded: at most `keep` files and none older than `retention`; a person's
snapshots go when they are forgotten; the folder starts empty with each run (as the recent crops do).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from facedaemon.atomic_file import write_atomic
from facedaemon.config.events import SnapshotsConfig
from facedaemon.safe_path import regular_file_inside

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

SNAPSHOTS_DIR = "snapshots"
SNAPSHOT_ID = r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}"
JPEG_QUALITY = 80  # a notification picture: small beats sharp
QUEUE = 8  # frames waiting to be encoded; arrivals are rare, a burst beyond this goes without a picture

Done = Callable[[str | None, bytes | None], None]  # (URL path, JPEG) or (None, None) when no picture was made
Grab = Callable[[str, Callable[["np.ndarray"], None]], bool]  # camera, callback(next annotated frame): asked?


@dataclass(frozen=True)
class Snapshot:
    camera: str
    id: str
    name: str
    time: float


def url_path(camera: str, snapshot_id: str) -> str:
    return f"/api/snapshots/{camera}/{snapshot_id}.jpg"


def snapshot_file(runtime_dir: Path, camera: str, snapshot_id: str) -> Path | None:
    """runtime_dir/snapshots/<camera>/<id>.jpg if it is a regular file there (callers check the id's form)."""
    return regular_file_inside(runtime_dir, SNAPSHOTS_DIR, camera, f"{snapshot_id}.jpg")


def encode(image: np.ndarray, width: int) -> bytes:
    import cv2

    height, wide = image.shape[:2]
    if wide > width:
        image = cv2.resize(image, (width, max(1, round(height * width / wide))), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return jpeg.tobytes()


class SnapshotStore:
    """take() asks a camera for its next annotated frame; a thread encodes and writes it and calls `done`."""

    def __init__(self, config: SnapshotsConfig, runtime_dir: Path, grab: Grab) -> None:
        self.config = config
        self.folder = runtime_dir / SNAPSHOTS_DIR
        self._grab = grab
        self._queue: queue.Queue[tuple[np.ndarray, Snapshot, Done] | None] = queue.Queue(QUEUE)
        self._kept: list[Snapshot] = []  # oldest first
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)  # pictures of an earlier run: their events are gone
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._thread = threading.Thread(target=self._run, name="events-snapshots", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def take(self, camera: str, name: str, when: float, done: Done) -> bool:
        """Never blocks, never calls `done` on the caller's thread; False when the camera is not running (then
        `done` never comes; it may also not come when the camera stops before its next frame)."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
        shot = Snapshot(camera, f"{stamp}-{secrets.token_hex(4)}", name, when)

        def frame(image: np.ndarray) -> None:  # on the camera's output thread: hand over, no encoding here
            try:
                self._queue.put_nowait((image, shot, done))
            except queue.Full:
                log.warning("camera %s: snapshot of %s skipped: %d pictures already waiting", camera, name, QUEUE)

        if not self._grab(camera, frame):
            log.debug("camera %s: no snapshot of %s (camera not running)", camera, name)
            return False
        return True

    def forget(self, names: Iterable[str]) -> int:
        """Delete every snapshot of these people (erasure); returns how many."""
        gone = set(names)
        with self._lock:
            dropped = [shot for shot in self._kept if shot.name in gone]
            self._kept = [shot for shot in self._kept if shot.name not in gone]
        for shot in dropped:
            self._unlink(shot)
        return len(dropped)

    def prune(self, now: float | None = None) -> None:
        """Past `retention`, or beyond `keep`: deleted, oldest first."""
        now = time.time() if now is None else now
        with self._lock:
            old = [shot for shot in self._kept if now - shot.time > self.config.retention]
            kept = [shot for shot in self._kept if shot not in old]
            old += kept[:max(0, len(kept) - self.config.keep)]
            self._kept = kept[max(0, len(kept) - self.config.keep):]
        for shot in old:
            self._unlink(shot)

    def _unlink(self, shot: Snapshot) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.folder / shot.camera / f"{shot.id}.jpg").unlink()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            image, shot, done = item
            try:
                jpeg = self._write(image, shot)
            except Exception as exc:  # disk full, cv2.error: this picture is lost, the thread and the event are not
                log.warning("camera %s: cannot write the snapshot of %s: %s", shot.camera, shot.name, exc)
                done(None, None)
                continue
            done(url_path(shot.camera, shot.id), jpeg)

    def _write(self, image: np.ndarray, shot: Snapshot) -> bytes:
        jpeg = encode(image, self.config.width)
        folder = self.folder / shot.camera
        folder.mkdir(exist_ok=True, mode=0o700)
        write_atomic(folder / f"{shot.id}.jpg", jpeg, durable=False)  # tmpfs under systemd; lost with the run
        with self._lock:
            self._kept.append(shot)
        self.prune()
        return jpeg

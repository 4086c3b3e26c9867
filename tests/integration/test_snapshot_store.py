"""The snapshot store on real files with real JPEG encoding: bounded by count and age, erased per person, written
atomically, and a camera that gives no frame costs nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np

from facedaemon.config.events import SnapshotsConfig
from facedaemon.runtime.snapshots import SNAPSHOTS_DIR, SnapshotStore, snapshot_file
from tests.polling import wait


def frames_from(camera_running: bool = True):
    """A grab() that answers from another thread, as a camera's output thread does."""
    frame = np.random.default_rng(7).integers(0, 255, (720, 1280, 3), np.uint8)

    def grab(camera: str, callback) -> bool:
        if camera_running:
            threading.Thread(target=callback, args=(frame.copy(),), daemon=True).start()
        return camera_running

    return grab


def take(store: SnapshotStore, name: str, when: float) -> tuple[str | None, bytes | None]:
    got: list[tuple[str | None, bytes | None]] = []
    store.take("door", name, when, lambda path, jpeg: got.append((path, jpeg)))
    assert wait(lambda: got), "no snapshot came back"
    return got[0]


def files(runtime: Path) -> list[str]:
    return sorted(p.name for p in (runtime / SNAPSHOTS_DIR / "door").iterdir())


def test_count_age_and_erasure_bound_the_folder(tmp_path):
    store = SnapshotStore(SnapshotsConfig(keep=3, retention=3600), tmp_path, frames_from())
    (tmp_path / SNAPSHOTS_DIR / "door").mkdir(parents=True)
    (tmp_path / SNAPSHOTS_DIR / "door" / "old-run.jpg").write_bytes(b"x")  # a previous run's picture
    store.start()
    start = time.time()
    try:
        assert not (tmp_path / SNAPSHOTS_DIR / "door").exists(), "a new run starts with no pictures"
        path, jpeg = take(store, "Obama", start)
        assert path is not None and path.startswith("/api/snapshots/door/") and jpeg is not None
        picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == (360, 640, 3), "the default width (640) keeps it small"
        snapshot_id = path.rsplit("/", 1)[1].removesuffix(".jpg")
        assert snapshot_file(tmp_path, "door", snapshot_id).read_bytes() == jpeg

        for n in range(4):
            take(store, "Biden", start + 1 + n)
        assert len(files(tmp_path)) == 3, "keep: 3"
        assert snapshot_file(tmp_path, "door", snapshot_id) is None, "the oldest went first"
        assert not [name for name in files(tmp_path) if name.endswith(".tmp")]

        take(store, "Obama", start + 10)
        assert store.forget(["Obama"]) == 1 and len(files(tmp_path)) == 2, "erasure"
        store.prune(now=start + 4 + 3600.5)  # past retention: the pictures taken at start+1 to start+4
        assert files(tmp_path) == []
    finally:
        store.stop(2.0)


def test_a_camera_that_is_not_running_gives_no_picture(tmp_path):
    store = SnapshotStore(SnapshotsConfig(), tmp_path, frames_from(camera_running=False))
    store.start()
    try:
        got: list = []
        store.take("door", "Obama", 1000.0, lambda *args: got.append(args))
        assert got == [] and list((tmp_path / SNAPSHOTS_DIR).iterdir()) == []
    finally:
        store.stop(2.0)

"""The recognition worker with a real child process, real shared memory and the real face models."""

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facedaemon import yuv
from facedaemon.children.backoff import Backoff
from facedaemon.config.models import Config
from facedaemon.faces.boxes import iou
from facedaemon.faces.types import RecognitionResult
from facedaemon.gallery.settings import GallerySettings
from facedaemon.worker.client import RecognitionWorker
from tests.realparts import SHARED_DATA

DATA = SHARED_DATA
IMAGES = DATA / "images"

pytestmark = pytest.mark.needs_photos

PASTE = (100, 600)  # top, left of the pasted photo in the 1280×720 frame
CROP = (50, 250, 550, 750)  # top, left, bottom, right of obama.jpg around the face


def obama_frame(width: int = 1280, height: int = 720) -> np.ndarray:
    """A black I420 frame with the face region of obama.jpg pasted at PASTE (scaled with the canvas)."""
    return yuv.from_bgr(obama_bgr(width, height))


def obama_bgr(width: int = 1280, height: int = 720) -> np.ndarray:
    rgb = np.asarray(Image.open(IMAGES / "obama.jpg").convert("RGB"))
    top, left, bottom, right = CROP
    crop = Image.fromarray(rgb[top:bottom, left:right])
    factor = width / 1280
    crop = crop.resize((round(crop.width * factor), round(crop.height * factor)))
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    y, x = round(PASTE[0] * factor), round(PASTE[1] * factor)
    canvas[y : y + crop.height, x : x + crop.width] = np.asarray(crop)[:, :, ::-1]
    return canvas


def wait_for(condition: Callable[[], bool], timeout: float, step: Callable[[], None] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if step is not None:
            step()
        if condition():
            return True
        time.sleep(0.05)
    return False


def overlap(box: tuple[int, int, int, int], region: tuple[int, int, int, int]) -> int:
    top, right, bottom, left = box
    r_top, r_right, r_bottom, r_left = region
    return max(0, min(bottom, r_bottom) - max(top, r_top)) * max(0, min(right, r_right) - max(left, r_left))


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def config(tmp_path: Path, gallery: Callable[..., GallerySettings]) -> Config:
    return Config(
        faces_dir=gallery(tmp_path, "Obama", "Biden", flat=True).faces_dir,
        runtime_dir=tmp_path / "run",
        cameras=[{"name": "cam", "source": {"kind": "pattern", "uri": "smpte"}}],
    )


@pytest.fixture
def results() -> list[RecognitionResult]:
    return []


@pytest.fixture
def worker(config: Config, results: list[RecognitionResult]) -> Iterator[RecognitionWorker]:
    lock = threading.Lock()

    def collect(result: RecognitionResult) -> None:
        with lock:
            results.append(result)

    w = RecognitionWorker(config, on_result=collect, backoff=Backoff(first=0.1, cap=0.5))
    try:
        yield w
    finally:
        w.stop(timeout=5.0)


def started(w: RecognitionWorker) -> RecognitionWorker:
    w.start()
    assert wait_for(w.ready, 90), "worker did not report ready"
    return w


def recognise(w: RecognitionWorker, frame: np.ndarray, camera: str = "cam") -> RecognitionResult:
    frame_time = time.time()
    assert w.submit(camera, frame, frame_time)
    assert wait_for(lambda: (r := w.latest(camera)) is not None and r.frame_time == frame_time, 30)
    result = w.latest(camera)
    assert result is not None
    return result


def test_names_obama_in_a_camera_frame(worker: RecognitionWorker, results: list[RecognitionResult]) -> None:
    started(worker)
    assert worker.gallery is not None and worker.gallery["people"] == ["Biden", "Obama"]
    frame = obama_frame()
    frame_time = time.time()
    assert worker.submit("cam", frame, frame_time)
    assert not worker.submit("cam", frame, frame_time + 0.1), "a second request while one is in flight"
    assert wait_for(lambda: worker.latest("cam") is not None, 30)
    result = worker.latest("cam")
    assert result is not None and result.camera == "cam" and result.frame_time == frame_time
    (face,) = result.faces
    assert face.name == "Obama"
    assert 0.5 < face.confidence <= 1.0 and face.distance is not None and face.distance < 0.6
    pasted = (PASTE[0], PASTE[1] + CROP[3] - CROP[1], PASTE[0] + CROP[2] - CROP[0], PASTE[1])
    top, right, bottom, left = face.box
    assert overlap(face.box, pasted) > 0.9 * (bottom - top) * (right - left), (face.box, pasted)
    assert result.encoded == 1 and result.inference_seconds > 0
    assert wait_for(lambda: len(results) == 1, 5), "on_result was called"

    # The same face next frame: tracked, not re-encoded, same track id.
    again = recognise(worker, frame)
    assert again.encoded == 0
    assert [(f.name, f.track) for f in again.faces] == [("Obama", face.track)]
    assert worker.stats().results == 2


def test_named_face_is_followed_in_its_region_and_a_newcomer_is_still_found(worker: RecognitionWorker) -> None:
    started(worker)
    frame = obama_bgr()
    (face,) = recognise(worker, yuv.from_bgr(frame)).faces
    # Named: the next frames are searched around the face only; it moved 40 px right and keeps its track.
    (moved,) = recognise(worker, yuv.from_bgr(np.roll(frame, 40, axis=1))).faces
    assert (moved.name, moved.track) == ("Obama", face.track)
    assert iou(moved.box, tuple(v + 40 * (i % 2) for i, v in enumerate(face.box))) > 0.6, (face.box, moved.box)
    # A jump out of its region (a cut, a looped clip): the region misses it, the whole frame is searched at once.
    # (The old track is still reported where it was for a moment: coasting.)
    faces = recognise(worker, yuv.from_bgr(np.roll(frame, -500, axis=1))).faces
    assert [f.name for f in faces if f.box[3] < face.box[3] - 400] == ["Obama"], (face.box, faces)
    # A second face far from the first: found by the whole-frame scan that still runs now and then.
    two = np.roll(frame, 40, axis=1)
    two[100:600, 20:520] = frame[100:600, 600:1100]
    assert wait_for(lambda: len(recognise(worker, yuv.from_bgr(two)).faces) == 2, 20), "the newcomer was never found"


def test_region_detection_matches_whole_frame_detection() -> None:
    from facedaemon.faces import engine

    frame = obama_frame()
    (whole,) = engine.detect_regions(frame, [(0, 1280, 720, 0)], 0.25, "hog", 1)
    top, right, bottom, left = whole
    region = (top - 150, right + 150, bottom + 150, left - 150)
    (found,) = engine.detect_regions(frame, [region], 0.25, "hog", 1)
    assert max(abs(a - b) for a, b in zip(found, whole, strict=True)) <= 8, (found, whole)
    assert engine.detect_regions(frame, [(0, 300, 300, 0)], 0.25, "hog", 1) == []


def test_frame_size_change_and_empty_frames(worker: RecognitionWorker) -> None:
    started(worker)
    first = recognise(worker, obama_frame())
    block = worker.shared_memory_names()
    small = recognise(worker, obama_frame(640, 360))
    assert worker.shared_memory_names() == block, "a smaller frame reuses the block"
    big = recognise(worker, obama_frame(1920, 1080))
    assert worker.shared_memory_names() != block, "a larger frame gets a new block"
    assert [f.name for f in small.faces] == [f.name for f in big.faces] == ["Obama"]
    assert small.faces[0].box[2] <= 360 and big.faces[0].box[0] > first.faces[0].box[0]
    assert recognise(worker, np.zeros((1080, 1280), np.uint8)).faces == ()
    with pytest.raises(ValueError, match="camera cam"):
        worker.submit("cam", np.zeros((720, 1280, 3), np.uint8), time.time())  # BGR: not what cameras send


def test_killed_child_is_restarted_by_check(worker: RecognitionWorker) -> None:
    started(worker)
    old = worker.pid
    assert old is not None
    assert worker.submit("cam", obama_frame(), time.time())
    os.kill(old, signal.SIGKILL)
    assert wait_for(lambda: not worker.alive(), 10)
    assert wait_for(lambda: worker.ready() and worker.pid != old, 90, step=worker.check), "not restarted"
    assert worker.restarts == 1
    assert not worker.in_flight("cam"), "the request lost with the child no longer blocks the camera"
    assert [f.name for f in recognise(worker, obama_frame()).faces] == ["Obama"]


def test_stop_is_bounded_and_leaves_nothing_behind(worker: RecognitionWorker) -> None:
    started(worker)
    recognise(worker, obama_frame())
    recognise(worker, obama_frame(), camera="other")
    names = worker.shared_memory_names()
    assert len(names) == 2 and all(Path("/dev/shm", n).exists() for n in names)
    pid = worker.pid
    assert pid is not None
    began = time.monotonic()
    worker.stop(timeout=5.0)
    assert time.monotonic() - began < 6.0
    assert not worker.alive() and not pid_exists(pid)
    assert not any(Path("/dev/shm", n).exists() for n in names)
    assert not worker.submit("cam", obama_frame(), time.time())


def test_stop_works_when_never_started_or_already_dead(config: Config) -> None:
    never = RecognitionWorker(config)
    began = time.monotonic()
    never.stop(timeout=1.0)
    assert time.monotonic() - began < 1.0
    assert not never.alive() and not never.ready()
    never.check()  # nothing to restart: it was never started
    assert never.pid is None

    dead = RecognitionWorker(config)
    dead.start()
    pid = dead.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    began = time.monotonic()
    dead.stop(timeout=2.0)
    assert time.monotonic() - began < 3.0
    assert not pid_exists(pid)

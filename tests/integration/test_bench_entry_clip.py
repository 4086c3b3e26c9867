"""The bench's built clips (bench/clip.py make_entry_clip): the 1080p one of `facedaemon bench --resolution 1080p`
shows one face about 48 px tall, found by the default detector, and something moving on every frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facedaemon.bench.clip import make_entry_clip
from facedaemon.faces import engine


def frame_at(path: Path, index: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
    finally:
        capture.release()
    assert ok, f"no frame {index} in {path}"
    return frame


def test_the_1080p_entry_clip_shows_one_48_px_face_and_a_mover(shared_data: Path, tmp_path: Path) -> None:
    clip = make_entry_clip(shared_data, tmp_path / "entry.mp4", seconds=3.0, appear_at=1.0, mover=True,
                           size=(1920, 1080), face_px=48)
    assert clip.frames == 90
    before, after = frame_at(clip.path, 10), frame_at(clip.path, 60)
    assert before.shape == (1080, 1920, 3)
    assert engine.detect_regions(before, [(0, 1920, 1080, 0)], 0.25, "blazeface", 1) == []
    (face,) = engine.detect_regions(after, [(0, 1920, 1080, 0)], 0.25, "blazeface", 1)
    assert 40 <= face[2] - face[0] <= 56, face
    assert np.abs(frame_at(clip.path, 11).astype(int) - before.astype(int)).max() > 20, "nothing moved"

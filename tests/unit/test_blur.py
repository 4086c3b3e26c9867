"""blur_faces: unknown faces lose their detail, known faces and the rest of the frame are untouched."""

from __future__ import annotations

import numpy as np
import pytest

from facedaemon.annotate.blur import blur_faces, grown
from facedaemon.recognition.types import UNKNOWN, FaceResult

cv2 = pytest.importorskip("cv2")


def detail(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def noisy_frame() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)


def test_unknown_face_is_blurred_known_face_and_background_kept():
    frame = noisy_frame()
    before = frame.copy()
    unknown = FaceResult(UNKNOWN, 0.3, 0.7, (40, 120, 120, 40), 1)  # (top, right, bottom, left)
    known = FaceResult("Obama", 0.9, 0.4, (40, 300, 120, 220), 2)
    assert blur_faces(frame, [unknown, known]) == 1
    top, right, bottom, left = grown(unknown.box, 320, 240)
    assert (top, right, bottom, left) == (20, 140, 140, 20)  # 25 % larger on every side
    assert detail(frame[top:bottom, left:right]) < detail(before[top:bottom, left:right]) / 50
    np.testing.assert_array_equal(frame[40:120, 220:300], before[40:120, 220:300])
    np.testing.assert_array_equal(frame[150:, :], before[150:, :])
    np.testing.assert_array_equal(frame[:, 150:210], before[:, 150:210])


def test_boxes_at_or_beyond_the_edges_are_clipped():
    frame = noisy_frame()
    faces = [FaceResult(UNKNOWN, 0.0, None, (-30, 40, 50, -20), 1),
             FaceResult(UNKNOWN, 0.0, None, (200, 400, 300, 300), 2),
             FaceResult(UNKNOWN, 0.0, None, (500, 600, 600, 500), 3)]  # wholly outside: nothing to do
    assert blur_faces(frame, faces) == 2
    assert frame.shape == (240, 320, 3)


def test_no_faces_no_change():
    frame = noisy_frame()
    before = frame.copy()
    assert blur_faces(frame, []) == 0
    np.testing.assert_array_equal(frame, before)

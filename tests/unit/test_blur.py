"""blur_faces: unknown faces lose their detail, known faces and the rest of the frame are untouched."""

from __future__ import annotations

import cv2
import numpy as np

from facedaemon.annotate.blur import blur_faces, grown
from facedaemon.faces.types import FACE, UNKNOWN, FaceResult


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


def test_the_area_covers_the_last_sighting_as_well_as_the_extrapolated_box():
    # The track was seen at x 40-120; its box is now extrapolated to x 200-280 (the face may have turned back).
    frame, seen = noisy_frame(), FaceResult(UNKNOWN, 0.3, 0.7, (40, 120, 120, 40), 1)
    before = frame.copy()
    drawn = FaceResult(UNKNOWN, 0.3, 0.7, (40, 280, 120, 200), 1)
    assert blur_faces(frame, [drawn], seen=[seen], age=0.0) == 1
    for left, right in ((40, 120), (120, 200), (200, 280)):  # both boxes and the way between them
        assert detail(frame[40:120, left:right]) < detail(before[40:120, left:right]) / 50, (left, right)
    np.testing.assert_array_equal(frame[:, 300:], before[:, 300:])  # 280 + 25 % of the 80 px face, not more


def test_the_area_grows_with_the_age_of_the_sighting():
    face = FaceResult(UNKNOWN, 0.3, 0.7, (80, 180, 160, 100), 1)  # 80×80 px
    fresh, old = noisy_frame(), noisy_frame()
    blur_faces(fresh, [face], seen=[face], age=0.0)
    blur_faces(old, [face], seen=[face], age=1.0)
    before = noisy_frame()
    # 25 % (20 px) around a fresh sighting; 75 % (60 px) a second later.
    np.testing.assert_array_equal(fresh[:, :80], before[:, :80])
    assert detail(old[80:160, 40:80]) < detail(before[80:160, 40:80]) / 50
    np.testing.assert_array_equal(old[:, :40], before[:, :40])


def test_a_shrunken_extrapolated_box_is_grown_by_the_size_last_seen():
    seen = FaceResult(UNKNOWN, 0.3, 0.7, (40, 200, 200, 40), 1)  # 160 px when last seen
    drawn = FaceResult(UNKNOWN, 0.3, 0.7, (100, 160, 140, 120), 1)  # extrapolated edges: 40 px
    frame = noisy_frame()
    before = frame.copy()
    blur_faces(frame, [drawn], seen=[seen])
    assert detail(frame[0:40, 0:40]) < detail(before[0:40, 0:40]) / 50  # 40 px = 25 % of 160 beyond the union


def test_a_face_nobody_could_judge_is_blurred_like_an_unknown_one():
    frame = noisy_frame()
    before = frame.copy()
    undecided = FaceResult(FACE, 0.0, None, (40, 120, 120, 40), 1)
    assert blur_faces(frame, [undecided]) == 1
    assert detail(frame[40:120, 40:120]) < detail(before[40:120, 40:120]) / 50

"""faces/pose.py on the real detectors' points: BlazeFace's key points and face_recognition's 5-point landmarks read
the same way round (the order and naming the estimators assume), and a mirrored photo reads the other way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facedaemon.faces import engine
from facedaemon.faces.detect import detector
from facedaemon.faces.pose import yaw_pitch_from_blazeface, yaw_pitch_from_landmarks5

PHOTOS = ("images/obama.jpg", "images/obama2.jpg", "images/obama3.jpg", "images/biden.jpg",
          "known_faces/ChengHaoXie.jpg", "known_faces/GEM.jpg", "known_faces/KaiYuChen.jpg", "known_faces/Taylor.jpg")
TURNED = 10.0  # a reading at least this far from 0 has a sign both estimators must agree on
AGREE = 15.0  # BlazeFace's points are coarse: on these photos the two estimators differ by up to ~11 degrees


def readings(rgb: np.ndarray) -> tuple[float, float]:
    """(BlazeFace yaw, 5-point yaw) of the photo's one face."""
    found = detector().scan(rgb, None, bgr=False)
    boxes = engine.blazeface_boxes(rgb, None, bgr=False)
    assert len(found) == 1 and len(boxes) == 1
    points = engine.face_recognition_module().face_landmarks(rgb, boxes, model="small")[0]
    return yaw_pitch_from_blazeface(found[0].keypoints)[0], yaw_pitch_from_landmarks5(points)[0]


@pytest.mark.parametrize("photo", PHOTOS)
def test_both_detectors_read_a_photo_and_its_mirror_the_same_way_round(shared_data: Path, photo: str) -> None:
    rgb = engine.face_recognition_module().load_image_file(str(shared_data / photo))
    for image in (rgb, np.ascontiguousarray(rgb[:, ::-1])):
        blazeface, five = readings(image)
        assert abs(blazeface - five) <= AGREE, (photo, blazeface, five)
        if abs(five) >= TURNED and abs(blazeface) >= TURNED:
            assert np.sign(blazeface) == np.sign(five), (photo, blazeface, five)
        assert abs(blazeface) < 30 and abs(five) < 30  # the shared photos are near-frontal


def test_a_turned_photo_reads_the_other_way_in_a_mirror(shared_data: Path) -> None:
    rgb = engine.face_recognition_module().load_image_file(str(shared_data / "known_faces" / "GEM.jpg"))
    turned = readings(rgb)
    mirrored = readings(np.ascontiguousarray(rgb[:, ::-1]))
    assert min(abs(v) for v in (*turned, *mirrored)) >= TURNED  # GEM looks ~20-25 degrees to the image's left
    assert all(v < 0 for v in turned) and all(v > 0 for v in mirrored)

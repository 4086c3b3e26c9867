"""Pure parts of the camera pipeline: how often frames go to recognition, and boxes moved between results."""

import pytest

from facedaemon.recognition.tracker import Motion
from facedaemon.recognition.types import UNKNOWN, FaceResult, RecognitionResult
from facedaemon.supervision.camera import FOLLOW_RATE, SEARCH_RATE, moved, submit_interval


def result(*names: str) -> RecognitionResult:
    faces = tuple(FaceResult(name, 0.9, 0.4, (100, 200, 200, 100), i) for i, name in enumerate(names))
    return RecognitionResult("cam", 1.0, faces, 0.02, 0)


@pytest.mark.parametrize(
    ("latest", "rate"),
    [
        (None, SEARCH_RATE),  # nothing known yet: look often so a newcomer is named fast
        (result(), SEARCH_RATE),
        (result("Obama", UNKNOWN), SEARCH_RATE),  # an unknown face keeps the fast pace
        (result("Obama"), FOLLOW_RATE),  # everyone named: slower, boxes are extrapolated in between
        (result("Obama", "Biden"), FOLLOW_RATE),
    ],
)
def test_submit_interval(latest, rate) -> None:
    assert submit_interval(latest) == pytest.approx(1.0 / rate)
    assert FOLLOW_RATE <= SEARCH_RATE


def test_moved_extrapolates_tracked_faces_and_leaves_others() -> None:
    faces = result("Obama", "Biden").faces
    motions = {0: Motion((100, 200, 200, 100), 1.0, (0.0, 40.0, 0.0, 40.0))}
    obama, biden = moved(faces, motions, at=1.25)
    assert obama.box == (100, 210, 200, 110) and obama.name == "Obama" and obama.track == 0
    assert biden == faces[1]

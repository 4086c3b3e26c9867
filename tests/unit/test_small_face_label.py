"""The neutral "face" label for faces too small to tell, and how the range benchmark classifies drawn faces."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from facedaemon.annotate.draw import FACE_COLOUR, draw_faces, label_text
from facedaemon.bench.range_cli import targets
from facedaemon.bench.range_clip import Segment, schedule
from facedaemon.bench.range_measure import kind
from facedaemon.events.presence import PresenceTracker
from facedaemon.faces.quality import ENCODE_MIN_PX, UNKNOWN_MIN_PX, LiveQuality, judgeable
from facedaemon.faces.tracker import Track
from facedaemon.faces.types import FACE, UNKNOWN, FaceResult, RecognitionResult, is_person
from facedaemon.gallery.layout import EnrollError, check_name


def look(height: int) -> LiveQuality:
    return LiveQuality(height, 500.0, 0.0, 0.0, 0.9)


def test_a_face_never_judged_is_face_not_unknown() -> None:
    assert Track(1, (100, 110, 110, 100), 0.0).name == FACE


def test_a_small_face_that_matches_nobody_is_not_judged_and_a_larger_one_is() -> None:
    assert not judgeable(look(UNKNOWN_MIN_PX - 1)) and judgeable(look(UNKNOWN_MIN_PX))


def test_a_small_face_that_matches_is_judged_from_the_encoding_size() -> None:
    assert judgeable(look(ENCODE_MIN_PX), match=True) and not judgeable(look(ENCODE_MIN_PX - 1), match=True)
    face = Track(1, (100, 100 + ENCODE_MIN_PX, 100 + ENCODE_MIN_PX, 100), 0.0, votes=deque(maxlen=5))
    face.vote("Obama", 0.4, 0.8, 0.0)
    assert face.name == "Obama"


def test_face_is_no_person_and_cannot_be_enrolled() -> None:
    assert not is_person(FACE) and not is_person(UNKNOWN) and is_person("Ann")
    with pytest.raises(EnrollError, match="reserved"):
        check_name("Face")


def test_face_is_drawn_grey_without_a_percentage() -> None:
    result = FaceResult(FACE, 0.0, None, (10, 60, 60, 10), 1)
    assert label_text(result) == FACE
    frame = np.zeros((100, 100, 3), np.uint8)
    draw_faces(frame, [result])
    assert tuple(int(v) for v in frame[10, 30]) == FACE_COLOUR


def test_face_makes_no_event_even_with_unknowns_reported() -> None:
    tracker = PresenceTracker(grace=2.0, unknown_cameras={"door"})
    faces = (FaceResult(FACE, 0.0, None, (10, 60, 60, 10), 1),)
    assert tracker.update(RecognitionResult("door", 100.0, faces, 0.05, 0)) == []
    assert tracker.update(RecognitionResult("door", 102.0, faces, 0.05, 0)) == []


def test_range_bench_classifies_what_was_drawn_on_each_true_face() -> None:
    truth = (100, 148, 148, 100)  # a 48 px face
    near = (104, 150, 150, 104)
    far = (400, 448, 448, 400)
    assert kind([FaceResult("Obama", 0.9, 0.4, near, 1)], truth, "Obama") == "right"
    assert kind([FaceResult("Biden", 0.9, 0.4, near, 1)], truth, "Obama") == "wrong"
    assert kind([FaceResult(UNKNOWN, 0.0, 0.7, near, 1)], truth, "Obama") == "unknown"
    assert kind([FaceResult(FACE, 0.0, None, near, 1)], truth, "Obama") == "face"
    assert kind([FaceResult("Obama", 0.9, 0.4, far, 1)], truth, "Obama") == "none"
    assert kind([FaceResult("Obama", 0.9, 0.4, near, 1)], truth, None) == "wrong"  # a stranger named


def test_range_schedule_leaves_a_gap_before_each_height() -> None:
    segments, frames = schedule([24, 48], fps=10, show_s=2.0, gap_s=1.0)
    assert segments == (Segment(24, 10, 30), Segment(48, 40, 60))
    assert frames == 70


def test_range_bench_cpu_row_shows_its_parts_and_the_former_default() -> None:
    one = [{"cpu_pct": c, "cpu_pct_by_role": {"main": 28.0, "worker": w, "ffmpeg": 27.0}, "heights": {}}
           for c, w in ((72.0, 16.0), (68.0, 14.0), (70.0, 15.0))]
    report = {"range": {}, "one_face_1080p": one, "one_face_1080p_hog": [{"cpu_pct": 86.4}],
              "face_free": [{"false_boxes": 0, "frames_out": 10}]}
    row = next(line for line in targets(report) if line.startswith("| CPU per 1080p30"))
    assert row == ("| CPU per 1080p30 camera, one 48 px face (% of one core) | 70 (main 28, worker 15, ffmpeg 27); "
                   "former default hog: 86 | ≤ 60 | FAIL |")

"""Presence events from recognition results: arrivals, departures after the grace period, no flicker."""

from __future__ import annotations

from facedaemon.events.presence import LEFT, RECOGNISED, PresenceTracker
from facedaemon.faces.types import UNKNOWN, FaceResult, RecognitionResult


def face(name: str, track: int, confidence: float = 0.9) -> FaceResult:
    return FaceResult(name, confidence, 0.4, (10, 60, 60, 10), track)


def result(t: float, *faces: FaceResult, camera: str = "door") -> RecognitionResult:
    return RecognitionResult(camera, t, tuple(faces), 0.05, len(faces))


def kinds(events) -> list[tuple[str, str, int]]:
    return [(e.kind, e.name, e.track) for e in events]


def test_first_recognition_is_one_event_with_every_field():
    tracker = PresenceTracker(grace=2.0)
    events = tracker.update(result(100.0, face("Obama", 3, 0.93)))
    assert len(events) == 1
    assert events[0].to_json() == {"event": RECOGNISED, "camera": "door", "name": "Obama", "confidence": 0.93,
                                   "track": 3, "time": 100.0}
    assert tracker.update(result(100.3, face("Obama", 3))) == []


def test_leaving_is_reported_only_after_the_grace_period():
    tracker = PresenceTracker(grace=2.0)
    tracker.update(result(100.0, face("Obama", 3)))
    assert tracker.update(result(101.0)) == []
    assert tracker.update(result(101.9)) == []
    events = tracker.update(result(102.5))
    assert kinds(events) == [(LEFT, "Obama", 3)]
    assert events[0].time == 100.0  # when he was last seen
    assert tracker.update(result(103.0)) == []


def test_an_empty_scene_seen_every_two_seconds_still_reports_the_departure_on_time():
    # Nobody in view and nothing moving: the camera sends the worker a frame every 2 s (pipeline/pacing.py).
    tracker = PresenceTracker(grace=2.0)
    tracker.update(result(100.0, face("Obama", 3)))
    assert tracker.update(result(100.4)) == []
    assert kinds(tracker.update(result(102.4))) == [(LEFT, "Obama", 3)]


def test_one_missed_result_seconds_apart_is_not_a_departure():
    # A loaded or small machine: the camera's results come 2.5 s apart and the detector misses him on one.
    tracker = PresenceTracker(grace=2.0, unknown_cameras={"door"}, unknown_after=1.0)
    events = tracker.update(result(100.0, face("Obama", 3), face(UNKNOWN, 4)))
    events += tracker.update(result(101.2, face("Obama", 3), face(UNKNOWN, 4)))
    for t in (103.7, 106.2, 108.7, 111.2):
        events += tracker.update(result(t))  # missed: nobody on this result
        events += tracker.update(result(t + 2.5 / 2, face("Obama", 3), face(UNKNOWN, 4)))
    assert kinds(events) == [(RECOGNISED, "Obama", 3), (RECOGNISED, UNKNOWN, 4)]
    assert tracker.present("door") == ["Obama", UNKNOWN]


def test_short_gaps_and_a_new_track_for_the_same_person_are_not_events():
    tracker = PresenceTracker(grace=2.0)
    seen = tracker.update(result(100.0, face("Obama", 1)))
    for t in (100.3, 101.5, 102.8):  # missed detections in between, a different track id after a gap
        seen += tracker.update(result(t, face("Obama", 1 if t < 101 else 7)))
        seen += tracker.update(result(t + 0.1))
    assert kinds(seen) == [(RECOGNISED, "Obama", 1)]
    assert tracker.present("door") == ["Obama"]


def test_unknown_faces_are_ignored_unless_asked_for():
    tracker = PresenceTracker(grace=2.0)
    events = []
    for t in (100.0, 101.0, 102.0, 106.0):
        events += tracker.update(result(t, face(UNKNOWN, 4)) if t < 105 else result(t))
    assert events == []


def test_unknown_is_reported_after_staying_unknown_and_then_by_its_name():
    tracker = PresenceTracker(grace=2.0, unknown_cameras={"door"}, unknown_after=1.0)
    events = tracker.update(result(100.0, face(UNKNOWN, 4)))
    assert events == []  # maybe still being recognised
    events += tracker.update(result(100.5, face(UNKNOWN, 4)))
    events += tracker.update(result(101.1, face(UNKNOWN, 4)))
    assert kinds(events) == [(RECOGNISED, UNKNOWN, 4)]
    events = tracker.update(result(101.5, face("Biden", 4)))
    assert kinds(events) == [(RECOGNISED, "Biden", 4)]
    events = tracker.update(result(104.0)) + tracker.update(result(104.3))
    assert sorted(kinds(events)) == [(LEFT, "Biden", 4), (LEFT, UNKNOWN, 4)]


def test_a_briefly_unknown_track_that_gets_its_name_is_never_reported_as_unknown():
    tracker = PresenceTracker(grace=2.0, unknown_cameras={"door"}, unknown_after=1.0)
    events = tracker.update(result(100.0, face(UNKNOWN, 4)))
    events += tracker.update(result(100.4, face("Obama", 4)))
    events += tracker.update(result(104.0)) + tracker.update(result(104.3))
    assert kinds(events) == [(RECOGNISED, "Obama", 4), (LEFT, "Obama", 4)]


def test_cameras_are_independent():
    tracker = PresenceTracker(grace=2.0)
    events = tracker.update(result(100.0, face("Obama", 1), camera="door"))
    events += tracker.update(result(100.1, face("Obama", 1), camera="yard"))
    events += tracker.update(result(103.0, camera="door")) + tracker.update(result(103.5, camera="door"))
    assert [(e.kind, e.camera) for e in events] == [(RECOGNISED, "door"), (RECOGNISED, "yard"), (LEFT, "door")]
    assert tracker.present("yard") == ["Obama"]


def test_expire_reports_people_of_a_camera_whose_results_stopped_with_extra_margin():
    tracker = PresenceTracker(grace=2.0)
    tracker.update(result(100.0, face("Obama", 1)))
    assert tracker.expire(103.0) == []  # a slow worker is not a departure
    assert kinds(tracker.expire(120.0)) == [(LEFT, "Obama", 1)]
    assert tracker.expire(130.0) == []


def test_two_people_arrive_and_leave_separately():
    tracker = PresenceTracker(grace=1.0)
    events = tracker.update(result(100.0, face("Obama", 1), face("Biden", 2)))
    events += tracker.update(result(100.5, face("Obama", 1)))
    events += tracker.update(result(101.6, face("Obama", 1)))
    events += tracker.update(result(102.0, face("Obama", 1)))
    assert kinds(events) == [(RECOGNISED, "Obama", 1), (RECOGNISED, "Biden", 2), (LEFT, "Biden", 2)]

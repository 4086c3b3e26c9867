"""When a track the worker labels "Unknown" becomes an unknown-visitor event (events/visitors.py): pure, no I/O.

The worker's labels come in per track; "face" (could not be judged) must never make or confirm a visitor, a track
is announced at most once, a stranger the worker loses and finds again within the grace is the same visitor, and
the same stranger back after the grace is a new one."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from facedaemon.events.presence import LEFT, RECOGNISED, PresenceTracker
from facedaemon.events.visitors import UnknownVisitors
from facedaemon.faces.types import FACE, UNKNOWN, FaceResult, RecognitionResult


def face(name: str, track: int) -> FaceResult:
    return FaceResult(name, 0.2 if name == UNKNOWN else 0.9, 0.7, (10, 60, 60, 10), track)


def feed(visitors: UnknownVisitors, frames, camera: str = "door") -> list[tuple[str, int, float]]:
    """(kind, track, time) of every event for frames of (time, [(name, track), ...])."""
    events = []
    for now, faces in frames:
        events += visitors.update(camera, now, [face(name, track) for name, track in faces])
    return [(event.kind, event.track, event.time) for event in events]


def steady(start: float, end: float, *faces: tuple[str, int], step: float = 0.25):
    count = round((end - start) / step)
    return [(start + i * step, list(faces)) for i in range(count + 1)]


def test_a_stranger_is_one_event_after_a_second_of_unknown_and_leaves_after_the_grace():
    visitors = UnknownVisitors(["door"], grace=2.0, confirm=1.0)
    events = feed(visitors, steady(100.0, 105.0, (UNKNOWN, 7)) + steady(105.5, 108.0))
    assert events == [(RECOGNISED, 7, 101.0), (LEFT, 7, 105.0)]


def test_a_camera_that_did_not_opt_in_reports_nobody():
    visitors = UnknownVisitors(["door"], grace=2.0)
    assert feed(visitors, steady(100.0, 105.0, (UNKNOWN, 7)) + steady(105.5, 108.0), camera="yard") == []


def test_the_neutral_face_never_makes_or_confirms_a_visitor():
    visitors = UnknownVisitors(["door"], grace=2.0, confirm=1.0)
    assert feed(visitors, steady(100.0, 110.0, (FACE, 3))) == []
    # a track that could not be judged for long, then reads Unknown: its second starts at the first Unknown
    events = feed(visitors, [(110.25, [(UNKNOWN, 3)]), (110.75, [(FACE, 3)]), (111.0, [(FACE, 3)]),
                             (111.25, [(UNKNOWN, 3)])])
    assert events == [(RECOGNISED, 3, 111.25)]


def test_a_track_that_turns_into_a_name_within_the_second_sends_nothing():
    visitors = UnknownVisitors(["door"], grace=2.0, confirm=1.0)
    frames = [(100.0, [(UNKNOWN, 4)]), (100.5, [(UNKNOWN, 4)]), (100.8, [("Obama", 4)])]
    events = feed(visitors, [*frames, *steady(101.0, 106.0, ("Obama", 4))])
    assert events == []


def test_a_track_is_announced_once_even_if_its_label_flips_back():
    visitors = UnknownVisitors(["door"], grace=2.0, confirm=1.0)
    frames = steady(100.0, 102.0, (UNKNOWN, 4)) + steady(102.25, 103.0, ("Biden", 4))
    frames += steady(103.25, 106.0, (UNKNOWN, 4))
    assert [kind for kind, _, _ in feed(visitors, frames)] == [RECOGNISED]


def test_lost_and_found_within_the_grace_is_the_same_visitor_back_after_it_a_new_one():
    visitors = UnknownVisitors(["door"], grace=2.0, confirm=1.0)
    frames = steady(100.0, 102.0, (UNKNOWN, 1)) + steady(103.5, 106.0, (UNKNOWN, 2))  # 1.5 s gap: lost, found
    frames += steady(106.25, 106.25, (FACE, 3)) + steady(106.5, 108.0, (UNKNOWN, 3))  # a "face" track takes over too
    assert feed(visitors, frames) == [(RECOGNISED, 1, 101.0)]
    later = steady(108.25, 110.5) + steady(110.75, 113.0, (UNKNOWN, 9))  # gone 2.5 s: left; back: a new visitor
    assert feed(visitors, later) == [(LEFT, 3, 108.0), (RECOGNISED, 9, 111.75)]


def test_a_stranger_whose_track_the_worker_renews_every_half_second_is_one_event_after_a_second():
    visitors = UnknownVisitors(["door"], grace=2.0, confirm=1.0)
    frames = [(100.0 + i * 0.25, [(UNKNOWN, 10 + i // 2), ("Obama", 50 + i // 2)]) for i in range(24)]
    assert feed(visitors, frames) == [(RECOGNISED, 12, 101.0)]
    # the same renewal for a track that is still being recognised: it turns into a name, nothing is sent
    frames = [(200.0, [(UNKNOWN, 80)]), (200.5, [(UNKNOWN, 81)]), (200.75, [("Obama", 81)])]
    assert feed(UnknownVisitors(["door"], grace=2.0), frames + steady(201.0, 204.0, ("Obama", 81))) == []


def test_two_strangers_on_one_frame_are_two_visitors():
    visitors = UnknownVisitors(["door"], grace=2.0, confirm=1.0)
    events = feed(visitors, steady(100.0, 102.0, (UNKNOWN, 1), (UNKNOWN, 2)))
    assert events == [(RECOGNISED, 1, 101.0), (RECOGNISED, 2, 101.0)]


def test_a_newcomer_on_the_frame_a_visitor_was_missed_gets_its_own_event_once_both_show():
    visitors = UnknownVisitors(["door"], grace=2.0, confirm=1.0)
    frames = [*steady(100.0, 101.5, (UNKNOWN, 1)), (101.75, [(UNKNOWN, 2)])]  # 1 missed just as 2 arrives
    frames += steady(102.0, 104.0, (UNKNOWN, 1), (UNKNOWN, 2))
    assert feed(visitors, frames) == [(RECOGNISED, 1, 101.0), (RECOGNISED, 2, 103.0)]


def test_presence_tracker_reports_visitors_only_for_opted_in_cameras_and_expires_them():
    tracker = PresenceTracker(grace=2.0, unknown_cameras=["door"])
    events = []
    for now, faces in steady(100.0, 102.0, (UNKNOWN, 5), ("Obama", 6)):
        for camera in ("door", "yard"):
            events += tracker.update(RecognitionResult(camera, now, tuple(face(n, t) for n, t in faces), 0.1, 0))
    assert [(e.kind, e.camera, e.name) for e in events] == [
        (RECOGNISED, "door", "Obama"), (RECOGNISED, "yard", "Obama"), (RECOGNISED, "door", UNKNOWN)]
    assert tracker.present("door") == ["Obama", UNKNOWN] and tracker.present("yard") == ["Obama"]
    assert [(e.kind, e.name) for e in tracker.expire(110.0) if e.camera == "door"] == [(LEFT, "Obama"),
                                                                                       (LEFT, UNKNOWN)]


# -- properties over any sequence of labelled frames

LABELS = st.sampled_from([UNKNOWN, FACE, "Obama"])
GAP = st.one_of(st.sampled_from([0.25, 1.0, 2.0, 2.01]), st.floats(0.05, 3.0))  # the grace's edge, and anything
FRAME = st.tuples(GAP, st.dictionaries(st.integers(1, 5), LABELS, max_size=3))


def frames_of(steps) -> list[tuple[float, list[tuple[str, int]]]]:
    now, frames = 1000.0, []
    for gap, faces in steps:
        now += gap
        frames.append((now, [(name, track) for track, name in faces.items()]))
    return frames


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAME, max_size=60))
def test_every_event_is_a_track_read_unknown_once_while_present_and_every_arrival_leaves(steps):
    frames = frames_of(steps)
    visitors = UnknownVisitors(["door"], grace=2.0, confirm=1.0)
    events = feed(visitors, frames)
    events += [(e.kind, e.track, e.time) for e in visitors.expire(frames[-1][0] + 60 if frames else 0.0)]
    arrivals = [(track, time) for kind, track, time in events if kind == RECOGNISED]
    read_unknown = {(track, now) for now, faces in frames for name, track in faces if name == UNKNOWN}
    assert set(arrivals) <= read_unknown, "an event on a frame where its track did not read Unknown"
    for track in {track for track, _ in arrivals}:  # again only after the track was away longer than the grace
        times = [time for seen, time in arrivals if seen == track]
        shown = [now for now, faces in frames if track in {t for _, t in faces}]
        for earlier, later in itertools.pairwise(times):
            between = [earlier] + [now for now in shown if earlier < now <= later]
            assert any(b - a > 2.0 for a, b in itertools.pairwise(between)), ("announced twice", track)
    assert sum(kind == LEFT for kind, _, _ in events) == len(arrivals), "every visitor leaves exactly once"
    assert visitors.present("door") == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(FRAME, max_size=60))
def test_without_the_unknown_label_or_without_opting_in_nothing_is_reported(steps):
    frames = frames_of(steps)
    neutral = [(now, [(FACE if name == UNKNOWN else name, track) for name, track in faces]) for now, faces in frames]
    assert feed(UnknownVisitors(["door"], grace=2.0), neutral) == []
    assert feed(UnknownVisitors([], grace=2.0), frames) == []

"""Recognition results → visits (facedaemon/history/visits.py): pure, driven with explicit clocks."""

from __future__ import annotations

from facedaemon.history.visits import CONFIRM, Delete, Seen, Thumb, Upsert, VisitTracker

WALL = 1_800_000_000.0


def rows(ops):
    return [op.row for op in ops if isinstance(op, Upsert)]


def test_a_person_seen_is_written_at_once_with_first_and_last_seen():
    tracker = VisitTracker("pi", grace=10.0)
    first = rows(tracker.see("door", [Seen("Obama", 1, 0.8)], WALL, 100.0))
    assert [(r.person, r.camera, r.device, r.first_seen, r.last_seen) for r in first] == [
        ("Obama", "door", "pi", WALL, WALL)]
    later = rows(tracker.see("door", [Seen("Obama", 1, 0.9)], WALL + 3, 103.0))
    assert later[0].uid == first[0].uid and later[0].last_seen == WALL + 3 and later[0].confidence == 0.9


def test_a_track_that_returns_within_the_grace_extends_the_visit():
    tracker = VisitTracker("pi", grace=10.0)
    uid = rows(tracker.see("door", [Seen("Obama", 1, 0.8)], WALL, 100.0))[0].uid
    assert rows(tracker.see("door", [], WALL + 5, 105.0)) == []
    again = rows(tracker.see("door", [Seen("Obama", 7, 0.8)], WALL + 9, 109.0))
    assert again[0].uid == uid and again[0].last_seen == WALL + 9


def test_a_return_after_the_grace_is_a_new_visit():
    tracker = VisitTracker("pi", grace=10.0)
    uid = rows(tracker.see("door", [Seen("Obama", 1, 0.8)], WALL, 100.0))[0].uid
    assert rows(tracker.see("door", [Seen("Obama", 1, 0.8)], WALL + 0.2, 100.2)) == []  # within FLUSH: later
    closed = rows(tracker.see("door", [], WALL + 20, 120.0))
    assert [r.uid for r in closed] == [uid] and closed[0].last_seen == WALL + 0.2
    new = rows(tracker.see("door", [Seen("Obama", 2, 0.8)], WALL + 21, 121.0))
    assert new[0].uid != uid


def test_durations_follow_the_monotonic_clock_when_the_wall_clock_steps_back():
    tracker = VisitTracker("pi", grace=10.0)
    tracker.see("door", [Seen("Obama", 1, 0.8)], WALL, 100.0)
    # NTP steps the wall clock back an hour: the visit still lasts 4 s from its first frame's time
    row = rows(tracker.see("door", [Seen("Obama", 1, 0.8)], WALL - 3600, 104.0))[0]
    assert row.first_seen == WALL and row.last_seen == WALL + 4


def test_each_camera_has_its_own_visit():
    tracker = VisitTracker("pi")
    a = rows(tracker.see("door", [Seen("Obama", 1, 0.8)], WALL, 100.0))
    b = rows(tracker.see("yard", [Seen("Obama", 1, 0.8)], WALL, 100.0))
    assert a[0].uid != b[0].uid and b[0].camera == "yard"


def test_a_stranger_is_recorded_after_confirm_and_withdrawn_if_named():
    tracker = VisitTracker("pi")
    assert rows(tracker.see("door", [Seen("Unknown", 3, 0.2)], WALL, 100.0)) == []
    written = rows(tracker.see("door", [Seen("Unknown", 3, 0.2)], WALL + CONFIRM, 100.0 + CONFIRM))
    assert written[0].person is None
    ops = tracker.see("door", [Seen("Biden", 3, 0.7)], WALL + 2, 102.0)
    assert Delete(written[0].uid) in ops and rows(ops)[0].person == "Biden"


def test_a_brief_unknown_that_turns_out_known_leaves_nothing():
    tracker = VisitTracker("pi")
    tracker.see("door", [Seen("Unknown", 3, 0.2)], WALL, 100.0)
    ops = tracker.see("door", [Seen("Biden", 3, 0.7)], WALL + 0.2, 100.2)
    assert not any(isinstance(op, Delete) for op in ops)


def test_the_neutral_face_makes_no_visit():
    assert VisitTracker("pi").see("door", [Seen("face", 1, 0.0)], WALL, 100.0) == []


def test_the_best_thumbnail_is_kept_on_the_tracks_visit():
    tracker = VisitTracker("pi")
    tracker.see("door", [Seen("Obama", 1, 0.8)], WALL, 100.0)
    tracker.shot(Thumb("door", 1, 2.0, b"good"))
    tracker.shot(Thumb("door", 1, 1.0, b"worse"))
    row = rows(tracker.see("door", [Seen("Obama", 1, 0.8)], WALL + 1, 101.0))[0]
    assert (row.thumb, row.quality) == (b"good", 2.0)


def test_expire_closes_a_silent_cameras_visits_and_close_all_ends_the_rest():
    tracker = VisitTracker("pi", grace=5.0)
    ops = tracker.see("door", [Seen("Obama", 1, 0.8)], WALL, 100.0)
    ops += tracker.see("door", [Seen("Obama", 1, 0.8)], WALL + 0.2, 100.2)
    ops += tracker.see("yard", [Seen("Biden", 1, 0.8)], WALL, 110.0)
    ops += tracker.see("yard", [Seen("Biden", 1, 0.8)], WALL + 0.2, 110.2)
    ops += tracker.expire(110.3)
    assert tracker.people() == {"Biden"}
    assert [r.last_seen for r in rows(ops) if r.person == "Obama"][-1] == WALL + 0.2
    assert [(r.person, r.last_seen) for r in rows(tracker.close_all())] == [("Biden", WALL + 0.2)]
    assert tracker.open_count() == 0


def test_forget_drops_an_open_visit_without_writing_it():
    tracker = VisitTracker("pi", grace=5.0)
    tracker.see("door", [Seen("Obama", 1, 0.8)], WALL, 100.0)
    tracker.forget({"Obama"})
    assert tracker.close_all() == []


def test_a_stranger_lost_and_found_by_the_tracker_is_one_visit():
    tracker = VisitTracker("pi")
    tracker.see("door", [Seen("Unknown", 3, 0.2)], WALL, 100.0)
    tracker.see("door", [Seen("Unknown", 3, 0.2)], WALL + 0.6, 100.6)
    tracker.see("door", [], WALL + 0.8, 100.8)
    written = rows(tracker.see("door", [Seen("Unknown", 4, 0.2)], WALL + 1.2, 101.2))
    assert len(written) == 1 and written[0].first_seen == WALL and written[0].last_seen == WALL + 1.2


def test_two_strangers_on_one_frame_are_two_visits():
    tracker = VisitTracker("pi")
    tracker.see("door", [Seen("Unknown", 3, 0.2), Seen("Unknown", 4, 0.2)], WALL, 100.0)
    written = rows(tracker.see("door", [Seen("Unknown", 3, 0.2), Seen("Unknown", 4, 0.2)], WALL + 1, 101.0))
    assert len({r.uid for r in written}) == 2

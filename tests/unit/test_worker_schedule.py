"""When the recognition child encodes a track (worker/schedule.py): a settled, unchanged face costs less, and a
gallery change still re-decides every track at its next look."""

from __future__ import annotations

from pathlib import Path

from facedaemon.config.models import RecognitionConfig
from facedaemon.faces.quality import LiveQuality
from facedaemon.faces.tracker import Track, Tracker
from facedaemon.faces.types import UNKNOWN
from facedaemon.worker.child import ChildCamera, RecognitionChild
from facedaemon.worker.protocol import ChildSettings
from facedaemon.worker.schedule import (
    FULL_SCAN_SECONDS,
    EncodedLook,
    encode_due,
    settled,
    unchanged,
)

BOX = (100, 300, 260, 140)
LOOK = LiveQuality(height=160, sharpness=900.0, yaw=2.0, pitch=-3.0, score=0.9)
BASE, MOST = 2.0, 8.0  # the config's recheck_seconds and recheck_max_seconds defaults


def named(now: float = 0.0, name: str = "Ann") -> Track:
    track = Track(1, BOX, now)
    track.vote(name, 0.35, 0.9, now)
    return track


def test_a_settled_unchanged_face_is_rechecked_only_every_recheck_max_seconds() -> None:
    track, then = named(), EncodedLook.of(LOOK)
    assert settled(track) and unchanged(LOOK, then)
    assert not encode_due(track, LOOK, then, BASE, BASE, MOST), "the tracker alone would recheck it at 2 s"
    assert not encode_due(track, LOOK, then, MOST - 0.1, BASE, MOST)
    assert encode_due(track, LOOK, then, MOST, BASE, MOST)


def test_a_face_that_changed_since_its_encoding_keeps_the_trackers_recheck_ladder() -> None:
    track, then = named(), EncodedLook.of(LOOK)
    nearer = LiveQuality(210, 900.0, 2.0, -3.0, 0.9)  # walked up: 30 % taller
    turned = LiveQuality(160, 900.0, 22.0, -3.0, 0.9)  # turned 20°
    nodded = LiveQuality(160, 900.0, 2.0, 14.0, 0.9)  # pitch 17° away
    no_pose = LiveQuality(160, 900.0, None, None, 0.9)
    for look in (nearer, turned, nodded, no_pose):
        assert not unchanged(look, then), look
        assert encode_due(track, look, then, BASE, BASE, MOST), look
    assert unchanged(LiveQuality(180, 500.0, 12.0, 8.0, 0.7), then), "within 20 % and 15°: the same look"
    assert not encode_due(track, LOOK, None, 0.5, BASE, MOST) and encode_due(track, LOOK, None, BASE, BASE, MOST), \
        "no encoded look remembered: the tracker's rule"


def test_an_unknown_or_undecided_face_is_not_settled() -> None:
    then = EncodedLook.of(LOOK)
    stranger = Track(1, BOX, 0.0)
    stranger.vote(UNKNOWN, 0.8, 0.2, 0.0)
    assert not settled(stranger) and encode_due(stranger, LOOK, then, BASE, BASE, MOST)
    look_alike = named()
    look_alike.vote("Bob", 0.4, 0.6, 0.1, decisive=False)  # not decisive: the label stays Ann, the vote is Bob's
    assert not settled(look_alike)
    assert not settled(Track(2, BOX, 0.0))  # never encoded


def test_a_gallery_change_re_encodes_every_settled_unchanged_track_at_its_next_look(tmp_path: Path) -> None:
    child = RecognitionChild(ChildSettings(tmp_path, None, RecognitionConfig()))
    states = {}
    for camera in ("door", "yard"):
        state = ChildCamera(Tracker())
        (track,) = state.tracker.update([BOX], 0.0)
        track.vote("Ann", 0.35, 0.9, 0.0)
        state.encoded[track.id] = EncodedLook.of(LOOK)
        states[camera] = state
    child.cameras = states
    for state in states.values():
        assert child.due(state, state.tracker.tracks, {1: LOOK}, 0.4) == []
    child.gallery_changed()  # a reload after forget ("Ann" is gone from the child's empty gallery)
    for state in states.values():
        assert [t.id for t in child.due(state, state.tracker.tracks, {1: LOOK}, 0.5)] == [1], \
            "the re-decision waits for no recheck"
    kept = named()  # "not this person" or new photos: the name stays known, and the track is re-decided all the same
    kept.redecide({"Ann"})
    assert kept.label == "Ann" and encode_due(kept, LOOK, EncodedLook.of(LOOK), 0.5, BASE, MOST)


def test_the_encoded_looks_of_ended_tracks_are_forgotten(tmp_path: Path) -> None:
    child = RecognitionChild(ChildSettings(tmp_path, None, RecognitionConfig()))
    state = ChildCamera(Tracker(expire_seconds=1.0))
    state.tracker.update([BOX], 0.0)
    state.encoded[1] = EncodedLook.of(LOOK)
    state.tracker.update([], 0.5)  # looked for and missed …
    state.tracker.expire(2.0)  # … past expire_seconds: the track ends
    assert state.tracker.tracks == []
    child.due(state, [], {}, 5.0)
    assert state.encoded == {}


def test_a_face_missed_on_a_look_is_no_longer_the_unchanged_face(tmp_path: Path) -> None:
    # Someone else stepping into a named person's place within the tracker's reach keeps the track: the longer
    # recheck must not hold the old name on them for recheck_max_seconds.
    child = RecognitionChild(ChildSettings(tmp_path, None, RecognitionConfig()))
    state = ChildCamera(Tracker())
    (track,) = state.tracker.update([BOX], 0.0)
    track.vote("Ann", 0.35, 0.9, 0.0)
    state.encoded[track.id] = EncodedLook.of(LOOK)
    assert child.due(state, [track], {1: LOOK}, 2.5) == [], "settled and unchanged: only every recheck_max_seconds"
    child.due(state, [], {}, 3.0)  # missed on this look
    assert state.encoded == {}
    assert [t.id for t in child.due(state, [track], {1: LOOK}, 3.5)] == [1], "the tracker's own ladder again"



def test_the_child_scans_the_whole_frame_as_often_with_every_face_settled() -> None:
    """Newcomers beside a named face are looked for at the usual rate (a stranger may stay only a moment)."""
    shape = (720, 1280, 3)
    whole = [(0, 1280, 720, 0)]
    state = ChildCamera(Tracker())
    assert RecognitionChild.regions(state, shape, 0.0) == whole
    (track,) = state.tracker.update([BOX], 0.0)
    track.vote("Ann", 0.35, 0.9, 0.0)
    assert settled(track)
    assert RecognitionChild.regions(state, shape, 0.1) != whole
    assert RecognitionChild.regions(state, shape, FULL_SCAN_SECONDS) == whole

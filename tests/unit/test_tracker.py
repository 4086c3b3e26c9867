import pytest

from facedaemon.faces.boxes import iou, merge_overlapping, offset_boxes, search_regions
from facedaemon.faces.tracker import (
    LOOK_GAP_MAX,
    Track,
    Tracker,
    Vote,
    all_tracks_looked_at,
    needs_encoding,
    recheck_interval,
    winner,
)
from facedaemon.faces.types import UNKNOWN
from facedaemon.pipeline.motion import Motion, follow, predict
from facedaemon.worker.child import ChildCamera, RecognitionChild
from facedaemon.worker.schedule import FULL_SCAN_SECONDS

A = (100, 200, 200, 100)  # top, right, bottom, left
A_MOVED = (110, 210, 210, 110)
B = (100, 600, 200, 500)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (A, A, 1.0),
        (A, B, 0.0),
        (A, (100, 150, 200, 100), 0.5),
        (A, (150, 250, 250, 150), 2500 / 17500),
        (A, (0, 0, 0, 0), 0.0),
    ],
)
def test_iou(a, b, expected) -> None:
    assert iou(a, b) == pytest.approx(expected)


def test_moving_face_keeps_its_track_and_new_face_gets_a_new_one() -> None:
    tracker = Tracker()
    (first,) = tracker.update([A], now=0.0)
    moved, other = tracker.update([A_MOVED, B], now=0.2)
    assert moved.id == first.id
    assert moved.box == A_MOVED
    assert other.id != first.id


def test_two_faces_keep_their_ids_when_detection_order_swaps() -> None:
    tracker = Tracker()
    a, b = tracker.update([A, B], now=0.0)
    b2, a2 = tracker.update([B, A_MOVED], now=0.1)
    assert (a2.id, b2.id) == (a.id, b.id)


@pytest.mark.parametrize(("gap", "same"), [(0.5, True), (1.0, True), (1.01, False), (5.0, False)])
def test_tracks_expire_after_being_looked_for_and_missed(gap: float, same: bool) -> None:
    tracker = Tracker(expire_seconds=1.0)
    (first,) = tracker.update([A], now=10.0)
    assert tracker.update([], now=10.0 + gap / 2) == []  # a round that did not find it
    (again,) = tracker.update([A], now=10.0 + gap)
    assert (again.id == first.id) is same


@pytest.mark.parametrize("gap", [1.5, 5.0])
def test_a_track_seen_on_the_last_frame_looked_at_is_kept_however_long_ago(gap: float) -> None:
    """A slow worker (over a second per frame) or frames skipped while nothing moves: not unseen, just not looked."""
    tracker = Tracker(expire_seconds=1.0)
    (first,) = tracker.update([A], now=10.0)
    tracker.expire(now=10.0 + gap)
    (again,) = tracker.update([A], now=10.0 + gap)
    assert again.id == first.id


def test_after_a_long_gap_between_looks_tracks_start_afresh() -> None:
    """A camera that was down for a minute: whoever stands there now is judged anew."""
    tracker = Tracker(expire_seconds=1.0)
    (first,) = tracker.update([A], now=10.0)
    (again,) = tracker.update([A], now=10.0 + LOOK_GAP_MAX + 1)
    assert again.id != first.id


def test_a_track_no_round_looked_for_keeps_its_name_however_long_the_worker_was_away() -> None:
    """Measured: on a loaded machine (load average 20 on 2 cores) the worker's rounds for a camera came more than a
    second apart, so the real clip's known person, found where his named track was, got a new track each time:
    unnamed, and with his head turned unjudgeable, the neutral "face" on up to 57 % of samples after his first
    name (docs/performance.md, "Labels", real footage)."""
    tracker = Tracker(expire_seconds=1.0)
    (named,) = tracker.update([A], now=10.0)
    named.vote("Obama", 0.4, 0.9, now=10.0)
    tracker.expire(now=11.6)  # the worker's own expiry at the start of its next round for this camera
    (again,) = tracker.update([A_MOVED], now=11.6)
    assert again.id == named.id and again.name == "Obama"
    tracker.update([], now=11.7)  # this round missed him: from now on he is forgotten after a second unseen
    tracker.expire(now=12.7)
    assert tracker.tracks == []


def test_expire_drops_unseen_tracks() -> None:
    tracker = Tracker(expire_seconds=1.0)
    tracker.update([A, B], now=0.0)
    tracker.update([A], now=0.9)
    tracker.expire(now=1.5)
    assert [t.box for t in tracker.tracks] == [A]


@pytest.mark.parametrize(
    ("last_encoded", "now", "expected"),
    [(None, 0.0, True), (0.0, 0.5, False), (0.0, 1.0, True), (0.0, 3.0, True)],
)
def test_needs_encoding(last_encoded, now, expected) -> None:
    tracker = Tracker()
    (track,) = tracker.update([A], now=now)
    track.last_encoded = last_encoded
    assert needs_encoding(track, now, recheck_seconds=1.0) is expected


def test_vote_marks_track_encoded() -> None:
    (track,) = Tracker().update([A], now=2.0)
    assert needs_encoding(track, 2.0, 1.0)
    track.vote("Obama", 0.4, 0.8, now=2.0)
    assert not needs_encoding(track, 2.5, 1.0)
    assert track.name == "Obama"
    assert track.evidence == Vote("Obama", 0.4, 0.8)


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ([], UNKNOWN),
        ([Vote("Obama", 0.4, 0.9)], "Obama"),
        # one bad match does not flip a stable label
        ([Vote("Obama", 0.4, 0.9), Vote("Obama", 0.4, 0.9), Vote("Biden", 0.55, 0.6)], "Obama"),
        ([Vote("Obama", 0.4, 0.9), Vote("Obama", 0.4, 0.9), Vote(UNKNOWN, 0.62, 0.47)], "Obama"),
        # a confident name beats a borderline miss
        ([Vote(UNKNOWN, 0.62, 0.47), Vote("Obama", 0.3, 0.95)], "Obama"),
        # repeated clear misses win over an old weak match
        ([Vote("Obama", 0.58, 0.55), Vote(UNKNOWN, 0.9, 0.12), Vote(UNKNOWN, 0.9, 0.12)], UNKNOWN),
        # equal weight: the newest name wins
        ([Vote("Obama", 0.4, 0.8), Vote("Biden", 0.4, 0.8)], "Biden"),
    ],
)
def test_winner(votes, expected) -> None:
    assert winner(votes) == expected


def test_votes_are_bounded_so_a_label_can_change() -> None:
    tracker = Tracker(votes_kept=3)
    (track,) = tracker.update([A], now=0.0)
    for i in range(3):
        track.vote("Obama", 0.4, 0.9, now=float(i))
    assert track.name == "Obama"
    for i in range(3):
        track.vote("Biden", 0.4, 0.9, now=3.0 + i)
    assert track.name == "Biden"
    assert len(track.votes) == 3


def test_coasting_reports_named_tracks_the_detector_missed_for_a_while() -> None:
    tracker = Tracker(expire_seconds=1.0)
    named, _unnamed = tracker.update([A, B], now=0.0)
    named.vote("Obama", 0.4, 0.9, now=0.0)
    detected = tracker.update([], now=0.4)
    assert detected == []
    assert tracker.coasting(detected, now=0.4, within=0.6) == [named], "unnamed tracks are not drawn blind"
    assert tracker.coasting(detected, now=0.7, within=0.6) == []
    (again,) = tracker.update([A_MOVED], now=0.9)
    assert again.id == named.id and again.name == "Obama", "the track survived the misses with its votes"
    assert tracker.coasting([again], now=0.9, within=0.6) == []


def test_follow_measures_a_smoothed_velocity() -> None:
    first = follow(None, (100, 200, 200, 100), 0.0)
    assert first.velocity == (0.0, 0.0, 0.0, 0.0)
    second = follow(first, (100, 220, 200, 120), 0.5)  # moving right at 40 px/s
    assert second.velocity == pytest.approx((0.0, 20.0, 0.0, 20.0))  # half-way there: smoothing 0.5
    third = follow(second, (100, 240, 200, 140), 1.0)
    assert third.velocity == pytest.approx((0.0, 30.0, 0.0, 30.0))
    assert follow(third, (0, 0, 0, 0), 1.0) == Motion((0, 0, 0, 0), 1.0, third.velocity), "no time, no speed"


def test_predict_extrapolates_within_the_horizon_only() -> None:
    motion = Motion((100, 200, 200, 100), 10.0, (0.0, 40.0, 0.0, 40.0))
    assert predict(motion, 10.25, horizon=0.5) == (100, 210, 200, 110)
    assert predict(motion, 12.0, horizon=0.5) == (100, 220, 200, 120)
    assert predict(motion, 9.0, horizon=0.5) == motion.box, "an older frame keeps the last box"


def test_followed_needs_every_track_encoded_or_too_small_to_encode() -> None:
    tracker = Tracker()
    assert not all_tracks_looked_at(tracker.tracks, 20)
    a, b, _tiny = tracker.update([A, B, (500, 515, 515, 500)], now=0.0)
    a.vote("Obama", 0.4, 0.9, 0.0)
    assert not all_tracks_looked_at(tracker.tracks, 20), "b not encoded yet"
    b.vote(UNKNOWN, 0.8, 0.2, 0.0)
    assert all_tracks_looked_at(tracker.tracks, 20), "an Unknown face is followed too; a 15 px one cannot be encoded"
    assert not all_tracks_looked_at(tracker.tracks, 10), "… unless it could be"


def test_search_regions_grow_clamp_and_merge() -> None:
    shape = (720, 1280, 3)
    assert search_regions([A], 1.0, shape) == [(0, 300, 300, 0)]  # 100 px each side, clamped at 0
    assert search_regions([(600, 1250, 700, 1150)], 0.5, shape) == [(550, 1280, 720, 1100)]
    # B's region overlaps A's once both grow by 2 × their size: one region covering both.
    assert search_regions([A, B], 2.0, shape) == [(0, 800, 400, 0)]
    assert search_regions([A, B], 0.5, shape) == [(50, 250, 250, 50), (50, 650, 250, 450)]


def test_merge_overlapping_chains_and_drops_empty() -> None:
    regions = [(0, 10, 10, 0), (5, 20, 15, 8), (12, 30, 20, 18), (50, 60, 60, 50), (5, 5, 5, 5)]
    assert merge_overlapping(regions) == [(0, 30, 20, 0), (50, 60, 60, 50)]


def test_offset_boxes_moves_crop_boxes_into_the_frame() -> None:
    assert offset_boxes([(1, 20, 30, 4)], top=100, left=200) == [(101, 220, 130, 204)]


def test_child_scans_the_whole_frame_until_every_face_was_encoded_then_now_and_then() -> None:
    shape = (720, 1280, 3)
    whole = [(0, 1280, 720, 0)]
    state = ChildCamera(Tracker())
    assert RecognitionChild.regions(state, shape, 0.0) == whole  # nothing tracked
    (track,) = state.tracker.update([A], 0.0)
    assert RecognitionChild.regions(state, shape, 0.1) == whole, "a face not encoded yet: keep scanning everything"
    track.vote("Obama", 0.4, 0.9, 0.1)
    assert RecognitionChild.regions(state, shape, 0.2) == search_regions([A], 1.0, shape)
    assert RecognitionChild.regions(state, shape, 0.1 + FULL_SCAN_SECONDS) == whole, \
        "newcomers are still looked for"
    assert RecognitionChild.regions(state, shape, 0.2 + FULL_SCAN_SECONDS) != whole


def test_recheck_backs_off_while_the_name_is_confirmed() -> None:
    named, unknown = Vote("Ann", 0.3, 0.9), Vote(UNKNOWN, 0.8, 0.2)
    assert recheck_interval([], 2.0, 8.0) == 2.0
    assert recheck_interval([named], 2.0, 8.0) == 2.0
    assert recheck_interval([named, named], 2.0, 8.0) == 4.0
    assert recheck_interval([named] * 5, 2.0, 8.0) == 8.0  # capped
    assert recheck_interval([named] * 4 + [Vote("Bob", 0.5, 0.6)], 2.0, 8.0) == 2.0  # contested: back to base
    assert recheck_interval([unknown] * 5, 2.0, 8.0) == 2.0  # an unknown face may yet be named
    assert recheck_interval([named] * 5, 2.0, None) == 2.0  # no maximum: the fixed rate


def test_needs_encoding_follows_the_backed_off_interval() -> None:
    track = Track(1, (0, 10, 10, 0), 0.0)
    assert needs_encoding(track, 0.0, 2.0, 8.0)
    for now in (0.0, 2.0, 6.0):
        track.vote("Ann", 0.3, 0.9, now)
    assert not needs_encoding(track, 6.0 + 7.9, 2.0, 8.0)  # three confirmations: 8 s
    assert needs_encoding(track, 6.0 + 8.0, 2.0, 8.0)
    assert needs_encoding(track, 6.0 + 2.0, 2.0)  # without a maximum the old fixed rate holds


def test_focus_region_grows_a_small_change_to_a_searchable_size() -> None:
    from facedaemon.faces.boxes import focus_region

    shape = (720, 1280, 3)
    top, right, bottom, left = focus_region((200, 440, 360, 300), 0.5, 1 / 3, shape)
    assert top <= 120 and bottom >= 440 and left <= 230 and right >= 510  # the change plus half its size each way
    tiny = focus_region((700, 1280, 720, 1260), 0.5, 1 / 3, shape)  # a corner patch
    assert tiny[2] - tiny[0] == 240 and tiny[1] - tiny[3] == 427  # at least a third of the frame each way
    assert tiny[1] == 1280 and tiny[2] == 720  # … and still inside it
    assert focus_region((0, 1280, 720, 0), 0.5, 1 / 3, shape) == (0, 1280, 720, 0)


def test_a_hint_narrows_the_search_only_while_nobody_is_tracked() -> None:
    state = ChildCamera(Tracker())
    shape = (720, 1280, 3)
    [region] = RecognitionChild.regions(state, shape, 0.0, hint=(200, 440, 360, 300))
    assert region != (0, 1280, 720, 0)
    assert state.last_full_scan is None  # a hinted look is no full scan
    state.tracker.update([(10, 110, 110, 10)], 0.0)
    assert RecognitionChild.regions(state, shape, 0.1, hint=(200, 440, 360, 300)) == [(0, 1280, 720, 0)]


def test_a_box_that_shrank_is_extrapolated_at_its_size() -> None:
    first = follow(None, (100, 300, 300, 100), 0.0)
    second = follow(first, (120, 300, 280, 140), 0.5)  # narrower (a face turning), centre moved 10 px right
    top, right, bottom, left = predict(second, 1.0, horizon=0.5)
    assert (bottom - top, right - left) == (160, 160), "size as last seen, not shrinking further"
    assert (left + right) / 2 > (140 + 300) / 2, "still moving right"


# Faces followed by motion (associate): a worker that answers late looks at a camera 0.6-1.1 s apart or more.
FACE = 48  # px: the 1080p bench clip's face


def face_at(x: float, y: float = 300.0, size: int = FACE) -> tuple[int, int, int, int]:
    """A square face box whose centre is at (x, y)."""
    half = size / 2
    return (round(y - half), round(x + half), round(y + half), round(x - half))


def test_a_small_face_walking_keeps_its_track_when_looked_at_a_second_apart() -> None:
    """The 1080p bench clip's face (48 px, 60 px/s) moves more than its width between looks 1 s apart: by overlap
    alone every look was a new track, encoded and decided afresh (docs/performance.md, "The cause, replayed")."""
    tracker = Tracker(expire_seconds=1.0)
    (first,) = tracker.update([face_at(100)], now=0.0)
    first.vote("Obama", 0.4, 0.9, now=0.0)
    for look in range(1, 8):
        (track,) = tracker.update([face_at(100 + 60 * look)], now=float(look))
        assert track.id == first.id and track.name == "Obama", f"look {look}"
        if look == 1:
            track.vote("Obama", 0.4, 0.9, now=1.0)  # the first leap is judged again (next test)
        else:
            assert not track.stale and track.last_encoded == 1.0, f"look {look}: followed by its motion"
    assert len(tracker.tracks) == 1


def test_the_first_leap_of_a_track_is_judged_again_keeping_its_label_meanwhile() -> None:
    """A leap (no overlap, followed by distance alone) may be someone who stepped in where a face the detector
    missed was: the next look decides the label alone, as a new face's would, but the name does not blink."""
    tracker = Tracker(expire_seconds=1.0)
    (first,) = tracker.update([face_at(100)], now=0.0)
    first.vote("Obama", 0.4, 0.9, now=0.0)
    (track,) = tracker.update([face_at(160)], now=1.0)
    assert track.id == first.id and track.name == "Obama"
    assert track.stale and needs_encoding(track, 1.0, recheck_seconds=2.0)
    track.vote("Biden", 0.35, 0.9, now=1.0)
    assert track.name == "Biden", "someone else: his own look names him, the old votes do not outvote it"


@pytest.mark.parametrize("gap", [0.35, 0.6, 1.0])
def test_two_faces_passing_each_other_keep_their_tracks(gap: float) -> None:
    """Walking towards each other at 60 px/s, a face apart in height, looked at `gap` s apart: each track follows
    its own face through the crossing (a swapped name is worse than a re-encoding)."""
    tracker = Tracker(expire_seconds=1.0)
    left, right = tracker.update([face_at(100, 300), face_at(400, 340)], now=0.0)
    steps = round(6.0 / gap)
    for step in range(1, steps + 1):
        now = step * gap
        # the detector's order varies: the right-hand walker first on odd looks
        boxes = [face_at(100 + 60 * now, 300), face_at(400 - 60 * now, 340)]
        order = [1, 0] if step % 2 else [0, 1]
        found = dict(zip(order, tracker.update([boxes[i] for i in order], now=now), strict=True))
        assert (found[0].id, found[1].id) == (left.id, right.id), f"look at {now:.2f} s"


def test_two_faces_side_by_side_keep_their_tracks_when_one_is_missed() -> None:
    """Standing cheek to cheek (centres 1.2 faces apart), looked at 1 s apart: the one found keeps its own
    track whichever the detector missed, and neither takes the other's (kept 2.5 s when missed here)."""
    tracker = Tracker(expire_seconds=2.5)
    a, b = tracker.update([face_at(200), face_at(258)], now=0.0)
    (only_b,) = tracker.update([face_at(261)], now=1.0)
    assert only_b.id == b.id
    a2, b2 = tracker.update([face_at(198), face_at(259)], now=2.0)
    assert (a2.id, b2.id) == (a.id, b.id)
    (only_a,) = tracker.update([face_at(203)], now=3.0)
    assert only_a.id == a.id


@pytest.mark.parametrize("gap", [0.2, 1.0, 1.5, 5.0])
def test_a_face_far_from_where_one_was_is_a_new_track(gap: float) -> None:
    """Someone entering at the other end of the picture while the face that was tracked left is someone new."""
    tracker = Tracker(expire_seconds=1.0)
    (first,) = tracker.update([face_at(100)], now=0.0)
    first.vote("Obama", 0.4, 0.9, now=0.0)
    (other,) = tracker.update([face_at(100 + 6 * FACE)], now=gap)
    assert other.id != first.id and other.name != "Obama"


@pytest.mark.parametrize("gap", [0.6, 1.1, 1.5, 3.0])
def test_someone_stepping_in_two_faces_from_where_someone_left_is_someone_new(gap: float) -> None:
    """The labels bench's strangers take turns 0.23 of the frame apart (bench/labels_clip.py STRANGER_SPOTS: 294
    px, two heights of their 150 px faces): with a worker that looks `gap` s apart the next one is found where the
    last one was just seen. His own track: his own crops, his own unknown visit, no name carried over."""
    tracker = Tracker(expire_seconds=10.0)
    (first,) = tracker.update([face_at(0.62 * 1280, 324, 150)], now=0.0)
    first.vote(UNKNOWN, 0.8, 0.2, now=0.0)
    (other,) = tracker.update([face_at(0.85 * 1280, 324, 150)], now=gap)
    assert other.id != first.id


def test_a_far_jump_along_a_known_motion_is_still_a_new_track() -> None:
    """The prediction is capped: a face walking right and lost for long is not found anywhere along the line."""
    tracker = Tracker(expire_seconds=10.0)
    (first,) = tracker.update([face_at(100)], now=0.0)
    tracker.update([face_at(160)], now=1.0)
    (other,) = tracker.update([face_at(160 + 60 * 8)], now=9.0)
    assert other.id != first.id


def test_a_face_walking_up_to_the_camera_keeps_its_track_as_it_grows() -> None:
    """Walking towards the camera and across: 48 → 90 px in 4 s, looked at 1 s apart."""
    tracker = Tracker(expire_seconds=1.0)
    (first,) = tracker.update([face_at(100, 300, 48)], now=0.0)
    for look, size in enumerate((58, 68, 78, 90), start=1):
        (track,) = tracker.update([face_at(100 + 40 * look, 300 + 10 * look, size)], now=float(look))
        assert track.id == first.id, f"look {look}: {size} px"


def test_a_face_much_bigger_or_smaller_where_one_was_is_a_new_track() -> None:
    """A child's small face stepping in beside where a grown-up's was, or a face close to the camera in front of
    a distant one: not the same face, however near the centres."""
    tracker = Tracker(expire_seconds=1.0)
    (first,) = tracker.update([face_at(100, 300, 48)], now=0.0)
    (near,) = tracker.update([face_at(160, 300, 96)], now=1.0)
    assert near.id != first.id

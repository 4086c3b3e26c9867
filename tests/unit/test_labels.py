"""The three labels (a name, Unknown, the neutral "face"): per-detection quality, the one "can it be judged" rule,
how judgeable looks decide a track's label, and the best shot. Pure: no models, no files."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from facedaemon.faces import pose
from facedaemon.faces.quality import (
    ENCODE_MIN_PX,
    MAX_PITCH_DEG,
    MAX_YAW_DEG,
    MIN_JUDGE_SCORE,
    MIN_LIVE_SHARPNESS,
    TURNED_MAX_YAW_DEG,
    TURNED_NAME_DISTANCE,
    TURNED_NAME_MARGIN,
    UNKNOWN_MIN_PX,
    LiveQuality,
    judgeable,
    may_name,
    not_judgeable,
    pose_from_keypoints,
    pose_from_landmarks5,
    shot_score,
    turned_but_nameable,
)
from facedaemon.faces.tracker import (
    FAR_BEYOND_TOLERANCE,
    NAME_MARGIN,
    TURNED_RETRY_SECONDS,
    UNDECIDED_RECHECK_SECONDS,
    UNKNOWN_AFTER_MISSES,
    BestShot,
    Track,
    Vote,
    ballot,
    decide,
    decisive,
    needs_encoding,
    offer_shot,
    wants_better_shot,
    wants_encoding,
)
from facedaemon.faces.types import FACE, UNKNOWN, is_person

TOLERANCE = 0.6
CLEAR = LiveQuality(120, 900.0, 3.0, -2.0, 0.95)


def quality(**changes: float | None) -> LiveQuality:
    values = {"height": 120, "sharpness": 900.0, "yaw": 3.0, "pitch": -2.0, "score": 0.95} | changes
    return LiveQuality(**values)  # type: ignore[arg-type]


# --- can this face be judged? -------------------------------------------------------------------------------------


def test_a_clear_frontal_face_can_be_judged() -> None:
    assert judgeable(CLEAR) and not_judgeable(CLEAR) is None


@pytest.mark.parametrize(("changes", "reason"), [
    ({"height": UNKNOWN_MIN_PX - 1}, "too small"),
    ({"sharpness": MIN_LIVE_SHARPNESS - 1}, "too blurred"),
    ({"yaw": MAX_YAW_DEG + 1}, "turned away"),
    ({"yaw": -MAX_YAW_DEG - 1}, "turned away"),
    ({"pitch": MAX_PITCH_DEG + 1}, "looking up or down"),
    ({"score": MIN_JUDGE_SCORE - 0.01}, "unsure detection"),
])
def test_each_limit_refuses_a_face_with_a_reason(changes: dict, reason: str) -> None:
    look = quality(**changes)
    assert not judgeable(look)
    assert reason in (not_judgeable(look) or "")


def test_a_match_counts_from_the_encoding_size_a_miss_only_from_the_unknown_size() -> None:
    small = quality(height=ENCODE_MIN_PX)
    assert judgeable(small, match=True) and not judgeable(small)
    assert not judgeable(quality(height=ENCODE_MIN_PX - 1), match=True)
    assert not judgeable(quality(height=ENCODE_MIN_PX, yaw=80.0), match=True), "size is the only difference"


def test_hog_faces_without_a_score_or_pose_are_judged_on_size_and_sharpness() -> None:
    assert judgeable(quality(yaw=None, pitch=None, score=None))


# --- pose: quality's entry points are faces/pose.py's calibrated estimators (tested in test_pose.py) -------------


def blazeface_points(turn: float = 0.0, drop: float = 0.0) -> list[tuple[float, float]]:
    """A synthetic face 100 px between the eyes: `turn` moves the nose tip sideways, `drop` down (eye distances)."""
    return [(100.0, 100.0), (200.0, 100.0), (150.0 + 100 * turn, 160.0 + 100 * drop), (150.0, 210.0),
            (40.0, 130.0), (260.0, 130.0)]


def test_blazeface_pose_is_pose_modules_reading_and_a_turned_nose_is_beyond_the_limits() -> None:
    assert pose_from_keypoints(blazeface_points()) == pose.yaw_pitch_from_blazeface(blazeface_points())
    assert abs(pose_from_keypoints(blazeface_points())[0]) < 1
    assert abs(pose_from_keypoints(blazeface_points(turn=0.45))[0]) > MAX_YAW_DEG
    assert abs(pose_from_keypoints(blazeface_points(drop=0.4))[1]) > MAX_PITCH_DEG


def test_dlib_pose_reads_dlibs_point_order_as_face_recognition_names_it() -> None:
    eyes = [(80.0, 100.0), (120.0, 100.0), (220.0, 100.0), (180.0, 100.0)]
    named = {"right_eye": eyes[0:2], "left_eye": eyes[2:4], "nose_tip": [(185.0, 175.0)]}
    assert pose_from_landmarks5([*eyes, (185.0, 175.0)]) == pose.yaw_pitch_from_landmarks5(named)
    assert abs(pose_from_landmarks5([*eyes, (150.0, 175.0)])[0]) < 1
    assert abs(pose_from_landmarks5([*eyes, (185.0, 175.0)])[0]) > MAX_YAW_DEG


# --- deciding a track's label -------------------------------------------------------------------------------------


def miss(distance: float = 0.7, *, far: bool = False) -> Vote:
    distance = TOLERANCE + FAR_BEYOND_TOLERANCE + 0.05 if far else distance
    return Vote(UNKNOWN, distance, 0.3, decisive(UNKNOWN, distance, None, TOLERANCE))


def match(name: str, distance: float = 0.4, runner_up: float | None = None) -> Vote:
    return Vote(name, distance, 0.8, decisive(name, distance, runner_up, TOLERANCE))


def run(label: str, *votes: Vote) -> str:
    cast: deque[Vote] = deque(maxlen=5)
    for vote in votes:
        cast.append(vote)
        label = decide(label, cast)
    return label


def test_a_new_face_becomes_unknown_after_two_misses_or_one_very_far() -> None:
    assert UNKNOWN_AFTER_MISSES == 2
    assert run(FACE, miss()) == FACE
    assert run(FACE, miss(), miss()) == UNKNOWN
    assert run(FACE, miss(far=True)) == UNKNOWN


def test_a_miss_ruled_out_by_a_negative_is_decisive() -> None:
    assert decisive(UNKNOWN, 0.47, None, TOLERANCE)


def test_a_match_names_only_when_the_next_person_is_farther_by_the_margin() -> None:
    assert run(FACE, match("ChengHaoXie", 0.45, 0.47)) == FACE, "the look-alike is as near: no name"
    assert run(FACE, match("ChengHaoXie", 0.40, 0.40 + NAME_MARGIN + 1e-6)) == "ChengHaoXie"
    assert run(FACE, match("Ann", 0.40, None)) == "Ann", "nobody else near"


def test_a_named_track_keeps_its_name_through_a_couple_of_misses() -> None:
    assert run(FACE, match("Ann"), match("Ann"), miss(), miss()) == "Ann"
    assert run(FACE, match("Ann"), miss(far=True)) == "Ann"


def test_a_named_track_becomes_unknown_when_misses_win() -> None:
    assert run(FACE, match("Ann", 0.58), miss(0.9), miss(0.9)) == UNKNOWN


def test_an_unknown_track_is_named_by_one_clear_match() -> None:
    assert run(FACE, miss(far=True), match("Ann")) == "Ann"


def test_another_person_must_win_the_vote() -> None:
    assert run(FACE, match("Ann"), match("Ann"), match("Bo")) == "Ann"
    assert run(FACE, match("Ann"), match("Bo"), match("Bo")) == "Bo"


def test_an_undecided_track_is_looked_at_again_soon() -> None:
    face = Track(1, (0, 100, 100, 0), 0.0)
    face.vote(UNKNOWN, 0.7, 0.3, 10.0, decisive=False)
    assert face.label == FACE
    assert needs_encoding(face, 10.0 + UNDECIDED_RECHECK_SECONDS, recheck_seconds=2.0)
    assert not needs_encoding(face, 10.0 + UNDECIDED_RECHECK_SECONDS - 0.01, recheck_seconds=2.0)


def test_a_forgotten_person_reads_face_until_judged_again() -> None:
    face = Track(1, (0, 100, 100, 0), 0.0)
    face.vote("Ann", 0.4, 0.8, 0.0)
    face.redecide({"Bo"})
    assert face.label == FACE
    kept = Track(2, (0, 100, 100, 0), 0.0)
    kept.vote("Bo", 0.4, 0.8, 0.0)
    kept.redecide({"Bo"})
    assert kept.label == "Bo"


names = st.sampled_from(["Ann", "Bo"])
distances = st.floats(0.0, 1.2)
votes = st.one_of(
    st.builds(lambda d, far: Vote(UNKNOWN, d, 0.3, far), distances, st.booleans()),
    st.builds(lambda n, d, clear: Vote(n, d, 0.8, clear), names, distances, st.booleans()),
)
labels = st.sampled_from([FACE, UNKNOWN, "Ann", "Bo"])


@given(labels, st.lists(votes, max_size=12))
def test_property_only_a_vote_can_change_a_label(label: str, cast: list[Vote]) -> None:
    """Non-judgeable looks cast no vote, so whatever happened before, no vote means no change."""
    history: deque[Vote] = deque(cast, maxlen=5)
    assert decide(label, deque()) == label
    after = decide(label, history)
    if history:
        newest = history[-1]
        # A label moves only towards the newest vote's verdict, never to FACE, never to a name nobody voted for.
        assert after in (label, newest.name)


@given(names, st.lists(votes, max_size=12))
def test_property_a_named_track_never_becomes_unknown_without_a_judgeable_miss(name: str, cast: list[Vote]) -> None:
    label = name
    history: deque[Vote] = deque(maxlen=5)
    for vote in cast:
        if vote.name == UNKNOWN:
            continue  # only non-judgeable looks (no votes) and matches reach this track
        history.append(vote)
        label = decide(label, history)
    assert label != UNKNOWN and label != FACE and is_person(label)


@given(st.lists(votes, max_size=12))
def test_property_a_label_never_returns_to_face(cast: list[Vote]) -> None:
    label, history = FACE, deque(maxlen=5)
    decided = False
    for vote in cast:
        history.append(vote)
        label = decide(label, history)
        decided |= label != FACE
        assert not (decided and label == FACE)


def test_the_api_says_why_the_newest_look_was_not_judged() -> None:
    from facedaemon.worker.child import why_not

    face = Track(1, (0, 100, 100, 0), 0.0)
    assert why_not(face) is None, "not measured yet"
    face.quality = quality(height=30)
    assert "too small" in (why_not(face) or "")
    face.vote("Ann", 0.4, 0.8, 0.0)
    assert why_not(face) is None, "a match counts at this size: the named face was judgeable"
    face.quality = quality(yaw=60.0)
    assert "turned away" in (why_not(face) or "")


looks = st.builds(LiveQuality, st.integers(1, 300), st.floats(0, 3000), st.floats(-80, 80), st.floats(-60, 60),
                  st.floats(0.6, 1.0))
outcomes = st.tuples(st.sampled_from(["Ann", "Bo", UNKNOWN]), st.floats(0.0, 1.2),
                     st.one_of(st.none(), st.floats(0.0, 1.2)))


@given(st.lists(st.tuples(looks, outcomes), max_size=15))
def test_property_looks_that_cannot_be_judged_never_count(seen: list) -> None:
    """Whatever the looks that could not be judged said, the label is what the judgeable ones alone decide, and the
    close, clear matches of faces turned a little past the limit (the only unjudged looks that vote: names only)."""
    every, judged_only = Track(1, (0, 100, 100, 0), 0.0), Track(2, (0, 100, 100, 0), 0.0)
    for now, (look, (name, distance, second)) in enumerate(seen):
        vote = ballot(look, name, distance, 0.5, second, TOLERANCE, every.label)  # what the worker does
        if vote is not None:
            every.vote(vote.name, vote.distance, vote.confidence, float(now), vote.decisive)
        if judgeable(look, match=is_person(name)):  # the judgeable looks alone, voted directly
            judged_only.vote(name, distance, 0.5, float(now), decisive(name, distance, second, TOLERANCE))
        elif vote is not None:
            assert turned_but_nameable(look) and is_person(name) and distance <= TURNED_NAME_DISTANCE
            assert second is None or second - distance >= TURNED_NAME_MARGIN
            judged_only.vote(name, distance, 0.5, float(now), True)
    assert every.label == judged_only.label


@given(names, st.lists(st.tuples(looks, outcomes), max_size=15))
def test_property_a_named_track_never_becomes_unknown_from_looks_that_cannot_be_judged(name: str,
                                                                                      seen: list) -> None:
    face = Track(1, (0, 100, 100, 0), 0.0)
    face.vote(name, 0.3, 0.9, 0.0)
    refused = [(look, outcome) for look, outcome in seen if not judgeable(look, match=is_person(outcome[0]))]
    for now, (look, (said, distance, second)) in enumerate(refused, start=1):
        vote = ballot(look, said, distance, 0.5, second, TOLERANCE, face.label)  # what the worker does
        if vote is not None:
            face.vote(vote.name, vote.distance, vote.confidence, float(now), vote.decisive)
    assert face.label == name


# --- a face turned a little past the limit: a name on a close, clear match, never Unknown -------------------------

TURNED = quality(yaw=33.0)


def test_a_face_turned_33_degrees_cannot_be_judged_but_may_name() -> None:
    assert not judgeable(TURNED, match=True) and "turned away" in (not_judgeable(TURNED, match=True) or "")
    assert turned_but_nameable(TURNED) and turned_but_nameable(quality(yaw=-33.0)) and may_name(TURNED)
    assert not turned_but_nameable(CLEAR), "a judgeable face is judged by the ordinary rule"
    assert not turned_but_nameable(quality(yaw=TURNED_MAX_YAW_DEG + 1)) and not may_name(quality(yaw=50.0))
    assert not turned_but_nameable(quality(yaw=33.0, sharpness=MIN_LIVE_SHARPNESS - 1)), "yaw the only flaw"
    assert not turned_but_nameable(quality(yaw=33.0, score=None, pitch=None, height=ENCODE_MIN_PX - 1))


def test_a_face_turned_33_degrees_at_a_close_distance_with_a_clear_margin_names() -> None:
    face = Track(1, (0, 100, 100, 0), 0.0)
    vote = ballot(TURNED, "Ann", 0.35, 0.8, 0.35 + TURNED_NAME_MARGIN + 0.01, TOLERANCE, face.label)
    assert vote is not None and vote.decisive
    face.vote(vote.name, vote.distance, vote.confidence, 1.0, vote.decisive)
    assert face.label == "Ann"
    assert ballot(TURNED, "Ann", 0.35, 0.8, None, TOLERANCE) is not None, "nobody else near"


def test_a_face_turned_33_degrees_at_an_ordinary_distance_stays_face() -> None:
    assert ballot(TURNED, "Ann", 0.5, 0.7, None, TOLERANCE) is None, "0.5 names a frontal face, not a turned one"
    assert ballot(TURNED, "Ann", TURNED_NAME_DISTANCE + 0.01, 0.7, None, TOLERANCE) is None
    assert ballot(TURNED, "Ann", 0.35, 0.8, 0.35 + TURNED_NAME_MARGIN - 0.01, TOLERANCE) is None, "look-alike near"
    assert ballot(quality(yaw=45.0), "Ann", 0.2, 0.9, None, TOLERANCE) is None, "past the turned limit"
    assert ballot(CLEAR, "Ann", 0.5, 0.7, None, TOLERANCE) is not None, "the same match, frontal"


@pytest.mark.parametrize("distance", [0.61, 0.7, 0.9, 1.1])
def test_a_face_turned_33_degrees_that_matches_nobody_never_makes_unknown(distance: float) -> None:
    for label in (FACE, "Ann", UNKNOWN):
        assert ballot(TURNED, UNKNOWN, distance, 0.2, None, TOLERANCE, label) is None
    face = Track(1, (0, 100, 100, 0), 0.0)
    for now in range(6):  # what the worker does with each encoded look: no vote, no label
        vote = ballot(TURNED, UNKNOWN, distance, 0.2, None, TOLERANCE, face.label)
        if vote is not None:
            face.vote(vote.name, vote.distance, vote.confidence, float(now), vote.decisive)
    assert face.label == FACE


def test_a_turned_match_neither_renames_a_track_nor_unmakes_an_unknown() -> None:
    """Only judgeable evidence changes a label that is decided: a turned look names an unnamed track or confirms."""
    assert ballot(TURNED, "Bo", 0.3, 0.9, None, TOLERANCE, "Ann") is None
    assert ballot(TURNED, "Bo", 0.3, 0.9, None, TOLERANCE, UNKNOWN) is None
    assert ballot(TURNED, "Ann", 0.3, 0.9, None, TOLERANCE, "Ann") is not None


def test_a_turned_look_that_named_nobody_does_not_put_off_the_next_judgeable_look() -> None:
    face = Track(1, (0, 100, 100, 0), 0.0)
    face.quality = TURNED
    assert wants_encoding(face, TURNED, shot_score(TURNED), 10.0, recheck_seconds=2.0), "a new face: encode"
    face.turned_tried = 10.0  # what the worker sets when that look named nobody
    assert not wants_encoding(face, TURNED, shot_score(TURNED), 10.0 + TURNED_RETRY_SECONDS - 0.01, 2.0)
    assert wants_encoding(face, TURNED, shot_score(TURNED), 10.0 + TURNED_RETRY_SECONDS, 2.0)
    assert wants_encoding(face, CLEAR, shot_score(CLEAR), 10.04, 2.0), "the first judgeable look: at once"
    assert not wants_encoding(face, quality(yaw=60.0), 0.1, 20.0, 2.0), "too far turned: never encoded"


# --- best shot ------------------------------------------------------------------------------------------------------


def shot(look: LiveQuality) -> BestShot:
    return BestShot(shot_score(look), look, (0, 100, 100, 0), np.zeros((4, 4, 3), np.uint8), (1, 3, 3, 1),
                    np.zeros(128), 0.0)


def test_shot_score_prefers_bigger_sharper_frontal_and_judgeable_looks() -> None:
    assert shot_score(quality(height=150)) > shot_score(quality(height=60))
    assert shot_score(quality(sharpness=1500.0)) > shot_score(quality(sharpness=200.0))
    assert shot_score(quality(yaw=5.0)) > shot_score(quality(yaw=30.0))
    assert shot_score(quality(yaw=MAX_YAW_DEG - 1)) > shot_score(quality(yaw=MAX_YAW_DEG + 1)) * 1.5
    assert shot_score(quality(height=400)) == shot_score(quality(height=200)), "a big face is big enough"


@given(st.lists(st.builds(LiveQuality, st.integers(1, 400), st.floats(0, 5000), st.floats(-90, 90),
                          st.floats(-90, 90), st.floats(0.6, 1.0)), min_size=1, max_size=10))
def test_property_the_best_shot_is_the_best_scored_look(looks: list[LiveQuality]) -> None:
    face = Track(1, (0, 100, 100, 0), 0.0)
    for look in looks:
        offer_shot(face, shot(look))
    assert face.best is not None and face.best.score == max(shot_score(look) for look in looks)


def test_a_clearly_better_look_is_encoded_at_most_once_a_second() -> None:
    face = Track(1, (0, 100, 100, 0), 0.0, last_encoded=0.0)
    offer_shot(face, shot(quality(height=50)))
    face.last_shot = 0.0
    better = shot_score(quality(height=150))
    assert not wants_better_shot(face, better, 0.5), "bounded per second"
    assert wants_better_shot(face, better, 1.0)
    assert not wants_better_shot(face, shot_score(quality(height=55)), 2.0), "not clearly better"


def test_the_worker_names_a_turned_face_only_on_a_close_clear_match(tmp_path) -> None:
    """RecognitionChild.judge with a real gallery (no models: the encodings are given): the runner-up is looked for
    far enough for the turned rule's margin, and a turned look that named nobody leaves the face unencoded-as-judged
    (the next judgeable look is encoded at once)."""
    from facedaemon.config.models import RecognitionConfig
    from facedaemon.faces.matcher import KnownFaces, match_many
    from facedaemon.worker.child import RecognitionChild
    from facedaemon.worker.protocol import ChildSettings

    ann, along, across = np.zeros(128), np.eye(128)[0], np.eye(128)[1]
    query = ann + 0.35 * along  # 0.35 from Ann
    child = RecognitionChild(ChildSettings(tmp_path, None, RecognitionConfig()))

    def judged(bo: np.ndarray, near: np.ndarray = ann) -> Track:
        child.known = KnownFaces(("Ann", "Bo"), np.array([near, bo]))
        track = Track(1, (0, 100, 100, 0), 0.0)
        (m,) = match_many(child.known, [query], TOLERANCE)
        child.judge(track, TURNED, m, query, 5.0)
        return track

    clear = judged(query + 0.5 * across)  # Bo 0.5 away: 0.15 farther than Ann
    assert clear.label == "Ann"
    close = judged(query + 0.40 * across)  # Bo 0.40 away: within the turned margin, outside the ordinary one
    assert close.label == FACE and close.turned_tried == 5.0 and close.last_encoded is None
    missed = judged(query + 0.8 * across, near=query - 0.7 * across)  # nobody within the tolerance
    assert missed.label == FACE and not missed.votes, "a turned miss casts no vote"

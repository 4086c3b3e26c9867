"""Head pose from key points (faces/pose.py): geometry of a rigid head turned in front of the camera, and the
properties any pose must keep (mirror, roll, size and position)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from facedaemon.faces.pose import (
    BLAZEFACE_EAR_YAW_SCALE,
    BLAZEFACE_PITCH_SCALE,
    BLAZEFACE_PITCH_ZERO,
    BLAZEFACE_YAW_SCALE,
    DEGENERATE,
    LANDMARKS5_PITCH_ZERO,
    LANDMARKS5_YAW_SCALE,
    yaw_pitch_from_blazeface,
    yaw_pitch_from_landmarks5,
)

# A rigid head in eye distances (x: towards the person's left eye, i.e. the image's right; y: down; z: towards the
# camera), proportioned as the calibration found the average face, so an exact orthographic view of it must read
# back the angle it was turned by, from the eyes and from the ears alike.
MOUTH_Y = BLAZEFACE_YAW_SCALE / BLAZEFACE_PITCH_SCALE
EAR_Z = BLAZEFACE_YAW_SCALE - 2 * 1.1 * BLAZEFACE_EAR_YAW_SCALE  # ears 2.2 eye distances apart, behind the eyes
HEAD = {
    "right_eye": (-0.5, 0.0, 0.0), "left_eye": (0.5, 0.0, 0.0),
    "nose_tip": (0.0, BLAZEFACE_PITCH_ZERO * MOUTH_Y, BLAZEFACE_YAW_SCALE), "mouth": (0.0, MOUTH_Y, 0.0),
    "right_ear": (-1.1, 0.2, EAR_Z), "left_ear": (1.1, 0.2, EAR_Z),
    "right_eye_outer": (-0.7, 0.0, 0.0), "right_eye_inner": (-0.3, 0.0, 0.0),
    "left_eye_inner": (0.3, 0.0, 0.0), "left_eye_outer": (0.7, 0.0, 0.0),
    "nose_bottom": (0.0, LANDMARKS5_PITCH_ZERO, LANDMARKS5_YAW_SCALE),
}
BLAZEFACE_ORDER = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")


def view(yaw: float = 0.0, pitch: float = 0.0, size: float = 60.0, centre: tuple[float, float] = (320.0, 240.0)
         ) -> dict[str, tuple[float, float]]:
    """Image (x, y) of each head point after turning it by `yaw` (towards the image's right) and `pitch` (up)."""
    y, p = math.radians(yaw), math.radians(pitch)
    turn = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    nod = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    out = {}
    for name, point in HEAD.items():
        x, down, _ = turn @ nod @ np.array(point)
        out[name] = (centre[0] + size * x, centre[1] + size * down)
    return out


def blazeface_points(points: dict[str, tuple[float, float]]) -> list[tuple[float, float]]:
    return [points[name] for name in BLAZEFACE_ORDER]


def landmarks5(points: dict[str, tuple[float, float]]) -> dict[str, list[tuple[float, float]]]:
    """As face_recognition gives them: its "left_eye" is the eye on the image's left (the person's right eye)."""
    return {"left_eye": [points["right_eye_outer"], points["right_eye_inner"]],
            "right_eye": [points["left_eye_outer"], points["left_eye_inner"]],
            "nose_tip": [points["nose_bottom"]]}


@pytest.mark.parametrize("angle", [-75, -45, -20, -5, 0, 5, 20, 45, 75])
def test_a_turned_head_reads_back_its_yaw_and_a_level_pitch(angle: float) -> None:
    points = view(yaw=angle)
    assert yaw_pitch_from_blazeface(blazeface_points(points)) == pytest.approx((angle, 0.0), abs=1e-6)
    assert yaw_pitch_from_landmarks5(landmarks5(points)) == pytest.approx((angle, 0.0), abs=1e-6)


@pytest.mark.parametrize("angle", [-40, -20, -5, 0, 5, 20, 40])
def test_a_nodding_head_reads_back_its_pitch_and_no_yaw(angle: float) -> None:
    points = view(pitch=angle)
    assert yaw_pitch_from_blazeface(blazeface_points(points)) == pytest.approx((0.0, angle), abs=1e-6)
    # dlib's points have no mouth: the nose's drop is measured against the eye distance, which a nod does not
    # shrink, so the reading has the right sign but is compressed (as on real faces, see faces/pose.py).
    yaw, pitch = yaw_pitch_from_landmarks5(landmarks5(points))
    assert yaw == pytest.approx(0.0, abs=1e-6)
    assert pitch * angle > 0 or angle == 0 == pytest.approx(pitch, abs=1e-6)
    assert abs(pitch) <= abs(angle) + 1e-6


def test_a_profile_whose_hidden_eye_sits_next_to_the_other_reads_its_yaw_from_the_ears() -> None:
    points = view(yaw=-65)
    # BlazeFace's guess for the eye behind the nose: as far beyond the nose as the visible one is before it
    hidden = (2 * points["nose_tip"][0] - points["left_eye"][0], points["left_eye"][1])
    by_eyes_only = [hidden, points["left_eye"], points["nose_tip"], points["mouth"], (0.0, 0.0), (0.0, 0.0)]
    profile = [hidden, *blazeface_points(points)[1:]]
    assert yaw_pitch_from_blazeface(profile)[0] == pytest.approx(-65.0, abs=1e-6)
    assert yaw_pitch_from_blazeface(by_eyes_only)[0] == pytest.approx(0.0, abs=1e-6)  # ears coincide: eyes only
    assert yaw_pitch_from_blazeface(mirrored(profile))[0] == pytest.approx(65.0, abs=1e-6)


def test_pitch_grows_as_the_head_lifts_and_yaw_as_it_turns_right() -> None:
    for estimate, points_of in ((yaw_pitch_from_blazeface, blazeface_points), (yaw_pitch_from_landmarks5, landmarks5)):
        pitches = [estimate(points_of(view(yaw=10, pitch=a)))[1] for a in range(-40, 41, 10)]
        yaws = [estimate(points_of(view(yaw=a, pitch=10)))[0] for a in range(-60, 61, 10)]
        assert pitches == sorted(pitches) and len(set(pitches)) == len(pitches)
        assert yaws == sorted(yaws) and len(set(yaws)) == len(yaws)


def test_points_that_cannot_be_a_face_read_as_fully_turned() -> None:
    frontal = blazeface_points(view())
    same_eyes = [frontal[0], frontal[0], *frontal[2:]]
    mouth_above_eyes = [*frontal[:3], (frontal[3][0], frontal[0][1] - 30), *frontal[4:]]
    not_a_number = [frontal[0], (math.nan, 1.0), *frontal[2:]]
    for points in (same_eyes, mouth_above_eyes, not_a_number):
        assert yaw_pitch_from_blazeface(points) == DEGENERATE
    five = landmarks5(view())
    assert yaw_pitch_from_landmarks5({**five, "right_eye": five["left_eye"]}) == DEGENERATE
    assert yaw_pitch_from_landmarks5({**five, "nose_tip": [(math.inf, 0.0)]}) == DEGENERATE


def test_malformed_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"BlazeFace key points .* at least 6 \(x, y\) pairs, got shape \(4, 2\)"):
        yaw_pitch_from_blazeface([(0, 0), (1, 0), (0.5, 0.5), (0.5, 1.0)])
    with pytest.raises(ValueError, match="BlazeFace key points"):
        yaw_pitch_from_blazeface([(0, 0, 0)] * 6)
    with pytest.raises(ValueError, match="missing nose_tip"):
        yaw_pitch_from_landmarks5({"left_eye": [(0, 0)], "right_eye": [(1, 0)]})
    with pytest.raises(ValueError, match="landmarks nose_tip: expected"):
        yaw_pitch_from_landmarks5({"left_eye": [(0, 0)], "right_eye": [(1, 0)], "nose_tip": ["x"]})


# Any plausible face: eyes apart, nose and mouth below them, somewhere on a 4K frame, any size.
coordinate = st.floats(-2.0, 2.0, allow_nan=False)
plausible = st.tuples(
    st.floats(-0.9, 0.9), st.floats(0.1, 0.9),  # nose offset along the eye line, and down
    st.floats(-0.5, 0.5), st.floats(0.95, 1.6),  # mouth
    st.floats(-0.3, 0.3), st.floats(-0.3, 0.3),  # ears' wobble
)
placement = st.tuples(st.floats(5.0, 400.0), st.floats(-math.pi, math.pi), st.floats(0, 3840), st.floats(0, 2160))


def place(face: tuple[float, ...], where: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    """The face (eye-distance units, eyes at (-0.5, 0) and (0.5, 0)) scaled, rolled and moved onto an image."""
    nx, ny, mx, my, e1, e2 = face
    local = [(-0.5, 0.0), (0.5, 0.0), (nx, ny), (mx, my), (-1.0 + e1, 0.3 + e2), (1.0 + e2, 0.3 + e1)]
    size, roll, cx, cy = where
    c, s = math.cos(roll), math.sin(roll)
    return [(cx + size * (c * x - s * y), cy + size * (s * x + c * y)) for x, y in local]


def mirrored(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The same face in a mirror: x flipped, and the person's right eye and ear are now the ones labelled left."""
    flipped = [(3840.0 - x, y) for x, y in points]
    return [flipped[1], flipped[0], flipped[2], flipped[3], flipped[5], flipped[4]]


@given(plausible, placement)
def test_a_mirrored_face_has_the_opposite_yaw_and_the_same_pitch(face: tuple, where: tuple) -> None:
    points = place(face, where)
    yaw, pitch = yaw_pitch_from_blazeface(points)
    assert yaw_pitch_from_blazeface(mirrored(points)) == pytest.approx((-yaw, pitch), abs=1e-6)
    five = {"left_eye": [points[0]], "right_eye": [points[1]], "nose_tip": [points[2]]}
    flip = mirrored(points)
    five_mirrored = {"left_eye": [flip[0]], "right_eye": [flip[1]], "nose_tip": [flip[2]]}
    yaw5, pitch5 = yaw_pitch_from_landmarks5(five)
    assert yaw_pitch_from_landmarks5(five_mirrored) == pytest.approx((-yaw5, pitch5), abs=1e-6)


@given(plausible, placement, placement)
def test_roll_size_and_position_do_not_change_the_pose(face: tuple, here: tuple, there: tuple) -> None:
    assert yaw_pitch_from_blazeface(place(face, here)) == pytest.approx(
        yaw_pitch_from_blazeface(place(face, there)), abs=1e-6)


@given(st.floats(0.1, 0.9), st.floats(0.95, 1.6), placement)
def test_a_face_with_its_nose_and_mouth_between_the_eyes_has_no_yaw(nose_y: float, mouth_y: float,
                                                                     where: tuple) -> None:
    points = place((0.0, nose_y, 0.0, mouth_y, 0.0, 0.0), where)
    assert yaw_pitch_from_blazeface(points)[0] == pytest.approx(0.0, abs=1e-6)
    five = {"left_eye": [points[0]], "right_eye": [points[1]], "nose_tip": [points[2]]}
    assert yaw_pitch_from_landmarks5(five)[0] == pytest.approx(0.0, abs=1e-6)


@given(st.lists(st.tuples(coordinate, coordinate), min_size=6, max_size=6))
def test_any_points_give_finite_angles_within_a_quarter_turn(points: list[tuple[float, float]]) -> None:
    for angle in (*yaw_pitch_from_blazeface(points),
                  *yaw_pitch_from_landmarks5({"left_eye": points[:2], "right_eye": points[2:4],
                                              "nose_tip": points[4:5]})):
        assert math.isfinite(angle) and -90.0 <= angle <= 90.0

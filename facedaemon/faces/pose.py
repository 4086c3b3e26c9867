"""Head pose (yaw and pitch, degrees) from a detector's face key points. Pure numpy: no files, no models.

Both estimators work in the face's own frame, so in-plane rotation (roll), size and position do not matter: the
x axis runs from the person's right eye to their left eye, the y axis at a right angle to it, down the face, and
lengths are in units of the distance between the eyes. Turning the head moves the nose (which stands out of the
face) sideways against the eyes: yaw = atan(nose offset along the eye line / scale). Nodding moves it up or down
against the eyes and the mouth (BlazeFace) or against the eyes alone (dlib's 5 points, which have no mouth).

Signs: yaw > 0 when the face turns towards the image's right, pitch > 0 when it tilts up (towards the camera's
top). A mirrored image gives the opposite yaw and the same pitch.

Calibration: the eye-based scales and zero points below were fitted (`scripts/benchmarks/face_pose_distance.py
--calibrate`) on AFLW2000-3D (cleardusk/3DDFA test.configs: 2,000 real photos, hand-placed 68-point landmarks,
head angles of the fitted 3D face), standing in each detector's points by the 68-point landmarks at the same places
(BlazeFace: the eye centres, nose tip and mouth centre; dlib: the eye corners and the bottom of the nose). Mean error
for |yaw| <= 60 and |pitch| <= 40: BlazeFace yaw ~3 degrees below 15, ~5 at 15-30, ~8 at 30-60; dlib yaw ~3, ~7,
~12; pitch ~5-7 near level, under-read by ~6-9 beyond 15 (compressed, never flipped). A face looking into the lens
reads a few degrees down (AFLW2000's median is -6.5): the zero is the 3D face model's, not the camera's.

Near profile BlazeFace puts the hidden eye next to the visible one, and the eye-based yaw falls back towards 0
(a real ~65 degree profile read -5..+8). Its ear points stay apart, so BlazeFace's yaw is the larger of the
eye-based reading and the same reading taken against the ears (nose against the ears' middle, in ear distances);
the ear scale was fitted on BlazeFace's own points against the eye-based reading where that is reliable (10-40
degrees: 259 faces of the two clips in face_pose_distance.py, median ratio 0.92). Even so a profile reads ~30-45,
not 65-90: limits apply to these readings, which is what face_pose_distance.py tabulates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

# Recommended limits for "can this face be judged?" (issue 22), from scripts/benchmarks/face_pose_distance.py on
# real footage (docs/performance.md, "Face pose and distance"); quality.py is where they take effect. Angles are
# this module's readings (which run low near profile), sharpness is faces/quality.py face_sharpness at
# LIVE_SHARPNESS_SIDE. Within all four limits (273 looks) no known face's nearest gallery was someone else's and
# the right person stayed within 0.63 (3.3 % at 0.6 or more, all Lin-Manuel Miranda against his single photo).
RECOMMENDED_MAX_YAW_DEG = 25.0  # 15-25: 0-10 % of right-person looks >= 0.6; 25-35: 28 %, two nearer to another
RECOMMENDED_MAX_PITCH_DEG = 20.0  # the known faces filmed read -25..+5 (most -15..-5); beyond, unmeasured
RECOMMENDED_MIN_SHARPNESS = 200.0  # 100-200: 57 % of right-person looks >= 0.6 (7 looks); strangers within 0.6: < 60
RECOMMENDED_MIN_HEIGHT_PX = 48  # below 24 px: 53 % >= 0.6; 24-48: 10-17 %; 48-64: 3 %
# One judgeable look at least this far from every gallery is enough for Unknown: the right person as filmed,
# turned up to 45 degrees, never went past 0.73; frontal strangers sit at 0.77-0.95
# (face_size_distance.py). Nearer non-matches need a second judgeable look.
RECOMMENDED_VERY_FAR_DISTANCE = 0.75
# A judgeable match names the person only if the next person's gallery is at least this much farther: 0.7 % of the
# right person's judgeable looks had less (2.9 % under 0.08). The look-alike pair ChengHaoXie/KaiYuChen: 0.47.
RECOMMENDED_RUNNER_UP_MARGIN = 0.05

# Fitted on AFLW2000-3D (see above). YAW_SCALE: the nose's offset along the eye line, in eye distances, at 45
# degrees. PITCH_ZERO: where the nose sits on a level face; PITCH_SCALE: how far it moves at 45 degrees.
BLAZEFACE_YAW_SCALE = 0.668
BLAZEFACE_PITCH_ZERO = 0.465  # nose tip's depth below the eyes, as a fraction of the mouth's
BLAZEFACE_PITCH_SCALE = 0.68
BLAZEFACE_EAR_YAW_SCALE = 0.9  # the nose's offset from the ears' middle, in ear distances, at 45 degrees
LANDMARKS5_YAW_SCALE = 0.492  # dlib's nose point is the bottom of the nose, which stands out less than the tip
LANDMARKS5_PITCH_ZERO = 0.66  # bottom of the nose below the eye line, in (yaw-corrected) eye distances
LANDMARKS5_PITCH_SCALE = 0.88

# What the estimators return when the points cannot describe a face (eyes on top of each other, mouth above the
# eyes, non-finite values): as turned as a face can be, so any pose limit treats it as "cannot be judged".
DEGENERATE = (90.0, 90.0)
_MIN_EYE_DISTANCE = 1e-6


def yaw_pitch_from_blazeface(keypoints: Sequence[Sequence[float]] | np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) in degrees from BlazeFace's six key points as (x, y) image pixels, in its order: right eye,
    left eye, nose tip, mouth, right ear, left ear ("right" is the person's right: the eye on the image's left)."""
    points = _as_points(keypoints, 6, "BlazeFace key points (eyes, nose tip, mouth, ears)")
    if points is None:
        return DEGENERATE
    frame = _eye_frame(points[0], points[1])
    if frame is None:
        return DEGENERATE
    nose_x, nose_y = frame(points[2])
    mouth_y = frame(points[3])[1]
    if mouth_y <= _MIN_EYE_DISTANCE:
        return DEGENERATE
    yaw = math.degrees(math.atan(nose_x / BLAZEFACE_YAW_SCALE))
    ears = _eye_frame(points[4], points[5])  # the same frame, spanned by the ears
    if ears is not None:
        by_ears = math.degrees(math.atan(ears(points[2])[0] / BLAZEFACE_EAR_YAW_SCALE))
        yaw = by_ears if abs(by_ears) > abs(yaw) else yaw
    pitch = math.degrees(math.atan((BLAZEFACE_PITCH_ZERO - nose_y / mouth_y) / BLAZEFACE_PITCH_SCALE))
    return yaw, pitch


def yaw_pitch_from_landmarks5(points: Mapping[str, Sequence[Sequence[float]]]) -> tuple[float, float]:
    """(yaw, pitch) in degrees from face_recognition's 5-point landmarks (`face_landmarks(model="small")`): a dict
    with "left_eye" and "right_eye" (two corners each) and "nose_tip" (one point, the bottom of the nose), (x, y)
    image pixels. face_recognition names the eyes as seen in the image: its "left_eye" is on the image's left (the
    person's right eye)."""
    missing = [key for key in ("left_eye", "right_eye", "nose_tip") if key not in points]
    if missing:
        raise ValueError(f"5-point landmarks need left_eye, right_eye and nose_tip; missing {', '.join(missing)}")
    image_left = _as_points(points["left_eye"], 1, "landmarks left_eye")
    image_right = _as_points(points["right_eye"], 1, "landmarks right_eye")
    nose = _as_points(points["nose_tip"], 1, "landmarks nose_tip")
    if image_left is None or image_right is None or nose is None:
        return DEGENERATE
    frame = _eye_frame(image_left.mean(axis=0), image_right.mean(axis=0))
    if frame is None:
        return DEGENERATE
    nose_x, nose_y = frame(nose[0])
    yaw = math.degrees(math.atan(nose_x / LANDMARKS5_YAW_SCALE))
    # A turned face's eyes come closer together in the image (by cos yaw), which would read as a lowered nose.
    level = nose_y * math.cos(math.radians(yaw))
    pitch = math.degrees(math.atan((LANDMARKS5_PITCH_ZERO - level) / LANDMARKS5_PITCH_SCALE))
    return yaw, pitch


def _as_points(values: Sequence[Sequence[float]] | np.ndarray, at_least: int, what: str) -> np.ndarray | None:
    """(n, 2) float array; None when a value is not finite (a broken detection, not a caller's mistake)."""
    try:
        points = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: expected (x, y) pairs, got {values!r}") from exc
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] < at_least:
        raise ValueError(f"{what}: expected at least {at_least} (x, y) pairs, got shape {points.shape}")
    return points if np.isfinite(points).all() else None


def _eye_frame(right_eye: np.ndarray, left_eye: np.ndarray) -> Callable[[np.ndarray], tuple[float, float]] | None:
    """The face frame described in the module docstring, as a function of an image point; None when the eyes
    coincide."""
    along = np.asarray(left_eye, np.float64) - np.asarray(right_eye, np.float64)
    distance = float(np.hypot(*along))
    if distance <= _MIN_EYE_DISTANCE:
        return None
    x_axis = along / distance
    y_axis = np.array([-x_axis[1], x_axis[0]])  # x turned a quarter clockwise on screen (image y points down)
    middle = (np.asarray(right_eye, np.float64) + np.asarray(left_eye, np.float64)) / 2

    def to_face(point: np.ndarray) -> tuple[float, float]:
        offset = np.asarray(point, np.float64) - middle
        return float(offset @ x_axis) / distance, float(offset @ y_axis) / distance

    return to_face

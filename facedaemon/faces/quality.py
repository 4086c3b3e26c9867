"""Quality of a face: of a gallery photo (is the face big and sharp enough, does it look like the person's other
photos), and of each live detection (LiveQuality: can this face be judged at all, and how good a look is it).

Pure numpy, except measure_face and face_sharpness, which resize the face crop with PIL (imported there).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from facedaemon.faces import pose

MIN_FACE_PX = 80  # face box height in the (<= LOAD_MAX_SIDE) image; smaller faces encode unreliably
SHARPNESS_SIDE = 128  # the face crop is resized to this square before measuring, so sharpness is size-independent
# Variance of the Laplacian of the 128 px grey face crop. Calibrated with scripts/benchmarks/calibrate_blur.py on the
# ten shared photos: originals 140-417 (lowest: obama3.jpg, a soft photo that still matches well); Gaussian blur
# that is >= ~1.2 px once the face is scaled to 128 px (radius 2-3 on 180-260 px faces, 5 on 460-640 px faces)
# gives 5-40. 40 keeps every original with a 3.5x margin and refuses visibly blurred copies.
MIN_SHARPNESS = 40.0
LIVE_SHARPNESS_SIDE = 32  # a face on a live frame is measured at 32 px (a 40 px face is shrunk, not blown up)
CONSISTENCY_SAMPLE = 500  # n² distances: a person with thousands of photos is judged on the first 500


@dataclass(frozen=True)
class FaceQuality:
    face_px: int  # face box height, pixels
    sharpness: float  # variance of the Laplacian of the normalised face crop

    def to_detail(self) -> str:
        return json.dumps({"face_px": self.face_px, "sharpness": round(self.sharpness, 1)})

    @classmethod
    def from_detail(cls, detail: str) -> FaceQuality | None:
        """Read back what to_detail wrote; None for entries made before quality was measured."""
        try:
            data = json.loads(detail)
            return cls(int(data["face_px"]), float(data["sharpness"]))
        except (ValueError, TypeError, KeyError):
            return None


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: low when edges are soft (blur, focus, motion)."""
    g = np.asarray(grey, dtype=np.float64)
    if g.ndim != 2 or min(g.shape) < 3:
        return 0.0
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def problems(quality: FaceQuality) -> list[str]:
    """Reasons a user can act on; empty when the photo is fine."""
    found = []
    if quality.face_px < MIN_FACE_PX:
        found.append(f"face too small ({quality.face_px} px tall, need {MIN_FACE_PX}): use a closer or larger photo")
    if quality.sharpness < MIN_SHARPNESS:
        found.append(f"face too blurred (sharpness {quality.sharpness:.0f}, need {MIN_SHARPNESS:.0f}): "
                     "use a sharper photo")
    return found


def distances_to_others(encodings: np.ndarray) -> np.ndarray:
    """For each row, its distance to the mean of the other rows (NaN when it is the only one)."""
    rows = np.asarray(encodings, dtype=np.float64).reshape(-1, 128)
    n = len(rows)
    if n < 2:
        return np.full(n, np.nan)
    others_mean = (rows.sum(axis=0)[None, :] - rows) / (n - 1)
    return np.linalg.norm(rows - others_mean, axis=1)


def outlier_note(distance: float, tolerance: float) -> str | None:
    if np.isnan(distance) or distance <= tolerance:
        return None
    return (f"likely a different person (distance {distance:.2f} to this person's other photos, tolerance "
            f"{tolerance:.2f}): check the photo belongs here")


def consistency(encodings: np.ndarray) -> float | None:
    """Mean pairwise distance between a person's photos (lower = more consistent); None below two photos."""
    rows = np.asarray(encodings, dtype=np.float64).reshape(-1, 128)[:CONSISTENCY_SAMPLE]
    n = len(rows)
    if n < 2:
        return None
    norms = np.einsum("ij,ij->i", rows, rows)
    squared = norms[:, None] + norms[None, :] - 2.0 * (rows @ rows.T)
    dist = np.sqrt(np.clip(squared, 0.0, None))
    return float(dist[np.triu_indices(n, 1)].mean())


def measure_face(rgb: np.ndarray, box: tuple[int, int, int, int]) -> FaceQuality:
    """Face height and the sharpness of the face crop, resized to a fixed size so big photos do not win."""
    return FaceQuality(int(box[2] - box[0]), face_sharpness(rgb, box, SHARPNESS_SIDE))


def face_sharpness(rgb: np.ndarray, box: tuple[int, int, int, int], side: int) -> float:
    """Variance of the Laplacian of the (top, right, bottom, left) face crop, grey, resized to side × side."""
    from PIL import Image  # deferred: the worker and the web load this module; only measuring needs PIL

    top, right, bottom, left = box
    crop = rgb[max(0, top):bottom, max(0, left):right]
    if crop.size == 0:
        return 0.0
    grey = Image.fromarray(np.ascontiguousarray(crop)).convert("L")
    grey = grey.resize((side, side), Image.Resampling.BILINEAR)
    return laplacian_variance(np.asarray(grey))


# ---------------------------------------------------------------------------------------------------------------
# Live faces: one LiveQuality per detection, and the one rule that says whether it can be judged.
#
# Face heights (px) measured with `facedaemon bench --range` (docs/performance.md): below ENCODE_MIN_PX the encoding
# of the right person drifts past the tolerance, so such a face is not encoded at all; below UNKNOWN_MIN_PX a miss
# is not evidence of a stranger, while a match still is (no stranger was ever named at any height).
ENCODE_MIN_PX = 20
UNKNOWN_MIN_PX = 40
# Below MIN_LIVE_SHARPNESS the right person's distance drifts past the tolerance (Gaussian blur of the shared
# photos' faces at 40, 64 and 100 px: `scripts/benchmarks/face_size_distance.py --blur`).
MIN_LIVE_SHARPNESS = 100.0
# The pose limits: scripts/benchmarks/face_pose_distance.py on real footage of people turning their heads
# (docs/performance.md, "Face pose and distance"): within 25° of yaw no known face was nearer someone else and
# 0-10 % of looks were 0.6 or farther from the right person; at 25-35° 28 %. Yaw is 30, not the measured 25: a single
# frame's reading wanders by ~10°, and near-frontal shared portraits read up to 26° (GEM.jpg), so at 25 such a
# stranger could stay "face"; a track needs two judgeable misses, so one noisy look does not make it Unknown.
# Pitch: the footage spans -25..+5°, so the limit is the measured 20.
MAX_YAW_DEG = 30.0
MAX_PITCH_DEG = pose.RECOMMENDED_MAX_PITCH_DEG
# BlazeFace's score (hog and cnn give none). It reports faces from 0.6 (detect.MIN_SCORE), and a frontal shared
# portrait scored 0.61 once: until measured, the limit only refuses what the detector itself would.
MIN_JUDGE_SCORE = 0.6


@dataclass(frozen=True, slots=True)
class LiveQuality:
    """One detection, measured once: what decides whether the face can be judged and how good a look it is."""

    height: int  # face box height, frame pixels
    sharpness: float  # variance of the Laplacian of the face shrunk to LIVE_SHARPNESS_SIDE (face_sharpness)
    yaw: float | None  # degrees, 0 = facing the camera; None when the detector gave no landmarks
    pitch: float | None  # degrees, 0 = level
    score: float | None  # the detector's score in 0..1; None for hog and cnn

    def describe(self) -> str:
        """For a log line: `48 px, sharpness 230, yaw 12°, pitch -4°, score 0.93`."""
        parts = [f"{self.height} px", f"sharpness {self.sharpness:.0f}"]
        if self.yaw is not None and self.pitch is not None:
            parts += [f"yaw {self.yaw:.0f}°", f"pitch {self.pitch:.0f}°"]
        if self.score is not None:
            parts.append(f"score {self.score:.2f}")
        return ", ".join(parts)


def not_judgeable(quality: LiveQuality, *, match: bool = False) -> str | None:
    """Why this face cannot be judged (for logs and the API), or None when it can.

    The one rule for every label: a face that cannot be judged neither names a track nor makes it Unknown. `match`:
    the face matched a person; a match counts from ENCODE_MIN_PX, a miss only from UNKNOWN_MIN_PX (see above)."""
    least = ENCODE_MIN_PX if match else UNKNOWN_MIN_PX
    if quality.height < least:
        return f"too small ({quality.height} px, need {least})"
    if quality.sharpness < MIN_LIVE_SHARPNESS:
        return f"too blurred (sharpness {quality.sharpness:.0f}, need {MIN_LIVE_SHARPNESS:.0f})"
    if quality.yaw is not None and abs(quality.yaw) > MAX_YAW_DEG:
        return f"turned away (yaw {quality.yaw:.0f}°, at most {MAX_YAW_DEG:.0f})"
    if quality.pitch is not None and abs(quality.pitch) > MAX_PITCH_DEG:
        return f"looking up or down (pitch {quality.pitch:.0f}°, at most {MAX_PITCH_DEG:.0f})"
    if quality.score is not None and quality.score < MIN_JUDGE_SCORE:
        return f"unsure detection (score {quality.score:.2f}, need {MIN_JUDGE_SCORE:.2f})"
    return None


def judgeable(quality: LiveQuality, *, match: bool = False) -> bool:
    return not_judgeable(quality, match=match) is None


# A face turned past MAX_YAW_DEG, up to TURNED_MAX_YAW_DEG, and judgeable in every other way may still NAME a person
# on a close, clear match; it never makes a face Unknown (a miss turned away says nothing). Measured with
# scripts/benchmarks/face_pose_distance.py --bands (docs/performance.md, "Turned faces: a stricter rule for a name"):
# at 30-40 degrees (76 looks: the two clips and LFW, each against 32 people's photos) no stranger came nearer than
# 0.52 to anyone, while the right person's own distance ran up to 0.68, often past a stranger's (hence no name from
# the tolerance there). Within 0.40, with the next person 0.10 farther: 0 wrong names, 66 % of obama.mp4's turned
# looks named; 0.40 also stays under the look-alike pair (ChengHaoXie/KaiYuChen, 0.46 frontal).
TURNED_MAX_YAW_DEG = 40.0
TURNED_NAME_DISTANCE = 0.40
TURNED_NAME_MARGIN = 0.10


def turned_but_nameable(quality: LiveQuality) -> bool:
    """Only its yaw, within TURNED_MAX_YAW_DEG, keeps this face from being judged: a close, clear match may still
    name it (names_when_turned); a miss counts for nothing."""
    if quality.yaw is None or not MAX_YAW_DEG < abs(quality.yaw) <= TURNED_MAX_YAW_DEG:
        return False
    return judgeable(replace(quality, yaw=0.0), match=True)


def names_when_turned(distance: float | None, runner_up: float | None) -> bool:
    """Whether a match on a turned_but_nameable look is close and clear enough to name (`runner_up`: the nearest
    other person's distance, None when nobody else is within TURNED_NAME_MARGIN)."""
    return (distance is not None and distance <= TURNED_NAME_DISTANCE
            and (runner_up is None or runner_up - distance >= TURNED_NAME_MARGIN))


def may_name(quality: LiveQuality) -> bool:
    """Whether a match on this look could name anyone: it is judgeable, or turned but nameable. Only such looks are
    encoded."""
    return judgeable(quality, match=True) or turned_but_nameable(quality)


# The best look at a face (best shot): bigger up to SHOT_FULL_PX (beyond, a face walking closer does not replace a
# sharp frontal shot for ever), sharper (saturating: half marks at SHOT_HALF_SHARPNESS; sharp 40-100 px faces
# measure 1400-1800, the judgeable limit is 100), and the more frontal the better.
SHOT_FULL_PX = 160
SHOT_HALF_SHARPNESS = 300.0


def shot_score(quality: LiveQuality) -> float:
    """How good a look this is, 0..1: the one rule for keeping a track's best crop and encoding (the best shot)."""
    size = min(1.0, quality.height / SHOT_FULL_PX)
    sharp = quality.sharpness / (quality.sharpness + SHOT_HALF_SHARPNESS) if quality.sharpness > 0 else 0.0
    turn = 1.0
    if quality.yaw is not None and quality.pitch is not None:
        turn = max(0.0, math.cos(math.radians(min(90.0, abs(quality.yaw))))) * \
            max(0.0, math.cos(math.radians(min(90.0, abs(quality.pitch)))))
    judged = 1.0 if judgeable(quality) else 0.5  # a judgeable look always beats one that is not
    return size * sharp * turn * judged


# Pose: yaw and pitch in degrees from the detector's points, calibrated on AFLW2000-3D in facedaemon/faces/pose.py
# (its mean errors and the footage are in docs/performance.md, "Face pose and distance"). The rule above uses their
# size only.
def pose_from_keypoints(keypoints: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(yaw, pitch) from BlazeFace's six key points (right eye, left eye, nose tip, mouth, right ear, left ear),
    each (x, y) in any one image's pixels."""
    return pose.yaw_pitch_from_blazeface(keypoints)


def pose_from_landmarks5(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(yaw, pitch) from dlib's five landmarks in its own order (hog and cnn detectors): the corners of one eye
    (0, 1), of the other (2, 3) and the base of the nose (4), each (x, y), which face_recognition's "small" landmarks
    name right_eye, left_eye and nose_tip."""
    return pose.yaw_pitch_from_landmarks5({"right_eye": points[0:2], "left_eye": points[2:4], "nose_tip": points[4:5]})


def live_quality(rgb: np.ndarray, box: tuple[int, int, int, int], pose: tuple[float, float] | None,
                 score: float | None) -> LiveQuality:
    """Measure one detection (frame pixels, (top, right, bottom, left))."""
    yaw, pitch = pose if pose is not None else (None, None)
    return LiveQuality(int(box[2] - box[0]), face_sharpness(rgb, box, LIVE_SHARPNESS_SIDE), yaw, pitch, score)

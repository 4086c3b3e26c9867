"""Every face in one still photo, named against a gallery: the one answer of `POST /api/identify` (served by the
recognition child, worker/identify_server.py) and of `facedaemon identify` (facedaemon/identify.py).

The live labels' rules applied to a single look (there is no track to add a second one):
- a face is named only when its look can be judged for a match (quality.judgeable: big, sharp, frontal enough)
  and the match is decisive: the nearest other person is at least tracker.NAME_MARGIN farther; a face turned a
  little past the limit is named only on a close, clear match (quality.turned_but_nameable, names_when_turned);
- anything else is "Unknown"; `judgeable` says whether that Unknown is evidence of a stranger (a face too small,
  blurred or turned away that matched nobody may still be someone known: the live stream shows it as "face").
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np

from facedaemon.config.models import RecognitionConfig
from facedaemon.faces import engine
from facedaemon.faces.matcher import KnownFaces, Match, match_many, runner_up
from facedaemon.faces.negatives import Negatives, apply_negatives
from facedaemon.faces.quality import (
    ENCODE_MIN_PX,
    LiveQuality,
    live_quality,
    not_judgeable,
    pose_from_keypoints,
    pose_from_landmarks5,
)
from facedaemon.faces.tracker import RUNNER_UP_REACH, ballot
from facedaemon.faces.types import UNKNOWN, Box, is_person
from facedaemon.gallery.images import ALLOWED_FORMATS, decode_rgb

Turn = Callable[[], AbstractContextManager]
# Photos are decoded at most this big (the enrolment's checks, images.decode_rgb; JPEG decodes reduced): a 1080p
# photo keeps every pixel, a 12-megapixel one is searched at 2560 px and its boxes scaled back.
MAX_SIDE = 2560


@dataclass(frozen=True)
class StillFace:
    box: Box  # (top, right, bottom, left) in the decoded image's pixels
    match: Match | None  # None: too small to encode (below quality.ENCODE_MIN_PX)
    quality: LiveQuality
    runner_up: float | None = None  # distance to the nearest other person, for a match


def decode(data: bytes) -> tuple[np.ndarray, tuple[int, int]]:
    """The photo as RGB (at most MAX_SIDE) and its upright size in pixels (width, height). Raises ImageError."""
    rgb = decode_rgb(data, max_side=MAX_SIDE)
    return rgb, upright_size(data, rgb.shape)


def upright_size(data: bytes, shape: tuple[int, ...]) -> tuple[int, int]:
    """The photo's own size after its EXIF rotation, from the header (the decoded copy may be smaller)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
        width, height = image.size
        orientation = image.getexif().get(0x0112, 1) if image.format in ("JPEG", "WEBP", "PNG") else 1
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    if abs(width / height - shape[1] / shape[0]) > 0.05:  # a rotation not applied after all: trust the pixels
        return shape[1], shape[0]
    return width, height


def find_faces(rgb: np.ndarray, known: KnownFaces, negatives: Negatives, rec: RecognitionConfig,
               turn: Turn = contextlib.nullcontext) -> list[StillFace]:
    """Detect, measure and match every face (the live worker's steps, on the whole picture at once).

    Each step (the detection, then each face) runs inside its own `turn()`: in the recognition child, a turn of the
    lock the camera frames take too, so a frame waits for one step, never for the whole photo."""
    with turn():
        if rec.model == engine.BLAZEFACE:
            found = engine.blazeface_found(rgb, None, bgr=False)
            poses = [pose_from_keypoints(f.keypoints) if f.keypoints else None for f in found]
        else:
            found = [engine.Found(box) for box in engine.detect_full(rgb, rec.scale, rec.model, rec.upsample)]
            poses = [pose_from_landmarks5(points) for points in engine.landmarks5(rgb, [f.box for f in found])]
    return [_one_face(rgb, f, pose, known, negatives, rec, turn) for f, pose in zip(found, poses, strict=True)]


def _one_face(rgb: np.ndarray, found: engine.Found, pose: tuple[float, float] | None, known: KnownFaces,
              negatives: Negatives, rec: RecognitionConfig, turn: Turn) -> StillFace:
    with turn():
        look = live_quality(rgb, found.box, pose, found.score)
        if look.height < ENCODE_MIN_PX:
            return StillFace(found.box, None, look)
        encodings = engine.encode(rgb, [found.box])
        (m,) = apply_negatives(known, negatives, np.asarray(encodings), match_many(known, encodings, rec.tolerance),
                               rec.tolerance)
        second = None  # the nearest other person, if near enough to matter (tracker.decisive)
        if is_person(m.name) and m.distance is not None:
            second = runner_up(known, encodings[0], m.name, m.distance + RUNNER_UP_REACH)
        return StillFace(found.box, m, look, second)


def label(face: StillFace, tolerance: float) -> tuple[str, str | None]:
    """(name or Unknown, why the look cannot be judged or None), by the live rules (module docstring)."""
    if face.match is None:
        return UNKNOWN, not_judgeable(face.quality)
    m = face.match
    vote = ballot(face.quality, m.name, m.distance, m.confidence, face.runner_up, tolerance)
    why = not_judgeable(face.quality, match=is_person(m.name))
    if vote is not None and is_person(vote.name) and vote.decisive:
        return vote.name, why  # None, unless named though turned (quality.turned_but_nameable)
    return UNKNOWN, why


def face_json(face: StillFace, tolerance: float, factor: float = 1.0) -> dict:
    """One face of the answer; `factor` maps the decoded image's pixels back to the photo's own."""
    name, why = label(face, tolerance)
    top, right, bottom, left = face.box
    q = face.quality
    m = face.match
    return {
        "box": {"x": round(left * factor), "y": round(top * factor),
                "w": round((right - left) * factor), "h": round((bottom - top) * factor)},
        "name": name,
        "distance": None if m is None or m.distance is None else round(float(m.distance), 4),
        "confidence": 0.0 if m is None else round(float(m.confidence), 4),
        # the nearest person within the tolerance, also when the name margin or the look's quality held it back
        "nearest": m.name if m is not None and is_person(m.name) else None,
        "quality": {
            "face_px": q.height,  # as searched: the rules' pixels (a photo over MAX_SIDE is searched smaller)
            "sharpness": round(q.sharpness, 1),
            "yaw": None if q.yaw is None else round(q.yaw, 1),
            "pitch": None if q.pitch is None else round(q.pitch, 1),
            "score": None if q.score is None else round(q.score, 3),
            "judgeable": why is None,
            "not_judgeable": why,
        },
    }


def identify(data: bytes, known: KnownFaces, negatives: Negatives, rec: RecognitionConfig,
             turn: Turn = contextlib.nullcontext) -> dict:
    """The whole answer for one photo's bytes: its size and its faces, left to right. Raises ImageError."""
    rgb, (width, height) = decode(data)
    factor = width / rgb.shape[1]
    faces = find_faces(rgb, known, negatives, rec, turn)
    answer = [face_json(face, rec.tolerance, factor) for face in faces]
    answer.sort(key=lambda f: (f["box"]["x"], f["box"]["y"]))
    return {"width": width, "height": height, "faces": answer}

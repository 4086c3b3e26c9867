"""Face crops cut from camera frames: where to cut, how sharp the face is, and the JPEG bytes.

Used by the recognition worker for the recent-faces crops ("not this person") and for unknown faces. The crop
is the face box grown by CROP_MARGIN on each side, so that the face detector finds the face in it again when the
crop is enrolled or stored as a negative example. Sharpness is measured exactly like an enrolled photo's
(quality.measure_face), so the number the faces screen shows compares with the enrolment threshold.
"""

from __future__ import annotations

import numpy as np

from facedaemon.faces.boxes import crop_box
from facedaemon.faces.quality import LiveQuality, measure_face, shot_score
from facedaemon.faces.tracker import BestShot
from facedaemon.faces.types import Box

CROP_MARGIN = 0.5  # × the face size on each side: hair, chin and some background, like a portrait
MAX_CROP_SIDE = 640  # larger crops are scaled down: a face of 200+ px carries all the detail the encoder uses


def face_px(box: Box) -> int:
    return int(box[2] - box[0])


def face_sharpness(frame_bgr: np.ndarray, box: Box) -> float:
    """Variance of the Laplacian of the face, measured as for an enrolled photo (128 px grey face)."""
    top, right, bottom, left = crop_box(box, frame_bgr.shape, 0.0)
    if bottom <= top or right <= left:
        return 0.0
    rgb = np.ascontiguousarray(frame_bgr[top:bottom, left:right, ::-1])
    return measure_face(rgb, (0, right - left, bottom - top, 0)).sharpness


def crop_jpeg(frame_bgr: np.ndarray, box: Box, quality: int = 92) -> bytes:
    """JPEG of the face with its margin, at most MAX_CROP_SIDE on its longer side."""
    return to_jpeg(crop_pixels(frame_bgr, box), quality)


def crop_pixels(frame_bgr: np.ndarray, box: Box) -> np.ndarray:
    """The face with its margin (a copy), at most MAX_CROP_SIDE on its longer side."""
    return face_crop(frame_bgr, box)[0]


def face_crop(frame_bgr: np.ndarray, box: Box) -> tuple[np.ndarray, Box]:
    """crop_pixels, and where the face lies in it."""
    import cv2

    top, right, bottom, left = crop_box(box, frame_bgr.shape, CROP_MARGIN)
    crop = frame_bgr[top:bottom, left:right]
    face = (box[0] - top, box[1] - left, box[2] - top, box[3] - left)
    longest = max(crop.shape[:2])
    if longest > MAX_CROP_SIDE:
        scale = MAX_CROP_SIDE / longest
        face = (round(face[0] * scale), round(face[1] * scale), round(face[2] * scale), round(face[3] * scale))
        return cv2.resize(crop, (round(crop.shape[1] * scale), round(crop.shape[0] * scale)),
                          interpolation=cv2.INTER_AREA), face
    return crop.copy(), face


def shot_of(frame_bgr: np.ndarray, box: Box, look: LiveQuality, encoding: np.ndarray,
            frame_time: float) -> BestShot:
    """One encoded look at a track as a candidate best shot (tracker.offer_shot keeps the best)."""
    crop, face = face_crop(frame_bgr, box)
    return BestShot(shot_score(look), look, box, crop, face, encoding, frame_time)


def to_jpeg(crop: np.ndarray, quality: int = 92) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"cannot encode a {crop.shape[1]}x{crop.shape[0]} crop as JPEG")
    return encoded.tobytes()

"""Unrecognised faces made unrecognisable in the output frame, in place: pure given the frame and the faces.

Pixelate (shrink to a few blocks) then smooth: the detail is gone for good, not just softened, and a tracked box
that lags the face by a few pixels still covers it because the area is enlarged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from facedaemon.recognition.types import UNKNOWN, Box, FaceResult

if TYPE_CHECKING:
    import numpy as np

ENLARGE = 0.25  # grow the box by this share of its size on every side
BLOCKS = 6  # the face is reduced to about 6×6 colours before being smoothed back up


def grown(box: Box, width: int, height: int, enlarge: float = ENLARGE) -> tuple[int, int, int, int] | None:
    """(top, right, bottom, left) enlarged and clipped to the frame as slice bounds; None if nothing is left."""
    top, right, bottom, left = box
    pad_y, pad_x = round((bottom - top) * enlarge), round((right - left) * enlarge)
    top, bottom = max(0, top - pad_y), min(height, bottom + pad_y)
    left, right = max(0, left - pad_x), min(width, right + pad_x)
    if bottom - top < 2 or right - left < 2:
        return None
    return top, right, bottom, left


def blur_faces(frame: np.ndarray, faces: Iterable[FaceResult], *, enlarge: float = ENLARGE) -> int:
    """Blur every face not recognised (name "Unknown") in the BGR frame; returns how many were blurred."""
    import cv2

    height, width = frame.shape[:2]
    count = 0
    for face in faces:
        if face.name != UNKNOWN:
            continue
        area = grown(face.box, width, height, enlarge)
        if area is None:
            continue
        top, right, bottom, left = area
        region = frame[top:bottom, left:right]
        h, w = region.shape[:2]
        small = cv2.resize(region, (max(1, min(w, BLOCKS)), max(1, min(h, BLOCKS))), interpolation=cv2.INTER_AREA)
        smooth = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        kernel = max(3, (min(w, h) // 4) | 1)
        region[:] = cv2.GaussianBlur(smooth, (kernel, kernel), 0)
        count += 1
    return count

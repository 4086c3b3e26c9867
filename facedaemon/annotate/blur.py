"""Unrecognised faces made unrecognisable in the output frame, in place: pure given the frame and the faces.

Pixelate (shrink to a few blocks) then smooth: the detail is gone for good, not just softened. The area covers
where the face was last seen as well as where its track is extrapolated to, and grows with the age of that sighting:
results arrive a few times a second (later on a busy machine), and a face that turned round or kept walking while
the worker was busy must still be covered, not just the box drawn around it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from facedaemon import yuv
from facedaemon.faces.boxes import larger, union
from facedaemon.faces.types import Box, FaceResult, is_person

if TYPE_CHECKING:
    import numpy as np

ENLARGE = 0.25  # grow the box by this share of its size on every side
AGE_GROWTH = 0.5  # ... and by this share more per second since the face was last seen (1 s old: 0.75 per side)
BLOCKS = 6  # the face is reduced to about 6×6 colours before being smoothed back up


def grown(box: Box, width: int, height: int, enlarge: float = ENLARGE,
          face: Box | None = None) -> tuple[int, int, int, int] | None:
    """(top, right, bottom, left) enlarged by `enlarge` × the face's size (default: the box's) on every side and
    clipped to the frame as slice bounds; None if nothing is left."""
    size = face if face is not None else box
    pad_y, pad_x = round((size[2] - size[0]) * enlarge), round((size[1] - size[3]) * enlarge)
    top, right, bottom, left = box
    top, bottom = max(0, top - pad_y), min(height, bottom + pad_y)
    left, right = max(0, left - pad_x), min(width, right + pad_x)
    if bottom - top < 2 or right - left < 2:
        return None
    return top, right, bottom, left


def blur_faces(frame: np.ndarray, faces: Iterable[FaceResult], *, seen: Iterable[FaceResult] = (),
               age: float = 0.0, enlarge: float = ENLARGE) -> int:
    """Blur every face not recognised (name "Unknown") in the frame (I420, or BGR); returns how many were blurred.

    `faces` are where the boxes are drawn on this frame; `seen` the same tracks where the worker last saw them,
    `age` seconds before this frame.
    """
    last_seen = {face.track: face.box for face in seen}
    spread = enlarge + AGE_GROWTH * max(0.0, age)
    i420 = frame.ndim == 2
    width, height = yuv.size(frame) if i420 else (frame.shape[1], frame.shape[0])
    count = 0
    for face in faces:
        if is_person(face.name):  # Unknown and too-small faces alike: nobody vouched for them
            continue
        seen_box = last_seen.get(face.track, face.box)
        # Grown by the larger of the two sizes: an extrapolated box can shrink (its edges move at their own speeds).
        area = grown(union(face.box, seen_box), width, height, spread, face=larger(face.box, seen_box))
        if area is not None:
            (pixelate_i420 if i420 else pixelate)(frame, area)
            count += 1
    return count


def pixelate_i420(frame: np.ndarray, area: tuple[int, int, int, int]) -> None:
    """pixelate() on each plane of an I420 frame (chroma at half size), the area grown to even edges."""
    width, height = yuv.size(frame)
    even = yuv.even_area(area, width, height)
    if even is None:
        return
    top, right, bottom, left = even
    y, u, v = yuv.planes(frame)
    pixelate(y, even)
    for chroma in (u, v):
        pixelate(chroma, (top // 2, right // 2, bottom // 2, left // 2))


def pixelate(frame: np.ndarray, area: tuple[int, int, int, int]) -> None:
    """Replace the area (top, right, bottom, left) by a smoothed 6×6 mosaic of itself (BGR, or one plane)."""
    import cv2

    top, right, bottom, left = area
    region = frame[top:bottom, left:right]
    h, w = region.shape[:2]
    small = cv2.resize(region, (max(1, min(w, BLOCKS)), max(1, min(h, BLOCKS))), interpolation=cv2.INTER_AREA)
    smooth = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    kernel = max(3, (min(w, h) // 4) | 1)
    region[:] = cv2.GaussianBlur(smooth, (kernel, kernel), 0)

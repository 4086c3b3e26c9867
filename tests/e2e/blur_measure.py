"""How blurred a face is on a decoded frame: the detail (Laplacian variance) left inside its box, away from the
lines and labels the daemon drew. Shared by the privacy and snapshot tests."""

from __future__ import annotations

import cv2
import numpy as np

GREEN, RED = (0, 200, 0), (0, 0, 220)  # annotate.draw.KNOWN_COLOUR / UNKNOWN_COLOUR
BLURRED = 0.15  # detail left in the stranger's face, as a share of the source's: below this it is blurred
KEPT = 0.4  # ... and above this it is not (re-encoded at crf 23 without blur: 0.74-1.33 seen)


def inner(box: tuple[int, int, int, int]) -> tuple[slice, slice]:
    """The face box less a tenth on each side: dlib's box is tight (brows to chin), the edges are background."""
    top, right, bottom, left = box
    pad_y, pad_x = (bottom - top) // 10, (right - left) // 10
    return slice(top + pad_y, bottom - pad_y), slice(left + pad_x, right - pad_x)


def detail(frame: np.ndarray, box: tuple[int, int, int, int], drawn: np.ndarray | None = None) -> float:
    """Laplacian variance (high-frequency energy, what pixelating and smoothing remove) in the middle of the box,
    leaving out the pixels near the drawn box lines and labels (`drawn`, from `drawn_mask`): a box that lags the face
    puts its sharp lines over the blurred face."""
    rows, cols = inner(box)
    laplacian = cv2.Laplacian(cv2.cvtColor(frame[rows, cols], cv2.COLOR_BGR2GRAY), cv2.CV_64F)
    return float(laplacian[~drawn[rows, cols]].var() if drawn is not None else laplacian.var())


def drawn_mask(frame: np.ndarray) -> np.ndarray:
    """Where the daemon drew (label colours), grown by 3 px for the Laplacian's reach and H.264's smear."""
    colours = [np.abs(frame.astype(np.int16) - np.array(c, np.int16)).max(axis=2) <= 50 for c in (GREEN, RED)]
    return cv2.dilate((colours[0] | colours[1]).astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)

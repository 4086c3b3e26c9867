"""Frames for the label tests: a shared photo's face pasted into a 720p frame, as it is, blurred, or with the face
warped to look up (a synthetic proxy for a tilted head: a flat photo cannot be turned for real)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

WIDTH, HEIGHT = 1280, 720


def load(path: Path) -> tuple[np.ndarray, tuple[int, int, int, int], tuple[tuple[float, float], ...]]:
    """The photo (BGR), its face box and BlazeFace's key points (the real detector, as the worker runs it)."""
    from PIL import Image

    from facedaemon.faces import engine

    rgb = np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB")))
    (found,) = engine.blazeface_found(rgb, None, bgr=False)[:1]
    assert found.keypoints is not None
    return np.ascontiguousarray(rgb[:, :, ::-1]), found.box, found.keypoints


def look_up(bgr: np.ndarray, keypoints: tuple[tuple[float, float], ...], squeeze: float) -> np.ndarray:
    """The face from the brow to the nose tip squeezed to `squeeze` of its height and the nose-to-chin part stretched
    to keep the face's height: the nose rides up towards the eyes, as when a head tilts back."""
    import cv2

    eye_y = (keypoints[0][1] + keypoints[1][1]) / 2
    nose_y, mouth_y = keypoints[2][1], keypoints[3][1]
    top, bottom = eye_y - (nose_y - eye_y) * 1.2, mouth_y + (mouth_y - nose_y) * 1.5
    height, width = bgr.shape[:2]
    ys = np.arange(height, dtype=np.float32)
    nose = top + (nose_y - top) * squeeze
    source = np.where(ys < top, ys, np.where(
        ys <= nose, top + (ys - top) / squeeze,
        np.where(ys <= bottom, nose_y + (ys - nose) * (bottom - nose_y) / (bottom - nose), ys)))
    map_y = np.tile(source[:, None], (1, width)).astype(np.float32)
    map_x = np.tile(np.arange(width, dtype=np.float32), (height, 1))
    return cv2.remap(bgr, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def blurred(bgr: np.ndarray, box: tuple[int, int, int, int], sigma_share: float) -> np.ndarray:
    """Gaussian blur of sigma `sigma_share` × the face height (out of focus at any size)."""
    import cv2

    return cv2.GaussianBlur(bgr, (0, 0), sigma_share * (box[2] - box[0]))


def scene(bgr: np.ndarray, box: tuple[int, int, int, int], face_px: int, left: int = 500,
          top: int = 150) -> np.ndarray:
    """A grey 720p BGR frame with the photo's face (and some of its surroundings) scaled to `face_px` tall and
    pasted with the face's top-left corner at (top, left)."""
    import cv2

    scale = face_px / (box[2] - box[0])
    t, r, b, lft = box
    margin = 0.6
    crop_top, crop_left = max(0, int(t - margin * (b - t))), max(0, int(lft - margin * (r - lft)))
    crop = bgr[crop_top:int(b + margin * (b - t)), crop_left:int(r + margin * (r - lft))]
    crop = cv2.resize(crop, (round(crop.shape[1] * scale), round(crop.shape[0] * scale)),
                      interpolation=cv2.INTER_AREA)
    frame = np.full((HEIGHT, WIDTH, 3), 110, np.uint8)
    y, x = top - round((t - crop_top) * scale), left - round((lft - crop_left) * scale)
    y0, x0 = max(0, y), max(0, x)
    y1, x1 = min(HEIGHT, y + crop.shape[0]), min(WIDTH, x + crop.shape[1])
    frame[y0:y1, x0:x1] = crop[y0 - y:y1 - y, x0 - x:x1 - x]
    return frame

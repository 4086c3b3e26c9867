"""The group-photo figure: faces turned, lowered, rotated and small, composited from the shared photos, and how
many of them each detector finds (dlib CNN is the reference the issue sets: ≥ 90 % of what it finds).

Each face is one photo's head region transformed: rotated in the picture plane (a tilted head), squashed
vertically (looking down: the face foreshortens), squashed horizontally (turned away), or shrunk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedaemon.bench.range_clip import background, paste
from facedaemon.bench.range_measure import inside
from facedaemon.faces.types import Box

WIDTH, HEIGHT = 1600, 900


@dataclass(frozen=True)
class Pose:
    photo: str  # under shared/
    face_px: int  # face box height before the transform
    angle: float = 0.0  # degrees, in the picture plane
    squash_y: float = 1.0  # < 1: looking down
    squash_x: float = 1.0  # < 1: turned away


POSES = (
    Pose("images/obama.jpg", 150, angle=25.0),
    Pose("images/biden.jpg", 140, squash_y=0.7),
    Pose("known_faces/Taylor.jpg", 120, squash_x=0.6),
    Pose("known_faces/GEM.jpg", 110, angle=-30.0, squash_y=0.8),
    Pose("known_faces/KaiYuChen.jpg", 64),
    Pose("known_faces/ChengHaoXie.jpg", 90, squash_y=0.6),
    Pose("images/obama2.jpg", 48, angle=15.0),
    Pose("images/obama3.jpg", 130, squash_x=0.7, angle=-15.0),
)


def transform(head: np.ndarray, centre: tuple[float, float], pose: Pose) -> tuple[np.ndarray, tuple[float, float]]:
    """The head image squashed then rotated about its own centre; where the face centre lands."""
    import cv2

    squashed = cv2.resize(head, None, fx=pose.squash_x, fy=pose.squash_y, interpolation=cv2.INTER_AREA)
    cx, cy = centre[0] * pose.squash_x, centre[1] * pose.squash_y
    h, w = squashed.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), pose.angle, 1.0)
    rotated = cv2.warpAffine(squashed, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    x, y = matrix @ np.array([cx, cy, 1.0])
    return rotated, (float(x), float(y))


def make_group(shared: Path) -> tuple[np.ndarray, list[Box]]:
    """The composite (RGB) and where each face is (its transformed face box, as a square about its centre)."""
    from facedaemon.bench.range_clip import head
    from facedaemon.faces import engine

    fr = engine.face_recognition_module()
    canvas = background(WIDTH, HEIGHT, seed=11)[:, :, ::-1].copy()
    truths: list[Box] = []
    columns = 4
    for i, pose in enumerate(POSES):
        rgb = fr.load_image_file(str(shared / pose.photo))
        piece, dy, dx = head(rgb, engine.detect(rgb, "hog", 1)[0], pose.face_px)
        moved, (fx, fy) = transform(piece, (dx + pose.face_px / 2, dy + pose.face_px / 2), pose)
        cell_x, cell_y = (i % columns) * WIDTH // columns, (i // columns) * HEIGHT // 2
        left, top = cell_x + (WIDTH // columns - moved.shape[1]) // 2, cell_y + (HEIGHT // 2 - moved.shape[0]) // 2
        paste(canvas, moved, top, left)
        half = pose.face_px * max(pose.squash_x, pose.squash_y) / 2
        cx, cy = left + fx, top + fy
        truths.append((round(cy - half), round(cx + half), round(cy + half), round(cx - half)))
    return canvas, truths


def found(boxes: list[Box], truths: list[Box]) -> int:
    return sum(1 for truth in truths if any(inside(box, truth) for box in boxes))


def group_figures(shared: Path, models: tuple[str, ...] = ("blazeface", "hog", "cnn")) -> dict[str, dict]:
    """Faces found (of len(POSES)) and seconds taken, per detector, on the full-resolution composite."""
    from facedaemon.faces import engine

    image, truths = make_group(shared)
    result = {}
    for model in models:
        started = time.perf_counter()
        boxes = engine.detect_full(image, 1.0, model, 1)
        result[model] = {"found": found(boxes, truths), "boxes": len(boxes), "faces": len(truths),
                         "seconds": round(time.perf_counter() - started, 2)}
    return result

"""Boxes and names drawn onto a BGR frame in place: pure given the frame and the faces."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from facedaemon.faces.boxes import clamp_inside
from facedaemon.faces.types import FACE, UNKNOWN, FaceResult

if TYPE_CHECKING:
    import numpy as np

KNOWN_COLOUR = (0, 200, 0)  # BGR green
UNKNOWN_COLOUR = (0, 0, 220)  # BGR red
FACE_COLOUR = (160, 160, 160)  # BGR grey: a face too small to tell who it is


def label_text(face: FaceResult) -> str:
    if face.name in (UNKNOWN, FACE):
        return face.name
    return f"{face.name} {round(face.confidence * 100)}%"


def draw_faces(frame: np.ndarray, faces: Iterable[FaceResult]) -> None:
    """A box around each face and a filled bar under it with the label, as in the seed's demo picture."""
    import cv2

    height, width = frame.shape[:2]
    scale = max(0.5, height / 720)
    thickness = max(1, round(2 * scale))
    for face in faces:
        top, right, bottom, left = clamp_inside(face.box, width, height)
        colour = {UNKNOWN: UNKNOWN_COLOUR, FACE: FACE_COLOUR}.get(face.name, KNOWN_COLOUR)
        cv2.rectangle(frame, (left, top), (right, bottom), colour, thickness)
        text = label_text(face)
        font_scale = 0.7 * scale
        (text_w, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, font_scale, 1)
        bar_top = min(bottom, height - text_h - baseline - 8)
        bar_right = max(right, left + text_w + 12)
        cv2.rectangle(frame, (left, bar_top), (bar_right, bar_top + text_h + baseline + 8), colour, cv2.FILLED)
        cv2.putText(frame, text, (left + 6, bar_top + text_h + 4), cv2.FONT_HERSHEY_DUPLEX, font_scale,
                    (255, 255, 255), 1, cv2.LINE_AA)



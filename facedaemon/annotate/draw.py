"""Boxes and names drawn onto a frame (I420 in the pipeline, BGR elsewhere) in place: pure given the frame and the
faces."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from facedaemon import yuv
from facedaemon.faces.boxes import clamp_inside
from facedaemon.faces.types import FACE, UNKNOWN, Box, FaceResult

if TYPE_CHECKING:
    import numpy as np

KNOWN_COLOUR = (0, 200, 0)  # BGR green
UNKNOWN_COLOUR = (0, 0, 220)  # BGR red
FACE_COLOUR = (160, 160, 160)  # BGR grey: a face too small to tell who it is


def label_text(face: FaceResult) -> str:
    if face.name in (UNKNOWN, FACE):
        return face.name
    return f"{face.name} {round(face.confidence * 100)}%"


@dataclass(frozen=True, slots=True)
class Label:
    """One face's box and name bar, laid out in frame pixels."""

    box: tuple[int, int, int, int]  # left, top, right, bottom
    bar: tuple[int, int, int, int]  # the same, filled, under the box (inside the frame)
    text: str
    origin: tuple[int, int]  # where the text's baseline starts
    colour: tuple[int, int, int]
    font_scale: float
    thickness: int

    def extent(self) -> Box:
        """(top, right, bottom, left) of everything drawn, the box's line width included."""
        pad = self.thickness
        left, top = min(self.box[0], self.bar[0]) - pad, min(self.box[1], self.bar[1]) - pad
        right, bottom = max(self.box[2], self.bar[2]) + pad + 1, max(self.box[3], self.bar[3]) + pad + 1
        return top, right, bottom, left


def layout(face: FaceResult, width: int, height: int) -> Label:
    """Where a face's box and bar go on a width×height frame, as in the seed's demo picture."""
    import cv2

    scale = max(0.5, height / 720)
    top, right, bottom, left = clamp_inside(face.box, width, height)
    text = label_text(face)
    font_scale = 0.7 * scale
    (text_w, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, font_scale, 1)
    bar_top = min(bottom, height - text_h - baseline - 8)
    bar_right = max(right, left + text_w + 12)
    return Label(box=(left, top, right, bottom), bar=(left, bar_top, bar_right, bar_top + text_h + baseline + 8),
                 text=text, origin=(left + 6, bar_top + text_h + 4),
                 colour={UNKNOWN: UNKNOWN_COLOUR, FACE: FACE_COLOUR}.get(face.name, KNOWN_COLOUR),
                 font_scale=font_scale, thickness=max(1, round(2 * scale)))


def paint(canvas: np.ndarray, label: Label, dx: int = 0, dy: int = 0) -> None:
    """Draw the label on a BGR canvas whose top-left is frame pixel (dx, dy)."""
    import cv2

    def at(x: int, y: int) -> tuple[int, int]:
        return x - dx, y - dy

    left, top, right, bottom = label.box
    cv2.rectangle(canvas, at(left, top), at(right, bottom), label.colour, label.thickness)
    left, top, right, bottom = label.bar
    cv2.rectangle(canvas, at(left, top), at(right, bottom), label.colour, cv2.FILLED)
    cv2.putText(canvas, label.text, at(*label.origin), cv2.FONT_HERSHEY_DUPLEX, label.font_scale, (255, 255, 255), 1,
                cv2.LINE_AA)


def draw_faces(frame: np.ndarray, faces: Iterable[FaceResult]) -> None:
    """A box around each face and a filled bar under it with the label, on a BGR picture."""
    height, width = frame.shape[:2]
    for face in faces:
        paint(frame, layout(face, width, height))


def draw_faces_i420(frame: np.ndarray, faces: Iterable[FaceResult]) -> None:
    """The same on an I420 frame: each label is drawn on a BGR patch of just the pixels it covers (a 1080p frame
    is never converted whole)."""
    width, height = yuv.size(frame)
    for face in faces:
        label = layout(face, width, height)
        area = yuv.even_area(label.extent(), width, height)
        if area is None:
            continue
        with yuv.bgr_patch(frame, area) as patch:
            if patch is not None:
                paint(patch, label, dx=area[3], dy=area[0])

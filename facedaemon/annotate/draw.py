"""Boxes and names drawn onto a frame (I420 in the pipeline, BGR elsewhere) in place: pure given the frame and the
faces."""

from __future__ import annotations

import functools
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
    """The same on an I420 frame, drawn on its planes directly: the box and bar in the colour's Y, U and V (chroma
    at half size), the text on each plane. No pixel is converted to BGR and back (that round trip of each label's
    area was most of a frame's drawing: 140 of 240 µs a face)."""
    width, height = yuv.size(frame)
    planes = None  # most frames carry no label: nothing at all is done for them
    for face in faces:
        planes = planes or yuv.planes(frame)
        paint_i420(planes, layout(face, width, height))


def paint_i420(planes: tuple[np.ndarray, np.ndarray, np.ndarray], label: Label) -> None:
    import cv2

    y, u, v = planes
    colour = i420_colour(label.colour)
    white = i420_colour((255, 255, 255))
    left, top, right, bottom = label.box
    chroma_thickness = max(1, round(label.thickness / 2))
    cv2.rectangle(y, (left, top), (right, bottom), colour[0], label.thickness)
    for plane, value in ((u, colour[1]), (v, colour[2])):
        cv2.rectangle(plane, (left // 2, top // 2), (right // 2, bottom // 2), value, chroma_thickness)
    left, top, right, bottom = label.bar
    for plane, value, shift in ((y, colour[0], 0), (u, colour[1], 1), (v, colour[2], 1)):
        cv2.rectangle(plane, (left >> shift, top >> shift), (right >> shift, bottom >> shift), value, cv2.FILLED)
    x, base = label.origin
    cv2.putText(y, label.text, (x, base), cv2.FONT_HERSHEY_DUPLEX, label.font_scale, white[0], 1, cv2.LINE_AA)
    for plane, value in ((u, white[1]), (v, white[2])):  # the text's chroma, at half size: white, not tinted
        cv2.putText(plane, label.text, (x // 2, base // 2), cv2.FONT_HERSHEY_DUPLEX, label.font_scale / 2, value, 1,
                    cv2.LINE_AA)


@functools.lru_cache(maxsize=16)
def i420_colour(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    """(Y, U, V) of a BGR colour, by the conversion the frames use (yuv.from_bgr)."""
    import numpy as np

    planes = yuv.planes(yuv.from_bgr(np.full((2, 2, 3), bgr, np.uint8)))
    return int(planes[0][0, 0]), int(planes[1][0, 0]), int(planes[2][0, 0])

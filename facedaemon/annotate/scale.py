"""Face boxes moved from the captured frame to the (smaller) output frame: recognition works on the full picture,
the stream shows a scaled one (camera.output)."""

from __future__ import annotations

import dataclasses

from facedaemon.faces.types import Box, FaceResult


def scale_box(box: Box, sx: float, sy: float) -> Box:
    top, right, bottom, left = box
    return round(top * sy), round(right * sx), round(bottom * sy), round(left * sx)


def scale_faces(faces: tuple[FaceResult, ...], source: tuple[int, int],
                output: tuple[int, int]) -> tuple[FaceResult, ...]:
    """The faces with their boxes in output pixels; `source` and `output` are (width, height)."""
    if source == output:
        return faces
    sx, sy = output[0] / source[0], output[1] / source[1]
    return tuple(dataclasses.replace(face, box=scale_box(face.box, sx, sy)) for face in faces)

"""Frames as planar I420 (YUV 4:2:0), the one layout a frame has from source to encoder.

Decoders give I420 and x264 takes it: keeping it end to end saves two full-frame conversions per frame (to BGR
after decoding, back to I420 before encoding), a quarter of the main process's CPU on a 1080p camera. An I420
frame is one uint8 array of height × 3/2 rows by width columns: the Y plane, then U and V at half size each way.
Width and height are even. BGR is made only where a picture leaves the frame path (recognition, snapshots), and
in small patches for drawing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

Area = tuple[int, int, int, int]  # (top, right, bottom, left) in pixels, like a face box


def size(image: np.ndarray) -> tuple[int, int]:
    """(width, height) of an I420 frame."""
    return image.shape[1], image.shape[0] * 2 // 3


def is_i420(image: np.ndarray) -> bool:
    # Rows a multiple of 3 make an even height (2/3 of them); the width must be even itself.
    return (image.dtype == np.uint8 and image.ndim == 2 and image.shape[0] % 3 == 0 and image.shape[1] % 2 == 0
            and image.shape[0] > 0 and image.shape[1] > 0)


def planes(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y, U and V planes (writing to them writes the frame)."""
    return _split(image, *size(image))


def luma(image: np.ndarray) -> np.ndarray:
    return image[: size(image)[1]]


def from_bgr(bgr: np.ndarray) -> np.ndarray:
    """BGR H×W×3 to I420; an odd last row or column is dropped (4:2:0 needs even sizes)."""
    import cv2

    even = bgr[: bgr.shape[0] - bgr.shape[0] % 2, : bgr.shape[1] - bgr.shape[1] % 2]
    if even.shape[0] < 2 or even.shape[1] < 2:
        raise ValueError(f"a {bgr.shape[1]}x{bgr.shape[0]} picture is too small for a frame")
    return cv2.cvtColor(np.ascontiguousarray(even), cv2.COLOR_BGR2YUV_I420)


def to_bgr(image: np.ndarray) -> np.ndarray:
    """A new BGR H×W×3 picture of the frame."""
    import cv2

    return cv2.cvtColor(image, cv2.COLOR_YUV2BGR_I420)


def fit_inside(frame: tuple[int, int], limit: tuple[int | None, int | None]) -> tuple[int, int]:
    """The size a width×height frame is scaled to so that it fits inside the limit (None: no limit that way): its
    shape kept, even sizes, never enlarged."""
    width, height = frame
    max_width, max_height = limit
    factor = min(1.0, max_width / width if max_width else 1.0, max_height / height if max_height else 1.0)
    if factor >= 1.0:
        return frame
    # Rounded down to even: rounding up could step outside the limit.
    return max(2, int(width * factor) // 2 * 2), max(2, int(height * factor) // 2 * 2)


def resize(image: np.ndarray, to: tuple[int, int]) -> np.ndarray:
    """A new I420 frame of size `to` (even sizes): each plane resized on its own, no colour conversion. Halving
    averages 2×2 pixels (no aliasing, ~1 ms for 4K luma); other factors are bilinear: OpenCV's area averaging took
    23-84 ms for a 4K plane at 3× or 2.4× on the development VM, a whole frame's budget."""
    import cv2

    width, height = to
    source_width, source_height = size(image)
    halving = source_width == 2 * width and source_height == 2 * height
    out = np.empty((height * 3 // 2, width), np.uint8)
    for plane, target in zip(planes(image), _split(out, width, height), strict=True):
        # Straight into the new frame (dst): a resized copy assigned over it cost four times as much at 4K here.
        cv2.resize(plane, (target.shape[1], target.shape[0]), dst=target,
                   interpolation=cv2.INTER_AREA if halving else cv2.INTER_LINEAR)
    return out


def even_area(area: Area, width: int, height: int) -> Area | None:
    """The area grown to even edges and clipped to the frame (chroma covers 2×2 pixels); None when empty."""
    top, right, bottom, left = area
    top, left = max(0, top - top % 2), max(0, left - left % 2)
    bottom, right = min(height, bottom + bottom % 2), min(width, right + right % 2)
    if bottom - top < 2 or right - left < 2:
        return None
    return top, right, bottom, left


@contextmanager
def bgr_patch(image: np.ndarray, area: Area) -> Iterator[np.ndarray | None]:
    """A BGR copy of `area` of the frame (grown to even edges) to draw on; written back into the frame after the
    block. Yields None when the area is outside the frame. The patch's origin is the even area's top-left:
    `even_area` gives it."""
    width, height = size(image)
    even = even_area(area, width, height)
    if even is None:
        yield None
        return
    top, right, bottom, left = even
    y, u, v = planes(image)
    parts = (y[top:bottom, left:right], u[top // 2:bottom // 2, left // 2:right // 2],
             v[top // 2:bottom // 2, left // 2:right // 2])
    patch = to_bgr(_stack(*parts))
    yield patch
    y_part, u_part, v_part = _split(from_bgr(patch), right - left, bottom - top)
    parts[0][:], parts[1][:], parts[2][:] = y_part, u_part, v_part


def _stack(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Three planes into one contiguous I420 array."""
    height, width = y.shape
    out = np.empty((height * 3 // 2, width), np.uint8)
    out[:height] = y
    _, u_out, v_out = _split(out, width, height)
    u_out[:], v_out[:] = u, v
    return out


def _split(image: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    flat = image.reshape(-1)
    luma_size, quarter = width * height, width * height // 4
    return (image[:height], flat[luma_size:luma_size + quarter].reshape(height // 2, width // 2),
            flat[luma_size + quarter:luma_size + 2 * quarter].reshape(height // 2, width // 2))

"""Geometry of (top, right, bottom, left) face boxes in pixels: overlap, grow, clamp, scale, merge.

Pure; used by the worker (detect, track, crop), the camera (motion) and annotate (draw, blur).
"""

from __future__ import annotations

from facedaemon.faces.types import Box


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (top, right, bottom, left) boxes."""
    top, bottom = max(a[0], b[0]), min(a[2], b[2])
    left, right = max(a[3], b[3]), min(a[1], b[1])
    inter = max(0, bottom - top) * max(0, right - left)
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def area(box: Box) -> int:
    return max(0, box[2] - box[0]) * max(0, box[1] - box[3])


def search_regions(boxes: list[Box], margin: float, frame_shape: tuple[int, ...]) -> list[Box]:
    """Each box grown by `margin` × its size on every side, clamped to the frame; overlapping regions merged.

    Detecting only there while every face is named costs a fraction of a full-frame scan; merging keeps one face
    from being found twice by two neighbours' regions.
    """
    height, width = frame_shape[0], frame_shape[1]
    regions = []
    for top, right, bottom, left in boxes:
        dy, dx = round((bottom - top) * margin), round((right - left) * margin)
        regions.append((max(0, top - dy), min(width, right + dx), min(height, bottom + dy), max(0, left - dx)))
    return merge_overlapping(regions)


def focus_region(hint: Box, margin: float, min_share: float, frame_shape: tuple[int, ...]) -> Box:
    """Where the picture changed, grown by `margin` × its size and to at least `min_share` of the frame each way.

    A face that walks in is detected in this region alone (a fraction of a full scan's time, so it is named that
    much sooner); the minimum size keeps a small changed patch (a hand, the edge of a face) from hiding the face.
    """
    height, width = frame_shape[0], frame_shape[1]
    top, right, bottom, left = search_regions([hint], margin, frame_shape)[0]
    top, bottom = widen(top, bottom, round(height * min_share), height)
    left, right = widen(left, right, round(width * min_share), width)
    return (top, right, bottom, left)


def widen(low: int, high: int, least: int, limit: int) -> tuple[int, int]:
    """The span [low, high) grown about its centre to at least `least`, kept inside [0, limit)."""
    if high - low >= least:
        return low, high
    low = max(0, (low + high - least) // 2)
    high = min(limit, low + least)
    return max(0, high - least), high


def merge_overlapping(regions: list[Box]) -> list[Box]:
    """Replace regions that overlap by their bounding box until none overlap."""
    merged = [r for r in regions if r[2] > r[0] and r[1] > r[3]]
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                a, b = merged[i], merged[j]
                if a[0] < b[2] and b[0] < a[2] and a[3] < b[1] and b[3] < a[1]:
                    merged[i] = (min(a[0], b[0]), max(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3]))
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    return merged


def scale_boxes(boxes: list[Box], factor: float, frame_shape: tuple[int, ...]) -> list[Box]:
    """Multiply (top, right, bottom, left) boxes by `factor`, clamped inside a frame of `frame_shape`."""
    height, width = frame_shape[0], frame_shape[1]
    scaled = []
    for top, right, bottom, left in boxes:
        scaled.append(
            (
                clamp(round(top * factor), height),
                clamp(round(right * factor), width),
                clamp(round(bottom * factor), height),
                clamp(round(left * factor), width),
            )
        )
    return scaled


def offset_boxes(boxes: list[Box], top: int, left: int) -> list[Box]:
    """Boxes found in a crop whose corner is at (top, left), moved into the whole frame's pixels."""
    return [(t + top, r + left, b + top, lft + left) for t, r, b, lft in boxes]


def clamp(value: int, limit: int) -> int:
    return max(0, min(limit, int(value)))


def union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), max(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3])


def larger(a: Box, b: Box) -> Box:
    """A box at the origin as tall as the taller and as wide as the wider of the two."""
    return 0, max(a[1] - a[3], b[1] - b[3]), max(a[2] - a[0], b[2] - b[0]), 0


def clamp_inside(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    top, right, bottom, left = box
    return (min(max(0, top), height - 1), min(max(0, right), width - 1),
            min(max(0, bottom), height - 1), min(max(0, left), width - 1))


def crop_box(box: Box, shape: tuple[int, ...], margin: float) -> Box:
    """The face box grown by `margin` × its size on each side, clamped to the frame."""
    top, right, bottom, left = box
    dy, dx = round((bottom - top) * margin), round((right - left) * margin)
    height, width = shape[0], shape[1]
    return max(0, top - dy), min(width, right + dx), min(height, bottom + dy), max(0, left - dx)

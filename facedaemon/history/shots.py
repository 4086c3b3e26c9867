"""The recognition worker's side of the history: a small JPEG of each named or Unknown track's best shot
(faces/tracker.py Track.best), sent to the daemon when it first exists and when a clearly better one comes.

Pure apart from the JPEG encoding; the worker sends what take() returns as ("shot", Thumb) messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from facedaemon.faces.types import FACE
from facedaemon.history.visits import Thumb

if TYPE_CHECKING:
    import numpy as np

    from facedaemon.faces.tracker import Track

THUMB_SIDE = 96  # pixels, the longer side: a row of the history page, a few KB
THUMB_QUALITY = 80
BETTER_BY = 1.25  # a new shot replaces the sent one when it scores this much higher (not for noise)
EVERY = 2.0  # seconds between two thumbnails of one track


def thumbnail(crop_bgr: np.ndarray) -> bytes:
    import cv2

    height, width = crop_bgr.shape[:2]
    scale = min(1.0, THUMB_SIDE / max(height, width, 1))
    if scale < 1.0:
        crop_bgr = cv2.resize(crop_bgr, (max(1, round(width * scale)), max(1, round(height * scale))),
                              interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", crop_bgr, [cv2.IMWRITE_JPEG_QUALITY, THUMB_QUALITY])
    return data.tobytes() if ok else b""


@dataclass
class ShotReporter:
    """One camera's thumbnails sent so far: track id -> (label, score, monotonic time sent). A track whose label
    changed (Unknown, then named) is a new visit: its picture goes again."""

    camera: str
    sent: dict[int, tuple[str, float, float]] = field(default_factory=dict)

    def take(self, tracks: Iterable[Track], live: set[int], now: float) -> list[Thumb]:
        thumbs = []
        for track in tracks:
            shot = track.best
            if shot is None or track.label == FACE:
                continue
            before = self.sent.get(track.id)
            if before is not None and before[0] == track.label and (
                    shot.score < before[1] * BETTER_BY or now - before[2] < EVERY):
                continue
            jpeg = thumbnail(shot.crop)
            if jpeg:
                thumbs.append(Thumb(self.camera, track.id, shot.score, jpeg))
                self.sent[track.id] = (track.label, shot.score, now)
        for gone in [t for t in self.sent if t not in live]:
            del self.sent[gone]
        return thumbs

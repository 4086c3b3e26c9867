"""Unknown faces, worker side: one UnknownCollector per camera keeps the sharpest crop of each unknown track.

It writes into the unknowns folder; gallery/unknowns.py holds the files, the rules and who reads them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from facedaemon.atomic_file import write_atomic
from facedaemon.faces.crops import crop_jpeg, face_px, face_sharpness
from facedaemon.faces.quality import MIN_FACE_PX
from facedaemon.faces.types import UNKNOWN
from facedaemon.gallery.unknowns import remove

if TYPE_CHECKING:
    import numpy as np

    from facedaemon.faces.tracker import Track

log = logging.getLogger(__name__)

SETTLE_SECONDS = 1.0  # a track must read Unknown this long before its first crop is written
WRITE_INTERVAL = 2.0  # seconds between rewrites of one track's crop (each is an fsync on persistent storage)
SHARPER_BY = 1.25  # a new crop replaces the saved one only when this much sharper (not for noise)
JPEG_QUALITY = 95  # the crop may be enrolled: keep the detail the sharpness check looks at


@dataclass
class Candidate:
    """The best crop of one unknown track so far."""

    uid: str
    sharpness: float
    face_px: int
    jpeg: bytes
    first_seen: float  # Unix time
    last_seen: float
    written_sharpness: float | None = None  # of the crop on disk, None while nothing is written
    written_at: float = float("-inf")  # monotonic


def better(candidate: Candidate, sharpness: float) -> bool:
    """A new view replaces the kept crop when it is sharper."""
    return sharpness > candidate.sharpness


def due(candidate: Candidate, now: float, final: bool = False) -> bool:
    """Write now? The first crop once the face has been Unknown for SETTLE_SECONDS (a first borderline vote is
    often corrected by the next ones); a clearly sharper one after WRITE_INTERVAL; the best at the end."""
    if candidate.written_sharpness is None:
        return final or candidate.last_seen - candidate.first_seen >= SETTLE_SECONDS
    if candidate.sharpness <= candidate.written_sharpness:
        return False
    return final or (candidate.sharpness >= candidate.written_sharpness * SHARPER_BY
                     and now - candidate.written_at >= WRITE_INTERVAL)


def unknown_id(camera: str, run: str, track: int, first_seen: float) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(first_seen))
    return f"{camera}-{stamp}-{run}-{track}"


@dataclass
class UnknownCollector:
    """One camera's unknown tracks (worker side); see the module docstring."""

    folder: Path
    camera: str
    run: str
    candidates: dict[int, Candidate] = field(default_factory=dict)

    def observe(self, tracks: Iterable[Track], live: set[int], frame_bgr: np.ndarray, now: float,
                frame_time: float) -> None:
        for track in tracks:
            if track.votes:
                self._see(track, frame_bgr, now, frame_time)
        for track_id in [t for t in self.candidates if t not in live]:
            self._finish(track_id, now)

    def _see(self, track: Track, frame_bgr: np.ndarray, now: float, frame_time: float) -> None:
        kept = self.candidates.get(track.id)
        if track.name != UNKNOWN:
            if kept is not None:  # a known person after all: not a stranger's face to keep
                self._discard(self.candidates.pop(track.id))
            return
        if face_px(track.box) < MIN_FACE_PX:
            return
        sharpness = face_sharpness(frame_bgr, track.box)
        if kept is None:
            uid = unknown_id(self.camera, self.run, track.id, frame_time)
            kept = Candidate(uid, sharpness, face_px(track.box), crop_jpeg(frame_bgr, track.box, JPEG_QUALITY),
                             frame_time, frame_time)
            self.candidates[track.id] = kept
        elif better(kept, sharpness):
            kept.sharpness, kept.face_px = sharpness, face_px(track.box)
            kept.jpeg = crop_jpeg(frame_bgr, track.box, JPEG_QUALITY)
        kept.last_seen = frame_time
        if due(kept, now):
            self._write(kept, now)

    def _finish(self, track_id: int, now: float) -> None:
        kept = self.candidates.pop(track_id)
        if due(kept, now, final=True):
            self._write(kept, now)

    def close(self) -> None:
        """Worker stopping: write what is better than what is on disk."""
        for track_id in list(self.candidates):
            self._finish(track_id, time.monotonic())

    def _write(self, kept: Candidate, now: float) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        meta = {"id": kept.uid, "camera": self.camera, "first_seen": kept.first_seen, "last_seen": kept.last_seen,
                "face_px": kept.face_px, "sharpness": round(kept.sharpness, 1)}
        # Metadata first: readers list a crop by its .jpg, so a listed crop always has its metadata beside it.
        write_atomic(self.folder / f"{kept.uid}.json", json.dumps(meta).encode())
        write_atomic(self.folder / f"{kept.uid}.jpg", kept.jpeg)
        first = kept.written_sharpness is None
        kept.written_sharpness, kept.written_at = kept.sharpness, now
        log.info("camera %s: unknown face %s crop %s (%d px, sharpness %.0f)", self.camera,
                 "saved" if first else "replaced by a sharper", kept.uid, kept.face_px, kept.sharpness)

    def _discard(self, kept: Candidate) -> None:
        if kept.written_sharpness is not None:
            remove(self.folder, kept.uid)
            log.info("camera %s: unknown face crop %s removed: the face was recognised", self.camera, kept.uid)

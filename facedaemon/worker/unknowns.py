"""Unknown faces, worker side: one UnknownCollector per camera keeps the best crop of each unknown track: the
track's best shot (faces/tracker.py BestShot, scored by quality.shot_score, the one rule for every face crop).

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

import numpy as np

from facedaemon.atomic_file import write_atomic
from facedaemon.faces.crops import to_jpeg
from facedaemon.faces.quality import MIN_FACE_PX, measure_face
from facedaemon.faces.types import FACE, UNKNOWN
from facedaemon.gallery.groups import Member
from facedaemon.gallery.unknowns import remove

if TYPE_CHECKING:
    from facedaemon.faces.tracker import BestShot, Track
    from facedaemon.worker.groups import GroupKeeper

log = logging.getLogger(__name__)

SETTLE_SECONDS = 1.0  # a track must read Unknown this long before its first crop is written
WRITE_INTERVAL = 2.0  # seconds between rewrites of one track's crop (each is an fsync on persistent storage)
BETTER_BY = 1.25  # a new crop replaces the saved one only when its shot scores this much higher (not for noise)
JPEG_QUALITY = 95  # the crop may be enrolled: keep the detail the sharpness check looks at


@dataclass
class Candidate:
    """The best crop of one unknown track so far."""

    uid: str
    score: float  # the best shot's quality.shot_score
    face_px: int
    jpeg: bytes
    first_seen: float  # Unix time
    last_seen: float
    sharpness: float = 0.0  # measured as for an enrolled photo, for the faces screen
    written_score: float | None = None  # of the crop on disk, None while nothing is written
    written_at: float = float("-inf")  # monotonic
    encoding: np.ndarray | None = None  # of the best shot: kept in the metadata for the groups (worker/groups.py)


def better(candidate: Candidate, score: float) -> bool:
    """A new best shot replaces the kept crop when it scores higher."""
    return score > candidate.score


def due(candidate: Candidate, now: float, final: bool = False) -> bool:
    """Write now? The first crop once the face has been Unknown for SETTLE_SECONDS (a first borderline vote is
    often corrected by the next ones); a clearly better one after WRITE_INTERVAL; the best at the end."""
    if candidate.written_score is None:
        return final or candidate.last_seen - candidate.first_seen >= SETTLE_SECONDS
    if candidate.score <= candidate.written_score:
        return False
    return final or (candidate.score >= candidate.written_score * BETTER_BY
                     and now - candidate.written_at >= WRITE_INTERVAL)


def enrol_sharpness(shot: BestShot) -> float:
    """The shot's sharpness measured as for an enrolled photo (quality.measure_face), so the number the faces
    screen shows compares with the enrolment threshold."""
    rgb = np.ascontiguousarray(shot.crop[:, :, ::-1])
    return measure_face(rgb, shot.face).sharpness


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
    groups: GroupKeeper | None = None

    def observe(self, tracks: Iterable[Track], live: set[int], now: float, frame_time: float) -> None:
        for track in tracks:
            self._see(track, now, frame_time)
        for track_id in [t for t in self.candidates if t not in live]:
            self._finish(track_id, now)

    def _see(self, track: Track, now: float, frame_time: float) -> None:
        kept = self.candidates.get(track.id)
        if track.ignored:  # an ignored group's face: no crop
            if kept is not None:
                self._discard(self.candidates.pop(track.id), "it belongs to an ignored group")
            return
        if track.label != UNKNOWN:
            if kept is not None and track.label != FACE:  # a known person after all: not a stranger's face to keep
                self._discard(self.candidates.pop(track.id))
            return
        shot = track.best
        if shot is None or shot.quality.height < MIN_FACE_PX:
            return
        if kept is None:
            uid = unknown_id(self.camera, self.run, track.id, frame_time)
            kept = Candidate(uid, shot.score, shot.quality.height, to_jpeg(shot.crop, JPEG_QUALITY), frame_time,
                             frame_time, enrol_sharpness(shot), encoding=shot.encoding)
            self.candidates[track.id] = kept
        elif better(kept, shot.score):
            kept.score, kept.face_px, kept.sharpness = shot.score, shot.quality.height, enrol_sharpness(shot)
            kept.jpeg, kept.encoding = to_jpeg(shot.crop, JPEG_QUALITY), shot.encoding
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
                "face_px": kept.face_px, "sharpness": round(kept.sharpness, 1), "score": round(kept.score, 4)}
        if kept.encoding is not None:  # only while unknowns.save is on; it expires with the crop
            meta["encoding"] = [round(float(v), 5) for v in kept.encoding]
        # Metadata first: readers list a crop by its .jpg, so a listed crop always has its metadata beside it.
        write_atomic(self.folder / f"{kept.uid}.json", json.dumps(meta).encode())
        write_atomic(self.folder / f"{kept.uid}.jpg", kept.jpeg)
        first = kept.written_score is None
        kept.written_score, kept.written_at = kept.score, now
        if self.groups is not None and kept.encoding is not None:
            self.groups.add(kept.uid, kept.encoding, Member(kept.first_seen, kept.last_seen, kept.score, self.camera))
        log.info("camera %s: unknown face %s crop %s (%d px, sharpness %.0f)", self.camera,
                 "saved" if first else "replaced by a better", kept.uid, kept.face_px, kept.sharpness)

    def _discard(self, kept: Candidate, why: str = "the face was recognised") -> None:
        if kept.written_score is not None:
            remove(self.folder, kept.uid)
            log.info("camera %s: unknown face crop %s removed: %s", self.camera, kept.uid, why)

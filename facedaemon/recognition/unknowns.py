"""Unknown faces, opt-in (`unknowns.save`): the sharpest crop of each unknown face track, kept for `retention`.

Worker side (UnknownCollector, one per camera): while a track reads Unknown, each detection of a face at least
MIN_FACE_PX tall is scored by sharpness (variance of the Laplacian, as for enrolled photos); the best crop is
written at once, replaced when a clearly sharper one comes (at most every WRITE_INTERVAL seconds) and finally
when the track ends. A track that turns out to be a known person loses its crop. With `save: false` no collector
exists and nothing is written.

On disk: `<dir>/<id>.jpg` plus `<id>.json` (camera, times, size, sharpness), written atomically and durably
(dir is persistent: `<faces_dir>/.unknowns` by default, hidden so the gallery never takes it for a person).
Files older than retention are deleted by the daemon (prune(), every minute and at start, so a restart does
not keep them longer) and never listed. The web app lists, serves, deletes and assigns them (enrols the crop).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from facedaemon.atomic_file import fsync_dir, write_atomic
from facedaemon.faces.types import UNKNOWN
from facedaemon.safe_path import regular_file_inside

if TYPE_CHECKING:
    import numpy as np

    from facedaemon.faces.tracker import Track

log = logging.getLogger(__name__)

UNKNOWN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")  # one path component, no dots: path-safe
SETTLE_SECONDS = 1.0  # a track must read Unknown this long before its first crop is written
WRITE_INTERVAL = 2.0  # seconds between rewrites of one track's crop (each is an fsync on persistent storage)
SHARPER_BY = 1.25  # a new crop replaces the saved one only when this much sharper (not for noise)
JPEG_QUALITY = 95  # the crop may be enrolled: keep the detail the sharpness check looks at
PRUNE_EVERY = 60.0  # seconds between retention sweeps in the daemon
MAX_META_BYTES = 4096
TEMP_SECONDS = 3600.0  # temporary files of a write that died are removed after this long


class UnknownsError(Exception):
    """A request about an unknown face that cannot be carried out (bad or missing id)."""


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
        from facedaemon.faces.crops import crop_jpeg, face_px, face_sharpness
        from facedaemon.faces.quality import MIN_FACE_PX

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
        write_atomic(self.folder / f"{kept.uid}.jpg", kept.jpeg)
        meta = {"id": kept.uid, "camera": self.camera, "first_seen": kept.first_seen, "last_seen": kept.last_seen,
                "face_px": kept.face_px, "sharpness": round(kept.sharpness, 1)}
        write_atomic(self.folder / f"{kept.uid}.json", json.dumps(meta).encode())
        first = kept.written_sharpness is None
        kept.written_sharpness, kept.written_at = kept.sharpness, now
        log.info("camera %s: unknown face %s crop %s (%d px, sharpness %.0f)", self.camera,
                 "saved" if first else "replaced by a sharper", kept.uid, kept.face_px, kept.sharpness)

    def _discard(self, kept: Candidate) -> None:
        if kept.written_sharpness is not None:
            remove(self.folder, kept.uid)
            log.info("camera %s: unknown face crop %s removed: the face was recognised", self.camera, kept.uid)


# --- files (daemon and web app) ----------------------------------------------------------------------------------


def check_id(uid: str) -> str:
    if not UNKNOWN_ID.match(uid):
        raise UnknownsError(f"invalid unknown-face id {uid!r}")
    return uid


def unknown_file(folder: Path, uid: str, suffix: str = ".jpg") -> Path | None:
    """folder/<uid><suffix> if the id is valid and that is a regular file right there (no symlink followed)."""
    if not UNKNOWN_ID.match(uid):
        return None
    return regular_file_inside(folder, uid + suffix)


def remove(folder: Path, uid: str) -> bool:
    """Delete the crop and its metadata; False when there was no such crop."""
    check_id(uid)
    found = False
    for suffix in (".jpg", ".json"):
        with contextlib.suppress(FileNotFoundError):
            (folder / f"{uid}{suffix}").unlink()
            found = True
    if found:
        fsync_dir(folder)
    return found


def listing(folder: Path, now: float, retention: float) -> list[dict]:
    """Crops still within retention, newest first: id, camera, time, face_px, sharpness (metadata may lag)."""
    entries = []
    for uid, mtime in _crops(folder):
        if now - mtime <= retention:
            entries.append({"id": uid, "time": mtime, **_meta(folder, uid)})
    return sorted(entries, key=lambda e: e["time"], reverse=True)


def _crops(folder: Path) -> list[tuple[str, float]]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = []
    for name in names:
        uid, dot, suffix = name.rpartition(".")
        if dot and suffix == "jpg" and UNKNOWN_ID.match(uid):
            with contextlib.suppress(OSError):
                info = os.lstat(folder / name)
                if stat.S_ISREG(info.st_mode):
                    found.append((uid, info.st_mtime))
    return found


def _meta(folder: Path, uid: str) -> dict:
    path = unknown_file(folder, uid, ".json")
    try:
        data = json.loads(path.read_bytes()[:MAX_META_BYTES]) if path is not None else {}
    except (OSError, ValueError):
        data = {}
    data = data if isinstance(data, dict) else {}
    keep = {"camera": str, "first_seen": float, "last_seen": float, "face_px": int, "sharpness": float}
    return {key: kind(data[key]) if _is(data.get(key), kind) else None for key, kind in keep.items()}


def _is(value: object, kind: type) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    return isinstance(value, str) if kind is str else isinstance(value, int | float)


def expired(files: Iterable[tuple[str, float]], now: float, retention: float) -> list[str]:
    """Names (with their mtimes given) that are past retention; temporary files after TEMP_SECONDS too."""
    old = []
    for name, mtime in files:
        limit = min(retention, TEMP_SECONDS) if name.startswith(".") else retention
        if now - mtime > limit:
            old.append(name)
    return old


def prune(folder: Path, now: float, retention: float) -> int:
    """Delete crops (and metadata, and leftover temporary files) older than retention; returns how many crops."""
    try:
        entries = [(e.name, e.stat(follow_symlinks=False).st_mtime) for e in os.scandir(folder) if e.is_file(
            follow_symlinks=False)]
    except OSError:
        return 0
    old = expired(entries, now, retention)
    for name in old:
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    if old:
        fsync_dir(folder)
    return sum(1 for name in old if name.endswith(".jpg") and not name.startswith("."))

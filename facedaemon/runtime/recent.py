"""Recent recognitions with a crop of the face, so a wrong match can be marked "not this person" from the page.

The recognition worker writes, per camera, `runtime_dir/recent/<camera>/<crop>.jpg` for each track the first time
it is named (and again if its name changes), cut from the track's best shot (faces/tracker.py BestShot), and
`index.json` listing them; the web app (another process) reads both. Only named faces get a crop: unknown faces
are kept only with `unknowns.save` (see unknowns.py). runtime_dir is tmpfs under systemd; the list is bounded
(RECENT_KEEP per camera, RECENT_SECONDS old at most) and a crop is
deleted when its track turns Unknown or its person leaves the gallery (forget).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from facedaemon.atomic_file import write_atomic
from facedaemon.faces.types import UNKNOWN, is_person
from facedaemon.safe_path import regular_file_inside

if TYPE_CHECKING:
    import numpy as np

    from facedaemon.faces.tracker import Track

log = logging.getLogger(__name__)

RECENT_DIR = "recent"
INDEX_FILE = "index.json"
RECENT_KEEP = 50  # crops per camera
RECENT_SECONDS = 600.0  # older crops are deleted: enough time to notice a wrong name and click
CROP_ID = re.compile(r"^[0-9a-f]{8}-[0-9]{1,9}\Z")  # <run>-<track>: the run token keeps ids unique across restarts
MAX_INDEX_BYTES = 256 * 1024


@dataclass(frozen=True)
class RecentEntry:
    crop: str
    track: int
    name: str
    confidence: float
    time: float  # Unix time of the frame the crop was cut from


def camera_folder(runtime_dir: Path, camera: str) -> Path:
    return runtime_dir / RECENT_DIR / camera


@dataclass
class RecentFaces:
    """One camera's recent named faces (worker side)."""

    folder: Path
    run: str  # 8 hex digits, new for every tracker (track ids start again at 1)
    entries: dict[int, RecentEntry] = field(default_factory=dict)  # by track id

    def start(self) -> None:
        """Crops of an earlier worker name tracks that no longer exist: start empty."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def observe(self, tracks: Iterable[Track], frame_bgr: np.ndarray, frame_time: float) -> None:
        changed = False
        for track in tracks:
            changed |= self._update(track, frame_bgr, frame_time)
        changed |= self._expire(frame_time)
        if changed:
            self._write_index()

    def _update(self, track: Track, frame_bgr: np.ndarray, frame_time: float) -> bool:
        from facedaemon.faces.crops import crop_jpeg, to_jpeg  # numpy: only the worker writes; the web only reads

        name = track.label
        entry = self.entries.get(track.id)
        if name == UNKNOWN:
            return entry is not None and self._drop(track.id)
        if not is_person(name) or (entry is not None and entry.name == name):
            return False
        crop = f"{self.run}-{track.id}"
        jpeg = to_jpeg(track.best.crop) if track.best is not None else crop_jpeg(frame_bgr, track.box)
        write_atomic(self.folder / f"{crop}.jpg", jpeg, durable=False)
        self.entries[track.id] = RecentEntry(crop, track.id, name, round(track.evidence.confidence, 4), frame_time)
        return True

    def _expire(self, now: float) -> bool:
        old = [t for t, e in self.entries.items() if now - e.time > RECENT_SECONDS]
        newest_first = sorted(self.entries, key=lambda t: self.entries[t].time, reverse=True)
        old += [t for t in newest_first[RECENT_KEEP:] if t not in old]
        for track in old:
            self._drop(track)
        return bool(old)

    def _drop(self, track: int) -> bool:
        entry = self.entries.pop(track)
        with contextlib.suppress(FileNotFoundError):
            (self.folder / f"{entry.crop}.jpg").unlink()
        return True

    def keep_people(self, people: set[str]) -> None:
        """After a gallery reload: crops of people no longer known (forgotten) go at once."""
        gone = [t for t, e in self.entries.items() if e.name not in people]
        for track in gone:
            self._drop(track)
        if gone:
            self._write_index()

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _write_index(self) -> None:
        entries = sorted(self.entries.values(), key=lambda e: e.time, reverse=True)
        body = json.dumps({"entries": [asdict(e) for e in entries]}).encode()
        write_atomic(self.folder / INDEX_FILE, body, durable=False)


# --- reading (web app) -------------------------------------------------------------------------------------------


def read_index(runtime_dir: Path, camera: str) -> list[RecentEntry]:
    """The camera's recent entries, newest first; empty when missing or unreadable (never an error)."""
    path = camera_folder(runtime_dir, camera) / INDEX_FILE
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_INDEX_BYTES + 1)
        data = json.loads(raw) if len(raw) <= MAX_INDEX_BYTES else {}
    except (OSError, ValueError):
        return []
    items = data.get("entries") if isinstance(data, dict) else None
    return [entry for entry in map(_entry, items if isinstance(items, list) else []) if entry is not None]


def _entry(raw: object) -> RecentEntry | None:
    if not isinstance(raw, dict):
        return None
    crop, track, name = raw.get("crop"), raw.get("track"), raw.get("name")
    confidence, when = raw.get("confidence"), raw.get("time")
    if not (isinstance(crop, str) and CROP_ID.match(crop) and isinstance(name, str) and type(track) is int):
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (confidence, when)):
        return None
    return RecentEntry(crop, track, name, float(confidence), float(when))  # type: ignore[arg-type]


def crop_file(runtime_dir: Path, camera: str, crop: str) -> Path | None:
    """runtime_dir/recent/<camera>/<crop>.jpg if it is a regular file there, following no symlink."""
    if not CROP_ID.match(crop):
        return None
    return regular_file_inside(runtime_dir, RECENT_DIR, camera, f"{crop}.jpg")


def find_track(runtime_dir: Path, camera: str, track: int) -> RecentEntry | None:
    """The newest entry for that track on that camera."""
    return next((entry for entry in read_index(runtime_dir, camera) if entry.track == track), None)

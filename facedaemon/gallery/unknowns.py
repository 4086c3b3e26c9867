"""Unknown faces, opt-in (`unknowns.save`): the best crop of each unknown face track, kept for `retention`.

Worker side (worker/unknowns.py, one UnknownCollector per camera): while a track reads Unknown, its best shot
(faces/tracker.py BestShot, scored by quality.shot_score) of a face at least MIN_FACE_PX tall is kept; the crop
is written once the track has read Unknown for SETTLE_SECONDS, replaced when a clearly better one comes (at most
every WRITE_INTERVAL seconds) and finally when the track ends. A track that turns out to be a known person loses
its crop. With `save: false` no collector exists and nothing is written.

On disk: `<dir>/<id>.jpg` plus `<id>.json` (camera, times, size, sharpness, shot score, and the face encoding the
groups use: gallery/groups.py, whose groups.json and groups.lock never expire), written atomically and durably
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
from collections.abc import Iterable
from pathlib import Path

from facedaemon.atomic_file import fsync_dir
from facedaemon.safe_path import regular_file_inside

log = logging.getLogger(__name__)

UNKNOWN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")  # one path component, no dots: path-safe
PRUNE_EVERY = 60.0  # seconds between retention sweeps in the daemon
MAX_META_BYTES = 4096
TEMP_SECONDS = 3600.0  # temporary files of a write that died are removed after this long
GROUPS_FILE, GROUPS_LOCK = "groups.json", "groups.lock"  # gallery/groups.py: state, not crops: never expire


class UnknownsError(Exception):
    """A request about an unknown face that cannot be carried out (bad or missing id)."""


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


def encoding_of(folder: Path, uid: str) -> list[float] | None:
    """The crop's face encoding (128 numbers) from its metadata, if it has a valid one (gallery/groups.py)."""
    path = unknown_file(folder, uid, ".json")
    try:
        data = json.loads(path.read_bytes()[:MAX_META_BYTES]) if path is not None else None
    except (OSError, ValueError):
        return None
    found = data.get("encoding") if isinstance(data, dict) else None
    if not isinstance(found, list) or len(found) != 128 or not all(_is(v, float) for v in found):
        return None
    return [float(v) for v in found]


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
    old = expired([(name, mtime) for name, mtime in entries if name not in (GROUPS_FILE, GROUPS_LOCK)], now,
                  retention)
    for name in old:
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    if old:
        fsync_dir(folder)
    return sum(1 for name in old if name.endswith(".jpg") and not name.startswith("."))

"""Change detection for hot reload: a cheap stat walk of faces_dir (size, mtime of every photo the gallery
would load) and a short description of what changed. Run by the worker every few seconds."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from stat import S_ISDIR as stat_is_dir

from facedaemon.gallery.layout import IMAGE_SUFFIXES, NEGATIVES_DIR

Snapshot = dict[str, tuple[int, int]]  # path → (size, mtime_ns) of every photo the gallery would load


def snapshot(faces_dir: Path, cache_dir: Path | None = None) -> Snapshot:
    """Cheap stat walk with the same rules as scan(): one scandir per folder, one stat per photo.

    Missing faces_dir gives an empty snapshot (the load that follows reports why).
    """
    skip = _inode(cache_dir) if cache_dir is not None else None
    found: Snapshot = {}
    try:
        top = list(os.scandir(faces_dir))
    except OSError:
        return found
    for entry in top:
        if entry.name == NEGATIVES_DIR:
            _snap_negatives(entry, found)
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir():
                stat = entry.stat()
                if (stat.st_dev, stat.st_ino) != skip:
                    _snap_folder(entry.path, found)
            elif _image_name(entry.name):
                _snap_file(entry, found)
        except OSError:
            continue  # vanished while we looked: the next poll sees the settled state
    return found


def _snap_negatives(root: os.DirEntry, found: Snapshot) -> None:
    """Negative examples count as gallery content: adding one must reload, like adding a photo."""
    try:
        if root.is_symlink() or not root.is_dir():
            return
        with os.scandir(root.path) as entries:
            people = [e.path for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for person in people:
        with contextlib.suppress(OSError):  # vanished while we looked: the next poll sees the settled state
            _snap_folder(person, found)


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _image_name(name: str) -> bool:
    # String checks, not Path objects: this runs for every photo every poll.
    return not name.startswith(".") and "." in name and "." + name.rpartition(".")[2].lower() in IMAGE_SUFFIXES


def _snap_folder(folder: str, found: Snapshot) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            if _image_name(entry.name):
                _snap_file(entry, found)


def _snap_file(entry: os.DirEntry, found: Snapshot) -> None:
    with contextlib.suppress(OSError):
        stat = entry.stat()  # follows symlinks, like scan()
        if not stat_is_dir(stat.st_mode):
            found[entry.path] = (stat.st_size, stat.st_mtime_ns)


def describe_changes(before: Snapshot, after: Snapshot, limit: int = 3) -> str:
    """'2 added (Obama/a.jpg, …), 1 removed (…), 1 replaced (…)' for the reload log line."""
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    replaced = sorted(p for p in set(before) & set(after) if before[p] != after[p])
    parts = []
    for label, paths in (("added", added), ("removed", removed), ("replaced", replaced)):
        if paths:
            shown = ", ".join(_short(p) for p in paths[:limit]) + (", …" if len(paths) > limit else "")
            parts.append(f"{len(paths)} {label} ({shown})")
    return "; ".join(parts) or "no change"


def _short(path: str) -> str:
    p = Path(path)
    negative = p.parent.parent.name == NEGATIVES_DIR
    return f"{NEGATIVES_DIR + '/' if negative else ''}{p.parent.name}/{p.name}"

"""Known faces from faces_dir, with encodings cached on disk by image content.

Layouts: faces/<person>/*.jpg (several photos each) and faces/<person>.jpg (person = file stem).
Negative examples ("not this person", see negatives.py) live in faces/.negatives/<person>/ and go through the
same cache; the change detection below watches them too.
The cache (one .npz, replaced atomically) maps sha256(file bytes) → status and encoding, so renames,
restarts and bad images cost no re-encoding. A size+mtime index avoids re-hashing unchanged files.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR as stat_is_dir

import numpy as np

from facedaemon.faces.matcher import ENCODING_SIZE, KnownFaces
from facedaemon.faces.negatives import NEGATIVES_DIR, Negatives
from facedaemon.faces.quality import FaceQuality, consistency, distances_to_others, measure_face, outlier_note, problems
from facedaemon.recognition.gallery_cache import CACHE_TMP_PREFIX, CacheEntry, FileStamp, read_cache, write_cache
from facedaemon.recognition.images import IMAGE_SUFFIXES, ImageError, decode_rgb, is_image_name

log = logging.getLogger(__name__)

LOAD_MAX_SIDE = 1600  # gallery photos are portraits: more pixels only slow detection down
DETECT_MAX_SIDE = 800  # detection runs on this (upsampled once), encoding on the LOAD_MAX_SIDE image
CACHE_FILE = "encodings.npz"
REPORT_FILE = "gallery.json"  # per-photo notes for the web app's faces screen (no encodings in it)
LOCK_FILE = ".lock"  # serialises cache rewrites between the daemon and enroll/forget (other processes)
# v2: ok entries carry quality measurements (FaceQuality.to_detail) in their detail field.
CACHE_VERSION = "v2"
SKIP_REASONS = {
    "pending": "waiting to be encoded",
    "no_face": "no face found",
    "many_faces": "more than one face (use a photo of one person)",
}


class GalleryError(Exception):
    """faces_dir itself is unusable (missing, not a directory)."""


@dataclass(frozen=True)
class GallerySummary:
    people: tuple[str, ...]
    images: int  # images that contributed an encoding
    skipped: tuple[tuple[Path, str], ...]  # (file, reason)
    encoded: int  # images decoded and run through the face models during this load (0 = all from cache)
    cached: int  # images whose result came from the cache
    pending: int = 0  # new images left for a later load (max_encode reached)
    negatives: int = 0  # negative examples that contributed an encoding


def scan(faces_dir: Path, cache_dir: Path | None = None) -> list[tuple[str, Path]]:
    """(person, image path) pairs in a stable order; hidden entries and the cache directory are ignored."""
    if not faces_dir.is_dir():
        raise GalleryError(f"faces directory {faces_dir} does not exist or is not a directory")
    skip = cache_dir.resolve() if cache_dir is not None else None
    found: list[tuple[str, Path]] = []
    for entry in sorted(faces_dir.iterdir()):
        if entry.name.startswith(".") or (skip is not None and entry.resolve() == skip):
            continue
        if entry.is_dir():
            found.extend((entry.name, image) for image in sorted(entry.iterdir()) if _usable(image))
        elif _usable(entry):
            found.append((entry.stem, entry))
    return found


def _usable(path: Path) -> bool:
    return is_image_name(path) and path.is_file()


def scan_negatives(faces_dir: Path) -> list[tuple[str, Path]]:
    """(person, image path) pairs of faces_dir/.negatives/<person>/*; a symlinked folder is not followed."""
    root = faces_dir / NEGATIVES_DIR
    if root.is_symlink() or not root.is_dir():
        return []
    found: list[tuple[str, Path]] = []
    for entry in sorted(root.iterdir()):
        if not entry.name.startswith(".") and entry.is_dir() and not entry.is_symlink():
            found.extend((entry.name, image) for image in sorted(entry.iterdir()) if _usable(image))
    return found


Analyser = Callable[[bytes], tuple[str, np.ndarray | None, str]]


@dataclass(frozen=True)
class PhotoRecord:
    """What the last load made of one photo (for the report)."""

    person: str
    path: Path
    status: str
    detail: str
    encoding: np.ndarray | None


def load_gallery(
    faces_dir: Path,
    cache_dir: Path | None,
    *,
    model: str = "hog",
    upsample: int = 1,
    tolerance: float = 0.6,
    max_encode: int | None = None,
) -> tuple[KnownFaces, GallerySummary]:
    """Known faces and what happened; raises GalleryError only when faces_dir itself is unusable.

    max_encode bounds the work of one load (a reload must not look like a stalled worker): photos beyond it are
    left out and counted in summary.pending; call again to continue.
    """
    known, _, summary = load_gallery_with_negatives(faces_dir, cache_dir, model=model, upsample=upsample,
                                                    tolerance=tolerance, max_encode=max_encode)
    return known, summary


def load_gallery_with_negatives(
    faces_dir: Path,
    cache_dir: Path | None,
    *,
    model: str = "hog",
    upsample: int = 1,
    tolerance: float = 0.6,
    max_encode: int | None = None,
) -> tuple[KnownFaces, Negatives, GallerySummary]:
    """load_gallery plus each person's negative examples (encoded after the photos, within the same budget)."""
    faces_dir = faces_dir.resolve()  # stamps hold absolute paths: enroll/forget may run from another directory
    pairs = scan(faces_dir, cache_dir)
    params = cache_params(model, upsample)
    cache_file = cache_dir / CACHE_FILE if cache_dir is not None else None
    entries, stamps = read_cache(cache_file, params) if cache_file is not None else ({}, {})

    def analyse(data: bytes) -> tuple[str, np.ndarray | None, str]:
        return analyse_image(data, model=model, upsample=upsample)

    known, summary, used_entries, new_stamps, records = _build(pairs, entries, stamps, analyse, max_encode)
    budget = None if max_encode is None else max(0, max_encode - summary.encoded)
    negatives, negative_summary, negative_entries, negative_stamps, negative_records = _build(
        scan_negatives(faces_dir), entries, stamps, analyse, budget)
    summary = _with_negatives(summary, negative_summary)
    used_entries = {**used_entries, **negative_entries}
    new_stamps = {**new_stamps, **negative_stamps}
    if cache_dir is not None and cache_file is not None:
        with cache_lock(cache_dir):
            # A forget that ran while we were encoding has removed files: never write their entries back.
            used_entries, new_stamps = only_existing(used_entries, new_stamps)
            if used_entries != entries or new_stamps != stamps:
                write_cache(cache_file, params, used_entries, new_stamps)
            report = gallery_report(faces_dir, records, tolerance)
            report["negatives"] = negatives_report(negative_records)
            write_report(cache_dir / REPORT_FILE, report)
    log.info(
        "gallery %s: %d people, %d images, %d negative examples, %d skipped, %d encoded, %d from cache, %d pending",
        faces_dir, len(summary.people), summary.images, summary.negatives, len(summary.skipped), summary.encoded,
        summary.cached, summary.pending,
    )
    return known, Negatives.from_entries(zip(negatives.names, negatives.encodings, strict=True)), summary


def _with_negatives(summary: GallerySummary, negatives: GallerySummary) -> GallerySummary:
    return GallerySummary(summary.people, summary.images, summary.skipped + negatives.skipped,
                          summary.encoded + negatives.encoded, summary.cached + negatives.cached,
                          summary.pending + negatives.pending, negatives.images)


def cache_params(model: str, upsample: int) -> str:
    return f"{CACHE_VERSION} model={model} upsample={upsample} load={LOAD_MAX_SIDE} detect={DETECT_MAX_SIDE}"


@contextlib.contextmanager
def cache_lock(cache_dir: Path) -> Iterator[None]:
    """Exclusive advisory lock on cache_dir/.lock (released by the kernel if the holder dies)."""
    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(cache_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _remove_leftovers(cache_dir)
        yield
    finally:
        os.close(fd)


def _remove_leftovers(cache_dir: Path) -> None:
    """Half-written cache files of a writer that was killed: every writer holds the lock, so while we hold it no
    temporary file is in use, and each one holds encodings (biometric data) nobody would ever delete otherwise."""
    for leftover in cache_dir.glob(f"{CACHE_TMP_PREFIX}*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def only_existing(
    entries: dict[str, CacheEntry], stamps: dict[str, FileStamp]
) -> tuple[dict[str, CacheEntry], dict[str, FileStamp]]:
    """Stamps of files that still exist, and only the entries one of them refers to."""
    kept = {path: stamp for path, stamp in stamps.items() if Path(path).is_absolute() and Path(path).exists()}
    digests = {stamp.digest for stamp in kept.values()}
    return {d: e for d, e in entries.items() if d in digests}, kept


def _stored_params(cache_file: Path) -> str | None:
    try:
        with np.load(cache_file, allow_pickle=False) as data:
            return str(data["params"])
    except Exception:
        return None


def prune_cache(cache_dir: Path) -> int:
    """Rewrite the cache without entries of files that are gone; returns how many encodings were removed.

    Works whatever settings built the cache (an old cache still holds biometric data). A cache that cannot be
    read is deleted: it is only an accelerator, and it may hold entries we cannot otherwise remove.
    """
    cache_file = cache_dir / CACHE_FILE
    with cache_lock(cache_dir):
        if not cache_file.exists():
            return 0
        params = _stored_params(cache_file)
        entries, stamps = read_cache(cache_file, params) if params is not None else ({}, {})
        if params is None or (not entries and not stamps):
            cache_file.unlink()
            return 0
        kept_entries, kept_stamps = only_existing(entries, stamps)
        if kept_entries != entries or kept_stamps != stamps:
            write_cache(cache_file, params, kept_entries, kept_stamps)
        return len(entries) - len(kept_entries)


def cached_encodings(faces_dir: Path, cache_dir: Path | None, person: str) -> list[np.ndarray]:
    """Encodings the cache holds for the person's current photos (any settings; empty when there is no cache)."""
    if cache_dir is None or not (cache_dir / CACHE_FILE).exists():
        return []
    params = _stored_params(cache_dir / CACHE_FILE)
    if params is None:
        return []
    entries, stamps = read_cache(cache_dir / CACHE_FILE, params)
    faces_dir = faces_dir.resolve()
    found = []
    for path_text, stamp in stamps.items():
        path = Path(path_text)
        mine = path.parent == faces_dir / person or (path.parent == faces_dir and path.stem == person)
        entry = entries.get(stamp.digest)
        if mine and path.exists() and entry is not None and entry.encoding is not None:
            found.append(entry.encoding)
    return found


def gallery_report(faces_dir: Path, records: list[PhotoRecord], tolerance: float) -> dict:
    """Per person: photo count, consistency, and a note per photo the user can act on."""
    by_person: dict[str, list[PhotoRecord]] = {}
    for record in records:
        by_person.setdefault(record.person, []).append(record)
    people = {}
    for person, items in sorted(by_person.items()):
        good = [r for r in items if r.encoding is not None]
        rows = np.array([r.encoding for r in good]) if good else np.empty((0, ENCODING_SIZE))
        far = dict(zip((id(r) for r in good), distances_to_others(rows).tolist(), strict=True))
        images = {}
        for record in items:
            stat = _stat(record.path)
            images[str(record.path.relative_to(faces_dir))] = {
                "ok": record.status == "ok",
                "notes": photo_notes(record, far.get(id(record), float("nan")), tolerance),
                "size": stat[0],
                "mtime_ns": stat[1],
            }
        spread = consistency(rows)
        people[person] = {"consistency": None if spread is None else round(spread, 3), "images": images}
    return {"updated": time.time(), "tolerance": tolerance, "people": people}


def negatives_report(records: list[PhotoRecord]) -> dict:
    """Per person: each negative example's file name, whether it is used, and why not."""
    people: dict[str, dict] = {}
    for record in records:
        stat = _stat(record.path)
        notes = [] if record.status == "ok" else photo_notes(record, float("nan"), 1.0)
        people.setdefault(record.person, {})[record.path.name] = {
            "ok": record.status == "ok", "notes": notes, "size": stat[0], "mtime_ns": stat[1]}
    return people


def photo_notes(record: PhotoRecord, distance: float, tolerance: float) -> list[str]:
    if record.status == "pending":
        return [SKIP_REASONS["pending"]]
    if record.status != "ok":
        return [SKIP_REASONS.get(record.status, record.detail or record.status) + " (not used)"]
    quality = FaceQuality.from_detail(record.detail)
    notes = problems(quality) if quality is not None else ["quality not measured"]
    far = outlier_note(distance, tolerance)
    return [*notes, far] if far is not None else notes


def _stat(path: Path) -> tuple[int | None, int | None]:
    try:
        stat = path.stat()
    except OSError:
        return None, None
    return stat.st_size, stat.st_mtime_ns


def write_report(path: Path, report: dict) -> None:
    """Atomic, best effort: the report only feeds the faces screen."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".report-", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(report, handle)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("gallery report %s cannot be written (%s)", path, exc)


def drop_from_report(cache_dir: Path, person: str) -> None:
    """Remove a forgotten person's photo names and notes from the report (it is rewritten at the next load)."""
    path = cache_dir / REPORT_FILE
    with cache_lock(cache_dir):
        report = read_report(cache_dir)
        people, negatives = report.get("people"), report.get("negatives")
        dropped = [section.pop(person, None) for section in (people, negatives) if isinstance(section, dict)]
        if any(entry is not None for entry in dropped):
            write_report(path, report)
        elif not report and path.exists():
            path.unlink()  # unreadable: it may still name them


def read_report(cache_dir: Path) -> dict:
    try:
        report = json.loads((cache_dir / REPORT_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return report if isinstance(report, dict) else {}


def _build(
    pairs: list[tuple[str, Path]],
    entries: dict[str, CacheEntry],
    stamps: dict[str, FileStamp],
    analyse: Analyser,
    max_encode: int | None = None,
) -> tuple[KnownFaces, GallerySummary, dict[str, CacheEntry], dict[str, FileStamp], list[PhotoRecord]]:
    used: dict[str, CacheEntry] = {}
    new_stamps: dict[str, FileStamp] = {}
    rows: list[tuple[str, np.ndarray]] = []
    skipped: list[tuple[Path, str]] = []
    records: list[PhotoRecord] = []
    encoded = cached = pending = 0
    for person, path in pairs:
        try:
            digest, data, stamp = _identify_file(path, stamps.get(str(path)), entries)
        except OSError as exc:
            skipped.append(_skip(path, f"cannot read: {exc.strerror or exc}"))
            continue
        entry = used.get(digest) or entries.get(digest)
        if entry is None and max_encode is not None and encoded >= max_encode:
            pending += 1
            records.append(PhotoRecord(person, path, "pending", "", None))
            continue
        new_stamps[str(path)] = stamp
        if entry is None:
            status, encoding, detail = _analyse_safely(analyse, data)
            entry = CacheEntry(status, encoding, detail)
            encoded += 1
        elif digest not in used:
            cached += 1
        used[digest] = entry
        ok = entry.status == "ok" and entry.encoding is not None
        records.append(PhotoRecord(person, path, entry.status, entry.detail, entry.encoding if ok else None))
        if ok:
            rows.append((person, entry.encoding))
        else:
            skipped.append(_skip(path, SKIP_REASONS.get(entry.status, entry.detail or entry.status)))
    known = KnownFaces.from_entries(rows)
    summary = GallerySummary(known.people, len(rows), tuple(skipped), encoded, cached, pending)
    return known, summary, used, new_stamps, records


def _identify_file(
    path: Path, stamp: FileStamp | None, entries: dict[str, CacheEntry]
) -> tuple[str, bytes, FileStamp]:
    """Content hash; the recorded one is reused when size and mtime are unchanged and the entry is cached."""
    stat = path.stat()
    if stamp is not None and stamp.matches(stat) and stamp.digest in entries:
        return stamp.digest, b"", stamp
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    return digest, data, FileStamp(digest, stat.st_size, stat.st_mtime_ns)


def _skip(path: Path, reason: str) -> tuple[Path, str]:
    log.warning("gallery: skipping %s: %s", path, reason)
    return path, reason


def _analyse_safely(analyse: Analyser, data: bytes) -> tuple[str, np.ndarray | None, str]:
    try:
        return analyse(data)
    except ImageError as exc:
        return "unreadable", None, str(exc)


def analyse_image(data: bytes, *, model: str, upsample: int) -> tuple[str, np.ndarray | None, str]:
    """("ok", encoding, quality detail) for exactly one face, else ("no_face" | "many_faces", None, "").

    Raises ImageError.
    """
    from facedaemon.faces import engine

    rgb = decode_rgb(data, max_side=LOAD_MAX_SIDE)
    scale = min(1.0, DETECT_MAX_SIDE / max(rgb.shape[:2]))
    boxes = engine.detect_full(rgb, scale, model, upsample)
    if not boxes:
        return "no_face", None, ""
    if len(boxes) > 1:
        return "many_faces", None, ""
    (encoding,) = engine.encode(rgb, boxes)
    quality = measure_face(rgb, boxes[0])
    return "ok", np.asarray(encoding, dtype=np.float64).reshape(ENCODING_SIZE), quality.to_detail()


# --- change detection (hot reload) -------------------------------------------------------------------------------

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

"""Known faces from faces_dir, with encodings cached on disk by image content.

Layouts: faces/<person>/*.jpg (several photos each) and faces/<person>.jpg (person = file stem).
The cache (one .npz, replaced atomically) maps sha256(file bytes) → status and encoding, so renames,
restarts and bad images cost no re-encoding. A size+mtime index avoids re-hashing unchanged files.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedaemon.recognition.gallery_cache import CacheEntry, FileStamp, read_cache, write_cache
from facedaemon.recognition.images import ImageError, decode_rgb, is_image_name
from facedaemon.recognition.matcher import ENCODING_SIZE, KnownFaces

log = logging.getLogger(__name__)

LOAD_MAX_SIDE = 1600  # gallery photos are portraits: more pixels only slow detection down
DETECT_MAX_SIDE = 800  # detection runs on this (upsampled once), encoding on the LOAD_MAX_SIDE image
SKIP_REASONS = {
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


Analyser = Callable[[bytes], tuple[str, np.ndarray | None]]


def load_gallery(
    faces_dir: Path,
    cache_dir: Path | None,
    *,
    model: str = "hog",
    upsample: int = 1,
) -> tuple[KnownFaces, GallerySummary]:
    """Known faces and what happened; raises GalleryError only when faces_dir itself is unusable."""
    pairs = scan(faces_dir, cache_dir)
    params = f"v1 model={model} upsample={upsample} load={LOAD_MAX_SIDE} detect={DETECT_MAX_SIDE}"
    cache_file = cache_dir / "encodings.npz" if cache_dir is not None else None
    entries, stamps = read_cache(cache_file, params) if cache_file is not None else ({}, {})

    def analyse(data: bytes) -> tuple[str, np.ndarray | None]:
        return analyse_image(data, model=model, upsample=upsample)

    known, summary, used_entries, new_stamps = _build(pairs, entries, stamps, analyse)
    if cache_file is not None and (used_entries != entries or new_stamps != stamps):
        write_cache(cache_file, params, used_entries, new_stamps)
    log.info(
        "gallery %s: %d people, %d images, %d skipped, %d encoded, %d from cache",
        faces_dir, len(summary.people), summary.images, len(summary.skipped), summary.encoded, summary.cached,
    )
    return known, summary


def _build(
    pairs: list[tuple[str, Path]],
    entries: dict[str, CacheEntry],
    stamps: dict[str, FileStamp],
    analyse: Analyser,
) -> tuple[KnownFaces, GallerySummary, dict[str, CacheEntry], dict[str, FileStamp]]:
    used: dict[str, CacheEntry] = {}
    new_stamps: dict[str, FileStamp] = {}
    rows: list[tuple[str, np.ndarray]] = []
    skipped: list[tuple[Path, str]] = []
    encoded = cached = 0
    for person, path in pairs:
        try:
            digest, data, stamp = _identify_file(path, stamps.get(str(path)), entries)
        except OSError as exc:
            skipped.append(_skip(path, f"cannot read: {exc.strerror or exc}"))
            continue
        new_stamps[str(path)] = stamp
        entry = used.get(digest) or entries.get(digest)
        if entry is None:
            status, encoding, detail = _analyse_safely(analyse, data)
            entry = CacheEntry(status, encoding, detail)
            encoded += 1
        elif digest not in used:
            cached += 1
        used[digest] = entry
        if entry.status == "ok" and entry.encoding is not None:
            rows.append((person, entry.encoding))
        else:
            skipped.append(_skip(path, SKIP_REASONS.get(entry.status, entry.detail or entry.status)))
    known = KnownFaces.from_entries(rows)
    summary = GallerySummary(known.people, len(rows), tuple(skipped), encoded, cached)
    return known, summary, used, new_stamps


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
        status, encoding = analyse(data)
    except ImageError as exc:
        return "unreadable", None, str(exc)
    return status, encoding, ""


def analyse_image(data: bytes, *, model: str, upsample: int) -> tuple[str, np.ndarray | None]:
    """("ok", encoding) for exactly one face, else ("no_face" | "many_faces", None). Raises ImageError."""
    from facedaemon.recognition import engine

    rgb = decode_rgb(data, max_side=LOAD_MAX_SIDE)
    scale = min(1.0, DETECT_MAX_SIDE / max(rgb.shape[:2]))
    boxes = engine.detect_full(rgb, scale, model, upsample)
    if not boxes:
        return "no_face", None
    if len(boxes) > 1:
        return "many_faces", None
    (encoding,) = engine.encode(rgb, boxes)
    return "ok", np.asarray(encoding, dtype=np.float64).reshape(ENCODING_SIZE)

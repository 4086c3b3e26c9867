"""Known faces from faces_dir, with encodings cached on disk by image content.

Layouts: faces/<person>/*.jpg (several photos each) and faces/<person>.jpg (person = file stem).
Negative examples ("not this person", see negatives.py) live in faces/.negatives/<person>/ and go through the
same cache; the change detection (watch.py) watches them too.
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

from facedaemon.faces import engine
from facedaemon.faces.matcher import ENCODING_SIZE, KnownFaces
from facedaemon.faces.negatives import Negatives
from facedaemon.faces.quality import measure_face
from facedaemon.gallery.cache import (
    CACHE_FILE,
    DETECT_MAX_SIDE,
    LOAD_MAX_SIDE,
    CacheEntry,
    FileStamp,
    cache_lock,
    cache_params,
    only_existing,
    read_cache,
    write_cache,
)
from facedaemon.gallery.images import ImageError, decode_rgb, read_image_file
from facedaemon.gallery.layout import scan, scan_negatives
from facedaemon.gallery.report import (
    REPORT_FILE,
    SKIP_REASONS,
    PhotoRecord,
    gallery_report,
    negatives_report,
    write_report,
)
from facedaemon.gallery.settings import GallerySettings

log = logging.getLogger(__name__)
Analyser = Callable[[bytes], tuple[str, np.ndarray | None, str]]


@dataclass(frozen=True)
class GallerySummary:
    people: tuple[str, ...]
    images: int  # images that contributed an encoding
    skipped: tuple[tuple[Path, str], ...]  # (file, reason)
    encoded: int  # images decoded and run through the face models during this load (0 = all from cache)
    cached: int  # images whose result came from the cache
    pending: int = 0  # new images left for a later load (max_encode reached)
    negatives: int = 0  # negative examples that contributed an encoding


def load_gallery(settings: GallerySettings, *, max_encode: int | None = None) -> tuple[KnownFaces, GallerySummary]:
    """Known faces and what happened; raises GalleryError only when faces_dir itself is unusable.

    max_encode bounds the work of one load (a reload must not look like a stalled worker): photos beyond it are
    left out and counted in summary.pending; call again to continue.
    """
    known, _, summary = load_gallery_with_negatives(settings, max_encode=max_encode)
    return known, summary


def load_gallery_with_negatives(
    settings: GallerySettings, *, max_encode: int | None = None
) -> tuple[KnownFaces, Negatives, GallerySummary]:
    """load_gallery plus each person's negative examples (encoded after the photos, within the same budget)."""
    model, upsample, cache_dir = settings.model, settings.upsample, settings.cache_dir
    faces_dir = settings.faces_dir.resolve()  # stamps hold absolute paths: enroll/forget may run from another directory
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
            report = gallery_report(faces_dir, records, settings.tolerance)
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
        except ImageError as exc:  # too big to read at all
            skipped.append(_skip(path, str(exc)))
            continue
        entry = used.get(digest) or entries.get(digest)
        if entry is None and max_encode is not None and encoded >= max_encode:
            pending += 1
            records.append(PhotoRecord(person, path, "pending", "", None))
            continue
        new_stamps[str(path)] = stamp
        fresh = entry is None
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
            # Warned once, when the photo was looked at; every later reload knows it from the cache.
            skipped.append(_skip(path, SKIP_REASONS.get(entry.status, entry.detail or entry.status), quiet=not fresh))
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
    data = read_image_file(path)
    digest = hashlib.sha256(data).hexdigest()
    return digest, data, FileStamp(digest, stat.st_size, stat.st_mtime_ns)


def _skip(path: Path, reason: str, *, quiet: bool = False) -> tuple[Path, str]:
    log.log(logging.DEBUG if quiet else logging.WARNING, "gallery: skipping %s: %s", path, reason)
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
    rgb = decode_rgb(data, max_side=LOAD_MAX_SIDE)  # first: a refused file never runs the face models

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



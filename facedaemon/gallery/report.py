"""gallery.json in the cache folder: per-photo notes from the daemon's last load (quality, consistency, why a
photo was skipped) for the web's faces screen. Written by the worker, read by the web; no encodings in it."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedaemon.atomic_file import write_atomic
from facedaemon.faces.matcher import ENCODING_SIZE
from facedaemon.faces.quality import FaceQuality, consistency, distances_to_others, outlier_note, problems
from facedaemon.gallery.cache import cache_lock

log = logging.getLogger(__name__)


REPORT_FILE = "gallery.json"  # per-photo notes for the web app's faces screen (no encodings in it)
SKIP_REASONS = {
    "pending": "waiting to be encoded",
    "no_face": "no face found",
    "many_faces": "more than one face (use a photo of one person)",
}


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
        # Not durable: a report lost to a power cut is rewritten by the next load.
        write_atomic(path, json.dumps(report).encode(), durable=False, prefix=".report-")
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


@dataclass(frozen=True)
class PhotoRecord:
    """What the last load made of one photo (for the report)."""

    person: str
    path: Path
    status: str
    detail: str
    encoding: np.ndarray | None

"""Whether a photo may be enrolled: decodable, exactly one face, big and sharp enough, like the person's others.

The one module of the gallery's editing side that loads numpy, PIL and the face models: edit.py imports it only
when a photo is checked, so the web app (which imports edit.py) starts without them.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from facedaemon.faces.quality import FaceQuality, distances_to_others, outlier_note, problems
from facedaemon.gallery.cache import cached_encodings
from facedaemon.gallery.images import ALLOWED_FORMATS, ImageError, ImageFormatError, ImageTooLarge
from facedaemon.gallery.load import analyse_image
from facedaemon.gallery.settings import GallerySettings

FORMAT_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "MPO": ".jpg"}


@dataclass(frozen=True)
class PhotoCheck:
    filename: str
    problems: tuple[str, ...] = ()  # empty: the photo can be enrolled
    suffix: str = ".jpg"
    encoding: np.ndarray | None = None
    quality: FaceQuality | None = None
    status: int = 422  # the HTTP answer if this photo is refused

    @property
    def ok(self) -> bool:
        return not self.problems


def check_photos(gallery: GallerySettings, name: str, photos: list[tuple[str, bytes]]) -> list[PhotoCheck]:
    """Each photo on its own, then against the person's cached encodings and the rest of the batch."""
    checks = [_yielding(check_photo(gallery, filename, data)) for filename, data in photos]
    existing = cached_encodings(gallery.faces_dir, gallery.cache_dir, name)  # not-yet-encoded photos do not count
    return check_consistency(checks, existing, gallery.tolerance)


def check_photo(gallery: GallerySettings, filename: str, data: bytes) -> PhotoCheck:
    """Decodable, exactly one face, big and sharp enough; problems say what to do about it."""
    try:
        status, encoding, detail = analyse_image(data, model=gallery.model, upsample=gallery.upsample)
    except ImageError as exc:
        http = 415 if isinstance(exc, ImageFormatError) else 413 if isinstance(exc, ImageTooLarge) else 422
        return PhotoCheck(filename, (f"not a usable image: {exc}",), status=http)
    if status == "no_face":
        return PhotoCheck(filename, ("no face found: use a photo where the face is clearly visible",))
    if status == "many_faces":
        return PhotoCheck(filename, ("more than one face: use a photo of this person only (or crop it)",))
    quality = FaceQuality.from_detail(detail)
    found = tuple(problems(quality)) if quality is not None else ()
    return PhotoCheck(filename, found, _suffix(data), encoding, quality)


def _yielding(check: PhotoCheck) -> PhotoCheck:
    """Between photos: in a gevent web worker, sleep(0) lets other requests and the worker's heartbeat run (a
    20-photo enrolment on a slow CPU would otherwise look like a hung worker); elsewhere it costs nothing."""
    time.sleep(0)
    return check


def _suffix(data: bytes) -> str:
    """File suffix from the decoded format, not from the uploaded name (which the client chose)."""
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
            return FORMAT_SUFFIX.get(image.format or "", ".jpg")
    except Exception:  # already decoded once by check_photo; this only picks the suffix
        return ".jpg"


def check_consistency(checks: list[PhotoCheck], existing: list[np.ndarray], tolerance: float) -> list[PhotoCheck]:
    """Flag new photos far from the person's other photos (existing ones and the rest of this batch)."""
    new = [c for c in checks if c.ok and c.encoding is not None]
    if len(existing) + len(new) < 2:
        return checks
    rows = np.array([*existing, *[c.encoding for c in new]])
    distances = distances_to_others(rows)[len(existing):]
    flagged = {}
    for check, distance in zip(new, distances, strict=True):
        note = outlier_note(float(distance), tolerance)
        if note is not None:
            flagged[id(check)] = PhotoCheck(check.filename, (note,), check.suffix, check.encoding, check.quality)
    return [flagged.get(id(c), c) for c in checks]

"""Add photos of a person to faces_dir, mark faces as "not this person", and forget a person completely
(photos, negative examples and cached encodings).

Used by the CLI (`facedaemon enroll` / `forget`) and by the web app's gunicorn workers: they only write
files; the daemon's recognition worker notices the change (gallery polling) and reloads.
Heavy modules (numpy, PIL, face_recognition) are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from facedaemon.atomic_file import fsync_dir, write_atomic
from facedaemon.config.models import DEFAULT_DETECTOR
from facedaemon.gallery.layout import (
    NEGATIVE_FILE,
    NEGATIVES_DIR,
    EnrollError,
    UnknownPerson,
    check_existing_name,
    check_name,
    is_image_name,
    negatives_dir,
    scan,
)

if TYPE_CHECKING:
    import numpy as np

    from facedaemon.faces.quality import FaceQuality

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # per request on POST /api/faces/<name>
LOCKS_DIR = ".facedaemon-locks"  # hidden: the gallery never scans it
LOCK_WAIT = 30.0  # seconds an enrol/forget waits for another change of the same person
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


@dataclass
class ForgetReport:
    name: str
    files: list[str] = field(default_factory=list)  # removed, relative to faces_dir
    cache_entries: int = 0  # encodings removed from the cache


@contextlib.contextmanager
def person_lock(faces_dir: Path, name: str, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Serialise changes of one person across processes (gunicorn workers, the CLI): an enrol and a forget
    racing each other left photos behind and answered 500. Polls (no blocking flock) so a gevent worker keeps
    serving others while it waits."""
    folder = faces_dir / LOCKS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / (hashlib.sha256(name.encode()).hexdigest()[:24] + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    _give_to_faces_owner(faces_dir, [folder, path])  # root's lock would lock the service out of this person
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EnrollError(f"{name!r} is being changed by another request; try again", 409) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


# --- checking photos ---------------------------------------------------------------------------------------------


def check_photo(filename: str, data: bytes, *, model: str = DEFAULT_DETECTOR, upsample: int = 1) -> PhotoCheck:
    """Decodable, exactly one face, big and sharp enough; problems say what to do about it."""
    from facedaemon.faces.quality import FaceQuality, problems
    from facedaemon.gallery.images import ImageError, ImageFormatError, ImageTooLarge
    from facedaemon.gallery.load import analyse_image

    try:
        status, encoding, detail = analyse_image(data, model=model, upsample=upsample)
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
    import io

    from PIL import Image

    from facedaemon.gallery.images import ALLOWED_FORMATS

    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
            return FORMAT_SUFFIX.get(image.format or "", ".jpg")
    except Exception:  # already decoded once by check_photo; this only picks the suffix
        return ".jpg"


def check_consistency(checks: list[PhotoCheck], existing: list[np.ndarray], tolerance: float) -> list[PhotoCheck]:
    """Flag new photos far from the person's other photos (existing ones and the rest of this batch)."""
    import numpy as np

    from facedaemon.faces.quality import distances_to_others, outlier_note

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


def existing_encodings(faces_dir: Path, cache_dir: Path | None, name: str) -> list[np.ndarray]:
    """The person's cached encodings (photos the daemon has not encoded yet are not counted)."""
    from facedaemon.gallery.cache import cached_encodings

    return cached_encodings(faces_dir, cache_dir, name)


# --- writing ----------------------------------------------------------------------------------------------------


def enroll(
    faces_dir: Path,
    cache_dir: Path | None,
    name: str,
    photos: list[tuple[str, bytes]],
    *,
    model: str = DEFAULT_DETECTOR,
    tolerance: float = 0.6,
    allow_flagged: bool = False,
) -> tuple[list[str], list[PhotoCheck]]:
    """Check every photo, then write all of them or none. Returns (files written relative to faces_dir, checks).

    Raises EnrollError naming each refused file and why (all-or-nothing, so a retry does not duplicate).
    """
    check_name(name)
    if not photos:
        raise EnrollError("no images given")
    if not faces_dir.is_dir():
        raise EnrollError(f"faces directory {faces_dir} does not exist")
    checks = [_yielding(check_photo(filename, data, model=model)) for filename, data in photos]
    checks = check_consistency(checks, existing_encodings(faces_dir, cache_dir, name), tolerance)
    refused = [c for c in checks if not c.ok and (not allow_flagged or c.encoding is None)]
    if refused:
        statuses = {c.status for c in refused}
        raise EnrollError("; ".join(f"{c.filename}: {', '.join(c.problems)}" for c in refused),
                          statuses.pop() if len(statuses) == 1 else 422)
    person_dir = faces_dir / name
    written = []
    with person_lock(faces_dir, name):
        _ensure_person_dir(person_dir)
        for check, (_, data) in zip(checks, photos, strict=True):
            target = person_dir / photo_filename(check.filename, data, check.suffix)
            atomic_write(target, data)
            written.append(str(target.relative_to(faces_dir)))
        _give_to_faces_owner(faces_dir, [person_dir, *(faces_dir / path for path in written)])
    log.info("gallery: enrolled %d photo(s) of a person", len(written))  # no name: the journal outlives an erasure
    return written, checks


def faces_owner(faces_dir: Path) -> tuple[int, int] | None:
    """(uid, gid) new files must get when we run as root and faces_dir belongs to someone else (the service
    user): root's 0700 folder and 0600 photos would be unreadable to the daemon. None: nothing to change."""
    if os.geteuid() != 0:
        return None
    info = faces_dir.stat()
    return None if info.st_uid == 0 else (info.st_uid, info.st_gid)


def _give_to_faces_owner(faces_dir: Path, paths: list[Path]) -> None:
    owner = faces_owner(faces_dir)
    if owner is None:
        return
    for path in paths:
        os.chown(path, *owner, follow_symlinks=False)
    log.info("gallery: %d file(s) given to uid %d gid %d, the owner of %s", len(paths), *owner, faces_dir)


def photo_filename(original: str, data: bytes, suffix: str) -> str:
    """A safe name: the original stem stripped to [A-Za-z0-9_-] plus a content hash (same photo = same file)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(original.replace("\\", "/")).stem).strip("_")[:40] or "photo"
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:12]}{suffix}"


def _ensure_person_dir(person_dir: Path) -> None:
    if person_dir.is_symlink() or (person_dir.exists() and not person_dir.is_dir()):
        raise EnrollError(f"{person_dir} exists and is not a plain folder")
    person_dir.mkdir(mode=0o700, exist_ok=True)


def atomic_write(target: Path, data: bytes) -> None:
    """Hidden temporary file in the same folder (the gallery ignores it), fsync, rename into place."""
    write_atomic(target, data, prefix=".enroll-")


# --- negative examples ("not this person") ----------------------------------------------------------------------


def mark_not(faces_dir: Path, cache_dir: Path | None, name: str, filename: str, data: bytes, *,
             model: str = DEFAULT_DETECTOR) -> str:
    """Store a face as a negative example of `name` (see negatives.py); returns the file relative to faces_dir.

    The person must exist, and the image must show exactly one face (its quality does not matter: a negative
    only has to be found again, not to look good). Raises EnrollError naming the reason.
    """
    if not faces_dir.is_dir():
        raise EnrollError(f"faces directory {faces_dir} does not exist")
    folder = negatives_dir(faces_dir, name)
    if next(_photos_of(faces_dir, cache_dir, name), None) is None:
        raise UnknownPerson(f"no photos of {name!r} in {faces_dir}: only a known person can be marked as wrong")
    check = check_photo(filename, data, model=model)
    if check.encoding is None:
        raise EnrollError(f"{filename}: {', '.join(check.problems)}", check.status)
    target = folder / f"not-{hashlib.sha256(data).hexdigest()[:12]}{check.suffix}"
    with person_lock(faces_dir, name):
        for part in (folder.parent, folder):
            _ensure_person_dir(part)
        write_atomic(target, data, prefix=".not-")
    log.info("gallery: added a negative example (%s)", target.name)
    return str(target.relative_to(faces_dir))


def _photos_of(faces_dir: Path, cache_dir: Path | None, name: str) -> Iterator[Path]:
    return (path for person, path in scan(faces_dir, cache_dir) if person == name)


def delete_negative(faces_dir: Path, cache_dir: Path | None, name: str, filename: str) -> None:
    """Remove one negative example and its cached encoding; raises UnknownPerson if it is not there."""
    from facedaemon.gallery.cache import prune_cache

    folder = negatives_dir(faces_dir, name)
    path = folder / filename
    if not NEGATIVE_FILE.match(filename) or folder.is_symlink() or path.is_symlink() or not path.is_file():
        raise UnknownPerson(f"no negative example {filename!r} of {name!r}")
    path.unlink()
    fsync_dir(folder)
    if cache_dir is not None:
        prune_cache(cache_dir)
    log.info("gallery: removed a negative example (%s)", filename)


# --- forgetting -------------------------------------------------------------------------------------------------


def person_files(faces_dir: Path, name: str) -> Iterator[Path]:
    """The person's folder (if any), their negative examples and flat-layout photos faces_dir/<name>.<ext>."""

    for folder in (faces_dir / name, faces_dir / NEGATIVES_DIR / name):
        if folder.is_symlink() or folder.is_dir():
            yield folder
    for entry in faces_dir.iterdir():
        if entry.stem == name and not entry.is_dir() and is_image_name(entry):
            yield entry


def forget(faces_dir: Path, cache_dir: Path | None, name: str) -> ForgetReport:
    """Remove the person's photos and every cached encoding of them; raises UnknownPerson if there is none."""
    from facedaemon.gallery.cache import prune_cache
    from facedaemon.gallery.report import drop_from_report

    check_existing_name(name)
    if not faces_dir.is_dir():
        raise EnrollError(f"faces directory {faces_dir} does not exist")
    report = ForgetReport(name)
    with person_lock(faces_dir, name):
        paths = list(person_files(faces_dir, name))
        for path in paths:
            report.files.extend(_remove(path, faces_dir))
        if not report.files:
            raise UnknownPerson(f"no photos of {name!r} in {faces_dir}")
        for folder in {path.parent for path in paths}:
            fsync_dir(folder)
    if cache_dir is not None:
        report.cache_entries = prune_cache(cache_dir)
        drop_from_report(cache_dir, name)
    # No name in the log: the journal outlives the erasure.
    log.info("gallery: forgot a person: %d file(s), %d cached encoding(s)", len(report.files), report.cache_entries)
    return report


def _remove(path: Path, faces_dir: Path) -> list[str]:
    # A symlinked folder points at someone else's files: remove the link, not what it points to.
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return [str(path.relative_to(faces_dir))]
    removed = [str(p.relative_to(faces_dir)) for p in sorted(path.rglob("*")) if not p.is_dir()]
    shutil.rmtree(path)
    return removed or [str(path.relative_to(faces_dir)) + "/"]


# --- listing ----------------------------------------------------------------------------------------------------



"""Add photos of a person to faces_dir, mark faces as "not this person", and forget a person completely
(photos, negative examples and cached encodings).

Used by the CLI (`facedaemon enroll` / `forget`) and by the web app's gunicorn workers: they only write
files; the daemon's recognition worker notices the change (gallery polling) and reloads.
The web app imports this module but must not load numpy, PIL or the face models before a photo arrives
(tests/integration/test_import_cost.py checks it): checks.py (the photo checks) and the cache and report modules, which
need numpy, are imported only inside the functions that use them.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from facedaemon.atomic_file import fsync_dir, write_atomic
from facedaemon.gallery import locks
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
from facedaemon.gallery.settings import GallerySettings

if TYPE_CHECKING:
    from facedaemon.gallery.checks import PhotoCheck

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # per request on POST /api/faces/<name>
LOCKS_DIR = ".facedaemon-locks"  # hidden: the gallery never scans it
LOCK_WAIT = 30.0  # seconds an enrol/forget waits for another change of the same person


@dataclass
class ForgetReport:
    name: str
    files: list[str] = field(default_factory=list)  # removed, relative to faces_dir
    cache_entries: int = 0  # encodings removed from the cache


@contextlib.contextmanager
def person_lock(faces_dir: Path, name: str, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Serialise changes of one person across processes (gunicorn workers, the CLI): an enrol and a forget
    racing each other left photos behind and answered 500."""
    folder = faces_dir / LOCKS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / (hashlib.sha256(name.encode()).hexdigest()[:24] + ".lock")
    busy = EnrollError(f"{name!r} is being changed by another request; try again", 409)
    with locks.held(path, wait, busy):
        _give_to_faces_owner(faces_dir, [folder, path])  # root's lock would lock the service out of this person
        yield


# --- writing ----------------------------------------------------------------------------------------------------


def enroll(
    gallery: GallerySettings,
    name: str,
    photos: list[tuple[str, bytes]],
    *,
    allow_flagged: bool = False,
) -> tuple[list[str], list[PhotoCheck]]:
    """Check every photo, then write all of them or none. Returns (files written relative to faces_dir, checks).

    Raises EnrollError naming each refused file and why (all-or-nothing, so a retry does not duplicate).
    """
    from facedaemon.gallery.checks import check_photos  # numpy, PIL, face models: see the module's docstring

    faces_dir = gallery.faces_dir
    check_name(name)
    if not photos:
        raise EnrollError("no images given")
    if not faces_dir.is_dir():
        raise EnrollError(f"faces directory {faces_dir} does not exist")
    checks = check_photos(gallery, name, photos)
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
    _remember_encodings(gallery, written, checks, photos)
    log.info("gallery: enrolled %d photo(s) of a person", len(written))  # no name: the journal outlives an erasure
    return written, checks


def _remember_encodings(gallery: GallerySettings, written: list[str], checks: list[PhotoCheck],
                        photos: list[tuple[str, bytes]]) -> None:
    """The checks' encodings into the cache (cache.remember), so the daemon does not encode these photos again. Not
    as root for another owner: a cache root wrote would be unreadable to the daemon."""
    from facedaemon.gallery.cache import cache_params, remember

    if faces_owner(gallery.faces_dir) is not None:
        return
    remember(gallery.cache_dir, cache_params(gallery.model, gallery.upsample),
             [(gallery.faces_dir.resolve() / path, data, check.encoding, check.quality.to_detail())
              for path, check, (_, data) in zip(written, checks, photos, strict=True)
              if check.encoding is not None and check.quality is not None])


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


def mark_not(gallery: GallerySettings, name: str, filename: str, data: bytes) -> str:
    """Store a face as a negative example of `name` (see negatives.py); returns the file relative to faces_dir.

    The person must exist, and the image must show exactly one face (its quality does not matter: a negative
    only has to be found again, not to look good). Raises EnrollError naming the reason.
    """
    from facedaemon.gallery.checks import check_photo  # numpy, PIL, face models: see the module's docstring

    faces_dir = gallery.faces_dir
    if not faces_dir.is_dir():
        raise EnrollError(f"faces directory {faces_dir} does not exist")
    folder = negatives_dir(faces_dir, name)
    if next(_photos_of(gallery, name), None) is None:
        raise UnknownPerson(f"no photos of {name!r} in {faces_dir}: only a known person can be marked as wrong")
    check = check_photo(gallery, filename, data)
    if check.encoding is None:
        raise EnrollError(f"{filename}: {', '.join(check.problems)}", check.status)
    target = folder / f"not-{hashlib.sha256(data).hexdigest()[:12]}{check.suffix}"
    with person_lock(faces_dir, name):
        for part in (folder.parent, folder):
            _ensure_person_dir(part)
        write_atomic(target, data, prefix=".not-")
    log.info("gallery: added a negative example (%s)", target.name)
    return str(target.relative_to(faces_dir))


def _photos_of(gallery: GallerySettings, name: str) -> Iterator[Path]:
    return (path for person, path in scan(gallery.faces_dir, gallery.cache_dir) if person == name)


def delete_negative(gallery: GallerySettings, name: str, filename: str) -> None:
    """Remove one negative example and its cached encoding; raises UnknownPerson if it is not there."""
    folder = negatives_dir(gallery.faces_dir, name)
    path = folder / filename
    if not NEGATIVE_FILE.match(filename) or folder.is_symlink() or path.is_symlink() or not path.is_file():
        raise UnknownPerson(f"no negative example {filename!r} of {name!r}")
    path.unlink()
    fsync_dir(folder)
    _prune(gallery)
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


def forget(gallery: GallerySettings, name: str) -> ForgetReport:
    """Remove the person's photos and every cached encoding of them; raises UnknownPerson if there is none."""
    faces_dir = gallery.faces_dir
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
    report.cache_entries = _prune(gallery, forgotten=name)
    # No name in the log: the journal outlives the erasure.
    log.info("gallery: forgot a person: %d file(s), %d cached encoding(s)", len(report.files), report.cache_entries)
    return report


def _prune(gallery: GallerySettings, forgotten: str | None = None) -> int:
    """Drop cached encodings of files that are gone (and a forgotten person's report entries); returns how many."""
    if gallery.cache_dir is None:
        return 0
    # Both modules load numpy, which the web app must not import at start (see the module's docstring).
    from facedaemon.gallery.cache import prune_cache
    from facedaemon.gallery.report import drop_from_report

    removed = prune_cache(gallery.cache_dir)
    if forgotten is not None:
        drop_from_report(gallery.cache_dir, forgotten)
    return removed


def _remove(path: Path, faces_dir: Path) -> list[str]:
    # A symlinked folder points at someone else's files: remove the link, not what it points to.
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return [str(path.relative_to(faces_dir))]
    removed = [str(p.relative_to(faces_dir)) for p in sorted(path.rglob("*")) if not p.is_dir()]
    shutil.rmtree(path)
    return removed or [str(path.relative_to(faces_dir)) + "/"]


# --- listing ----------------------------------------------------------------------------------------------------



"""The gallery's on-disk encoding cache: one .npz, read defensively, replaced atomically."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedaemon.atomic_file import write_atomic
from facedaemon.faces.matcher import ENCODING_SIZE

log = logging.getLogger(__name__)

STATUSES = frozenset({"ok", "no_face", "many_faces", "unreadable"})
CACHE_TMP_PREFIX = ".encodings-"  # temporaries while the cache is rewritten (see gallery.cache_lock)
CACHE_FILE = "encodings.npz"
LOCK_FILE = ".lock"  # serialises cache rewrites between the daemon and enroll/forget (other processes)
# v2: ok entries carry quality measurements (FaceQuality.to_detail) in their detail field.
CACHE_VERSION = "v2"
LOAD_MAX_SIDE = 1600  # gallery photos are portraits: more pixels only slow detection down
DETECT_MAX_SIDE = 800  # detection runs on this (upsampled once), encoding on the LOAD_MAX_SIDE image


@dataclass(frozen=True)
class CacheEntry:
    status: str  # one of STATUSES
    encoding: np.ndarray | None  # 128 floats when status == "ok"
    detail: str = ""  # why an image was unreadable

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CacheEntry):
            return NotImplemented
        same_encoding = (self.encoding is None and other.encoding is None) or (
            self.encoding is not None
            and other.encoding is not None
            and np.array_equal(self.encoding, other.encoding)
        )
        return self.status == other.status and self.detail == other.detail and same_encoding

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class FileStamp:
    digest: str
    size: int
    mtime_ns: int

    def matches(self, stat: os.stat_result) -> bool:
        return stat.st_size == self.size and stat.st_mtime_ns == self.mtime_ns


def read_cache(path: Path, params: str) -> tuple[dict[str, CacheEntry], dict[str, FileStamp]]:
    """Entries by content hash and file stamps by path; empty (with a warning if damaged) when unusable."""
    if not path.exists():
        return {}, {}
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["params"]) != params:
                log.info("gallery cache %s was built with other settings; re-encoding", path)
                return {}, {}
            return _entries(data), _stamps(data)
    except Exception as exc:  # any damage means rebuild: the cache is only an accelerator
        log.warning("gallery cache %s is unreadable (%s); rebuilding it", path, exc)
        return {}, {}


def _entries(data: np.lib.npyio.NpzFile) -> dict[str, CacheEntry]:
    hashes, statuses, details = data["hashes"], data["statuses"], data["details"]
    encodings = np.asarray(data["encodings"], dtype=np.float64)
    if encodings.shape != (len(hashes), ENCODING_SIZE) or not len(hashes) == len(statuses) == len(details):
        raise ValueError("inconsistent array shapes")
    if not np.isfinite(encodings).all():
        raise ValueError("non-finite encodings")
    entries = {}
    for digest, status, detail, encoding in zip(hashes, statuses, details, encodings, strict=True):
        if str(status) not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        entries[str(digest)] = CacheEntry(
            str(status), encoding.copy() if status == "ok" else None, str(detail)
        )
    return entries


def _stamps(data: np.lib.npyio.NpzFile) -> dict[str, FileStamp]:
    paths, digests = data["stamp_paths"], data["stamp_digests"]
    sizes, mtimes = data["stamp_sizes"], data["stamp_mtimes"]
    return {
        str(p): FileStamp(str(d), int(s), int(m))
        for p, d, s, m in zip(paths, digests, sizes, mtimes, strict=True)
    }


def write_cache(
    path: Path, params: str, entries: dict[str, CacheEntry], stamps: dict[str, FileStamp]
) -> None:
    """Replace the cache atomically; failure to write only costs speed next time, so it is a warning."""
    digests = sorted(entries)
    encodings = np.zeros((len(digests), ENCODING_SIZE), dtype=np.float64)
    for row, digest in enumerate(digests):
        if entries[digest].encoding is not None:
            encodings[row] = entries[digest].encoding
    arrays = {
        "params": np.array(params),
        "hashes": np.array(digests, dtype=str).reshape(-1),
        "statuses": np.array([entries[d].status for d in digests], dtype=str).reshape(-1),
        "details": np.array([entries[d].detail for d in digests], dtype=str).reshape(-1),
        "encodings": encodings,
        "stamp_paths": np.array(list(stamps), dtype=str).reshape(-1),
        "stamp_digests": np.array([s.digest for s in stamps.values()], dtype=str).reshape(-1),
        "stamp_sizes": np.array([s.size for s in stamps.values()], dtype=np.int64),
        "stamp_mtimes": np.array([s.mtime_ns for s in stamps.values()], dtype=np.int64),
    }
    try:
        _atomic_savez(path, arrays)
    except OSError as exc:
        log.warning("gallery cache %s cannot be written (%s); faces will be re-encoded next start", path, exc)


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda handle: np.savez(handle, **arrays), prefix=CACHE_TMP_PREFIX)


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




def remember(cache_dir: Path | None, params: str, photos: list[tuple[Path, bytes, np.ndarray, str]]) -> None:
    """Encodings the enrolment checks just computed for photos written into the gallery, each (path, bytes, encoding,
    quality detail), as the loader's analyse_image makes them with the same `params`: the daemon's next reload finds
    them cached instead of encoding the photos again ("This is …" names a stranger on the stream that much sooner).
    A cache built with other settings is left alone; failing to write only costs that speed."""
    import hashlib

    if cache_dir is None or not photos:
        return
    cache_file = cache_dir / CACHE_FILE
    try:
        with cache_lock(cache_dir):
            if cache_file.exists() and _stored_params(cache_file) != params:
                return
            entries, stamps = read_cache(cache_file, params)
            for path, data, encoding, detail in photos:
                try:
                    info = path.stat()
                except OSError:
                    continue  # removed meanwhile
                digest = hashlib.sha256(data).hexdigest()
                entries[digest] = CacheEntry("ok", np.asarray(encoding, dtype=np.float64).reshape(ENCODING_SIZE),
                                             detail)
                stamps[str(path)] = FileStamp(digest, info.st_size, info.st_mtime_ns)
            write_cache(cache_file, params, entries, stamps)
    except OSError as exc:  # the photos are in; the daemon encodes them itself
        log.warning("gallery cache in %s cannot take the new photos' encodings (%s)", cache_dir, exc)

"""The gallery's on-disk encoding cache: one .npz, read defensively, replaced atomically."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedaemon.atomic_file import write_atomic

log = logging.getLogger(__name__)

STATUSES = frozenset({"ok", "no_face", "many_faces", "unreadable"})
ENCODING_SIZE = 128
CACHE_TMP_PREFIX = ".encodings-"  # temporaries while the cache is rewritten (see gallery.cache_lock)


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

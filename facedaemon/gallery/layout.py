"""The faces_dir layout: one folder of photos per person, .negatives/<person>/, the name rule, and the scan
that lists what the gallery would load. Shared by the worker, the CLI and the web."""

from __future__ import annotations

import re
from pathlib import Path

# Letters, digits, space, _ - . ; starts with a letter or digit (no hidden names, no "..") and never ends in a
# space or dot (trouble on Windows/Samba shares and Syncthing). No separators, so a name is one folder.
PERSON_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 _.-]{0,62}[A-Za-z0-9_-])?\Z")
# The labels drawn on strangers and on faces too small to tell: a person called that would be ambiguous.
RESERVED_NAMES = frozenset({"unknown", "face"})
NEGATIVES_DIR = ".negatives"
# Names the web app serves and deletes (it makes them itself: 'not-<hash>.jpg'); no dots but the suffix.
NEGATIVE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,80}\.(?:jpg|jpeg|png|webp|bmp)\Z")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})


class GalleryError(Exception):
    """faces_dir itself is unusable (missing, not a directory)."""


class EnrollError(Exception):
    """A request that cannot be carried out; the message names the file or name and the reason.

    `status` is the HTTP answer: 422 (the photos were checked and refused), 415 (a format that is not allowed),
    413 (over a size limit), 409 (another request is changing the same person)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class UnknownPerson(EnrollError):
    pass


def scan(faces_dir: Path, cache_dir: Path | None = None) -> list[tuple[str, Path]]:
    """(person, image path) pairs in a stable order; hidden entries and the cache directory are ignored."""
    if not faces_dir.is_dir():
        raise GalleryError(f"faces directory {faces_dir} does not exist or is not a directory")
    skip = cache_dir.resolve() if cache_dir is not None else None
    root = faces_dir.resolve()
    found: list[tuple[str, Path]] = []
    for entry in sorted(faces_dir.iterdir()):
        if entry.name.startswith(".") or (skip is not None and entry.resolve() == skip) or not _inside(entry, root):
            continue
        if entry.is_dir():
            found.extend((entry.name, image) for image in sorted(entry.iterdir()) if _usable(image, root))
        elif _usable(entry, root):
            found.append((entry.stem, entry))
    return found


def _usable(path: Path, root: Path | None = None) -> bool:
    return is_image_name(path) and path.is_file() and (root is None or _inside(path, root))


def _inside(path: Path, root: Path) -> bool:
    """A symlink is followed only to somewhere inside faces_dir (x.jpg -> /etc/shadow was read)."""
    if not path.is_symlink():
        return True
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a loop
        return False


def scan_negatives(faces_dir: Path) -> list[tuple[str, Path]]:
    """(person, image path) pairs of faces_dir/.negatives/<person>/*; a symlinked folder is not followed."""
    root = faces_dir / NEGATIVES_DIR
    if root.is_symlink() or not root.is_dir():
        return []
    found: list[tuple[str, Path]] = []
    inside = faces_dir.resolve()
    for entry in sorted(root.iterdir()):
        if not entry.name.startswith(".") and entry.is_dir() and not entry.is_symlink():
            found.extend((entry.name, image) for image in sorted(entry.iterdir()) if _usable(image, inside))
    return found


def check_name(name: str) -> str:
    if not PERSON_NAME_RE.match(name):
        raise EnrollError(
            f"invalid person name {name!r}: use 1-64 letters, digits, spaces, '_', '-', '.'; start with a letter "
            "or digit, do not end with a space or dot"
        )
    if name.lower() in RESERVED_NAMES:
        raise EnrollError(f"invalid person name {name!r}: reserved for a label drawn on faces it cannot name")
    return name


def check_existing_name(name: str) -> str:
    """Any name the gallery can have loaded (a folder or photo stem made by hand or a sync tool, e.g. 'José'):
    erasure must reach every person the daemon recognises, not only names we would accept for a new person."""
    if not name or name.startswith(".") or "/" in name or "\0" in name or len(name.encode()) > 255:
        raise EnrollError(f"invalid person name {name!r}")
    return name


def negatives_dir(faces_dir: Path, name: str) -> Path:
    return faces_dir / NEGATIVES_DIR / check_name(name)


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")

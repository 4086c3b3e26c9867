"""Opening a file named by a request: only a regular file that really lives where the name says."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def regular_file_inside(root: Path, *parts: str) -> Path | None:
    """root/parts… when that is a regular file and no symlink is on the way (the real path is the joined path);
    None otherwise. Callers validate each part's form first; this catches what a pattern cannot (symlinks)."""
    expected = os.path.join(os.path.realpath(root), *parts)
    try:
        if os.path.realpath(expected) != expected or not stat.S_ISREG(os.lstat(expected).st_mode):
            return None
    except (OSError, ValueError):  # e.g. a name too long for the filesystem, or a NUL byte
        return None
    return Path(expected)

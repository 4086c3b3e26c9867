"""Timed cross-process locks on gallery files (a person's enrol/forget, the unknown groups' state): an flock that
polls rather than blocks, so a gevent web worker keeps serving others while it waits."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

POLL = 0.05  # seconds between tries


@contextlib.contextmanager
def held(path: Path, wait: float, busy: Exception) -> Iterator[None]:
    """The flock on `path` (created 0600, never through a link), held for the block; `busy` is raised when another
    holder keeps it past `wait` seconds."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise busy from None
                time.sleep(POLL)
        yield
    finally:
        os.close(fd)  # releases the lock

"""Housekeeping the main loop runs on a schedule beside checking the stages: unknown-face crops past retention are
deleted (also after unknowns.save was switched off: leftovers expire too), and the heap's free pages are given back
to the system (daemon/malloc.py trim()).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from facedaemon.config.durations import format_duration
from facedaemon.daemon import malloc
from facedaemon.gallery.unknowns import PRUNE_EVERY, prune

log = logging.getLogger(__name__)

TRIM_EVERY = 60.0  # seconds between two malloc_trim(0) calls


class UnknownsSweep:
    """Calls sweep_unknowns every PRUNE_EVERY seconds of the loop's monotonic clock; the first tick sweeps."""

    def __init__(self) -> None:
        self._next = 0.0  # monotonic: when the crops are next swept

    def tick(self, now: float, folder: Path, retention: float) -> None:
        if now < self._next:
            return
        self._next = now + PRUNE_EVERY
        sweep_unknowns(folder, retention)


class HeapTrim:
    """Calls malloc.trim() every TRIM_EVERY seconds of the loop's monotonic clock; the first tick only starts the
    clock (nothing is freed yet at the daemon's start)."""

    def __init__(self) -> None:
        self._next: float | None = None  # monotonic: when the heap is next trimmed

    def tick(self, now: float) -> None:
        if self._next is None:
            self._next = now + TRIM_EVERY
        elif now >= self._next:
            self._next = now + TRIM_EVERY
            malloc.trim()


def sweep_unknowns(folder: Path, retention: float) -> int:
    """Delete the crops in folder older than retention seconds; logs what it did. A failure is logged, not raised:
    the next sweep tries again."""
    try:
        removed = prune(folder, time.time(), retention)
    except OSError as exc:
        log.warning("unknowns: cannot delete old face crops in %s: %s", folder, exc)
        return 0
    if removed:
        log.info("unknowns: deleted %d face crop(s) older than %s", removed, format_duration(retention))
    return removed

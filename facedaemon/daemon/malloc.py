"""glibc's mmap threshold, fixed in the daemon's main process: it lives for months and restarts camera threads.

glibc serves a block above its mmap threshold with a mapping of its own, returned to the system when freed. But the
threshold is dynamic: after the first such block is freed, glibc raises it to that block's size, and frame-sized
buffers then come from the threads' heaps, where a camera thread restarted by a reload or a reconnect leaves holes
that the next threads do not fill. In the one-hour chaos soak the main process grew +10.3 % in 4-8 MiB steps after
the reloads while its Python heap (tracemalloc) stayed flat (docs/performance.md, "Chaos soak"). Setting the
threshold fixes it at 1 MiB: every frame buffer (a 720p I420 frame is 1.3 MiB) is mapped and returned, smaller
blocks stay in the heap. A MALLOC_MMAP_THRESHOLD_ in the environment is the user's choice and wins.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
MMAP_THRESHOLD = 1 << 20


def fix_mmap_threshold(environ: Mapping[str, str] | None = None) -> bool:
    """Fix glibc's mmap threshold at MMAP_THRESHOLD; True when done, False where it does not apply (another C
    library, or the user's own MALLOC_MMAP_THRESHOLD_)."""
    if "MALLOC_MMAP_THRESHOLD_" in (os.environ if environ is None else environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1

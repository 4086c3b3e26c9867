"""glibc's allocator, set for the daemon's main process: it lives for months and restarts camera threads.

Two settings, each made at the daemon's start unless the user set its environment variable (theirs wins):

- The mmap threshold, fixed at 1 MiB. glibc serves a block above it with a mapping of its own, returned to the
  system when freed. But the threshold is dynamic: after the first such block is freed, glibc raises it to that
  block's size, and frame-sized buffers then come from the heaps. Fixed, every frame buffer of 720p and up (a 720p
  I420 frame is 1.3 MiB) is mapped and returned; smaller blocks stay in the heap.
- One arena. glibc gives threads arenas of their own (up to 8 per core) and hands a new thread the arena an ended
  thread left. A restarted camera's threads (a reload, a reconnect) thus land on arenas other roles used before, and
  each arena keeps its own high-water mark of frames below 1 MiB (a 640x360 camera's frames, OpenCV's buffers): the
  heap's top is returned, holes below a live block are not. The RSS then grew in 3 MiB steps at reloads until every
  arena had held a camera's frames (docs/performance.md, "Chaos soak"). With one arena there is one high-water
  mark. The main process's threads allocate under Python's GIL almost always, so one arena's lock costs little.

And one habit: trim(), which the arbiter's housekeeping calls once a minute (daemon/housekeeping.py). Free pages
in holes below a live block stay resident otherwise (glibc returns only the heap's top), and the main process crept
by ~1 MiB in ten minutes without a reload; malloc_trim gives those pages back, in a few milliseconds.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Mapping

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
M_ARENA_MAX = -8
MMAP_THRESHOLD = 1 << 20
ARENA_MAX = 1


def fix_mmap_threshold(environ: Mapping[str, str] | None = None) -> bool:
    """Fix glibc's mmap threshold at MMAP_THRESHOLD; True when done, False where it does not apply (another C
    library, or the user's own MALLOC_MMAP_THRESHOLD_)."""
    return _mallopt("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, MMAP_THRESHOLD, environ)


def one_arena(environ: Mapping[str, str] | None = None) -> bool:
    """Every thread allocates from glibc's main arena; True when done, False where it does not apply (another C
    library, or the user's own MALLOC_ARENA_MAX). glibc reads the limit once, when a thread first needs an arena:
    call it before any thread starts."""
    return _mallopt("MALLOC_ARENA_MAX", M_ARENA_MAX, ARENA_MAX, environ)


def tune(environ: Mapping[str, str] | None = None) -> None:
    """Both settings, at the daemon's start (before any thread)."""
    fix_mmap_threshold(environ)
    one_arena(environ)


def _mallopt(variable: str, option: int, value: int, environ: Mapping[str, str] | None) -> bool:
    if variable in (os.environ if environ is None else environ):
        return False
    mallopt = _libc("mallopt", ctypes.c_int, ctypes.c_int)
    return mallopt is not None and mallopt(option, value) == 1



def trim() -> bool:
    """Give the heap's free pages back to the system (glibc's malloc_trim(0)); True when some were released, False
    when none were or where it does not apply (another C library)."""
    malloc_trim = _libc("malloc_trim", ctypes.c_size_t)
    return malloc_trim is not None and malloc_trim(0) == 1


def _libc(name: str, *argtypes: type) -> Callable[..., int] | None:
    """A function of the process's own C library returning an int; None where it has no such function."""
    try:
        function = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = argtypes
    function.restype = ctypes.c_int
    return function

"""The daemon's main process fixes glibc's mmap threshold, so a freed frame-sized block does not move the next ones
into the heap (where restarted camera threads left holes), unless the user set MALLOC_MMAP_THRESHOLD_; and it gives
the free pages in the heap's holes back once a minute (malloc_trim)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from facedaemon.daemon import housekeeping, malloc
from facedaemon.daemon.malloc import fix_mmap_threshold

# In a fresh interpreter (the setting is the process's for good): free one 1.5 MB block, then count the blocks
# glibc maps while a 1.2 MB one is held (mallinfo2().hblks). glibc's dynamic threshold rose to 1.5 MB at the free,
# so without the fix the 1.2 MB block comes from the heap: no mapping.
PROBE = """
import ctypes, sys
from facedaemon.daemon.malloc import fix_mmap_threshold
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)
libc.mallinfo2.restype = Info
if sys.argv[1] == "fix":
    assert fix_mmap_threshold({})
libc.free(libc.malloc(1_500_000))
before = libc.mallinfo2().hblks
held = libc.malloc(1_200_000)
print(libc.mallinfo2().hblks - before)
libc.free(held)
"""

GLIBC = platform.libc_ver()[0] == "glibc"


def mapped_blocks(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.skipif(not GLIBC, reason="mallopt(M_MMAP_THRESHOLD) and mallinfo2 are glibc's")
def test_a_frame_sized_block_stays_mapped_after_a_bigger_one_was_freed() -> None:
    assert mapped_blocks("glibc") == 0, "glibc's own dynamic threshold: the probe no longer shows the problem"
    assert mapped_blocks("fix") == 1


def test_the_users_own_threshold_wins() -> None:
    assert fix_mmap_threshold({"MALLOC_MMAP_THRESHOLD_": "131072"}) is False


# In a fresh interpreter: fill the heap with 2,001 blocks of 64 KiB (below any mmap threshold), keep the last one
# (it sits at the heap's top: no free chunk that large lies below it) and free the rest: glibc returns only the
# heap's top by itself, so the hole's pages stay resident until malloc_trim. Prints the resident heap (KiB, from
# /proc/self/smaps) before and after trim().
TRIM_PROBE = """
import ctypes
from facedaemon.daemon.malloc import trim
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
libc.memset.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t)
def heap_kib():
    lines = open("/proc/self/smaps").read().splitlines()
    for i, line in enumerate(lines):
        if line.endswith("[heap]"):
            return next(int(x.split()[1]) for x in lines[i:] if x.startswith("Rss:"))
    return 0
blocks = [libc.malloc(64 << 10) for _ in range(2001)]
for block in blocks:
    libc.memset(block, 1, 64 << 10)
pin = blocks.pop()
for block in blocks:
    libc.free(block)
before = heap_kib()
trim()
print(before, heap_kib())
"""


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_trim_gives_the_pages_of_a_hole_in_the_heap_back() -> None:
    done = subprocess.run([sys.executable, "-c", TRIM_PROBE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    before, after = (int(x) for x in done.stdout.split())
    assert before > 100_000, "the probe's hole is resident before the trim"
    assert after < before / 4, f"resident heap {before} -> {after} KiB"


def test_the_heap_is_trimmed_once_every_period_after_the_first_tick(monkeypatch) -> None:
    calls: list[float] = []
    monkeypatch.setattr(malloc, "trim", lambda: calls.append(1.0) is None)
    heap, every = housekeeping.HeapTrim(), housekeeping.TRIM_EVERY
    for now in (1000.0, 1000.0 + every - 1, 1000.0 + every, 1000.0 + every + 1, 1000.0 + 2 * every - 1,
                1000.0 + 2 * every):
        heap.tick(now)
    assert len(calls) == 2

"""The daemon's main process fixes glibc's mmap threshold, so a freed frame-sized block does not move the next ones
into the heap (where restarted camera threads left holes), unless the user set MALLOC_MMAP_THRESHOLD_."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

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

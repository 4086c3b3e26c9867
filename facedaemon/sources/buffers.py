"""Frame buffers a source reads into, reused once nobody holds them: a 720p I420 frame is 1.4 MB, and a fresh
array for each (30 a second per camera) cost the allocator's page faults and zeroing on every frame.

A buffer goes back to use only when the pool's own reference is the last one: the output thread, the newest-wins
slot, a drawn or scaled view of it (numpy views keep their base alive) all hold it until they let go, so a frame
is never overwritten while anyone can still see it. The recognition worker gets its own copy in shared memory
(worker/frames.py) and never holds these. When every pooled buffer is held, the next frame gets a fresh array.
"""

from __future__ import annotations

import sys

import numpy as np

POOL_SIZE = 4  # reading, waiting in the slot, being drawn and written, and one spare

# References to a pooled buffer that nobody else holds, counted inside _unused: the pool's list and the argument.
_IDLE_REFS = 2


class FrameBuffers:
    """Buffers of one shape at a time for one reader thread (a new shape drops the old ones)."""

    def __init__(self, size: int = POOL_SIZE) -> None:
        self.size = size
        self._pool: list[np.ndarray] = []
        self.fresh = 0  # arrays allocated (pooled or not): steady at the pool size when reuse works

    def take(self, shape: tuple[int, int]) -> np.ndarray:
        """A uint8 array of `shape` that nobody else holds; its content is whatever was read into it last."""
        pool = self._pool
        if pool and pool[0].shape != shape:
            pool.clear()
        for index in range(len(pool)):
            if _unused(pool, index):
                return pool[index]
        self.fresh += 1
        buffer = np.empty(shape, np.uint8)
        if len(pool) >= self.size:
            pool.pop(0)  # held for long (by whoever holds it): it stays theirs, the new one is reused instead
        pool.append(buffer)
        return buffer


def _unused(pool: list[np.ndarray], index: int) -> bool:
    # getrefcount sees the list's reference and its own argument's; any other holder (or a view of it) adds one.
    return sys.getrefcount(pool[index]) <= _IDLE_REFS

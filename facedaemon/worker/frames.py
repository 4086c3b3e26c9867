"""Frames to the recognition child through shared memory: one block per camera, created by the daemon, reused
while the frame fits, replaced on a resolution change, unlinked when the worker stops.

Only the block's name and the frame's shape cross the process boundary (protocol.Request); the child maps the
same block (worker/child.py). Not thread-safe: the worker client calls it under its own lock.
"""

from __future__ import annotations

import contextlib
import logging
from multiprocessing import shared_memory

import numpy as np

log = logging.getLogger(__name__)


class FrameBlocks:
    def __init__(self) -> None:
        self._blocks: dict[str, shared_memory.SharedMemory] = {}

    def put(self, camera: str, frame: np.ndarray) -> shared_memory.SharedMemory:
        """Copy the frame into the camera's block and return the block."""
        block = self._block(camera, frame.nbytes)
        np.ndarray(frame.shape, dtype=np.uint8, buffer=block.buf)[...] = frame
        return block

    def names(self) -> list[str]:
        return [block.name for block in self._blocks.values()]

    def release_all(self) -> None:
        blocks, self._blocks = self._blocks, {}
        for block in blocks.values():
            _release(block)

    def _block(self, camera: str, size: int) -> shared_memory.SharedMemory:
        """The camera's block, replaced when a frame no longer fits (resolution change)."""
        block = self._blocks.get(camera)
        if block is not None and block.size >= size:
            return block
        if block is not None:
            log.info("camera %s: frame size changed; new shared memory block of %d bytes", camera, size)
            _release(block)
        block = shared_memory.SharedMemory(create=True, size=size)
        self._blocks[camera] = block
        return block


def _release(block: shared_memory.SharedMemory) -> None:
    with contextlib.suppress(BufferError, OSError):
        block.close()
    with contextlib.suppress(FileNotFoundError):
        block.unlink()

"""Frame buffers reused by a source (sources/buffers.py): never while anyone holds the frame, and never under the
recognition worker's copy of it."""

from __future__ import annotations

import numpy as np

from facedaemon.sources.buffers import POOL_SIZE, FrameBuffers
from facedaemon.worker.frames import FrameBlocks

SHAPE = (12, 8)  # a tiny I420 frame: 8x8


def test_a_buffer_comes_back_only_once_nobody_holds_it() -> None:
    buffers = FrameBuffers()
    first = buffers.take(SHAPE)
    first_id = id(first)
    second = buffers.take(SHAPE)
    assert second is not first  # held: never handed out twice
    del first
    assert id(buffers.take(SHAPE)) == first_id  # let go: reused, no new array
    assert buffers.fresh == 2


def test_a_view_of_a_frame_keeps_its_buffer() -> None:
    """The output thread draws on views (a patch, the luma plane): the buffer is still in use through them."""
    buffers = FrameBuffers()
    frame = buffers.take(SHAPE)
    frame[...] = 1
    luma = frame[:8]
    del frame
    again = buffers.take(SHAPE)
    again[...] = 7
    assert again is not luma.base and (luma == 1).all()


def test_steady_reading_allocates_nothing_past_the_pool() -> None:
    buffers = FrameBuffers()
    slot = None  # as the newest-wins slot and the output thread hold the last two frames
    held = None
    for index in range(100):
        frame = buffers.take(SHAPE)
        frame[...] = index % 256
        held, slot = slot, frame
    assert buffers.fresh <= POOL_SIZE
    assert held is not None and int(held[0, 0]) == 98 and int(slot[0, 0]) == 99  # neither was overwritten


def test_every_buffer_held_gives_fresh_arrays_and_a_new_size_drops_the_old_ones() -> None:
    buffers = FrameBuffers(size=2)
    frames = [buffers.take(SHAPE) for _ in range(5)]
    assert len({id(frame) for frame in frames}) == 5
    bigger = buffers.take((24, 16))
    assert bigger.shape == (24, 16)


def test_the_workers_shared_memory_copy_is_not_changed_by_the_next_frame_in_the_same_buffer() -> None:
    """submit() copies the clean frame into the camera's shared-memory block; the worker reads that block while
    the capture thread reads the next frames into the very buffer the first one came in."""
    buffers = FrameBuffers(size=1)
    blocks = FrameBlocks()
    try:
        frame = buffers.take(SHAPE)
        frame[...] = np.arange(frame.size, dtype=np.uint8).reshape(SHAPE)
        expected = frame.copy()
        block = blocks.put("cam", frame)
        buffer_id = id(frame)
        del frame  # the output thread drew it, wrote it to ffmpeg and let go
        following = buffers.take(SHAPE)
        assert id(following) == buffer_id  # the same buffer, reused
        following[...] = 255  # the next frame arrives in it
        seen_by_worker = np.ndarray(SHAPE, dtype=np.uint8, buffer=block.buf)
        assert np.array_equal(seen_by_worker, expected)
        del seen_by_worker
    finally:
        blocks.release_all()

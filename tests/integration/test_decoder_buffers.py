"""The decoder reads each frame into a reused buffer (sources/buffers.py): a frame someone still holds is never
overwritten by a later one, and a steady reader that lets go allocates no new frames."""

from __future__ import annotations

import subprocess

import numpy as np

from facedaemon.children.ffmpeg import find_ffmpeg
from facedaemon.sources.decode import Decoder, file_input


def _counting_clip(path, frames: int = 40, size: str = "160x120") -> None:
    """Every frame different: the test source's frame counter and moving pattern."""
    subprocess.run([find_ffmpeg(None), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"testsrc=size={size}:rate=30:duration={frames / 30}", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True, timeout=60, capture_output=True)


def _decoder(path) -> Decoder:
    decoder = Decoder(find_ffmpeg(None), file_input(str(path), loop=False), description=str(path), threads=1)
    decoder.open()
    return decoder


def test_held_frames_keep_their_pictures_and_released_ones_are_reused(tmp_path):
    clip = tmp_path / "count.mp4"
    _counting_clip(clip)
    reference = _decoder(clip)
    try:
        expected = [reference.next().copy() for _ in range(30)]
    finally:
        reference.close()
    decoder = _decoder(clip)
    try:
        held = [decoder.next() for _ in range(10)]  # all kept: more than the pool holds
        assert len({id(frame) for frame in held}) == 10
        for index in range(10, 30):  # let go of each at once, as the output thread does after writing it
            frame = decoder.next()
            assert np.array_equal(frame, expected[index]), index
            del frame
        fresh = decoder._buffers.fresh
    finally:
        decoder.close()
    for index, frame in enumerate(held):
        assert np.array_equal(frame, expected[index]), index  # not overwritten by the 20 frames after them
    assert fresh <= 12  # past the 10 held, the last 20 frames came in one or two reused buffers
    assert len({frame.tobytes() for frame in expected}) == 30  # the clip really changes every frame


def test_a_signal_in_the_middle_of_a_frame_does_not_break_the_stream(tmp_path):
    """A signal delivered to the reading thread (a reload's SIGHUP can land on any thread; a profiler's pause)
    cuts recv(MSG_WAITALL) short with part of a frame read: the rest must be read, not the stream given up."""
    import signal
    import threading

    clip = tmp_path / "count.mp4"
    _counting_clip(clip, frames=90, size="1280x720")  # a frame is many socket buffers' worth
    reference = _decoder(clip)
    try:
        expected = [reference.next().copy() for _ in range(90)]
    finally:
        reference.close()
    previous = signal.signal(signal.SIGUSR1, lambda *_: None)
    decoder, got, failed = _decoder(clip), [], []

    def read() -> None:
        try:
            for _ in range(90):
                got.append(decoder.next().copy())
        except Exception as exc:
            failed.append(exc)

    reader = threading.Thread(target=read)
    try:
        reader.start()
        while reader.is_alive():
            signal.pthread_kill(reader.ident, signal.SIGUSR1)
        reader.join()
    finally:
        signal.signal(signal.SIGUSR1, previous)
        decoder.close()
    assert not failed, failed
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))

"""A video file read at its own frame rate, like a camera; optionally looped.

A file whose picture changes size part way (a recording of a camera whose settings were edited) is not scaled to
its first size: at the first frame of the new size read() raises SourceResized(resumes=True) and the owner opens
this same source again, which plays on from that frame (ffmpeg seeking to it) at the new size. Played from its
beginning again, the part before the change would come again, and the part after it never.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from facedaemon.children.ffmpeg import FfmpegNotFound, find_ffmpeg
from facedaemon.sources.base import Frame, SourceEnded, SourceError, SourceResized
from facedaemon.sources.decode import Decoded, Decoder, file_input, resume_point
from facedaemon.sources.frame_clock import Pacer

if TYPE_CHECKING:
    import numpy as np

DEFAULT_FPS = 25.0


class FileSource(Decoded):
    def __init__(self, path: Path, *, loop: bool = False, fps: float | None = None,
                 ffmpeg: str | None = None) -> None:
        self.path = path
        self.loop = loop
        self.fps = fps
        self.ffmpeg = ffmpeg  # None: the system's, else imageio-ffmpeg's
        self.description = f"file {path}"
        self._decoder: Decoder | None = None
        self._rate = DEFAULT_FPS
        self._pacer: Pacer | None = None  # started with the first frame: ffmpeg's start-up is not "late"
        self._start = 0.0  # s into the file where the open decoder began
        self._resume = 0.0  # s into the file where the next open() begins: past a size change, else 0
        self._first_size: tuple[int, int] | None = None  # the picture's size at the file's beginning
        self._expected: tuple[int, int] | None = None  # the size the next open() must find past a size change
        self._change_at = 0.0  # s into the file of the last size change

    def open(self) -> None:
        if not self.path.is_file():
            raise SourceError(f"{self.path} is not a file")
        try:
            ffmpeg = find_ffmpeg(self.ffmpeg)
        except FfmpegNotFound as exc:
            raise SourceError(f"cannot decode {self.path}: {exc}") from None
        # One decoding thread: a camera-rate file needs a fraction of one core, and threads cost CPU to sync.
        # From the beginning ffmpeg loops the file itself (no reopening, no gap at the seam); from a size change on,
        # it plays to the end and read() starts the file again.
        start, expected, self._resume, self._expected = self._resume, self._expected, 0.0, None
        decoder = Decoder(ffmpeg, file_input(str(self.path), loop=self.loop, start=start), description=str(self.path),
                          threads=1, frame_info=True, size=expected)
        info = decoder.open()  # past a size change: written at the expected size, whatever ffmpeg found first
        rate = self.fps or info.rate
        if not rate or not 0 < rate <= 240:
            rate = DEFAULT_FPS
        self._decoder, self._rate, self._pacer, self._start = decoder, rate, None, start
        if start == 0:
            self._first_size = info.size

    def read(self) -> Frame:
        if self._decoder is None:
            raise SourceError("not open")
        image = self._next()
        if image is None:
            image = self._again()
        if self._pacer is None:
            self._pacer = Pacer(self._rate)
        self._pacer.wait()
        return Frame(image, time.time(), time.monotonic())

    def _next(self) -> np.ndarray | None:
        assert self._decoder is not None
        try:
            return self._decoder.next()
        except SourceResized as exc:
            if self._start > 0 and self._decoder.position is None:  # the seek did not land on the new picture
                raise self._lost(f"found {exc.size[0]}x{exc.size[1]} there, not {exc.was[0]}x{exc.was[1]}") from None
            info = self._decoder.info
            rate = (info.rate if info is not None else None) or DEFAULT_FPS  # the file's own, not camera.fps
            resume = resume_point(self._start, exc.at, rate)
            if resume is None:
                why = "its time goes back there" if exc.at is not None else "it has no timestamp"
                self._change_at = self._start + (exc.at or 0.0)
                raise self._lost(why) from None
            self._resume, self._expected, self._change_at = resume, exc.size, self._start + exc.at
            raise SourceResized(str(self.path), exc.was, exc.size, at=self._change_at, resumes=True) from None

    def _again(self) -> np.ndarray:
        """The file ended: SourceEnded, or (loop) its first frame again."""
        assert self._decoder is not None and self._decoder.info is not None
        if self._start > 0 and self._decoder.position is None:
            raise self._lost("nothing came from there")
        if not self.loop:
            raise SourceEnded(f"end of {self.path} (set loop: true to play it again)")
        if self._start == 0:
            raise SourceError(f"{self.path} ended although it loops")
        size = self._decoder.info.size
        if self._first_size is not None and size != self._first_size:
            raise SourceResized(str(self.path), size, self._first_size, at=0.0, resumes=True)
        pacer = self._pacer  # the same picture size: started again here, in step
        self.close()
        self.open()
        self._pacer = pacer
        image = self._next()
        if image is None:
            raise SourceError(f"{self.path} ended although it loops")
        return image

    def _lost(self, why: str) -> SourceError:
        return SourceError(f"cannot play {self.path} on from its size change at {self._change_at:.2f} s: {why} (do its "
                           f"timestamps go back there, as in files joined end to end? Re-encode it in one piece)")

    def close(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None

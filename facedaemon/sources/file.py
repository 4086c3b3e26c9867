"""A video file read at its own frame rate, like a camera; optionally looped."""

from __future__ import annotations

import time
from pathlib import Path

from facedaemon.children.ffmpeg import FfmpegNotFound, find_ffmpeg
from facedaemon.sources.base import Frame, SourceEnded, SourceError
from facedaemon.sources.decode import Decoded, Decoder, file_input
from facedaemon.sources.frame_clock import Pacer

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

    def open(self) -> None:
        if not self.path.is_file():
            raise SourceError(f"{self.path} is not a file")
        try:
            ffmpeg = find_ffmpeg(self.ffmpeg)
        except FfmpegNotFound as exc:
            raise SourceError(f"cannot decode {self.path}: {exc}") from None
        # One decoding thread: a camera-rate file needs a fraction of one core, and threads cost CPU to sync.
        # ffmpeg loops the file itself (no reopening, no gap at the seam).
        decoder = Decoder(ffmpeg, file_input(str(self.path), loop=self.loop), description=str(self.path), threads=1)
        info = decoder.open()
        rate = self.fps or info.rate
        if not rate or not 0 < rate <= 240:
            rate = DEFAULT_FPS
        self._decoder, self._rate, self._pacer = decoder, rate, None

    def read(self) -> Frame:
        if self._decoder is None:
            raise SourceError("not open")
        image = self._decoder.next()
        if image is None:
            if self.loop:
                raise SourceError(f"{self.path} ended although it loops")
            raise SourceEnded(f"end of {self.path} (set loop: true to play it again)")
        if self._pacer is None:
            self._pacer = Pacer(self._rate)
        self._pacer.wait()
        return Frame(image, time.time(), time.monotonic())

    def close(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None

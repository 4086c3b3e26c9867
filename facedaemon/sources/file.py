"""A video file read at its own frame rate, like a camera; optionally looped."""

from __future__ import annotations

import time
from pathlib import Path

from facedaemon.sources.base import Frame, SourceEnded, SourceError
from facedaemon.sources.pacing import Pacer

DEFAULT_FPS = 25.0


class FileSource:
    def __init__(self, path: Path, *, loop: bool = False, fps: float | None = None) -> None:
        self.path = path
        self.loop = loop
        self.fps = fps
        self.description = f"file {path}"
        self._capture = None
        self._pacer: Pacer | None = None

    def open(self) -> None:
        import cv2

        if not self.path.is_file():
            raise SourceError(f"{self.path} is not a file")
        # One decoding thread: a camera-rate file needs a fraction of one core, and threads cost CPU to sync.
        capture = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"{self.path} is not a video OpenCV can read")
        rate = self.fps or capture.get(cv2.CAP_PROP_FPS)
        if not rate or not 0 < rate <= 240:
            rate = DEFAULT_FPS
        self._capture = capture
        self._pacer = Pacer(rate)

    def read(self) -> Frame:
        if self._capture is None or self._pacer is None:
            raise SourceError("not open")
        ok, image = self._capture.read()
        if not ok and self.loop:
            import cv2

            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._capture.read()
        if not ok or image is None:
            if self.loop:
                raise SourceError(f"cannot read {self.path} even after rewinding")
            raise SourceEnded(f"end of {self.path} (set loop: true to play it again)")
        self._pacer.wait()
        return Frame(image, time.time(), time.monotonic())

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

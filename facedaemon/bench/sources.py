"""The clip as a camera: FileSource at the clip's own rate, looping, telling a Recorder about every frame."""

from __future__ import annotations

from pathlib import Path

from facedaemon.bench.measure import Recorder
from facedaemon.sources.base import Frame
from facedaemon.sources.file import FileSource


class CountingSource:
    """A FileSource that numbers its frames (the clip loops, so frame n shows clip frame n mod length)."""

    def __init__(self, path: Path, recorder: Recorder) -> None:
        self._inner = FileSource(path, loop=True)
        self._recorder = recorder
        self._index = 0
        self.description = self._inner.description

    def open(self) -> None:
        self._inner.open()
        self._index = 0

    def read(self) -> Frame:
        frame = self._inner.read()
        self._recorder.on_capture(self._index, frame.captured)
        self._index += 1
        return frame

    def close(self) -> None:
        self._inner.close()

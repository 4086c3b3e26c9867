"""The one shape every frame source has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np


class SourceError(Exception):
    """The source cannot deliver frames now; the message says why (credentials masked)."""


class SourceEnded(SourceError):
    """A file without `loop` reached its end: nothing more will come, so it is not reopened."""


class SourceRefused(SourceError):
    """The camera refused the credentials (RTSP 401 or 403): retrying soon will not help, and retrying often can
    lock the camera's account."""


class SourceResized(SourceError):
    """The camera's picture changed size mid-stream (its settings were edited): reopen it at once, at the new size.

    at: seconds into the stream (a file: into the file) of the first frame of the new size, when known. resumes: reopen
    this same source, which plays on from the change (a file); else a new source is made (a live camera goes on by
    itself, and a new one starts clean)."""

    def __init__(self, description: str, was: tuple[int, int], size: tuple[int, int], *, at: float | None = None,
                 resumes: bool = False) -> None:
        where = f" at {at:.2f} s" if at is not None else ""
        super().__init__(f"{description}: the picture changed size {was[0]}x{was[1]} -> {size[0]}x{size[1]}{where}")
        self.was, self.size, self.at, self.resumes = was, size, at, resumes


@dataclass(frozen=True, slots=True)
class Frame:
    image: np.ndarray  # I420: uint8, H*3/2 rows × W, even sizes (see yuv.py)
    captured: float  # time.time() when the frame was read
    captured_mono: float  # time.monotonic() at the same moment, for latency


class FrameSource(Protocol):
    """Opened by its owner, read in one thread, closed by its owner.

    read() blocks until the next frame is due (sources pace themselves like a camera) and raises SourceError when
    the source fails; the owner then closes it and reopens it with backoff.
    """

    description: str  # for logs and status: never carries credentials

    def open(self) -> None: ...

    def read(self) -> Frame: ...

    def close(self) -> None: ...

"""V4L2 cameras (USB webcams, the Pi camera's V4L2 driver) read through OpenCV; frames converted to I420."""

from __future__ import annotations

import os
import time

from facedaemon import yuv
from facedaemon.sources.base import Frame, SourceError


class CaptureSource:
    """One cv2.VideoCapture on a V4L2 device. The camera paces reads itself; read() blocks until its next frame."""

    def __init__(self, uri: str, *, width: int | None = None, height: int | None = None,
                 fps: float | None = None) -> None:
        self.uri = uri
        self.width, self.height, self.fps = width, height, fps
        self.description = f"v4l2 {uri}"
        self._capture = None

    def open(self) -> None:
        import cv2

        device = int(self.uri) if self.uri.isdigit() else self.uri
        if isinstance(device, str) and not os.path.exists(device):
            raise SourceError(f"{device} does not exist (camera unplugged?)")
        capture = cv2.VideoCapture(device, cv2.CAP_V4L2)
        self._request_mode(capture)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open {self.description}")
        self._capture = capture

    def _request_mode(self, capture) -> None:
        import cv2

        if self.width and self.height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        if self.fps:
            capture.set(cv2.CAP_PROP_FPS, self.fps)
        # One buffered frame: we want the newest picture, not a backlog.
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)

    def read(self) -> Frame:
        if self._capture is None:
            raise SourceError("not open")
        ok, image = self._capture.read()
        if not ok or image is None:
            raise SourceError(f"no frame from {self.description} (timeout or unplugged)")
        return Frame(yuv.from_bgr(image), time.time(), time.monotonic())

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

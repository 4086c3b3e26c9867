"""Cameras read through OpenCV: V4L2 devices and RTSP streams (TCP, with open and read timeouts)."""

from __future__ import annotations

import os
import time

from facedaemon.redact import mask_credentials
from facedaemon.sources.base import Frame, SourceError

OPEN_TIMEOUT_MS = 10_000
# OpenCV's FFmpeg backend retries a timed-out read twice, so a hung camera is noticed after ~3× this: 9 s, inside
# the 15 s the issue allows (5 s here took 15 s).
READ_TIMEOUT_MS = 3_000
# TCP survives lossy Wi-Fi better than UDP. FFmpeg's default 5 s stream analysis made every (re)connect take ~3 s
# against a 15 fps H.264 camera; 1 s is plenty to read the SPS and a keyframe, and halves the reconnect time.
CAPTURE_OPTIONS = "rtsp_transport;tcp|analyzeduration;1000000"


class CaptureSource:
    """One cv2.VideoCapture. The camera paces reads itself; read() blocks until its next frame."""

    def __init__(self, uri: str, *, rtsp: bool, width: int | None = None, height: int | None = None,
                 fps: float | None = None) -> None:
        self.uri = uri
        self.rtsp = rtsp
        self.width, self.height, self.fps = width, height, fps
        self.description = mask_credentials(uri) if rtsp else f"v4l2 {uri}"
        self._capture = None

    def open(self) -> None:
        import cv2

        if self.rtsp:
            # Read by OpenCV's FFmpeg backend at open time; a value set by the user wins.
            os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", CAPTURE_OPTIONS)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
            capture = cv2.VideoCapture(self.uri, cv2.CAP_FFMPEG, params)
        else:
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
            raise SourceError(f"no frame from {self.description} (timeout or stream ended)")
        return Frame(image, time.time(), time.monotonic())

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

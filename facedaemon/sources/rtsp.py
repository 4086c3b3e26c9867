"""An RTSP camera decoded by an ffmpeg child (TCP or UDP, open and read timeouts); frames as I420."""

from __future__ import annotations

import os
import re
import time

from facedaemon.children.ffmpeg import FfmpegNotFound, find_ffmpeg
from facedaemon.redact import mask_credentials
from facedaemon.sources.base import Frame, SourceError, SourceRefused
from facedaemon.sources.decode import Decoded, Decoder, concat_list, memory_file, rtsp_input

# ffmpeg's words for an RTSP 401 or 403 answer ("Server returned 401 Unauthorized (authorization failed)").
_REFUSED = re.compile(r"\b(401 Unauthorized|403 Forbidden)\b")


def refused(reason: str) -> bool:
    """Whether ffmpeg's reason for not opening a camera is that the camera refused the credentials."""
    return _REFUSED.search(reason) is not None


class RtspSource(Decoded):
    """The camera paces itself; read() blocks until its next frame, SourceError after READ_TIMEOUT without one."""

    def __init__(self, uri: str, *, ffmpeg: str | None = None, transport: str = "tcp") -> None:
        self.uri = uri
        self.transport = transport  # camera.rtsp_transport
        self.ffmpeg = ffmpeg  # None: the system's, else imageio-ffmpeg's
        self.description = mask_credentials(uri)
        self._decoder: Decoder | None = None

    def open(self) -> None:
        try:
            ffmpeg = find_ffmpeg(self.ffmpeg)
        except FfmpegNotFound as exc:
            raise SourceError(f"cannot open {self.description}: {exc}") from None
        # The URL, password and all, never on a command line.
        listing = memory_file(concat_list(self.uri, self.transport))
        try:
            # Decoder threads: ffmpeg's choice, as OpenCV's reader had (a 1080p camera on a Pi needs more than one).
            decoder = Decoder(ffmpeg, rtsp_input(listing), description=self.description, pass_fds=(listing,))
            decoder.open()
        except SourceError as exc:
            if refused(str(exc)):
                raise SourceRefused(f"cannot open {self.description}: the camera refused the user name or password "
                                    f"(check them in the source URL or its ${{cred:..}} file; ffmpeg: "
                                    f"{str(exc).rpartition(': ')[2]})") from None
            raise
        finally:
            os.close(listing)
        self._decoder = decoder

    def read(self) -> Frame:
        if self._decoder is None:
            raise SourceError("not open")
        image = self._decoder.next()
        if image is None:
            raise SourceError(f"{self.description} ended the stream")
        return Frame(image, time.time(), time.monotonic())

    def close(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None
